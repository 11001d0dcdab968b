"""Step 6: the optimal set. Active features, the optimal polytope P*, its vertices and dimension.

Each active (direction u_k, sign s_k) gives a feature h_k = s_k (X u_k)_+. The optimal set of (C), in
coefficients c >= 0 over the K distinct features, is P* = {c >= 0 : sum_k c_k h_k = t} with
t = y_hat* (regression) or y (interpolation). With a free skip connection X z the condition is
taken modulo range(X): P_perp H c = P_perp t. Writing c = c0 + N t (N a null-space basis) turns
P* into {t : c0 + N t >= 0}; its vertices are the irreducible solutions.
Vertices are listed by a pivoting search over all feasible bases (exact up to a 1e-9 tolerance,
robust to the degenerate polytopes generic data produce).

See docs/theory.md §4.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import lstsq
from scipy.optimize import linprog, milp, LinearConstraint, Bounds, nnls

from .dual import DualValues, sign_column
from .errors import CertificateError
from .solvers import in_solver


@dataclass(frozen=True)
class Features:
    """Distinct active features, one representative direction each."""

    directions: np.ndarray  # (K, d) unit vectors
    signs: np.ndarray  # (K,) +1 / -1
    H: np.ndarray  # (n, K) column k = s_k (X u_k)_+
    patterns: list[list[int]]  # the pattern indices that realize each feature


def relu_features(X: np.ndarray, directions: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """H[:, k] = s_k (X u_k)_+."""
    H: np.ndarray = np.maximum(X @ directions.T, 0.0) * signs[None, :]
    return H


def active_features(X: np.ndarray, dv: DualValues, blocks: list[tuple[int, int]], tol: float = 1e-7) -> Features:
    """Deduplicate active blocks: the network only sees s (X u)_+, so equal features are one neuron
    (same sign, entries within tol * max(1, max |X|)); the first block of each feature keeps it."""
    scale = max(1.0, float(np.abs(X).max()))
    idx = np.array([i for i, _ in blocks], dtype=int)
    sgn = np.array([s for _, s in blocks], dtype=int)
    U = dv.directions[idx, [sign_column(int(s)) for s in sgn]] if blocks else np.zeros((0, X.shape[1]))
    Hall = sgn[:, None] * np.maximum(U @ X.T, 0.0)  # (B, n): row b is block b's feature
    keep: list[int] = []
    pats: list[list[int]] = []
    kept_H, kept_s = np.empty_like(Hall), np.empty_like(sgn)  # the kept features so far, in order
    for b in range(len(blocks)):
        k = len(keep)
        same = (kept_s[:k] == sgn[b]) & (np.abs(kept_H[:k] - Hall[b]).max(axis=1, initial=0.0) <= tol * scale)
        if same.any():
            pats[int(np.argmax(same))].append(int(idx[b]))
            continue
        kept_H[k], kept_s[k] = Hall[b], sgn[b]
        keep.append(b)
        pats.append([int(idx[b])])
    dirs = [U[b] for b in keep]
    signs = [int(sgn[b]) for b in keep]
    feats = [Hall[b] for b in keep]
    d = X.shape[1]
    return Features(
        directions=np.array(dirs).reshape(-1, d),
        signs=np.array(signs, dtype=int),
        H=np.column_stack(feats) if feats else np.zeros((X.shape[0], 0)),
        patterns=pats,
    )


@dataclass(frozen=True)
class Polytope:
    """P* = {c0 + N t >= 0} and what is known about its vertices."""

    A: np.ndarray  # (n, K) equality matrix (P_perp H with a skip connection)
    target: np.ndarray  # (n,) right-hand side
    c0: np.ndarray  # (K,) a point of P*
    N: np.ndarray  # (K, K - rank) null-space basis of A
    rank: int
    dim: int
    coef_max: np.ndarray  # (K,) max of c_k over P* (LP)
    residual: float  # ||A c0 - target|| (how exactly c0 lies on P*)
    vertices: np.ndarray | None  # (V, K) all vertices, or None when not enumerated
    enumeration_note: str  # why vertices were or were not enumerated
    sample_vertices: np.ndarray  # (S, K) vertices found by LPs (always available)


def project_out(X: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(I - X X^+) B: the columns of B projected onto range(X)^perp (no n x n matrix is formed)."""
    Q, s, _ = np.linalg.svd(X, full_matrices=False)
    r = int((s > s.max() * 1e-12 * max(X.shape)).sum()) if s.size else 0
    Q = Q[:, :r]
    residual: np.ndarray = B - Q @ (Q.T @ B)
    return residual


