"""The engine end to end, against known answers and independent brute-force computations.

Tolerances: Clarabel runs at 1e-10 (polish 1e-12) and every result carries a duality gap of
about 1e-10 or less, so p* comparisons use 1e-8 absolute; coordinates of vertices and directions
come from exact cone projections of a nu accurate to ~1e-10, compared at 1e-7.
"""

from __future__ import annotations

import contextlib
import itertools
import logging

import numpy as np
import pytest

from instances import circle, line

from convexdual.config import config_from_dict
from convexdual.data import load_data
from convexdual.dual import dual_values
from convexdual.network import Network, objective
from convexdual.patterns import cell_facets, enumerate_patterns
from convexdual.pipeline import solve
from convexdual.program import solve_convex

EXAMPLE1 = {
    "beta": 0.1,
    "data": {"kind": "circle", "angles_deg": [0, 120], "y": [1, 1]},
}


def run(raw: dict, *overrides: str):
    return solve(config_from_dict(raw, list(overrides)))


def angles(result) -> list[float]:
    return sorted(round(float(np.degrees(np.arctan2(u[1], u[0]))) % 360, 6) for u in result.features.directions)


# ----------------------------------------------------------------------------- Example 1


def test_example1_known_answer():
    r = run(EXAMPLE1)
    d = r.to_dict()
    assert d["p_star"] == pytest.approx(0.19, abs=1e-8)
    assert d["m_star"] == 1 and d["M_star"] == 2
    assert d["n_vertices"] == 2 and d["polytope_dim"] == 1
    assert d["vertex_cardinalities"] == [1, 2]
    np.testing.assert_allclose(d["y_hat"], [0.9, 0.9], atol=1e-8)
    np.testing.assert_allclose(d["nu"], [0.1, 0.1], atol=1e-8)
    assert angles(r) == [0.0, 60.0, 120.0]
    assert all(s == 1 for s in r.features.signs)
    # vertices: {60 deg: 1.8} and {0 deg: 0.9, 120 deg: 0.9}
    by_angle = {a: k for k, a in enumerate(np.degrees(np.arctan2(*r.features.directions[:, ::-1].T)).round(6) % 360)}
    V = sorted(r.polytope.vertices.tolist(), key=lambda v: v[by_angle[60.0]])
    np.testing.assert_allclose([V[0][by_angle[0.0]], V[0][by_angle[120.0]], V[0][by_angle[60.0]]], [0.9, 0.9, 0], atol=1e-7)
    np.testing.assert_allclose([V[1][by_angle[0.0]], V[1][by_angle[120.0]], V[1][by_angle[60.0]]], [0, 0, 1.8], atol=1e-7)
    c = d["certificates"]
    assert c["duality_gap"] <= 1e-9 and c["dual_violation"] <= 1e-9 and c["reconstruction_gap"] <= 1e-9
    assert r.network.width == 1


def test_example1_reconstructed_network_attains_p_star():
    r = run(EXAMPLE1)
    X, y = r.data.X, r.data.y
    assert objective(r.network, X, y, "regression", 0.1) == pytest.approx(0.19, abs=1e-8)


# ----------------------------------------------------------------------------- brute force


def brute_force_min_width(X, y, D, beta, p_star, max_m=4, **kw):
    """Smallest m such that (C) restricted to some m (pattern, sign) blocks attains p*."""
    blocks = [(i, s) for i in range(D.shape[1]) for s in (1, -1)]
    for m in range(1, max_m + 1):
        for subset in itertools.combinations(blocks, m):
            plus = [i for i, s in subset if s == 1]
            minus = [i for i, s in subset if s == -1]
            sol = solve_convex(X, y, D[:, plus], D[:, minus], problem="regression", beta=beta, skip=False,
                               solver="clarabel", tol=1e-10)
            if sol.objective <= p_star + 1e-7:
                return m
    return None


def brute_force_supports(H, target):
    """Supports S with H_S independent and H_S c = target for some c > 0: the vertices of P*."""
    K = H.shape[1]
    out = []
    for k in range(1, K + 1):
        for S in itertools.combinations(range(K), k):
            HS = H[:, S]
            if np.linalg.matrix_rank(HS, tol=1e-9) < k:
                continue
            c, *_ = np.linalg.lstsq(HS, target, rcond=None)
            if np.linalg.norm(HS @ c - target) <= 1e-7 and (c > 1e-9).all():
                out.append(frozenset(S))
    return out


