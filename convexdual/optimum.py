"""Steps 4-5 together: a certified optimum of (C) and its exact active set.

1. Solve (C) over every (pattern, sign) block at the configured tolerance.
2. Evaluate the dual constraint of every block exactly (cone projections) at nu.
3. Re-solve on the candidate blocks (value within ``CANDIDATE_BAND`` of the bound) at the same
   tolerance, check dual feasibility on every block, add violators and repeat until none is left
   (a working set certified by duality).
4. Split blocks into active and inactive with a clear margin, or refuse (CertificateError), and
   solve once more on exactly the active blocks: the final nu is then certified on every block.
5. Regression without a skip connection: refine nu to machine precision (:func:`refine.refine_dual`)
   and split again, "active" now meaning within REFINED_ACTIVE_TOL; when the split of step 4 was
   clear, the refined nu replaces it only if it certifies a split of its own.

See docs/theory.md §3 (the dual optimum) and §8 (certificates).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Iterable, Protocol, cast

import numpy as np

from .dual import (REFINED_MARGIN_FLOOR, SIGNS, ActiveSet, Cones, DualValues, active_set, dual_values,
                   prepared_cones, sign_column)
from .errors import CertificateError, SolverError
from .problems import Problem, get_problem
from .program import ConvexSolution, solve_convex, split_blocks
from .refine import Cuts, add_cuts, project_polyhedron, project_warm, refine_dual, refine_interpolation
from .solvers import SolveStats

log = logging.getLogger("convexdual")

CANDIDATE_BAND = 1e-3  # blocks with value >= bound * (1 - band) enter the refined program
MAX_ROUNDS = 10
WORKING_SET_MIN_BLOCKS = 2000  # "auto": more (pattern, sign) blocks than this start from a working set
MAX_GROW_ROUNDS = 200
GROW_TOL = 1e-8  # solver tolerance of the working set's growth rounds
CHECK_FACTOR = 4  # a growth round stops projecting after this many times the blocks it adds
DROP_BELOW = 0.5  # working-set blocks whose dual value is below this fraction of the bound are dropped
REFINED_ACTIVE_TOL = 1e-11  # after refine_dual (values accurate to ~1e-13 relative), active means within this of the bound


@dataclass(frozen=True)
class Optimum:
    """A certified optimum: the refined solution, dual values at its nu, and the active set."""

    solution: ConvexSolution
    values: DualValues
    active: ActiveSet
    bound: float  # beta (regression) or 1 (interpolation)
    solves: list[SolveStats]
    active_tol: float | None = None  # the tolerance the active set was split with


def _blocks_above(values: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    idx = np.argwhere(values >= threshold)
    return {(int(i), SIGNS[k]) for i, k in idx}


def certified_optimum(
    X: np.ndarray,
    y: np.ndarray,
    D: np.ndarray,
    *,
    problem: str | Problem,
    beta: float,
    skip: bool,
    solver: str,
    tol: float,
    polish_tol: float,
    active_tol: float,
    margin_tol: float,
    margin_ratio: float = 1e3,
    working_set: str = "auto",
    facets: np.ndarray | None = None,
    cones: Cones | None = None,
    start: list[tuple[int, int]] | None = None,
    start_cuts: np.ndarray | None = None,
    refine_at_once: bool = False,
    start_faces: tuple[np.ndarray, np.ndarray] | None = None,
) -> Optimum:
    """Solve (C) over all patterns D (or grow a working set of blocks when there are many), refine
    on candidate blocks, and certify the active set. ``facets`` (from :func:`patterns.cell_facets`,
    complete pattern sets only) writes every cone with its facet rows alone: same cones, smaller
    programs and projections. ``start`` (for example the active blocks of the same data at another
    beta) joins the first round of a block working set; ``start_cuts`` (rows s (X u)_+, for example
    the active features at another beta) are the first cuts of a cut working set. The answer
    depends on neither. ``refine_at_once`` (regression without a skip connection) hands the
    working set's nu straight to the exact refinement, without an interior-point solve;
    ``start_faces`` (directions, signs of the start cuts) are the faces its Newton steps try
    first. ``cones`` (:func:`dual.cell_cones` of ``facets``, d <= 3) are prepared here when not
    given; a sweep passes them to prepare them once."""
    cones = cones if cones is not None else prepared_cones(X, D, facets)
    checks = cones if cones is not None else facets  # what the dual checks project with
    prob = get_problem(problem)
    bound = prob.bound(beta)
    refinable = prob.refinable and not skip  # refine.refine_dual applies
    # Where the exact refinement applies, an interior-point status of optimal_inaccurate is only a
    # worse starting point: the refinement, not the solver, makes nu exact and the dual check on
    # every block certifies it.
    kw = dict(problem=problem, beta=beta, skip=skip, solver=solver, tol=tol, inaccurate_ok=refinable)
    solve_on = _block_solver(X, y, D, facets if prob.facet_cones else None, kw)
    screen = bound * (1 - CANDIDATE_BAND)  # blocks whose bound ||X^T D_i nu|| is below this are not projected
    use_ws = working_set == "always" or (working_set == "auto" and prob.working_set
                                         and 2 * D.shape[1] > WORKING_SET_MIN_BLOCKS)
    if use_ws and refinable:
        solves, values = _grow_by_cuts(X, y, D, bound, active_tol, screen, checks, start_cuts)
    elif use_ws:
        solves, values = _grow_working_set(X, y, D, solve_on, bound, active_tol, screen, checks, max(tol, GROW_TOL),
                                           start or [])
    else:
        full = solve_on(None)
        solves = [full.stats]
        values = dual_values(X, D, full.nu, screen=screen, facets=checks)
        log.info("full solve: %s in %.2fs, max dual value / bound = %.3e", full.stats.status, full.stats.time_s,
                 values.max_value / bound)
    work = _blocks_above(values.values, bound * (1 - CANDIDATE_BAND))
    final = False
    refine = any(st.status == "optimal_inaccurate" for st in solves) or (refine_at_once and refinable)
    for _ in range(MAX_ROUNDS):
        if refine:  # (refinable problems only: others raise on an inaccurate status)
            log.info("exact refinement%s", " of the working set's nu" if refine_at_once else
                     " (an interior-point solve was inaccurate)")
            break
        solution = _solve_polished(solve_on, work, kw, polish_tol) if final else solve_on(work)
        solves.append(solution.stats)
        values = dual_values(X, D, solution.nu, screen=screen, facets=checks, previous=values)
        refine = solution.stats.status == "optimal_inaccurate"
        if refine:
            continue
        violators = _blocks_above(values.values, bound * (1 + active_tol)) - work
        log.info("solve on %d blocks: max dual value / bound - 1 = %.2e, %d violators",
                 len(work), values.max_value / bound - 1, len(violators))
        if violators:
            work |= violators
            continue
        if not final and prob.polish and not (use_ws and refinable):
            # Near-active inactive blocks carry interior-point mass ~ mu / (beta - value) that biases
            # y_hat; the final (polished) solve runs on the blocks that are not clearly inactive.
            # (Interpolation fits y exactly, and its dual optimum is not unique: shrinking the
            # working set there would only move nu around the dual optimal face.) Large instances
            # skip it: the interior-point solver can take far longer to refuse the polish on
            # hundreds of blocks than the exact refinement below takes to settle an unclear split.
            work, final = _blocks_above(values.values, bound * (1 - margin_tol)), True
            continue
        try:
            active = active_set(values, bound, active_tol, margin_tol, margin_ratio)
        except CertificateError:
            if not refinable:
                raise
            # The interior-point solution is not accurate enough to split the blocks: refine nu to
            # machine precision (cuts, then Newton steps on the faces; refine.py) and split again.
            refine = True
            break
        if prob.exact_fit:  # the dual optimum is not unique: no active-set iteration
            break
        if set(active.blocks) == work:
            break
        work = set(active.blocks)
    else:
        raise CertificateError(f"the working set did not settle in {MAX_ROUNDS} rounds")
    refined_tol = min(active_tol, REFINED_ACTIVE_TOL)
    if refine:
        solution, values, active = _refine_and_split(X, y, D, checks, values, bound, screen, refined_tol, margin_tol,
                                                     margin_ratio, start_faces)
        solves.append(solution.stats)
        active_tol = refined_tol
    elif refinable:
        polished = _refined(X, y, D, checks, values, bound, screen, refined_tol, margin_tol, margin_ratio)
        if polished is not None:
            solution, values, active = polished
            solves.append(solution.stats)
            active_tol = refined_tol
    elif prob.exact_fit and not skip and active.blocks:
        refined = _refine_interpolation(X, y, D, checks, screen, values, active, margin_tol, margin_ratio)
        if refined is not None:
            nu, values, active = refined
            solution = replace(solution, nu=nu)
            active_tol = min(active_tol, REFINED_ACTIVE_TOL)
    return Optimum(solution=solution, values=values, active=active, bound=bound, solves=solves, active_tol=active_tol)


def _refined(X: np.ndarray, y: np.ndarray, D: np.ndarray, checks: Cones | np.ndarray | None, values: DualValues,
             bound: float, screen: float, active_tol: float, margin_tol: float, margin_ratio: float
             ) -> tuple[ConvexSolution, DualValues, ActiveSet] | None:
    """The exact refinement (refine.refine_dual) of an interior-point nu whose active split is
    already clear: nu to round-off, so the active features reproduce the optimal fit to round-off
    and P* is exact (the solver's nu leaves a fit residual near the square root of its tolerance).
    Kept when it certifies an active split of its own; None keeps the solver's nu."""
    try:
        solution, refined, active = _refine_and_split(X, y, D, checks, values, bound, screen, active_tol, margin_tol,
                                                      margin_ratio)
    except (CertificateError, SolverError) as exc:
        log.info("exact refinement of a certified nu not kept (%s)", exc)
        return None
    log.info("exact refinement of a certified nu: max dual value / bound - 1 = %.2e", refined.max_value / bound - 1)
    return solution, refined, active


def _refine_and_split(X: np.ndarray, y: np.ndarray, D: np.ndarray, checks: Cones | np.ndarray | None,
                      values: DualValues, bound: float, screen: float, active_tol: float, margin_tol: float,
                      margin_ratio: float, faces: tuple[np.ndarray, np.ndarray] | None = None
                      ) -> tuple[ConvexSolution, DualValues, ActiveSet]:
    """refine.refine_dual from these values, and the active split at the refined nu ("active"
    within ``active_tol``, margins down to REFINED_MARGIN_FLOOR trusted); raises when unclear."""
    solution, refined = refine_dual(X, y, D, checks, values, bound, screen, faces=faces)
    return solution, refined, active_set(refined, bound, active_tol, margin_tol, margin_ratio,
                                         floor=REFINED_MARGIN_FLOOR)


def _refine_interpolation(X: np.ndarray, y: np.ndarray, D: np.ndarray, checks: Cones | np.ndarray | None,
                          screen: float, values: DualValues, active: ActiveSet, margin_tol: float,
                          margin_ratio: float) -> tuple[np.ndarray, DualValues, ActiveSet] | None:
    """Newton on the active faces (refine.refine_interpolation), kept only when the exact dual check
    over every block finds no larger violation, the same active blocks within REFINED_ACTIVE_TOL
    and a clear margin; otherwise None (the solver's nu stands)."""
    nu = refine_interpolation(X, y, values, active.blocks)
    new = dual_values(X, D, nu, screen=screen, facets=checks, previous=values)
    if new.max_value > max(values.max_value, 1.0 + REFINED_ACTIVE_TOL):
        return None
    try:
        split = active_set(new, 1.0, REFINED_ACTIVE_TOL, margin_tol, margin_ratio)
    except CertificateError:
        return None
    if set(split.blocks) != set(active.blocks):
        return None
    log.info("interpolation refined on %d active faces: max dual value - 1 = %.2e (was %.2e)", len(split.blocks),
             new.max_value - 1, values.max_value - 1)
    return nu, new, split


class BlockSolver(Protocol):
    """(C) restricted to a set of (pattern, sign) blocks (None = all); see :func:`_block_solver`."""

    def __call__(self, blocks: Iterable[tuple[int, int]] | None, all_rows: bool = False,
                 **overrides: Any) -> ConvexSolution: ...


def _block_solver(X: np.ndarray, y: np.ndarray, D: np.ndarray, facets: np.ndarray | None,
                  kw: dict[str, Any]) -> BlockSolver:
    """solve_on(blocks, all_rows=False, **overrides): (C) restricted to a set of (pattern, sign)
    blocks (None = all), each cone written with its facet rows unless ``all_rows``."""

    def solve_on(blocks: Iterable[tuple[int, int]] | None, all_rows: bool = False,
                 **overrides: Any) -> ConvexSolution:
        F = None if all_rows else facets
        if blocks is None:
            return solve_convex(X, y, D, D, facets_plus=F, facets_minus=F, **{**kw, **overrides})
        Dp, Dm = split_blocks(D, blocks)
        Fp, Fm = split_blocks(F, blocks) if F is not None else (None, None)
        return solve_convex(X, y, Dp, Dm, facets_plus=Fp, facets_minus=Fm, **{**kw, **overrides})

    return solve_on


def _grow_working_set(X: np.ndarray, y: np.ndarray, D: np.ndarray, solve_on: BlockSolver, bound: float, active_tol: float,
                      screen: float, facets: np.ndarray | Cones | None, grow_tol: float,
                      start: list[tuple[int, int]]) -> tuple[list[SolveStats], DualValues]:
    """Start from the patterns most correlated with y (largest ||X^T D_i y||, both signs), solve (C)
    on the working set, check dual feasibility on every block (screened, then exact projections),
    add the most violating blocks, and repeat until no block violates: nu is then dual feasible
    for the full program, so the working-set solution is optimal for it (certified by duality).
    ``start`` blocks join the first round."""
    n = X.shape[0]
    per_round = max(20, n)
    order = np.argsort(-np.linalg.norm((D * y[:, None]).T @ X, axis=1))
    work = {(int(i), s) for i in order[:per_round] for s in SIGNS} | set(start)
    solves: list[SolveStats] = []
    values = None
    for rnd in range(MAX_GROW_ROUNDS):
        # growth rounds only look for violators; the refinement below solves at tol.solver
        sol = solve_on(work, tol=grow_tol, inaccurate_ok=True)  # a guess: the dual check below decides
        solves.append(sol.stats)
        t = time.perf_counter()
        # project blocks in decreasing order of their bound until enough violators are found
        # (a round that finds fewer has checked every block: its "no violator" is exact)
        level = bound * (1 + active_tol)
        in_work = np.zeros((D.shape[1], 2), dtype=bool)
        for i, s in work:
            in_work[i, sign_column(s)] = True
        values = dual_values(X, D, sol.nu, screen=screen, facets=facets, stop_after=(CHECK_FACTOR * per_round, level),
                             first=in_work, previous=values)
        exact = cast(np.ndarray, values.exact)  # (set whenever stop_after is)
        new = list(_blocks_above(np.where(exact, values.values, 0.0), level) - work)
        worst = np.max(values.values[exact], initial=0.0) / bound - 1
        log.info("working set round %d: %d blocks, %d violators found, max exact dual value / bound - 1 = %.2e "
                 "(solve %.2fs, check %.2fs)", rnd, len(work), len(new), worst, sol.stats.time_s,
                 time.perf_counter() - t)
        if not new:
            return solves, values
        # blocks far below the bound carry no weight in this solution (complementary slackness): drop them
        work = {b for b in work if values.values[b[0], sign_column(b[1])] >= DROP_BELOW * bound}
        work |= set(_distinct_most_violating(new, values, per_round))
    raise CertificateError(f"the working set did not converge in {MAX_GROW_ROUNDS} rounds")


def _grow_by_cuts(X: np.ndarray, y: np.ndarray, D: np.ndarray, bound: float, active_tol: float, screen: float,
                  facets: np.ndarray | Cones | None, start_cuts: np.ndarray | None) -> tuple[list[SolveStats], DualValues]:
    """Regression: the dual optimum nu* is the projection of y onto {nu : every block's value <= beta},
    and every unit u with sign s gives a valid linear cut s nu^T (X u)_+ <= beta (the cuts of a
    finite set of neurons are the dual of the lasso over those neurons). Project y onto the cuts
    exactly (:func:`project_polyhedron`), check every block (screened, exact projections, stopping
    after 4 * max(20, n) violators), add the maximizers of the most violating blocks as cuts, drop
    cuts below DROP_BELOW * beta at nu, and repeat until no block violates: as in
    :func:`_grow_working_set` the last check covers every block, and the blocks near the bound at
    this nu start the refinement. One NNLS per round instead of a cone program."""
    start = time.perf_counter()
    n = X.shape[0]
    per_round = CHECK_FACTOR * max(20, n)
    level = bound * (1 + active_tol)
    A = np.zeros((0, n)) if start_cuts is None else start_cuts
    nu, lam = project_polyhedron(y, A, bound) if len(A) else (y.copy(), np.zeros(0))
    values = None
    for rnd in range(MAX_GROW_ROUNDS):
        t = time.perf_counter()
        values = dual_values(X, D, nu, screen=screen, facets=facets, stop_after=(per_round, level), previous=values)
        exact = cast(np.ndarray, values.exact)  # (set whenever stop_after is)
        bad = np.argwhere(exact & (values.values > level))
        log.info("cut round %d: %d cuts, %d violators found, max exact dual value / bound - 1 = %.2e (check %.2fs)",
                 rnd, len(A), len(bad), np.max(values.values[exact], initial=0.0) / bound - 1,
                 time.perf_counter() - t)
        if not len(bad):
            stats = SolveStats(name="cuts+nnls", status="optimal", time_s=time.perf_counter() - start,
                               iterations=rnd + 1, accuracy="low", tolerance=active_tol)
            return [stats], values
        bad = bad[np.argsort(-values.values[bad[:, 0], bad[:, 1]])[:per_round]]
        keep = A @ nu >= DROP_BELOW * bound
        A = add_cuts(A[keep], X, values, bad)  # (the kept cuts first, in order: their active ones warm-start)
        nu, lam = project_warm(y, A, bound, np.flatnonzero(lam[keep] > 0))
    raise CertificateError(f"the cuts did not converge in {MAX_GROW_ROUNDS} rounds")


def _distinct_most_violating(blocks: list[tuple[int, int]], values: DualValues, k: int) -> list[tuple[int, int]]:
    """The k most violating blocks, one per maximizing direction (neighbouring cells often share it)."""
    blocks = sorted(blocks, key=lambda b: -values.values[b[0], sign_column(b[1])])
    seen: set[tuple[float, ...]] = set()
    out = []
    for i, s in blocks:
        key = (s, *np.round(values.directions[i, sign_column(s)], 6))
        if key not in seen:
            seen.add(key)
            out.append((i, s))
            if len(out) == k:
                break
    return out


def _solve_polished(solve_on: BlockSolver, blocks: Iterable[tuple[int, int]], kw: dict[str, Any],
                    polish_tol: float) -> ConvexSolution:
    """Solve on the active blocks at the polish tolerance; fall back to the normal one if refused.
    The few active blocks keep every cone row here: that final solve then fits its own features
    about an order of magnitude closer than with facet rows alone."""
    try:
        return solve_on(blocks, all_rows=True, tol=min(polish_tol, kw["tol"]), inaccurate_ok=False)
    except SolverError as exc:
        log.info("polish at tol %.0e refused (%s); using tol %.0e", polish_tol, exc, kw["tol"])
        return solve_on(blocks, all_rows=True)


# ----------------------------------------------------------------------------- without enumeration

ORACLE_ROUNDS = 100
BRACKET_SEARCH_S = 10.0  # a short search for a proven bound when the oracle's budget is spent
DIRECT_BELOW = 0.5  # after a round that added at most this times max(20, n) cells, list the margin at once
SWEPT_TARGET = 1e-10  # relative dual violation the swept cut rounds reach before the face Newton steps
DICTIONARY_SIZE = 20_000  # directions whose cuts start the swept cut rounds (d = 3)


@dataclass(frozen=True)
class OracleSearch:
    """What the exact oracle (:mod:`oracle`) proved about the cells outside the final patterns."""

    rounds: int  # certified solves over a growing set of patterns
    nodes: int  # branch-and-bound nodes, every search
    seconds: float  # inside the oracle
    cells_added: int  # patterns the oracle added to the sampled seed
    outside: float  # every cell outside the final patterns has dual value <= this (both signs)
    complete: bool = True  # False: out of oracle.time_limit_s; p* is bracketed, not certified
    upper: float = 0.0  # proven upper bound on every cell's dual value (both signs)


def certified_by_oracle(X: np.ndarray, y: np.ndarray, D: np.ndarray, *, problem: str | Problem, beta: float,
                        margin_tol: float, margin_ratio: float, active_tol: float, time_limit_s: float,
                        **solve_kw: Any) -> tuple[Optimum, np.ndarray, OracleSearch]:
    """A certified optimum without enumerating the arrangement. Certify (C) over the patterns D
    (:func:`certified_optimum`); then ask the exact oracle, per sign, for cells whose value exceeds
    the bound (at most 4 max(20, n) a search, most violating first); those D lacks join it and the
    round repeats. When few or none are left, the oracle lists every cell within tol.margin of the
    bound: if none of them is above the bound, nu stays optimal over D and them (the solution over
    D is feasible, nu dual feasible), so their values at nu settle the active set, and every cell
    outside D is proven below bound (1 - tol.margin): the margin and the largest dual value account
    for them. Returns the optimum, the final patterns and the search.
    When the oracle runs out of ``time_limit_s`` the search is not complete: its proven upper bound U
    on the dual constraint (``search.upper``) makes nu bound / U dual feasible, so p* lies between
    that dual value and the primal value over D (:func:`two_layer_solve.p_star_bounds`); the optimum's
    largest dual value is U."""
    from .oracle import cells_above

    prob = get_problem(problem)
    bound = prob.bound(beta)
    n = X.shape[0]
    start, nodes, inside, added, direct = time.perf_counter(), 0, 0.0, 0, False
    kw = dict(problem=problem, beta=beta, margin_tol=margin_tol, margin_ratio=margin_ratio, active_tol=active_tol,
              **solve_kw)
    swept = _swept_start(X, y, bound) if prob.refinable and not solve_kw.get("skip") else None
    first_kw: dict[str, Any] = {}
    if swept is not None:  # the sampled patterns are not needed: the sweep found the cells near the bound
        D, cuts, faces, nodes, inside = swept
        first_kw = dict(start_cuts=cuts, start_faces=faces, working_set="always", refine_at_once=True)
    seen = {col.tobytes() for col in D.T}
    blocks: list[tuple[int, int]] = []
    violators = (bound * (1 + active_tol), CHECK_FACTOR * max(20, n), False)
    margin = (bound * (1 - margin_tol), None, True)
    for rnd in range(ORACLE_ROUNDS):
        opt = certified_optimum(X, y, D, start=blocks, **{**kw, **first_kw})
        first_kw = {k: v for k, v in first_kw.items() if k not in ("start_cuts", "start_faces")}
        blocks = opt.active.blocks
        upper: dict[int, float] = {}
        for level, stop, cells in ([margin] if direct else [violators, margin]):
            new, top, outside = [], 0.0, 0.0
            for s in SIGNS:
                left = time_limit_s - (time.perf_counter() - start)
                res = cells_above(X, s * opt.solution.nu, level, stop_after=stop, time_limit_s=max(left, 0.0),
                                  cells=cells)
                nodes, inside = nodes + res.nodes, inside + res.seconds
                upper[s] = min(upper.get(s, np.inf), max(res.open_bound, res.values.max(initial=0.0)))
                outside = max(outside, res.open_bound)
                fresh = [k for k, col in enumerate(res.patterns.T) if col.tobytes() not in seen]
                new += [res.patterns[:, k] for k in fresh]
                top = max([top] + [res.values[k] for k in fresh])
                if not res.complete and (stop is None or len(res.values) < stop):  # out of time: a bracket
                    U = max([opt.active.max_value] + [_proven_upper(X, t * opt.solution.nu, bound, upper.get(t))
                                                      for t in SIGNS])
                    log.warning("the exact dual oracle ran out of oracle.time_limit_s = %g s after %d nodes: the dual "
                                "constraint is proven <= %.6g x the bound; p* is bracketed, not certified",
                                time_limit_s, nodes, U / bound)
                    search = OracleSearch(rounds=rnd + 1, nodes=nodes, seconds=inside, cells_added=added,
                                          outside=U, complete=False, upper=U)
                    return _with_outside(opt, U, bound), D, search
            log.info("oracle round %d (level %.9g x bound): %d patterns, %d new cells, %d nodes so far, %.1fs", rnd,
                     level / bound, D.shape[1], len(new), nodes, inside)
            if new:
                break
        fresh_cols = np.unique(np.array(new), axis=0) if new else np.zeros((0, n), dtype=bool)
        seen |= {col.tobytes() for col in fresh_cols}
        added += len(fresh_cols)
        D = np.hstack([D, fresh_cols.T])
        if cells and top <= bound * (1 + active_tol):  # every cell within the margin is in D now
            if len(fresh_cols):
                values = dual_values(X, D, opt.solution.nu)
                split_tol = opt.active_tol if opt.active_tol is not None else active_tol
                opt = replace(opt, values=values, active=active_set(values, bound, split_tol, margin_tol, margin_ratio))
            search = OracleSearch(rounds=rnd + 1, nodes=nodes, seconds=inside, cells_added=added, outside=outside,
                                  complete=True, upper=max(max(upper.values()), opt.active.max_value))
            return _with_outside(opt, outside, bound), D, search
        direct = len(fresh_cols) <= DIRECT_BELOW * max(20, n)
    raise CertificateError(f"the exact dual oracle kept finding cells for {ORACLE_ROUNDS} rounds")


def _swept_start(X: np.ndarray, y: np.ndarray, bound: float
                 ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray], int, float] | None:
    """Regression in d = 3: the cuts of :func:`_grow_by_cuts` grown against the great-circle sweep
    (:func:`oracle.sphere_cells_above`) instead of a pattern set. Project y onto the cuts, ask the
    sweep for the peaks (both signs) whose value exceeds the bound (1 + SWEPT_TARGET), most
    violating first, add them as cuts, and repeat until none does; then the cells within CANDIDATE_BAND of the
    bound at that nu are the patterns the certified solve starts from, with the cuts active there
    as its first cuts and their faces as the first faces of its Newton steps. Returns (patterns
    (n, P), cuts, (directions, signs) of those cuts, arcs swept, seconds in the sweep), or None
    when the sweep does not apply (d != 3, degenerate data)."""
    from .oracle import sphere_cells_above

    if X.shape[1] != 3:
        return None
    n = X.shape[0]
    per_round = CHECK_FACTOR * max(20, n)
    level = bound * (1 + SWEPT_TARGET)
    cuts, nu, lam = _dictionary_cuts(X, y, bound, per_round)
    sweeps, seconds = 0, 0.0
    for rnd in range(MAX_GROW_ROUNDS):
        dirs, signs, values = [], [], []
        for s in SIGNS:
            res = sphere_cells_above(X, s * nu, level, stop_after=per_round, peaks=True)
            if res is None:
                return None
            sweeps, seconds = sweeps + res.nodes, seconds + res.seconds
            dirs.append(res.directions)
            signs.append(np.full(len(res.values), s))
            values.append(res.values)
        value = np.concatenate(values)
        log.info("swept cut round %d: %d cuts, %d violators found, max dual value / bound - 1 = %.2e", rnd,
                 len(cuts.rows), len(value), value.max(initial=bound) / bound - 1)
        if not len(value):
            break
        top = np.argsort(-value)[:per_round]
        cuts, nu, lam = _cut_round(X, y, bound, cuts, nu, lam, np.vstack(dirs)[top], np.concatenate(signs)[top])
    else:
        raise CertificateError(f"the swept cuts did not converge in {MAX_GROW_ROUNDS} rounds")
    near = bound * (1 - CANDIDATE_BAND)
    cells = []
    for s in SIGNS:
        res = sphere_cells_above(X, s * nu, near)
        if res is None:
            return None
        sweeps, seconds = sweeps + res.nodes, seconds + res.seconds
        cells.append(res.patterns)
    D = np.unique(np.hstack(cells).T, axis=0).T
    log.info("swept cuts: %d cuts, %d cells within %.0e of the bound", len(cuts.rows), D.shape[1], CANDIDATE_BAND)
    on = lam > 0
    return D, cuts.rows[on], _cell_maximizers(X, nu, cuts.kept(on)), sweeps, seconds


