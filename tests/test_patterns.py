"""Tests for convexdual.patterns: exact enumeration of the open cells of a central arrangement.

Exact pattern sets are compared as sets of columns (exact bool equality).  The reference
lp_cell_search decides feasibility with margin t > 1e-9 on unit-norm rows; the enumeration treats
|x^T rho| <= 1e-10 as "on the hyperplane".  All degenerate instances below are degenerate exactly
(up to float rounding ~1e-16), far from both thresholds.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linprog

from convexdual.patterns import (
    Patterns,
    cell_facets,
    enumerate_patterns,
    general_position_count,
    lp_cell_search,
    sample_patterns,
)


def _cols(D: np.ndarray) -> set[tuple[bool, ...]]:
    return {tuple(bool(v) for v in col) for col in D.T}


def _gaussian(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


def _with_bias(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((X.shape[0], 1))])


def _circle(step_deg: float) -> np.ndarray:
    th = np.deg2rad(np.arange(0.0, 360.0, step_deg))
    return np.column_stack([np.cos(th), np.sin(th)])


def _degenerate_instances() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    g = rng.standard_normal((4, 3))
    plane_basis = rng.standard_normal((2, 3))
    grid = np.array([v for v in itertools.product((-1, 0, 1), repeat=3) if any(v)], dtype=float)
    line = rng.standard_normal(3)  # many rows through one common line in d=3
    through_line = np.cross(line, rng.standard_normal((7, 3)))
    return {
        "gaussian_d3": _gaussian(9, 3, seed=3),
        "circle_30deg": _circle(30.0),  # 12 rows = 6 antipodal pairs in d=2
        "circle_45deg_plus_origin": np.vstack([_circle(45.0), np.zeros((1, 2))]),
        "1d_bias_repeats": _with_bias(np.array([[-2.0], [-1.0], [-1.0], [0.0], [0.5], [0.5], [0.5], [3.0]])),
        "dups_and_negatives": np.vstack([g, g[:2], -g[1:3], 2.5 * g[3:], -0.5 * g[:1]]),
        "plane_plus_off": np.vstack([rng.standard_normal((8, 2)) @ plane_basis, rng.standard_normal((3, 3))]),
        "through_common_line": np.vstack([through_line, rng.standard_normal((2, 3))]),
        "grid_pm1_d3": grid,  # all of {-1,0,1}^3 minus 0: antipodes and many triple coincidences
        "n_less_than_d": _gaussian(3, 5, seed=4),
        "rank_deficient": rng.standard_normal((7, 2)) @ rng.standard_normal((2, 4)),
        "zero_row": np.vstack([_gaussian(5, 3, seed=5), np.zeros((1, 3)), _gaussian(2, 3, seed=6)]),
        "bias_d2_collinear": _with_bias(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [1.0, 0.0], [0.0, 1.0], [3, 3]])),
    }


DEGENERATE = _degenerate_instances()


def test_general_position_count_values() -> None:
    assert general_position_count(0, 3) == 1
    assert general_position_count(1, 3) == 2
    assert general_position_count(3, 2) == 6  # 3 lines through the origin: 6 sectors
    assert general_position_count(4, 3) == 14  # 2 * (1 + 3 + 3)
    assert general_position_count(3, 5) == 2**3  # n <= d: every sign vector
    assert general_position_count(10, 1) == 2


def test_example_two_rows_in_the_plane() -> None:
    X = np.array([[1.0, 0.0], [-0.5, math.sqrt(3) / 2]])
    P = enumerate_patterns(X)
    assert P.count == 4
    assert P.mode == "exact" and P.n_samples is None and P.seed is None
    # all four sign vectors, lexicographically sorted (row 0 most significant)
    np.testing.assert_array_equal(P.D, np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=bool))


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("n,d", [(10, 2), (10, 3), (12, 4), (8, 5)])
def test_gaussian_count_matches_general_position(n: int, d: int, bias: bool) -> None:
    # Gaussian rows are in general position a.s.; with a bias column appended the rows (x_k, 1)
    # are still in general position in R^{d+1} (any d+1 of them are independent a.s.), so the
    # formula applies with dimension d+1.  Counts are integers: exact equality.
    X = _gaussian(n, d, seed=n + 10 * d)
    if bias:
        X = _with_bias(X)
    P = enumerate_patterns(X)
    assert P.count == general_position_count(n, X.shape[1])
    assert P.D.shape == (n, P.count) and P.D.dtype == bool


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("n,d", [(10, 2), (10, 3), (8, 4)])
def test_gaussian_matches_lp_reference(n: int, d: int, bias: bool) -> None:
    X = _gaussian(n, d, seed=100 + n + d)
    if bias:
        X = _with_bias(X)
    assert _cols(enumerate_patterns(X).D) == _cols(lp_cell_search(X))


def test_large_gaussian_count() -> None:
    # n = 200, d = 3: 39,802 cells; exercises the vectorized path at scale (exact integer count).
    X = _gaussian(200, 3, seed=1)
    assert enumerate_patterns(X).count == general_position_count(200, 3)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_degenerate_matches_lp_reference(name: str) -> None:
    X = DEGENERATE[name]
    E = enumerate_patterns(X).D
    L = lp_cell_search(X)
    assert _cols(E) == _cols(L)
    np.testing.assert_array_equal(E, L)  # both sorted lexicographically -> identical matrices


def test_known_degenerate_counts() -> None:
    # 12 directions at 30 deg = 6 distinct lines through the origin in R^2: 12 sectors.
    assert enumerate_patterns(_circle(30.0)).count == 12
    # 1-D data with bias: rows (x, 1) give one line per distinct x value (k of them, none
    # antipodal), so the central arrangement in R^2 has 2k cells.
    X = DEGENERATE["1d_bias_repeats"]
    k = len(np.unique(X[:, 0]))
    assert enumerate_patterns(X).count == 2 * k
    # Rank-2 data in R^4 behaves like 7 generic lines in the plane.
    assert enumerate_patterns(DEGENERATE["rank_deficient"]).count == general_position_count(7, 2)
    # n < d: every sign vector is a cell.
    assert enumerate_patterns(DEGENERATE["n_less_than_d"]).count == 2**3
    # Only zero rows: a single cell (everything active).
    P = enumerate_patterns(np.zeros((3, 2)))
    assert P.count == 1 and P.D.all()


@pytest.mark.parametrize(
    "name", ["gaussian_d3", "circle_30deg", "dups_and_negatives", "plane_plus_off", "grid_pm1_d3", "zero_row"]
)
def test_dense_sampling_finds_nothing_new(name: str) -> None:
    # 200,000 seeded Gaussian directions: every pattern hit must be one of the enumerated cells.
    X = DEGENERATE[name]
    exact = _cols(enumerate_patterns(X).D)
    sampled = _cols(sample_patterns(X, n_samples=200_000, seed=11).D)
    assert sampled <= exact
    assert len(sampled) >= 0.5 * len(exact)  # sanity: sampling is not vacuous on these small instances


def _realizable(X: np.ndarray, pattern: np.ndarray) -> bool:
    """LP: exists h with x_k^T h >= 1 where the pattern is 1 and <= -1 where 0 (nonzero rows)."""
    nz = np.any(X != 0, axis=1)
    sign = np.where(pattern[nz], 1.0, -1.0)
    G = sign[:, None] * X[nz]
    d = X.shape[1]
    if G.shape[0] == 0:
        return True
    res = linprog(np.zeros(d), A_ub=-G, b_ub=-np.ones(G.shape[0]), bounds=[(None, None)] * d, method="highs")
    if res.status != 0:
        return False
    return bool(np.min(G @ res.x) >= 1 - 1e-7)  # HiGHS feasibility tolerance ~1e-7


@pytest.mark.parametrize("name", ["grid_pm1_d3", "through_common_line", "zero_row", "rank_deficient", "1d_bias_repeats"])
def test_every_pattern_is_realizable(name: str) -> None:
    X = DEGENERATE[name]
    P = enumerate_patterns(X)
    assert all(_realizable(X, P.D[:, i]) for i in range(P.count))
    # zero rows are active in every pattern
    zero = ~np.any(X != 0, axis=1)
    assert P.D[zero].all()


def test_realizability_check_rejects_a_non_cell() -> None:
    # Guard that the LP check can fail: x and -x cannot both be active on an open cell.
    X = np.array([[1.0, 2.0], [-1.0, -2.0]])
    assert not _realizable(X, np.array([True, True]))
    assert _realizable(X, np.array([True, False]))


def test_output_sorted_unique_and_scale_invariant() -> None:
    X = DEGENERATE["grid_pm1_d3"]
    D = enumerate_patterns(X).D
    cols = [tuple(c) for c in D.T]
    assert cols == sorted(set(cols))  # unique and lexicographic (False < True, row 0 first)
    rng = np.random.default_rng(3)
    scaled = X * rng.uniform(0.1, 10.0, size=(X.shape[0], 1))  # positive row scaling: same cells
    np.testing.assert_array_equal(enumerate_patterns(scaled).D, D)
    perm = rng.permutation(X.shape[0])  # row permutation permutes patterns
    assert _cols(enumerate_patterns(X[perm]).D) == _cols(D[perm])


def test_sample_patterns_subset_and_metadata() -> None:
    X = _gaussian(15, 3, seed=2)
    exact = enumerate_patterns(X)
    S = sample_patterns(X, n_samples=5000, seed=42)
    assert isinstance(S, Patterns)
    assert S.mode == "sampled" and S.n_samples == 5000 and S.seed == 42
    assert S.D.dtype == bool and S.D.shape[0] == 15
    assert 0 < S.count <= exact.count
    assert _cols(S.D) <= _cols(exact.D)
    np.testing.assert_array_equal(sample_patterns(X, n_samples=5000, seed=42).D, S.D)  # deterministic
    cols = [tuple(c) for c in S.D.T]
    assert cols == sorted(set(cols))


def test_invalid_input_rejected() -> None:
    with pytest.raises(ValueError):
        enumerate_patterns(np.ones(3))
    with pytest.raises(ValueError):
        enumerate_patterns(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError):
        sample_patterns(np.ones((2, 2)), n_samples=0, seed=0)


def _min_over_cone(G: np.ndarray, c: np.ndarray) -> float:
    """LP: min c^T u over {u : G u >= 0, -1 <= u <= 1} (0 when the constraint c^T u >= 0 is implied)."""
    d = c.shape[0]
    res = linprog(c, A_ub=-G, b_ub=np.zeros(G.shape[0]), bounds=[(-1, 1)] * d, method="highs")
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("name", ["gaussian_d3", "dups_and_negatives", "through_common_line", "grid_pm1_d3",
                                  "zero_row", "1d_bias_repeats", "rank_deficient", "bias_d2_collinear"])
@pytest.mark.slow
def test_facet_rows_give_the_same_cones(name: str) -> None:
    """Every cell's constraint rows are implied by its facet rows (so the cones are equal), and no
    facet row is implied by the others. LP tolerance 1e-9 on unit-norm rows: the instances are
    degenerate exactly, and a redundant-but-marked or missing facet moves the LP value by O(1)."""
    X = DEGENERATE[name]
    P = enumerate_patterns(X)
    F = cell_facets(X, P.D)
    nz = np.flatnonzero(np.any(X != 0, axis=1))
    A = X[nz] / np.linalg.norm(X[nz], axis=1, keepdims=True)
    assert not F[~np.any(X != 0, axis=1)].any()
    for i in range(P.count):
        S = np.where(P.D[nz, i], 1.0, -1.0)[:, None] * A  # all rows of cell i, oriented
        facet = F[nz, i]
        assert facet.any()
        for k in range(len(nz)):
            if facet[k]:
                others = np.abs(S @ S[k]) < 1 - 1e-12  # rows not on hyperplane k
                assert _min_over_cone(S[others], S[k]) < -1e-6
            else:
                assert _min_over_cone(S[facet], S[k]) >= -1e-9


def test_facets_of_a_gaussian_arrangement() -> None:
    """n great circles in general position on the sphere: each is cut by the other n - 1 into
    2 (n - 1) arcs, each arc a facet of the 2 cells beside it, so every hyperplane is a facet of
    exactly 4 (n - 1) cells; every cell (a spherical polygon) has at least 3 facets."""
    n = 30
    X = _gaussian(n, 3, seed=2)
    P = enumerate_patterns(X)
    F = cell_facets(X, P.D)
    assert F.sum(axis=0).min() >= 3
    assert np.all(F.sum(axis=1) == 4 * (n - 1))
