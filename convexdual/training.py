"""The nonconvex side: training (P_m) directly, full batch, on the CPU with numpy.

    L(W, a, z) = 1/2 ||f(X) - y||^2 + beta/2 (||W||_F^2 + ||a||^2),   f(X) = (X W^T)_+ a (+ X z)

the objective of network.objective; z, the free skip connection, is not
penalized. Gradients (r = f(X) - y, A = 1[X W^T > 0]):

    dL/da = (X W^T)_+^T r + beta a,   dL/dW = ((r a^T) * A)^T X + beta W,   dL/dz = X^T r.

Optimizers: ``gd`` is full-batch gradient descent with a backtracking (Armijo) step, so the
objective never increases; ``adam`` runs Adam at a fixed learning rate and then the same gradient
descent to finish (Adam alone stalls at a level set by its step). Both stop when the gradient norm
falls below ``grad_tol`` or after ``max_iter`` steps.

See docs/theory.md §1 (the objective).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .config import TrainSettings
from .network import Network


@dataclass(frozen=True)
class TrainResult:
    """A trained network and how training went."""

    network: Network
    objective: float
    iterations: int
    grad_norm: float
    converged: bool  # gradient norm below grad_tol
    seconds: float
    history: list[float] = field(default_factory=list)  # objective every HISTORY_EVERY steps


HISTORY_EVERY = 50
ARMIJO = 1e-4  # sufficient-decrease constant of the backtracking step


def loss_and_grad(net: Network, X: np.ndarray, y: np.ndarray, beta: float) -> tuple[float, Network]:
    """The objective of (P_m) and its gradient (as a Network of the same shapes). With vector
    outputs, a is (m, c) and y is (n, c) (no skip connection)."""
    pre = X @ net.W.T
    act = np.maximum(pre, 0.0)
    r = act @ net.a - y
    if net.z is not None:
        r = r + X @ net.z
    loss = 0.5 * float(np.sum(r * r)) + 0.5 * beta * (float(np.sum(net.W**2)) + float(np.sum(net.a**2)))
    ga = act.T @ r + beta * net.a
    back = np.outer(r, net.a) if net.a.ndim == 1 else r @ net.a.T  # (n, m): dL/d(act), vector outputs too
    gW = (back * (pre > 0)).T @ X + beta * net.W
    gz = X.T @ r if net.z is not None else None
    return loss, Network(W=gW, a=ga, z=gz)


def initial_network(m: int, d: int, seed: int, scale: float, skip: bool) -> Network:
    """Random initialization of a width-m network (seeded)."""
    rng = np.random.default_rng(seed)
    return Network(W=rng.normal(0.0, scale / np.sqrt(d), (m, d)), a=rng.normal(0.0, scale / np.sqrt(m), m),
                   z=np.zeros(d) if skip else None)


def flat(net: Network) -> np.ndarray:
    """All parameters (W, a, then z) as one vector."""
    parts = [net.W.ravel(), net.a.ravel()] + ([net.z] if net.z is not None else [])
    return np.concatenate(parts)


def _unflat(v: np.ndarray, like: Network) -> Network:
    m, d = like.W.shape
    k = like.a.size
    z = v[m * d + k:].copy() if like.z is not None else None
    return Network(W=v[: m * d].reshape(m, d).copy(), a=v[m * d: m * d + k].reshape(like.a.shape).copy(), z=z)


def train(X: np.ndarray, y: np.ndarray, beta: float, net: Network, settings: TrainSettings) -> TrainResult:
    """Train from ``net``: Adam (optional) then backtracking gradient descent to ``grad_tol``."""
    t0 = time.perf_counter()
    v = flat(net)
    history: list[float] = []
    it = 0
    if settings.optimizer == "adam":
        v, it = _adam(X, y, beta, v, net, settings, history)
    v, it, loss, gnorm = _descend(X, y, beta, v, net, settings, history, it)
    return TrainResult(network=_unflat(v, net), objective=loss, iterations=it, grad_norm=gnorm,
                       converged=gnorm <= settings.grad_tol, seconds=time.perf_counter() - t0, history=history)


def _adam(X: np.ndarray, y: np.ndarray, beta: float, v: np.ndarray, like: Network, s: TrainSettings,
          history: list[float]) -> tuple[np.ndarray, int]:
    """Adam (beta1 = 0.9, beta2 = 0.999) at learning rate ``s.lr`` for at most ``s.adam_iter`` steps."""
    m1, m2 = np.zeros_like(v), np.zeros_like(v)
    it = 0
    for it in range(1, min(s.adam_iter, s.max_iter) + 1):
        loss, g = loss_and_grad(_unflat(v, like), X, y, beta)
        gv = flat(g)
        if it % HISTORY_EVERY == 1:
            history.append(loss)
        if np.linalg.norm(gv) <= s.grad_tol:
            break
        m1 = 0.9 * m1 + 0.1 * gv
        m2 = 0.999 * m2 + 0.001 * gv**2
        v = v - s.lr * (m1 / (1 - 0.9**it)) / (np.sqrt(m2 / (1 - 0.999**it)) + 1e-12)
    return v, it


def _descend(X: np.ndarray, y: np.ndarray, beta: float, v: np.ndarray, like: Network, s: TrainSettings,
             history: list[float], it: int) -> tuple[np.ndarray, int, float, float]:
    """Gradient descent with backtracking: the step doubles after a success and halves until
    L(v - t g) <= L(v) - ARMIJO t ||g||^2, so L never increases."""
    step = s.lr
    loss, g = loss_and_grad(_unflat(v, like), X, y, beta)
    gv = flat(g)
    while it < s.max_iter and np.linalg.norm(gv) > s.grad_tol:
        it += 1
        if it % HISTORY_EVERY == 1:
            history.append(loss)
        g2 = float(gv @ gv)
        while True:
            trial = v - step * gv
            new_loss, new_g = loss_and_grad(_unflat(trial, like), X, y, beta)
            if new_loss <= loss - ARMIJO * step * g2 or step < 1e-16:
                break
            step *= 0.5
        if new_loss > loss:  # no decrease possible at machine precision: stop here
            break
        v, loss, gv = trial, new_loss, flat(new_g)
        step *= 2.0
    return v, it, loss, float(np.linalg.norm(gv))