def _cell_maximizers(X: np.ndarray, nu: np.ndarray, cuts: Cuts) -> tuple[np.ndarray, np.ndarray]:
    """(directions, signs): the maximizer at nu of the cell holding each cut's direction, with
    its sign. A cut is any unit direction (a dictionary's, a point on an arc); the face Newton
    steps need the face on which the cell's value is attained."""
    P = X @ cuts.directions.T > 0
    values = dual_values(X, P, nu)
    col = np.array([sign_column(int(s)) for s in cuts.signs], dtype=int)
    return values.directions[np.arange(len(col)), col], cuts.signs


def _dictionary_cuts(X: np.ndarray, y: np.ndarray, bound: float, per_round: int
                     ) -> tuple[Cuts, np.ndarray, np.ndarray]:
    """y projected onto the cuts of a fixed dictionary of DICTIONARY_SIZE directions spread evenly
    over the sphere (a Fibonacci lattice, both signs), by row generation: the cuts it violates
    most join, per_round a round. Its nu is close to the dual optimum (the dictionary is dense), so
    the exact cut rounds that follow start near the end. Returns (cuts held, nu, multipliers)."""
    k = np.arange(DICTIONARY_SIZE) + 0.5
    z = 1.0 - 2.0 * k / DICTIONARY_SIZE
    phi = np.pi * (1.0 + np.sqrt(5.0)) * k
    r = np.sqrt(1.0 - z ** 2)
    U = np.column_stack([r * np.cos(phi), r * np.sin(phi), z])
    F = np.maximum(X @ U.T, 0.0).T  # (M, n) features
    cuts, nu, lam = Cuts.empty(X), y.copy(), np.zeros(0)
    for rnd in range(MAX_GROW_ROUNDS):
        excess = np.concatenate([F @ nu, -(F @ nu)]) - bound * (1 + GROW_TOL)
        bad = np.flatnonzero(excess > 0)
        if not len(bad):
            log.info("dictionary cuts: %d rounds, %d cuts", rnd, len(cuts.rows))
            return cuts, nu, lam
        bad = bad[np.argsort(-excess[bad])[:per_round]]
        cuts, nu, lam = _cut_round(X, y, bound, cuts, nu, lam, U[bad % len(F)], np.where(bad < len(F), 1, -1))
    raise CertificateError(f"the dictionary cuts did not converge in {MAX_GROW_ROUNDS} rounds")


