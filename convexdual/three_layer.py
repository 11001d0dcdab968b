"""Parallel three-layer ReLU networks (Ergen & Pilanci, ICML 2021).

Network with K parallel branches, each a three-layer ReLU network of first-layer width m1:

    f(X) = sum_k ((X W_k)_+ v_k)_+ a_k,   W_k in R^{d x m1}, v_k in R^{m1}, a_k in R,

trained with weight decay on the last two layers and the first layer on the unit Frobenius ball
(the regularization under which the convex reformulation is exact):

    min 1/2 ||f(X) - y||^2 + beta/2 sum_k (||v_k||^2 + a_k^2)   s.t.  ||W_k||_F <= 1.

Reformulation (derived here; the paper's text was not available to us). With v'_j = |v_j| w_j,
(X W) _+ v = sum_j sign(v_j) (X v'_j)_+ and, by Cauchy-Schwarz, {(X W)_+ v : ||W||_F <= 1,
||v|| <= 1} = {sum_j s_j (X v'_j)_+ : sum_j ||v'_j|| <= 1}: the unit ball of the two-layer convex
model. A branch is balanced at an optimum (||v_k|| = |a_k|), so it costs beta t for the output
sigma (z)_+ with z in t times that ball. Writing (z)_+ = D2 z on the second-layer pattern D2
(with (2 D2 - I) z >= 0) gives the convex program, over every first-layer cell D1_i (sign tau of
the inner block), every second-layer pattern D2_l and output sign sigma:

    min 1/2 ||sum_{l,sigma} sigma D2_l z_{l,sigma} - y||^2 + beta sum ||w_{l,sigma,i,tau}||
    z_{l,sigma} = sum_{i,tau} tau D1_i X w_{l,sigma,i,tau},  w_{...,i,tau} in K_i,
    (2 D2_l - I) z_{l,sigma} >= 0.

It is exact when K is at least the number of nonzero groups (l, sigma) and m1 at least the number
of nonzero inner blocks of a group. Every nonzero second-layer pattern (2^n - 1 of them) is a
group, so n is kept small (``MAX_POINTS``).

First-layer directions fixed by the dual: with nu = y - y_hat and mu_{l,sigma} >= 0 the
multiplier of the coupling constraint, the group's inner blocks see
g = tau X^T D1_i (sigma D2_l nu + (2 D2_l - I) mu); a block can be nonzero only where
||Proj_{K_i}(g)|| = beta, and then its direction is Proj_{K_i}(g) / ||Proj_{K_i}(g)||: a finite set.

See docs/theory.md §7 (parallel three-layer networks).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .dual import cone_projection
from .errors import ConfigError
from .patterns import enumerate_patterns
from .solvers import SolveStats, solve

MAX_POINTS = 8  # 2^n - 1 second-layer patterns: 255 at n = 8


@dataclass(frozen=True)
class ThreeLayerSolution:
    """The convex program's solution: group structure, weights, dual quantities."""

    D1: np.ndarray  # (n, P1) first-layer cells
    D2: np.ndarray  # (n, L) second-layer patterns (every nonzero 0/1 vector)
    blocks: np.ndarray  # (B, 4) int: l, sigma, i, tau for each inner block
    W: np.ndarray  # (B, d) inner block weights
    mu: np.ndarray  # (L * 2, n) coupling multipliers, group g = 2 l + (sigma == -1)
    nu: np.ndarray  # (n,) y - y_hat
    y_hat: np.ndarray
    objective: float
    stats: SolveStats


def _groups(n: int) -> np.ndarray:
    """Every nonzero second-layer pattern, as columns (n, 2^n - 1)."""
    return np.array([p for p in itertools.product((0, 1), repeat=n) if any(p)], dtype=float).T


