"""Explicit paths in parameter space, built from the convex side and checked point by point.

A network of width m is a list of m *slots*. Inside the optimal set a slot holds an optimal feature
k (unit direction u_k, sign s_k) and a coefficient c >= 0: w = sqrt(c) u_k, a = s_k sqrt(c), so its
objective is that of the aggregated coefficients. Every move below changes
slot coefficients linearly while the aggregate stays in P*, so the objective stays p*:

- merge / move: shift coefficient between two slots of the same feature (split, merge, or a
  permutation step through a spare, empty slot);
- reduce: move the aggregate along a null direction of the active features until a coefficient
  hits zero (the support shrinks; it ends at a vertex of P*);
- edge: the segment between two vertices v, w of P* whose supports together fit in m slots.

Two optima of width m are joined when their vertices are in one component of the staircase graph
(vertices with <= m - 1 nonzeros, joined when |supp v u supp w| <= m); otherwise the straight line
between them is returned to show the barrier.

Descent (width m >= n + 1, from any network): balance each neuron, merge neurons of one
(pattern, sign) block, move straight to the optimum of (C) restricted to the current blocks (a
convex function along a segment to its minimizer does not increase), drop dependent neurons at
constant objective, add the most violating direction in a spare slot with an exact line search,
and repeat until the residual is dual feasible; then continue inside the optimal set.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .certify import live_neurons
from .dual import dual_values
from .errors import ConfigError
from .network import Network, objective, skip_weights
from .optimal_set import Features, Polytope
from .problems import get_problem
from .program import solve_convex

SAMPLES_PER_MOVE = 25
INSIDE_MOVES = ("merge", "reduce", "edge", "permute")  # moves between exact points of P* (not "snap")
TIE = 1e-10  # relative: coefficients this small after a reduction step are zero (they hit zero together)


@dataclass
class PathResult:
    """A path as dense samples of networks, with the objective at each and the moves taken."""

    networks: list[Network] = field(default_factory=list)
    objective: list[float] = field(default_factory=list)
    moves: list[dict[str, Any]] = field(default_factory=list)  # kind, first and last sample index
    verdict: str = ""

    def extend(self, nets: list[Network], values: list[float], kind: str) -> None:
        start = len(self.networks)
        self.networks += nets
        self.objective += values
        self.moves.append({"kind": kind, "first": start, "last": len(self.networks) - 1})

    def summary(self, p_star: float) -> dict[str, Any]:
        obj = np.array(self.objective)
        kinds: dict[str, int] = {}
        for m in self.moves:
            kinds[m["kind"]] = kinds.get(m["kind"], 0) + 1
        return {
            "verdict": self.verdict, "samples": int(obj.size), "moves": kinds,
            "objective_start": float(obj[0]), "objective_end": float(obj[-1]), "p_star": p_star,
            "max_objective_minus_p_star": float(obj.max() - p_star),
            "min_objective_minus_p_star": float(obj.min() - p_star),
            "max_increase": float(np.max(np.diff(obj), initial=0.0)),
            "max_objective_minus_p_star_inside": float(max(
                (max(self.objective[m["first"]: m["last"] + 1]) for m in self.moves
                 if m["kind"] in INSIDE_MOVES), default=p_star) - p_star),
        }


@dataclass(frozen=True)
class Landscape:
    """What the paths need from a solve: data, problem constants, features and the polytope."""

    X: np.ndarray
    y: np.ndarray
    beta: float
    skip: bool
    D: np.ndarray
    features: Features
    polytope: Polytope
    p_star: float
    target: np.ndarray  # y_hat*
    solver: str
    solver_tol: float

    def L(self, net: Network) -> float:
        return objective(net, self.X, self.y, "regression", self.beta)


def landscape(result: Any) -> Landscape:
    """The Landscape of a solved regression instance (two_layer_solve.Result)."""
    from .solvers import resolve_solver

    get_problem(result.config.problem).require("path")
    return Landscape(X=result.data.X, y=result.data.y, beta=result.config.beta, skip=result.config.model.skip,
                     D=result.patterns.D, features=result.features, polytope=result.polytope, p_star=result.p_star,
                     target=result.fit_target, solver=resolve_solver(result.config.solver),
                     solver_tol=result.config.tol.solver)


# ----------------------------------------------------------------------------- slot states


@dataclass(frozen=True)
class Slots:
    """feat[j] = optimal feature in slot j (-1: empty), coef[j] >= 0."""

    feat: np.ndarray
    coef: np.ndarray

    def aggregate(self, K: int) -> np.ndarray:
        c = np.zeros(K)
        np.add.at(c, self.feat[self.feat >= 0], self.coef[self.feat >= 0])
        return c


def slots_network(land: Landscape, s: Slots) -> Network:
    m, d = s.feat.shape[0], land.X.shape[1]
    W, a = np.zeros((m, d)), np.zeros(m)
    used = s.feat >= 0
    root = np.sqrt(np.maximum(s.coef[used], 0.0))
    W[used] = land.features.directions[s.feat[used]] * root[:, None]
    a[used] = land.features.signs[s.feat[used]] * root
    z = None
    if land.skip:
        c = s.aggregate(land.features.H.shape[1])
        z = skip_weights(land.X, land.target, land.features.H, c)
    return Network(W=W, a=a, z=z)


def _sample(land: Landscape, path: PathResult, kind: str, net_at: Callable[[float], Network]) -> Network:
    """Append SAMPLES_PER_MOVE networks net_at(t), t in [0, 1], with their objectives; return the last."""
    nets = [net_at(float(t)) for t in np.linspace(0.0, 1.0, SAMPLES_PER_MOVE)]
    path.extend(nets, [land.L(net) for net in nets], kind)
    return nets[-1]


def _interpolate(land: Landscape, s0: Slots, s1: Slots, path: PathResult, kind: str) -> Slots:
    """Coefficients move linearly; a slot empty at one end takes the feature of the other end."""
    feat = np.where(s0.feat >= 0, s0.feat, s1.feat)
    clash = (s0.feat >= 0) & (s1.feat >= 0) & (s0.feat != s1.feat)
    assert not np.any(clash & (s0.coef > 0) & (s1.coef > 0)), "a slot cannot change feature mid-move"
    _sample(land, path, kind, lambda t: slots_network(land, Slots(feat, (1 - t) * s0.coef + t * s1.coef)))
    return _clean(s1)


def _clean(s: Slots) -> Slots:
    feat = np.where(s.coef > 0, s.feat, -1)
    return Slots(feat, np.where(feat >= 0, s.coef, 0.0))


# ----------------------------------------------------------------------------- network -> slots


def match_features(land: Landscape, net: Network, rel_tol: float = 1e-4) -> Slots:
    """Assign each live neuron to the optimal feature it realizes (same sign, feature vector
    s (X u)_+ within rel_tol in cosine); coefficient ||w|| |a|. Raises when a neuron matches none."""
    H = land.features.H
    Hn = H / np.maximum(np.linalg.norm(H, axis=0), 1e-300)
    m = net.a.shape[0]
    feat, coef = -np.ones(m, dtype=int), np.zeros(m)
    scale = max(1.0, float(land.polytope.c0.sum()))  # neurons below 1e-9 of this are dead (solver round-off)
    for j in range(m):
        cj = float(np.linalg.norm(net.W[j]) * abs(net.a[j]))
        if cj <= 1e-9 * scale:
            continue
        h = np.sign(net.a[j]) * np.maximum(land.X @ net.W[j], 0.0)
        nh = np.linalg.norm(h)
        cos = Hn.T @ h / nh if nh > 0 else np.zeros(H.shape[1])
        k = int(np.argmax(cos)) if cos.size else -1
        if k < 0 or cos[k] < 1 - rel_tol:
            raise ConfigError(f"neuron {j} does not realize an optimal direction: the network is not a global optimum")
        feat[j], coef[j] = k, cj
    return Slots(feat, coef)


def snap(land: Landscape, s: Slots) -> Slots:
    """The nearest point of P* using only the network's features (a small QP), spread over its slots
    in proportion; a feature whose coefficient drops to zero frees its slots."""
    import cvxpy as cp

    from .solvers import solve as solve_problem

    K = land.features.H.shape[1]
    c = s.aggregate(K)
    S = np.flatnonzero(c > 0)
    if S.size == 0:  # the zero network (optimal when no feature is active)
        return _clean(s)
    A = land.polytope.A
    x = cp.Variable(S.size)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(x - c[S])), [A[:, S] @ x == land.polytope.target, x >= 0])
    solve_problem(prob, land.solver, land.solver_tol)
    if x.value is None:
        raise ConfigError("the network's neurons cannot be moved onto the optimal set: it is not a global optimum")
    new = np.zeros(K)
    new[S] = np.maximum(np.asarray(x.value).ravel(), 0.0)
    new[new <= 1e-9 * max(float(new.sum()), 1e-300)] = 0.0
    new[S] = _exact_on_support(A, land.polytope.target, new)[S]
    ratio = np.where(c > 0, new / np.where(c > 0, c, 1.0), 0.0)
    coef = np.where(s.feat >= 0, s.coef * ratio[np.maximum(s.feat, 0)], 0.0)
    return _clean(Slots(s.feat.copy(), coef))


def _exact_on_support(A: np.ndarray, target: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Remove the solver's residual: least-squares correction of c on its own support."""
    S = np.flatnonzero(c > 0)
    out = c.copy()
    out[S] = np.maximum(c[S] + np.linalg.lstsq(A[:, S], target - A @ c, rcond=None)[0], 0.0)
    return out


