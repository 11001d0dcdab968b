"""The pipeline, top to bottom: config -> data -> patterns -> convex program -> dual -> optimal set
-> widths -> result. :func:`solve` checks the config's size, loads the data and hands them to the
config's architecture (:mod:`convexdual.variants`); the result's :meth:`to_dict` is the JSON of
``convexdual solve --json``.

See docs/theory.md §1 (the objective) and §8 (the certificates of a result).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from .config import Config, find_data_file
from .data import load_data
from .errors import CertificateError, ConfigError, ResourceLimitError
from .network import Network, network_from_coefficients, objective, skip_weights
from .patterns import pattern_budget
from .report import SolveResult, gap_certificates, solver_json, staircase_fits
from .solve_cache import SolveCache
from .three_layer_solve import ThreeLayerResult, solve_parallel
from .two_layer_solve import BracketResult, Result, certificates, p_star_bounds, patterns_json, width_phases
from .variants import architecture_of
from .vector_solve import VectorResult, solve_vector

__all__ = [  # (the names callers import from here; each lives in its own module)
    "BracketResult", "Network", "Result", "SolveCache", "SolveResult", "ThreeLayerResult", "VectorResult",
    "certificates", "certified_solve", "certified_two_layer", "check_budget", "check_data_size", "gap_certificates",
    "network_from_coefficients", "objective", "p_star_bounds", "patterns_json", "plan_patterns", "skip_weights",
    "solve", "solve_parallel", "solve_vector", "solver_json", "staircase_fits", "width_phases",
]

log = logging.getLogger("convexdual")


def check_data_size(cfg: Config, base_dir: Path | None) -> Config:
    """Refuse data whose size or patterns exceed the limits before drawing or parsing them: kind
    gaussian (n and d are in the config) and CSV files (n is at most the number of lines). Returns
    the config to solve with (:func:`plan_patterns`)."""
    if cfg.data.kind == "file" and cfg.data.path is not None and cfg.data.path.lower().endswith(".csv"):
        with open(find_data_file(cfg.data.path, base_dir), "rb") as fh:
            lines = 1 + sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b""))
        plan_patterns(cfg, lines, 1, f"data file {cfg.data.path}: up to {lines} rows, d >= 1")
    if cfg.data.kind == "gaussian" and cfg.data.n is not None and cfg.data.d is not None:
        need = cfg.data.n * (cfg.data.d + cfg.model.outputs + 1) * 8
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
    stops at d = 3; the count bounds the cells the search may visit). Refuses what fits neither.
    The architecture declares which applies (:class:`variants.Architecture`)."""
    arch = architecture_of(cfg)
    if arch.oracle_above_dim is not None and cfg.patterns.mode == "exact" and d > arch.oracle_above_dim:
        check_budget(cfg, n, d, what)
        log.info("%s: vector outputs in d = %d: certifying with the exact dual oracle (enumeration covers d <= %d)",
                 cfg.name, d, arch.oracle_above_dim)
        return replace(cfg, patterns=replace(cfg.patterns, mode="oracle"))
    try:
        check_budget(cfg, n, d, what)
        return cfg
    except ResourceLimitError as exc:
        if cfg.patterns.mode != "exact" or not arch.oracle_fallback:
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


def solve(cfg: Config, cache: SolveCache | None = None) -> SolveResult:
    """Run the whole pipeline for one config. ``cache``: a sweep's :class:`SolveCache`, so that
    solves of the same data share their patterns and warm starts (the answer depends on neither)."""
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    base = Path(cfg.source).parent if cfg.source else None
    cfg = check_data_size(cfg, base)
    data = load_data(cfg.data, base_dir=base)
    cfg = plan_patterns(cfg, data.n, data.d)
    timing["data_s"] = time.perf_counter() - t0
    return architecture_of(cfg).solve(cfg, data, timing, t0, cache if cache is not None else SolveCache())


def certified_solve(cfg: Config, cache: SolveCache | None = None) -> Result | VectorResult | ThreeLayerResult:
    """:func:`solve`, for the commands that need a certified optimum: a bracket is refused."""
    result = solve(cfg, cache)
    if isinstance(result, BracketResult):
        lo, hi = result.p_star_bounds
        raise CertificateError(f"{cfg.name}: the exact dual oracle ran out of oracle.time_limit_s = "
                               f"{cfg.oracle.time_limit_s:g} s; p* is only bracketed in [{lo:.10g}, {hi:.10g}] "
                               "(raise oracle.time_limit_s)")
    assert isinstance(result, (Result, VectorResult, ThreeLayerResult)), type(result)
    return result


def certified_two_layer(cfg: Config, cache: SolveCache | None = None) -> Result:
    """:func:`certified_solve` for the commands that take the scalar two-layer network only (they
    refuse other configs first, :func:`variants.require`)."""
    if architecture_of(cfg).name != "two_layer":
        raise ConfigError(f"{cfg.name}: a scalar two-layer config was expected")
    result = certified_solve(cfg, cache)
    assert isinstance(result, Result), type(result)
    return result
