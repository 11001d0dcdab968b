"""The training problems (losses) of the two-layer network, behind one interface.

A problem fixes the objective of the width-m network (P_m), the convex program (C) over activation
patterns, its dual objective and the bound of the dual constraint (docs/theory.md §1-§3). The
pipeline and the numerical core ask the problem object instead of testing its name; adding a loss
means one class here and one entry in :data:`PROBLEMS`.

    regression      1/2 ||f(X) - y||^2 + beta/2 sum_j (||w_j||^2 + a_j^2)     dual bound beta
    interpolation   1/2 sum_j (||w_j||^2 + a_j^2)  subject to f(X) = y         dual bound 1
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from .errors import ConfigError, SolverError


class Problem(ABC):
    """One training loss. Class attributes say which steps of the pipeline apply to it."""

    name: ClassVar[str]
    uses_beta: ClassVar[bool]  # beta enters the objective (and the run's identity)
    exact_fit: ClassVar[bool]  # the optimal networks fit y exactly (the fit target is y itself)
    refinable: ClassVar[bool]  # its dual optimum is unique and refine.refine_dual sharpens it (without skip)
    facet_cones: ClassVar[bool]  # (C) may write each cone with its facet rows alone
    working_set: ClassVar[bool]  # working_set: auto may grow a block working set
    polish: ClassVar[bool]  # a final solve on the blocks that are not clearly inactive sharpens y_hat
    width_values: ClassVar[bool]  # a width-m network below m* has a finite best objective
    refusals: ClassVar[dict[str, str]] = {}  # command -> the line it refuses this problem with

    def require(self, command: str) -> None:
        """Raise :class:`ConfigError` when ``command`` does not take this problem."""
        if command in self.refusals:
            raise ConfigError(self.refusals[command])

    @abstractmethod
    def bound(self, beta: float) -> float:
        """The right-hand side of the dual constraint max_u |nu^T (X u)_+| <= bound."""

    @abstractmethod
    def objective(self, residual: np.ndarray, penalty: float, beta: float) -> float:
        """(P_m) from the fit residual f(X) - y and penalty = 1/2 sum_j (||w_j||^2 + a_j^2)."""

    @abstractmethod
    def dual_objective(self, nu: np.ndarray, y: np.ndarray) -> float:
        """The dual objective at nu (Frobenius inner products for n x c targets)."""

    @abstractmethod
    def convex_objective(self, fit: Any, y: np.ndarray, norms: Any, beta: float) -> tuple[Any, Any | None]:
        """(cvxpy objective, equality constraint or None) of (C) from the fit expression and the
        sum of the blocks' norms."""

    @abstractmethod
    def dual_point(self, y: np.ndarray, y_hat: np.ndarray, equality: Any | None) -> np.ndarray:
        """nu from a solution of (C): its fit y_hat, or the multiplier of its equality constraint."""

    @abstractmethod
    def empty_solution(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        """(objective, nu) of (C) over no blocks and no skip connection (the zero network)."""

    def fit_target(self, y: np.ndarray, nu: np.ndarray) -> np.ndarray:
        """What every optimal network fits: y_hat* = y - nu* (regression) or y (exact fit)."""
        return y if self.exact_fit else y - nu

    def json_beta(self, beta: float) -> float | None:
        """The ``beta`` of a result's JSON (null where beta plays no part)."""
        return beta if self.uses_beta else None


class Regression(Problem):
    name = "regression"
    uses_beta = True
    exact_fit = False
    refinable = True
    facet_cones = True
    working_set = True
    polish = True
    width_values = True

    def bound(self, beta: float) -> float:
        return beta

    def objective(self, residual: np.ndarray, penalty: float, beta: float) -> float:
        return 0.5 * float(residual @ residual) + beta * penalty

    def dual_objective(self, nu: np.ndarray, y: np.ndarray) -> float:
        """1/2 ||y||^2 - 1/2 ||nu - y||^2."""
        return float(0.5 * np.vdot(y, y) - 0.5 * np.vdot(nu - y, nu - y))

    def convex_objective(self, fit: Any, y: np.ndarray, norms: Any, beta: float) -> tuple[Any, Any | None]:
        import cvxpy as cp

        return 0.5 * cp.sum_squares(fit - y) + beta * norms, None

    def dual_point(self, y: np.ndarray, y_hat: np.ndarray, equality: Any | None) -> np.ndarray:
        return np.asarray(y - y_hat)

    def empty_solution(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        return 0.5 * float(y @ y), np.asarray(y, float).copy()


class Interpolation(Problem):
    name = "interpolation"
    uses_beta = False
    exact_fit = True
    # Its dual optimum is not unique (the fit is exact), equality-constrained solves are never
    # polished, and with facet rows alone the fit residual can miss the interpolation tolerance; a
    # small working set may not be able to fit y at all.
    refinable = False
    facet_cones = False
    working_set = False
    polish = False
    width_values = False
    refusals = {
        "certify": "certify needs problem: regression",
        "train": "train needs problem: regression (interpolation has no training objective here)",
        "path": "paths, training and certificates need problem: regression",
    }

    def bound(self, beta: float) -> float:
        return 1.0

    def objective(self, residual: np.ndarray, penalty: float, beta: float) -> float:
        return penalty

    def dual_objective(self, nu: np.ndarray, y: np.ndarray) -> float:
        """nu^T y."""
        return float(np.vdot(nu, y))

    def convex_objective(self, fit: Any, y: np.ndarray, norms: Any, beta: float) -> tuple[Any, Any | None]:
        return norms, fit == y

    def dual_point(self, y: np.ndarray, y_hat: np.ndarray, equality: Any | None) -> np.ndarray:
        # cvxpy's multiplier for `fit == y` enters the Lagrangian as + lambda^T (fit - y), so the
        # dual optimum (max nu^T y) is nu = -lambda.
        assert equality is not None, "interpolation's program has its equality constraint"
        return -np.asarray(equality.dual_value).ravel()

    def empty_solution(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        if np.any(y != 0):
            raise SolverError("interpolation over no blocks is infeasible (y is not zero)")
        return 0.0, np.zeros_like(y, dtype=float)


PROBLEMS: dict[str, Problem] = {p.name: p for p in (Regression(), Interpolation())}


def get_problem(problem: str | Problem) -> Problem:
    """The registered problem of this name (a :class:`Problem` passes through)."""
    if isinstance(problem, Problem):
        return problem
    try:
        return PROBLEMS[problem]
    except KeyError:
        raise ConfigError(f"unknown problem {problem!r}; known: {', '.join(PROBLEMS)}") from None
