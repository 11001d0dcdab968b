"""The pipeline, top to bottom: config -> data -> patterns -> convex program -> dual -> optimal set
-> widths -> result. :func:`solve` returns a :class:`Result`; :func:`Result.to_dict` is the JSON of
``convexdual solve --json``.

See docs/theory.md §1 (the objective) and §8 (the certificates of a result).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config, find_data_file
from .data import Dataset, load_data
from .dual import Cones, dual_objective, feasible_scaling, prepared_cones
from .optimal_set import Features, Polytope, active_features, build_polytope
from .optimum import Optimum, OracleSearch, certified_by_oracle, certified_optimum
from .errors import CertificateError, ResourceLimitError
from .patterns import Patterns, cell_facets, enumerate_patterns, general_position_count, pattern_budget, sample_patterns
from .results import git_revision, versions
from .solvers import resolve_solver
from .program import best_value_with_blocks
from .vector import MAX_INPUT_DIM, VectorNetwork, VectorOptimum, certified_vector_optimum, feature_matrix, vector_objective
from .vector import network_from_coefficients as vector_network
from .three_layer import DirectionSet, ThreeLayerNetwork, ThreeLayerSolution, first_layer_directions
from .three_layer import network_from_solution as parallel_network
from .three_layer import solve_three_layer, three_layer_objective
from .widths import CriticalWidths, critical_widths, phase_bounds, staircase

log = logging.getLogger("convexdual")


@dataclass(frozen=True)
class Network:
    """A width-m two-layer network f(X) = sum_j (X w_j)_+ a_j (+ X z with a skip connection)."""

    W: np.ndarray  # (m, d)
    a: np.ndarray  # (m,)
    z: np.ndarray | None = None

    @property
    def width(self) -> int:
        return int(self.a.shape[0])

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = np.maximum(X @ self.W.T, 0.0) @ self.a
        return out + X @ self.z if self.z is not None else out


def network_from_coefficients(feats: Features, c: np.ndarray, z: np.ndarray | None) -> Network:
    """Neuron k of coefficient c_k: w = sqrt(c_k) u_k, a = s_k sqrt(c_k) (balanced)."""
    used = c > 0
    root = np.sqrt(c[used])
    return Network(W=feats.directions[used] * root[:, None], a=feats.signs[used] * root, z=z)


def objective(net: Network, X: np.ndarray, y: np.ndarray, problem: str, beta: float) -> float:
    """(P_m) in the convention of the README's "Objective" (interpolation: 1/2 the squared weights)."""
    penalty = 0.5 * (float(np.sum(net.W**2)) + float(np.sum(net.a**2)))
    if problem == "interpolation":
        return penalty
    r = net.predict(X) - y
    return 0.5 * float(r @ r) + beta * penalty


def skip_weights(X: np.ndarray, target: np.ndarray, H: np.ndarray, c: np.ndarray) -> np.ndarray:
    """z with X z = target - H c (least squares; exact on P*)."""
    return np.linalg.lstsq(X, target - H @ c, rcond=None)[0]


@dataclass
class Result:
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
    staircase_bounds: list[dict[str, Any]] | None = None  # Theorem 2 from the m*, M* bounds, when no staircase
    oracle: OracleSearch | None = None  # patterns: oracle: what the exact dual oracle proved

    def to_dict(self) -> dict[str, Any]:
        """The public JSON of a solve (keys named by the issue tracker are a stable interface)."""
        cfg, poly, w, opt = self.config, self.polytope, self.widths, self.optimum
        return {
            "name": cfg.name,
            "config_hash": cfg.hash(),
            "config": cfg.resolved(),
            "problem": cfg.problem,
            "beta": cfg.beta if cfg.problem == "regression" else None,
            "n": self.data.n,
            "d": self.data.d,
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
            "y_hat": self.data.y - opt.solution.nu if cfg.problem == "regression" else opt.solution.y_hat,
            "nu": opt.solution.nu,
            "network": {"width": self.network.width, "W": self.network.W, "a": self.network.a, "z": self.network.z},
            "patterns": patterns_json(self.patterns, self.data, self.patterns_reused, self.oracle),
            "solver": solver_json(opt),
            "certificates": self.certificates,
            "staircase": self.staircase,
            "staircase_bounds": self.staircase_bounds,
            "timing": self.timing,
            "versions": versions(),
            "git_revision": git_revision(),
        }