# Small instances with m* <= 3, so every block subset up to size m* can be tried.
LOW_WIDTH = {
    "circle4-equal": circle([0, 90, 180, 270], [1, 1, 1, 1], 0.1),  # m* = 2, two vertices
    "circle3-equal": circle([0, 120, 240], [1, 1, 1], 0.1),  # m* = 2 < M* = 3, five vertices
    "line3-bias": line([-1, 0, 1], [1, -1, 1], 0.1),
    "line5-symmetric-bias": line([-2, -1, 0, 1, 2], [1, 0, 1, 0, 1], 0.3),
    "gaussian5x2": {"beta": 0.2, "data": {"kind": "gaussian", "n": 5, "d": 2, "seed": 1}},
}
# Larger ones for the vertex check (every subset of active features is tried).
MORE = {
    "circle5-equal": circle([0, 72, 144, 216, 288], [1, 1, 1, 1, 1], 0.1),  # 22 vertices
    "circle4-alternating": circle([0, 60, 120, 180], [1, -1, 1, -1], 0.2),
    "gaussian5x2-small-beta": {"beta": 0.05, "data": {"kind": "gaussian", "n": 5, "d": 2, "seed": 3}},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", LOW_WIDTH)
def test_m_star_matches_brute_force_over_blocks(name):
    """m* from the polytope = the smallest set of (pattern, sign) blocks whose restricted (C) attains p*."""
    r = run(LOW_WIDTH[name])
    assert r.widths.m_star <= 3
    m = brute_force_min_width(r.data.X, r.data.y, r.patterns.D, LOW_WIDTH[name]["beta"], r.p_star, max_m=3)
    assert m == r.widths.m_star


@pytest.mark.slow
@pytest.mark.parametrize("name", [*LOW_WIDTH, *MORE])
def test_vertices_match_brute_force_over_supports(name):
    """The enumerated vertices are exactly the independent supports that reproduce the optimal fit."""
    r = run({**LOW_WIDTH, **MORE}[name])
    supports = brute_force_supports(r.polytope.A, r.polytope.target)
    assert len(supports) == r.widths.n_vertices
    assert {frozenset(np.flatnonzero(v > 0)) for v in r.polytope.vertices} == set(supports)
    assert min(len(s) for s in supports) == r.widths.m_star
    assert max(len(s) for s in supports) == r.widths.M_star


def test_circle3_has_m_star_below_M_star():
    r = run(LOW_WIDTH["circle3-equal"])
    assert (r.widths.m_star, r.widths.M_star, r.widths.n_vertices) == (2, 3, 5)


@pytest.mark.slow
def test_symmetric_1d_with_bias_has_several_vertices():
    r = run({"beta": 0.05, "data": {"kind": "points", "X": [[-2], [-1], [0], [1], [2]], "y": [1, 0, 1, 0, 1],
                                    "bias": True}})
    assert r.certificates["duality_gap"] <= 1e-8
    assert r.widths.m_star is not None and r.widths.M_star is not None
    assert r.widths.m_star <= r.widths.M_star <= r.data.n


@pytest.mark.slow
def test_gaussian_d3_polytope_with_many_vertices():
    """Generic data give a large optimal polytope; check it from every side."""
    r = run({"beta": 0.05, "data": {"kind": "gaussian", "n": 24, "d": 3, "seed": 0}})
    poly, w = r.polytope, r.widths
    assert w.n_vertices is not None and w.n_vertices > 1
    assert poly.dim >= 1
    V = poly.vertices
    # every vertex is optimal: same fit, nonnegative, same penalty (nu^T h_k = beta for all k)
    np.testing.assert_allclose(V @ poly.A.T, np.tile(poly.target, (len(V), 1)), atol=1e-6)
    assert (V >= 0).all()
    np.testing.assert_allclose(V.sum(axis=1), V[0].sum(), rtol=1e-7)
    # every vertex has linearly independent features (irreducible)
    for v in V:
        S = np.flatnonzero(v > 0)
        assert np.linalg.matrix_rank(poly.A[:, S], tol=1e-9) == len(S)
    # m* from the vertices equals the MILP's m* (an independent method)
    from convexdual.optimal_set import min_cardinality_milp

    (low, high), c = min_cardinality_milp(poly)
    assert low == high == w.m_star
    # every LP vertex (HiGHS simplex) is among the enumerated vertices (cddlib), to 1e-5
    for s in poly.sample_vertices:
        assert np.abs(V - s).max(axis=1).min() <= 1e-5
    assert r.certificates["duality_gap"] <= 1e-8


# ----------------------------------------------------------------------------- nonconvex side


def train_gd(X, y, beta, m, seed, steps=20000, lr=0.02):
    """Plain full-batch gradient descent on (P_m) from a small random start."""
    rng = np.random.default_rng(seed)
    W = 0.5 * rng.standard_normal((m, X.shape[1]))
    a = 0.5 * rng.standard_normal(m)
    for _ in range(steps):
        Z = X @ W.T
        A = np.maximum(Z, 0)
        r = A @ a - y
        ga = A.T @ r + beta * a
        gW = ((r[:, None] * (Z > 0)) * a[None, :]).T @ X + beta * W
        a -= lr * ga
        W -= lr * gW
    return Network(W=W, a=a)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_p_star_lower_bounds_trained_networks_and_is_reached(seed):
    """No trained network beats p*; wide networks trained by plain GD approach it.

    GD with weight decay converges slowly at the end (20,000 steps leave a gap of ~1e-4 to 3e-3
    on these instances), so "approach" is checked at 1% relative; the lower bound is exact."""
    raw = {"beta": 0.1, "data": {"kind": "gaussian", "n": 6, "d": 2, "seed": seed, "bias": True}}
    r = run(raw)
    X, y = r.data.X, r.data.y
    values = [objective(train_gd(X, y, 0.1, m=16, seed=s), X, y, "regression", 0.1) for s in range(3)]
    assert min(values) >= r.p_star - 1e-9
    assert min(values) <= r.p_star * 1.01


def network_certificate(X, D, y, net, beta):
    """(gap to the dual bound, max dual value / beta - 1) for a network's residual."""
    nu = y - net.predict(X)
    dv = dual_values(X, D, nu)
    scale = min(1.0, beta / dv.max_value)
    dual = 0.5 * y @ y - 0.5 * (scale * nu - y) @ (scale * nu - y)
    return objective(net, X, y, "regression", beta) - dual, dv.max_value / beta - 1


def test_certificate_accepts_optimum_and_rejects_perturbation():
    r = run(EXAMPLE1)
    X, y, D = r.data.X, r.data.y, r.patterns.D
    gap, viol = network_certificate(X, D, y, r.network, 0.1)
    assert gap <= 1e-9 and viol <= 1e-9
    bad = Network(W=r.network.W * 1.01, a=r.network.a)
    gap, viol = network_certificate(X, D, y, bad, 0.1)
    assert gap > 1e-6


# ----------------------------------------------------------------------------- problem variants


def test_interpolation_certified():
    r = run({"problem": "interpolation", "data": {"kind": "points", "X": [[-1], [0], [1], [2]], "y": [1, 0, 1, 3],
                                                  "bias": True}})
    c = r.certificates
    assert c["interpolation_residual"] <= 1e-7
    assert abs(c["duality_gap"]) <= 1e-7
    assert r.widths.m_star <= r.data.n


@pytest.mark.slow
def test_skip_connection_residual_orthogonal_to_data():
    r = run({"beta": 0.1, "model": {"skip": True}, "data": {"kind": "gaussian", "n": 8, "d": 2, "seed": 1,
                                                           "bias": True}})
    assert r.certificates["skip_dual_residual"] <= 1e-7
    assert r.certificates["duality_gap"] <= 1e-8
    assert r.network.z is not None


def test_sampled_patterns_are_labelled():
    r = run(EXAMPLE1, "patterns=sampled", "patterns.n_samples=500")
    d = r.to_dict()
    assert d["patterns"]["mode"] == "sampled" and d["patterns"]["n_samples"] == 500
    assert d["patterns"]["count"] <= 4


# ----------------------------------------------------------------------------- solvers


@pytest.mark.slow
def test_scs_agrees_with_clarabel():
    """SCS (first order) solves at low accuracy; the exact refinement that follows (regression
    without skip) makes the final dual accurate, and the answer is Clarabel's."""
    raw = {"beta": 0.1, "data": {"kind": "gaussian", "n": 6, "d": 2, "seed": 2}}
    a = run(raw, "solver=clarabel")
    b = run(raw, "solver=scs")
    assert any(s.name == "scs" and s.accuracy == "low" for s in b.optimum.solves)
    assert b.to_dict()["solver"]["name"] == "cuts+newton" and b.to_dict()["solver"]["accuracy"] == "high"
    assert b.p_star == pytest.approx(a.p_star, rel=1e-6)
    assert (b.widths.m_star, b.widths.M_star) == (a.widths.m_star, a.widths.M_star)


def test_mosek_agrees_with_clarabel_where_licensed():
    from convexdual.solvers import mosek_license_state

    ok, why = mosek_license_state()
    if not ok:
        pytest.skip(f"MOSEK not usable here: {why}")
    a = run(EXAMPLE1, "solver=clarabel")
    b = run(EXAMPLE1, "solver=mosek")
    assert b.p_star == pytest.approx(a.p_star, abs=1e-8)
    assert (b.widths.m_star, b.widths.M_star) == (1, 2)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["circle5-equal", "circle3-equal", "circle4-equal"])
