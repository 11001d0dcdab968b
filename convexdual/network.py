"""The width-m two-layer ReLU network and its objective (P_m) (docs/theory.md §1).

The bottom of the pipeline: the network model imports nothing but the problem registry, so every
layer above (optimum, polytope, certificates, training, figures) can evaluate networks without
importing the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .problems import Problem, get_problem

if TYPE_CHECKING:
    from .optimal_set import Features


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
        out = np.asarray(np.maximum(X @ self.W.T, 0.0) @ self.a)
        return out + X @ self.z if self.z is not None else out


def network_from_coefficients(feats: Features, c: np.ndarray, z: np.ndarray | None) -> Network:
    """Neuron k of coefficient c_k: w = sqrt(c_k) u_k, a = s_k sqrt(c_k) (balanced)."""
    used = c > 0
    root = np.sqrt(c[used])
    return Network(W=feats.directions[used] * root[:, None], a=feats.signs[used] * root, z=z)


def objective(net: Network, X: np.ndarray, y: np.ndarray, problem: str | Problem, beta: float) -> float:
    """(P_m) of the network: :meth:`Problem.objective` of its residual and of the penalty
    1/2 sum_j (||w_j||^2 + a_j^2) (the skip weights z are not penalized)."""
    penalty = 0.5 * (float(np.sum(net.W**2)) + float(np.sum(net.a**2)))
    return get_problem(problem).objective(net.predict(X) - y, penalty, beta)


def skip_weights(X: np.ndarray, target: np.ndarray, H: np.ndarray, c: np.ndarray) -> np.ndarray:
    """z with X z = target - H c (least squares; exact on P*)."""
    z: np.ndarray = np.linalg.lstsq(X, target - H @ c, rcond=None)[0]
    return z
