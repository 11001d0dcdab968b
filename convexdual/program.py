"""Step 4: the convex reformulation (C) (README, "Objective"), built as one vectorized cvxpy program.

Blocks are (pattern, sign) pairs. Positive blocks carry u_i in K_i, negative blocks v_i in K_i:

    regression:     min 1/2 ||sum_i D_i X u_i - sum_j D_j X v_j + X z - y||^2 + beta * sum ||u_i|| + ||v_j||
    interpolation:  min sum ||u_i|| + ||v_j||   s.t.  sum_i D_i X u_i - sum_j D_j X v_j + X z = y

with K_i = {u : (2 D_i - I) X u >= 0} and z (the free skip connection) present only when asked.
The whole program is a handful of matrix expressions; there is no Python loop over patterns.

See docs/theory.md §2 (the convex program and why it equals the network problem).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from .problems import Problem, get_problem
from .solvers import SolveStats, solve


@dataclass(frozen=True)
class ConvexSolution:
    """A solved instance of (C) over the given blocks."""

    U: np.ndarray  # (P_plus, d) weights of the positive blocks
    V: np.ndarray  # (P_minus, d) weights of the negative blocks
    z: np.ndarray | None  # skip-connection weights, or None
    y_hat: np.ndarray  # fitted values
    objective: float  # value of (C) in the convention of the README's "Objective"
    nu: np.ndarray  # dual optimum: y - y_hat (regression) or the equality multiplier (interpolation)
    stats: SolveStats


def block_fit(X: np.ndarray, D: np.ndarray, W: np.ndarray) -> np.ndarray:
    """sum_i D_i X w_i for patterns D (n, P) and weights W (P, d)."""
    fit: np.ndarray = np.einsum("np,np->n", D, X @ W.T)
    return fit


def solve_convex(
    X: np.ndarray,
    y: np.ndarray,
    D_plus: np.ndarray,
    D_minus: np.ndarray,
    *,
    problem: str | Problem,
    beta: float,
    skip: bool,
    solver: str,
    tol: float,
    facets_plus: np.ndarray | None = None,
    facets_minus: np.ndarray | None = None,
    inaccurate_ok: bool = False,
) -> ConvexSolution:
    """Solve (C) restricted to positive blocks D_plus and negative blocks D_minus (columns = patterns).

    With ``facets_plus``/``facets_minus`` (bool, same shape as the patterns; see
    :func:`patterns.cell_facets`) each cone K_i is written with its facet rows only: the same cone,
    a program about n/4 times smaller in d = 3. ``inaccurate_ok``: see :func:`solvers.solve`."""
    import cvxpy as cp

    prob = get_problem(problem)
    n, d = X.shape
    if D_plus.shape[1] == 0 and D_minus.shape[1] == 0 and not skip:
        return _no_variables(y, problem, solver, tol)
    Dp, Dm = D_plus.astype(float), D_minus.astype(float)
    U = cp.Variable((Dp.shape[1], d)) if Dp.shape[1] else None
    V = cp.Variable((Dm.shape[1], d)) if Dm.shape[1] else None
    z = cp.Variable(d) if skip else None
    fit: cp.Expression | float = 0.0
    norms: cp.Expression | float = 0.0
    constraints = []
    for W, Dmat, F, sign in ((U, Dp, facets_plus, 1.0), (V, Dm, facets_minus, -1.0)):
        if W is None:
            continue
        XW = X @ W.T  # (n, P): column i is X w_i
        fit = fit + sign * cp.sum(cp.multiply(Dmat, XW), axis=1)
        norms = norms + cp.sum(cp.norm(W, 2, axis=1))
        if F is None:
            constraints.append(cp.multiply(2 * Dmat - 1, XW) >= 0)
        else:
            constraints.append(_facet_rows(X, Dmat, F) @ cp.vec(W, order="F") >= 0)
    if z is not None:
        fit = fit + X @ z
    objective, equality = prob.convex_objective(fit, y, norms, beta)
    if equality is not None:
        constraints.append(equality)
    program = cp.Problem(cp.Minimize(objective), constraints)
    stats = solve(program, solver, tol, inaccurate_ok)
    Uv = np.asarray(U.value).reshape(-1, d) if U is not None else np.zeros((0, d))
    Vv = np.asarray(V.value).reshape(-1, d) if V is not None else np.zeros((0, d))
    zv = np.asarray(z.value) if z is not None else None
    y_hat = block_fit(X, Dp, Uv) - block_fit(X, Dm, Vv) + (X @ zv if zv is not None else 0.0)
    nu = prob.dual_point(y, y_hat, equality)
    return ConvexSolution(U=Uv, V=Vv, z=zv, y_hat=y_hat, objective=float(program.value), nu=nu, stats=stats)


def _no_variables(y: np.ndarray, problem: str | Problem, solver: str, tol: float) -> ConvexSolution:
    """(C) over no blocks and no skip connection: the network is zero (:meth:`Problem.empty_solution`)."""
    objective, nu = get_problem(problem).empty_solution(y)
    stats = SolveStats(name=solver, status="optimal (no variables)", time_s=0.0, iterations=0, accuracy="exact",
                       tolerance=tol)
    empty = np.zeros((0, 0))
    return ConvexSolution(U=empty, V=empty, z=None, y_hat=np.zeros_like(y, dtype=float), objective=objective, nu=nu,
                          stats=stats)


def _facet_rows(X: np.ndarray, D: np.ndarray, F: np.ndarray) -> Any:
    """Sparse map vec(W) -> ((2 D_ki - 1) x_k^T w_i) over the facet pairs (k, i) of F (column-major vec)."""
    from scipy import sparse

    k, i = np.nonzero(F)
    P, d = D.shape[1], X.shape[1]
    vals = ((2 * D[k, i] - 1)[:, None] * X[k]).ravel()
    rows = np.repeat(np.arange(len(k)), d)
    cols = (np.arange(d)[None, :] * P + i[:, None]).ravel()
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(k), P * d))


def split_blocks(D: np.ndarray, blocks: Iterable[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Pattern columns of the positive and of the negative (pattern, sign) blocks, in pattern order."""
    blocks = list(blocks)
    plus = sorted(i for i, s in blocks if s == 1)
    minus = sorted(i for i, s in blocks if s == -1)
    return D[:, plus], D[:, minus]


def best_value_with_blocks(
    X: np.ndarray, y: np.ndarray, D: np.ndarray, m: int, *, beta: float, skip: bool, solver: str, tol: float,
    budget: int = 400, problem: str | Problem = "regression",
) -> float | None:
    """Best objective of a width-m network: min over sets of m (pattern, sign) blocks of (C)
    restricted to them (a network with fixed activation patterns is exactly that restriction).
    For problems with a finite value below m* (:attr:`Problem.width_values`). Returns None when
    more than ``budget`` block sets would have to be solved."""
    from itertools import combinations
    from math import comb

    blocks = [(i, s) for i in range(D.shape[1]) for s in (1, -1)]
    if comb(len(blocks), m) > budget:
        return None
    best = np.inf
    for subset in combinations(blocks, m):
        sol = solve_convex(X, y, *split_blocks(D, subset), problem=problem, beta=beta, skip=skip,
                           solver=solver, tol=tol)
        best = min(best, sol.objective)
    return float(best)