@dataclass
class BracketResult:
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

    def to_dict(self) -> dict[str, Any]:
        """The keys of :meth:`Result.to_dict`; those that need a certificate are null."""
        cfg, opt, lo, hi = self.config, self.optimum, *self.p_star_bounds
        return {
            "name": cfg.name, "config_hash": cfg.hash(), "config": cfg.resolved(), "problem": cfg.problem,
            "beta": cfg.beta if cfg.problem == "regression" else None, "n": self.data.n, "d": self.data.d,
            "p_star": None, "certified": False, "p_star_bounds": [lo, hi],
            "m_star": None, "m_star_bounds": [None, None], "M_star": None, "M_star_bounds": [None, None],
            "n_vertices": None, "polytope_dim": None, "vertex_cardinalities": None, "degenerate": None,
            "widths_method": None, "enumeration": None, "directions": [], "vertices": None, "coef_max": None,
            "y_hat": None, "nu": opt.solution.nu, "network": None,
            "patterns": patterns_json(self.patterns, self.data, False, self.oracle),
            "solver": solver_json(opt),
            "certificates": {"duality_gap": hi - lo, "relative_duality_gap": (hi - lo) / max(abs(hi), 1e-300),
                             "dual_violation": max(0.0, self.oracle.upper - opt.bound)},
            "staircase": None, "staircase_bounds": None, "timing": self.timing, "versions": versions(),
            "git_revision": git_revision(),
        }


def patterns_json(patterns: Patterns, data: Dataset, reused: bool, oracle: OracleSearch | None) -> dict[str, Any]:
    """The ``patterns`` entry of a result's JSON."""
    return {"mode": patterns.mode, "count": patterns.count, "n_samples": patterns.n_samples, "seed": patterns.seed,
            "general_position_count": general_position_count(data.n, data.d), "reused": reused,
            "oracle": asdict(oracle) if oracle is not None else None}


def solver_json(opt: Optimum | VectorOptimum) -> dict[str, Any]:
    """The ``solver`` entry of a result's JSON: the last solve, total time and count of solves."""
    return {**opt.solves[-1].as_dict(), "time_s": sum(s.time_s for s in opt.solves), "solves": len(opt.solves)}


def p_star_bounds(opt: Optimum, y: np.ndarray, problem: str, upper: float) -> tuple[float, float]:
    """[dual value of nu scaled into the feasible set by the proven bound ``upper`` on its dual
    constraint, primal value of the solution over the patterns]: p* lies in between."""
    lower = dual_objective(feasible_scaling(opt.solution.nu, upper, opt.bound), y, problem)
    return lower, max(lower, float(opt.solution.objective))


def check_data_size(cfg: Config, base_dir: Path | None) -> Config:
    """Refuse data whose size or patterns exceed the limits before drawing or parsing them: kind
    gaussian (n and d are in the config) and CSV files (n is at most the number of lines). Returns
    the config to solve with (:func:`plan_patterns`)."""
    if cfg.data.kind == "file" and str(cfg.data.path).lower().endswith(".csv"):
        with open(find_data_file(cfg.data.path, base_dir), "rb") as fh:
            lines = 1 + sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b""))
        plan_patterns(cfg, lines, 1, f"data file {cfg.data.path}: up to {lines} rows, d >= 1")
    if cfg.data.kind == "gaussian" and cfg.data.n is not None and cfg.data.d is not None:
        need = cfg.data.n * (cfg.data.d + cfg.outputs + 1) * 8
        if need > cfg.limits.memory_gb * 2**30:
            raise ResourceLimitError(f"data.n = {cfg.data.n}, data.d = {cfg.data.d}: the data alone need "
                                     f"{need / 2**30:.3g} GB; the limit is limits.memory_gb = {cfg.limits.memory_gb:g}")
        return plan_patterns(cfg, cfg.data.n, cfg.data.d + int(cfg.data.bias))
    return cfg


