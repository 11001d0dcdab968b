"""The optimal polytope's coefficient ranges, LP vertices and m*, checked against the vertices listed
by the pivoting search (``pivot_vertices``) on small instances, generic and degenerate.

Tolerance: the enumerated vertices are re-solved on their supports to machine precision and the LPs
run with feasibility tolerances of 1e-9, so coef_max agrees with the largest vertex coordinate to
1e-7 relative to sum(c) (constant on P*). A wrong answer (an LP stopped at a non-optimal vertex, a
missed vertex) is off by a difference between two vertex coordinates, orders of magnitude larger.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from convexdual.config import config_from_dict, load_config
from convexdual.optimal_set import (Polytope, _coefficient_ranges, _coefficient_ranges_cold, _row_and_null_space,
                                    build_polytope, cardinalities, min_cardinality_milp, series_classes)
from convexdual.pipeline import certified_two_layer
from convexdual.widths import critical_widths

ROOT = Path(__file__).resolve().parents[1]
RTOL = 1e-7


def gaussian(n: int, d: int, beta: float, seed: int, bias: bool = False) -> dict:
    return {"beta": beta, "data": {"kind": "gaussian", "n": n, "d": d, "seed": seed, "bias": bias}}


INSTANCES = {
    "gaussian12x2": gaussian(12, 2, 0.1, 2),
    "gaussian16x2-bias": gaussian(16, 2, 0.05, 1, bias=True),
    "gaussian14x2-bias-small-beta": gaussian(14, 2, 0.02, 2, bias=True),
    "gaussian20x3": gaussian(20, 3, 0.05, 0),
    "gaussian24x3": gaussian(24, 3, 0.05, 2),
    "gaussian18x3-bias": gaussian(18, 3, 0.1, 1, bias=True),
    # degenerate (some vertex has fewer than rank(A) nonzeros): symmetric inputs
    "circle3": {"beta": 0.1, "data": {"kind": "circle", "angles_deg": [0, 120, 240], "y": [1, 1, 1]}},
    "circle5": {"beta": 0.1, "data": {"kind": "circle", "angles_deg": [0, 72, 144, 216, 288], "y": [1, 1, 1, 1, 1]}},
}
CONFIG_FILES = ["configs/uniqueness/d1_bias_noskip_n5.yaml", "configs/figures/value_width.yaml"]


def _polytope(name: str) -> Polytope:
    cfg = load_config(ROOT / name) if name.endswith(".yaml") else config_from_dict(INSTANCES[name])
    poly = certified_two_layer(cfg).polytope
    assert poly.vertices is not None, f"{name}: the vertices were not enumerated"
    return poly


@pytest.fixture(scope="module", params=[*INSTANCES, *CONFIG_FILES])
def poly(request: pytest.FixtureRequest) -> Polytope:
    return _polytope(request.param)


def _scale(poly: Polytope) -> float:
    return max(1.0, float(poly.vertices.sum(axis=1).max())) if poly.vertices is not None else 1.0


def test_the_degenerate_instances_are_degenerate() -> None:
    """The set covers both kinds: with and without a vertex of support below rank(A)."""
    kinds = {}
    for name in ["circle3", "circle5", "gaussian20x3"]:
        p = _polytope(name)
        kinds[name] = min(cardinalities(p.vertices)) < p.rank
    assert kinds == {"circle3": True, "circle5": True, "gaussian20x3": False}


def test_coefficient_max_is_the_largest_vertex_coordinate(poly: Polytope) -> None:
    assert poly.vertices is not None
    np.testing.assert_allclose(poly.coef_max, poly.vertices.max(axis=0), rtol=0, atol=RTOL * _scale(poly))


def test_warm_ranges_equal_cold_ranges(poly: Polytope) -> None:
    """The warm-started model gives the maxima of one LP per feature solved from scratch; each of its
    optima is a vertex of P* (independent support columns) attaining the feature's maximum."""
    _, N, rows = _row_and_null_space(poly.A)
    warm, samples = _coefficient_ranges(poly.c0, N, rows)
    cold, _ = _coefficient_ranges_cold(poly.c0, N)
    scale = _scale(poly)
    np.testing.assert_allclose(warm, cold, rtol=0, atol=RTOL * scale)
    assert samples.shape == (poly.A.shape[1], poly.A.shape[1])
    assert samples.min() >= 0.0
    np.testing.assert_allclose(poly.A @ samples.T, np.repeat(poly.target[:, None], len(samples), axis=1),
                               rtol=0, atol=1e-6 * scale)
    for k, point in enumerate(samples):
        assert point[k] == pytest.approx(warm[k], abs=RTOL * scale)
        support = point > 1e-9 * scale
        assert np.linalg.matrix_rank(poly.A[:, support], tol=1e-9 * np.abs(poly.A).max()) == support.sum()