# ----------------------------------------------------------------------------- moves inside P*


def merge_duplicates(land: Landscape, s: Slots, path: PathResult) -> Slots:
    """One slot per feature: each later slot of a feature pours its coefficient into the first."""
    for k in np.unique(s.feat[s.feat >= 0]):
        idx = np.flatnonzero(s.feat == k)
        for j in idx[1:]:
            coef = s.coef.copy()
            coef[idx[0]] += coef[j]
            coef[j] = 0.0
            s = _interpolate(land, s, Slots(s.feat.copy(), coef), path, "merge")
    return s


def null_step(F: np.ndarray, c: np.ndarray) -> np.ndarray | None:
    """From c > 0 on the columns of F, move along a null direction of F until a coefficient is zero
    (F c is unchanged). None when the columns are independent (nothing to remove)."""
    if F.shape[1] == 0:
        return None
    _, sv, Vt = np.linalg.svd(F)
    if int(np.sum(sv > sv.max() * 1e-9)) == F.shape[1]:
        return None
    t = Vt[-1] if np.any(Vt[-1] < 0) else -Vt[-1]
    neg = t < -1e-12
    ratios = np.where(neg, c / np.where(neg, -t, 1.0), np.inf)
    first = int(np.argmin(ratios))
    new = np.maximum(c + ratios[first] * t, 0.0)
    new[first] = 0.0
    new[new <= TIE * new.sum()] = 0.0  # coefficients that reach zero together (a degenerate vertex)
    return new