def test_pivot_enumeration_agrees_with_cddlib(name):
    """Two independent vertex enumerations (basis pivoting vs cddlib's double description) agree
    to 1e-7 on small polytopes, where cddlib's float arithmetic is reliable."""
    from convexdual.optimal_set import cdd_vertices

    r = run({**LOW_WIDTH, **MORE}[name])
    poly = r.polytope
    center = poly.vertices.mean(axis=0)
    W = cdd_vertices(center, poly.N)
    assert len(W) == len(poly.vertices)
    for w in W:
        assert np.abs(poly.vertices - w).max(axis=1).min() <= 1e-7


def test_zero_network_optimum_when_beta_is_large():
    """Every dual value clearly below beta: the zero network is the unique optimum, p* = 1/2 ||y||^2."""
    r = run({"beta": 1.0, "widths": [1, 2], "data": {"kind": "gaussian", "n": 5, "d": 2, "seed": 1}})
    assert r.p_star == pytest.approx(0.5 * float(r.data.y @ r.data.y), rel=1e-12)
    assert (r.widths.m_star, r.widths.M_star, r.widths.n_vertices) == (0, 0, 1)
    assert all(row["connected"] and row["isolated_points"] == 1 for row in r.staircase)


NEAR_TIE = {"beta": 0.01, "data": {"kind": "gaussian", "n": 6, "d": 2, "seed": 5, "bias": True}}


def test_near_tie_resolved_by_orders_of_magnitude_is_accepted():
    """An inactive value 2e-7 below beta (stable from solver tolerance 1e-8 to 1e-11) while active
    values sit within 1e-10: accepted through tol.margin_ratio, and the margin is reported."""
    r = run(NEAR_TIE)
    c = r.certificates
    assert c["active_margin"] < 1e-6
    assert c["active_margin"] >= 1e3 * c["active_deviation"]


