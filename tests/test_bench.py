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
