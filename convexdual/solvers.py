"""Solver layer: which conic solver runs a cvxpy problem, with explicit tolerances.

``auto`` picks MOSEK when its license check passes, else Clarabel (interior point, accurate,
open source). SCS (first order) runs only with tight tolerances and its results are flagged
``accuracy: low``. ``mosek`` without a license is an error, never a silent fallback.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from .errors import SolverError, first_line

log = logging.getLogger("convexdual")

@dataclass(frozen=True)
class Solver:
    """One conic solver: its cvxpy name, its options at a tolerance, whether its answers are accurate
    (interior point) or only first order, and the options of one retry of an inaccurate status.
    Adding a solver means one :data:`SOLVERS` entry (configs accept its name from then on)."""

    name: str
    cvxpy_name: str
    options: Callable[[float], dict[str, Any]]
    accurate: bool = True
    licensed: bool = False  # needs a license check before use (MOSEK)
    retry_inaccurate: dict[str, Any] | None = None
    retry_note: str = ""  # the log line's words for that retry


def _mosek_options(tol: float) -> dict[str, Any]:
    return {"mosek_params": {"MSK_DPAR_INTPNT_CO_TOL_REL_GAP": tol, "MSK_DPAR_INTPNT_CO_TOL_PFEAS": tol,
                             "MSK_DPAR_INTPNT_CO_TOL_DFEAS": tol}}


def _clarabel_options(tol: float) -> dict[str, Any]:
    return {"tol_gap_abs": tol, "tol_gap_rel": tol, "tol_feas": tol, "tol_ktratio": min(1e-6, tol), "max_iter": 500}


def _scs_options(tol: float) -> dict[str, Any]:
    eps = max(tol, 1e-9)
    return {"eps_abs": eps, "eps_rel": eps, "max_iters": 200_000, "acceleration_lookback": 10}


SOLVERS: dict[str, Solver] = {s.name: s for s in (
    Solver("mosek", "MOSEK", _mosek_options, licensed=True),
    # Clarabel's Ruiz equilibration can stall the primal residual near 1e-7 on the facet-row
    # programs; the same tolerances without it usually converge.
    Solver("clarabel", "CLARABEL", _clarabel_options, retry_inaccurate={"equilibrate_enable": False},
           retry_note="without equilibration"),
    Solver("scs", "SCS", _scs_options, accurate=False),
)}
CHOICES = ("auto", *SOLVERS)  # the config's ``solver`` values
MOSEK_HELP = (
    "install a license file at ~/mosek/mosek.lic (free academic licenses: mosek.com/products/academic-licenses) "
    "or set MOSEKLM_LICENSE_FILE, or use solver=clarabel"
)


SOLVER_SECONDS: dict[str, float] = {}  # this process's seconds inside solver libraries, by library


def count_solver_time(kind: str, seconds: float) -> None:
    """Add to SOLVER_SECONDS (the benchmark's split of wall time into solver and the rest)."""
    SOLVER_SECONDS[kind] = SOLVER_SECONDS.get(kind, 0.0) + seconds


@contextmanager
def in_solver(kind: str) -> Iterator[None]:
    """Count the wall time of the block as time inside the solver library ``kind``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        count_solver_time(kind, time.perf_counter() - start)


@dataclass(frozen=True)
class SolveStats:
    """What every result records about one solve."""

    name: str
    status: str
    time_s: float
    iterations: int | None
    accuracy: str  # "high" (interior point) or "low" (SCS)
    tolerance: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def mosek_license_state() -> tuple[bool, str]:
    """(usable, one-line reason). Checks the package, then a real license checkout."""
    try:
        import mosek
    except ImportError:
        return False, "mosek package not installed (pip install 'convexdual[mosek]')"
    try:
        with mosek.Env() as env:
            env.checkoutlicense(mosek.feature.pts)
    except Exception as exc:  # mosek.Error: the license cannot be located or is invalid
        return False, f"no valid MOSEK license ({first_line(exc)[:120]})"
    return True, "licensed"


def installed() -> list[str]:
    """cvxpy's list of installed solvers, lower case."""
    import cvxpy as cp

    return [s.lower() for s in cp.installed_solvers()]


def resolve_solver(requested: str) -> str:
    """Map a config's ``solver`` to a concrete solver name, or raise :class:`SolverError`."""
    if requested == "auto":
        return "mosek" if mosek_license_state()[0] else "clarabel"
    if requested not in SOLVERS:
        raise SolverError(f"unknown solver {requested!r}; choose {', '.join(CHOICES[:-1])} or {CHOICES[-1]}")
    if SOLVERS[requested].licensed:
        ok, why = mosek_license_state()
        if not ok:
            raise SolverError(f"solver=mosek requested but {why}; {MOSEK_HELP}")
    elif SOLVERS[requested].cvxpy_name.lower() not in installed():
        raise SolverError(f"solver {requested!r} is not installed in this environment")
    return requested


def solver_options(name: str, tol: float) -> dict[str, Any]:
    """Explicit tolerances for each solver (gap and feasibility at ``tol``)."""
    if name not in SOLVERS:
        raise SolverError(f"unknown solver {name!r}")
    return SOLVERS[name].options(tol)


def solve(problem: Any, name: str, tol: float, inaccurate_ok: bool = False) -> SolveStats:
    """Solve a cvxpy problem; an infeasible, unbounded, inaccurate or failed status raises.
    ``inaccurate_ok`` accepts ``optimal_inaccurate`` (for solves whose answer is only a guess that
    something else certifies, such as the working set's growth rounds)."""
    import cvxpy as cp

    start = time.perf_counter()
    options = solver_options(name, tol)
    status = _attempt(problem, name, options)
    accepted = status == cp.OPTIMAL or (inaccurate_ok and status == cp.OPTIMAL_INACCURATE and problem.value is not None)
    retry = SOLVERS[name].retry_inaccurate
    if not accepted and status == cp.OPTIMAL_INACCURATE and retry is not None:
        log.info("%s stalled at %s; retrying %s", name, status, SOLVERS[name].retry_note)
        status = _attempt(problem, name, {**options, **retry})
    elapsed = time.perf_counter() - start
    if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise SolverError(f"{name}: the convex program is infeasible (status {status})")
    if not accepted and status != cp.OPTIMAL:
        raise SolverError(f"{name} returned status {status!r} at tolerance {tol:g}; not publishing an inexact result")
    stats = problem.solver_stats
    return SolveStats(
        name=name,
        status=status,
        time_s=elapsed,
        iterations=getattr(stats, "num_iters", None),
        accuracy="high" if SOLVERS[name].accurate and status == cp.OPTIMAL else "low",
        tolerance=tol,
    )


def _attempt(problem: Any, name: str, options: dict[str, Any]) -> str:
    """One cvxpy solve; returns cvxpy's status (solver exceptions become SolverError)."""
    import cvxpy as cp

    try:
        with warnings.catch_warnings():  # an inaccurate status is reported by the caller
            warnings.simplefilter("ignore")
            problem.solve(solver=SOLVERS[name].cvxpy_name, **options)
    except cp.error.SolverError as exc:
        raise SolverError(f"{name} failed: {first_line(exc)}") from None
    count_solver_time(name, cvxpy_solver_seconds(problem))
    status: str = problem.status
    return status


def cvxpy_solver_seconds(problem: Any) -> float:
    """Seconds of a solved cvxpy problem inside the solver (cvxpy's compilation excluded): cvxpy's
    own clock around the solver call, else the solver's reported solve and setup times."""
    inside = getattr(problem, "_solve_time", None)
    if inside is not None:
        return float(inside)
    stats = problem.solver_stats
    return float(stats.solve_time or 0.0) + float(stats.setup_time or 0.0)


def solver_report() -> list[dict[str, Any]]:
    """For `convexdual solvers`: each solver's availability here, with a tiny real solve."""
    import cvxpy as cp
    import numpy as np

    rows = []
    have = installed()
    for name, spec in SOLVERS.items():
        row: dict[str, Any] = {"solver": name, "installed": spec.cvxpy_name.lower() in have, "works": False,
                               "detail": ""}
        if spec.licensed:
            ok, why = mosek_license_state()
            row["licensed"] = ok
            row["detail"] = why
            if not ok:
                rows.append(row)
                continue
        if row["installed"]:
            x = cp.Variable(2)
            prob = cp.Problem(cp.Minimize(cp.norm(x - np.array([1.0, 2.0]))), [x >= 0, x[0] <= 0.5])
            try:
                solve(prob, name, 1e-8)
                row["works"] = abs(prob.value - 0.5) < 1e-5
                row["detail"] = row["detail"] or "ok"
            except SolverError as exc:
                row["detail"] = str(exc)
        else:
            row["detail"] = "not installed"
        rows.append(row)
    return rows
