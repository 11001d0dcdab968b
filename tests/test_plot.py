"""`convexdual plot`: the regime of the optimal set against width, its options and its errors.

A real sweep (gaussian data, n = 6, d = 2 with bias, 2 values of beta x 3 seeds, real solves) is
run once for the module; every figure is checked as a file of its format.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from convexdual.figures.regimes import aggregate_regime
from convexdual.sweep import table_rows
from convexdual.widths import REGIMES, UNDECIDED, phase_bounds

ROOT = Path(__file__).resolve().parent.parent
MAGIC = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convexdual.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plot") / "run"
    p = cli("sweep", "--config", "configs/staircase.yaml", "--out", str(folder), "--no-progress",
            "beta=0.01,0.1", "data.seed=range(0,3)")
    assert p.returncode == 0, p.stderr
    return folder


@pytest.mark.slow
def test_table_regimes_agree_with_the_staircase_columns(run: Path) -> None:
    """Every width row has a regime, and it says what the counts say."""
    t = pd.read_csv(run / "table.csv")
    t = t[t["m"].notna()]
    assert len(t) == 2 * 3 * 7 and set(t["regime"]) <= set(REGIMES)
    assert ((t["regime"] == "none") == (t["optimal"] == False)).all()  # noqa: E712 (a column)
    iso = t["regime"] == "isolated"
    assert (t.loc[iso, "continuum_components"] == 0).all() and (t.loc[iso, "isolated_points"] > 0).all()
    conn = t["regime"] == "connected"
    assert t.loc[conn, "connected"].all() and (t.loc[conn, "continuum_components"] == 1).all()
    assert {"none", "connected"} <= set(t["regime"])  # below m* and from n + 1 on


@pytest.mark.slow
def test_default_plot_draws_phase_and_regime_map(run: Path) -> None:
    p = cli("plot", str(run))
    assert p.returncode == 0, p.stderr
    for stem in ("phase", "staircase"):
        for fmt in ("png", "pdf"):
            assert (run / "figures" / f"{stem}.{fmt}").read_bytes()[:4] == MAGIC[fmt][:4]


@pytest.mark.parametrize("args, stem, fmt", [
    (["--x", "width", "--y", "beta", "--format", "svg"], "plot_beta_vs_width", "svg"),
    (["--x", "m/n", "--y", "beta", "--agg", "median", "--format", "png"], "plot_beta_vs_m_over_n", "png"),
    (["--y", "m_star", "--x", "beta", "--agg", "mean", "--format", "pdf"], "plot_m_star_vs_beta", "pdf"),
    (["--y", "connectivity_width", "--x", "beta", "--hue", "data.seed", "--format", "png"],
     "plot_connectivity_width_vs_beta_by_data_seed", "png"),
])
@pytest.mark.slow
def test_plot_options(run: Path, tmp_path: Path, args: list[str], stem: str, fmt: str) -> None:
    p = cli("plot", str(run), "--out", str(tmp_path), *args)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / f"{stem}.{fmt}").read_bytes()[:5].startswith(MAGIC[fmt][:4])
    assert (tmp_path / f"{stem}.txt").is_file() and not (tmp_path / f"{stem}.{'pdf' if fmt != 'pdf' else 'png'}").exists()


@pytest.mark.parametrize("args, needle", [
    (["--y", "bogus"], "valid: "),
    (["--col", "beta ", "--y", "beta"], "valid: "),
    (["--y", "beta", "--hue", "data.seed"], "--hue applies to line plots"),
    (["--format", "jpg"], "jpg"),
])
@pytest.mark.slow
def test_bad_plot_options_are_one_line_errors(run: Path, args: list[str], needle: str) -> None:
    p = cli("plot", str(run), *args)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and needle in p.stderr, p.stderr
    if needle == "valid: ":
        assert "m_star" in p.stderr and "width" in p.stderr and "regime" in p.stderr


def test_aggregate_regime() -> None:
    assert aggregate_regime(["none", "isolated", "isolated"], "fraction") == ("isolated", 2 / 3)
    assert aggregate_regime(["none", "connected", "isolated"], "median") == ("isolated", 1 / 3)
    assert aggregate_regime([UNDECIDED, UNDECIDED, "connected"], "median")[0] == UNDECIDED
    assert aggregate_regime(["none", "connected"], "fraction")[0] == "none"  # a tie: the earlier regime


def test_bounds_only_points_give_decided_and_undecided_widths() -> None:
    """m* in [2, 3], M* in [3, 5], n = 6: none at m = 1, connected from min(3 + 5, 7) = 7, the widths
    between are not decided by the bounds (never guessed)."""
    bounds = phase_bounds((2, 3), (3, 5), 6)
    record = {"status": "ok", "config": {}, "overrides": {},
              "result": {"n": 6, "d": 2, "staircase": None, "staircase_bounds": bounds,
                         "m_star_bounds": [2, 3], "M_star_bounds": [3, 5]}}
    regimes = {row["m"]: row["regime"] for row in table_rows(record, [])}
    assert regimes[1] == "none" and regimes[7] == "connected"
    assert all(regimes[m] == UNDECIDED for m in range(2, 7))


@pytest.mark.slow
def test_phase_diagram_and_the_connectivity_bound(run: Path, tmp_path: Path) -> None:
    """The phase diagram draws from the sweep table; the bound table holds every certified point
    with m* >= 1, and the measured connectivity width never exceeds min(m* + M*, n + 1) (the
    paper's statement, checked against the staircase computed from the vertices)."""
    import matplotlib

    matplotlib.use("Agg")
    from convexdual.figures.regimes import bound_table, phase_diagram, property_values, width_rows

    t = pd.read_csv(run / "table.csv")
    phase_diagram(t, "m", "beta", "test").savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == MAGIC["png"]
    rows = width_rows(t)
    connected = property_values(rows, "connected")
    assert not connected.isna().any() and (connected[rows["regime"] == "connected"] == 1).all()
    assert (connected[rows["regime"] == "none"] == 0).all()  # a single optimal point also counts as connected
    df = bound_table(t, "staircase")
    points = t.drop_duplicates("config_hash")
    assert len(df) == int((points["m_star"] >= 1).sum()) > 0
    assert (df["bound"] == (df["m_star"] + df["M_star"]).clip(upper=df["n"] + 1)).all()
    assert (df["connectivity_width"] <= df["bound"]).all() and (df["connectivity_width"] >= df["m_star"]).all()