def plan_patterns(cfg: Config, n: int, d: int, what: str | None = None) -> Config:
    """The config to solve with: as given, or, when an exact enumeration would exceed the limits
    (:func:`check_budget`) and the exact dual oracle applies (scalar two-layer networks), with
    ``patterns: oracle`` instead (the same identity: the answer is certified over every cell).
    Vector outputs above d = 3 take the oracle within the same limits (the enumerating vector oracle
    stops at d = 3; the count bounds the cells the search may visit). Refuses what fits neither."""
    if cfg.outputs > 1 and cfg.patterns.mode == "exact" and d > MAX_INPUT_DIM:
        check_budget(cfg, n, d, what)
        log.info("%s: vector outputs in d = %d: certifying with the exact dual oracle (enumeration covers d <= %d)",
                 cfg.name, d, MAX_INPUT_DIM)
        return replace(cfg, patterns=replace(cfg.patterns, mode="oracle"))
    try:
        check_budget(cfg, n, d, what)
        return cfg
    except ResourceLimitError as exc:
        if cfg.patterns.mode != "exact" or cfg.outputs != 1 or cfg.architecture != "two_layer":
            raise
        seeds = min(cfg.patterns.n_samples, cfg.limits.cells)
        oracle = replace(cfg, patterns=replace(cfg.patterns, mode="oracle", n_samples=seeds))
        check_budget(oracle, n, d, what)
        log.info("%s: %s; certifying with the exact dual oracle instead of enumerating", cfg.name, exc)
        return oracle


def check_budget(cfg: Config, n: int, d: int, what: str | None = None) -> None:
    """Refuse, before any enumeration, a solve whose activation patterns (an upper bound: the
    general-position count 2 * sum_{k<d} C(n-1, k), or the samples) or estimated memory exceed
    ``limits.cells`` / ``limits.memory_gb``."""
    cap = cfg.limits.cells
    cells, mem = pattern_budget(n, d, cfg.patterns.mode, cfg.patterns.n_samples, cap=cap)
    what = what or f"n = {n}, d = {d} (columns of X, bias included)"
    if cells > cap:
        raise ResourceLimitError(f"{what}: more than {cap} activation patterns (the bound 2 * sum_(k<d) C(n-1, k)); "
                                 f"the limit is limits.cells = {cap} (reduce n or d, or use patterns: sampled)")
    log.info("%s: n=%d d=%d: at most %d activation patterns, estimated memory %.3g GB", cfg.name, n, d, cells,
             mem / 2**30)
    if mem > cfg.limits.memory_gb * 2**30:
        raise ResourceLimitError(f"{what}: {cells} activation patterns need about {mem / 2**30:.3g} GB; the limit is "
                                 f"limits.memory_gb = {cfg.limits.memory_gb:g}")


