"""The scalar two-layer network, data to result: patterns -> convex program -> certified dual ->
optimal polytope -> m*, M* -> staircase (docs/theory.md §2-§5, §8).

:func:`solve_two_layer` returns a :class:`Result`, or a :class:`BracketResult` when the exact dual
oracle ran out of time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from . import measure
from .config import Config
from .data import Dataset
from .dual import dual_objective, feasible_scaling
from .network import Network, network_from_coefficients, objective, skip_weights
from .optimal_set import Features, Polytope, active_features, build_polytope
from .optimum import Optimum, OracleSearch, certified_by_oracle, certified_optimum
from .patterns import Patterns, general_position_count
from .problems import Problem, get_problem
from .program import best_value_with_blocks
from .report import SolveResult, gap_certificates, solver_json, staircase_fits
from .solve_cache import SolveCache
from .solvers import resolve_solver
from .widths import CriticalWidths, critical_widths, phase_bounds, staircase

log = logging.getLogger("convexdual")


@dataclass
class Result(SolveResult):
    """Everything one solve produces, with certificates."""

    config: Config
    data: Dataset
    patterns: Patterns
    optimum: Optimum
    features: Features
    polytope: Polytope
    widths: CriticalWidths
    p_star: float
    network: Network
    certificates: dict[str, float]
    staircase: list[dict[str, Any]] | None = None
    fit_target: np.ndarray | None = None  # y_hat* (regression) or y (interpolation)
    timing: dict[str, float] = field(default_factory=dict)
    patterns_reused: bool = False  # the enumeration came from the previous solve of the same X
    staircase_bounds: list[dict[str, Any]] | None = None  # the staircase's bounds from m*, M*, when no staircase
    oracle: OracleSearch | None = None  # patterns: oracle: what the exact dual oracle proved

    def body(self) -> dict[str, Any]:
        cfg, poly, w, opt = self.config, self.polytope, self.widths, self.optimum
        return {
            "p_star": self.p_star,
            "certified": True,
            "p_star_bounds": [self.p_star - self.certificates["duality_gap"], self.p_star],
            "m_star": w.m_star,
            "m_star_bounds": list(w.m_star_bounds),
            "M_star": w.M_star,
            "M_star_bounds": list(w.M_star_bounds),
            "n_vertices": w.n_vertices,
            "polytope_dim": poly.dim,
            "vertex_cardinalities": w.vertex_cardinalities,
            "degenerate": w.degenerate,
            "widths_method": w.method,
            "enumeration": poly.enumeration_note,
            "directions": [
                {"w": u, "sign": int(s), "patterns": p}
                for u, s, p in zip(self.features.directions, self.features.signs, self.features.patterns)
            ],
            "vertices": poly.vertices,
            "coef_max": poly.coef_max,
            "y_hat": opt.solution.y_hat if get_problem(cfg.problem).exact_fit else self.data.y - opt.solution.nu,
            "nu": opt.solution.nu,
            "network": {"width": self.network.width, "W": self.network.W, "a": self.network.a, "z": self.network.z},
            "patterns": patterns_json(self.patterns, self.data, self.patterns_reused, self.oracle),
            "solver": solver_json(opt.solves),
            "certificates": self.certificates,
            "staircase": self.staircase,
            "staircase_bounds": self.staircase_bounds,
        }


@dataclass
class BracketResult(SolveResult):
    """A solve the exact oracle could not finish in oracle.time_limit_s: p* is bracketed by the dual
    value of nu bound / U (U the proven upper bound on the dual constraint) and the primal value
    over the patterns found; nothing about the optimal set is claimed."""

    config: Config
    data: Dataset
    patterns: Patterns
    optimum: Optimum
    p_star_bounds: tuple[float, float]
    oracle: OracleSearch
    timing: dict[str, float] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The keys of :meth:`Result.body`; those that need a certificate are null."""
        opt, (lo, hi) = self.optimum, self.p_star_bounds
        return {
            "p_star": None, "certified": False, "p_star_bounds": [lo, hi],
            "m_star": None, "m_star_bounds": [None, None], "M_star": None, "M_star_bounds": [None, None],
            "n_vertices": None, "polytope_dim": None, "vertex_cardinalities": None, "degenerate": None,
            "widths_method": None, "enumeration": None, "directions": [], "vertices": None, "coef_max": None,
            "y_hat": None, "nu": opt.solution.nu, "network": None,
            "patterns": patterns_json(self.patterns, self.data, False, self.oracle),
            "solver": solver_json(opt.solves),
            "certificates": {"duality_gap": hi - lo, "relative_duality_gap": (hi - lo) / max(abs(hi), 1e-300),
                             "dual_violation": max(0.0, self.oracle.upper - opt.bound)},
            "staircase": None, "staircase_bounds": None,
        }


