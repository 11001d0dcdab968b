"""Activation patterns of the data: the cells of a central hyperplane arrangement.

For data X (n x d) the activation pattern of a direction h is D(h) = 1[X h >= 0] in {0,1}^n.
The hyperplanes {h : x_k^T h = 0} (one per nonzero row) cut R^d into open cells (full-dimensional
regions); on each cell the pattern is constant, and the set of patterns of the OPEN cells is what
the convex reformulation needs.  Zero rows do not cut space and always have pattern 1.

Two methods are provided:

* :func:`enumerate_patterns` - exact enumeration (``mode="exact"``), correct on degenerate data
  (repeated, antipodal, parallel or coplanar rows, rank-deficient X, n < d, zero rows).
* :func:`sample_patterns` - the distinct patterns of random Gaussian directions (``mode="sampled"``),
  a subset of the exact ones.

:func:`lp_cell_search` is a slow, independent reference (incremental LP splitting) used in tests.

See docs/theory.md §2 (activation patterns).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Patterns",
    "enumerate_patterns",
    "sample_patterns",
    "general_position_count",
    "pattern_budget",
    "cell_bound",
    "lp_cell_search",
    "cell_facets",
]

# Rays are generated in blocks so that the (rays x rows) sign matrix stays around this many entries.
_BLOCK_ENTRIES = 1 << 22


@dataclass(frozen=True)
class Patterns:
    """Activation patterns D (n x P, bool): column i is the pattern 1[X h >= 0] of cell i.

    Columns are unique and sorted lexicographically (row 0 most significant, False < True).
    ``mode`` is ``"exact"`` (every open cell) or ``"sampled"`` (cells hit by ``n_samples`` Gaussian
    directions drawn with ``seed``).
    """

    D: np.ndarray
    mode: str
    n_samples: int | None = None
    seed: int | None = None

    @property
    def count(self) -> int:
        """Number of patterns P."""
        return int(self.D.shape[1])


def general_position_count(n: int, d: int) -> int:
    """Cells of n central hyperplanes in general position in R^d: 2 * sum_{k<d} C(n-1, k).

    (Cover 1965 / Zaslavsky.)  n = 0 gives the single cell R^d; n <= d gives 2^n.
    """
    if n < 0 or d < 0:
        raise ValueError("n and d must be non-negative")
    if n == 0:
        return 1
    return 2 * sum(math.comb(n - 1, k) for k in range(d))


# Memory of a solve over P patterns of n points, in bytes: a fixed part, a part per entry of the
# n x P pattern matrix (the matrix, its facet rows and prepared cones, the programs built on them)
# and a part per data point (the programs' rows). An upper bound fitted to measured peaks;
# benchmarks/README.md lists the measurements.
MEMORY_BASE_BYTES = 300 * 2**20
MEMORY_BYTES_PER_ENTRY = 50
MEMORY_BYTES_PER_POINT = 4096


def cell_bound(n: int, d: int, cap: int | None = None) -> int:
    """The general-position count 2 * sum_{k<d} C(n-1, k), an upper bound on the cells of any
    arrangement of n central hyperplanes in R^d; summed term by term and stopped as soon as it
    exceeds ``cap`` (then the value returned is only known to be larger than ``cap``)."""
    if n <= 0:
        return 1
    total, term = 0, 1  # term = C(n-1, k)
    for k in range(min(d, n)):
        if k:
            term = term * (n - k) // k
        total += 2 * term
        if cap is not None and total > cap:
            break
    return total


def pattern_budget(n: int, d: int, mode: str, n_samples: int, cap: int | None = None) -> tuple[int, int]:
    """(patterns, bytes): an upper bound on the number of patterns a solve will handle
    (:func:`cell_bound`; a sampled set at most ``n_samples``) and the memory estimate for it. With
    ``cap`` the count stops once above it (see :func:`cell_bound`)."""
    cells = cell_bound(n, d, cap)
    if mode in ("sampled", "oracle"):  # (the oracle adds the few cells the dual needs to its samples)
        cells = min(cells, n_samples)
    return cells, MEMORY_BASE_BYTES + MEMORY_BYTES_PER_ENTRY * n * cells + MEMORY_BYTES_PER_POINT * n


# ---------------------------------------------------------------------------------------------
# helpers


def _as_data(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n x d), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite entries")
    return X


def _unique_rows(B: np.ndarray) -> np.ndarray:
    """Unique rows of a bool matrix, sorted lexicographically (column 0 most significant)."""
    N, m = B.shape
    if N <= 1:
        return B.copy()
    if m == 0:
        return B[:1].copy()
    packed = np.packbits(B, axis=1)  # big bit order: byte order == lexicographic order
    nbytes = packed.shape[1]
    width = -(-nbytes // 8) * 8
    if width != nbytes:
        packed = np.concatenate([packed, np.zeros((N, width - nbytes), np.uint8)], axis=1)
    keys = np.ascontiguousarray(packed).view(">u8").astype(np.uint64)
    order = np.lexsort(keys.T[::-1])  # stable, column 0 primary (faster than np.unique(axis=0))
    k = keys[order]
    first = np.ones(N, dtype=bool)
    first[1:] = np.any(k[1:] != k[:-1], axis=1)
    return B[order[first]]


def _unique_ternary(T: np.ndarray) -> np.ndarray:
    """Unique rows of an int8 matrix with entries in {-1, 0, +1} (each row compared as m bytes)."""
    T = np.ascontiguousarray(T, dtype=np.int8)
    if T.shape[0] <= 1 or T.shape[1] == 0:
        return T[:1].copy() if T.shape[1] == 0 else T.copy()
    _, idx = np.unique(T.view(np.dtype((np.void, T.shape[1]))).ravel(), return_index=True)
    return T[np.sort(idx)]


def _all_signs(q: int) -> np.ndarray:
    """All 2^q bool vectors of length q, shape (2^q, q)."""
    return ((np.arange(2**q)[:, None] >> np.arange(q)[::-1]) & 1).astype(bool)


def _ray_sign_vectors(C: np.ndarray, tol: float) -> np.ndarray:
    """Sign vectors sign_tol(C rho) of the candidate extreme rays +-rho of an essential arrangement.

    C is m x r with unit rows and rank r >= 2.  Each ray is the null vector of an (r-1)-subset of
    rows of rank r-1.  Returns the unique ternary vectors (entries -1, 0, +1), both orientations.
    """
    m, r = C.shape
    k = r - 1
    out = []
    if r == 2:
        blocks = [C[:, ::-1] * np.array([-1.0, 1.0])]  # perpendicular of each line
    else:
        blocks = []
    total = math.comb(m, k) if r > 2 else 0
    chunk = max(1, _BLOCK_ENTRIES // max(m, 1))
    combos = itertools.combinations(range(m), k)
    done = 0
    while done < total or blocks:
        if blocks:
            rays = blocks.pop()
        else:
            cnt = min(chunk, total - done)
            S = np.fromiter(itertools.islice(combos, cnt), dtype=np.dtype((np.intp, k)), count=cnt)
            done += cnt
            _, s, Vt = np.linalg.svd(C[S])  # (cnt, k, r): last right singular vector spans the null space
            ok = s[:, -1] > tol * r * s[:, 0]
            rays = Vt[ok, -1, :]
            if rays.shape[0] == 0:
                continue
        rays = rays / np.linalg.norm(rays, axis=1, keepdims=True)
        V = rays @ C.T  # rows are unit, rays are unit: |a^T rho| <= tol means "on the hyperplane"
        T = np.where(np.abs(V) <= tol, 0, np.sign(V)).astype(np.int8)
        out.append(_unique_ternary(np.concatenate([T, -T])))
    if not out:
        return np.zeros((0, m), dtype=np.int8)
    return _unique_ternary(np.concatenate(out))


def _cells(
    A: np.ndarray, idx: np.ndarray, cache: dict[tuple[int, ...], np.ndarray], tol: float, max_rank: int
) -> np.ndarray:
    """Sign vectors (as bool, True = +1) of all open cells of the central arrangement of A[idx].

    A has unit rows.  Returns a (P, len(idx)) bool array of unique rows.  Recursion: every open cell
    of an essential arrangement of rank r >= 2 has an extreme ray rho on >= r-1 independent
    hyperplanes; near rho the realized sign vectors are the fixed signs sign(a_k^T rho) on the rows
    off rho times all cells of the sub-arrangement Z = {k : a_k^T rho = 0} (rank r-1).
    """
    key = tuple(int(i) for i in idx)
    hit = cache.get(key)
    if hit is not None:
        return hit
    m = len(idx)
    if m == 0:
        res = np.zeros((1, 0), dtype=bool)
        cache[key] = res
        return res
    B = A[idx]
    _, s, Vt = np.linalg.svd(B, full_matrices=False)
    r = int(np.sum(s > tol * max(B.shape) * s[0]))
    r = max(1, min(r, max_rank))
    if r == 1:
        pos = B @ Vt[0] > 0  # rows are c_k * v with |c_k| ~ 1
        res = _unique_rows(np.stack([pos, ~pos]))
        cache[key] = res
        return res
    C = B if r == B.shape[1] else B @ Vt[:r].T  # coordinates in the row space: cells in bijection
    C = C / np.linalg.norm(C, axis=1, keepdims=True)
    T = _ray_sign_vectors(C, tol)
    if T.shape[0] == 0:  # numerically rank r-1 after all (tolerance edge): recurse with a lower cap
        res = _cells(A, idx, cache, tol, r - 1)
        cache[key] = res
        return res
    zero = T == 0
    nz = zero.sum(axis=1)
    parts: list[np.ndarray] = []
    # Fast path: exactly r-1 rows through the ray -> they are independent -> all 2^(r-1) sign choices.
    fast = nz == r - 1
    if np.any(fast):
        Tf, Zf = T[fast], zero[fast]
        g, q = Tf.shape[0], r - 1
        E = _all_signs(q)
        zcols = np.nonzero(Zf)[1].reshape(g, q)
        out = np.repeat((Tf > 0)[:, None, :], E.shape[0], axis=1)
        out[np.arange(g)[:, None, None], np.arange(E.shape[0])[None, :, None], zcols[:, None, :]] = E[None]
        parts.append(_unique_rows(out.reshape(-1, m)))
    for t in T[~fast]:
        Z = np.flatnonzero(t == 0)
        sub = _cells(A, idx[Z], cache, tol, r - 1)
        out = np.repeat((t > 0)[None, :], sub.shape[0], axis=0)
        out[:, Z] = sub
        parts.append(out)
    res = _unique_rows(np.concatenate(parts))
    cache[key] = res
    return res


def _full_D(n: int, nonzero: np.ndarray, S: np.ndarray) -> np.ndarray:
    """(n, P) pattern matrix from sign vectors S (P x m) on the nonzero rows; zero rows are 1."""
    D = np.ones((n, S.shape[0]), dtype=bool)
    D[nonzero, :] = S.T
    return D


# ---------------------------------------------------------------------------------------------
# public API


def enumerate_patterns(X: np.ndarray, tol: float = 1e-10) -> Patterns:
    """All patterns 1[X h >= 0] of the open cells of the arrangement {h : x_k^T h = 0} (exact).

    Rows are scaled to unit norm (cells are invariant under positive scaling).  A row is taken to
    lie on a ray rho when |x_k^T rho| <= tol * ||x_k|| * ||rho||, and singular values below
    tol * max(shape) * sigma_max count as zero; data closer to degenerate than ``tol`` is treated as
    exactly degenerate.
    """
    X = _as_data(X)
    n, _ = X.shape
    norms = np.linalg.norm(X, axis=1)
    nonzero = np.flatnonzero(np.any(X != 0, axis=1))
    A = X[nonzero] / norms[nonzero, None]
    S = _cells(A, np.arange(len(nonzero)), {}, float(tol), X.shape[1])
    return Patterns(D=_full_D(n, nonzero, _unique_rows(S)), mode="exact")


def sample_patterns(X: np.ndarray, n_samples: int, seed: int) -> Patterns:
    """Distinct patterns 1[X h >= 0] over n_samples directions h ~ N(0, I_d) drawn with ``seed``.

    Every sampled pattern is the pattern of an open cell with probability 1; small cells may be missed.
    """
    X = _as_data(X)
    if n_samples < 1:
        raise ValueError("n_samples must be positive")
    n, d = X.shape
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_samples, _BLOCK_ENTRIES // max(n, d, 1)))
    found: list[np.ndarray] = []
    done = 0
    while done < n_samples:
        cnt = min(chunk, n_samples - done)
        H = rng.standard_normal((cnt, d))
        found.append(_unique_rows(H @ X.T >= 0))
        done += cnt
    S = _unique_rows(np.concatenate(found))
    return Patterns(D=np.ascontiguousarray(S.T), mode="sampled", n_samples=int(n_samples), seed=int(seed))


def lp_cell_search(X: np.ndarray) -> np.ndarray:
    """Reference enumeration (slow): (n, P) bool patterns of all open cells by incremental LP splitting.

    Rows are added one at a time; a cell with signs s on the rows so far splits into the sides
    +-a_new that are feasible, i.e. max t s.t. s_j a_j^T h >= t, +-a_new^T h >= t, -1 <= h <= 1,
    t <= 1 has optimum t > 1e-9 (HiGHS; the reported h is re-checked in float64).  An interior
    point of the parent cell strictly on one side certifies that side without an LP.  Zero rows: 1.
    """
    from scipy.optimize import linprog

    from .solvers import in_solver

    X = _as_data(X)
    n, d = X.shape
    nonzero = np.flatnonzero(np.any(X != 0, axis=1))
    A = X[nonzero] / np.linalg.norm(X[nonzero], axis=1, keepdims=True)
    m = len(nonzero)
    eps = 1e-9
    c = np.zeros(d + 1)
    c[-1] = -1.0
    bounds = [(-1.0, 1.0)] * d + [(None, 1.0)]
    options = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}

    def witness(G: np.ndarray) -> np.ndarray | None:
        """h with min(G h) > eps (rows of G are the signed normals), or None."""
        A_ub = np.hstack([-G, np.ones((G.shape[0], 1))])
        with in_solver("highs"):
            res = linprog(c, A_ub=A_ub, b_ub=np.zeros(G.shape[0]), bounds=bounds, method="highs", options=options)
        if res.status != 0 or res.x is None:
            return None
        h = res.x[:d]
        return h if np.min(G @ h) > eps else None

    cells: list[tuple[np.ndarray, np.ndarray | None]] = [(np.zeros(0), None)]
    for k in range(m):
        a = A[k]
        new_cells: list[tuple[np.ndarray, np.ndarray | None]] = []
        for s, w in cells:
            G_prev = s[:, None] * A[:k]
            for sign in (1.0, -1.0):
                if w is not None and sign * (a @ w) > eps:
                    h: np.ndarray | None = w  # parent's interior point lies strictly on this side
                else:
                    h = witness(np.vstack([G_prev, sign * a]))
                if h is not None:
                    new_cells.append((np.append(s, sign), h))
        cells = new_cells
    S = np.array([s > 0 for s, _ in cells], dtype=bool).reshape(len(cells), m)
    return _full_D(n, nonzero, _unique_rows(S))


def cell_facets(X: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Facet rows of every cell: F[k, i] True when hyperplane x_k^T h = 0 bounds cell i in a facet.

    K_i = {u : (2 D_i - I) X u >= 0} is full-dimensional, so it is the intersection of its facet
    half-spaces alone (on average about 4 rows in d = 3 instead of n). Two cells that differ exactly
    on the rows of one hyperplane (rows parallel up to sign share it) are adjacent across a facet on
    it, and every facet arises this way; so with the complete cell set D (``enumerate_patterns``)
    the facets are read off by flipping each hyperplane's rows and looking the pattern up (by a
    64-bit linear hash, confirmed on the full pattern). One row per hyperplane is marked.
    """
    X = _as_data(X)
    n: int
    P: int
    n, P = D.shape
    D = D.astype(bool)
    norms = np.linalg.norm(X, axis=1)
    nonzero = np.flatnonzero(norms > 0)
    F = np.zeros((n, P), dtype=bool)
    if P < 2 or nonzero.size == 0:
        return F
    # rows on one hyperplane have equal or complementary patterns over all cells (exact, no rounding)
    canon = D[nonzero] ^ ~D[nonzero, :1]
    _, group = np.unique(np.packbits(canon, axis=1), axis=0, return_inverse=True)
    group = group.ravel()
    rng = np.random.default_rng(0)
    r = rng.integers(1, 2**62, size=n, dtype=np.uint64)
    h = np.zeros(P, dtype=np.uint64)
    for k in range(n):  # row by row: no (n, P) 64-bit temporary
        h[D[k]] += r[k]  # wraps mod 2^64
    order = np.argsort(h)
    hs = h[order]
    Ds = D[:, order]  # cells in hash order: the looked-up hashes below come nearly sorted (fast lookups)
    for g in range(group.max() + 1):
        rows = nonzero[group == g]
        # flipping the rows of hyperplane g: bit 1 -> 0 subtracts r_k, bit 0 -> 1 adds r_k; adjacency is
        # symmetric, so only the cells with the first row's bit set look up their neighbour
        src = np.flatnonzero(Ds[rows[0]])
        delta = np.zeros(len(src), dtype=np.uint64)
        for k in rows:
            delta = np.where(Ds[k, src], delta - r[k], delta + r[k])
        target = hs[src] + delta
        pos = np.minimum(np.searchsorted(hs, target), P - 1)
        hit = hs[pos] == target
        if not hit.any():
            continue
        a, b = src[hit], pos[hit]
        flipped = Ds[:, a].copy()
        flipped[rows] = ~flipped[rows]
        same = np.all(flipped == Ds[:, b], axis=0)
        F[rows[0], order[a[same]]] = True
        F[rows[0], order[b[same]]] = True
    return F
