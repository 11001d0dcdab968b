"""The compiled kernels of :mod:`convexdual.oracle` (numba): a small dense NNLS, cone projections,
and the bound of one node of the branch and bound."""

from __future__ import annotations

import numpy as np
from numba import njit

POOL_RATIO = 0.25  # a free term joins the spectral pool when min(h, -l) >= this * max(h, -l)


@njit(cache=True)
def lsq(M, b):
    """argmin ||M z - b|| for a small dense M (m, k) of full column rank, by Householder QR
    (LAPACK's least squares when k > m or a pivot vanishes)."""
    m, k = M.shape
    if k > m:
        return np.linalg.lstsq(M, b)[0]
    R = M.copy()
    q = b.copy()
    v = np.empty(m)
    for j in range(k):
        normx = 0.0
        for r in range(j, m):
            normx += R[r, j] * R[r, j]
        normx = np.sqrt(normx)
        if normx == 0.0:
            return np.linalg.lstsq(M, b)[0]
        alpha = -normx if R[j, j] >= 0 else normx
        vn = 0.0
        for r in range(j, m):
            v[r] = R[r, j]
        v[j] -= alpha
        for r in range(j, m):
            vn += v[r] * v[r]
        if vn == 0.0:
            continue
        for col in range(j, k):
            dot = 0.0
            for r in range(j, m):
                dot += v[r] * R[r, col]
            f = 2.0 * dot / vn
            for r in range(j, m):
                R[r, col] -= f * v[r]
        dot = 0.0
        for r in range(j, m):
            dot += v[r] * q[r]
        f = 2.0 * dot / vn
        for r in range(j, m):
            q[r] -= f * v[r]
    z = np.empty(k)
    big = 0.0
    for j in range(k):
        big = max(big, abs(R[j, j]))
    for j in range(k - 1, -1, -1):
        if abs(R[j, j]) <= 1e-13 * big:
            return np.linalg.lstsq(M, b)[0]
        acc = q[j]
        for col in range(j + 1, k):
            acc -= R[j, col] * z[col]
        z[j] = acc / R[j, j]
    return z


@njit(cache=True)
def nnls(A, b, tol):
    """argmin_{x >= 0} ||A x - b|| (Lawson-Hanson) for a small dense A (m, k)."""
    m, k = A.shape
    x = np.zeros(k)
    passive = np.zeros(k, dtype=np.bool_)
    scale = max(1.0, np.abs(A).max()) * max(1.0, np.abs(b).max())
    for _ in range(3 * k + 10):
        w = A.T @ (b - A @ x)
        j, best = -1, tol * scale
        for i in range(k):
            if not passive[i] and w[i] > best:
                best, j = w[i], i
        if j < 0:
            break
        passive[j] = True
        for _ in range(3 * k + 10):
            idx = np.flatnonzero(passive)
            z = lsq(np.ascontiguousarray(A[:, idx]), b)
            if np.all(z > 0):
                x[:] = 0.0
                x[idx] = z
                break
            alpha = 1.0
            for t in range(len(idx)):
                if z[t] <= 0:
                    xi = x[idx[t]]
                    alpha = min(alpha, xi / (xi - z[t]) if xi - z[t] > 0 else 0.0)
            for t in range(len(idx)):
                x[idx[t]] += alpha * (z[t] - x[idx[t]])
                if x[idx[t]] <= tol * scale:
                    x[idx[t]] = 0.0
                    passive[idx[t]] = False
    return x