def test_unclear_margin_is_refused():
    from convexdual.errors import CertificateError

    with pytest.raises(CertificateError, match="unclear active set"):
        run(NEAR_TIE, "tol.margin_ratio=1e9")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["circle3.yaml", "diabetes.yaml", "gaussian_n24_d3.yaml", "interpolation_line.yaml"])
def test_working_set_gives_the_direct_answer(name):
    """Growing a working set of blocks (certified by dual feasibility on every block) gives the
    same p* (1e-9 relative), m*, M*, vertices and staircase as the solve over every pattern."""
    from pathlib import Path

    from convexdual.config import load_config

    path = Path(__file__).resolve().parent.parent / "configs" / name
    direct, grown = (solve(load_config(path, [f"working_set={mode}"])) for mode in ("never", "always"))
    assert grown.p_star == pytest.approx(direct.p_star, rel=1e-9)
    assert (grown.widths.m_star, grown.widths.M_star) == (direct.widths.m_star, direct.widths.M_star)
    assert grown.polytope.vertices.shape == direct.polytope.vertices.shape
    assert _same_staircase(grown.staircase, direct.staircase)


def _same_staircase(a: list[dict], b: list[dict], rel: float = 1e-9) -> bool:
    """Equal phases and counts; float entries (values, lower bounds below m*) to ``rel``, the
    tolerance p* itself is compared at (two solution paths differ in the last digits)."""
    def same(u, v) -> bool:
        if isinstance(u, float) and isinstance(v, float):
            return u == pytest.approx(v, rel=rel)
        return u == v

    return len(a) == len(b) and all(p.keys() == q.keys() and all(same(p[k], q[k]) for k in p) for p, q in zip(a, b))


def test_screened_dual_values_are_exact_above_the_level_and_bounds_below():
    rng = np.random.default_rng(3)
    X, nu = rng.standard_normal((30, 3)), rng.standard_normal(30)
    D = enumerate_patterns(X).D
    full = dual_values(X, D, nu)
    level = 0.9 * full.max_value
    part = dual_values(X, D, nu, screen=level)
    assert np.array_equal(part.values[part.exact], full.values[part.exact])
    assert np.all(part.values[~part.exact] <= level) and np.all(part.values >= full.values - 1e-12)
    assert (~part.exact).sum() > 0 and np.all(part.exact[full.values > level])


def test_partial_dual_check_stops_after_enough_violators_and_is_exact_when_it_does_not(monkeypatch):
    """dual_values(stop_after=(k, level)): exact values agree with the full evaluation; it stops
    once k exact values exceed the level (the rest keep upper bounds); blocks in ``first`` are
    always exact; with fewer than k above the level every block is exact."""
    from convexdual import dual

    monkeypatch.setattr(dual, "CHUNK", 2)  # the check stops between chunks: small ones here
    rng = np.random.default_rng(4)
    X, nu = rng.standard_normal((30, 3)), rng.standard_normal(30)
    D = enumerate_patterns(X).D
    full = dual_values(X, D, nu)
    level = 0.5 * full.max_value
    above = int((full.values > level).sum())
    assert above > 10
    first = np.zeros(full.values.shape, dtype=bool)
    first[np.argmin(full.values[:, 0]), 0] = True
    part = dual_values(X, D, nu, stop_after=(5, level), first=first)
    assert np.allclose(part.values[part.exact], full.values[part.exact], rtol=0, atol=1e-12)
    assert np.all(part.values >= full.values - 1e-12)
    assert 5 <= int((part.values[part.exact] > level).sum()) < above and part.exact[first].all()
    whole = dual_values(X, D, nu, stop_after=(above + 1, level))
    assert whole.exact.all() and np.allclose(whole.values, full.values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("degenerate", [False, True])
def test_batched_cone_projections_match_nnls(d, degenerate):
    """The closed-form projections over the prepared facet normals and edge rays (dual.Cones,
    d <= 3) give the NNLS values over every row to 1e-12 relative (measured: <= 2.3e-15) and the
    same maximizers wherever the value is not 0, on generic data and with repeated, antipodal,
    scaled and coplanar rows; then (d = 3) on data of rank 2, whose cones contain a line (no
    extreme rays: the edges come in pairs +-e)."""
    from convexdual.dual import cell_cones

    rng = np.random.default_rng(d)
    X, nu = rng.standard_normal((25, d)), rng.standard_normal(25)
    if degenerate:
        X[5], X[7], X[9] = X[3], -X[2], 2 * X[1]
        if d == 3:
            X[10], X[11] = X[1] + X[2], X[1] - X[2]
    D = enumerate_patterns(X).D
    batched = dual_values(X, D, nu, facets=cell_cones(X, D, cell_facets(X, D)))
    reference = dual_values(X, D, nu)
    scale = reference.max_value
    assert np.abs(batched.values - reference.values).max() <= 1e-12 * scale
    big = reference.values > 1e-9 * scale
    assert np.abs(batched.directions - reference.directions)[big].max() <= 1e-9
    if d == 3 and degenerate:
        X[:, 2] = X[:, 0] - X[:, 1]  # rank 2: every cone is a wedge times a line
        D = enumerate_patterns(X).D
        wedges = dual_values(X, D, nu, facets=cell_facets(X, D))  # facet rows, prepared inside
        reference = dual_values(X, D, nu)
        assert np.abs(wedges.values - reference.values).max() <= 1e-12 * reference.max_value
        big = reference.values > 1e-9 * reference.max_value
        assert np.abs(wedges.directions - reference.directions)[big].max() <= 1e-9


def test_carried_bounds_are_upper_bounds_and_exact_values_stay_exact():
    """dual_values(previous=...) screens with value(nu') + ||X^T D_i (nu - nu')||: every returned
    value is >= the exact one (to round-off, 1e-12), exact ones are exact (1e-12 relative), every block above the
    screening level is exact, and near nu' far fewer blocks are projected than from ||X^T D_i nu||
    alone. Chained twice, with a bounded (screened) previous value carried again."""
    from convexdual.dual import cell_cones

    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 3))
    D = enumerate_patterns(X).D
    cones = cell_cones(X, D, cell_facets(X, D))
    nu0 = rng.standard_normal(40)
    level = 0.8 * dual_values(X, D, nu0, facets=cones).max_value
    prev = dual_values(X, D, nu0, facets=cones, screen=level)
    for step in (1e-4, 1e-3):
        nu = prev.nu + step * rng.standard_normal(40)
        exact = dual_values(X, D, nu, facets=cones)
        plain = dual_values(X, D, nu, facets=cones, screen=level)
        carried = dual_values(X, D, nu, facets=cones, screen=level, previous=prev)
        assert np.all(carried.values >= exact.values - 1e-12)
        # exact to round-off: the sums X^T D_i nu come from a matmul of another shape here
        assert np.allclose(carried.values[carried.exact], exact.values[carried.exact], rtol=1e-12, atol=0)
        assert np.all(carried.exact[exact.values > level]) and np.all(carried.values[~carried.exact] <= level)
        assert carried.exact.sum() < plain.exact.sum()
        prev = carried


