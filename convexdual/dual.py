"""Step 5: the dual. Dual constraint values over every (pattern, sign), optimal directions, active set.

For a dual point nu, pattern D_i and sign s, let g = s X^T D_i nu and K_i = {u : (2 D_i - I) X u >= 0}.
Then max {g^T u : u in K_i, ||u|| <= 1} = ||Proj_{K_i}(g)||, attained at u = Proj(g) / ||Proj(g)||.
With A = (2 D_i - I) X the polar cone is {-A^T lam : lam >= 0}, so Proj(g) = g + A^T lam with
lam = argmin_{lam >= 0} ||g + A^T lam|| (a nonnegative least-squares problem, solved exactly by an
active-set method). nu is dual feasible iff every value is <= beta (beta = 1 for interpolation).
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
    projection is g itself (no NNLS); otherwise one NNLS per block, over the cell's facet rows
    only when ``facets`` (see :func:`patterns.cell_facets`) is given (the same cone).

    ``stop_after = (k, level)``: project in decreasing order of the bound and stop once k exact
    values of blocks outside ``first`` ((P, 2) bool; those are always evaluated exactly) exceed
    ``level``; the blocks left keep their bound (``exact`` False). Fewer than k such values means
    every block was evaluated, so "none above level" is still exact."""
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
    found = int((values[others] > stop_after[1]).sum()) if stop_after is not None else 0
    for j, (i, k) in enumerate(todo):
        if stop_after is not None and j >= n_first and found >= stop_after[0]:
            left = todo[j:]
            values[left[:, 0], left[:, 1]] = norms[left[:, 0]]
            exact[left[:, 0], left[:, 1]] = False
            break
        rows = facets[:, i] if facets is not None else slice(None)
        A = (2.0 * D[rows, i] - 1.0)[:, None] * X[rows]
        proj = cone_projection(SIGNS[k] * G[i], A)
        norm = float(np.linalg.norm(proj))
        values[i, k] = norm
        if norm > 0:
            directions[i, k] = proj / norm
        found += stop_after is not None and j >= n_first and norm > stop_after[1]
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
