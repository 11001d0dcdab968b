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
                                    build_polytope, cardinalities, class_form, min_cardinality_milp,
                                    series_classes)
from convexdual.pipeline import certified_two_layer
from convexdual.widths import critical_widths, min_support_by_ends

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


@pytest.mark.parametrize("classes", [True, False], ids=["class-coordinates", "standard-form"])
def test_warm_ranges_equal_cold_ranges(poly: Polytope, classes: bool) -> None:
    """The warm-started model (in class coordinates, or in standard form) gives the maxima of one LP
    per feature solved from scratch; each of its optima is a vertex of P* (independent support
    columns) attaining the feature's maximum."""
    _, N, rows = _row_and_null_space(poly.A)
    warm, samples = _coefficient_ranges(poly.c0, N, rows, classes=classes)
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


def test_class_coordinates_describe_the_polytope(poly: Polytope) -> None:
    """Every enumerated vertex is c0 + mu s (class by class) for an s with W s = 0 and lo <= s <= hi."""
    assert poly.vertices is not None
    form = class_form(poly.c0, poly.N)
    assert form is not None
    scale = _scale(poly)
    moving = form.label >= 0
    np.testing.assert_allclose(poly.vertices[:, ~moving], np.repeat(poly.c0[None, ~moving], len(poly.vertices), 0),
                               rtol=0, atol=RTOL * scale)
    for v in poly.vertices:
        # s_g from the class's member of largest |mu|; every other member must agree with it
        s = np.zeros(form.lo.size)
        for g in range(form.lo.size):
            k = np.flatnonzero(form.label == g)[np.argmax(np.abs(form.mu[form.label == g]))]
            s[g] = (v[k] - poly.c0[k]) / form.mu[k]
        np.testing.assert_allclose(form.point(poly.c0, s), v, rtol=0, atol=RTOL * scale)
        assert np.abs(form.W @ s).max(initial=0.0) <= RTOL * scale
        assert (s >= form.lo - RTOL * scale).all() and (s <= form.hi + RTOL * scale).all()


def test_class_coordinates_shrink_paired_features() -> None:
    poly = _paired_polytope(40, 60, 0)
    form = class_form(poly.c0, poly.N)
    assert form is not None and form.lo.size == 40 and form.W.shape == (40 - poly.dim, 40)


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


@pytest.mark.parametrize("name", ["gaussian20x3", "gaussian12x2", "gaussian16x2-bias", "gaussian18x3-bias"])
def test_class_ends_give_the_enumerated_m_star(name: str) -> None:
    """On paired instances (their dual refined to round-off, so P* is exact to round-off) the search
    over class ends gives the enumerated m*, with a witness of that support on P*."""
    poly = _polytope(name)
    assert poly.residual <= 1e-12 * max(1.0, float(np.linalg.norm(poly.target)))
    ends = min_support_by_ends(poly)
    assert ends is not None
    m_true = min(cardinalities(poly.vertices))
    assert ends.bounds == (m_true, m_true)
    scale = _scale(poly)
    assert int((ends.witness > 1e-9 * scale).sum()) == m_true
    np.testing.assert_allclose(poly.A @ ends.witness, poly.target, rtol=0, atol=1e-8 * scale)


def test_class_ends_refuse_an_inaccurate_polytope() -> None:
    """gaussian12x2's features with a target moved by 1e-6 (as an interior-point dual leaves it): c0
    fits it only to about that, far above the 1e-9 the search needs to call a combination of ends
    exact, so it leaves m* to the MILP."""
    poly = _polytope("gaussian12x2")
    moved = poly.target + 1e-6 * np.random.default_rng(0).standard_normal(poly.target.size)
    rough = build_polytope(np.zeros((poly.A.shape[0], 1)), poly.A, moved, skip=False, max_enum_dim=30)
    assert rough.residual > 1e-7
    assert min_support_by_ends(poly) is not None and min_support_by_ends(rough) is None


def _box_slice(w: list[float], r: float, seed: int = 0) -> Polytope:
    """Pairs k with c_k + c'_k = 2 (independent random parts b_k) and sum_k (c_k - c'_k) w_k / 2 = r
    (a shared direction z): P* = {s in [-1, 1]^G : sum s_k w_k = r}, s_k = c_k - 1, q = 1."""
    rng = np.random.default_rng(seed)
    G, n = len(w), len(w) + 3
    b, z = rng.standard_normal((n, G)), rng.standard_normal(n)
    A = np.hstack([b + 0.5 * z[:, None] * np.array(w), b - 0.5 * z[:, None] * np.array(w)])
    t = A @ np.concatenate([np.ones(G), np.ones(G)]) + r * z
    return build_polytope(np.zeros((n, 1)), A, t, skip=False, max_enum_dim=10)


@pytest.mark.parametrize("w, r, m_star", [
    ([1.0, 1.0, 1.0, 1.0], 0.0, 4),  # two ends up, two down: a degenerate vertex, m* = G < rank
    ([1.0, 1.0, 1.0, 1.0], 0.5, 5),  # sums of ends are even: one pair must stay inside, m* = rank
    ([1.0, 2.0, 3.0, 4.5, 7.0], 2.5, 5),  # 1 + 2 - 3 + 4.5 - 7 + ... : ends reach 2.5 exactly
])
def test_class_ends_decide_degenerate_box_slices(w: list[float], r: float, m_star: int) -> None:
    """Exact coincidences of the ends (built in) and their absence: the search agrees with the
    enumerated vertices on both."""
    poly = _box_slice(w, r)
    assert poly.vertices is not None
    assert min(cardinalities(poly.vertices)) == m_star
    ends = min_support_by_ends(poly)
    assert ends is not None and ends.bounds == (m_star, m_star)
    assert critical_widths(replace(poly, vertices=None)).m_star == m_star