def test_ranges_without_given_rows() -> None:
    """The row space is derived from N when it is not passed: the same maxima."""
    p = _polytope("gaussian16x2-bias")
    _, N, rows = _row_and_null_space(p.A)
    a, _ = _coefficient_ranges(p.c0, N, rows)
    b, _ = _coefficient_ranges(p.c0, N)
    np.testing.assert_allclose(a, b, rtol=0, atol=RTOL * _scale(p))


def test_milp_m_star_equals_enumeration(poly: Polytope) -> None:
    assert poly.vertices is not None
    m_true = min(cardinalities(poly.vertices))
    (low, high), c = min_cardinality_milp(poly, time_limit_s=60.0)
    assert (low, high) == (m_true, m_true)
    scale = _scale(poly)
    assert c.min() >= -1e-7 * scale
    np.testing.assert_allclose(poly.A @ c, poly.target, rtol=0, atol=1e-6 * scale)
    assert int((c > 1e-9 * scale).sum()) == m_true


def test_widths_without_vertices_bracket_the_enumerated_ones(poly: Polytope) -> None:
    """critical_widths on the same polytope with its vertices withheld (the MILP path): m* exact and
    equal to the enumerated one, M*'s bounds contain the enumerated M*."""
    exact = critical_widths(poly)
    blind = critical_widths(replace(poly, vertices=None))
    assert blind.m_star == exact.m_star
    assert blind.M_star_bounds[0] <= exact.M_star <= blind.M_star_bounds[1]
    if blind.M_star is not None:
        assert blind.M_star == exact.M_star


def test_series_class_counts_hold_at_every_vertex(poly: Polytope) -> None:
    """Each series class has at least its count of nonzeros at every enumerated vertex, so the sum
    of the counts is at most m*."""
    assert poly.vertices is not None
    classes = series_classes(poly.c0, poly.N)
    for members, count in classes:
        assert ((poly.vertices[:, members] > 0).sum(axis=1) >= count).all()
    assert sum(count for _, count in classes) <= min(cardinalities(poly.vertices))


def _paired_polytope(p: int, n: int, seed: int) -> Polytope:
    """A = [M, M D] (M random n x p, D positive diagonal): c_i + D_i c_(p+i) = t_i for each i, a
    product of p segments. Every vertex picks one end of each: m* = M* = p = rank(A), and the p
    pairs are the series classes, count 1 each."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, p))
    D = rng.uniform(0.5, 2.0, p)
    A = np.hstack([M, M * D])
    t = M @ rng.uniform(1.0, 2.0, p)
    return build_polytope(np.zeros((n, 1)), A, t, skip=False, max_enum_dim=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_series_classes_of_paired_features(seed: int) -> None:
    poly = _paired_polytope(40, 60, seed)
    classes = series_classes(poly.c0, poly.N)
    assert sorted(sorted(m.tolist()) for m, _ in classes) == [[i, 40 + i] for i in range(40)]
    assert all(count == 1 for _, count in classes)
    (low, high), c = min_cardinality_milp(poly, time_limit_s=10.0)
    assert (low, high) == (40, 40)
    np.testing.assert_allclose(poly.A @ c, poly.target, rtol=0, atol=1e-8 * max(1.0, c.sum()))
    assert int((c > 1e-9 * c.sum()).sum()) == 40


def test_series_class_count_drops_when_two_coordinates_vanish_together() -> None:
    """c_0 = s, c_1 = s, c_2 = 1 - s (rows N_0 = N_1 = -N_2): at s = 0 two coordinates vanish at
    once, so the class needs only one nonzero."""
    N = np.array([[1.0], [1.0], [-1.0]]) / np.sqrt(3.0)
    c0 = np.array([0.5, 0.5, 0.5])
    ((members, count),) = series_classes(c0, N)
    assert sorted(members.tolist()) == [0, 1, 2] and count == 1
    ((_, count),) = series_classes(np.array([0.5, 0.25, 0.5]), N)
    assert count == 2  # the ends are s = -0.25 (c_1 = 0) and s = 0.5 (c_2 = 0): one zero at each


def test_M_star_found_when_the_coefficient_maxima_are_all_degenerate() -> None:
    """20 equally spaced points on the circle, y = 1: every coefficient maximum is a vertex with 7
    nonzeros while 600 of the 624 vertices have rank(A) = 11; vertices of random objectives find
    one, so M* is exact without the enumeration and equals it."""
    raw = {"beta": 0.05, "data": {"kind": "circle", "angles_deg": [18 * i for i in range(20)], "y": [1.0] * 20}}
    poly = certified_two_layer(config_from_dict(raw)).polytope
    assert poly.vertices is not None
    exact = critical_widths(poly)
    assert max(cardinalities(poly.sample_vertices)) < exact.M_star == poly.rank
    blind = critical_widths(replace(poly, vertices=None))
    assert blind.M_star == exact.M_star
    assert blind.m_star == exact.m_star
