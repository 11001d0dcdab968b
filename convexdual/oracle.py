"""The dual oracle without enumeration: the cells whose dual value reaches a threshold, by branch
and bound over the hyperplane arrangement.

For a dual point nu and a sign s, the dual constraint is the maximum over unit u of
f(u) = sum_i c_i (x_i^T u)_+ with c = s nu; on the cell of pattern D it is linear, and its maximum
over the cell is the block's dual value ||Proj_{K_D}(X^T D c)||. Terms with c_i < 0 are concave
(c_i t_+ = min(0, c_i t)), so the search branches only on the signs of x_i^T u with c_i > 0. A node
is the polyhedral cone R = {u : sigma_j x_j^T u >= 0, j fixed}; for it:

- intervals: h_i = max {x_i^T u : u in R, ||u|| <= 1} = ||Proj_R(x_i)|| and l_i = -||Proj_R(-x_i)||
  (NNLS; any multiplier gives a valid outer bound); h_i <= 0 or l_i >= 0 fixes the sign of a
  positive term on all of R (implied);
- bound: each free positive term is replaced by its secant over [l_i, h_i] (the concave envelope of
  c_i t_+ there), each negative term is kept exactly as min(0, c_i t) = min over mu in [0, 1] of
  mu c_i t. For any lam >= 0 and mu in [0, 1],
      max_{u in R, ||u|| <= 1} (relaxation) <= K + ||a + sum_neg mu_i c_i x_i + sum_fixed lam_j sigma_j x_j||
  (weak duality: the last sum is >= 0 on R); the minimum over (lam, mu), a bounded least-squares
  problem solved by an active-set method, is the relaxation's maximum;
- branching: on the free positive term whose secant can lie furthest above it,
  c_i h_i |l_i| / (h_i - l_i) (its gap at t = 0);
- a leaf (no positive term free) has no secant: its bound is the exact maximum of f over R, and
  the maximizer's cell is a cell of that value. To list single cells, the search goes on below such
  a node over the signs of the negative terms, every bound exact.

Nodes whose bound is below the threshold are pruned, so every cell whose value reaches the threshold
lies in a leaf that is listed (with its maximizing cell), and every other cell is proven below it.
Depth first, the higher bound first, reaches good cells at once. With ``stop_after`` the search stops
after that many leaves and reports the largest bound left open: every cell outside the listed leaves
is below it. The kernels (:mod:`oracle_kernels`) are compiled with numba.

See docs/theory.md §8 (dual feasibility without enumeration).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

TOL = 1e-12  # relative: an interval end within TOL ||x_i|| of zero fixes the sign of term i
ACTIVE_SET_ITERATIONS = 500  # cap on the active-set steps of one node bound (every iterate is valid)
BOUND_SLACK = 1e-12  # relative round-off allowance added to every bound


@dataclass(frozen=True)
class OracleResult:
    """Leaves whose maximum reaches ``threshold`` (all of them when ``complete``), each with the cell
    of its maximizer, and a proof about the rest: every cell outside them has value at most
    ``open_bound`` (< threshold when complete)."""

    patterns: np.ndarray  # (n, k) bool: the maximizing cell of each leaf found
    values: np.ndarray  # (k,) their values
    directions: np.ndarray  # (k, d) unit maximizers
    threshold: float
    open_bound: float  # upper bound on the value of every cell not listed
    complete: bool  # the search ended: every cell >= threshold is listed
    best: float  # the largest value found anywhere (a lower bound on the maximum)
    nodes: int
    seconds: float


def cells_above(X: np.ndarray, c: np.ndarray, threshold: float, stop_after: int | None = None,
                time_limit_s: float | None = None, cells: bool = False) -> OracleResult:
    """Every leaf whose maximum of sum_i c_i (x_i^T u)_+ over unit u is at least ``threshold``
    (> 0), with the pattern of its maximizer's cell, the value and the maximizer (module docstring);
    with ``cells`` the leaves are single cells, so every cell of value >= threshold is listed.
    ``stop_after`` leaves or ``time_limit_s`` end the search early (``complete`` False). In d = 3
    the cells come from :func:`sphere_cells_above` (exact, without a search) where it applies."""
    from .oracle_kernels import node

    if X.shape[1] == 3:
        swept = sphere_cells_above(X, c, threshold, stop_after)
        if swept is not None:
            return swept

    start = time.perf_counter()
    X = np.ascontiguousarray(X, dtype=float)
    c = np.ascontiguousarray(c, dtype=float)
    n, d = X.shape
    norms = np.linalg.norm(X, axis=1)
    root = np.where(norms == 0, 2, 0).astype(np.int64)  # zero rows: pattern 1, no term
    slack = BOUND_SLACK * (1.0 + float(np.abs(c) @ norms))
    stack: list[tuple[float, tuple[np.ndarray, ...], int]] = []  # depth first: a dive reaches cells at once
    patterns: list[np.ndarray] = []
    values: list[float] = []
    directions: list[np.ndarray] = []
    best, nodes, pruned = 0.0, 0, 0.0

    def expand(state: tuple[np.ndarray, ...], row: np.ndarray) -> tuple[float, tuple[np.ndarray, ...], int] | None:
        """Bound a node (state: signs and the intervals it starts from, updated in place); record
        it if it is a leaf; return it if it must be branched on."""
        nonlocal best, nodes, pruned
        sig = state[0]
        bound, u, branch = node(X, c, norms, sig, TOL, ACTIVE_SET_ITERATIONS, cells, *state[1:], row,
                                 threshold - slack)
        nodes += 1
        best = max(best, float(c @ np.maximum(X @ u, 0.0)))
        if branch < 0:  # a leaf: the exact maximum over its cone, reached in the cell of u
            if bound >= threshold:
                patterns.append(np.where(sig != 0, sig > 0, X @ u > 0))
                values.append(float(bound))
                directions.append(u)
            else:
                pruned = max(pruned, float(bound))
            return None
        if bound + slack < threshold:
            pruned = max(pruned, float(bound + slack))
            return None
        return float(bound + slack), state, branch

    root_state = (root, np.zeros(n), np.zeros(n), np.zeros((n, d)), np.zeros((n, d)), np.zeros(n, dtype=np.bool_))
    first = expand(root_state, np.zeros(d))
    if first is not None:
        stack.append(first)
    complete = True
    while stack:
        if (stop_after is not None and len(patterns) >= stop_after) or (
                time_limit_s is not None and time.perf_counter() - start > time_limit_s):
            complete = False
            break
        _, state, branch = stack.pop()
        children = []
        for s in (1, -1):
            child = tuple(a.copy() for a in state)
            child[0][branch] = s
            kept = expand(child, s * X[branch])
            if kept is not None:
                children.append(kept)
        stack.extend(sorted(children, key=lambda ch: ch[0]))  # the higher bound on top: explored first
    open_bound = max([pruned] + [b for b, _, _ in stack]) if not complete else pruned
    d_out = np.array(directions).reshape(-1, d)
    return OracleResult(patterns=np.array(patterns, dtype=bool).reshape(-1, n).T, values=np.array(values),
                        directions=d_out, threshold=threshold, open_bound=float(open_bound), complete=complete,
                        best=best, nodes=nodes, seconds=time.perf_counter() - start)


# In d = 3 the cells are the faces of an arrangement of great circles on the sphere. On a cell C,
# f(u) = g_C^T u with g_C = sum_{i in C's pattern} c_i x_i, and its maximum over C is either at
# g_C / ||g_C|| inside C or on C's boundary, a union of arcs of circles. Walking once around each
# circle {u : x_i^T u = 0} visits every arc; on an arc f is one trigonometric function (term i is
# zero there), and g changes by one term c_j x_j at each crossing. So every arc's maximum and every
# cell's interior candidate come out of n sweeps of O(n log n) each, without storing a pattern; a
# pattern is formed (one product with X) only for the arcs and candidates that reach the threshold.
SPHERE_TOL = 1e-12  # relative: a row within this of zero at an arc's midpoint makes the sweep give way
SWEEP_BATCH = 4096  # arcs whose patterns are formed together


@dataclass(frozen=True)
class _Arcs:
    """One circle's arcs and interior candidates that reach a threshold, without their patterns:
    ``mid`` a point inside the arc (the rows' signs there give the pattern, row ``circle`` set to
    ``side``), ``point`` the maximizer, ``value`` its value, ``both`` True for an arc (its two sides
    are two cells) and False for a verified interior candidate (the cell of side ``side``)."""

    value: np.ndarray  # (m,)
    mid: np.ndarray  # (m, 3)
    point: np.ndarray  # (m, 3)
    both: np.ndarray  # (m,) bool
    side: np.ndarray  # (m,) bool
    circle: int


def sphere_cells_above(X: np.ndarray, c: np.ndarray, threshold: float, stop_after: int | None = None,
                       peaks: bool = False) -> OracleResult | None:
    """:func:`cells_above` with ``cells``, for d = 3, by sweeping every great circle: a cell's value
    is its interior maximum ||g_C|| (when g_C / ||g_C|| lies in C) or the largest maximum over the
    arcs that bound it, so the cells of value >= ``threshold`` are those next to an arc whose
    maximum reaches it and those whose interior candidate does. Their patterns are formed in
    decreasing order of value until ``stop_after`` cells are found; each value is recomputed from
    the cell's own sum g_C = X^T D_C c at its maximizer. Every other cell is below ``open_bound``
    (the largest arc maximum and interior value under the threshold, or of an arc not reached).
    Returns None for data the sweep does not handle (zero or parallel rows; three circles through
    one point).

    With ``peaks`` only the cells whose maximum can be a local maximum of f on the sphere are
    listed: an interior candidate, or a point on a circle with c_i < 0 (f is convex across the
    others, so no local maximum lies on them but where f is flat), each with f at that point (at
    most the cell's value). These are a cutting-plane round's deepest cuts; every global maximum
    is among them, but ``open_bound`` and ``complete`` then speak of these points only."""
    start = time.perf_counter()
    X = np.asarray(X, dtype=float)
    n, d = X.shape
    norms = np.linalg.norm(X, axis=1)
    if d != 3 or n < 2 or (norms == 0).any():
        return None
    U = X / norms[:, None]
    slack = BOUND_SLACK * (1.0 + float(np.abs(c) @ norms))  # round-off of a running sum of the terms
    found: list[_Arcs] = []
    below = 0.0
    for i in range(n):
        swept = _circle_sweep(X, U, norms, c, i, threshold - slack, stop_after, peaks and c[i] > 0)
        if swept is None:
            return None
        arcs, rest = swept
        below = max(below, rest)
        if len(arcs.value):
            found.append(arcs)
    patterns, values, points, beyond = _cells_of(X, c, found, threshold, stop_after)
    complete = beyond < threshold - slack
    below = max(below, beyond) + slack
    return OracleResult(patterns=patterns, values=values, directions=points, threshold=threshold,
                        open_bound=float(below), complete=complete,
                        best=float(values.max(initial=0.0)), nodes=2 * n * (n - 1),
                        seconds=time.perf_counter() - start)


def _circle_sweep(X: np.ndarray, U: np.ndarray, norms: np.ndarray, c: np.ndarray, i: int, threshold: float,
                  keep: int | None, no_arcs: bool = False) -> tuple[_Arcs, float] | None:
    """Circle i's arcs whose maximum reaches ``threshold`` and the interior candidates next to it
    that do (at most ``keep`` arcs, the highest; no arc with ``no_arcs``), and the largest arc
    maximum or interior value under it (or of an arc beyond ``keep``); None when a midpoint lies
    on a third circle."""
    n = len(X)
    a = U[i]
    e1 = np.cross(a, np.eye(3)[int(np.argmin(np.abs(a)))])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(a, e1)
    others = np.delete(np.arange(n), i)
    W = np.cross(a, U[others])  # circle j crosses circle i at +-W_j / ||W_j||
    tilt = np.linalg.norm(W, axis=1)  # sine of the angle between the two circles' normals
    if (tilt <= SPHERE_TOL).any():
        return None
    theta = np.arctan2(W @ e2, W @ e1)
    angles = np.concatenate([theta, theta + np.pi]) % (2 * np.pi)
    order = np.argsort(angles)
    angles, rows = angles[order], np.concatenate([others, others])[order]
    ends = np.append(angles[1:], angles[0] + 2 * np.pi)  # arc k runs from crossing k to the next one
    gaps = ends - angles
    # row j at an arc's midpoint is ||x_j|| tilt_j |sin(distance to j's crossing)| >= ... sin(gap / 2)
    mid = angles + 0.5 * gaps
    short = np.flatnonzero(tilt.min() * np.sin(0.5 * gaps) <= SPHERE_TOL)  # only these can have such a row
    if len(short):
        near = np.abs(X @ (np.cos(mid[short])[:, None] * e1 + np.sin(mid[short])[:, None] * e2).T)
        near[i] = np.inf
        if (near <= SPHERE_TOL * norms[:, None]).any():
            return None
    last = np.cos(mid[-1]) * e1 + np.sin(mid[-1]) * e2
    on = X @ last > 0  # the last arc wraps around to the first crossing
    on[i] = False
    tangent = -np.sin(angles)[:, None] * e1 + np.cos(angles)[:, None] * e2
    entering = np.einsum("kd,kd->k", X[rows], tangent) > 0  # crossing j forward: x_j^T u turns positive
    G = (c * on) @ X + np.cumsum(np.where(entering, 1.0, -1.0)[:, None] * (c[rows, None] * X[rows]), axis=0)
    # on arc k (term i is zero there) f = A cos t + B sin t, largest at atan2(B, A) when inside the arc
    A, B = G @ e1, G @ e2
    peak = np.arctan2(B, A)
    inside = (peak - angles) % (2 * np.pi) <= gaps
    at_start, at_end = A * np.cos(angles) + B * np.sin(angles), A * np.cos(ends) + B * np.sin(ends)
    arc_max = np.where(inside, np.hypot(A, B), np.maximum(at_start, at_end))
    best_t = np.where(inside, angles + (peak - angles) % (2 * np.pi), np.where(at_start >= at_end, angles, ends))
    hit = np.flatnonzero(arc_max >= threshold) if not no_arcs else np.zeros(0, dtype=int)
    rest = float(arc_max[arc_max < threshold].max(initial=0.0))
    if keep is not None and len(hit) > keep:
        top = np.argpartition(-arc_max[hit], keep)
        rest = max(rest, float(arc_max[hit[top[keep:]]].max()))
        hit = hit[top[:keep]]
    mids = np.cos(mid)[:, None] * e1 + np.sin(mid)[:, None] * e2
    parts = [(arc_max[hit], mids[hit], np.cos(best_t[hit])[:, None] * e1 + np.sin(best_t[hit])[:, None] * e2,
              np.ones(len(hit), dtype=bool), np.zeros(len(hit), dtype=bool))]
    # interior candidates g / ||g|| of the cells on either side: only those that could matter
    # (above the largest arc maximum under the threshold) are checked against the cell's pattern
    after = np.where(entering, 1, -1)  # row rows[k]'s sign on arc k; rows[k + 1]'s is minus its own
    before = -np.roll(after, -1)
    for side, weights in ((False, G), (True, G + c[i] * X[i])):
        size = np.linalg.norm(weights, axis=1)
        cand = np.flatnonzero(size > rest)
        if not len(cand):
            continue
        u = weights[cand] / size[cand, None]
        first = np.einsum("kd,kd->k", X[rows[cand]], u) * after[cand] > 0
        second = np.einsum("kd,kd->k", X[rows[(cand + 1) % len(rows)]], u) * before[cand] > 0
        cand, u = cand[first & second & ((u @ X[i] > 0) == side)], u[first & second & ((u @ X[i] > 0) == side)]
        if not len(cand):
            continue
        at, pat = X @ u.T, X @ mids[cand].T > 0  # the rows' signs at each candidate and on its arc
        pat[i] = side
        ok = np.all((at > 0) == pat, axis=0) & np.all(at != 0, axis=0)
        cand, u = cand[ok], u[ok]
        high = size[cand] >= threshold
        rest = max(rest, float(size[cand[~high]].max(initial=0.0)))
        parts.append((size[cand[high]], mids[cand[high]], u[high], np.zeros(int(high.sum()), dtype=bool),
                      np.full(int(high.sum()), side)))
    value, mid_pts, points, both, sides = (np.concatenate(p) for p in zip(*parts))
    return _Arcs(value=value, mid=mid_pts, point=points, both=both, side=sides, circle=i), rest


def _cells_of(X: np.ndarray, c: np.ndarray, found: list[_Arcs], threshold: float, stop_after: int | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The cells of the arcs and candidates ``found``, highest first, until more than ``stop_after``
    reach ``threshold``: (patterns (n, k), values, maximizers, the largest value not listed). A
    cell's value is max over its arcs and candidates of g_C^T u at their maximizer u, g_C from
    its pattern."""
    n = len(X)
    if not found:
        return np.zeros((n, 0), dtype=bool), np.zeros(0), np.zeros((0, 3)), 0.0
    value = np.concatenate([f.value for f in found])
    mid = np.concatenate([f.mid for f in found])
    point = np.concatenate([f.point for f in found])
    both = np.concatenate([f.both for f in found])
    side = np.concatenate([f.side for f in found])
    circle = np.concatenate([np.full(len(f.value), f.circle) for f in found])
    order = np.argsort(-value)
    cells: dict[bytes, tuple[float, np.ndarray, np.ndarray]] = {}
    beyond, count = 0.0, 0  # count: cells listed so far at or above the threshold
    cX = c[:, None] * X
    for start in range(0, len(order), SWEEP_BATCH):
        if stop_after is not None and count > stop_after:
            beyond = float(value[order[start]])
            break
        idx = order[start:start + SWEEP_BATCH]
        cols = np.repeat(np.arange(len(idx)), np.where(both[idx], 2, 1))  # an arc gives both its sides
        first = np.r_[True, cols[1:] != cols[:-1]]
        arc = both[idx][cols]
        P = (X @ mid[idx].T > 0)[:, cols]
        P[circle[idx][cols], np.arange(len(cols))] = np.where(arc, ~first, side[idx][cols])
        g = P.T.astype(float) @ cX  # row: g_C of the cell
        size = np.linalg.norm(g, axis=1)
        vals = np.where(arc, np.einsum("kd,kd->k", g, point[idx][cols]), size)
        dirs = np.where(arc[:, None], point[idx][cols], g / np.maximum(size, 1e-300)[:, None])
        keys = np.packbits(P, axis=0).T
        for col in range(len(cols)):
            key = keys[col].tobytes()
            old = cells.get(key)
            if old is None or old[0] < vals[col]:
                count += bool(vals[col] >= threshold and (old is None or old[0] < threshold))
                cells[key] = (float(vals[col]), P[:, col], dirs[col])
    listed = sorted(cells.values(), key=lambda e: -e[0])
    above = [e for e in listed if e[0] >= threshold]
    beyond = max([beyond] + [e[0] for e in listed if e[0] < threshold])
    if stop_after is not None and len(above) > stop_after:
        beyond, above = max(beyond, above[stop_after][0]), above[:stop_after]
    if not above:
        return np.zeros((n, 0), dtype=bool), np.zeros(0), np.zeros((0, 3)), beyond
    return (np.array([e[1] for e in above]).T, np.array([e[0] for e in above]), np.array([e[2] for e in above]),
            beyond)


# Vector outputs. For nu (n, c) the dual constraint is the maximum over unit u of
# F(u) = ||nu^T (X u)_+|| = max over unit v in R^c of v^T nu^T (X u)_+, so
#     max_u F(u) = max_v g(v),   g(v) = max_u sum_i (nu_i . v) (x_i^T u)_+,
# and g(v) is the scalar dual constraint with weights nu v (:func:`cells_above`). g is convex and
# positively homogeneous in v (a maximum of linear functions of v) and g >= 0 (u = 0). On a spherical
# simplex S with unit vertices v_1..v_c, every unit v in S is p / ||p|| with p in conv(v_k), and
# ||p|| >= r = min_k v_k^T m (m the normalized vertex sum), so g(v) <= max_k g(v_k) / r: a branch and
# bound over the output sphere whose vertex values come from the scalar oracle. The same bound holds
# cell by cell (g_K(v) = max over the cell K of the same sum, convex in v), which is what makes the
# listing below complete.

SPHERE_SETTLED = 1e-13  # a simplex whose points all have norm >= 1 - this (r above) is not split further
LISTING_SETTLED = 1e-3  # the same when listing cells: every cell reaching the threshold is listed at any r
CELL_MAX_RTOL = 1e-10  # relative accuracy of one cell's vector maximum
CONE_TOL = 1e-12  # relative optimality tolerance of the cone projections of a cell's maximum
CELL_MAX_REGIONS = 20_000  # cap on the simplices of one cell's maximum (its bound stays proven)


@dataclass(frozen=True)
class VectorOracleResult:
    """Leaves (cells with ``cells``) whose vector value may reach ``threshold``, each with its
    maximizer, and the proven bound ``upper`` >= ||nu^T (X u)_+|| for every unit u."""

    patterns: np.ndarray  # (n, k) bool
    values: np.ndarray  # (k,) ||nu^T (X u)_+|| at the directions (with ``cells``: each cell's maximum)
    directions: np.ndarray  # (k, d) unit
    threshold: float
    upper: float  # inf when the search stopped before every region was bounded
    complete: bool
    nodes: int  # scalar oracle nodes
    regions: int  # output-sphere simplices examined
    seconds: float

    @property
    def above(self) -> np.ndarray:
        """Indices of the directions whose value reaches the threshold, largest first."""
        idx = np.flatnonzero(self.values >= self.threshold)
        return idx[np.argsort(-self.values[idx])]


def sphere_simplices(c: int) -> list[np.ndarray]:
    """The 2^c orthant simplices of the unit sphere in R^c (rows: vertices +-e_k)."""
    import itertools

    return [np.diag(s) for s in itertools.product((1.0, -1.0), repeat=c)]


def inner_radius(S: np.ndarray) -> float:
    """A lower bound r on ||p|| over conv(rows of S): min_k v_k^T m, m the normalized vertex sum."""
    m = S.sum(axis=0)
    norm = float(np.linalg.norm(m))
    return float((S @ m).min() / norm) if norm > 0 else 0.0


def split_simplex(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bisect the longest edge at its normalized midpoint."""
    k = len(S)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    i, j = max(pairs, key=lambda p: float(np.linalg.norm(S[p[0]] - S[p[1]])))
    mid = S[i] + S[j]
    mid = mid / np.linalg.norm(mid)
    A, B = S.copy(), S.copy()
    A[i], B[j] = mid, mid
    return A, B


def cell_vector_max(X: np.ndarray, nu: np.ndarray, pattern: np.ndarray) -> tuple[float, np.ndarray, float]:
    """max over unit u in the cell K of ``pattern`` of ||nu^T (X u)_+|| = ||M u||, M = nu^T D X: the
    value at the best direction found, that direction, and a proven upper bound. For unit v, the
    maximum over K of v^T M u is ||Proj_K(M^T v)|| (convex in v), maximized over the output sphere
    by the simplex bound to CELL_MAX_RTOL, or until CELL_MAX_REGIONS simplices (a cell whose
    maximum is attained on a whole region of directions)."""
    from .oracle_kernels import cone_max

    pattern = np.asarray(pattern, dtype=bool)
    keep = np.linalg.norm(X, axis=1) > 0
    A = np.ascontiguousarray((np.where(pattern, 1.0, -1.0)[:, None] * X)[keep])
    M = nu.T @ (pattern[:, None] * X)
    seen: dict[bytes, float] = {}
    best, best_p = 0.0, np.zeros(X.shape[1])

    def value(v: np.ndarray) -> float:
        nonlocal best, best_p
        key = v.tobytes()
        if key not in seen:
            val, p = cone_max(np.ascontiguousarray(M.T @ v), A, CONE_TOL)
            seen[key] = float(val)
            if val > best:
                best, best_p = float(val), p
        return seen[key]

    def bound(S: np.ndarray) -> float:
        return max(value(v) for v in S) / inner_radius(S)

    stack = sphere_simplices(nu.shape[1])
    upper, regions = 0.0, 0
    while stack and regions < CELL_MAX_REGIONS:
        S = stack.pop()
        regions += 1
        if bound(S) <= best * (1 + CELL_MAX_RTOL) or inner_radius(S) >= 1 - SPHERE_SETTLED:
            upper = max(upper, bound(S))
        else:
            stack.extend(split_simplex(S))
    upper = max([upper, best] + [bound(S) for S in stack])
    if best <= 0:
        return 0.0, np.zeros(X.shape[1]), upper
    u = on_face(A, M, best_p / np.linalg.norm(best_p))
    return float(np.linalg.norm(nu.T @ np.maximum(X @ u, 0.0))), u, upper


FACE_TIE = 1e-6  # relative: rows this close to a direction span the face it is taken to lie on


def on_face(A: np.ndarray, M: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A maximizer found to CELL_MAX_RTOL in value is only about its square root close in
    direction; on the face it lies on (rows of A within FACE_TIE of u) the maximum of ||M u|| is
    the top eigenvector of M^T M restricted to the face's span. Returned when it stays in the
    cone {A u >= 0} and is no worse, else u."""
    from .linalg import null_basis

    norms = np.linalg.norm(A, axis=1)
    B = null_basis(A[np.abs(A @ u) <= FACE_TIE * norms])  # the face's span
    if B.shape[1] == 0:
        return u
    _, vecs = np.linalg.eigh(B.T @ M.T @ M @ B)
    w: np.ndarray = B @ vecs[:, -1]
    w = w * np.sign(w @ u) / np.linalg.norm(w)
    if np.all(A @ w >= -1e-12 * norms) and np.linalg.norm(M @ w) >= np.linalg.norm(M @ u) * (1 - 1e-15):
        return w
    return u


def vector_cells_above(X: np.ndarray, nu: np.ndarray, threshold: float, stop_after: int | None = None,
                       time_limit_s: float | None = None, cells: bool = False) -> VectorOracleResult:
    """The leaves of the scalar oracle at the vertices of the output-sphere branch and bound (see the
    comment above) whose vector value may reach ``threshold`` (> 0), and the proven upper bound on
    max_u ||nu^T (X u)_+||. Each vertex v_k of a simplex is asked for the leaves with
    g(v_k) >= threshold r. A simplex is pruned when max_k g(v_k) / r < threshold and split
    otherwise, until it is settled:

    - without ``cells``, when a vertex reaches the threshold (its leaf's direction u does too:
      ||nu^T (X u)_+|| >= g(v_k)) or r >= 1 - SPHERE_SETTLED (its bound then exceeds its vertices'
      largest value by that factor at most). The directions are the leaves' maximizers; when none
      reaches the threshold, every direction is proven below it.
    - with ``cells``, when r >= 1 - LISTING_SETTLED: every cell whose vector maximum reaches the
      threshold is listed in any simplex (there a cell's g_K(v) is <= max_k g_K(v_k) / r), with its
      exact maximum (:func:`cell_vector_max`); splitting only keeps the vertex thresholds near the
      threshold, so that few cells below it are listed.

    ``stop_after`` directions at or above the threshold, or ``time_limit_s``, end the search early
    (``complete`` False)."""
    start = time.perf_counter()
    X = np.ascontiguousarray(X, dtype=float)
    nu = np.asarray(nu, dtype=float)
    n, d = X.shape
    lo: dict[bytes, float] = {}  # per vertex v: a leaf value found (g(v) >= lo)
    hi: dict[bytes, float] = {}  # per vertex v: a proven bound (g(v) <= hi)
    listed: dict[bytes, float] = {}  # per vertex v: the level its cells were listed at
    found: dict[bytes, tuple[np.ndarray, float, np.ndarray]] = {}
    cell_upper = 0.0  # the largest proven bound of a listed cell
    nodes, regions, above = 0, 0, 0
    timed_out = False

    def left() -> float | None:
        return None if time_limit_s is None else max(time_limit_s - (time.perf_counter() - start), 0.0)

    def collect(pattern: np.ndarray) -> None:
        nonlocal above, cell_upper
        key = pattern.tobytes()
        if key in found:
            return
        value, u, bound = cell_vector_max(X, nu, pattern)
        cell_upper = max(cell_upper, bound)
        found[key] = (pattern, value, u)
        above += value >= threshold

    def ask(v: np.ndarray, level: float, listing: bool) -> None:
        """Scalar oracle at v: listing, every cell at or above level; else, when searching for
        directions, every leaf at or above it; else (probing for a cell listing) one such leaf or
        the proof that there is none."""
        nonlocal nodes, timed_out
        key = v.tobytes()
        one = cells and not listing
        res = cells_above(X, nu @ v, level, stop_after=1 if one else None, time_limit_s=left(), cells=listing)
        nodes += res.nodes
        timed_out |= not res.complete and not (one and len(res.values))
        top = res.values.max(initial=0.0)
        lo[key] = max(lo.get(key, 0.0), top)
        hi[key] = min(hi.get(key, np.inf), max(res.open_bound, top))
        if listing and res.complete:
            listed[key] = level
        if not listing or res.complete:
            for k in range(res.patterns.shape[1]):
                collect(res.patterns[:, k])

    def probe(v: np.ndarray, level: float) -> None:
        """Make sure g(v) is known against level: below it, or reached by a leaf."""
        key = v.tobytes()
        if hi.get(key, np.inf) >= level and lo.get(key, 0.0) < level:
            ask(v, level, False)

    stack = [(np.inf, S) for S in sphere_simplices(nu.shape[1])]
    settled = LISTING_SETTLED if cells else SPHERE_SETTLED
    upper = 0.0
    while stack and not timed_out:
        if stop_after is not None and above >= stop_after:
            break
        parent, S = stack.pop()
        regions += 1
        r = inner_radius(S)
        level = threshold * r
        for v in S:
            probe(v, level)
        keys = [v.tobytes() for v in S]
        bound = min(parent, max(hi[k] for k in keys) / r)
        if timed_out:
            stack.append((bound, S))
        elif bound < threshold:
            upper = max(upper, bound)
        elif not cells and max(lo[k] for k in keys) >= threshold:  # a vertex's leaf reaches it
            upper = max(upper, bound)
        elif r >= 1 - settled:
            if cells:  # every cell reaching the threshold here is listed at a vertex; the rest is below it
                for v, k in zip(S, keys):
                    if listed.get(k, np.inf) > level:
                        ask(v, level, True)
                upper = max(upper, threshold)
            else:
                upper = max(upper, bound)
        else:
            stack.extend((bound, child) for child in split_simplex(S))
    complete = not stack and not timed_out
    if not complete:
        upper = max([upper] + [b for b, _ in stack])
    items = list(found.values())
    return VectorOracleResult(
        patterns=np.array([p for p, _, _ in items], dtype=bool).reshape(-1, n).T,
        values=np.array([v for _, v, _ in items]), directions=np.array([u for _, _, u in items]).reshape(-1, d),
        threshold=threshold, upper=float(max([upper, cell_upper] + [v for _, v, _ in items])), complete=complete,
        nodes=nodes, regions=regions, seconds=time.perf_counter() - start)
