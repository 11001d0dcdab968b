"""``convexdual certify``: a stored network against the certified optimum of its config, one pair of
functions per architecture (the certificate as JSON, and its lines of text). The registry of
architectures (:mod:`convexdual.variants`) says which pair a config takes.

See docs/theory.md §8.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .certify import certify, certify_parallel, certify_vector
from .config import Config
from .errors import ConfigError
from .network import Network
from .report import SolveResult
from .results import PARALLEL_LAYOUT, VECTOR_LAYOUT, load_arrays, load_network
from .solvers import resolve_solver
from .three_layer_solve import ThreeLayerResult
from .two_layer_solve import Result
from .vector_solve import VectorResult

log = logging.getLogger("convexdual")


def _identity(out: dict[str, Any], cfg: Config, weights: str, width: int, saved_for: str | None) -> dict[str, Any]:
    return {**out, "width": int(width), "weights": weights, "config_hash": cfg.hash(), "weights_config_hash": saved_for}


def two_layer_certificate(cfg: Config, result: SolveResult, weights: str) -> dict[str, Any]:
    """W (m, d), a (m,)[, z (d,)] against p*: gap, dual feasibility of the residual, class."""
    assert isinstance(result, Result), type(result)
    W, a, z, h = load_network(weights, result.data.X.shape[1], cfg.model.skip)
    if h is not None and h != cfg.hash():
        log.warning("warning: %s was saved for config %s, this config is %s", weights, h, cfg.hash())
    cert = certify(Network(W=W, a=a, z=z), result.data.X, result.data.y, result.patterns.D, beta=cfg.beta,
                   skip=cfg.model.skip, p_star=result.p_star, solver=resolve_solver(cfg.solver), tol=cfg.certify,
                   solver_tol=cfg.tol.solver, every_cell=result.patterns.mode != "oracle")
    return _identity(cert.as_dict(), cfg, weights, a.shape[0], h)


def vector_certificate(cfg: Config, result: SolveResult, weights: str) -> dict[str, Any]:
    """W (m, d), a (m, c) against p*: gap and the exact vector dual oracle at the residual."""
    assert isinstance(result, VectorResult), type(result)
    X = result.data.X
    arrays, h = load_arrays(weights, {"W": 2, "a": 2}, VECTOR_LAYOUT)
    W, A = arrays["W"], arrays["a"]
    if W.shape[1] != X.shape[1] or A.shape != (W.shape[0], cfg.model.outputs):
        raise ConfigError(f"{weights}: need W (m, {X.shape[1]}) and a (m, {cfg.model.outputs}), got {W.shape}, "
                          f"{A.shape}")
    out = certify_vector(W, A, X, result.data.targets, beta=cfg.beta, p_star=result.p_star, tol=cfg.certify,
                         time_limit_s=cfg.oracle.time_limit_s)
    return _identity(out, cfg, weights, W.shape[0], h)


def parallel_certificate(cfg: Config, result: SolveResult, weights: str) -> dict[str, Any]:
    """W (K, d, m1), v (K, m1), a (K,) against p* and the dual's first-layer directions."""
    assert isinstance(result, ThreeLayerResult), type(result)
    X = result.data.X
    arrays, h = load_arrays(weights, {"W": 3, "v": 2, "a": 1}, PARALLEL_LAYOUT)
    W, v, a = arrays["W"], arrays["v"], arrays["a"]
    K, d, m1 = W.shape
    if d != X.shape[1] or v.shape != (K, m1) or a.shape != (K,):
        raise ConfigError(f"{weights}: need W (K, {X.shape[1]}, m1), v (K, m1), a (K,); got {W.shape}, {v.shape}, "
                          f"{a.shape}")
    out = certify_parallel(W, v, a, X, result.data.y, beta=cfg.beta, p_star=result.p_star,
                           directions=result.directions.directions, tol=cfg.certify)
    return _identity(out, cfg, weights, K, h)


def two_layer_lines(out: dict[str, Any], beta: float) -> list[str]:
    """The certificate of a scalar two-layer network as text."""
    lines = [f"{out['weights']}: {out['classification']} (width {out['width']}, {out['neurons']} live neurons)",
             f"  objective {out['objective']:.12g}, p* {out['p_star']:.12g}, gap {out['gap']:.3g}",
             f"  dual constraint max {out['dual_max']:.6g} vs beta {beta:g} (violation {out['dual_violation']:.3g})"]
    if out["restricted_objective"] is not None:
        lines.append(f"  optimum over its own activation patterns {out['restricted_objective']:.12g}")
    if out["violating_direction"] is not None:
        v = out["violating_direction"]
        lines.append(f"  most violating direction u = {np.round(v['w'], 6).tolist()}, sign {v['sign']:+d}, "
                     f"value {v['value']:.6g}")
    return lines


def other_lines(out: dict[str, Any], beta: float) -> list[str]:
    """The certificate of a vector-output or parallel three-layer network as text."""
    lines = [f"{out['weights']}: {out['classification']} (width {out['width']})",
             f"  objective {out['objective']:.12g}, p* {out['p_star']:.12g}, gap {out['gap']:.3g}"]
    if "dual_max" in out:
        lines.append(f"  dual constraint max {out['dual_max']:.6g} vs beta {beta:g} "
                     f"(violation {out['dual_violation']:.3g})")
    if out.get("max_direction_distance") is not None:
        lines.append(f"  used first-layer directions: {len(out['used_first_layer_directions'])}, largest distance to "
                     f"the dual's direction set {out['max_direction_distance']:.3g}")
    return lines
