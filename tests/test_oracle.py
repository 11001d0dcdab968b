"""Tests for convexdual.oracle: the branch-and-bound dual oracle against full enumeration.

Reference values are the block values of every enumerated cell (dual.dual_values, one NNLS per
cell). Both compute the same projections in float64, so values agree to 1e-9 relative (round-off
of small least-squares problems is ~1e-14; the slack covers ill-conditioned cones).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import lsq_linear

from convexdual.dual import dual_values
from convexdual.oracle import cells_above
from convexdual.oracle_kernels import bvls, lsq
from convexdual.patterns import enumerate_patterns

REL = 1e-9


def _instance(n: int, d: int, seed: int, bias: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if bias:
        X = np.hstack([X, np.ones((n, 1))])
    return X, rng.standard_normal(n)


def _cell_values(X: np.ndarray, c: np.ndarray) -> dict[tuple[bool, ...], float]:
    D = enumerate_patterns(X).D
    values = dual_values(X, D, c).values[:, 0]
    return {tuple(bool(v) for v in D[:, i]): float(values[i]) for i in range(D.shape[1])}


CASES = [(12, 3, 0, False), (14, 4, 1, False), (12, 5, 2, False), (12, 3, 3, True), (10, 4, 4, True)]


@pytest.mark.parametrize("n,d,seed,bias", CASES)
@pytest.mark.parametrize("fraction", [1.0 + 1e-9, 0.97, 0.6])
def test_cells_mode_lists_exactly_the_cells_above(n: int, d: int, seed: int, bias: bool, fraction: float) -> None:
    X, c = _instance(n, d, seed, bias)
    cells = _cell_values(X, c)
    top = max(cells.values())
    threshold = top * fraction
    res = cells_above(X, c, threshold, cells=True)
    got = {tuple(bool(v) for v in col): val for col, val in zip(res.patterns.T, res.values)}
    assert res.complete
    assert set(got) == {p for p, v in cells.items() if v >= threshold}
    for p, v in got.items():
        assert v == pytest.approx(cells[p], rel=REL, abs=REL)
    below = [v for v in cells.values() if v < threshold]
    assert res.open_bound >= max(below, default=0.0) - REL * top


@pytest.mark.parametrize("n,d,seed,bias", CASES)
def test_leaf_mode_finds_the_maximum(n: int, d: int, seed: int, bias: bool) -> None:
    """Leaves are regions (negative terms free): each listed leaf names a real cell of its value,
    and the best cell is found whenever the threshold is below it, never when above."""
    X, c = _instance(n, d, seed, bias)
    cells = _cell_values(X, c)
    top = max(cells.values())
    res = cells_above(X, c, top * (1 - 1e-6))
    assert res.complete and len(res.values) >= 1
    assert max(res.values) == pytest.approx(top, rel=REL)
    for col, val in zip(res.patterns.T, res.values):
        assert cells[tuple(bool(v) for v in col)] == pytest.approx(val, rel=REL, abs=REL)
    above = cells_above(X, c, top * (1 + 1e-6))
    assert above.complete and len(above.values) == 0 and above.open_bound < top * (1 + 1e-6)


def test_negative_weights_only_have_value_zero() -> None:
    X, c = _instance(10, 3, 5)
    res = cells_above(X, -np.abs(c), 1e-6)
    assert res.complete and len(res.values) == 0


def test_stop_after_reports_an_open_bound_above_the_unlisted_cells() -> None:
    X, c = _instance(14, 4, 6)
    cells = _cell_values(X, c)
    res = cells_above(X, c, 0.05 * max(cells.values()), stop_after=3, cells=True)
    assert not res.complete and len(res.values) == 3
    listed = {tuple(bool(v) for v in col) for col in res.patterns.T}
    assert res.open_bound >= max(v for p, v in cells.items() if p not in listed) * (1 - REL)


def test_lsq_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    for m, k in [(5, 3), (10, 10), (4, 6)]:
        A, b = rng.standard_normal((m, k)), rng.standard_normal(m)
        want = np.linalg.lstsq(A, b, rcond=None)[0]
        assert np.allclose(lsq(A, b), want, rtol=1e-10, atol=1e-10)


def test_bvls_matches_scipy_with_mixed_bounds() -> None:
    """Bounded least squares (0 <= x <= u, u = 1 or inf) against scipy's lsq_linear (BVLS):
    objectives agree to 1e-10 relative (both solve to machine precision on these small problems)."""
    rng = np.random.default_rng(1)
    for trial in range(20):
        m, k = 6, 15
        A, b = rng.standard_normal((m, k)), 3 * rng.standard_normal(m)
        upper = np.where(rng.random(k) < 0.5, 1.0, np.inf)
        x = bvls(A, b, upper, 1e-12, 500)
        assert np.all(x >= 0) and np.all(x <= upper)
        ref = lsq_linear(A, b, bounds=(np.zeros(k), upper), method="bvls", tol=1e-14)
        assert np.linalg.norm(A @ x - b) == pytest.approx(np.linalg.norm(A @ ref.x - b), rel=1e-10, abs=1e-12)


def test_certificates_over_found_cells_still_take_the_maximum_over_every_cell():
    """A network's dual violation with the oracle's partial patterns equals the one over every
    enumerated cell (the oracle lists what lies above the partial maximum)."""
    from convexdual.certify import most_violating

    X, y = _instance(14, 4, 7)
    full = enumerate_patterns(X).D
    few = full[:, ::25]
    want, _ = most_violating(X, full, y)
    partial, _ = most_violating(X, few, y)
    got, where = most_violating(X, few, y, every_cell=False)
    assert partial < want * (1 - 1e-6)  # the subsample misses the maximum, so the test can fail
    assert got == pytest.approx(want, rel=REL)
    assert where is not None and where["value"] == pytest.approx(want, rel=REL)


@pytest.mark.parametrize("n,seed", [(25, 0), (40, 1), (60, 2)])
def test_sphere_sweep_lists_exactly_the_cells_above_the_threshold(n, seed):
    """d = 3: the great-circle sweep lists the same cells as full enumeration with exact projections,
    at thresholds 0.5, 0.9 and 0.999 of the largest value, with the same values (to 1e-12, both
    are projections onto the same cones), and proves every other cell below its open bound; the
    branch and bound agrees too."""
    from convexdual.oracle import sphere_cells_above

    rng = np.random.default_rng(seed)
    X, c = rng.standard_normal((n, 3)), rng.standard_normal(n)
    D = enumerate_patterns(X).D
    v = dual_values(X, D, c).values[:, 0]
    for frac in (0.5, 0.9, 0.999):
        level = frac * v.max()
        res = sphere_cells_above(X, c, level)
        assert res is not None and res.complete
        truth = {D[:, k].tobytes(): v[k] for k in np.flatnonzero(v >= level)}
        got = {res.patterns[:, k].tobytes(): res.values[k] for k in range(res.patterns.shape[1])}
        assert got.keys() == truth.keys()
        assert all(abs(got[key] - truth[key]) <= 1e-12 * v.max() for key in got)
        assert v[v < level].max(initial=0.0) <= res.open_bound < level
        bb = cells_above(X, c, level, cells=True)
        assert {bb.patterns[:, k].tobytes() for k in range(bb.patterns.shape[1])} == truth.keys()


@pytest.mark.parametrize("n,seed", [(30, 4), (50, 5)])
def test_sphere_sweep_stops_after_the_most_violating_cells(n, seed):
    """With stop_after k the sweep lists the k cells of largest value (by enumeration; values to
    1e-12 relative, projections onto the same cones), says it is not complete, and its open bound
    is at least every unlisted value (it may exceed them: it is the next arc's maximum)."""
    from convexdual.oracle import sphere_cells_above

    rng = np.random.default_rng(seed)
    X, c = rng.standard_normal((n, 3)), rng.standard_normal(n)
    D = enumerate_patterns(X).D
    v = dual_values(X, D, c).values[:, 0]
    level, k = 0.5 * v.max(), 7
    assert (v >= level).sum() > k  # (else the test could not fail)
    res = sphere_cells_above(X, c, level, stop_after=k)
    assert res is not None and not res.complete and res.patterns.shape[1] == k
    order = np.argsort(-v)
    assert np.allclose(res.values, v[order[:k]], rtol=1e-12, atol=0)
    listed = {res.patterns[:, j].tobytes() for j in range(k)}
    unlisted = [v[j] for j in range(D.shape[1]) if D[:, j].tobytes() not in listed]
    assert max(unlisted) <= res.open_bound


def test_sphere_peaks_hold_the_maximum_and_are_fewer():
    """peaks=True lists only cells whose maximum lies inside the cell or on a circle with c_i < 0
    (where local maxima of f on the sphere can be): they are among the cells above the threshold,
    each with f at its listed point (at most the cell's value), the global maximum is the first of
    them, and they are fewer."""
    from convexdual.oracle import sphere_cells_above

    rng = np.random.default_rng(6)
    X, c = rng.standard_normal((40, 3)), rng.standard_normal(40)
    D = enumerate_patterns(X).D
    v = dual_values(X, D, c).values[:, 0]
    level = 0.3 * v.max()
    res = sphere_cells_above(X, c, level, peaks=True)
    full = sphere_cells_above(X, c, level)
    assert res is not None and full is not None
    assert res.values[0] == pytest.approx(v.max(), rel=1e-12)
    assert 0 < res.patterns.shape[1] < full.patterns.shape[1]
    values = {full.patterns[:, k].tobytes(): full.values[k] for k in range(full.patterns.shape[1])}
    for k in range(res.patterns.shape[1]):
        assert res.values[k] <= values[res.patterns[:, k].tobytes()] * (1 + 1e-12)
    f = lambda u: float(c @ np.maximum(X @ u, 0.0))
    assert all(f(u) == pytest.approx(val, rel=1e-12) for u, val in zip(res.directions, res.values))


def test_sphere_sweep_gives_way_on_degenerate_data():
    """Parallel rows (two circles coincide) or three circles through one point: the sweep declines
    and cells_above falls back to the branch and bound, which still lists every cell."""
    from convexdual.oracle import sphere_cells_above

    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 3))
    X[5] = -2.0 * X[2]  # antiparallel: the same circle
    c = rng.standard_normal(12)
    assert sphere_cells_above(X, c, 0.1) is None
    Y = rng.standard_normal((12, 3))
    Y[7] = Y[0] + Y[1]  # circles 0, 1 and 7 meet at the same two points
    assert sphere_cells_above(Y, c, 0.1) is None
    D = enumerate_patterns(X).D
    v = dual_values(X, D, c).values[:, 0]
    res = cells_above(X, c, 0.9 * v.max(), cells=True)
    assert {res.patterns[:, k].tobytes() for k in range(res.patterns.shape[1])} == \
        {D[:, k].tobytes() for k in np.flatnonzero(v >= 0.9 * v.max())}