def solve(cfg: Config) -> Result | BracketResult:
    """Run the whole pipeline for one config."""
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    base = Path(cfg.source).parent if cfg.source else None
    cfg = check_data_size(cfg, base)
    data = load_data(cfg.data, base_dir=base)
    X, y = data.X, data.y
    cfg = plan_patterns(cfg, data.n, data.d)
    timing["data_s"] = time.perf_counter() - t0
    if cfg.outputs > 1:
        return solve_vector(cfg, data, timing, t0)
    if cfg.architecture == "parallel_three_layer":
        return solve_parallel(cfg, data, timing, t0)

    t = time.perf_counter()
    patterns, facets, cones, reused = _patterns_for(X, cfg)
    timing["patterns_s"] = time.perf_counter() - t
    log.info("%s: n=%d d=%d, %d %s patterns%s", cfg.name, data.n, data.d, patterns.count, patterns.mode,
             " (reused from the previous solve)" if reused else "")

    t = time.perf_counter()
    solver = resolve_solver(cfg.solver)
    start_key = _start_key(X, y, cfg)
    kw = dict(problem=cfg.problem, beta=cfg.beta, skip=cfg.skip, solver=solver, tol=cfg.tol.solver,
              polish_tol=cfg.tol.polish, active_tol=cfg.tol.active, margin_tol=cfg.tol.margin,
              margin_ratio=cfg.tol.margin_ratio, working_set=cfg.working_set)
    search = None
    if cfg.patterns.mode == "oracle":
        opt, D, search = certified_by_oracle(X, y, patterns.D, time_limit_s=cfg.oracle_time_limit_s, **kw)
        patterns = replace(patterns, D=D, mode="oracle")
        if not search.complete:
            timing["optimum_s"] = timing["total_s"] = time.perf_counter() - t0
            return BracketResult(cfg, data, patterns, opt, p_star_bounds(opt, y, cfg.problem, search.upper), search,
                                 timing)
    else:
        opt = certified_optimum(X, y, patterns.D, facets=facets, cones=cones, **kw, **_last_active.get(start_key, {}))
    timing["optimum_s"] = time.perf_counter() - t

    t = time.perf_counter()
    feats = active_features(X, opt.values, opt.active.blocks)
    _last_active.clear()  # one entry: the last solve's active blocks and features seed the next solve of the same data
    _last_active[start_key] = {"start": opt.active.blocks, "start_cuts": feats.H.T}
    target = y - opt.solution.nu if cfg.problem == "regression" else y
    poly = build_polytope(X, feats.H, target, skip=cfg.skip, max_enum_dim=cfg.max_enum_dim,
                          enum_timeout_s=cfg.enum_timeout_s)
    timing["polytope_s"] = time.perf_counter() - t

    t = time.perf_counter()
    widths = critical_widths(poly, cfg.milp_time_limit_s)
    timing["widths_s"] = time.perf_counter() - t

    z0 = skip_weights(X, target, feats.H, poly.c0) if cfg.skip else None
    p_star = objective(network_from_coefficients(feats, poly.c0, z0), X, y, cfg.problem, cfg.beta)
    c = widths.m_star_vertex
    z = skip_weights(X, target, feats.H, c) if cfg.skip else None
    net = network_from_coefficients(feats, c, z)
    certs = certificates(cfg, X, y, opt, poly, p_star, net)
    t = time.perf_counter()
    steps = width_phases(cfg, data, patterns, poly, widths, p_star, solver)
    timing["staircase_s"] = time.perf_counter() - t
    timing["total_s"] = time.perf_counter() - t0
    bounds = phase_bounds(widths.m_star_bounds, widths.M_star_bounds, data.n) if steps is None else None
    return Result(cfg, data, patterns, opt, feats, poly, widths, p_star, net, certs, steps, target, timing, reused,
                  bounds, search)


def certified_solve(cfg: Config) -> Result:
    """:func:`solve`, for the commands that need a certified optimum: a bracket is refused."""
    result = solve(cfg)
    if isinstance(result, BracketResult):
        lo, hi = result.p_star_bounds
        raise CertificateError(f"{cfg.name}: the exact dual oracle ran out of oracle.time_limit_s = "
                               f"{cfg.oracle_time_limit_s:g} s; p* is only bracketed in [{lo:.10g}, {hi:.10g}] "
                               "(raise oracle.time_limit_s)")
    return result


_last_patterns: dict[tuple, tuple[Patterns, np.ndarray | None, Cones | None]] = {}
_last_active: dict[tuple, dict[str, Any]] = {}


def _array_key(*arrays: np.ndarray) -> tuple:
    """A hashable key for the exact contents of arrays (sha256 of shape, dtype and bytes)."""
    import hashlib

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return (h.hexdigest(),)