def patterns_json(patterns: Patterns, data: Dataset, reused: bool, oracle: OracleSearch | None) -> dict[str, Any]:
    """The ``patterns`` entry of a result's JSON."""
    return {"mode": patterns.mode, "count": patterns.count, "n_samples": patterns.n_samples, "seed": patterns.seed,
            "general_position_count": general_position_count(data.n, data.d), "reused": reused,
            "oracle": asdict(oracle) if oracle is not None else None}


def p_star_bounds(opt: Optimum, y: np.ndarray, problem: str | Problem, upper: float) -> tuple[float, float]:
    """[dual value of nu scaled into the feasible set by the proven bound ``upper`` on its dual
    constraint, primal value of the solution over the patterns]: p* lies in between."""
    lower = dual_objective(feasible_scaling(opt.solution.nu, upper, opt.bound), y, problem)
    return lower, max(lower, float(opt.solution.objective))


def solve_two_layer(cfg: Config, data: Dataset, timing: dict[str, float], t0: float,
                    cache: SolveCache | None = None) -> Result | BracketResult:
    """patterns -> certified optimum -> polytope -> m*, M* -> staircase, for scalar outputs.
    ``cache`` (a sweep's) reuses the patterns and the last active set of the same data."""
    cache = cache if cache is not None else SolveCache()
    X, y = data.X, data.y
    prob = get_problem(cfg.problem)
    t = time.perf_counter()
    patterns, facets, cones, reused = cache.patterns_for(X, cfg)
    timing["patterns_s"] = time.perf_counter() - t
    measure.stage_done("cells")
    log.info("%s: n=%d d=%d, %d %s patterns%s", cfg.name, data.n, data.d, patterns.count, patterns.mode,
             " (reused from the previous solve)" if reused else "")

    t = time.perf_counter()
    solver = resolve_solver(cfg.solver)
    start_key = cache.start_key(X, y, cfg)
    kw: dict[str, Any] = dict(problem=prob, beta=cfg.beta, skip=cfg.model.skip, solver=solver, tol=cfg.tol.solver,
                              polish_tol=cfg.tol.polish, active_tol=cfg.tol.active, margin_tol=cfg.tol.margin,
                              margin_ratio=cfg.tol.margin_ratio, working_set=cfg.working_set)
    search = None
    if cfg.patterns.mode == "oracle":
        opt, D, search = certified_by_oracle(X, y, patterns.D, time_limit_s=cfg.oracle.time_limit_s, **kw)
        patterns = replace(patterns, D=D, mode="oracle")
        if not search.complete:
            timing["optimum_s"] = timing["total_s"] = time.perf_counter() - t0
            return BracketResult(cfg, data, patterns, opt, p_star_bounds(opt, y, prob, search.upper), search,
                                 timing)
    else:
        opt = certified_optimum(X, y, patterns.D, facets=facets, cones=cones, **kw, **cache.start(start_key))
    timing["optimum_s"] = time.perf_counter() - t
    measure.stage_done("solve")

    t = time.perf_counter()
    feats = active_features(X, opt.values, opt.active.blocks)
    cache.remember(start_key, opt.active.blocks, feats.H.T)
    target = prob.fit_target(y, opt.solution.nu)
    poly = build_polytope(X, feats.H, target, skip=cfg.model.skip, max_enum_dim=cfg.polytope.max_enum_dim,
                          enum_timeout_s=cfg.polytope.enum_timeout_s)
    timing["polytope_s"] = time.perf_counter() - t
    measure.stage_done("polytope")

    t = time.perf_counter()
    widths = critical_widths(poly, cfg.polytope.milp_time_limit_s)
    timing["widths_s"] = time.perf_counter() - t
    measure.stage_done("widths")

    z0 = skip_weights(X, target, feats.H, poly.c0) if cfg.model.skip else None
    p_star = objective(network_from_coefficients(feats, poly.c0, z0), X, y, prob, cfg.beta)
    c = widths.m_star_vertex
    z = skip_weights(X, target, feats.H, c) if cfg.model.skip else None
    net = network_from_coefficients(feats, c, z)
    certs = certificates(cfg, X, y, opt, poly, p_star, net)
    t = time.perf_counter()
    steps = width_phases(cfg, data, patterns, poly, widths, p_star, solver)
    timing["staircase_s"] = time.perf_counter() - t
    measure.stage_done("staircase")
    timing["total_s"] = time.perf_counter() - t0
    bounds = phase_bounds(widths.m_star_bounds, widths.M_star_bounds, data.n) if steps is None else None
    return Result(cfg, data, patterns, opt, feats, poly, widths, p_star, net, certs, steps, target, timing, reused,
                  bounds, search)


