"""The dual oracle without enumeration: the cells whose dual value reaches a threshold, by branch
and bound over the hyperplane arrangement.

For a dual point nu and a sign s, the dual constraint is the maximum over unit u of
f(u) = sum_i c_i (x_i^T u)_+ with c = s nu; on the cell of pattern D it is linear, and its maximum
over the cell is the block's dual value ||Proj_{K_D}(X^T D c)||. Terms with c_i < 0 are concave
(c_i t_+ = min(0, c_i t)), so the search branches only on the signs of x_i^T u with c_i > 0. A node
is the polyhedral cone R = {u : sigma_j x_j^T u >= 0, j fixed}; for it:

- intervals: h_i = max {x_i^T u : u in R, ||u|| <= 1} = ||Proj_R(x_i)|| and l_i = -||Proj_R(-x_i)||
  (NNLS; any multiplier gives a valid outer bound); h_i <= 0 or l_i >= 0 fixes the sign of a
  positive term on all of R (implied);
- bound: each free positive term is replaced by its secant over [l_i, h_i] (the concave envelope of
  c_i t_+ there), each negative term is kept exactly as min(0, c_i t) = min over mu in [0, 1] of
  mu c_i t. For any lam >= 0 and mu in [0, 1],
      max_{u in R, ||u|| <= 1} (relaxation) <= K + ||a + sum_neg mu_i c_i x_i + sum_fixed lam_j sigma_j x_j||
  (weak duality: the last sum is >= 0 on R); the minimum over (lam, mu), a bounded least-squares
  problem solved by an active-set method, is the relaxation's maximum;
- branching: on the free positive term whose secant can lie furthest above it,
  c_i h_i |l_i| / (h_i - l_i) (its gap at t = 0);
- a leaf (no positive term free) has no secant: its bound is the exact maximum of f over R, and
  the maximizer's cell is a cell of that value. To list single cells, the search goes on below such
  a node over the signs of the negative terms, every bound exact.

Nodes whose bound is below the threshold are pruned, so every cell whose value reaches the threshold
lies in a leaf that is listed (with its maximizing cell), and every other cell is proven below it.
Depth first, the higher bound first, reaches good cells at once. With ``stop_after`` the search stops
after that many leaves and reports the largest bound left open: every cell outside the listed leaves
is below it. The kernels (:mod:`oracle_kernels`) are compiled with numba.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

TOL = 1e-12  # relative: an interval end within TOL ||x_i|| of zero fixes the sign of term i
ACTIVE_SET_ITERATIONS = 500  # cap on the active-set steps of one node bound (every iterate is valid)
BOUND_SLACK = 1e-12  # relative round-off allowance added to every bound


@dataclass(frozen=True)
class OracleResult:
    """Leaves whose maximum reaches ``threshold`` (all of them when ``complete``), each with the cell
    of its maximizer, and a proof about the rest: every cell outside them has value at most
    ``open_bound`` (< threshold when complete)."""

    patterns: np.ndarray  # (n, k) bool: the maximizing cell of each leaf found
    values: np.ndarray  # (k,) their values
    directions: np.ndarray  # (k, d) unit maximizers
    threshold: float
    open_bound: float  # upper bound on the value of every cell not listed
    complete: bool  # the search ended: every cell >= threshold is listed
    best: float  # the largest value found anywhere (a lower bound on the maximum)
    nodes: int
    seconds: float


def cells_above(X: np.ndarray, c: np.ndarray, threshold: float, stop_after: int | None = None,
                time_limit_s: float | None = None, cells: bool = False) -> OracleResult:
    """Every leaf whose maximum of sum_i c_i (x_i^T u)_+ over unit u is at least ``threshold``
    (> 0), with the pattern of its maximizer's cell, the value and the maximizer (module docstring);
    with ``cells`` the leaves are single cells, so every cell of value >= threshold is listed.
    ``stop_after`` leaves or ``time_limit_s`` end the search early (``complete`` False)."""
    from .oracle_kernels import node

    start = time.perf_counter()
    X = np.ascontiguousarray(X, dtype=float)
    c = np.ascontiguousarray(c, dtype=float)
    n, d = X.shape
    norms = np.linalg.norm(X, axis=1)
    root = np.where(norms == 0, 2, 0).astype(np.int64)  # zero rows: pattern 1, no term
    slack = BOUND_SLACK * (1.0 + float(np.abs(c) @ norms))
    stack: list[tuple[float, tuple, int]] = []  # depth first: a dive reaches cells at once
    patterns: list[np.ndarray] = []
    values: list[float] = []
    directions: list[np.ndarray] = []
    best, nodes, pruned = 0.0, 0, 0.0

    def expand(state: tuple, row: np.ndarray) -> tuple[float, tuple, int] | None:
        """Bound a node (state: signs and the intervals it starts from, updated in place); record
        it if it is a leaf; return it if it must be branched on."""
        nonlocal best, nodes, pruned
        sig = state[0]
        bound, u, branch = node(X, c, norms, sig, TOL, ACTIVE_SET_ITERATIONS, cells, *state[1:], row,
                                 threshold - slack)
        nodes += 1
        best = max(best, float(c @ np.maximum(X @ u, 0.0)))
        if branch < 0:  # a leaf: the exact maximum over its cone, reached in the cell of u
            if bound >= threshold:
                patterns.append(np.where(sig != 0, sig > 0, X @ u > 0))
                values.append(float(bound))
                directions.append(u)
            else:
                pruned = max(pruned, float(bound))
            return None
        if bound + slack < threshold:
            pruned = max(pruned, float(bound + slack))
            return None
        return float(bound + slack), state, branch

    root_state = (root, np.zeros(n), np.zeros(n), np.zeros((n, d)), np.zeros((n, d)), np.zeros(n, dtype=np.bool_))
    first = expand(root_state, np.zeros(d))
    if first is not None:
        stack.append(first)
    complete = True
    while stack:
        if (stop_after is not None and len(patterns) >= stop_after) or (
                time_limit_s is not None and time.perf_counter() - start > time_limit_s):
            complete = False
            break
        _, state, branch = stack.pop()
        children = []
        for s in (1, -1):
            child = tuple(a.copy() for a in state)
            child[0][branch] = s
            kept = expand(child, s * X[branch])
            if kept is not None:
                children.append(kept)
        stack.extend(sorted(children, key=lambda ch: ch[0]))  # the higher bound on top: explored first
    open_bound = max([pruned] + [b for b, _, _ in stack]) if not complete else pruned
    d_out = np.array(directions).reshape(-1, d)
    return OracleResult(patterns=np.array(patterns, dtype=bool).reshape(-1, n).T, values=np.array(values),
                        directions=d_out, threshold=threshold, open_bound=float(open_bound), complete=complete,
                        best=best, nodes=nodes, seconds=time.perf_counter() - start)