def _cut_round(X: np.ndarray, y: np.ndarray, bound: float, cuts: Cuts, nu: np.ndarray, lam: np.ndarray,
               directions: np.ndarray, signs: np.ndarray) -> tuple[Cuts, np.ndarray, np.ndarray]:
    """One round of cut growth: drop the cuts below DROP_BELOW * bound at nu, join the cuts of unit
    ``directions`` with ``signs``, and project y onto them, warm-started from the kept cuts that
    were active (multiplier > 0). Returns (cuts, nu, multipliers)."""
    keep = cuts.rows @ nu >= DROP_BELOW * bound
    cuts = cuts.kept(keep).joined(X, directions, signs)
    nu, lam = project_warm(y, cuts.rows, bound, np.flatnonzero(lam[keep] > 0))
    return cuts, nu, lam


def _proven_upper(X: np.ndarray, c: np.ndarray, bound: float, known: float | None) -> float:
    """A proven upper bound on max over unit u of sum_i c_i (x_i^T u)_+: ``known``, or the open
    bound of a short search (any node's bound is one)."""
    from .oracle import cells_above

    if known is not None:
        return known
    res = cells_above(X, c, bound, time_limit_s=BRACKET_SEARCH_S)
    return float(max(res.open_bound, res.values.max(initial=0.0)))


def _with_outside(opt: Optimum, outside: float, bound: float) -> Optimum:
    """The optimum with its margin and largest dual value extended to the cells outside its patterns."""
    active = replace(opt.active, margin=min(opt.active.margin, 1.0 - outside / bound),
                     max_value=max(opt.active.max_value, outside))
    return replace(opt, active=active)