def build_polytope(
    X: np.ndarray,
    H: np.ndarray,
    target: np.ndarray,
    *,
    skip: bool,
    max_enum_dim: int,
    enum_timeout_s: float = 60.0,
    max_bases: int = 200_000,
    residual_tol: float = 1e-4,
) -> Polytope:
    """Construct P*, its dimension, coefficient ranges, and (when tractable) all its vertices."""
    A, t = H, target
    if skip:
        A, t = project_out(X, H), project_out(X, target)
    if A.shape[1] == 0:  # no active feature: the zero network is the unique optimum
        zero = np.zeros((1, 0))
        return Polytope(A=A, target=t, c0=np.zeros(0), N=np.zeros((0, 0)), rank=0, dim=0, coef_max=np.zeros(0),
                        residual=float(np.linalg.norm(t)), vertices=zero, enumeration_note="single point (zero network)",
                        sample_vertices=zero)
    with in_solver("nnls"):
        c0, _ = nnls(A, t, maxiter=50 * A.shape[1] + 100)
    residual = float(np.linalg.norm(A @ c0 - t))
    scale = max(1.0, float(np.linalg.norm(t)))
    if residual > residual_tol * scale:
        raise CertificateError(
            f"the active features do not reproduce the optimal fit (residual {residual:.2e}); "
            "the active set is wrong or the solve inaccurate"
        )
    rank, N, rows = _row_and_null_space(A)
    coef_max, samples = _coefficient_ranges(c0, N, rows)
    # Features that no optimal solution uses (c_k = 0 on all of P*) are implicit equalities; the
    # polytope lives on the others, around an interior point (the mean of the LP vertices), which
    # keeps the double-description method away from degenerate input.
    used = coef_max > 1e-9 * max(1.0, float(c0.sum()))
    center = samples.mean(axis=0)
    center[~used] = 0.0
    N_used = N if used.all() else _null_space(A[:, used])[1]
    dim = N_used.shape[1]
    vertices, note = None, ""
    if dim == 0:
        vertices, note = center[None, :], "single point"
    elif dim > max_enum_dim:
        note = f"not enumerated: dimension {dim} > polytope.max_enum_dim={max_enum_dim}"
    else:
        start = samples[0].copy()
        start[~used] = 0.0
        found = pivot_vertices(A[:, used], t, start[used], max_bases=max_bases, time_limit_s=enum_timeout_s)
        if found is None:
            note = f"not enumerated: more than {max_bases} bases or {enum_timeout_s:g} s"
        else:
            vertices = np.zeros((found.shape[0], A.shape[1]))
            vertices[:, used] = found
            note = "enumerated by a pivoting search over all feasible bases"
    if vertices is not None:
        vertices = resolve_on_support(A, t, _clean_vertices(vertices))
    return Polytope(
        A=A, target=t, c0=c0, N=N, rank=rank, dim=dim, coef_max=coef_max, residual=residual,
        vertices=vertices, enumeration_note=note, sample_vertices=resolve_on_support(A, t, _clean_vertices(samples)),
    )