def width_phases(cfg: Config, data: Dataset, patterns: Patterns, poly: Polytope, widths: CriticalWidths,
                 p_star: float, solver: str) -> list[dict[str, Any]] | None:
    """The staircase at every width of ``cfg.widths`` (default 1..n+1), from the one polytope.

    ``value`` is p* from m* on; below m* it is the exact best width-m objective from the block
    search when that is small enough (problems with a finite value below m*, every cell known),
    else null with ``value_lower_bound`` = p*. None when the vertices were not enumerated (the
    phases need every vertex).
    """
    if poly.vertices is None or widths.m_star is None or not staircase_fits(cfg, len(poly.vertices)):
        return None
    prob = get_problem(cfg.problem)
    out = []
    for phase in staircase(poly.vertices, cfg.widths or list(range(1, data.n + 2))):
        row: dict[str, Any] = phase.as_dict()
        if phase.optimal:
            row["value"] = p_star
        elif prob.width_values and patterns.mode == "exact":
            row["value"] = best_value_with_blocks(data.X, data.y, patterns.D, phase.m, beta=cfg.beta, skip=cfg.model.skip,
                                                  solver=solver, tol=cfg.tol.solver,
                                                  budget=cfg.value_search_budget, problem=prob)
            row["value_lower_bound"] = p_star
        elif prob.width_values:  # (the exact search below m* needs every cell)
            row["value"] = None
            row["value_lower_bound"] = p_star
        else:
            row["value"] = None  # no width-m network interpolates with minimum norm
        out.append(row)
    return out


def certificates(cfg: Config, X: np.ndarray, y: np.ndarray, opt: Optimum, poly: Polytope, p_star: float,
                 net: Network) -> dict[str, float]:
    """Duality gap, dual feasibility, active margin and the reconstructed network's gap."""
    nu = opt.solution.nu
    out = {
        **gap_certificates(p_star, nu, y, opt.active.max_value, opt.bound, cfg.problem),
        "active_margin": opt.active.margin,
        "active_deviation": opt.active.max_active_deviation,
        "reconstruction_gap": abs(objective(net, X, y, cfg.problem, cfg.beta) - p_star),
        "polytope_residual": poly.residual,
    }
    if cfg.model.skip:
        out["skip_dual_residual"] = float(np.linalg.norm(X.T @ nu))
    if get_problem(cfg.problem).exact_fit:
        out["interpolation_residual"] = float(np.abs(net.predict(X) - y).max())
    return out
