"""Parallel three-layer networks, data to result: the convex program of three_layer.py -> dual
directions -> network (docs/theory.md §7)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .config import Config
from .data import Dataset
from .patterns import general_position_count
from .report import SolveResult, gap_certificates
from .solvers import resolve_solver
from .three_layer import DirectionSet, ThreeLayerNetwork, ThreeLayerSolution, first_layer_directions
from .three_layer import network_from_solution as parallel_network
from .three_layer import solve_three_layer, three_layer_objective


@dataclass
class ThreeLayerResult(SolveResult):
    """A parallel three-layer solve: the scalar result's keys (the polytope and width keys are null:
    the optimal polytope is a two-layer object) plus ``architecture`` and ``first_layer_directions``."""

    config: Config
    data: Dataset
    solution: ThreeLayerSolution
    directions: DirectionSet
    network: ThreeLayerNetwork
    p_star: float
    certificates: dict[str, float]
    timing: dict[str, float]

    def body(self) -> dict[str, Any]:
        cfg, sol, net = self.config, self.solution, self.network
        return {
            "output_dim": 1, "architecture": cfg.model.architecture, "p_star": self.p_star,
            "m_star": None, "m_star_bounds": None, "M_star": None, "M_star_bounds": None, "n_vertices": None,
            "polytope_dim": None, "vertex_cardinalities": None, "degenerate": None,
            "widths_method": "not defined for parallel_three_layer", "enumeration": "",
            "first_layer_directions": self.directions.directions,
            "directions": [{"w": u} for u in self.directions.directions],
            "branches_used": int(net.a.shape[0]), "hidden_needed": int(net.v.shape[1]),
            "vertices": None, "coef_max": None, "y_hat": sol.y_hat, "nu": sol.nu,
            "network": {"width": int(net.a.shape[0]), "W": net.W, "v": net.v, "a": net.a, "z": None},
            "patterns": {"mode": "exact", "count": int(sol.D1.shape[1]), "n_samples": None, "seed": None,
                         "general_position_count": general_position_count(self.data.n, self.data.d),
                         "second_layer_patterns": int(sol.D2.shape[1])},
            "solver": {**sol.stats.as_dict(), "solves": 1},
            "certificates": self.certificates, "staircase": None,
        }


def solve_parallel(cfg: Config, data: Dataset, timing: dict[str, float], t0: float) -> ThreeLayerResult:
    """config -> data -> the convex program of three_layer.py -> dual directions -> network."""
    X, y = data.X, data.y
    t = time.perf_counter()
    sol = solve_three_layer(X, y, beta=cfg.beta, solver=resolve_solver(cfg.solver), tol=cfg.tol.solver)
    timing["optimum_s"] = time.perf_counter() - t
    dirs = first_layer_directions(X, sol, cfg.beta, cfg.tol.margin)
    net = parallel_network(sol)
    p_star = three_layer_objective(net, X, y, cfg.beta)
    certs = {
        # (nu, mu) scale together
        **gap_certificates(p_star, sol.nu, y, dirs.max_value, cfg.beta, cfg.problem),
        "reconstruction_gap": abs(p_star - sol.objective),
    }
    timing["total_s"] = time.perf_counter() - t0
    return ThreeLayerResult(cfg, data, sol, dirs, net, p_star, certs, timing)
