"""The result of one solve and its JSON: one base type and one JSON builder for every architecture.

Every result carries its config, data and stage timings and states the architecture's own keys
(:meth:`SolveResult.body`); :meth:`SolveResult.to_dict` wraps them with the keys every result
shares (identity, problem, sizes, timing, versions). The keys are a public interface: they are
added to, never renamed or dropped.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from .config import Config
from .data import Dataset
from .dual import dual_objective, feasible_scaling
from .problems import Problem, get_problem
from .results import git_revision, versions
from .solvers import SolveStats

log = logging.getLogger("convexdual")

STAIRCASE_BYTES_PER_PAIR = 16  # the support-union matrix over pairs of vertices and its temporaries


class SolveResult(ABC):
    """What every solve returns: ``config``, ``data``, ``timing`` and :meth:`body`."""

    config: Config
    data: Dataset
    timing: dict[str, float]

    @abstractmethod
    def body(self) -> dict[str, Any]:
        """The architecture's keys of the JSON, in order, between the shared head and tail."""

    def to_dict(self) -> dict[str, Any]:
        """The public JSON of a solve (``convexdual solve --json``)."""
        return result_json(self.config, self.data, self.body(), self.timing)


def result_json(cfg: Config, data: Dataset, body: dict[str, Any], timing: dict[str, float]) -> dict[str, Any]:
    """The shared head (identity, problem, beta, n, d), the body, and the shared tail (timing,
    versions, git revision)."""
    head = {"name": cfg.name, "config_hash": cfg.hash(), "config": cfg.resolved(), "problem": cfg.problem,
            "beta": get_problem(cfg.problem).json_beta(cfg.beta), "n": data.n, "d": data.d}
    return {**head, **body, "timing": timing, "versions": versions(), "git_revision": git_revision()}


def solver_json(solves: list[SolveStats]) -> dict[str, Any]:
    """The ``solver`` entry of a result's JSON: the last solve, total time and count of solves."""
    return {**solves[-1].as_dict(), "time_s": sum(s.time_s for s in solves), "solves": len(solves)}


def gap_certificates(p_star: float, nu: np.ndarray, y: np.ndarray, max_value: float, bound: float,
                     problem: str | Problem) -> dict[str, float]:
    """Duality gap of p* against the feasibly scaled dual point, and the dual violation
    (max_value: the largest dual-constraint value at nu; bound: beta, or 1 for interpolation)."""
    dual = dual_objective(feasible_scaling(nu, max_value, bound), y, problem)
    return {
        "duality_gap": p_star - dual,
        "relative_duality_gap": (p_star - dual) / max(abs(p_star), 1e-300),
        "dual_violation": max(0.0, max_value - bound),
    }


def staircase_fits(cfg: Config, vertices: int) -> bool:
    """Whether the exact staircase (quadratic in the number of vertices) fits ``limits.memory_gb``;
    when it does not, the result states the bounds of the staircase from m* and M* instead."""
    fits = STAIRCASE_BYTES_PER_PAIR * vertices**2 <= cfg.limits.memory_gb * 2**30
    if not fits:
        log.warning("warning: %d vertices: the exact staircase would need %.3g GB (limits.memory_gb = %g); stating "
                    "its bounds from m* and M* instead", vertices, STAIRCASE_BYTES_PER_PAIR * vertices**2 / 2**30,
                    cfg.limits.memory_gb)
    return fits
