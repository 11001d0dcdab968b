"""Vector-valued outputs: the certified optimum and its optimal neurons.

Network f(X) = sum_j (X w_j)_+ a_j^T with a_j in R^c, objective
1/2 ||f(X) - Y||_F^2 + beta/2 sum_j (||w_j||^2 + ||a_j||^2). At an optimum every neuron is balanced,
so with unit directions u_j = w_j / ||w_j|| and b_j = ||w_j|| a_j the problem is the group lasso
over the dictionary of all unit directions:

    min  1/2 ||sum_u (X u)_+ b_u^T - Y||_F^2 + beta sum_u ||b_u||_2 .

Dual: max 1/2||Y||^2 - 1/2||nu - Y||^2 s.t. ||nu^T (X u)_+||_2 <= beta for every unit u, with
nu* = Y - Y_hat*. On the closed cell K_i of pattern D_i, (X u)_+ = D_i X u, so the constraint asks
for the largest value of u^T Q_i u, Q_i = X^T D_i nu nu^T D_i X, over the unit sphere in K_i. That
maximum sits in the relative interior of some face of K_i, where it is a critical point of u^T Q_i u
on the face's linear span: an eigenvector of Q_i restricted to that span. For d <= 3 the spans are
R^d (the cell), x_k^perp (its facets) and x_a^perp cap x_b^perp (its edges, d = 3), so evaluating
||nu^T (X u)_+|| at all those eigenvectors (both signs) gives the constraint's maximum EXACTLY; this
is the oracle. The solver grows a finite dictionary by the oracle's most violating directions until
no unit direction violates the constraint by more than ``tol.active`` (relative): then nu is dual
feasible up to that tolerance and the dictionary solution is optimal for the full problem.

Optimal neurons are the oracle's maximizers u_k with value beta; their output directions are fixed,
a_k = nu*^T (X u_k)_+ / beta, so the optimal set is again a polytope in coefficients c >= 0:
P* = {c >= 0 : sum_k c_k vec((X u_k)_+ a_k^T) = vec(Y_hat*)} in R^{nc}.

See docs/theory.md §7 (vector outputs, flat cells).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .dual import DualValues, active_set
from .errors import CertificateError
from .linalg import null_basis
from .patterns import cell_facets, enumerate_patterns
from .solvers import SolveStats, solve

log = logging.getLogger("convexdual")

MAX_INPUT_DIM = 3  # the enumerating oracle lists face spans up to edges: exact for d <= 3 (bias included)
MAX_ROUNDS = 200
MAX_POLISH_ROUNDS = 10
NEWTON_STEPS = 5
POLISH_TARGET = 1e-11  # relative dual violation the polish aims for (the certificate needs tol.active)


@dataclass(frozen=True)
class Oracle:
    """Candidate unit directions (rows) and their dual values ||nu^T (X u)_+||."""

    directions: np.ndarray  # (N, d)
    values: np.ndarray  # (N,)
    upper: float = 0.0  # a proven bound on every other direction's value (the search oracle)

    @property
    def max_value(self) -> float:
        return max(float(self.values.max()) if self.values.size else 0.0, self.upper)


def edge_directions(X: np.ndarray) -> np.ndarray:
    """For d = 3: the unit lines x_a^perp cap x_b^perp of all non-parallel row pairs (one sign)."""
    n, d = X.shape
    if d != 3:
        return np.zeros((0, d))
    a, b = np.triu_indices(n, 1)
    R = np.cross(X[a], X[b])
    norms = np.linalg.norm(R, axis=1)
    keep = norms > 1e-12 * np.linalg.norm(X[a], axis=1) * np.linalg.norm(X[b], axis=1)
    lines: np.ndarray = R[keep] / norms[keep, None]
    return lines


def candidate_directions(X: np.ndarray, D: np.ndarray, F: np.ndarray, nu: np.ndarray,
                         edges: np.ndarray) -> np.ndarray:
    """Every critical direction of u^T Q_i u on the face spans of every cell (see module doc)."""
    M = np.einsum("nc,np,nd->pcd", nu, D.astype(float), X)  # M_i = nu^T D_i X
    Q = np.einsum("pcd,pce->pde", M, M)
    _, vecs = np.linalg.eigh(Q)  # columns: eigenvectors of each Q_i
    parts = [vecs.transpose(0, 2, 1).reshape(-1, X.shape[1])]
    k, i = np.nonzero(F)
    if X.shape[1] >= 2 and len(k):
        rows = np.unique(k)  # rows that bound some cell: nonzero, so x^perp has dimension d - 1
        bases = np.zeros((X.shape[0], X.shape[1], X.shape[1] - 1))
        bases[rows] = np.stack([null_basis(X[r][None, :]) for r in rows])
        B = bases[k]
        QB = np.einsum("fdk,fde,fel->fkl", B, Q[i], B)
        _, e = np.linalg.eigh(QB)
        parts.append(np.einsum("fdk,fkl->fld", B, e).reshape(-1, X.shape[1]))
    parts.append(edges)
    U = np.concatenate(parts)
    U = U / np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-300)
    return np.concatenate([U, -U])


def oracle(X: np.ndarray, D: np.ndarray, F: np.ndarray, nu: np.ndarray, edges: np.ndarray) -> Oracle:
    """max over unit u of ||nu^T (X u)_+||, attained among the candidates (exact for d <= 3)."""
    U = candidate_directions(X, D, F, nu, edges)
    return Oracle(directions=U, values=direction_values(X, nu, U))


def direction_values(X: np.ndarray, nu: np.ndarray, U: np.ndarray) -> np.ndarray:
    """The dual value ||nu^T (X u)_+|| of every row u of U."""
    values: np.ndarray = np.linalg.norm(np.maximum(U @ X.T, 0.0) @ nu, axis=1)
    return values


class AskOracle(Protocol):
    """The oracle as the growth loop calls it: the enumerating one or a :class:`SearchOracle`."""

    def __call__(self, nu: np.ndarray, level: float, stop_after: int | None = None, cells: bool = False) -> Oracle:
        ...


@dataclass
class SearchOracle:
    """The dual oracle without enumeration (:func:`oracle.vector_cells_above`) under one time budget:
    called at a level, the directions found at or above it and the proven bound on all others; with
    ``cells``, every cell reaching the level with its exact maximum."""

    X: np.ndarray
    time_limit_s: float
    start: float = field(default_factory=time.perf_counter)
    nodes: int = 0
    seconds: float = 0.0
    cells_listed: int = 0

    def __call__(self, nu: np.ndarray, level: float, stop_after: int | None = None, cells: bool = False) -> Oracle:
        from .oracle import vector_cells_above

        left = max(self.time_limit_s - (time.perf_counter() - self.start), 0.0)
        res = vector_cells_above(self.X, nu, level, stop_after=stop_after, time_limit_s=left, cells=cells)
        self.nodes, self.seconds = self.nodes + res.nodes, self.seconds + res.seconds
        if not res.complete and (stop_after is None or len(res.above) < stop_after):
            raise CertificateError(f"vector outputs: the exact dual oracle ran out of oracle.time_limit_s = "
                                   f"{self.time_limit_s:g} s after {self.nodes} nodes")
        keep = np.arange(len(res.values)) if cells else res.above
        self.cells_listed = len(keep) if cells else self.cells_listed
        return Oracle(directions=res.directions[keep], values=res.values[keep], upper=res.upper)

    def as_dict(self) -> dict[str, float | int]:
        return {"nodes": self.nodes, "seconds": self.seconds, "cells_listed": self.cells_listed}


@dataclass(frozen=True)
class DictionarySolution:
    """The group lasso over a finite dictionary of unit directions."""

    directions: np.ndarray  # (K, d)
    B: np.ndarray  # (K, c) output weights (b_k = ||w_k|| a_k)
    nu: np.ndarray  # (n, c) residual Y - Y_hat
    objective: float
    stats: SolveStats


def solve_dictionary(X: np.ndarray, Y: np.ndarray, U: np.ndarray, beta: float, solver: str,
                     tol: float) -> DictionarySolution:
    """min_B 1/2 ||(X U^T)_+ B - Y||_F^2 + beta sum_k ||B_k||_2 (a group lasso; cvxpy)."""
    import cvxpy as cp

    H = np.maximum(X @ U.T, 0.0)
    B = cp.Variable((U.shape[0], Y.shape[1]))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(H @ B - Y) + beta * cp.sum(cp.norm(B, 2, axis=1))))
    stats = solve(prob, solver, tol)
    Bv = np.asarray(B.value).reshape(U.shape[0], Y.shape[1])
    return DictionarySolution(directions=U, B=Bv, nu=Y - H @ Bv, objective=float(prob.value), stats=stats)


def _distinct(U: np.ndarray, X: np.ndarray, grid: float = 1e-6) -> np.ndarray:
    """Indices of rows of U with distinct features (X u)_+ on a grid of ``grid`` (relative to the
    largest |x|), first occurrence kept."""
    H = np.maximum(U @ X.T, 0.0)
    scale = max(1.0, float(np.abs(X).max()))
    keys = np.round(H / (grid * scale)).astype(np.int64)
    _, idx = np.unique(keys, axis=0, return_index=True)
    return np.sort(idx)


@dataclass(frozen=True)
class VectorOptimum:
    """A certified optimum of the vector-output problem and its optimal neurons."""

    solution: DictionarySolution
    oracle: Oracle
    directions: np.ndarray  # (K, d) distinct optimal unit directions
    output_directions: np.ndarray  # (K, c) unit a_k = nu^T (X u_k)_+ / ||.||
    max_violation: float  # (max oracle value - beta) / beta at the final nu (the stopping tolerance's test)
    margin: float
    deviation: float
    rounds: int
    solves: list[SolveStats]
    n_cells: int  # cells enumerated, or listed by the search oracle at the end
    search: SearchOracle | None = None  # the oracle without enumeration, when it was used


def certified_vector_optimum(X: np.ndarray, Y: np.ndarray, *, beta: float, solver: str, tol: float,
                             active_tol: float, margin_tol: float, margin_ratio: float, search: bool = False,
                             time_limit_s: float = 600.0) -> VectorOptimum:
    """Grow a dictionary by the oracle until no unit direction violates the dual constraint, polish
    on the near-active atoms, and read the optimal neurons off the oracle at the final nu. The
    enumerating oracle in d <= MAX_INPUT_DIM, else (or with ``search``) the search oracle within
    ``time_limit_s``."""
    n = X.shape[0]
    ask: AskOracle
    if search or X.shape[1] > MAX_INPUT_DIM:
        finder = SearchOracle(X, time_limit_s)
        ask = finder
    else:
        finder = None
        D = enumerate_patterns(X).D
        F = cell_facets(X, D)
        edges = edge_directions(X)

        def ask(nu: np.ndarray, level: float, stop_after: int | None = None, cells: bool = False) -> Oracle:
            return oracle(X, D, F, nu, edges)
    first = ask(Y, beta * (1 + active_tol), max(2 * n, 10))
    order = np.argsort(-first.values)
    U = first.directions[order[_distinct(first.directions[order], X)]][:max(2 * n, 10)]
    if not len(U):  # no direction above beta at nu = Y: start from the data directions
        rows = X[np.linalg.norm(X, axis=1) > 0]
        U = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    solves: list[SolveStats] = []
    for rnd in range(MAX_ROUNDS):
        sol = solve_dictionary(X, Y, U, beta, solver, tol)
        solves.append(sol.stats)
        orc = ask(sol.nu, beta * (1 + active_tol))
        bad = np.flatnonzero(orc.values > beta * (1 + active_tol))
        log.info("vector dictionary round %d: %d atoms, max dual value / beta - 1 = %.2e, %d violating candidates",
                 rnd, len(U), orc.max_value / beta - 1, len(bad))
        if not len(bad):
            break
        bad = bad[np.argsort(-orc.values[bad])]
        new = orc.directions[bad[_distinct(orc.directions[bad], X)]][: max(n, 10)]
        U = np.concatenate([U[_in_use(sol.B)], new])  # atoms without weight leave the dictionary
    else:
        raise CertificateError(f"vector outputs: the dictionary did not converge in {MAX_ROUNDS} rounds")
    # Polish: a finite dictionary holds the optimal directions only approximately (they move with
    # nu). Each atom in use lies on one face of one cell (the oracle generates it there); with
    # every atom kept on its face span and its pattern fixed, the objective is smooth in the
    # atoms' face coordinates and output weights, and a quasi-Newton descent from the dictionary
    # solution converges to the exact directions. The oracle then certifies the result. An atom
    # that leaves its cell (its fixed pattern no longer its own) or slides along a flat face throws
    # the refinement beyond tol.margin: then the polish stops. The best solution seen is kept (the
    # dictionary's converged one is within tol.active).
    best, best_orc = sol, orc
    for _ in range(MAX_POLISH_ROUNDS):
        used = _in_use(sol.B) & _near_beta(X, sol, beta, margin_tol)
        refined = refine_on_faces(X, Y, sol.directions[used], sol.B[used], beta)
        orc = ask(refined.nu, beta * (1 + POLISH_TARGET))
        log.info("vector polish: %d atoms refined, max dual value / beta - 1 = %.2e", int(used.sum()),
                 orc.max_value / beta - 1)
        if orc.max_value > beta * (1 + margin_tol):  # lost (left a cell or slid along a flat face)
            break
        if orc.max_value < best_orc.max_value:
            best, best_orc = refined, orc
        if orc.max_value <= beta * (1 + POLISH_TARGET):
            break
        # a direction the refined atoms miss: add the violators and solve the dictionary again
        bad = np.flatnonzero(orc.values > beta * (1 + POLISH_TARGET))
        bad = bad[np.argsort(-orc.values[bad])]
        U = np.concatenate([refined.directions, orc.directions[bad[_distinct(orc.directions[bad], X)]][:n]])
        sol = solve_dictionary(X, Y, U[_distinct(U, X)], beta, solver, tol)
        solves.append(sol.stats)
    sol, orc = best, best_orc
    if finder is not None:  # every cell within the margin, each with its exact maximum
        orc = ask(sol.nu, beta * (1 - margin_tol), cells=True)
    if orc.max_value > beta * (1 + active_tol):
        raise CertificateError(f"vector outputs: the polished solution violates the dual constraint by "
                               f"{orc.max_value / beta - 1:.2e} (relative)")
    split = active_set(DualValues(values=orc.values[:, None], directions=orc.directions[:, None, :]), beta,
                       active_tol, margin_tol, margin_ratio)
    act = np.array([i for i, _ in split.blocks], dtype=int)
    act = act[_distinct(orc.directions[act], X)] if len(act) else act
    margin = split.margin if finder is None else min(split.margin, margin_tol)  # unlisted cells: below 1 - margin_tol
    dirs = orc.directions[act]
    _refuse_flat_cells(X, sol, dirs, beta, margin_tol, max(orc.max_value / beta - 1, 0.0))
    out = np.maximum(dirs @ X.T, 0.0) @ sol.nu
    out = out / np.linalg.norm(out, axis=1, keepdims=True) if len(act) else out
    return VectorOptimum(solution=sol, oracle=orc, directions=dirs, output_directions=out,
                         max_violation=orc.max_value / beta - 1, margin=margin,
                         deviation=split.max_active_deviation, rounds=rnd + 1, solves=solves,
                         n_cells=D.shape[1] if finder is None else finder.cells_listed, search=finder)


MAX_FLAT_TIES = 8  # cells around a direction checked for flatness: every split of up to this many ties


def flat_cells(X: np.ndarray, nu: np.ndarray, u: np.ndarray, beta: float, rel: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Closed cells or faces through the unit direction u on which a continuum of unit directions
    through u attains the value beta of ||nu^T (X v)_+||: a list of (points active there, eigenvalues
    / beta^2). Rows with |x_i^T u| <= 1e-9 ||x_i|| tie. On a set where the active points S are fixed
    the value is ||M^T v||, M = X_S^T nu_S, and the maximizers near u at value beta are the unit
    vectors of E = {eigenvectors of M M^T with eigenvalue >= beta^2 (1 - rel)} that stay in the set.
    Checked on the face of u (v in the span of the ties, the same form for every cell around it) and
    on every cell around u (S = the positive rows plus a part A of the ties, v = u + w with w in E,
    w orthogonal to u, x_i^T w >= 0 on A and <= 0 on the other ties)."""
    xu = X @ u
    tie = np.abs(xu) <= 1e-9 * np.linalg.norm(X, axis=1)
    on = (xu > 0) & ~tie
    found = []
    V = null_basis(X[tie])
    M = V.T @ X[on].T @ nu[on]
    eig = np.linalg.eigvalsh(M @ M.T)[::-1]
    if len(eig) > 1 and eig[1] >= beta ** 2 * (1 - rel):
        found.append((np.flatnonzero(on), eig / beta ** 2))
    ties = np.flatnonzero(tie)
    if len(ties) > MAX_FLAT_TIES:
        return found
    for bits in range(2 ** len(ties)):
        A = ties[[(bits >> k) & 1 == 1 for k in range(len(ties))]]
        S = on.copy()
        S[A] = True
        M = X[S].T @ nu[S]
        lam, vecs = np.linalg.eigh(M @ M.T)
        E = vecs[:, lam >= beta ** 2 * (1 - rel)]
        pu = E.T @ u
        if E.shape[1] < 2 or np.linalg.norm(pu) < 1 - rel:  # no continuum, or u not in E
            continue
        L = E @ null_basis(pu[None, :])  # E within u's orthogonal complement
        G = np.vstack([X[A] @ L, -X[np.setdiff1d(ties, A)] @ L])
        if _cone_has_direction(G):
            found.append((np.flatnonzero(S), lam[::-1] / beta ** 2))
    return found


