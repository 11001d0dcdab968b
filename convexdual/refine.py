"""Step 5b: the dual optimum of (C) to machine precision (regression), when the interior-point
solution is not accurate enough to split active from inactive blocks.

The dual optimum is the projection nu* = argmin ||nu - y|| over {nu : every block's value <= beta}.

1. Cuts. Every unit u with output sign s gives a valid linear constraint s nu^T (X u)_+ <= beta.
   Project y onto the cuts exactly (a least-distance program, one NNLS), add the maximizers of the
   blocks that the new nu violates, repeat. Maximizers on an edge of a cell (d - 1 tight rows) are
   exact; the others are only approximated, and the projection then lands between cuts, with nu
   off by about the square root of the dual violation.
2. Faces. Near nu*, each near-active block's value is ||M^T nu|| with M = s D X Q, Q spanning the
   face of its cone that holds the maximizer (the whole space, a facet's plane or an edge's ray).
   The faces held are those of the cuts with a positive multiplier in the last projection (the
   active set of the polyhedral approximation; a face merely near beta may be inactive at nu*, and
   holding it would make the system inconsistent). With them held at equality, the KKT system of
   the projection,
       nu - y + sum_k mu_k M_k M_k^T nu = 0,   (||M_k^T nu||^2 - beta^2) / 2 = 0,
   is smooth; Gauss-Newton steps (least squares: the mu_k are not unique when the optimal polytope
   has dimension > 0; rows scaled by 1 / max|y| and 1 / beta^2 so both parts are relative)
   converge to the exact nu*, which the caller certifies on every block. Faces of blocks that a
   Newton point violates join the held ones for the next round.

See docs/theory.md §3.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.optimize import nnls

from .dual import SIGNS, Cones, DualValues, dual_values
from .errors import SolverError
from .program import ConvexSolution
from .solvers import SolveStats, in_solver

log = logging.getLogger("convexdual")

CUT_ROUNDS = 40
CUT_TARGETS = (1e-9, 1e-12)  # relative dual violations at which the cut rounds hand over to Newton
NEWTON_TARGET = 1e-12  # relative dual violation after which no further cuts are tried
FACE_BAND = 1e-9  # blocks this close to beta (relative) after the cuts are held active in the Newton steps
TIGHT = 1e-9  # a row x_j is tight at u when |x_j^T u| <= TIGHT ||x_j||
NEWTON_STEPS = 25
NEWTON_RCOND = 1e-15  # relative singular-value cut of the least-squares Newton steps (a larger cut can
#   stall them short of round-off; the result is checked on every block)
FACE_ROUNDS = 3


LDP_VIOLATION = 1e-10  # relative to max b: a projection violating a row by more is redone by row generation
LDP_ROUNDS = 50


def project_polyhedron(y: np.ndarray, A: np.ndarray, b: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """nu = argmin ||nu - y|| s.t. A nu <= b (b > 0, one value or one per row, so nu = 0 is
    feasible), and lam >= 0 with y - nu = A^T lam: one least-distance program over every row
    (:func:`_ldp`). Over thousands of nearly dependent rows its NNLS can stop at a wrong point (at
    n = 400, d = 3 it returned points violating the cuts by up to 8e-2, relative); then the
    projection is redone by :func:`project_by_rows` from the rows it held active."""
    b = np.broadcast_to(np.asarray(b, dtype=float), len(A))
    nu, lam = _ldp(y, A, b)
    worst = float(np.max(A @ nu - b, initial=0.0))
    if worst <= LDP_VIOLATION * float(np.max(b, initial=0.0)):
        return nu, lam
    log.info("projection onto %d cuts: the NNLS point violates them by %.1e (relative); by row generation",
             len(A), worst / np.max(b))
    return project_by_rows(y, A, b, np.flatnonzero(lam > 0))


def project_warm(y: np.ndarray, A: np.ndarray, b: float | np.ndarray, rows: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`project_polyhedron` warm-started from ``rows``, a guess of its active rows (those of
    the previous projection, when cuts are added round after round): row generation from them
    (:func:`project_by_rows`), each NNLS near the size of the active set instead of every row; the
    full projection when there is no guess or the row generation does not settle."""
    b = np.broadcast_to(np.asarray(b, dtype=float), len(A))
    if not len(rows):
        return project_polyhedron(y, A, b)
    try:
        return project_by_rows(y, A, b, rows)
    except SolverError:
        return project_polyhedron(y, A, b)


