"""Step 5: the dual. Dual constraint values over every (pattern, sign), optimal directions, active set.

For a dual point nu, pattern D_i and sign s, let g = s X^T D_i nu and K_i = {u : (2 D_i - I) X u >= 0}.
Then max {g^T u : u in K_i, ||u|| <= 1} = ||Proj_{K_i}(g)||, attained at u = Proj(g) / ||Proj(g)||.
With A = (2 D_i - I) X the polar cone is {-A^T lam : lam >= 0}, so Proj(g) = g + A^T lam with
lam = argmin_{lam >= 0} ||g + A^T lam|| (a nonnegative least-squares problem, solved exactly by an
active-set method, compiled: :mod:`oracle_kernels`). nu is dual feasible iff every value is <= beta
(beta = 1 for interpolation).

In d <= 3 with cones given by their facet rows, the projections of many blocks are computed at once
in closed form (:class:`Cones`, prepared once per pattern set); upper bounds carried from an
earlier dual point spare the projections of blocks that cannot be near beta (:func:`dual_values`).

See docs/theory.md §3 (the dual) and §8 (the active-set margin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from .errors import CertificateError
from .problems import Problem, get_problem
from .solvers import in_solver

SIGNS = (1, -1)  # column k of DualValues.values holds sign SIGNS[k]


def sign_column(sign: int) -> int:
    """The column of DualValues for a block's sign (the inverse of SIGNS[k])."""
    return SIGNS.index(sign)