def _cone_has_direction(G: np.ndarray) -> bool:
    """Whether {z : G z >= 0} holds some z != 0: G has a null direction, or the cone is pointed and
    then 1^T G z = 1 is feasible (an LP)."""
    from scipy.optimize import linprog

    if G.shape[0] == 0 or null_basis(G).shape[1] > 0:
        return bool(G.shape[1] > 0)
    res = linprog(np.zeros(G.shape[1]), A_ub=-G, b_ub=np.zeros(G.shape[0]), A_eq=G.sum(axis=0)[None, :],
                  b_eq=[1.0], bounds=[(None, None)] * G.shape[1], method="highs")
    return bool(res.status == 0)


def _refuse_flat_cells(X: np.ndarray, sol: DictionarySolution, dirs: np.ndarray, beta: float, rel: float,
                       violation: float) -> None:
    """Refuse when the dual constraint is flat around an optimal direction: a continuum of optimal
    neurons, whose combinations form a curved (not polyhedral) optimal set."""
    for u in dirs:
        for active, eig in flat_cells(X, sol.nu, u, beta, rel):
            raise CertificateError(
                f"vector outputs: the dual constraint is flat around the optimal direction u = "
                f"{np.array2string(u, precision=6, separator=', ')} (active points {active.tolist()}): the top two "
                f"eigenvalues of the quadratic form there are {eig[0]:.9f} and {eig[1]:.9f} x beta^2, so a "
                f"continuum of directions around it are optimal neurons and the optimal set is not a polytope; "
                f"p* = {sol.objective:.10g} holds (dual violation {violation:.1e}) but m* and M* need a finite "
                f"set of optimal neurons")