def reduce_to_vertex(land: Landscape, s: Slots, path: PathResult) -> Slots:
    """Move along null directions of the used features until they are independent (a vertex)."""
    while True:
        used = np.flatnonzero(s.feat >= 0)
        new = null_step(land.polytope.A[:, s.feat[used]], s.coef[used])
        if new is None:
            return s
        coef = s.coef.copy()
        coef[used] = new
        s = _interpolate(land, s, Slots(s.feat.copy(), coef), path, "reduce")


def vertex_index(land: Landscape, c: np.ndarray) -> int:
    """The listed vertex with the same support as c (a vertex is fixed by its support)."""
    V = land.polytope.vertices
    supp = c > 0
    for i, v in enumerate(V):
        if np.array_equal(v > 0, supp):
            return i
    raise ConfigError("internal: a reduced point is not a listed vertex of P*")


def vertex_route(V: np.ndarray, i: int, j: int, m: int) -> list[int] | None:
    """Shortest walk from vertex i to vertex j in the staircase graph at width m, or None."""
    if i == j:
        return [i]
    supp = V > 0
    nnz = supp.sum(axis=1)
    if nnz[i] > m - 1 or nnz[j] > m - 1:
        return None
    prev = {i: -1}
    queue = deque([i])
    while queue:
        a = queue.popleft()
        for b in np.flatnonzero((nnz <= m - 1) & ((supp[a] | supp).sum(axis=1) <= m)):
            b = int(b)
            if b not in prev:
                prev[b] = a
                if b == j:
                    route = [j]
                    while prev[route[-1]] != -1:
                        route.append(prev[route[-1]])
                    return route[::-1]
                queue.append(b)
    return None


