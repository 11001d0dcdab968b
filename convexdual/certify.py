"""Is a given network of (P_m) a global optimum, a non-global stationary point, or neither?

For a network with residual nu = y - f(X) (regression):

- ``gap`` = L(network) - p*, with p* certified by duality on the convex side;
- ``dual_max`` = max over all (pattern, sign) blocks of max_{u in K_i, ||u|| <= 1} s nu^T D_i X u
  (exact cone projections); ``dual_violation`` = max(0, dual_max / beta - 1), relative to beta;
  ``violating_direction`` = the maximizing unit u, its sign and value when dual_max > beta;
- classification: ``global_optimum`` when gap <= gap_tol * max(1, p*); otherwise
  ``stationary_not_global`` when the network attains the optimum of (C) restricted to the
  (pattern, sign) blocks its own neurons realize, within stationary_tol;
  otherwise ``not_stationary``.

A network without neurons, or one whose objective, predictions or gradient are not finite in
float64 (weights too large), is refused with a ConfigError; so are the vector-output and parallel
three-layer networks of :func:`certify_vector` and :func:`certify_parallel`.

See docs/theory.md §8.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .config import CertifyTolerances
from .dual import SIGNS, dual_values
from .errors import ConfigError
from .network import Network, objective
from .program import solve_convex


@dataclass(frozen=True)
class Certificate:
    """The verdict on one network, with the numbers behind it."""

    objective: float
    p_star: float
    gap: float
    dual_max: float
    dual_violation: float
    violating_direction: dict[str, Any] | None
    classification: str
    restricted_objective: float | None  # optimum of (C) over the network's own blocks
    gradient_norm: float
    neurons: int  # neurons with nonzero input and output weights
    tolerances: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def live_neurons(net: Network) -> np.ndarray:
    """Neurons that contribute: nonzero input weights and nonzero output weight (a row of a with
    vector outputs)."""
    a = net.a.reshape(net.a.shape[0], -1)
    return (np.linalg.norm(net.W, axis=1) > 0) & (np.linalg.norm(a, axis=1) > 0)


def neuron_blocks(net: Network, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pattern columns diag(1[X w_j >= 0]) of the live neurons, split by the sign of a_j
    (duplicates removed: neurons sharing a block are one variable of (C))."""
    live = live_neurons(net)
    D = (X @ net.W[live].T >= 0).astype(float)
    signs = np.sign(net.a[live])
    plus = np.unique(D[:, signs > 0].T, axis=0).T if np.any(signs > 0) else np.zeros((X.shape[0], 0))
    minus = np.unique(D[:, signs < 0].T, axis=0).T if np.any(signs < 0) else np.zeros((X.shape[0], 0))
    return plus, minus


def most_violating(X: np.ndarray, D: np.ndarray, nu: np.ndarray,
                   every_cell: bool = True) -> tuple[float, dict[str, Any] | None]:
    """max over blocks of the dual constraint at nu, and where it is attained. When D is not every
    cell (``every_cell`` False: patterns found by the exact oracle), the oracle lists every cell
    above the largest value over D, so the maximum is over every cell still."""
    dv = dual_values(X, D, nu)
    best, where = 0.0, None
    if dv.values.size:
        i, k = np.unravel_index(int(np.argmax(dv.values)), dv.values.shape)
        best, where = float(dv.values[i, k]), {"w": dv.directions[i, k], "sign": SIGNS[k],
                                               "value": float(dv.values[i, k]), "pattern": D[:, i].astype(int)}
    if not every_cell:
        from .oracle import cells_above

        for s in SIGNS:
            res = cells_above(X, s * nu, max(best, 1e-300) * (1 + 1e-12))
            if len(res.values) and res.values.max() > best:
                j = int(np.argmax(res.values))
                best, where = float(res.values[j]), {"w": res.directions[j], "sign": s, "value": float(res.values[j]),
                                                     "pattern": res.patterns[:, j].astype(int)}
    return best, where


def _require_neurons(width: int, hidden: int | None = None) -> None:
    """ConfigError for a network without neurons (width 0, or first-layer width 0 in a branch)."""
    if width == 0:
        raise ConfigError("the network has no neurons (width 0)")
    if hidden == 0:
        raise ConfigError("the network has no neurons (first-layer width 0 in every branch)")


def _require_finite(weights: list[np.ndarray], objective: float, *values: np.ndarray) -> None:
    """ConfigError unless the weights, the objective and ``values`` (predictions, gradient) are finite."""
    if not all(np.all(np.isfinite(w)) for w in weights):
        raise ConfigError("the network's weights contain NaN or infinite values")
    if not np.isfinite(objective) or not all(np.all(np.isfinite(v)) for v in values):
        largest = max((float(np.max(np.abs(w))) for w in weights if w.size), default=0.0)
        raise ConfigError("the network's weights are too large to evaluate the objective in float64 "
                          f"(largest |weight| {largest:.3g})")


