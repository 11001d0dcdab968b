"""The benchmark runs both pipelines for real (in subprocesses) and they agree on small instances.

Tolerance: p* of the two pipelines within 1e-6 relative (both solve (C) at tol.solver = 1e-10; the
baseline's per-pattern program is the same convex problem written differently).
"""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from convexdual.bench import Instance, run_one
from convexdual.cli import main


@pytest.mark.slow
def test_both_pipelines_agree_on_a_small_instance():
    inst = Instance(n=8, d=2, beta=0.05)
    base, ours = run_one("baseline", inst, 10.0, 300.0), run_one("convexdual", inst, 10.0, 300.0)
    assert base["status"] == "ok" and ours["status"] == "ok"
    assert base["cells"] == ours["cells"] == 16  # 2n cells for n points in general position in the plane
    assert base["p_star"] == pytest.approx(ours["p_star"], rel=1e-6)
    assert set(base["stage_s"]) >= {"cells", "solve", "directions", "polytope", "widths", "staircase"}
    assert ours["peak_rss_mb"] > 10 and 0 < ours["solver_s"] <= ours["total_s"]
    # solver time is counted per library: the cvxpy solver (Clarabel here) and HiGHS (the polytope LPs)
    assert {"clarabel", "highs"} <= set(ours["solver_by_kind"]) and "highs" in base["solver_by_kind"]
    assert ours["solver_s"] == pytest.approx(sum(ours["solver_by_kind"].values()))
    # peak memory per stage (Linux), and the physical limit: one projection pass plus the final solve
    assert set(ours["stage_peak_mb"]) == {"cells", "solve", "polytope", "widths", "staircase"}
    assert all(10 < mb <= ours["peak_rss_mb"] + 1 for mb in ours["stage_peak_mb"].values())
    assert 0 < ours["projections_s"] and 0 < ours["final_solve_s"]
    assert ours["limit_s"] == pytest.approx(ours["projections_s"] + ours["final_solve_s"])


@pytest.mark.slow
def test_a_time_limit_is_reported_not_fatal():
    res = run_one("baseline", Instance(n=40, d=3, beta=0.05), 10.0, 1.0)
    assert res["status"].startswith("timeout")


@pytest.mark.slow
def test_bench_command_writes_table_and_figure(tmp_path):
    out = tmp_path / "b"
    r = CliRunner().invoke(main, ["bench", "--d", "2", "--n", "6", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "ratio baseline / convexdual" in r.output
    rows = list(csv.DictReader(open(out / "table.csv")))
    assert {row["pipeline"] for row in rows} == {"baseline", "convexdual"}
    assert (out / "time_vs_n.png").exists() and (out / "bench.json").exists()
    again = CliRunner().invoke(main, ["bench", "--d", "2", "--n", "6", "--out", str(out)])
    assert again.exit_code == 2 and "refusing to overwrite" in again.output


def test_fitted_exponents_recover_known_growth():
    """Times made as 1e-3 n^2 (cells) and 1e-4 n^3 (solve), memory 50 n^0.5: the fit gives 2, 3 and
    0.5 (to 1e-9: the data are exact powers); a stage at the polytope time limit is not fitted, nor
    one measured at fewer than three sizes, nor times below the timer's noise."""
    from convexdual.bench import exponent_lines, fit_exponents

    rows = [{"pipeline": "convexdual", "d": 3, "n": n, "status": "ok", "cells_s": 1e-3 * n ** 2,
             "solve_s": 1e-4 * n ** 3, "widths_s": 10.2, "staircase_s": 1e-4, "peak_rss_mb": 50 * n ** 0.5,
             "polytope_s": 0.5 if n == 400 else None} for n in (50, 100, 200, 400)]
    rows.append({"pipeline": "convexdual", "d": 3, "n": 800, "status": "failed: out of memory"})
    fits = fit_exponents(rows, time_limit=10.0)["convexdual d=3"]
    assert set(fits) == {"cells", "solve", "peak_rss"}
    assert fits["cells"]["exponent"] == pytest.approx(2, abs=1e-9)
    assert fits["solve"]["exponent"] == pytest.approx(3, abs=1e-9)
    assert fits["peak_rss"]["exponent"] == pytest.approx(0.5, abs=1e-9)
    assert (fits["cells"]["n_min"], fits["cells"]["n_max"], fits["cells"]["points"]) == (50, 400, 4)
    [line] = exponent_lines({"convexdual d=3": fits})
    assert line.startswith("convexdual d=3: growth exponents b (cost ~ n^b): cells 2.00 (n 50..400), solve 3.00")