def walk_edge(land: Landscape, s: Slots, v_to: np.ndarray, path: PathResult) -> Slots:
    """Segment from the current vertex to v_to: new features take empty slots."""
    feat, coef = s.feat.copy(), np.zeros_like(s.coef)
    for k in np.flatnonzero(v_to > 0):
        where = np.flatnonzero(feat == k)
        if where.size == 0:
            free = np.flatnonzero(feat < 0)
            where = free[:1]
            feat[where[0]] = k
        coef[where[0]] = v_to[k]
    return _interpolate(land, s, Slots(feat, coef), path, "edge")


def permute(land: Landscape, s: Slots, goal: Slots, path: PathResult) -> Slots:
    """Rearrange slots to goal's order by moves through an empty slot (same aggregate)."""
    for _ in range(4 * len(s.feat) + 4):
        wrong = np.flatnonzero((s.feat != goal.feat) & (goal.feat >= 0))
        if wrong.size == 0:
            return s
        empty = np.flatnonzero(s.feat < 0)
        if empty.size == 0:
            raise ConfigError("no spare neuron: the two networks differ by a permutation of neurons, "
                              "which no path of this width can realize")
        e = next((int(j) for j in empty if goal.feat[j] >= 0), int(empty[0]))
        k = goal.feat[e] if goal.feat[e] >= 0 else s.feat[wrong[0]]
        src = int(np.flatnonzero(s.feat == k)[0])
        feat, coef = s.feat.copy(), s.coef.copy()
        feat[e], coef[e], coef[src] = k, coef[src], 0.0
        s = _interpolate(land, s, Slots(feat, coef), path, "permute")
    raise ConfigError("internal: permutation did not terminate")


def _straight(land: Landscape, a: Network, b: Network, path: PathResult, kind: str) -> None:
    _sample(land, path, kind, lambda t: Network(
        W=(1 - t) * a.W + t * b.W, a=(1 - t) * a.a + t * b.a,
        z=None if a.z is None or b.z is None else (1 - t) * a.z + t * b.z))


def optimal_path(land: Landscape, net_a: Network, net_b: Network) -> PathResult:
    """A path inside Theta*_m from net_a to net_b (both global optima of width m), or the straight
    line between them when the staircase graph puts them in different components."""
    if net_a.a.shape != net_b.a.shape:
        raise ConfigError(f"the two networks have different widths ({net_a.width} and {net_b.width})")
    if land.polytope.vertices is None:
        raise ConfigError("the optimal polytope's vertices were not enumerated; paths need them")
    m = net_a.width
    path = PathResult()
    sa, sb = snap(land, match_features(land, net_a)), snap(land, match_features(land, net_b))
    _straight(land, net_a, slots_network(land, sa), path, "snap")
    back = PathResult()  # built from b's side, appended reversed
    _straight(land, net_b, slots_network(land, sb), back, "snap")
    sa, sb = merge_duplicates(land, sa, path), merge_duplicates(land, sb, back)
    sa, sb = reduce_to_vertex(land, sa, path), reduce_to_vertex(land, sb, back)
    K = land.features.H.shape[1]
    V = land.polytope.vertices
    ia, ib = vertex_index(land, sa.aggregate(K)), vertex_index(land, sb.aggregate(K))
    route = vertex_route(V, ia, ib, m)
    same_point = ia == ib and np.array_equal(sa.feat, sb.feat)
    if route is None and not same_point:
        barrier = PathResult(verdict="different_components")
        _straight(land, net_a, net_b, barrier, "straight line")
        return barrier
    for i in route[1:] if route else []:
        sa = walk_edge(land, sa, V[i], path)
    sa = permute(land, sa, sb, path)
    _append_reversed(path, back)
    path.verdict = "connected"
    return path


