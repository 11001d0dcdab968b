"""Steps 4-5 together: a certified optimum of (C) and its exact active set.

1. Solve (C) over every (pattern, sign) block at the configured tolerance.
2. Evaluate the dual constraint of every block exactly (cone projections) at nu.
3. Re-solve on the candidate blocks (value within ``CANDIDATE_BAND`` of the bound) at the same
   tolerance, check dual feasibility on every block, add violators and repeat until none is left
   (a working set certified by duality).
4. Split blocks into active and inactive with a clear margin, or refuse (CertificateError), and
   solve once more on exactly the active blocks: the final nu is then certified on every block.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .dual import ActiveSet, DualValues, active_set, dual_values
from .errors import CertificateError, SolverError
from .program import ConvexSolution, solve_convex, split_blocks
from .solvers import SolveStats

log = logging.getLogger("convexdual")

CANDIDATE_BAND = 1e-3  # blocks with value >= bound * (1 - band) enter the refined program
MAX_ROUNDS = 10


@dataclass(frozen=True)
class Optimum:
    """A certified optimum: the refined solution, dual values at its nu, and the active set."""

    solution: ConvexSolution
    values: DualValues
    active: ActiveSet
    bound: float  # beta (regression) or 1 (interpolation)
    solves: list[SolveStats]


def _blocks_above(values: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    idx = np.argwhere(values >= threshold)
    return {(int(i), 1 if k == 0 else -1) for i, k in idx}


def certified_optimum(
    X: np.ndarray,
    y: np.ndarray,
    D: np.ndarray,
    *,
    problem: str,
    beta: float,
    skip: bool,
    solver: str,
    tol: float,
    polish_tol: float,
    active_tol: float,
    margin_tol: float,
    margin_ratio: float = 1e3,
) -> Optimum:
    """Solve (C) over all patterns D, refine on candidate blocks, and certify the active set."""
    bound = beta if problem == "regression" else 1.0
    kw = dict(problem=problem, beta=beta, skip=skip, solver=solver, tol=tol)
    full = solve_convex(X, y, D, D, **kw)
    solves = [full.stats]
    values = dual_values(X, D, full.nu)
    log.info("full solve: %s in %.2fs, max dual value / bound = %.3e", full.stats.status, full.stats.time_s,
             values.max_value / bound)
    work = _blocks_above(values.values, bound * (1 - CANDIDATE_BAND))
    final = False
    for _ in range(MAX_ROUNDS):
        Dp, Dm = split_blocks(D, work)
        solution = _solve_polished(X, y, Dp, Dm, kw, polish_tol) if final else solve_convex(X, y, Dp, Dm, **kw)
        solves.append(solution.stats)
        values = dual_values(X, D, solution.nu)
        violators = _blocks_above(values.values, bound * (1 + active_tol)) - work
        log.info("solve on %d blocks: max dual value / bound - 1 = %.2e, %d violators",
                 len(work), values.max_value / bound - 1, len(violators))
        if violators:
            work |= violators
            continue
        if not final and problem == "regression":
            # Near-active inactive blocks carry interior-point mass ~ mu / (beta - value) that biases
            # y_hat; the final (polished) solve runs on the blocks that are not clearly inactive.
            # (Interpolation fits y exactly, and its dual optimum is not unique: shrinking the
            # working set there would only move nu around the dual optimal face.)
            work, final = _blocks_above(values.values, bound * (1 - margin_tol)), True
            continue
        active = active_set(values, bound, active_tol, margin_tol, margin_ratio)
        if problem == "interpolation":
            break
        if set(active.blocks) == work:
            break
        work = set(active.blocks)
    else:
        raise CertificateError(f"the working set did not settle in {MAX_ROUNDS} rounds")
    return Optimum(solution=solution, values=values, active=active, bound=bound, solves=solves)


def _solve_polished(X, y, Dp, Dm, kw: dict, polish_tol: float) -> ConvexSolution:
    """Solve on the active blocks at the polish tolerance; fall back to the normal one if refused."""
    try:
        return solve_convex(X, y, Dp, Dm, **{**kw, "tol": min(polish_tol, kw["tol"])})
    except SolverError as exc:
        log.info("polish at tol %.0e refused (%s); using tol %.0e", polish_tol, exc, kw["tol"])
        return solve_convex(X, y, Dp, Dm, **kw)