def solve_three_layer(X: np.ndarray, y: np.ndarray, *, beta: float, solver: str, tol: float) -> ThreeLayerSolution:
    """Solve the convex program of the module docstring (one cvxpy problem, sparse maps)."""
    import cvxpy as cp

    n, d = X.shape
    if n > MAX_POINTS:
        raise ConfigError(f"parallel three-layer networks: every one of the 2^n - 1 second-layer patterns is a "
                          f"group of the convex program, so n <= {MAX_POINTS} (got n = {n})")
    D1 = enumerate_patterns(X).D.astype(float)
    D2 = _groups(n)
    P1, L = D1.shape[1], D2.shape[1]
    blocks = np.array([(l, s, i, t) for l in range(L) for s in (1, -1) for i in range(P1) for t in (1, -1)])
    B = len(blocks)
    group = 2 * blocks[:, 0] + (blocks[:, 1] == -1)
    # z_g = sum over the group's blocks of tau D1_i X w_b: a sparse map vec(W) (row-major) -> (2L * n)
    rows, cols, vals = [], [], []
    for b, (l, s, i, t) in enumerate(blocks):
        for k in np.flatnonzero(D1[:, i]):
            rows += [group[b] * n + k] * d
            cols += list(b * d + np.arange(d))
            vals += list(t * X[k])
    Zmap = sparse.csr_matrix((vals, (rows, cols)), shape=(2 * L * n, B * d))
    sign = np.repeat(np.where(np.arange(2 * L) % 2 == 0, 1.0, -1.0), n)
    outer = D2.T[np.arange(2 * L) // 2].ravel() * sign  # sigma D2_l, stacked per group
    Fmap = sparse.csr_matrix((outer, (np.tile(np.arange(n), 2 * L), np.arange(2 * L * n))), shape=(n, 2 * L * n))
    coupling = (2 * D2.T[np.arange(2 * L) // 2] - 1).ravel()
    cone_rows, cone_cols, cone_vals = [], [], []
    r = 0
    for b, (_, _, i, _) in enumerate(blocks):
        A = (2 * D1[:, i] - 1)[:, None] * X
        for j in range(n):
            cone_rows += [r] * d
            cone_cols += list(b * d + np.arange(d))
            cone_vals += list(A[j])
            r += 1
    Cmap = sparse.csr_matrix((cone_vals, (cone_rows, cone_cols)), shape=(r, B * d))
    w = cp.Variable(B * d)
    z = Zmap @ w
    fit = Fmap @ z
    couple = cp.multiply(coupling, z) >= 0
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(fit - y) + beta * cp.sum(cp.norm(cp.reshape(w, (B, d), order="C"), 2, axis=1))),
                      [Cmap @ w >= 0, couple])
    stats = solve(prob, solver, tol)
    W = np.asarray(w.value).reshape(B, d)
    y_hat = Fmap @ (Zmap @ W.ravel())
    mu = np.asarray(couple.dual_value).reshape(2 * L, n)
    return ThreeLayerSolution(D1=D1, D2=D2, blocks=blocks, W=W, mu=mu, nu=y - y_hat, y_hat=y_hat,
                              objective=float(prob.value), stats=stats)


@dataclass(frozen=True)
class DirectionSet:
    """The first-layer directions the dual optimum allows, with each block's dual value."""

    directions: np.ndarray  # (K, d) distinct unit directions with value beta (within tol)
    values: np.ndarray  # (B,) ||Proj_{K_i}(g_b)|| for every inner block
    max_value: float


def first_layer_directions(X: np.ndarray, sol: ThreeLayerSolution, beta: float, tol: float = 1e-6) -> DirectionSet:
    """Directions Proj_{K_i}(g_b)/||.|| of the blocks with ||Proj|| = beta (relative tol)."""
    values = np.zeros(len(sol.blocks))
    dirs = np.zeros((len(sol.blocks), X.shape[1]))
    for b, (l, s, i, t) in enumerate(sol.blocks):
        g_group = 2 * l + (s == -1)
        nu_t = s * sol.D2[:, l] * sol.nu + (2 * sol.D2[:, l] - 1) * sol.mu[g_group]
        g = t * X.T @ (sol.D1[:, i] * nu_t)
        proj = cone_projection(g, (2 * sol.D1[:, i] - 1)[:, None] * X)
        values[b] = np.linalg.norm(proj)
        if values[b] > 0:
            dirs[b] = proj / values[b]
    active = np.flatnonzero(np.abs(values / beta - 1) <= tol)
    distinct: list[np.ndarray] = []
    for u in dirs[active]:
        if all(np.linalg.norm(u - v) > 1e-6 for v in distinct):
            distinct.append(u)
    return DirectionSet(directions=np.array(distinct).reshape(-1, X.shape[1]), values=values,
                        max_value=float(values.max(initial=0.0)))


@dataclass(frozen=True)
class ThreeLayerNetwork:
    """K branches: W (K, d, m1), v (K, m1), a (K,)."""

    W: np.ndarray
    v: np.ndarray
    a: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        hidden = np.maximum(np.einsum("nd,kdm->knm", X, self.W), 0.0)  # (K, n, m1)
        out: np.ndarray = np.maximum(np.einsum("knm,km->kn", hidden, self.v), 0.0).T @ self.a
        return out


def three_layer_objective(net: ThreeLayerNetwork, X: np.ndarray, y: np.ndarray, beta: float) -> float:
    """1/2 ||f(X) - y||^2 + beta/2 sum_k (||v_k||^2 + a_k^2) (the W_k are on the unit Frobenius ball)."""
    r = net.predict(X) - y
    return 0.5 * float(r @ r) + 0.5 * beta * (float(np.sum(net.v**2)) + float(np.sum(net.a**2)))


def network_from_solution(sol: ThreeLayerSolution, rel: float = 1e-7) -> ThreeLayerNetwork:
    """One branch per nonzero group (l, sigma): with s_b = ||w_b||, t = sum s_b over the group,
    W column b = w_b / sqrt(s_b t) (so ||W||_F = 1), v_b = tau_b sqrt(s_b), a = sigma sqrt(t):
    the branch outputs sigma (z)_+ and costs beta t (balanced: ||v|| = |a| = sqrt(t))."""
    norms = np.linalg.norm(sol.W, axis=1)
    keep = norms > rel * max(float(norms.max(initial=0.0)), 1e-300)
    group = 2 * sol.blocks[:, 0] + (sol.blocks[:, 1] == -1)
    used = sorted(set(group[keep]))
    m1 = max((int(np.sum(keep & (group == g))) for g in used), default=1)
    d = sol.W.shape[1]
    W = np.zeros((len(used), d, m1))
    v = np.zeros((len(used), m1))
    a = np.zeros(len(used))
    for k, g in enumerate(used):
        idx = np.flatnonzero(keep & (group == g))
        s = norms[idx]
        t = float(s.sum())
        W[k, :, : len(idx)] = (sol.W[idx] / np.sqrt(s * t)[:, None]).T
        v[k, : len(idx)] = sol.blocks[idx, 3] * np.sqrt(s)
        a[k] = sol.blocks[idx[0], 1] * np.sqrt(t)
    return ThreeLayerNetwork(W=W, v=v, a=a)


def loss_and_grad(net: ThreeLayerNetwork, X: np.ndarray, y: np.ndarray,
                  beta: float) -> tuple[float, ThreeLayerNetwork]:
    """The objective and its gradient (ReLU'(0) = 0)."""
    pre1 = np.einsum("nd,kdm->knm", X, net.W)
    H = np.maximum(pre1, 0.0)
    s = np.einsum("knm,km->kn", H, net.v)
    o = np.maximum(s, 0.0)
    r = o.T @ net.a - y
    loss = 0.5 * float(r @ r) + 0.5 * beta * (float(np.sum(net.v**2)) + float(np.sum(net.a**2)))
    ga = o @ r + beta * net.a
    ds = (r[None, :] * net.a[:, None]) * (s > 0)  # (K, n)
    gv = np.einsum("knm,kn->km", H, ds) + beta * net.v
    dH = np.einsum("kn,km->knm", ds, net.v) * (pre1 > 0)
    gW = np.einsum("nd,knm->kdm", X, dH)
    return loss, ThreeLayerNetwork(W=gW, v=gv, a=ga)


def train_three_layer(X: np.ndarray, y: np.ndarray, *, beta: float, branches: int, hidden: int, seed: int,
                      iters: int = 20000, lr: float = 0.01) -> ThreeLayerNetwork:
    """Adam from a seeded random start on W_k = U_k / ||U_k||_F (the optimum has ||W_k||_F = 1: the
    output grows with it and it is not penalized), v_k and a_k; the step decays as
    1/sqrt(1 + t/1000). (Projected Adam would be wrong here: its fixed points are not KKT points.)"""
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    params = [rng.standard_normal((branches, d, hidden)), rng.standard_normal((branches, hidden)) / np.sqrt(hidden),
              rng.standard_normal(branches) / np.sqrt(branches)]
    m = [np.zeros_like(p) for p in params]
    v2 = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-12
    for t in range(1, iters + 1):
        net = _on_sphere(*params)
        _, g = loss_and_grad(net, X, y, beta)
        gU = _sphere_gradient(params[0], net.W, g.W)
        step = lr / np.sqrt(1 + t / 1000)
        for j, gj in enumerate((gU, g.v, g.a)):
            m[j] = b1 * m[j] + (1 - b1) * gj
            v2[j] = b2 * v2[j] + (1 - b2) * gj**2
            params[j] = params[j] - step * (m[j] / (1 - b1**t)) / (np.sqrt(v2[j] / (1 - b2**t)) + eps)
    return _on_sphere(*params)


def _on_sphere(U: np.ndarray, v: np.ndarray, a: np.ndarray) -> ThreeLayerNetwork:
    return ThreeLayerNetwork(W=U / np.sqrt(np.sum(U**2, axis=(1, 2)))[:, None, None], v=v, a=a)


def _sphere_gradient(U: np.ndarray, W: np.ndarray, gW: np.ndarray) -> np.ndarray:
    """Chain rule through W = U / ||U||_F: (gW - <gW, W> W) / ||U||_F per branch."""
    inner = np.sum(gW * W, axis=(1, 2))[:, None, None]
    gradient: np.ndarray = (gW - inner * W) / np.sqrt(np.sum(U**2, axis=(1, 2)))[:, None, None]
    return gradient


def used_first_layer_directions(net: ThreeLayerNetwork, X: np.ndarray, rel: float = 1e-3) -> np.ndarray:
    """Unit first-layer directions of the neurons that carry output: |a_k| |v_kj| ||w_kj|| above
    ``rel`` times the largest such product, with (X w_kj)_+ not identically zero."""
    weight = np.abs(net.a)[:, None] * np.abs(net.v) * np.linalg.norm(net.W, axis=1)  # (K, m1)
    alive = np.maximum(np.einsum("nd,kdm->kmn", X, net.W), 0.0).max(axis=2) > 0
    k, j = np.nonzero((weight > rel * weight.max()) & alive)
    U = net.W[k, :, j]
    directions: np.ndarray = U / np.linalg.norm(U, axis=1, keepdims=True)
    return directions