def cone_projection(g: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Euclidean projection of g onto the polyhedral cone {u : A u >= 0}."""
    if np.all(A @ g >= 0):
        return g.copy()
    with in_solver("nnls"):
        lam, _ = nnls(A.T, -g, maxiter=50 * A.shape[0] + 100)
    projection: np.ndarray = g + A.T @ lam
    return projection


NNLS_TOL = 1e-12  # relative optimality tolerance of the compiled NNLS of one cone projection
FEASIBLE_TOL = 1e-12  # a candidate is in the cone when a_k^T p >= -FEASIBLE_TOL ||a_k|| ||p|| for every row
CHUNK = 2048  # blocks projected per batch


def _project_blocks(X: np.ndarray, D: np.ndarray, facets: "np.ndarray | Cones | None", G: np.ndarray,
                    blocks: np.ndarray) -> np.ndarray:
    """Proj_{K_i}(s X^T D_i nu) for blocks (i, k) (rows of ``blocks``; G[i] = X^T D_i nu): in closed
    form from prepared :class:`Cones` (d <= 3), else one NNLS per block (over the facet rows when
    given)."""
    i, k = blocks[:, 0], blocks[:, 1]
    if isinstance(facets, Cones):
        return facets.project(i, np.array(SIGNS)[k][:, None] * G[i])
    from .oracle_kernels import project_cells

    rows = facets if facets is not None else np.zeros((0, 0), dtype=bool)  # (empty: every row)
    signs = np.array(SIGNS, dtype=float)[k]
    with in_solver("nnls"):
        projections: np.ndarray = project_cells(np.ascontiguousarray(X, dtype=float), D, rows, np.ascontiguousarray(G),
                                                i, signs, NNLS_TOL)
        return projections


@dataclass(frozen=True)
class ConeGroup:
    """The cells with m facet rows: their unit facet normals and unit edge rays (d = 3)."""

    cells: np.ndarray  # (B,) cell indices
    normals: np.ndarray  # (B, m, d): unit a_j with K_i = {u : a_j^T u >= 0 for all j}
    rays: np.ndarray  # (B, r, d), r >= 1: unit edge directions of K_i (zero rows pad)


DT_MAX_ENTRIES = 10**8  # a float copy of D (8 bytes an entry) is kept up to this size; larger D is cast in chunks


@dataclass(frozen=True)
class Cones:
    """Every cell's cone K_i = {u : (2 D_i - I) X u >= 0} by its facet rows (d <= 3), prepared once
    for the many dual checks of one solve. The projection of g onto K_i lies in the relative
    interior of one face (K_i itself, a facet, an edge or the apex), so it is among g, its
    projections onto the facet planes, (e^T g)_+ e for the edge rays e (d = 3; in K_i by
    construction) and 0. Each is the orthogonal projection of g onto a subspace or ray, so
    ||g - c||^2 = ||g||^2 - ||c||^2: the projection is the feasible candidate of largest norm."""

    groups: list[ConeGroup]
    group_of: np.ndarray  # (P,) index into groups
    slot: np.ndarray  # (P,) position of the cell in its group
    Dt: np.ndarray | None  # (P, n) float copy of D^T, or None when larger than DT_MAX_ENTRIES

    def block_sums(self, D: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """Rows D_i^T Z for every cell i (Z: (n, d)), i.e. X^T D_i nu for Z = nu * X."""
        if self.Dt is not None:
            sums: np.ndarray = self.Dt @ Z
            return sums
        return np.vstack([D[:, s:s + CHUNK * 16].T.astype(float) @ Z for s in range(0, D.shape[1], CHUNK * 16)])

    def inside(self, G: np.ndarray) -> np.ndarray:
        """(P, 2) bool: s G[i] lies in K_i, for s = +1 (column 0) and -1 (column 1)."""
        out = np.zeros((len(G), 2), dtype=bool)
        for grp in self.groups:
            slack = np.einsum("bmd,bd->bm", grp.normals, G[grp.cells])
            out[grp.cells, 0] = np.all(slack >= 0, axis=1)
            out[grp.cells, 1] = np.all(slack <= 0, axis=1)
        return out

    def project(self, cells: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Proj_{K_cells[b]}(g[b]) for every b."""
        out = np.zeros_like(g)
        which = self.group_of[cells]
        for gi in np.unique(which):
            sel = np.flatnonzero(which == gi)
            grp = self.groups[gi]
            at = self.slot[cells[sel]]
            out[sel] = _best_candidate(g[sel], grp.normals[at], grp.rays[at])
        return out


def _best_candidate(g: np.ndarray, N: np.ndarray, R: np.ndarray) -> np.ndarray:
    """The feasible candidate of largest norm (see :class:`Cones`); N unit normals, R unit rays."""
    B = len(g)
    facet = g[:, None, :] - np.einsum("bmd,bd->bm", N, g)[:, :, None] * N  # (B, m, d)
    cands = np.concatenate([g[:, None, :], facet], axis=1)
    size = np.linalg.norm(cands, axis=2)
    ok = np.all(np.einsum("bmd,bkd->bkm", N, cands) >= -FEASIBLE_TOL * size[:, :, None], axis=2)
    score = np.where(ok, size, -1.0)
    ray = np.maximum(np.einsum("brd,bd->br", R, g), 0.0)  # feasible; ||(e^T g)_+ e|| = (e^T g)_+
    best_f, best_r = np.argmax(score, axis=1), np.argmax(ray, axis=1)
    f_size, r_size = score[np.arange(B), best_f], ray[np.arange(B), best_r]
    out: np.ndarray = np.where((f_size >= r_size)[:, None], cands[np.arange(B), best_f],
                               r_size[:, None] * R[np.arange(B), best_r])
    out[np.maximum(f_size, r_size) <= 0] = 0.0
    return out


def cell_cones(X: np.ndarray, D: np.ndarray, facets: np.ndarray) -> Cones:
    """Prepare :class:`Cones` from the facet rows of every cell (:func:`patterns.cell_facets`); d <= 3."""
    n, P = D.shape
    d = X.shape[1]
    if d > 3:
        raise ValueError("cell_cones handles d <= 3")
    counts = facets.sum(axis=0)
    groups: list[ConeGroup] = []
    group_of = np.zeros(P, dtype=int)
    slot = np.zeros(P, dtype=int)
    for m in np.unique(counts):
        cells = np.flatnonzero(counts == m)
        row: np.ndarray
        _, row = np.nonzero(facets[:, cells].T)
        row = row.reshape(len(cells), m)
        A = (2.0 * D[row, cells[:, None]] - 1.0)[:, :, None] * X[row]
        N = A / np.linalg.norm(A, axis=2, keepdims=True)
        group_of[cells], slot[cells] = len(groups), np.arange(len(cells))
        groups.append(ConeGroup(cells=cells, normals=N, rays=_edge_rays(N)))
    Dt = np.ascontiguousarray(D.T, dtype=float) if n * P <= DT_MAX_ENTRIES else None
    return Cones(groups=groups, group_of=group_of, slot=slot, Dt=Dt)


def prepared_cones(X: np.ndarray, D: np.ndarray, facets: np.ndarray | None) -> Cones | None:
    """:func:`cell_cones` when the facet rows are known and d <= 3 (closed-form projections), else None."""
    return cell_cones(X, D, facets) if facets is not None and X.shape[1] <= 3 else None


def _edge_rays(N: np.ndarray) -> np.ndarray:
    """Unit edge rays +-(a_j x a_k) of each cone that lie in it (B, r, d), r >= 1, zero rows padding."""
    B, m, d = N.shape
    if d != 3 or m < 2:
        return np.zeros((B, 1, d))  # no edges: one zero ray (its candidate is the apex, 0)
    j, k = np.triu_indices(m, 1)
    e = np.cross(N[:, j], N[:, k])
    norm = np.linalg.norm(e, axis=2, keepdims=True)
    e = np.concatenate([e, -e], axis=1) / np.concatenate([norm, norm], axis=1).clip(min=1e-300)
    ok = np.all(np.einsum("bmd,bkd->bkm", N, e) >= -FEASIBLE_TOL, axis=2) & (np.concatenate([norm, norm], axis=1)[:, :, 0] > 0)
    r = max(int(ok.sum(axis=1).max()), 1)
    out = np.zeros((B, r, d))
    order = np.argsort(~ok, axis=1, kind="stable")[:, :r]  # the feasible rays first
    out[:] = np.take_along_axis(e, order[:, :, None], axis=1) * np.take_along_axis(ok, order, axis=1)[:, :, None]
    return out


@dataclass(frozen=True)
class DualValues:
    """values[i, k] = max over unit u in K_i of sign_k * nu^T D_i X u, and its maximizer.

    With screening, a block whose upper bound (||X^T D_i nu||, or the bound carried from an earlier
    nu, see :func:`dual_values`) is at most the screening level keeps that bound as its value
    (``exact`` False, direction zero): its true value is no larger."""

    values: np.ndarray  # (P, 2): column 0 for sign +1, column 1 for sign -1
    directions: np.ndarray  # (P, 2, d) unit maximizers (zero where the value is 0 or only bounded)
    exact: np.ndarray | None = None  # (P, 2) False where the value is the screening bound
    nu: np.ndarray | None = None  # the dual point they were evaluated at

    @property
    def max_value(self) -> float:
        return float(self.values.max()) if self.values.size else 0.0


BOUND_SLACK = 1e-12  # relative round-off allowance added to carried bounds


def dual_values(X: np.ndarray, D: np.ndarray, nu: np.ndarray, screen: float | None = None,
                facets: np.ndarray | Cones | None = None, stop_after: tuple[int, float] | None = None,
                first: np.ndarray | None = None, previous: DualValues | None = None) -> DualValues:
    """Evaluate the dual constraint of every (pattern, sign) block: exactly, except blocks whose
    upper bound is <= ``screen`` (then the bound). When s g already lies in K_i the projection is
    g itself; otherwise, with ``facets`` (:class:`Cones`, or the facet rows of
    :func:`patterns.cell_facets`, prepared here) and d <= 3, closed-form projections, else one
    NNLS per block (over the facet rows when given).

    Upper bounds: ||X^T D_i nu||, and with ``previous`` (values at another dual point nu'),
    value(nu') + ||X^T D_i (nu - nu')|| (a projection onto a convex set is 1-Lipschitz, and a
    bounded value of ``previous`` is itself an upper bound); the smaller is used.

    ``stop_after = (k, level)``: project in decreasing order of the bound, CHUNK blocks at a time,
    and stop after the chunk in which k exact values of blocks outside ``first`` ((P, 2) bool;
    those are always evaluated exactly) exceed ``level``; the blocks left keep their bound
    (``exact`` False). Fewer than k such values means every block was evaluated, so "none above
    level" is still exact."""
    P, d = D.shape[1], X.shape[1]
    cones = facets if isinstance(facets, Cones) else prepared_cones(X, D, facets)
    facets = cones if cones is not None else facets
    previous_nu = previous.nu if previous is not None else None
    W = np.stack([nu, nu - previous_nu], axis=1) if previous_nu is not None else nu[:, None]  # one pass over D for both
    Z = (W[:, :, None] * X[:, None, :]).reshape(len(nu), -1)
    sums = cones.block_sums(D, Z) if cones is not None else D.T @ Z
    G = sums[:, :d]  # row i: X^T D_i nu
    norms = np.linalg.norm(G, axis=1)
    upper = np.repeat(norms[:, None], 2, axis=1)
    if previous is not None and previous_nu is not None:
        step = np.linalg.norm(sums[:, d:], axis=1)  # ||X^T D_i (nu - nu')||
        upper = np.minimum(upper, previous.values + (step + BOUND_SLACK * (norms + 1.0))[:, None])
    if cones is not None:
        inside = cones.inside(G)
    else:
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
        bounded = rest & (upper <= screen)
        values[bounded] = upper[bounded]
        exact[bounded] = False
        rest &= ~bounded
    todo = np.argwhere(rest)
    n_first = 0
    if stop_after is not None:
        priority = first[todo[:, 0], todo[:, 1]] if first is not None else np.zeros(len(todo), dtype=bool)
        todo = todo[np.lexsort((-upper[todo[:, 0], todo[:, 1]], ~priority))]
        n_first = int(priority.sum())
        others = ~first if first is not None else np.ones(values.shape, dtype=bool)
        found = int((values[others] > stop_after[1]).sum())
    for start in range(0, len(todo), CHUNK):
        if stop_after is not None and start >= n_first and found >= stop_after[0]:
            left = todo[start:]
            values[left[:, 0], left[:, 1]] = upper[left[:, 0], left[:, 1]]
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
    return DualValues(values=values, directions=directions, exact=exact, nu=nu.copy())


@dataclass(frozen=True)
class ActiveSet:
    """The (pattern, sign) blocks whose dual value equals the bound, with a clear margin."""

    blocks: list[tuple[int, int]]  # (pattern index, sign)
    max_active_deviation: float  # max |value - bound| over active blocks (relative to bound)
    margin: float  # (bound - largest inactive value) / bound; 1.0 when every block is active
    max_value: float  # largest value over all blocks


MARGIN_FLOOR = 1e-9  # relative; no margin below this is trusted from an interior-point solution
REFINED_MARGIN_FLOOR = 1e-11  # the same at a dual point refined to round-off (refine.refine_dual)


def active_set(dv: DualValues, bound: float, active_tol: float, margin_tol: float,
               margin_ratio: float = 1e3, floor: float = MARGIN_FLOOR) -> ActiveSet:
    """Split blocks into active (|v - bound| <= active_tol * bound) and inactive ones.

    The split is clear when the margin (bound - largest inactive value) / bound is at least
    ``margin_tol``, or at least ``margin_ratio`` times the largest deviation of an active value
    from the bound (and above ``floor``): near-ties that the solve resolves by orders of
    magnitude are accepted, and the ratio is reported. Otherwise :class:`CertificateError`: the
    active set, and everything computed from it, would be a guess. No active block at all means
    the zero network is optimal (every value clearly below the bound).
    """
    rel = dv.values / bound
    active = np.abs(rel - 1.0) <= active_tol
    inactive_max = float(rel[~active].max()) if (~active).any() else 0.0
    margin = 1.0 - inactive_max
    deviation = float(np.abs(rel[active] - 1.0).max()) if active.any() else 0.0
    clear = margin >= margin_tol or (margin >= floor and margin >= margin_ratio * deviation)
    if not clear:
        raise CertificateError(
            f"unclear active set: an inactive dual value is within {margin:.2e} (relative) of beta while active "
            f"values deviate by up to {deviation:.1e} (need tol.margin={margin_tol:g} or {margin_ratio:g}x the "
            "deviation); tighten tol.solver or report this instance"
        )
    idx = np.argwhere(active)
    blocks = [(int(i), SIGNS[int(k)]) for i, k in idx]
    return ActiveSet(blocks=blocks, max_active_deviation=deviation, margin=margin, max_value=float(rel.max()) * bound)


def dual_objective(nu: np.ndarray, y: np.ndarray, problem: str | Problem) -> float:
    """Dual objective: 1/2||y||^2 - 1/2||nu - y||^2 (regression) or nu^T y (interpolation);
    Frobenius inner products when y and nu are n x c (vector outputs). :meth:`Problem.dual_objective`."""
    return get_problem(problem).dual_objective(nu, y)


def feasible_scaling(nu: np.ndarray, max_value: float, bound: float) -> np.ndarray:
    """Scale nu into the dual feasible set (the constraint is positively homogeneous in nu)."""
    return nu if max_value <= bound else nu * (bound / max_value)