def resolve_on_support(A: np.ndarray, t: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Each vertex re-solved on its support S: the unique c_S with A_S c_S = t (a vertex's support
    columns are independent), so zeroing round-off entries leaves no residual behind. A row whose
    re-solve is not positive or fits worse is kept as it was."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    out = V.copy()
    gram, At = A.T @ A, A.T @ t
    # Many small factorizations: one BLAS thread each (threads only add synchronization)
    with threadpool_limits(limits=1, user_api="blas"):
        for i, v in enumerate(V):
            S = v > 0
            if not S.any():
                continue
            c = _least_squares_on(A[:, S], gram[np.ix_(S, S)], At[S], t)
            if np.all(c > 0) and np.linalg.norm(A[:, S] @ c - t) <= np.linalg.norm(A @ v - t):
                out[i, S] = c
    return out


def _least_squares_on(B: np.ndarray, gram: np.ndarray, Bt: np.ndarray, t: np.ndarray) -> np.ndarray:
    """argmin ||B c - t|| from the Cholesky factor of B^T B plus one step of refinement on the
    residual (corrected semi-normal equations); pivoted QR when B^T B is not positive definite."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    try:
        factor = cho_factor(gram, check_finite=False)
    except LinAlgError:
        solution: np.ndarray = lstsq(B, t, lapack_driver="gelsy", check_finite=False)[0]
        return solution
    c: np.ndarray = cho_solve(factor, Bt, check_finite=False)
    c += cho_solve(factor, B.T @ (t - B @ c), check_finite=False)
    return c


def _null_space(A: np.ndarray, rtol: float = 1e-9) -> tuple[int, np.ndarray]:
    """(rank, orthonormal basis of the null space) of A (n x K) by SVD with a relative tolerance."""
    rank, N, _ = _row_and_null_space(A, rtol)
    return rank, N


def _row_and_null_space(A: np.ndarray, rtol: float = 1e-9) -> tuple[int, np.ndarray, np.ndarray]:
    """(rank, orthonormal null-space basis N (K x (K - rank)), orthonormal rows R (rank x K) spanning
    row(A)) by one SVD with a relative tolerance. The full V is K x K; U is kept thin when n >= K
    (a full U would be n x n)."""
    _, s, Vt = np.linalg.svd(A, full_matrices=A.shape[0] < A.shape[1])
    rank = int((s > s.max() * rtol).sum()) if s.size else 0
    return rank, Vt[rank:].T, Vt[:rank]


LP_TIME_LIMIT_S = 60.0  # per LP; a safety net: on features that are not exact the dual simplex can
#   run on for a very long time even for a few dozen variables
LP_FEASIBILITY_TOL = 1e-9  # HiGHS's primal and dual feasibility tolerances for the coefficient ranges


def _coefficient_ranges(c0: np.ndarray, N: np.ndarray, rows: np.ndarray | None = None, *,
                        classes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """max c_k over P* = {c >= 0 : R c = R c0} for every k (R: orthonormal rows spanning row(A), the
    orthogonal complement of N's columns), each optimum a vertex of P*.

    One HiGHS model in standard form; feature k's LP only changes the cost vector to e_k, so the
    primal simplex restarts from the previous optimal basis, which stays primal feasible (usually a
    few pivots, often none). Each LP is still solved to optimality: nothing is skipped. A feature
    whose warm solve does not end optimal is re-solved from scratch by ``_coefficient_max_cold``.
    When features form fewer series classes than there are features (and ``classes``), the LPs run
    in class coordinates instead (``_class_ranges``: the same maxima over far fewer rows).
    """
    K, r = N.shape
    if r == 0:
        return c0.copy(), c0[None, :].copy()
    form = class_form(c0, N) if classes else None
    ranges = _class_ranges(c0, form) if form is not None and form.lo.size < K else None
    if ranges is not None:
        cmax, samples = ranges
        samples[0] = np.maximum(_coefficient_max_cold(c0, N, 0), 0.0)  # (as below)
        return cmax, samples
    if rows is None:
        rows = _row_space(N)
    samples = np.zeros((K, K))
    failed = []
    with c_stdout_discarded(), in_solver("highs"):
        h = _standard_form_model(c0, rows)
        for k in range(K):
            if k:
                h.changeColCost(k - 1, 0.0)
            h.changeColCost(k, 1.0)
            point = _solve_optimal(h)
            if point is None:  # (the basis was dropped: the next feature starts afresh)
                failed.append(k)
            else:
                samples[k] = point
    for k in failed:
        samples[k] = np.maximum(_coefficient_max_cold(c0, N, k), 0.0)
    cmax = np.maximum(np.diag(samples), 0.0)
    # Feature 0's vertex as a cold LP finds it: it starts the vertex search, whose order decides
    # which vertex of least support is m*'s witness
    samples[0] = np.maximum(_coefficient_max_cold(c0, N, 0), 0.0)
    return cmax, samples


def _class_ranges(c0: np.ndarray, form: ClassForm) -> tuple[np.ndarray, np.ndarray] | None:
    """``_coefficient_ranges`` in class coordinates: max c_k is c0_k + mu_k times the max (mu_k > 0)
    or the min (mu_k < 0) of s_g over {W s = 0, lo <= s <= hi}, two LPs per class on the G - r rows
    of W, one HiGHS model warm-started from LP to LP. Feature k's sample is the vertex of its LP; a
    fixed feature's is the first vertex found. None when an LP does not end optimal."""
    import highspy

    K, G = c0.size, form.lo.size
    if G == 0:
        return c0.copy(), np.repeat(c0[None, :], K, axis=0)
    extreme = np.empty((2, G), dtype=object)  # [0, g]: argmax of s_g, [1, g]: argmin (as s vectors)
    with c_stdout_discarded(), in_solver("highs"):
        h = _class_model(form)
        for g in range(G):
            members = form.label == g
            for side, sign in ((0, 1.0), (1, -1.0)):
                if not (np.sign(form.mu[members]) == sign).any():
                    continue  # no member of g is maximized at this end
                h.changeColCost(g, sign)
                h.setOptionValue("time_limit", h.getRunTime() + LP_TIME_LIMIT_S)
                h.run()
                if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                    return None
                extreme[side, g] = np.asarray(h.getSolution().col_value)
            h.changeColCost(g, 0.0)
    first = next(x for x in extreme.ravel() if x is not None)
    samples = np.empty((K, K))
    for k in range(K):
        g = form.label[k]
        s = first if g < 0 else extreme[0 if form.mu[k] > 0 else 1, g]
        samples[k] = form.point(c0, s)
    return np.diag(samples).copy(), samples


def _class_model(form: ClassForm) -> Any:
    """A HiGHS model of {W s = 0, lo <= s <= hi} (zero costs, maximization, the feasibility tolerances
    ``LP_FEASIBILITY_TOL``); call inside ``c_stdout_discarded``."""
    import highspy

    G, q = form.lo.size, form.W.shape[0]
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    for name, value in (("output_flag", False), ("primal_feasibility_tolerance", LP_FEASIBILITY_TOL),
                        ("dual_feasibility_tolerance", LP_FEASIBILITY_TOL)):
        h.setOptionValue(name, value)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = G, q
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.zeros(G)
    lp.col_lower_ = np.where(np.isfinite(form.lo), form.lo, -highspy.kHighsInf)
    lp.col_upper_ = np.where(np.isfinite(form.hi), form.hi, highspy.kHighsInf)
    lp.row_lower_, lp.row_upper_ = np.zeros(q), np.zeros(q)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(G + 1) * q  # (q = 0: a box, no rows)
    lp.a_matrix_.index_ = np.tile(np.arange(q), G)
    lp.a_matrix_.value_ = np.ascontiguousarray(form.W.T).ravel()
    h.passModel(lp)
    return h


def _standard_form_model(c0: np.ndarray, rows: np.ndarray) -> Any:
    """A HiGHS model of P* = {c >= 0 : R c = R c0} (zero costs, maximization, primal simplex, the
    feasibility tolerances ``LP_FEASIBILITY_TOL``); call inside ``c_stdout_discarded``."""
    import highspy

    K = c0.size
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    for name, value in (("output_flag", False), ("simplex_strategy", 4),
                        ("primal_feasibility_tolerance", LP_FEASIBILITY_TOL),
                        ("dual_feasibility_tolerance", LP_FEASIBILITY_TOL)):
        h.setOptionValue(name, value)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = K, rows.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.zeros(K)
    lp.col_lower_, lp.col_upper_ = np.zeros(K), np.full(K, highspy.kHighsInf)
    b = rows @ c0
    lp.row_lower_, lp.row_upper_ = b, b
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, K * rows.shape[0] + 1, rows.shape[0])
    lp.a_matrix_.index_ = np.tile(np.arange(rows.shape[0]), K)
    lp.a_matrix_.value_ = np.ascontiguousarray(rows.T).ravel()
    h.passModel(lp)
    return h


def _solve_optimal(h: Any) -> np.ndarray | None:
    """Run the model with a fresh ``LP_TIME_LIMIT_S`` (HiGHS's clock runs across solves); the
    optimal vertex, or None (and the basis dropped) when the solve does not end optimal."""
    import highspy

    h.setOptionValue("time_limit", h.getRunTime() + LP_TIME_LIMIT_S)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        point: np.ndarray = np.maximum(np.asarray(h.getSolution().col_value), 0.0)
        return point
    h.clearSolver()
    return None


def random_lp_vertices(c0: np.ndarray, N: np.ndarray, count: int, *, stop_support: int | None = None,
                       seed: int = 0) -> np.ndarray:
    """Vertices of P* = {c0 + N t >= 0} maximizing random objectives w.c (w standard normal, so
    almost surely one optimal vertex each), warm-started one from the other; stops after the first
    vertex with at least ``stop_support`` entries above 1e-9 sum(c). (S, K) with S <= count; LP
    solves that do not end optimal are skipped."""
    K, r = N.shape
    if r == 0 or count <= 0:
        return c0[None, :].copy()
    rng = np.random.default_rng(seed)
    found = []
    with c_stdout_discarded(), in_solver("highs"):
        h = _standard_form_model(c0, _row_space(N))
        for _ in range(count):
            h.changeColsCost(K, np.arange(K, dtype=np.int32), rng.standard_normal(K))
            point = _solve_optimal(h)
            if point is None:
                continue
            found.append(point)
            if stop_support is not None and (point > 1e-9 * point.sum()).sum() >= stop_support:
                break
    return np.array(found).reshape(-1, K)


def _row_space(N: np.ndarray) -> np.ndarray:
    """Orthonormal rows spanning the orthogonal complement of N's (orthonormal) columns."""
    r = N.shape[1]
    Q, _ = np.linalg.qr(N, mode="complete")
    complement: np.ndarray = Q[:, r:].T
    return complement


def _coefficient_ranges_cold(c0: np.ndarray, N: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max c_k over P* = {c0 + N t >= 0}: one LP per feature, each solved from scratch."""
    K, r = N.shape
    if r == 0:
        return c0.copy(), c0[None, :].copy()
    samples = np.array([_coefficient_max_cold(c0, N, k) for k in range(K)])
    return np.maximum(np.diag(samples), 0.0), samples


def _coefficient_max_cold(c0: np.ndarray, N: np.ndarray, k: int) -> np.ndarray:
    """A vertex of P* = {c0 + N t >= 0} maximizing c_k (HiGHS simplex from scratch; interior point
    with crossover, also a vertex, when the simplex reports numerical difficulties)."""
    r = N.shape[1]
    opts = {"time_limit": LP_TIME_LIMIT_S}
    with in_solver("highs"):
        res = linprog(-N[k], A_ub=-N, b_ub=c0, bounds=[(None, None)] * r, method="highs-ds", options=opts)
        if res.status == 4:  # numerical difficulties in the simplex: interior point + crossover (a vertex)
            res = linprog(-N[k], A_ub=-N, b_ub=c0, bounds=[(None, None)] * r, method="highs-ipm", options=opts)
    if res.status == 1:
        raise CertificateError(f"an LP over the optimal polytope did not finish in {LP_TIME_LIMIT_S:g} s "
                               f"(HiGHS: {res.message}); the active features may be inexact")
    if res.status != 0:
        raise CertificateError(f"LP over the optimal polytope failed ({res.message}); is it bounded?")
    point: np.ndarray = c0 + N @ res.x
    return point


def pivot_vertices(
    A: np.ndarray, t: np.ndarray, start: np.ndarray, *, max_bases: int = 200_000, time_limit_s: float = 60.0,
    tol: float = 1e-9,
) -> np.ndarray | None:
    """All vertices of {c >= 0 : A c = t} by a breadth-first search over feasible bases.

    A vertex is a basic feasible solution. From each basis B every entering column j is tried with
    every leaving column that ties in the ratio test, so degenerate vertices are handled: the graph
    of feasible bases of a bounded polyhedron is connected, and the search visits all of it. Each
    basic solution is recomputed from scratch (no accumulated round-off). Returns None when more
    than ``max_bases`` bases or ``time_limit_s`` would be needed.
    """
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    r = int((s > s.max() * 1e-9).sum())
    Ar, tr = U[:, :r].T @ A, U[:, :r].T @ t  # r independent equations
    K = Ar.shape[1]
    scale = max(1.0, float(np.abs(start).max()))
    B0 = _complete_basis(Ar, [int(k) for k in np.argsort(-start) if start[k] > tol * scale])
    seen = {frozenset(B0)}
    queue = deque([B0])
    found: dict[frozenset[int], np.ndarray] = {}
    t0 = time.perf_counter()
    while queue:
        if len(seen) > max_bases or time.perf_counter() - t0 > time_limit_s:
            return None
        B = queue.popleft()
        lu = np.linalg.inv(Ar[:, B])
        xB = lu @ tr
        c = np.zeros(K)
        c[B] = np.where(np.abs(xB) <= tol * scale, 0.0, xB)
        found.setdefault(frozenset(np.flatnonzero(c)), c)
        others = np.setdiff1d(np.arange(K), B)
        dirs = lu @ Ar[:, others]  # column j: change of x_B per unit of entering column
        for col, j in enumerate(others):
            d = dirs[:, col]
            pos = d > tol
            if not pos.any():
                continue
            ratios = np.where(pos, np.maximum(c[B], 0.0) / np.where(pos, d, 1.0), np.inf)
            theta = ratios.min()
            for leave in np.flatnonzero(ratios <= theta + tol * scale):
                nb = B.copy()
                nb[leave] = j
                key = frozenset(nb)
                if key not in seen:
                    seen.add(key)
                    queue.append(nb)
    return np.array(list(found.values()))


def _complete_basis(A: np.ndarray, support: list[int]) -> list[int]:
    """Extend independent columns ``support`` of A to a basis of its column space (rank = rows)."""
    r = A.shape[0]
    basis: list[int] = []
    for k in support + [k for k in range(A.shape[1]) if k not in support]:
        trial = basis + [k]
        if np.linalg.matrix_rank(A[:, trial], tol=1e-9 * max(1.0, np.abs(A).max())) == len(trial):
            basis = trial
        if len(basis) == r:
            break
    return basis


def cdd_vertices(c0: np.ndarray, N: np.ndarray) -> np.ndarray:
    """Vertices of {c0 + N t >= 0} by cddlib's double description (float arithmetic; a cross-check
    for small polytopes: on degenerate ones its float arithmetic can fail or miss vertices)."""
    import cdd

    mat = cdd.matrix_from_array(np.column_stack([c0, N]).tolist(), rep_type=cdd.RepType.INEQUALITY)
    poly = cdd.polyhedron_from_matrix(mat)
    gens = cdd.copy_generators(poly)
    arr = np.array(gens.array, dtype=float).reshape(-1, N.shape[1] + 1)
    if len(gens.lin_set) or (arr[:, 0] == 0).any():
        raise CertificateError("the optimal polytope has rays or lines: it is numerically unbounded")
    vertices: np.ndarray = c0[None, :] + arr[:, 1:] @ N.T
    return vertices


def _clean_vertices(V: np.ndarray) -> np.ndarray:
    """Clip round-off, zero tiny entries, and drop duplicate vertices."""
    V = np.where(V < 0, 0.0, V)
    scale = V.sum(axis=1, keepdims=True).max() if V.size else 1.0
    V = np.where(V <= 1e-9 * scale, 0.0, V)
    keys = np.round(V / (1e-7 * scale))
    _, idx = np.unique(keys, axis=0, return_index=True)
    return V[np.sort(idx)]


def cardinalities(V: np.ndarray) -> list[int]:
    """Number of nonzero coefficients of each vertex (entries were zeroed below 1e-9 relative)."""
    return sorted(int(c) for c in (V > 0).sum(axis=1))


def _parallel_groups(N: np.ndarray, parallel_tol: float = 1e-10) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Rows of N: (fixed, groups, unit). ``fixed`` marks the rows N_k = 0 (c_k is the same on all of
    P*); ``groups`` partitions the other rows into classes of parallel rows (1 - |cos| <= parallel_tol,
    joined transitively), each starting with its representative; ``unit`` holds the unit rows."""
    norms = np.linalg.norm(N, axis=1)
    fixed = norms <= 1e-12 * max(1.0, float(norms.max(initial=0.0)))
    unit = np.zeros_like(N)
    unit[~fixed] = N[~fixed] / norms[~fixed, None]
    idx = np.flatnonzero(~fixed)
    if idx.size == 0:
        return fixed, [], unit
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    U = unit[idx]
    parallel = 1.0 - np.abs(U @ U.T) <= parallel_tol
    _, label = connected_components(csr_matrix(parallel), directed=False)
    order = np.argsort(label, kind="stable")
    cuts = np.flatnonzero(np.diff(label[order])) + 1
    return fixed, [idx[g] for g in np.split(order, cuts)], unit


@dataclass(frozen=True)
class ClassForm:
    """P* in series-class coordinates: c_k = c0_k + mu_k s_g for feature k of class g (fixed features,
    label -1, keep c0_k), with lo <= s <= hi and W s = 0. Writing N = M V (M holds the mu_k, row g
    of V the class's direction v_g) gives s = V t, so s ranges over range(V) = null(W): P* becomes a
    box sliced by G - r equations (G classes, r = dim P*), few when features come in tied pairs."""

    label: np.ndarray  # (K,) class of each feature, -1 when fixed
    mu: np.ndarray  # (K,) c_k = c0_k + mu_k s_label[k]
    lo: np.ndarray  # (G,) -inf where no member bounds s_g from below
    hi: np.ndarray  # (G,) +inf likewise
    W: np.ndarray  # (G - r, G) orthonormal rows, W s = 0 on P*

    def point(self, c0: np.ndarray, s: np.ndarray) -> np.ndarray:
        """The coefficients c of the class coordinates s (round-off below zero clipped)."""
        c = c0.copy()
        moving = self.label >= 0
        c[moving] += self.mu[moving] * s[self.label[moving]]
        clipped: np.ndarray = np.maximum(c, 0.0)
        return clipped


def class_form(c0: np.ndarray, N: np.ndarray, *, parallel_tol: float = 1e-10,
               exact_tol: float = 1e-9) -> ClassForm | None:
    """:class:`ClassForm` of P* = {c0 + N t >= 0}, or None when some class is parallel only within
    ``parallel_tol`` and not to ``exact_tol`` (|N_k - mu_k v_g| <= exact_tol |N_k|): then the
    coordinates would not describe P* exactly."""
    K, r = N.shape
    fixed, groups, unit = _parallel_groups(N, parallel_tol)
    label, mu = np.full(K, -1), np.zeros(K)
    lo, hi = np.empty(len(groups)), np.empty(len(groups))
    V = np.empty((len(groups), r))
    for g, members in enumerate(groups):
        V[g] = unit[members[0]]
        mu[members] = N[members] @ V[g]
        if np.abs(N[members] - mu[members, None] * V[g]).max() > exact_tol * np.abs(N[members]).max():
            return None
        label[members] = g
        lo[g], hi[g] = _class_interval(c0[members], mu[members])
    Q, sv, _ = np.linalg.svd(V, full_matrices=True)
    if int((sv > sv.max(initial=0.0) * 1e-9).sum()) != r:
        return None
    return ClassForm(label=label, mu=mu, lo=lo, hi=hi, W=Q[:, r:].T.copy())


def _class_interval(c0: np.ndarray, mu: np.ndarray) -> tuple[float, float]:
    """The range of s keeping c0_k + mu_k s >= 0 for every member k (infinite on a side no member bounds)."""
    up, down = mu > 0, mu < 0
    lo = float(np.max(-c0[up] / mu[up])) if up.any() else -np.inf
    hi = float(np.min(-c0[down] / mu[down])) if down.any() else np.inf
    return lo, hi


def series_classes(c0: np.ndarray, N: np.ndarray, *, zero_tol: float = 1e-9,
                   parallel_tol: float = 1e-10) -> list[tuple[np.ndarray, int]]:
    """Series classes of the column matroid of A, each with the fewest nonzeros it has at any point
    of P* = {c0 + N t >= 0}.

    Rows N_k, N_j that are parallel (N_k = mu N_j) tie c_k and c_j along P*: in a class C of
    parallel rows, N_k = mu_k v, so c_k = c0_k + mu_k s with one scalar s = v.t. c >= 0 confines s
    to [max over mu_k > 0 of -c0_k / mu_k, min over mu_k < 0 of -c0_k / mu_k], and a coordinate of
    C can vanish only at an end of that interval: the class has at least |C| minus (the most
    coordinates of C that are zero, within ``zero_tol * max(1, sum c0)``, at one end) nonzeros. A
    row N_k = 0 (a coloop, c_k = c0_k on all of P*) is a class of one. Classes are disjoint, so the
    sum of their counts bounds every support in P* from below: m* >= sum. Returns (members, count)
    for the classes whose count is positive.
    """
    scale = zero_tol * max(1.0, float(c0.sum()))
    fixed, groups, unit = _parallel_groups(N, parallel_tol)
    out: list[tuple[np.ndarray, int]] = [(np.array([k]), 1) for k in np.flatnonzero(fixed) if c0[k] > scale]
    for members in groups:
        if members.size < 2:
            continue
        mu = N[members] @ unit[members[0]]
        lo, hi = _class_interval(c0[members], mu)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            continue  # s is unbounded one way on this class alone: no count from it
        zeros = max(int((c0[members] + mu * end <= scale).sum()) for end in (lo, hi))
        if members.size - zeros > 0:
            out.append((members, int(members.size - zeros)))
    return out


def min_cardinality_milp(poly: Polytope, time_limit_s: float = 60.0) -> tuple[tuple[int, int], np.ndarray]:
    """m* by MILP: min sum z s.t. c0 + N t >= 0, c0 + N t <= cmax * z, z binary (HiGHS).

    Every series class C (``series_classes``) needs at least count(C) nonzeros at every point of P*:
    sum over C of z >= count(C) is added to the MILP, and the sum of the counts is a lower bound
    that holds whatever the time limit. When an LP vertex (``poly.sample_vertices``) already has
    that many nonzeros, it is a witness and the MILP is not run.

    Returns ((lower, upper), c): lower == upper when m* is proven; with a time limit hit, lower is
    the larger of HiGHS's proven bound and the series-class bound, and c the best solution found.
    """
    K, r = poly.N.shape
    if r == 0:
        k = int((poly.c0 > 0).sum())
        return (k, k), poly.c0
    classes = series_classes(poly.c0, poly.N)
    structural = sum(count for _, count in classes)
    if poly.sample_vertices.shape[0] and poly.sample_vertices.shape[1] == K:
        per_vertex = (poly.sample_vertices > 0).sum(axis=1)
        best_sample = int(np.argmin(per_vertex))
        if int(per_vertex[best_sample]) == structural:
            c = poly.sample_vertices[best_sample]
            return (int(per_vertex[best_sample]), int(per_vertex[best_sample])), c
    cmax = np.maximum(poly.coef_max, 0.0) * (1 + 1e-9) + 1e-12
    # variables [t (r, free), z (K, binary)]
    obj = np.concatenate([np.zeros(r), np.ones(K)])
    lower = LinearConstraint(np.hstack([poly.N, np.zeros((K, K))]), -poly.c0, np.inf)
    upper = LinearConstraint(np.hstack([poly.N, -np.diag(cmax)]), -np.inf, -poly.c0)
    constraints = [lower, upper]
    if classes:
        rows = np.zeros((len(classes), r + K))
        for i, (members, _) in enumerate(classes):
            rows[i, r + members] = 1.0
        constraints.append(LinearConstraint(rows, np.array([count for _, count in classes], dtype=float), np.inf))
    bounds = Bounds(np.concatenate([np.full(r, -np.inf), np.zeros(K)]), np.concatenate([np.full(r, np.inf), np.ones(K)]))
    integrality = np.concatenate([np.zeros(r), np.ones(K)])
    with c_stdout_discarded(), in_solver("highs"):
        res = milp(obj, constraints=constraints, bounds=bounds, integrality=integrality,
                   options={"time_limit": time_limit_s, "disp": False})
    if res.x is None:
        raise CertificateError(f"the m* MILP found no solution ({res.message})")
    c = poly.c0 + poly.N @ res.x[:r]
    best = int(round(res.fun))
    if res.status == 0:
        return (best, best), c
    bound = getattr(res, "mip_dual_bound", None)
    low = int(np.ceil(bound - 1e-6)) if bound is not None and np.isfinite(bound) else 1
    return (max(1, low, min(structural, best)), best), c


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send C-level writes to stdout (HiGHS prints some) to stderr, keeping stdout for JSON."""
    with _stdout_to_fd(2):
        yield


@contextmanager
def c_stdout_discarded() -> Iterator[None]:
    """Discard C-level writes to stdout: HiGHS's MILP prints debug lines even with display off
    ("HighsMipSolverData::transformNewIntegerFeasibleSolution ..."); its status and message come
    back in the result."""
    with open(os.devnull, "w") as null, _stdout_to_fd(null.fileno()):
        yield


@contextmanager
def _stdout_to_fd(fd: int) -> Iterator[None]:
    """Point file descriptor 1 at ``fd`` for the block."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(fd, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
