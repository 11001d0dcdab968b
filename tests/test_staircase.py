"""The staircase of connectivity, computed from one optimal polytope per instance."""

from __future__ import annotations

import pytest

from instances import circle, line

from convexdual.config import config_from_dict
from convexdual.pipeline import solve


INSTANCES = {
    "example1": circle([0, 120], [1, 1], 0.1),
    "circle3": circle([0, 120, 240], [1, 1, 1], 0.1),
    "circle4": circle([0, 90, 180, 270], [1, 1, 1, 1], 0.1),
    "circle5": circle([0, 72, 144, 216, 288], [1, 1, 1, 1, 1], 0.1),
    "line3-bias": line([-1, 0, 1], [1, -1, 1], 0.1),
    "line5-bias": line([-2, -1, 0, 1, 2], [1, 0, 1, 0, 1], 0.3),
    "gaussian5x2": {"beta": 0.2, "data": {"kind": "gaussian", "n": 5, "d": 2, "seed": 1}},
    "gaussian6x2-bias": {"beta": 0.1, "data": {"kind": "gaussian", "n": 6, "d": 2, "seed": 0, "bias": True}},
}


def phases(name):
    r = solve(config_from_dict(INSTANCES[name]))
    return r, {row["m"]: row for row in r.staircase}


def test_example1_staircase_matches_theory():
    """m = 1: one isolated point; m = 2: one isolated point plus one continuum; m >= 3: connected."""
    r, ph = phases("example1")
    assert (ph[1]["isolated_points"], ph[1]["continuum_components"]) == (1, 0)
    assert (ph[2]["isolated_points"], ph[2]["continuum_components"], ph[2]["connected"]) == (1, 1, False)
    assert ph[3]["connected"] and ph[3]["isolated_points"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", INSTANCES)
def test_five_statements_of_the_staircase_theorem(name):
    r, ph = phases(name)
    m_star, M_star, n = r.widths.m_star, r.widths.M_star, r.data.n
    for m, row in ph.items():
        assert row["optimal"] == (m >= m_star)
        if m < m_star:
            assert row["isolated_points"] == row["continuum_components"] == 0
    # m = m*: finitely many points, all isolated
    assert ph[m_star]["isolated_points"] >= 1 and ph[m_star]["continuum_components"] == 0
    # m >= m* + 1: some component is not a single point
    assert all(ph[m]["continuum_components"] >= 1 for m in ph if m >= m_star + 1)
    # m = M*: some component is a single point
    assert ph[M_star]["isolated_points"] >= 1
    # m >= M* + 1: no component is a single point
    assert all(ph[m]["isolated_points"] == 0 for m in ph if m >= M_star + 1)
    # m >= min(m* + M*, n + 1): connected
    assert all(ph[m]["connected"] for m in ph if m >= min(m_star + M_star, n + 1))


def test_circle3_shows_all_five_regimes_distinctly():
    r, ph = phases("circle3")
    m_star, M_star, n = r.widths.m_star, r.widths.M_star, r.data.n
    assert m_star < M_star and m_star + 1 < min(m_star + M_star, n + 1)
    assert not ph[m_star + 1]["connected"]


@pytest.mark.parametrize("name", ["circle3", "line3-bias", "gaussian5x2"])
def test_value_gap_closes_exactly_at_m_star(name):
    """Below m* the best width-m objective (exact block search) exceeds p*; from m* on it is p*."""
    r, ph = phases(name)
    values = [ph[m]["value"] for m in sorted(ph)]
    for m in sorted(ph):
        if m < r.widths.m_star:
            assert ph[m]["value"] > r.p_star + 1e-6
        else:
            assert ph[m]["value"] == r.p_star
    assert all(a >= b - 1e-9 for a, b in zip(values, values[1:]))


@pytest.mark.slow
def test_bounds_when_vertices_are_not_listed_are_ordered() -> None:
    """Gaussian data, n = 70 (d = 2 plus a bias), beta = 0.3, seed 1: P* has dimension 15 and its
    vertices are not listed within 2 s. An LP vertex with round-off left in its zeros once counted
    27 nonzeros and gave M* in [27, 21]; a vertex's support is at most rank A, so M* in [lo, hi]
    with lo <= hi, and m* <= M*."""
    from convexdual.config import load_config
    from convexdual.pipeline import solve

    r = solve(load_config("configs/figures/phase_n_d2.yaml", ["data.n=70", "data.seed=1", "beta=0.3"])).to_dict()
    (m_lo, m_hi), (M_lo, M_hi) = r["m_star_bounds"], r["M_star_bounds"]
    assert r["n_vertices"] is None and m_lo <= m_hi <= M_hi and M_lo <= M_hi
