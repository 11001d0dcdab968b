"""Vector outputs (model.outputs = c > 1), data to result: certified vector optimum -> polytope in
R^{nc} -> m*, M* -> staircase (docs/theory.md §7)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .config import Config
from .data import Dataset
from .optimal_set import Polytope, build_polytope
from .patterns import general_position_count
from .report import SolveResult, gap_certificates, solver_json, staircase_fits
from .solvers import resolve_solver
from .vector import VectorNetwork, VectorOptimum, certified_vector_optimum, feature_matrix
from .vector import network_from_coefficients as vector_network
from .vector import vector_objective
from .widths import CriticalWidths, critical_widths, staircase


@dataclass
class VectorResult(SolveResult):
    """A vector-output solve: the scalar result's keys plus ``output_dim``."""

    config: Config
    data: Dataset
    optimum: VectorOptimum
    polytope: Polytope
    widths: CriticalWidths
    p_star: float
    network: VectorNetwork
    certificates: dict[str, float]
    staircase: list[dict[str, Any]] | None
    timing: dict[str, float]

    def body(self) -> dict[str, Any]:
        cfg, poly, w, opt = self.config, self.polytope, self.widths, self.optimum
        n, d, c = self.data.n, self.data.d, self.data.targets.shape[1]
        return {
            "output_dim": c, "p_star": self.p_star, "certified": True,
            "p_star_bounds": [self.p_star - self.certificates["duality_gap"], self.p_star],
            "m_star": w.m_star, "m_star_bounds": list(w.m_star_bounds), "M_star": w.M_star,
            "M_star_bounds": list(w.M_star_bounds), "n_vertices": w.n_vertices, "polytope_dim": poly.dim,
            "polytope_ambient_dim": n * c,
            "vertex_cardinalities": w.vertex_cardinalities, "degenerate": w.degenerate, "widths_method": w.method,
            "enumeration": poly.enumeration_note,
            "directions": [{"w": u, "a": a} for u, a in zip(opt.directions, opt.output_directions)],
            "vertices": poly.vertices, "coef_max": poly.coef_max,
            "y_hat": self.data.targets - opt.solution.nu, "nu": opt.solution.nu,
            "network": {"width": self.network.width, "W": self.network.W, "a": self.network.A, "z": None},
            "patterns": {"mode": "oracle" if opt.search else "exact", "count": opt.n_cells, "n_samples": None,
                         "seed": None, "general_position_count": general_position_count(n, d),
                         **({"oracle": opt.search.as_dict()} if opt.search else {})},
            "solver": {**solver_json(opt.solves), "dictionary_rounds": opt.rounds, "stopping_tolerance": cfg.tol.active},
            "certificates": self.certificates, "staircase": self.staircase,
        }


def solve_vector(cfg: Config, data: Dataset, timing: dict[str, float], t0: float) -> VectorResult:
    """config -> data -> certified vector optimum -> polytope in R^{nc} -> m*, M* -> staircase."""
    X, Y = data.X, data.targets
    t = time.perf_counter()
    opt = certified_vector_optimum(X, Y, beta=cfg.beta, solver=resolve_solver(cfg.solver), tol=cfg.tol.solver,
                                   active_tol=cfg.tol.active, margin_tol=cfg.tol.margin,
                                   margin_ratio=cfg.tol.margin_ratio, search=cfg.patterns.mode == "oracle",
                                   time_limit_s=cfg.oracle.time_limit_s)
    timing["optimum_s"] = time.perf_counter() - t
    t = time.perf_counter()
    G = feature_matrix(X, opt.directions, opt.output_directions)
    Y_hat = Y - opt.solution.nu
    poly = build_polytope(X, G, Y_hat.ravel(), skip=False, max_enum_dim=cfg.polytope.max_enum_dim,
                          enum_timeout_s=cfg.polytope.enum_timeout_s)
    timing["polytope_s"] = time.perf_counter() - t
    t = time.perf_counter()
    widths = critical_widths(poly, cfg.polytope.milp_time_limit_s)
    timing["widths_s"] = time.perf_counter() - t
    net = vector_network(opt, widths.m_star_vertex)
    p_star = vector_objective(vector_network(opt, poly.c0), X, Y, cfg.beta)
    certs = {
        **gap_certificates(p_star, opt.solution.nu, Y, opt.oracle.max_value, cfg.beta, cfg.problem),
        "active_margin": opt.margin,
        "active_deviation": opt.deviation,
        "reconstruction_gap": abs(vector_objective(net, X, Y, cfg.beta) - p_star),
        "polytope_residual": poly.residual,
    }
    steps = None
    if poly.vertices is not None and staircase_fits(cfg, len(poly.vertices)):
        steps = [ph.as_dict() for ph in staircase(poly.vertices, cfg.widths or list(range(1, data.n * Y.shape[1] + 2)))]
        for row in steps:
            row["value"] = p_star if row["optimal"] else None
            if not row["optimal"]:
                row["value_lower_bound"] = p_star
    timing["total_s"] = time.perf_counter() - t0
    return VectorResult(cfg, data, opt, poly, widths, p_star, net, certs, steps, timing)