def _near_beta(X: np.ndarray, sol: DictionarySolution, beta: float, rel: float) -> np.ndarray:
    """Atoms u whose dual value ||nu^T (X u)_+|| is at least beta (1 - rel). An optimal atom with
    weight has value exactly beta; one clearly below carries only the solver's leftover weight, and
    keeping it in the smooth refinement (where weight cannot reach exactly zero) spoils nu."""
    return direction_values(X, sol.nu, sol.directions) >= beta * (1 - rel)


def _in_use(B: np.ndarray, rel: float = 1e-7) -> np.ndarray:
    """Atoms carrying weight (interior-point solutions leave ~tol-sized weight on the others)."""
    norms = np.linalg.norm(B, axis=1)
    used: np.ndarray = norms > rel * max(float(norms.max(initial=0.0)), 1e-300)
    return used


def refine_on_faces(X: np.ndarray, Y: np.ndarray, U: np.ndarray, B: np.ndarray, beta: float) -> DictionarySolution:
    """Minimize 1/2 ||sum_k (D_k X V_k v_k) b_k^T - Y||^2 + beta/2 sum_k (||v_k||^2 + ||b_k||^2), each
    atom k on the span V_k of the face its direction u_k lies on (rows with |x^T u_k| <= 1e-9 ||x||)
    with its pattern D_k = 1[X u_k > 0] fixed, from the balanced start v_k = sqrt(||b_k||) V_k^T u_k,
    b_k / sqrt(||b_k||). Smooth (L-BFGS, gradient tolerance 1e-13)."""
    import time

    from scipy.optimize import minimize

    start = time.perf_counter()
    n, d = X.shape
    c = Y.shape[1]
    XU = U @ X.T  # (K, n)
    tie = np.abs(XU) <= 1e-9 * np.linalg.norm(X, axis=1)[None, :]
    pats = (XU > 0) & ~tie
    spans = [null_basis(X[t]) for t in tie]
    sizes = [S.shape[1] for S in spans]
    scale = np.sqrt(np.linalg.norm(B, axis=1))
    x0 = np.concatenate([np.concatenate([S.T @ u * s, b / s]) for S, u, b, s in zip(spans, U, B, scale)])
    DX = [pats[k][:, None] * X @ spans[k] for k in range(len(spans))]  # (n, r_k)

    def unpack(x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        out: list[tuple[np.ndarray, np.ndarray]] = []
        i = 0
        for r in sizes:
            out.append((x[i:i + r], x[i + r:i + r + c]))
            i += r + c
        return out

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        parts = unpack(x)
        H = np.column_stack([M @ v for M, (v, _) in zip(DX, parts)])
        Bm = np.array([b for _, b in parts])
        R = H @ Bm - Y
        val = 0.5 * np.sum(R * R) + 0.5 * beta * (np.sum(x * x))
        grad = np.concatenate([np.concatenate([M.T @ (R @ b) + beta * v, R.T @ h + beta * b])
                               for M, (v, b), h in zip(DX, parts, H.T)])
        return val, grad

    log.debug("face refinement: start objective %.12g", fun(x0)[0])
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": 20000, "gtol": 1e-13, "ftol": 0.0})
    x = res.x
    for _ in range(NEWTON_STEPS):  # finish with Newton steps (Hessian by differences of the gradient)
        f0, g = fun(x)
        h = 1e-7 * max(1.0, float(np.abs(x).max()))
        Hs = np.column_stack([(fun(x + h * e)[1] - g) / h for e in np.eye(len(x))])
        step = np.linalg.lstsq(0.5 * (Hs + Hs.T), -g, rcond=1e-8)[0]  # min-norm: P* may be a continuum
        f1, g1 = fun(x + step)
        log.debug("newton: |g| %.2e -> %.2e, f %.15g -> %.15g", np.abs(g).max(), np.abs(g1).max(), f0, f1)
        # near the optimum f changes below its round-off: judge a step by the gradient as well
        if f1 > f0 + 1e-14 * abs(f0) or np.abs(g1).max() >= np.abs(g).max():
            break
        x = x + step
    parts = unpack(x)
    W = np.array([S @ v for S, (v, _) in zip(spans, parts)])
    Bm = np.array([b for _, b in parts])
    norms = np.linalg.norm(W, axis=1)
    keep = norms > 0
    U2, B2 = W[keep] / norms[keep, None], Bm[keep] * norms[keep, None]
    nu = Y - np.maximum(U2 @ X.T, 0.0).T @ B2
    stats = SolveStats(name="lbfgs+newton", status="optimal" if res.success else str(res.message),
                       time_s=time.perf_counter() - start,
                       iterations=int(res.nit), accuracy="high", tolerance=1e-13)
    return DictionarySolution(directions=U2, B=B2, nu=nu, objective=float(fun(x)[0]), stats=stats)


def feature_matrix(X: np.ndarray, directions: np.ndarray, output_directions: np.ndarray) -> np.ndarray:
    """(n c, K): column k = vec((X u_k)_+ a_k^T) (row-major vec of the n x c matrix)."""
    H = np.maximum(X @ directions.T, 0.0)  # (n, K)
    features: np.ndarray = np.einsum("nk,kc->nck", H, output_directions).reshape(-1, directions.shape[0])
    return features


@dataclass(frozen=True)
class VectorNetwork:
    """f(X) = sum_j (X w_j)_+ a_j^T."""

    W: np.ndarray  # (m, d)
    A: np.ndarray  # (m, c)

    @property
    def width(self) -> int:
        return int(self.W.shape[0])

    def predict(self, X: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.maximum(X @ self.W.T, 0.0) @ self.A
        return out


def network_from_coefficients(opt: VectorOptimum, c: np.ndarray) -> VectorNetwork:
    """Neuron k of coefficient c_k: w = sqrt(c_k) u_k, a = sqrt(c_k) a_k (balanced)."""
    used = c > 0
    root = np.sqrt(c[used])
    return VectorNetwork(W=opt.directions[used] * root[:, None], A=opt.output_directions[used] * root[:, None])


def vector_objective(net: VectorNetwork, X: np.ndarray, Y: np.ndarray, beta: float) -> float:
    """1/2 ||f(X) - Y||_F^2 + beta/2 (||W||_F^2 + ||A||_F^2)."""
    R = net.predict(X) - Y
    return 0.5 * float(np.sum(R * R)) + 0.5 * beta * (float(np.sum(net.W**2)) + float(np.sum(net.A**2)))