def _append_reversed(path: PathResult, back: PathResult) -> None:
    n = len(back.networks)
    for mv in reversed(back.moves):
        first, last = n - 1 - mv["last"], n - 1 - mv["first"]
        path.moves.append({"kind": mv["kind"], "first": len(path.networks) + first, "last": len(path.networks) + last})
    path.networks += back.networks[::-1]
    path.objective += back.objective[::-1]


# ----------------------------------------------------------------------------- descent toward P*


@dataclass(frozen=True)
class Blocks:
    """Slot j holds a vector u_j in the cone of pattern P[:, j] with sign s_j (zero vector: empty)."""

    U: np.ndarray  # (m, d)
    P: np.ndarray  # (n, m) 0/1 patterns
    s: np.ndarray  # (m,) +1/-1


def blocks_network(land: Landscape, b: Blocks, z: np.ndarray | None) -> Network:
    norms = np.linalg.norm(b.U, axis=1)
    root = np.sqrt(norms)
    W = np.where(norms[:, None] > 0, b.U / np.where(norms > 0, root, 1.0)[:, None], 0.0)
    return Network(W=W, a=b.s * root, z=z)


def _block_segment(land: Landscape, b0: Blocks, b1: Blocks, z0: Any, z1: Any, path: PathResult, kind: str) -> None:
    _sample(land, path, kind, lambda t: blocks_network(
        land, Blocks((1 - t) * b0.U + t * b1.U, b0.P, b0.s), None if z0 is None else (1 - t) * z0 + t * z1))


def descent_path(land: Landscape, start: Network, goal: Network, max_rounds: int = 50) -> PathResult:
    """A path of nonincreasing objective from any width-m network (m >= n + 1) to the global optimum goal."""
    n, m = land.X.shape[0], start.width
    if m < n + 1:
        raise ConfigError(f"descent paths need width m >= n + 1 = {n + 1} (got {m})")
    path = PathResult()
    net = _balance(land, start, path)
    b, z = _as_blocks(land, net)
    b = _merge_blocks(land, b, z, path)
    for _ in range(max_rounds):
        b, z = _restricted_descent(land, b, z, path)
        nu = land.y - blocks_network(land, b, z).predict(land.X)
        dv = dual_values(land.X, land.D, nu)
        at_optimum = land.L(blocks_network(land, b, z)) - land.p_star <= 1e-10 * max(1.0, abs(land.p_star))
        if at_optimum or dv.max_value <= land.beta * (1 + 1e-7):
            break
        b = _drop_dependent(land, b, z, path)
        b = _add_violator(land, b, z, dv, path)
    else:
        raise ConfigError(f"descent did not reach the optimum in {max_rounds} rounds")
    reached = blocks_network(land, b, z)
    rest = optimal_path(land, reached, goal)
    if rest.verdict != "connected":
        raise ConfigError("internal: the reached optimum and the goal are not connected at this width")
    _append(path, rest)
    path.verdict = "nonincreasing"
    return path


def _append(path: PathResult, more: PathResult) -> None:
    off = len(path.networks)
    path.moves += [{"kind": mv["kind"], "first": mv["first"] + off, "last": mv["last"] + off} for mv in more.moves]
    path.networks += more.networks
    path.objective += more.objective


def _balance(land: Landscape, net: Network, path: PathResult) -> Network:
    """(w, a) -> (lam w, a / lam) with lam = lam*^t: the penalty is convex in log lam, minimal at
    lam* = sqrt(|a| / ||w||), so it decreases along the way; dead halves shrink to zero."""
    norms = np.linalg.norm(net.W, axis=1)
    live = live_neurons(net)
    lam = np.where(live, np.sqrt(np.abs(net.a) / np.where(live, norms, 1.0)), 1.0)

    def at(t: float) -> Network:  # dead neurons: both halves shrink linearly to zero
        return Network(W=net.W * np.where(live, lam**t, 1.0 - t)[:, None], a=net.a * np.where(live, lam**-t, 1.0 - t),
                       z=net.z)

    return _sample(land, path, "balance", at)


def _as_blocks(land: Landscape, net: Network) -> tuple[Blocks, Any]:
    norms = np.linalg.norm(net.W, axis=1)
    U = net.W * np.abs(net.a)[:, None]  # balanced: u = |a| w, ||u|| = ||w|| |a|
    P = (land.X @ net.W.T >= 0).astype(float)
    s = np.where(net.a < 0, -1.0, 1.0)
    U[norms == 0] = 0.0
    return Blocks(U, P, s), (net.z.copy() if net.z is not None else None)