def test_beta_sweep_reuses_the_enumeration_and_seeds_the_working_set():
    """Sweeps reuse work: a second solve of the same data through one SolveCache reuses the patterns
    (same cells) and starts its cuts from the previous active features (fewer cut rounds); the answer
    is the one of a fresh solve (p* to 1e-9 relative, same m*, M*). Solves without a cache share nothing."""
    from convexdual.solve_cache import SolveCache

    cfg = {"beta": 0.1, "working_set": "always", "data": {"kind": "gaussian", "n": 24, "d": 3, "seed": 1}}
    fresh = run({**cfg, "beta": 0.2})
    cache = SolveCache()
    first = solve(config_from_dict(cfg), cache)
    second = solve(config_from_dict({**cfg, "beta": 0.2}), cache)
    again = run({**cfg, "beta": 0.2})
    assert not first.to_dict()["patterns"]["reused"] and second.to_dict()["patterns"]["reused"]
    assert not again.to_dict()["patterns"]["reused"]
    assert second.patterns.D is first.patterns.D
    growth = [r.optimum.solves[0] for r in (second, fresh)]
    assert [g.name for g in growth] == ["cuts+nnls"] * 2
    assert growth[0].iterations < growth[1].iterations  # cut rounds, measured 7 against 10
    assert second.p_star == pytest.approx(fresh.p_star, rel=1e-9)
    assert (second.widths.m_star, second.widths.M_star) == (fresh.widths.m_star, fresh.widths.M_star)


@pytest.mark.slow
def test_exact_refinement_settles_what_the_interior_point_solve_cannot():
    """gaussian n = 40, d = 2, seed 0, beta 0.05: after the polish (Clarabel refuses 1e-12) an
    inactive value sits 1.02e-7 below beta while active values deviate by 1.5e-9, an unclear split.
    The refinement (refine.refine_dual: cuts, then Newton steps on the faces) resolves it: measured
    dual violation 8e-16 (absolute, beta 0.05), active deviation 1.6e-14, margin 1.0e-7, gap 4e-15.
    Checked independently: the rebuilt width-m* network is certified global by certify.certify
    (exact projections over every block) within 1e-9 of p*."""
    from convexdual.certify import certify
    from convexdual.config import CertifyTolerances

    r = run({"beta": 0.05, "data": {"kind": "gaussian", "n": 40, "d": 2, "seed": 0}})
    assert r.optimum.solves[-1].name == "cuts+newton"
    c = r.certificates
    assert c["dual_violation"] <= 1e-10 * 0.05 and abs(c["relative_duality_gap"]) <= 1e-9
    assert c["active_margin"] >= 1e3 * c["active_deviation"]
    cert = certify(r.network, r.data.X, r.data.y, r.patterns.D, beta=0.05, skip=False, p_star=r.p_star,
                   solver="clarabel", tol=CertifyTolerances(gap=1e-9, stationary=1e-6), solver_tol=1e-10)
    assert cert.classification == "global_optimum" and cert.dual_max <= 0.05 * (1 + 1e-9)


