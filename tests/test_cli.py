"""The command line as a user meets it: exit codes, one-line errors, JSON on stdout only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "configs" / "example1.yaml")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convexdual.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


@pytest.mark.slow
def test_solve_json_is_one_object_on_stdout():
    p = cli("solve", "--config", EXAMPLE, "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)  # the whole of stdout parses as one JSON object
    for key in ("p_star", "m_star", "M_star", "n_vertices", "polytope_dim", "vertex_cardinalities", "directions",
                "y_hat", "nu", "patterns", "solver", "certificates"):
        assert key in d
    assert abs(d["p_star"] - 0.19) <= 1e-8 and (d["m_star"], d["M_star"]) == (1, 2)
    assert set(d["patterns"]) >= {"mode", "count"} and set(d["solver"]) >= {"name", "status", "time_s"}
    assert set(d["certificates"]) >= {"duality_gap", "dual_violation", "active_margin", "reconstruction_gap"}
    assert all(set(x) >= {"w", "sign"} and x["sign"] in (1, -1) for x in d["directions"])


@pytest.mark.slow
def test_overrides_in_hydra_syntax():
    p = cli("solve", "--config", EXAMPLE, "--json", "beta=0.3", "data.bias=true")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["beta"] == 0.3 and d["config"]["data"]["bias"] is True and d["d"] == 3


@pytest.mark.parametrize(
    "yaml_text, needle",
    [
        ("beta: [1, 2\n", "malformed YAML"),
        ("betta: 0.1\n", "betta"),
        ("beta: -1\n", "beta"),
        ("beta: .nan\n", "beta"),
        ("data: {kind: points, X: [[1, 2], [3]], y: [1, 2]}\n", "ragged"),
        ("data: {kind: points, X: [[1, .nan]], y: [1]}\n", "data.X"),
        ("data: {kind: points, X: [[1, 2]], y: [1, 2]}\n", "data.y"),
        ("data: {kind: file, path: /nonexistent/data.csv}\n", "/nonexistent/data.csv"),
        ("solver: gurobi\n", "solver"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, yaml_text, needle):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    out = tmp_path / "result.json"
    p = cli("solve", "--config", str(cfg), "--out", str(out))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], p.stderr
    assert p.stdout == "" and not out.exists()


def test_missing_config_file(tmp_path):
    p = cli("solve", "--config", str(tmp_path / "nope.yaml"))
    assert p.returncode == 2 and "nope.yaml" in p.stderr


@pytest.mark.slow
def test_out_never_overwrites(tmp_path):
    out = tmp_path / "r.json"
    assert cli("solve", "--config", EXAMPLE, "--out", str(out)).returncode == 0
    before = out.read_text()
    p = cli("solve", "--config", EXAMPLE, "--out", str(out), "beta=0.2")
    assert p.returncode == 2 and "exists" in p.stderr
    assert out.read_text() == before


def test_unlicensed_mosek_is_a_clear_error():
    from convexdual.solvers import mosek_license_state

    ok, why = mosek_license_state()
    if ok:
        pytest.skip("MOSEK is licensed here; the unlicensed path cannot be exercised")
    p = cli("solve", "--config", EXAMPLE, "solver=mosek")
    assert p.returncode == 3
    assert len(p.stderr.strip().splitlines()) == 1 and "license" in p.stderr


@pytest.mark.slow
def test_solvers_command_reports_license_state():
    p = cli("solvers", "--json")
    assert p.returncode == 0
    d = json.loads(p.stdout)
    names = {row["solver"]: row for row in d["solvers"]}
    assert names["clarabel"]["works"] is True
    assert "licensed" in names["mosek"]
    assert d["auto"] in ("mosek", "clarabel")


@pytest.mark.slow
def test_figures_writes_result_and_images(tmp_path):
    p = cli("figures", "--only", "example1", "--only", "uniqueness", "--out", str(tmp_path / "figs"))
    assert p.returncode == 0, p.stderr
    result = json.loads((tmp_path / "figs" / "example1_result.json").read_text())
    assert (result["m_star"], result["M_star"]) == (1, 2)
    for stem in ("example1_optimal_set", "figure2_example1", "uniqueness_settings"):
        png = tmp_path / "figs" / f"{stem}.png"
        assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
        assert (tmp_path / "figs" / f"{stem}.pdf").exists() and (tmp_path / "figs" / f"{stem}.txt").exists()


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line.strip() for line in readme[:5] if line.strip().startswith("python3.11 -m venv")]
    assert len(commands) == 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_sweep_then_plot(tmp_path):
    cfg = tmp_path / "s.yaml"
    cfg.write_text("beta: 0.1\ndata: {kind: circle, angles_deg: [0, 120, 240], y: [1, 1, 1]}\nwidths: [1, 2, 3, 4]\n"
                   "sweep: {beta: [0.1, 0.2]}\n")
    run = tmp_path / "run"
    p = cli("sweep", "--config", str(cfg), "--out", str(run), "--no-progress")
    assert p.returncode == 0, p.stderr
    p = cli("plot", str(run))
    assert p.returncode == 0, p.stderr
    png = run / "figures" / "phase.png"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_plot_of_a_missing_run_is_one_line_error(tmp_path):
    p = cli("plot", str(tmp_path / "nothing"))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "table.csv" in p.stderr


def test_sweep_with_a_typo_for_every_point_is_one_line_error_and_writes_nothing(tmp_path):
    run = tmp_path / "run"
    p = cli("sweep", "--config", EXAMPLE, "--out", str(run), "partiton=cpu", "beta=0.1,0.2")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "partiton" in p.stderr
    assert not run.exists()


@pytest.mark.slow
def test_bracketed_solve_is_reported_as_such_and_refused_where_a_certificate_is_needed(tmp_path):
    over = ["data.n=16", "data.d=4", "patterns.mode=oracle", "patterns.n_samples=20", "oracle.time_limit_s=1e-9"]
    r = cli("solve", "--config", "configs/gaussian_n40_d3.yaml", *over)
    assert r.returncode == 0, r.stderr
    assert "NOT CERTIFIED" in r.stdout and "p*            in [" in r.stdout
    r = cli("solve", "--config", "configs/gaussian_n40_d3.yaml", "--json", *over)
    d = json.loads(r.stdout)
    assert d["certified"] is False and d["p_star"] is None and len(d["p_star_bounds"]) == 2
    r = cli("uniqueness", "--config", "configs/gaussian_n40_d3.yaml", *over)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 4 and last.startswith("error:") and "only bracketed" in last


def test_python_m_convexdual_is_the_command_line():
    from convexdual.cli import COMMANDS, main

    names = {"bench", "certify", "figures", "path", "plot", "search", "solve", "solvers", "status", "sweep", "train",
             "uniqueness"}
    assert set(main.commands) == {c.name for c in COMMANDS} == names
    p = subprocess.run([sys.executable, "-m", "convexdual", "--help"], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert all(f"  {name} " in p.stdout for name in names)
    assert cli("--help").stdout == p.stdout.replace("python -m convexdual ", "python -m convexdual.cli ")