@njit(cache=True)
def bvls(A, b, upper, tol, iterations):
    """argmin ||A x - b|| over 0 <= x <= upper (active set, after Stark and Parker) for a small
    dense A (m, k); entries of ``upper`` may be inf. Every iterate is feasible."""
    m, k = A.shape
    x = np.zeros(k)
    state = np.zeros(k, dtype=np.int64)  # 0 at zero, 1 free, 2 at its upper bound
    if k == 0:
        return x
    scale = max(1.0, np.abs(A).max()) * max(1.0, np.abs(b).max())
    for _ in range(iterations):
        w = A.T @ (b - A @ x)
        j, best = -1, tol * scale
        for i in range(k):
            if (state[i] == 0 and w[i] > best) or (state[i] == 2 and -w[i] > best):
                best, j = abs(w[i]), i
        if j < 0:
            break
        state[j] = 1
        for _ in range(2 * k + 10):
            idx = np.flatnonzero(state == 1)
            if len(idx) == 0:
                break
            r = b.copy()
            for i in range(k):
                if state[i] == 2:
                    r -= upper[i] * A[:, i]
            zf = lsq(np.ascontiguousarray(A[:, idx]), r)
            alpha = 1.0
            for t in range(len(idx)):
                xi, zi = x[idx[t]], zf[t]
                if zi < 0 and xi - zi > 0:
                    alpha = min(alpha, xi / (xi - zi))
                elif zi > upper[idx[t]] and zi - xi > 0:
                    alpha = min(alpha, (upper[idx[t]] - xi) / (zi - xi))
            for t in range(len(idx)):
                x[idx[t]] += alpha * (zf[t] - x[idx[t]])
            if alpha >= 1.0:
                break
            for t in range(len(idx)):
                i = idx[t]
                if x[i] <= tol * scale:
                    x[i], state[i] = 0.0, 0
                elif x[i] >= upper[i] - tol * scale:
                    x[i], state[i] = upper[i], 2
        for i in range(k):
            x[i] = min(max(x[i], 0.0), upper[i])
    return x


@njit(cache=True)
def cone_max(g, A, tol):
    """(||Proj_{A u >= 0}(g)||, Proj) for a cone given by rows A (m, d)."""
    if A.shape[0] == 0 or np.all(A @ g >= 0):
        return np.sqrt(np.sum(g * g)), g.copy()
    lam = nnls(A.T.copy(), -g, tol)
    p = g + A.T @ lam
    return np.sqrt(np.sum(p * p)), p

@njit(cache=True)
def interval(i, X, A, tol, row, hi, lo, Phi, Plo, known):
    """hi[i] = max x_i^T u and lo[i] = min x_i^T u over the cone A u >= 0 within the unit ball,
    with their (unnormalized) maximizers Phi[i], -Plo[i]. Values ``known`` from the parent cone,
    which adds the one row ``row``, stay exact when the parent's maximizer satisfies it."""
    if not (known[i] and row @ Phi[i] >= 0):
        hi[i], Phi[i] = cone_max(X[i], A, tol)
    if not (known[i] and row @ Plo[i] >= 0):
        value, Plo[i] = cone_max(-X[i], A, tol)
        lo[i] = -value
    known[i] = True


@njit(cache=True)
def settle(X, c, norms, sig, tol, A, row, hi, lo, Phi, Plo, known, side):
    """Intervals of the free terms with sign(c_i) = ``side`` (:func:`interval`) and the signs they
    imply (``sig`` +-2, in place). Returns how many of those terms stay free."""
    free = 0
    for i in range(X.shape[0]):
        if sig[i] != 0 or c[i] * side <= 0:
            continue
        interval(i, X, A, tol, row, hi, lo, Phi, Plo, known)
        if hi[i] <= tol * norms[i]:
            sig[i] = -2
        elif lo[i] >= -tol * norms[i]:
            sig[i] = 2
        else:
            free += 1
    return free


@njit(cache=True)
def pooled_bound(X, c, sig, hi, lo, a, K, B, upper, tol, iterations):
    """The node bound with t_+ = (t + |t|) / 2 for a pool of free positive terms whose intervals
    are two-sided, and sum c_i |x_i^T u| <= sqrt(sum c_i) sqrt(lambda_max(sum c_i x_i x_i^T)) over
    the pool (Cauchy-Schwarz); the other terms as in :func:`node` (secant part ``a``, ``K``)."""
    d = X.shape[1]
    a2 = a.copy()
    K2 = K
    M = np.zeros((d, d))
    weight, pooled = 0.0, 0
    for i in range(X.shape[0]):
        if sig[i] == 0 and c[i] > 0 and min(hi[i], -lo[i]) >= POOL_RATIO * max(hi[i], -lo[i]):
            slope = c[i] * hi[i] / (hi[i] - lo[i])
            a2 += (0.5 * c[i] - slope) * X[i]
            K2 += slope * lo[i]
            M += c[i] * np.outer(X[i], X[i])
            weight += c[i]
            pooled += 1
    if pooled < 2:
        return np.inf
    K2 += 0.5 * np.sqrt(weight * max(np.linalg.eigvalsh(M)[-1], 0.0))
    w2 = a2 + B @ bvls(B, -a2, upper, tol, iterations)
    return K2 + np.sqrt(np.sum(w2 * w2))