def test_polyhedron_projection_is_exact():
    """project_polyhedron against the KKT conditions of min ||nu - y|| s.t. A nu <= b: feasible,
    y - nu = A^T lam with lam >= 0, complementary (lam_k > 0 only on rows with a_k^T nu = b_k);
    tolerance 1e-10 (the NNLS and the least-squares re-projection run in double precision on
    O(1) data). Degenerate rows (duplicates, more rows active than the dimension) included."""
    from convexdual.refine import project_polyhedron

    rng = np.random.default_rng(3)
    n = 12
    A = rng.standard_normal((40, n))
    A = np.vstack([A, A[:5], A[:3] + A[3:6]])  # duplicated and dependent rows
    b = np.ones(len(A))
    for scale in (0.5, 5.0):
        y = scale * rng.standard_normal(n)
        nu, lam = project_polyhedron(y, A, b)
        assert np.max(A @ nu - b) <= 1e-10
        assert np.all(lam >= 0) and np.linalg.norm(y - nu - A.T @ lam) <= 1e-10 * max(1.0, np.linalg.norm(y))
        assert np.all(np.abs(A[lam > 0] @ nu - b[lam > 0]) <= 1e-10)
        assert (lam > 0).any() == (np.max(A @ y - b) > 0)


def test_distinct_rows_keep_first_occurrences_and_settled_rows():
    """Rows equal to 14 decimals are one row (the first kept, -0.0 = 0.0); with ``settled`` the
    leading rows are taken as they are and only the rows after them are compared with them."""
    from convexdual.refine import distinct_rows

    rng = np.random.default_rng(3)
    R = rng.standard_normal((50, 7)).round(14)
    rows = np.vstack([R, R[::4] + 1e-16, np.zeros((1, 7)), -0.0 * R[:2]])
    out, first = distinct_rows(rows)
    assert out.shape == (51, 7) and first.tolist() == [*range(50), 63]
    np.testing.assert_array_equal(out, rows[first])
    more = np.vstack([out, R[5:9], rng.standard_normal((3, 7)), np.zeros((1, 7))])
    out2, first2 = distinct_rows(more, settled=len(out))
    assert first2.tolist() == [*range(51), 55, 56, 57]
    np.testing.assert_array_equal(out2[:51], out)
    np.testing.assert_allclose(out2[51:], more[55:58], rtol=0, atol=1e-14)


def test_polyhedron_projection_by_row_generation_is_the_same_projection():
    """refine.project_by_rows (the fallback when one NNLS over thousands of rows is inaccurate),
    started from no row and from a few rows, reaches the projection onto all rows: the same nu as
    project_polyhedron to 1e-10 and the KKT conditions to 1e-10 (double precision on O(1) data),
    with far fewer rows held than given."""
    from convexdual.refine import project_by_rows, project_polyhedron

    rng = np.random.default_rng(8)
    n = 30
    A = rng.standard_normal((2000, n))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    b = np.ones(len(A))
    y = 3.0 * rng.standard_normal(n)
    ref, _ = project_polyhedron(y, A, b)
    for start in (np.zeros(0, dtype=int), np.argsort(-(A @ y))[:3]):
        nu, lam = project_by_rows(y, A, b, start)
        assert np.linalg.norm(nu - ref) <= 1e-10 * np.linalg.norm(y)
        assert np.max(A @ nu - b) <= 1e-10 and np.all(lam >= 0)
        assert np.linalg.norm(y - nu - A.T @ lam) <= 1e-10 * np.linalg.norm(y)
        assert np.all(np.abs(A[lam > 0] @ nu - 1.0) <= 1e-10) and 0 < (lam > 0).sum() < len(A) // 10


@pytest.mark.slow
def test_exact_refinement_from_a_loose_solve_in_3d():
    """refine.refine_dual from a deliberately loose solve (Clarabel at tol 1e-5) of gaussian n = 24,
    d = 3, beta 0.05 (optimal directions on facets and edges of the cells, a 10-dimensional optimal
    polytope): the refined nu is dual feasible to 1e-12 (relative; double precision on O(1) data
    leaves ~1e-14), its fitted network's objective equals the dual objective to 1e-12 (relative),
    and it agrees with the certified pipeline's nu to 1e-7 (that one comes from an interior-point
    solve at tol 1e-10, accurate to about 1e-8)."""
    from convexdual.dual import dual_objective
    from convexdual.program import solve_convex
    from convexdual.refine import refine_dual

    beta = 0.05
    r = run({"beta": beta, "data": {"kind": "gaussian", "n": 24, "d": 3, "seed": 0}})
    X, y = r.data.X, r.data.y
    D = enumerate_patterns(X).D
    F = cell_facets(X, D)
    loose = solve_convex(X, y, D, D, problem="regression", beta=beta, skip=False, solver="clarabel", tol=1e-5)
    screen = beta * (1 - 1e-3)
    start = dual_values(X, D, loose.nu, screen=screen, facets=F)
    sol, values = refine_dual(X, y, D, F, start, beta, screen)
    assert start.max_value > beta * (1 + 1e-7)  # the loose solve is visibly off
    assert values.max_value <= beta * (1 + 1e-12)
    dual = dual_objective(sol.nu, y, "regression")
    assert abs(sol.objective - dual) <= 1e-12 * abs(dual)
    assert np.abs(sol.nu - r.optimum.solution.nu).max() <= 1e-7