def _start_key(X: np.ndarray, y: np.ndarray, cfg: Config) -> tuple:
    return _array_key(X, y) + (cfg.problem, cfg.skip, cfg.patterns.mode, cfg.patterns.n_samples, cfg.patterns.seed)


def _patterns_for(X: np.ndarray, cfg: Config) -> tuple[Patterns, np.ndarray | None, Cones | None, bool]:
    """The patterns of X (with their facet rows and, for d <= 3, their prepared cones), reused when
    the previous solve in this process had the same X and pattern settings (a beta or width sweep
    enumerates once). Returns (patterns, facets, cones, reused)."""
    key = _array_key(X) + (cfg.patterns.mode, cfg.patterns.n_samples, cfg.patterns.seed)
    if key in _last_patterns:
        return (*_last_patterns[key], True)
    if cfg.patterns.mode == "exact":
        patterns = enumerate_patterns(X)
        facets = cell_facets(X, patterns.D)  # a sampled set lacks neighbours: its cones keep every row
    else:
        patterns = sample_patterns(X, cfg.patterns.n_samples, cfg.patterns.seed)
        facets = None
    cones = prepared_cones(X, patterns.D, facets)
    _last_patterns.clear()
    _last_patterns[key] = (patterns, facets, cones)
    return patterns, facets, cones, False


STAIRCASE_BYTES_PER_PAIR = 16  # the support-union matrix over pairs of vertices and its temporaries


def staircase_fits(cfg: Config, vertices: int) -> bool:
    """Whether the exact staircase (quadratic in the number of vertices) fits ``limits.memory_gb``;
    when it does not, the result states the bounds of Theorem 2 from m* and M* instead."""
    fits = STAIRCASE_BYTES_PER_PAIR * vertices**2 <= cfg.limits.memory_gb * 2**30
    if not fits:
        log.warning("warning: %d vertices: the exact staircase would need %.3g GB (limits.memory_gb = %g); stating "
                    "its bounds from m* and M* instead", vertices, STAIRCASE_BYTES_PER_PAIR * vertices**2 / 2**30,
                    cfg.limits.memory_gb)
    return fits


def width_phases(cfg: Config, data: Dataset, patterns: Patterns, poly: Polytope, widths: CriticalWidths,
                 p_star: float, solver: str) -> list[dict[str, Any]] | None:
    """The staircase at every width of ``cfg.widths`` (default 1..n+1), from the one polytope.

    ``value`` is p* from m* on; below m* it is the exact best width-m objective from the block
    search when that is small enough (regression), else null with ``value_lower_bound`` = p*.
    None when the vertices were not enumerated (the phases need every vertex).
    """
    if poly.vertices is None or widths.m_star is None or not staircase_fits(cfg, len(poly.vertices)):
        return None
    out = []
    for phase in staircase(poly.vertices, cfg.widths or list(range(1, data.n + 2))):
        row: dict[str, Any] = phase.as_dict()
        if phase.optimal:
            row["value"] = p_star
        elif cfg.problem == "regression" and patterns.mode == "exact":
            row["value"] = best_value_with_blocks(data.X, data.y, patterns.D, phase.m, beta=cfg.beta, skip=cfg.skip,
                                                  solver=solver, tol=cfg.tol.solver,
                                                  budget=cfg.value_search_budget)
            row["value_lower_bound"] = p_star
        elif cfg.problem == "regression":  # (the exact search below m* needs every cell)
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
    if cfg.skip:
        out["skip_dual_residual"] = float(np.linalg.norm(X.T @ nu))
    if cfg.problem == "interpolation":
        out["interpolation_residual"] = float(np.abs(net.predict(X) - y).max())
    return out


def gap_certificates(p_star: float, nu: np.ndarray, y: np.ndarray, max_value: float, bound: float,
                     problem: str = "regression") -> dict[str, float]:
    """Duality gap of p* against the feasibly scaled dual point, and the dual violation
    (max_value: the largest dual-constraint value at nu; bound: beta, or 1 for interpolation)."""
    dual = dual_objective(feasible_scaling(nu, max_value, bound), y, problem)
    return {
        "duality_gap": p_star - dual,
        "relative_duality_gap": (p_star - dual) / max(abs(p_star), 1e-300),
        "dual_violation": max(0.0, max_value - bound),
    }