def project_by_rows(y: np.ndarray, A: np.ndarray, b: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The projection of :func:`project_polyhedron` by row generation: project onto ``rows`` alone,
    add the rows the result violates by more than LDP_VIOLATION (at most len(y) a round, most
    violated first), repeat. A projection onto fewer rows that satisfies all of them is the
    projection onto all of them; the programs stay near the size of the active set."""
    level = LDP_VIOLATION * float(np.max(b, initial=0.0))
    rows = np.unique(rows)
    nu, lam_rows = _ldp(y, A[rows], b[rows]) if len(rows) else (y.copy(), np.zeros(0))
    for _ in range(LDP_ROUNDS):
        viol = A @ nu - b
        new = np.setdiff1d(np.flatnonzero(viol > level), rows)
        if not len(new):  # what is left is round-off of the rows already held
            lam = np.zeros(len(A))
            lam[rows] = lam_rows
            return nu, lam
        rows = np.union1d(rows, new[np.argsort(-viol[new])][:len(y)])
        nu, lam_rows = _ldp(y, A[rows], b[rows])
    raise SolverError(f"the projection onto {len(A)} cuts did not settle in {LDP_ROUNDS} rounds")


def _ldp(y: np.ndarray, A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The projection of y onto {nu : A nu <= b} and its multipliers: the least-distance program
    min ||w|| s.t. -A w >= A y - b (w = nu - y) solved exactly by one NNLS (Lawson & Hanson,
    ch. 23); nu is then re-projected onto the affine set {a_k^T nu = b_k : lam_k > 0} (the active
    rows; least squares), which removes the NNLS round-off from nu."""
    E = np.vstack([-A.T, (A @ y - b)[None, :]])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    u = _nnls(E, f)
    r = E @ u - f
    lam = u / -r[-1]
    used = lam > 0
    with in_solver("lstsq"):
        nu = y + np.linalg.lstsq(A[used], b[used] - A[used] @ y, rcond=1e-13)[0]
    return nu, lam


def _nnls(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """argmin_{x >= 0} ||A x - b|| (Lawson-Hanson); a SolverError if it runs out of iterations."""
    try:
        with in_solver("nnls"):
            x: np.ndarray = nnls(A, b, maxiter=50 * A.shape[1] + 100)[0]
            return x
    except RuntimeError as exc:  # scipy: "Maximum number of iterations reached."
        raise SolverError(f"NNLS with {A.shape[1]} columns stopped ({exc})") from exc


def block_cuts(X: np.ndarray, values: DualValues, blocks: np.ndarray) -> np.ndarray:
    """The cut rows s (X u)_+ of the maximizers u of blocks (rows (i, k) of the values)."""
    signs = np.array(SIGNS)[blocks[:, 1], None]
    cuts: np.ndarray = signs * np.maximum(values.directions[blocks[:, 0], blocks[:, 1]] @ X.T, 0.0)
    return cuts


def add_cuts(A: np.ndarray, X: np.ndarray, values: DualValues, blocks: np.ndarray) -> np.ndarray:
    """The cut rows A with those of ``blocks`` added, without repeats (rows equal to 14 decimals),
    in the order first seen."""
    return distinct_rows(np.vstack([A, block_cuts(X, values, blocks)]))[0]


def distinct_rows(rows: np.ndarray, settled: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows (equal to 14 decimals) in the order first seen, and their indices. The
    first ``settled`` rows are already distinct and rounded (a previous answer): kept as they are,
    only the rows after them are rounded and compared."""
    tail = np.ascontiguousarray(rows[settled:].round(14)) + 0.0  # -0.0 -> 0.0
    seen = {np.ascontiguousarray(row).tobytes(): i for i, row in enumerate(rows[:settled])}
    fresh = []
    for i, row in enumerate(tail):  # (hashing each row's bytes: no sort of the rows)
        if seen.setdefault(row.tobytes(), settled + i) == settled + i:
            fresh.append(i)
    first = np.concatenate([np.arange(settled), settled + np.array(fresh, dtype=int)])
    return np.vstack([rows[:settled], tail[fresh]]), first


@dataclass
class Cuts:
    """Cut rows s (X u)_+ with the maximizer (unit direction u, output sign s) each was made from."""

    rows: np.ndarray
    directions: np.ndarray
    signs: np.ndarray

    @staticmethod
    def empty(X: np.ndarray) -> "Cuts":
        return Cuts(np.zeros((0, X.shape[0])), np.zeros((0, X.shape[1])), np.zeros(0))

    def kept(self, rows: np.ndarray) -> "Cuts":
        """The cuts ``rows`` (a mask or indices), in order."""
        return Cuts(self.rows[rows], self.directions[rows], self.signs[rows])

    def joined(self, X: np.ndarray, directions: np.ndarray, signs: np.ndarray) -> "Cuts":
        """These cuts and those of unit ``directions`` with ``signs``, without repeats (the old
        ones keep their places: their active rows warm-start the next projection)."""
        new = signs[:, None] * np.maximum(directions @ X.T, 0.0)
        rows, first = distinct_rows(np.vstack([self.rows, new]), settled=len(self.rows))
        dirs = np.vstack([self.directions, directions])
        return Cuts(rows, dirs[first], np.concatenate([self.signs, signs])[first])

    def grown(self, X: np.ndarray, values: DualValues, blocks: np.ndarray) -> "Cuts":
        """These cuts and those of ``blocks`` (rows (i, k) of the values)."""
        return self.joined(X, values.directions[blocks[:, 0], blocks[:, 1]], np.array(SIGNS)[blocks[:, 1]])


def refine_dual(X: np.ndarray, y: np.ndarray, D: np.ndarray, facets: np.ndarray | Cones | None, values: DualValues,
                beta: float, screen: float, faces: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[ConvexSolution, DualValues]:
    """Cuts, then Newton steps on the faces (module docstring), from the dual values at an
    approximate nu. ``faces`` (unit directions, signs: the cuts with a positive multiplier of the
    projection that gave this nu) are tried first, Newton straight from this nu; the cut rounds
    follow only if that does not converge. Returns the nu of smallest dual violation as a
    solution (U, V empty; its objective is that of the network fitted to y - nu on the
    held-active features) and the exact dual values there."""
    start = time.perf_counter()
    nu, done = cast(np.ndarray, values.nu), False  # (dual_values sets nu)
    if faces is not None:
        nu, values = _newton_rounds(X, y, D, facets, nu, values, face_maps(X, *faces), beta, screen)
        done = values.max_value <= beta * (1 + NEWTON_TARGET)
    for target in CUT_TARGETS:  # Newton needs the right faces: cut further only when it did not converge
        if done:
            break
        nu, values, held = _cut_rounds(X, y, D, facets, values, beta, screen, target)
        nu, values = _newton_rounds(X, y, D, facets, nu, values, held, beta, screen)
        done = values.max_value <= beta * (1 + NEWTON_TARGET)
    objective = _fit_objective(_held_active(X, values, beta), y, beta, nu)
    stats = SolveStats(name="cuts+newton", status="optimal", time_s=time.perf_counter() - start, iterations=None,
                       accuracy="high", tolerance=NEWTON_TARGET)
    d = X.shape[1]
    solution = ConvexSolution(U=np.zeros((0, d)), V=np.zeros((0, d)), z=None, y_hat=y - nu,
                              objective=float(objective), nu=nu, stats=stats)
    return solution, values


def _newton_rounds(X: np.ndarray, y: np.ndarray, D: np.ndarray, facets: np.ndarray | Cones | None, nu: np.ndarray,
                   values: DualValues, held: list[np.ndarray], beta: float, screen: float
                   ) -> tuple[np.ndarray, DualValues]:
    """Newton steps on the ``held`` faces from nu (FACE_ROUNDS at most), the faces of blocks a
    step violates joining the next; the nu of smallest dual violation and its values."""
    for _ in range(FACE_ROUNDS):
        new_nu = newton_on_faces(held, y, beta, nu)
        new_values = dual_values(X, D, new_nu, screen=screen, facets=facets, previous=values)
        log.info("face Newton on %d faces: max dual value / bound - 1 = %.2e", len(held),
                 new_values.max_value / beta - 1)
        if new_values.max_value < values.max_value:
            nu, values = new_nu, new_values
        exact = cast(np.ndarray, new_values.exact)  # (set by dual_values)
        violated = np.argwhere(exact & (new_values.values > beta * (1 + NEWTON_TARGET)))
        if values.max_value <= beta * (1 + NEWTON_TARGET) or not len(violated):
            break
        held = held + face_maps(X, new_values.directions[violated[:, 0], violated[:, 1]],
                                np.array(SIGNS)[violated[:, 1]])
    return nu, values


def refine_interpolation(X: np.ndarray, y: np.ndarray, values: DualValues, blocks: list[tuple[int, int]]
                         ) -> np.ndarray:
    """Interpolation (no skip): Newton on the faces of the active ``blocks`` (pattern index, sign)
    from the solver's nu: every active value ||M_k^T nu|| = 1 and y = sum_k mu_k M_k M_k^T nu. The
    maximizers inside a cell, read off nu, are then exact to round-off, not to the solver's
    tolerance. The caller keeps the new nu only if the dual check over every block accepts it."""
    idx = np.array([(i, SIGNS.index(s)) for i, s in blocks], dtype=int).reshape(-1, 2)
    M = face_maps(X, values.directions[idx[:, 0], idx[:, 1]], np.array(SIGNS)[idx[:, 1]])
    nu = cast(np.ndarray, values.nu)  # set by dual_values
    return newton_on_faces(M, y, 1.0, nu, interpolation=True)


def _held_active(X: np.ndarray, values: DualValues, beta: float) -> list[np.ndarray]:
    """The face maps of the blocks within FACE_BAND of beta."""
    exact = cast(np.ndarray, values.exact)  # set by dual_values
    near = np.argwhere(exact & (values.values >= beta * (1 - FACE_BAND)))
    return face_maps(X, values.directions[near[:, 0], near[:, 1]], np.array(SIGNS)[near[:, 1]])


def _cut_rounds(X: np.ndarray, y: np.ndarray, D: np.ndarray, facets: np.ndarray | Cones | None, values: DualValues,
                beta: float, screen: float, target: float) -> tuple[np.ndarray, DualValues, list[np.ndarray]]:
    """Step 1 of the module docstring, from the maximizers of the blocks at or above ``screen``,
    until the relative dual violation is at most ``target`` or no cut is new; returns the nu of
    smallest dual violation, its values, and the face maps of its cuts with a positive multiplier."""
    pick = np.argwhere(cast(np.ndarray, values.exact) & (values.values >= screen))  # exact: set by dual_values
    cuts = Cuts.empty(X)
    best: tuple[np.ndarray, DualValues, list[np.ndarray]] | None = None
    lam = np.zeros(0)
    for rnd in range(CUT_ROUNDS):
        grown = cuts.grown(X, values, pick)
        if len(grown.rows) == len(cuts.rows):
            break  # no new cut: what is left is below what cuts resolve
        cuts = grown  # (the old cuts keep their places: the last active rows are a warm start)
        nu, lam = project_warm(y, cuts.rows, beta, np.flatnonzero(lam > 0))
        values = dual_values(X, D, nu, screen=screen, facets=facets, previous=values)
        log.info("cut round %d: %d cuts, max dual value / bound - 1 = %.2e", rnd, len(cuts.rows),
                 values.max_value / beta - 1)
        if best is None or values.max_value < best[1].max_value:
            on = lam > 0
            best = (nu, values, face_maps(X, cuts.directions[on], cuts.signs[on]))
        if values.max_value <= beta * (1 + target):
            break
        pick = np.argwhere(cast(np.ndarray, values.exact) & (values.values > beta))
    if best is None:
        raise SolverError("the cut refinement found no near-active block to start from")
    return best


def face_maps(X: np.ndarray, U: np.ndarray, S: np.ndarray) -> list[np.ndarray]:
    """For unit maximizers U (K, d) with signs S: M = s diag(1[X u > 0]) X Q (n, r), Q an orthonormal
    basis of the face holding u (rows tight at u removed; a ray's Q points along u), so that the
    block's value near this nu is ||M^T nu||. Equal (sign, direction) pairs give one map."""
    from .linalg import null_basis

    scale = np.linalg.norm(X, axis=1)
    seen: set[tuple[float, ...]] = set()
    maps = []
    for u, s in zip(U, S):
        key = (int(s), *np.round(u, 9))
        if key in seen:
            continue
        seen.add(key)
        t = X @ u
        tight = np.abs(t) <= TIGHT * scale
        Q = null_basis(X[tight])
        if Q.shape[1] == 0:
            continue  # d independent rows within TIGHT of a unit u: no face to hold it on
        if Q.shape[1] == 1 and Q[:, 0] @ u < 0:
            Q = -Q
        maps.append(s * ((t > 0) & ~tight)[:, None] * (X @ Q))
    return maps


def newton_on_faces(M: list[np.ndarray], y: np.ndarray, beta: float, nu: np.ndarray,
                    interpolation: bool = False) -> np.ndarray:
    """Gauss-Newton on the KKT system of the module docstring (every constraint held active), from
    nu and the multipliers of the NNLS fit of y - nu; stops when the residual stops halving. With
    ``interpolation`` (beta = 1) the fit is exact: H(nu) mu = y instead of nu - y + H(nu) mu = 0, so
    the Jacobian loses its identity block."""
    n = len(y)
    if not M:
        return nu
    H = _face_columns(M, nu)
    mu = _nnls(H, y if interpolation else y - nu)
    cat, widths = np.hstack(M), [m.shape[1] for m in M]  # sum_k mu_k M_k M_k^T = cat diag(mu per column) cat^T
    ridge = 0.0 if interpolation else 1.0
    fit, held = 1.0 / max(float(np.abs(y).max()), np.finfo(float).tiny), 1.0 / beta ** 2  # row scales
    best, prev = nu, np.inf
    for _ in range(NEWTON_STEPS):
        H = _face_columns(M, nu)
        F = np.concatenate([fit * (ridge * nu - y + H @ mu), held * 0.5 * (H.T @ nu - beta ** 2)])
        err = float(np.abs(F).max())
        if err >= 0.5 * prev:
            break
        best, prev = nu, err
        J = np.block([[fit * (ridge * np.eye(n) + (cat * np.repeat(mu, widths)) @ cat.T), fit * H],
                      [held * H.T, np.zeros((len(M), len(M)))]])
        step = np.linalg.lstsq(J, -F, rcond=NEWTON_RCOND)[0]
        nu, mu = nu + step[:n], mu + step[n:]
    return best


def _face_columns(M: list[np.ndarray], nu: np.ndarray) -> np.ndarray:
    """(n, K): column k is M_k M_k^T nu, the k-th held block's feature scaled by its value."""
    return np.column_stack([m @ (m.T @ nu) for m in M])


def _fit_objective(M: list[np.ndarray], y: np.ndarray, beta: float, nu: np.ndarray) -> float:
    """Objective of the network fitted to y - nu on the features of M (NNLS): each column
    h_k = M_k M_k^T nu is ||M_k^T nu|| times a unit neuron's feature, so the penalty is
    beta sum_k mu_k ||M_k^T nu||."""
    if not M:
        return 0.5 * float(y @ y)  # the zero network
    H = _face_columns(M, nu)
    mu = _nnls(H, y - nu)
    r = y - H @ mu
    return 0.5 * float(r @ r) + beta * float(sum(w * np.linalg.norm(m.T @ nu) for w, m in zip(mu, M)))
