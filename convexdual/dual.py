"""Step 5: the dual. Dual constraint values over every (pattern, sign), optimal directions, active set.

For a dual point nu, pattern D_i and sign s, let g = s X^T D_i nu and K_i = {u : (2 D_i - I) X u >= 0}.
Then max {g^T u : u in K_i, ||u|| <= 1} = ||Proj_{K_i}(g)||, attained at u = Proj(g) / ||Proj(g)||.
With A = (2 D_i - I) X the polar cone is {-A^T lam : lam >= 0}, so Proj(g) = g + A^T lam with
lam = argmin_{lam >= 0} ||g + A^T lam|| (a nonnegative least-squares problem, solved exactly by an
active-set method). nu is dual feasible iff every value is <= beta (beta = 1 for interpolation).

In d <= 3 with cones given by their facet rows, the projections of many blocks are computed at once
(:func:`cone_projections`): the projection lies in the relative interior of one face of K_i (K_i
itself, a facet, an edge or the apex), so it is the feasible candidate of largest norm among g,
its projections onto every facet's plane and onto every edge's ray, and 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from .errors import CertificateError

SIGNS = (1, -1)  # column k of DualValues.values holds sign SIGNS[k]


def sign_column(sign: int) -> int:
    """The column of DualValues for a block's sign (the inverse of SIGNS[k])."""
    return SIGNS.index(sign)