@dataclass
class VectorResult:
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

    def to_dict(self) -> dict[str, Any]:
        cfg, poly, w, opt = self.config, self.polytope, self.widths, self.optimum
        n, d, c = self.data.n, self.data.d, self.data.targets.shape[1]
        return {
            "name": cfg.name, "config_hash": cfg.hash(), "config": cfg.resolved(), "problem": cfg.problem,
            "beta": cfg.beta, "n": n, "d": d, "output_dim": c, "p_star": self.p_star, "certified": True,
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
            "solver": {**solver_json(opt), "dictionary_rounds": opt.rounds, "stopping_tolerance": cfg.tol.active},
            "certificates": self.certificates, "staircase": self.staircase, "timing": self.timing,
            "versions": versions(), "git_revision": git_revision(),
        }


def solve_vector(cfg: Config, data: Dataset, timing: dict[str, float], t0: float) -> VectorResult:
    """config -> data -> certified vector optimum -> polytope in R^{nc} -> m*, M* -> staircase."""
    X, Y = data.X, data.targets
    t = time.perf_counter()
    opt = certified_vector_optimum(X, Y, beta=cfg.beta, solver=resolve_solver(cfg.solver), tol=cfg.tol.solver,
                                   active_tol=cfg.tol.active, margin_tol=cfg.tol.margin,
                                   margin_ratio=cfg.tol.margin_ratio, search=cfg.patterns.mode == "oracle",
                                   time_limit_s=cfg.oracle_time_limit_s)
    timing["optimum_s"] = time.perf_counter() - t
    t = time.perf_counter()
    G = feature_matrix(X, opt.directions, opt.output_directions)
    Y_hat = Y - opt.solution.nu
    poly = build_polytope(X, G, Y_hat.ravel(), skip=False, max_enum_dim=cfg.max_enum_dim,
                          enum_timeout_s=cfg.enum_timeout_s)
    timing["polytope_s"] = time.perf_counter() - t
    t = time.perf_counter()
    widths = critical_widths(poly, cfg.milp_time_limit_s)
    timing["widths_s"] = time.perf_counter() - t
    net = vector_network(opt, widths.m_star_vertex)
    p_star = vector_objective(vector_network(opt, poly.c0), X, Y, cfg.beta)
    certs = {
        **gap_certificates(p_star, opt.solution.nu, Y, opt.oracle.max_value, cfg.beta),
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


@dataclass
class ThreeLayerResult:
    """A parallel three-layer solve: the scalar result's keys (the polytope and width keys are null:
    Theorem 1's polytope is a two-layer object) plus ``architecture`` and ``first_layer_directions``."""

    config: Config
    data: Dataset
    solution: ThreeLayerSolution
    directions: DirectionSet
    network: ThreeLayerNetwork
    p_star: float
    certificates: dict[str, float]
    timing: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        cfg, sol = self.config, self.solution
        net = self.network
        return {
            "name": cfg.name, "config_hash": cfg.hash(), "config": cfg.resolved(), "problem": cfg.problem,
            "beta": cfg.beta, "n": self.data.n, "d": self.data.d, "output_dim": 1,
            "architecture": cfg.architecture, "p_star": self.p_star,
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
            "certificates": self.certificates, "staircase": None, "timing": self.timing,
            "versions": versions(), "git_revision": git_revision(),
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
        **gap_certificates(p_star, sol.nu, y, dirs.max_value, cfg.beta),  # (nu, mu) scale together
        "reconstruction_gap": abs(p_star - sol.objective),
    }
    timing["total_s"] = time.perf_counter() - t0
    return ThreeLayerResult(cfg, data, sol, dirs, net, p_star, certs, timing)