@njit(cache=True)
def node(X, c, norms, sig, tol, iterations, cells, hi, lo, Phi, Plo, known, row, threshold):
    """Fix implied signs of positive terms in ``sig`` (in place: +-2) and bound the node. Returns
    (bound, u, branch): branch = -1 at a leaf, where the bound is the exact maximum over the node's
    cone and u a maximizer. A leaf has no positive term free; with ``cells`` no term at all (one
    cell: below the positive terms the search goes on over the negative ones, with exact bounds).
    (hi, lo, Phi, Plo, known) hold the parent's intervals (:func:`interval`) and are updated in
    place; ``row`` is the constraint this node adds to its parent (zero at the root). The second,
    spectral bound is tried only when the first does not prune (is >= ``threshold``)."""
    n, d = X.shape
    fixed = np.flatnonzero((sig == 1) | (sig == -1))
    A = np.empty((len(fixed), d))
    for r in range(len(fixed)):
        A[r] = sig[fixed[r]] * X[fixed[r]]
    n_free = settle(X, c, norms, sig, tol, A, row, hi, lo, Phi, Plo, known, 1.0)
    if n_free == 0 and cells:
        settle(X, c, norms, sig, tol, A, row, hi, lo, Phi, Plo, known, -1.0)
    a = np.zeros(d)
    K = 0.0
    n_neg = 0
    for i in range(n):
        if sig[i] > 0:
            a += c[i] * X[i]
        elif sig[i] == 0 and c[i] > 0:
            slope = c[i] * hi[i] / (hi[i] - lo[i])
            a += slope * X[i]
            K -= slope * lo[i]
        elif sig[i] == 0 and c[i] < 0:
            n_neg += 1
    # min ||a + B z|| over z = (mu in [0, 1] for the negative free terms, lam >= 0 for the fixed
    # signs): K + ||a + B z|| bounds the node for every feasible z, exactly at the minimizer
    k = n_neg + len(fixed)
    B = np.empty((d, k))
    upper = np.empty(k)
    col = 0
    for i in range(n):
        if sig[i] == 0 and c[i] < 0:
            B[:, col] = c[i] * X[i]
            upper[col] = 1.0
            col += 1
    for r in range(len(fixed)):
        B[:, col] = A[r]
        upper[col] = np.inf
        col += 1
    z = bvls(B, -a, upper, tol, iterations)
    w = a + B @ z
    norm = np.sqrt(np.sum(w * w))
    u = w / norm if norm > 0 else np.zeros(d)
    if n_free == 0:
        if not cells or n_neg == 0:
            return norm, u, -1
        # exact bound; split the region along the free hyperplane nearest its maximizer
        branch, near = -1, np.inf
        for i in range(n):
            if sig[i] == 0 and c[i] < 0 and abs(X[i] @ u) / norms[i] < near:
                near, branch = abs(X[i] @ u) / norms[i], i
        return norm, u, branch
    bound = K + norm
    if bound >= threshold:  # a second bound, for nodes the first does not prune
        bound = min(bound, pooled_bound(X, c, sig, hi, lo, a, K, B, upper, tol, iterations))
    # branch on the free positive term whose secant can be furthest above the truth (at t = 0)
    branch, gap_best = -1, -1.0
    for i in range(n):
        if sig[i] != 0 or c[i] <= 0:
            continue
        gap = c[i] * hi[i] * (-lo[i]) / (hi[i] - lo[i])
        if gap > gap_best:
            gap_best, branch = gap, i
    return bound, u, branch


@njit(cache=True)
def project_cells(X, D, rows, G, cells, signs, tol):
    """Proj_{K_i}(s X^T D_i nu) for blocks (cells[b], signs[b]) with G[i] = X^T D_i nu; the cone
    K_i = {u : (2 D_ki - 1) x_k^T u >= 0} over the rows k with rows[k, i] (its facet rows), or over
    every row when ``rows`` is empty."""
    d = X.shape[1]
    out = np.empty((len(cells), d))
    for b in range(len(cells)):
        i = cells[b]
        keep = np.flatnonzero(rows[:, i]) if rows.shape[0] > 0 else np.arange(X.shape[0])
        A = np.empty((len(keep), d))
        for r in range(len(keep)):
            A[r] = (2.0 * D[keep[r], i] - 1.0) * X[keep[r]]
        out[b] = cone_max(signs[b] * G[i], A, tol)[1]
    return out