def certify(net: Network, X: np.ndarray, y: np.ndarray, D: np.ndarray, *, beta: float, skip: bool, p_star: float,
            solver: str, tol: CertifyTolerances = CertifyTolerances(), solver_tol: float = 1e-10,
            every_cell: bool = True) -> Certificate:
    """Classify a network of (P_m) against the certified optimum p* (regression); ``every_cell``
    False when D holds only the cells the exact oracle found (:func:`most_violating`)."""
    from .training import flat, loss_and_grad

    _require_neurons(net.W.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        obj = objective(net, X, y, "regression", beta)
        prediction = net.predict(X)
        grad = flat(loss_and_grad(net, X, y, beta)[1])
        top = float(np.max(np.abs(grad)))
        gnorm = top * float(np.linalg.norm(grad / top)) if 0 < top < np.inf else top  # scaled: no overflow
    _require_finite([net.W, net.a] + ([net.z] if net.z is not None else []), obj, prediction, grad, np.array(gnorm))
    nu = y - prediction
    dual_max, where = most_violating(X, D, nu, every_cell)
    gap = obj - p_star
    restricted = None
    if gap <= tol.gap * max(1.0, abs(p_star)):
        verdict = "global_optimum"
    else:
        plus, minus = neuron_blocks(net, X)
        if plus.shape[1] + minus.shape[1] == 0 and not skip:
            restricted = 0.5 * float(y @ y)  # the zero network: (C) over no blocks
        else:
            restricted = solve_convex(X, y, plus, minus, problem="regression", beta=beta, skip=skip, solver=solver,
                                      tol=solver_tol).objective
        stationary = obj - restricted <= tol.stationary * max(1.0, abs(obj))
        verdict = "stationary_not_global" if stationary else "not_stationary"
    return Certificate(
        objective=obj, p_star=p_star, gap=gap, dual_max=dual_max,
        dual_violation=max(0.0, dual_max / beta - 1.0),
        violating_direction=where if dual_max > beta else None,
        classification=verdict, restricted_objective=restricted, gradient_norm=gnorm,
        neurons=int(live_neurons(net).sum()),
        tolerances={"gap": tol.gap, "stationary": tol.stationary, "solver": solver_tol},
    )


def certify_vector(W: np.ndarray, A: np.ndarray, X: np.ndarray, Y: np.ndarray, *, beta: float, p_star: float,
                   tol: CertifyTolerances, time_limit_s: float = 600.0) -> dict[str, Any]:
    """A vector-output network: gap to p*, and the exact dual oracle (vector.py) at its residual.
    ``global_optimum`` when gap <= tol.gap * max(1, p*), else ``not_global``."""
    from .patterns import cell_facets, enumerate_patterns
    from .training import flat, loss_and_grad
    from .vector import (MAX_INPUT_DIM, Oracle, SearchOracle, VectorNetwork, edge_directions, oracle,
                         vector_objective)

    _require_neurons(W.shape[0])
    net = VectorNetwork(W=W, A=A)
    with np.errstate(over="ignore", invalid="ignore"):
        obj = vector_objective(net, X, Y, beta)
        prediction = net.predict(X)
        grad = flat(loss_and_grad(Network(W=W, a=A), X, Y, beta)[1])
    _require_finite([W, A], obj, prediction, grad)
    nu = Y - prediction
    if X.shape[1] <= MAX_INPUT_DIM:
        D = enumerate_patterns(X).D
        orc = oracle(X, D, cell_facets(X, D), nu, edge_directions(X))
    else:  # the search oracle: the directions above beta, else the proven bound below it
        orc = SearchOracle(X, time_limit_s)(nu, beta)
        orc = orc if len(orc.values) else Oracle(directions=np.zeros((1, X.shape[1])), values=np.zeros(1),
                                                   upper=orc.upper)
    k = int(np.argmax(orc.values))
    u = orc.directions[k]
    gap = obj - p_star
    return {
        "objective": obj, "p_star": p_star, "gap": gap, "dual_max": orc.max_value,
        "dual_violation": max(0.0, orc.max_value / beta - 1),
        "violating_direction": {"w": u, "a": nu.T @ np.maximum(X @ u, 0) / orc.max_value, "value": orc.max_value}
        if orc.max_value > beta else None,
        "classification": "global_optimum" if gap <= tol.gap * max(1.0, p_star) else "not_global",
        "neurons": int(live_neurons(Network(W=W, a=A)).sum()),
        "tolerances": asdict(tol),
    }


def certify_parallel(W: np.ndarray, v: np.ndarray, a: np.ndarray, X: np.ndarray, y: np.ndarray, *, beta: float,
                     p_star: float, directions: np.ndarray, tol: CertifyTolerances) -> dict[str, Any]:
    """A parallel three-layer network (first layers on the unit Frobenius ball): gap to p* of the
    convex program, and the largest distance of its used first-layer directions to the set fixed
    by the dual optimum. ``global_optimum`` when gap <= tol.gap * max(1, p*), else ``not_global``."""
    from .three_layer import ThreeLayerNetwork, loss_and_grad, three_layer_objective, used_first_layer_directions

    _require_neurons(W.shape[0], W.shape[2])
    if not all(np.all(np.isfinite(w)) for w in (W, v, a)):
        raise ConfigError("the network's weights contain NaN or infinite values")
    with np.errstate(over="ignore"):
        fro = np.sqrt(np.sum(W**2, axis=(1, 2)))
    if np.any(fro > 1 + 1e-9):
        raise ConfigError(f"first-layer weights must lie in the unit Frobenius ball (largest norm {fro.max():.6g})")
    net = ThreeLayerNetwork(W=W, v=v, a=a)
    with np.errstate(over="ignore", invalid="ignore"):
        obj = three_layer_objective(net, X, y, beta)
        prediction = net.predict(X)
        grad = loss_and_grad(net, X, y, beta)[1]
    _require_finite([W, v, a], obj, prediction, grad.W, grad.v, grad.a)
    U = used_first_layer_directions(net, X)
    dist = [float(np.min(np.linalg.norm(directions - u, axis=1))) for u in U] if len(directions) else []
    gap = obj - p_star
    return {
        "objective": obj, "p_star": p_star, "gap": gap,
        "classification": "global_optimum" if gap <= tol.gap * max(1.0, p_star) else "not_global",
        "used_first_layer_directions": U, "max_direction_distance": max(dist) if dist else None,
        "tolerances": asdict(tol),
    }