def cone_projection(g: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Euclidean projection of g onto the polyhedral cone {u : A u >= 0}."""
    if np.all(A @ g >= 0):
        return g.copy()
    lam, _ = nnls(A.T, -g, maxiter=50 * A.shape[0] + 100)
    return g + A.T @ lam


FEASIBLE_TOL = 1e-12  # a candidate is in the cone when a_k^T p >= -FEASIBLE_TOL ||a_k|| ||p|| for every row
CHUNK = 2048  # blocks projected per batch


def cone_projections(g: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Projections of g[b] (B, d) onto the cones {u : A[b] u >= 0} (A: (B, m, d)), d <= 3.

    Candidates: g, g minus its component along each row (the facet's plane), (e^T g)_+ e for each
    unit e = +-(a_j x a_k) (the edges, d = 3), and 0. Each is the orthogonal projection of g onto a
    subspace or ray, so ||g - c||^2 = ||g||^2 - ||c||^2; the projection is among them, and it is
    the feasible one of largest norm."""
    B, m, d = A.shape
    if d > 3:
        raise ValueError("cone_projections handles d <= 3; use cone_projection")
    rows = np.linalg.norm(A, axis=2)  # (B, m)
    cands = [g[:, None, :]]
    if m:
        coef = np.einsum("bmd,bd->bm", A, g) / np.where(rows > 0, rows, 1.0) ** 2
        cands.append(g[:, None, :] - coef[:, :, None] * A)
    if d == 3 and m >= 2:
        j, k = np.triu_indices(m, 1)
        e = np.cross(A[:, j], A[:, k])
        norm = np.linalg.norm(e, axis=2, keepdims=True)
        e = np.concatenate([e, -e], axis=1) / np.concatenate([norm, norm], axis=1).clip(min=1e-300)
        cands.append(np.maximum(np.einsum("bkd,bd->bk", e, g), 0.0)[:, :, None] * e)
    C = np.concatenate(cands, axis=1)  # (B, K, d)
    size = np.linalg.norm(C, axis=2)  # (B, K)
    slack = np.einsum("bmd,bkd->bkm", A, C)
    ok = np.all(slack >= -FEASIBLE_TOL * rows[:, None, :] * size[:, :, None], axis=2)
    score = np.where(ok, size, -1.0)
    best = np.argmax(score, axis=1)
    out = C[np.arange(B), best]
    out[score[np.arange(B), best] <= 0] = 0.0
    return out


def _project_blocks(X: np.ndarray, D: np.ndarray, facets: np.ndarray | None, G: np.ndarray,
                    blocks: np.ndarray) -> np.ndarray:
    """Proj_{K_i}(s X^T D_i nu) for blocks (i, k) (rows of ``blocks``; G[i] = X^T D_i nu): batched
    over cells with the same number of facet rows when d <= 3, one NNLS per block otherwise."""
    i, k = blocks[:, 0], blocks[:, 1]
    g = np.array(SIGNS)[k][:, None] * G[i]
    out = np.zeros_like(g)
    if facets is None or X.shape[1] > 3:
        for b in range(len(blocks)):
            rows = facets[:, i[b]] if facets is not None else slice(None)
            out[b] = cone_projection(g[b], (2.0 * D[rows, i[b]] - 1.0)[:, None] * X[rows])
        return out
    counts = facets[:, i].sum(axis=0)
    for m in np.unique(counts):
        sel = np.flatnonzero(counts == m)
        cell, row = np.nonzero(facets[:, i[sel]].T)  # row indices of each selected cell, in order
        row = row.reshape(len(sel), m)
        A = (2.0 * D[row, i[sel][:, None]] - 1.0)[:, :, None] * X[row]
        out[sel] = cone_projections(g[sel], A)
    return out


@dataclass(frozen=True)
class DualValues:
    """values[i, k] = max over unit u in K_i of sign_k * nu^T D_i X u, and its maximizer.

    With screening, a block whose upper bound ||X^T D_i nu|| is at most the screening level keeps
    that bound as its value (``exact`` False, direction zero): its true value is no larger."""

    values: np.ndarray  # (P, 2): column 0 for sign +1, column 1 for sign -1
    directions: np.ndarray  # (P, 2, d) unit maximizers (zero where the value is 0 or only bounded)
    exact: np.ndarray | None = None  # (P, 2) False where the value is the screening bound

    @property
    def max_value(self) -> float:
        return float(self.values.max()) if self.values.size else 0.0


def dual_values(X: np.ndarray, D: np.ndarray, nu: np.ndarray, screen: float | None = None,
                facets: np.ndarray | None = None, stop_after: tuple[int, float] | None = None,
                first: np.ndarray | None = None) -> DualValues:
    """Evaluate the dual constraint of every (pattern, sign) block: exactly, except blocks whose
    bound ||X^T D_i nu|| <= ``screen`` (then the bound). When s g already lies in K_i the
    projection is g itself; otherwise, with ``facets`` (see :func:`patterns.cell_facets`; the same
    cone by its facet rows) and d <= 3, batched closed-form projections, else one NNLS per block.

    ``stop_after = (k, level)``: project in decreasing order of the bound, CHUNK blocks at a time,
    and stop after the chunk in which k exact values of blocks outside ``first`` ((P, 2) bool;
    those are always evaluated exactly) exceed ``level``; the blocks left keep their bound
    (``exact`` False). Fewer than k such values means every block was evaluated, so "none above
    level" is still exact."""
    P, d = D.shape[1], X.shape[1]
    G = (D * nu[:, None]).T @ X  # (P, d): row i is X^T D_i nu
    norms = np.linalg.norm(G, axis=1)
    S = (2.0 * D - 1.0) * (X @ G.T)  # (n, P): column i is A_i g_i
    inside = np.stack([np.all(S >= 0, axis=0), np.all(S <= 0, axis=0)], axis=1)  # s g_i in K_i
    values = np.zeros((P, 2))
    directions = np.zeros((P, 2, d))
    exact = np.ones((P, 2), dtype=bool)
    rest = ~inside & (norms > 0)[:, None]
    for k, s in enumerate(SIGNS):
        cone = inside[:, k] & (norms > 0)
        values[cone, k] = norms[cone]
        directions[cone, k] = s * G[cone] / norms[cone, None]
    if screen is not None:
        bounded = rest & (norms <= screen)[:, None]
        values[bounded] = np.broadcast_to(norms[:, None], values.shape)[bounded]
        exact[bounded] = False
        rest &= ~bounded
    todo = np.argwhere(rest)
    n_first = 0
    if stop_after is not None:
        priority = first[todo[:, 0], todo[:, 1]] if first is not None else np.zeros(len(todo), dtype=bool)
        todo = todo[np.lexsort((-norms[todo[:, 0]], ~priority))]
        n_first = int(priority.sum())
        others = ~first if first is not None else np.ones(values.shape, dtype=bool)
        found = int((values[others] > stop_after[1]).sum())
    for start in range(0, len(todo), CHUNK):
        if stop_after is not None and start >= n_first and found >= stop_after[0]:
            left = todo[start:]
            values[left[:, 0], left[:, 1]] = norms[left[:, 0]]
            exact[left[:, 0], left[:, 1]] = False
            break
        chunk = todo[start:start + CHUNK]
        proj = _project_blocks(X, D, facets, G, chunk)
        size = np.linalg.norm(proj, axis=1)
        values[chunk[:, 0], chunk[:, 1]] = size
        directions[chunk[:, 0], chunk[:, 1]] = proj / np.where(size > 0, size, 1.0)[:, None]
        if stop_after is not None:
            counted = np.arange(start, start + len(chunk)) >= n_first
            found += int(np.sum(counted & (size > stop_after[1])))
    return DualValues(values=values, directions=directions, exact=exact)


@dataclass(frozen=True)
class ActiveSet:
    """The (pattern, sign) blocks whose dual value equals the bound, with a clear margin."""

    blocks: list[tuple[int, int]]  # (pattern index, sign)
    max_active_deviation: float  # max |value - bound| over active blocks (relative to bound)
    margin: float  # (bound - largest inactive value) / bound; 1.0 when every block is active
    max_value: float  # largest value over all blocks


MARGIN_FLOOR = 1e-9  # relative; no margin below this is ever trusted (double precision ~1e-16)


def active_set(dv: DualValues, bound: float, active_tol: float, margin_tol: float,
               margin_ratio: float = 1e3) -> ActiveSet:
    """Split blocks into active (|v - bound| <= active_tol * bound) and inactive ones.

    The split is clear when the margin (bound - largest inactive value) / bound is at least
    ``margin_tol``, or at least ``margin_ratio`` times the largest deviation of an active value
    from the bound (and above MARGIN_FLOOR): near-ties that the solve resolves by orders of
    magnitude are accepted, and the ratio is reported. Otherwise :class:`CertificateError`: the
    active set, and everything computed from it, would be a guess. No active block at all means
    the zero network is optimal (every value clearly below the bound).
    """
    rel = dv.values / bound
    active = np.abs(rel - 1.0) <= active_tol
    inactive_max = float(rel[~active].max()) if (~active).any() else 0.0
    margin = 1.0 - inactive_max
    deviation = float(np.abs(rel[active] - 1.0).max()) if active.any() else 0.0
    clear = margin >= margin_tol or (margin >= MARGIN_FLOOR and margin >= margin_ratio * deviation)
    if not clear:
        raise CertificateError(
            f"unclear active set: an inactive dual value is within {margin:.2e} (relative) of beta while active "
            f"values deviate by up to {deviation:.1e} (need tol.margin={margin_tol:g} or {margin_ratio:g}x the "
            "deviation); tighten tol.solver or report this instance"
        )
    idx = np.argwhere(active)
    blocks = [(int(i), SIGNS[int(k)]) for i, k in idx]
    return ActiveSet(blocks=blocks, max_active_deviation=deviation, margin=margin, max_value=float(rel.max()) * bound)


def dual_objective(nu: np.ndarray, y: np.ndarray, problem: str) -> float:
    """Dual objective: 1/2||y||^2 - 1/2||nu - y||^2 (regression) or nu^T y (interpolation);
    Frobenius inner products when y and nu are n x c (vector outputs)."""
    if problem == "regression":
        return float(0.5 * np.vdot(y, y) - 0.5 * np.vdot(nu - y, nu - y))
    return float(np.vdot(nu, y))


def feasible_scaling(nu: np.ndarray, max_value: float, bound: float) -> np.ndarray:
    """Scale nu into the dual feasible set (the constraint is positively homogeneous in nu)."""
    return nu if max_value <= bound else nu * (bound / max_value)