def _merge_blocks(land: Landscape, b: Blocks, z: Any, path: PathResult) -> Blocks:
    """Neurons sharing a (pattern, sign) block merge: u_i + t u_j, (1 - t) u_j; ||.|| only decreases."""
    m = b.U.shape[0]
    live = np.linalg.norm(b.U, axis=1) > 0
    for i in range(m):
        for j in range(i + 1, m):
            if live[i] and live[j] and b.s[i] == b.s[j] and np.array_equal(b.P[:, i], b.P[:, j]):
                U = b.U.copy()
                U[i] += U[j]
                U[j] = 0.0
                new = Blocks(U, b.P, b.s)
                _block_segment(land, b, new, z, z, path, "merge")
                b, live[j] = new, False
    return b


def _restricted_descent(land: Landscape, b: Blocks, z: Any, path: PathResult) -> tuple[Blocks, Any]:
    """Straight to the optimum of (C) over the current blocks (convex, so nonincreasing)."""
    live = np.flatnonzero(np.linalg.norm(b.U, axis=1) > 0)
    plus, minus = live[b.s[live] > 0], live[b.s[live] < 0]
    sol = solve_convex(land.X, land.y, b.P[:, plus], b.P[:, minus], problem="regression", beta=land.beta,
                       skip=land.skip, solver=land.solver, tol=land.solver_tol)
    U = np.zeros_like(b.U)
    U[plus], U[minus] = sol.U, sol.V
    U[np.linalg.norm(U, axis=1) <= 1e-10 * max(1.0, float(np.abs(U).max(initial=0.0)))] = 0.0
    new = Blocks(U, b.P, b.s)
    _block_segment(land, b, new, z, sol.z, path, "restricted optimum")
    return new, sol.z


def _drop_dependent(land: Landscape, b: Blocks, z: Any, path: PathResult) -> Blocks:
    """At a restricted optimum every used block is active, so moving along a null direction of the
    unit features keeps fit and penalty: do it until one coefficient is zero, until independent."""
    while True:
        live = np.flatnonzero(np.linalg.norm(b.U, axis=1) > 0)
        norms = np.linalg.norm(b.U[live], axis=1)
        F = (b.P[:, live] * (land.X @ (b.U[live] / norms[:, None]).T)) * b.s[live]
        new_norms = null_step(F, norms)
        if new_norms is None:
            return b
        U = b.U.copy()
        U[live] = b.U[live] * (new_norms / norms)[:, None]
        new = Blocks(U, b.P, b.s)
        _block_segment(land, b, new, z, z, path, "drop dependent")
        b = new


def _add_violator(land: Landscape, b: Blocks, z: Any, dv: Any, path: PathResult) -> Blocks:
    """Put the most violating direction in a spare slot, scaled by the exact line search."""
    i, k = np.unravel_index(int(np.argmax(dv.values)), dv.values.shape)
    u, s = dv.directions[i, k], 1.0 if k == 0 else -1.0
    h_raw = s * land.D[:, i] * (land.X @ u)
    z_shift = np.linalg.lstsq(land.X, h_raw, rcond=None)[0] if land.skip else None
    h = h_raw - land.X @ z_shift if land.skip else h_raw  # the skip absorbs the part of h in range(X)
    gamma = (float(dv.values[i, k]) - land.beta) / max(float(h @ h), 1e-300)
    spare = np.flatnonzero(np.linalg.norm(b.U, axis=1) == 0)
    if spare.size == 0:
        raise ConfigError("internal: no spare neuron for the violating direction")
    j = int(spare[0])
    U, P, sg = b.U.copy(), b.P.copy(), b.s.copy()
    P[:, j], sg[j] = land.D[:, i], s
    start = Blocks(U.copy(), P, sg)
    U[j] = gamma * u
    new = Blocks(U, P, sg)
    z1 = z - gamma * z_shift if z is not None else None  # z stays optimal: linear in gamma
    _block_segment(land, start, new, z, z1, path, "add violating direction")
    return new