@pytest.mark.slow
def test_exact_refinement_at_scale():
    """The large instance, gaussian n = 200, d = 3 (39,802 cells), seed 0, beta 0.05: from the
    cut growth's dual point (relative violation <= 1e-7), refine.refine_dual reaches a split that
    active_set accepts with "active" meaning within 1e-11: measured margin 9.4e-9, active values
    within 4.1e-14 of beta, fitted network's objective minus dual objective 6.4e-14 (asserted:
    margin >= 1000 x deviation, gap <= 1e-12 relative). With Newton steps cut at singular values
    1e-13 instead of 1e-15 the steps stalled and the split was refused (the regression this guards)."""
    from convexdual.dual import active_set, dual_objective
    from convexdual.optimum import _grow_by_cuts
    from convexdual.refine import refine_dual

    beta = 0.05
    data = load_data(config_from_dict({"beta": beta, "data": {"kind": "gaussian", "n": 200, "d": 3, "seed": 0}}).data)
    X, y = data.X, data.y
    D = enumerate_patterns(X).D
    F = cell_facets(X, D)
    screen = beta * (1 - 1e-3)
    _, values = _grow_by_cuts(X, y, D, beta, 1e-7, screen, F, None)
    sol, refined = refine_dual(X, y, D, F, values, beta, screen)
    split = active_set(refined, beta, 1e-11, 1e-6, 1e3)
    assert split.margin >= 1e3 * split.max_active_deviation
    dual = dual_objective(sol.nu, y, "regression")
    assert abs(sol.objective - dual) <= 1e-12 * abs(dual)


@pytest.mark.slow
def test_face_newton_holds_the_faces_of_the_active_cuts():
    """gaussian n = 100, d = 3, seed 0, beta 0.001: more faces lie within 1e-9 of beta at the cut
    rounds' point than the optimum holds active. Holding them all made the Newton system inconsistent
    and the split was refused (an inactive value 1.5e-10 above beta, active values within 1.0e-11).
    Holding the faces of the cuts with a positive multiplier (rows scaled so that both parts of the
    residual are relative) settles it: measured active values within 6.0e-14 of beta, margin
    1.5e-9, relative duality gap 5e-14. Asserted: margin >= 1000 x deviation, deviation <= 1e-12,
    dual violation and gap <= 1e-12 (relative; round-off on this data is about 1e-14)."""
    beta = 0.001
    r = run({"beta": beta, "data": {"kind": "gaussian", "n": 100, "d": 3, "seed": 0},
             "polytope": {"milp_time_limit_s": 1, "enum_timeout_s": 1}})
    assert r.optimum.solves[-1].name == "cuts+newton"
    c = r.certificates
    assert c["active_deviation"] <= 1e-12 and c["active_margin"] >= 1e3 * c["active_deviation"]
    assert c["dual_violation"] <= 1e-12 * beta and abs(c["relative_duality_gap"]) <= 1e-12


@pytest.mark.parametrize("name", ["example1.yaml", "circle3.yaml", "staircase.yaml"])
def test_phase_bounds_agree_with_the_exact_staircase(name):
    """widths.phase_bounds (Theorem 2 from m*, M* bounds, for polytopes whose vertices cannot be
    listed) never contradicts the exact staircase: with the exact m*, M* and with bounds widened
    by one on each side, every fact it states (not None) holds at every width."""
    from pathlib import Path

    from convexdual.config import load_config
    from convexdual.widths import phase_bounds

    r = solve(load_config(Path(__file__).resolve().parent.parent / "configs" / name))
    m, M, n = r.widths.m_star, r.widths.M_star, r.data.n
    exact = {row["m"]: row for row in r.staircase}
    checked = 0
    for mb, Mb in (((m, m), (M, M)), ((max(1, m - 1), m + 1), (M, M + 1))):
        for row in phase_bounds(mb, Mb, n):
            for width in range(row["from_m"], row["to_m"] + 1):
                e = exact[width]
                truth = {"optimal": e["optimal"], "some_continuum": e["continuum_components"] >= 1,
                         "some_isolated": e["isolated_points"] >= 1, "connected": e["connected"],
                         "all_isolated": e["optimal"] and e["continuum_components"] == 0}
                for key, value in truth.items():
                    if row[key] is not None:
                        assert row[key] == value, (name, mb, Mb, width, key)
                        checked += 1
    assert checked > 0


@pytest.mark.slow
def test_staircase_bounds_when_the_vertices_are_not_listed():
    """gaussian_n24_d3 with polytope.max_enum_dim=2: no vertex list, so no exact staircase; the JSON
    carries staircase_bounds over widths 1..n+1 instead (from the MILP's m* and the M* bounds), and
    with the vertices listed it is null."""
    from pathlib import Path

    from convexdual.config import load_config

    path = Path(__file__).resolve().parent.parent / "configs" / "gaussian_n24_d3.yaml"
    r = solve(load_config(path, ["polytope.max_enum_dim=2"])).to_dict()
    assert r["staircase"] is None and r["n_vertices"] is None
    rows = r["staircase_bounds"]
    assert rows[0]["from_m"] == 1 and rows[-1]["to_m"] == r["n"] + 1
    assert all(a["to_m"] + 1 == b["from_m"] for a, b in zip(rows, rows[1:]))
    lo, hi = r["m_star_bounds"]
    assert all(row["optimal"] is False for row in rows if row["to_m"] < lo)
    assert all(row["optimal"] is True for row in rows if row["from_m"] >= hi)
    assert solve(load_config(path)).to_dict()["staircase_bounds"] is None


# ----------------------------------------------------------------------------- beyond enumeration

GAUSS_D4 = {"beta": 0.05, "data": {"kind": "gaussian", "n": 16, "d": 4, "seed": 3}}


@pytest.mark.parametrize("bias", [False, True])
def test_oracle_mode_gives_the_enumerated_answer(bias):
    """The exact dual oracle, started from 50 sampled cells, ends at the enumerated optimum: p* to
    1e-9 relative (both are certified to a duality gap of 1e-9), the same m*, M* and vertex count."""
    flag = f"data.bias={'true' if bias else 'false'}"
    exact = run(GAUSS_D4, flag).to_dict()
    oracle = run(GAUSS_D4, flag, "patterns.mode=oracle", "patterns.n_samples=50").to_dict()
    assert oracle["patterns"]["mode"] == "oracle"
    assert oracle["patterns"]["count"] < exact["patterns"]["count"]
    search = oracle["patterns"]["oracle"]
    assert search["rounds"] >= 1 and search["outside"] < 0.05 * (1 - 1e-7)
    assert oracle["p_star"] == pytest.approx(exact["p_star"], rel=1e-9)
    for key in ("m_star", "M_star", "n_vertices", "polytope_dim"):
        assert oracle[key] == exact[key], key


@pytest.mark.slow
def test_swept_cuts_give_the_enumerated_answer_in_d3():
    """d = 3 regression with the oracle starts from dictionary and swept cuts instead of sampled
    cells (the log says so) and ends at the enumerated optimum: p* to 1e-9 relative (both certified
    to 1e-9), the same directions (to 1e-6), M* and polytope dimension; the patterns are the
    cells near the bound only. Its polytope is exact to round-off (refined dual), so the search
    over class ends decides m*, inside the bracket the enumeration path's MILP leaves (that path's
    interior-point dual reproduces the fit only to about 1e-7, too coarse for the search)."""
    raw = {"beta": 0.05, "data": {"kind": "gaussian", "n": 40, "d": 3, "seed": 1}}
    exact = run(raw).to_dict()
    with _captured_log() as lines:
        oracle = run(raw, "patterns.mode=oracle").to_dict()
    assert any("swept cut round" in line for line in lines)
    assert oracle["p_star"] == pytest.approx(exact["p_star"], rel=1e-9)
    assert oracle["certificates"]["dual_violation"] <= 1e-9
    assert oracle["patterns"]["count"] < exact["patterns"]["count"]
    key = lambda d: sorted((e["sign"], *np.round(e["w"], 6)) for e in d["directions"])
    assert key(oracle) == key(exact)
    for name in ("M_star", "polytope_dim"):
        assert oracle[name] == exact[name], name
    assert oracle["m_star"] is not None and oracle["widths_method"].startswith("series-class ends")
    low, high = exact["m_star_bounds"]
    assert low <= oracle["m_star"] <= high


@contextlib.contextmanager
def _captured_log():
    """The convexdual logger's messages while the block runs."""
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("convexdual")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def test_enumeration_above_the_cell_limit_switches_to_the_oracle():
    raw = {**GAUSS_D4, "limits": {"cells": 100}}
    d = run(raw).to_dict()
    assert d["patterns"]["mode"] == "oracle" and d["patterns"]["oracle"] is not None
    assert d["p_star"] == pytest.approx(run(GAUSS_D4).p_star, rel=1e-9)


def test_inaccurate_interior_point_solve_is_refined_not_refused():
    """An instance whose Clarabel solve ends 'optimal_inaccurate' at tol 1e-10 is certified by the
    exact refinement: duality gap and dual violation below 1e-9."""
    raw = {"beta": 1.0, "data": {"kind": "gaussian", "n": 10, "d": 4, "seed": 0}}
    d = run(raw).to_dict()
    c = d["certificates"]
    assert c["duality_gap"] <= 1e-9 and c["dual_violation"] <= 1e-9


def test_oracle_out_of_time_brackets_p_star():
    """With no time for the oracle, p* is bracketed: the bracket contains the certified p*, the
    result says it is not certified and claims nothing about the optimal set."""
    exact = run(GAUSS_D4).p_star
    r = run(GAUSS_D4, "patterns.mode=oracle", "patterns.n_samples=20", "oracle.time_limit_s=1e-9")
    d = r.to_dict()
    lo, hi = d["p_star_bounds"]
    assert d["certified"] is False and d["p_star"] is None and d["m_star"] is None
    assert lo <= exact * (1 + 1e-12) and exact <= hi * (1 + 1e-12) and lo < hi
    assert d["patterns"]["oracle"]["complete"] is False
    assert d["certificates"]["dual_violation"] > 0


def test_certified_results_carry_their_bracket():
    d = run(GAUSS_D4).to_dict()
    lo, hi = d["p_star_bounds"]
    assert d["certified"] is True and hi == d["p_star"] and 0 <= hi - lo <= 1e-9 * hi
