"""Is the minimum-norm interpolator (or the regularized optimum) unique, as a function?

P* can have positive dimension while every point of it realizes the same function: with a free
skip connection, an antipodal pair of features moves mass as (u^T x)_+ - (-u^T x)_+ = u^T x, which
the skip absorbs. So uniqueness is decided in function space: the optimal functions are
f_c(x) = sum_k c_k s_k (u_k^T x)_+ (+ z(c)^T x), c in P*, and ``function_dim`` is the rank of the map
from P*'s directions to functions, evaluated on a dense set of inputs around the data.

The proof of non-uniqueness is two vertices of P* (two irreducible networks) with equal norm that
both interpolate and differ as functions by ``max_function_difference``; an independent check moves
an interior point along a null-space direction and re-evaluates the network from its weights.

See docs/theory.md §6.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .network import Network, network_from_coefficients, objective, skip_weights
from .two_layer_solve import Result

DIFFERENCE_TOL = 1e-6  # relative to the scale of y: sup-norm differences below this count as equal
CLEAR_DIFFERENCE = 1e-3  # relative: search reports smaller differences as "unclear" (near-duplicate
# directions at a data-point kink, 1e-6 apart, produced a 5e-5 "difference" on random 1-D data)


@dataclass(frozen=True)
class Uniqueness:
    """The answer with its proof."""

    unique: bool
    polytope_dim: int
    function_dim: int
    max_function_difference: float  # sup over the evaluation set, between two vertices' functions
    networks: list[dict[str, Any]]  # two optimal networks (vertices) with their norms and residuals
    perturbation: dict[str, float]  # independent check along a null-space direction
    evaluation: dict[str, Any]  # where the functions were compared

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluation_inputs(result: Result, n_points: int = 2001, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Inputs around the data (bias column appended when the data have one): a fine grid on the
    interval [min - r/2, max + r/2] for one raw input, random points in the enlarged box otherwise."""
    X = result.data.X
    raw = X[:, :-1] if result.data.bias else X
    lo, hi = raw.min(axis=0), raw.max(axis=0)
    pad = 0.5 * np.maximum(hi - lo, 1e-3)
    lo, hi = lo - pad, hi + pad
    if raw.shape[1] == 1:
        G = np.linspace(lo[0], hi[0], n_points)[:, None]
        where = {"kind": "grid", "interval": [float(lo[0]), float(hi[0])], "points": n_points}
    else:
        rng = np.random.default_rng(seed)
        G = np.vstack([raw, lo + (hi - lo) * rng.random((n_points, raw.shape[1]))])
        where = {"kind": "box", "low": lo.tolist(), "high": hi.tolist(), "points": int(G.shape[0])}
    if result.data.bias:
        G = np.hstack([G, np.ones((G.shape[0], 1))])
    return G, where


def function_of(result: Result, c: np.ndarray) -> Network:
    """The network of coefficients c (with its skip weights when the model has a skip connection)."""
    target = result.fit_target
    z = skip_weights(result.data.X, target, result.features.H, c) if result.config.model.skip else None
    return network_from_coefficients(result.features, c, z)


def analyse(result: Result) -> Uniqueness:
    """Decide uniqueness in function space and assemble the proof."""
    y, poly = result.data.y, result.polytope
    G, where = evaluation_inputs(result)
    scale = max(1.0, float(np.abs(y).max()))
    V = poly.vertices if poly.vertices is not None else poly.sample_vertices
    funcs = np.array([function_of(result, v).predict(G) for v in V])  # every vertex: P* is their hull
    # a witness pair: the vertex farthest from the first, then the one farthest from it
    far = int(np.abs(funcs - funcs[0]).max(axis=1).argmax())
    gaps = np.abs(funcs - funcs[far]).max(axis=1)
    pair = (far, int(gaps.argmax()))
    best = float(gaps.max())
    function_dim = _function_dim(funcs, scale)
    nets = [_describe(result, V[k]) for k in dict.fromkeys(pair)]
    return Uniqueness(
        unique=function_dim == 0,
        polytope_dim=poly.dim,
        function_dim=function_dim,
        max_function_difference=best,
        networks=nets,
        perturbation=_perturbation(result, V),
        evaluation=where,
    )


def _function_dim(funcs: np.ndarray, scale: float) -> int:
    """Dimension of the affine hull of the vertices' functions (= of all optimal functions)."""
    if len(funcs) < 2:
        return 0
    diffs = funcs[1:] - funcs[0]
    s = np.linalg.svd(diffs, compute_uv=False)
    return int((s > DIFFERENCE_TOL * scale * np.sqrt(funcs.shape[1])).sum())


def _describe(result: Result, c: np.ndarray) -> dict[str, Any]:
    net = function_of(result, c)
    X, y = result.data.X, result.data.y
    return {
        "width": net.width,
        "coefficients": c,  # the vertex of P* it realizes
        "W": net.W,
        "a": net.a,
        "z": net.z,
        "objective": objective(net, X, y, result.config.problem, result.config.beta),
        "max_residual_on_data": float(np.abs(net.predict(X) - y).max()),
    }


def _perturbation(result: Result, V: np.ndarray) -> dict[str, float]:
    """Move the centre of the vertices along a null-space direction of P* and re-evaluate the network
    from its weights: interpolation (or the fit) and the objective must not change."""
    X, y, cfg = result.data.X, result.data.y, result.config
    centre = V.mean(axis=0)
    N = result.polytope.N
    if N.shape[1] == 0 or len(V) < 2:
        return {"moved": 0.0, "fit_change": 0.0, "objective_change": 0.0}
    direction = V[1] - V[0]  # a direction inside P*'s affine hull
    step = 0.25
    moved = centre + step * direction
    a, b = function_of(result, centre), function_of(result, moved)
    return {
        "moved": float(np.abs(step * direction).max()),
        "fit_change": float(np.abs(a.predict(X) - b.predict(X)).max()),
        "objective_change": abs(objective(a, X, y, cfg.problem, cfg.beta) - objective(b, X, y, cfg.problem, cfg.beta)),
    }


# ----------------------------------------------------------------------------- search


@dataclass(frozen=True)
class Found:
    """An instance whose optimal interpolating functions are not unique (or, for the record, are)."""

    X: list[list[float]]
    y: list[float]
    polytope_dim: int
    function_dim: int
    max_function_difference: float
    source: str


def candidate_sets(n: int, d: int, trials: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Structured sets first (evenly spaced inputs -- symmetric about 0 and not -- or small-integer
    points, with targets in {-1, 0, 1}), then random small-integer and gaussian sets rounded to two
    decimals, so that a found instance is easy to write down. Rows are distinct; at most ``trials``."""
    import itertools

    rng = np.random.default_rng(seed)
    out: list[tuple[np.ndarray, np.ndarray, str]] = []
    if d == 1:
        grids = [np.arange(n, dtype=float) - (n - 1) / 2, np.arange(n, dtype=float)]
        for x in grids:
            for y in itertools.product((-1.0, 0.0, 1.0), repeat=n):
                out.append((x[:, None], np.array(y), "evenly spaced, y in {-1,0,1}"))
    else:
        cells = np.array(list(itertools.product(range(-2, 3), repeat=d)), dtype=float)
        for _ in range(trials // 2):
            X = cells[rng.choice(len(cells), size=n, replace=False)]
            out.append((X, rng.integers(-1, 2, size=n).astype(float), "integer grid, y in {-1,0,1}"))
    structured = [o for o in out if np.any(o[1])]
    rng.shuffle(structured)
    out = structured[: trials // 2]
    while len(out) < trials:
        if len(out) % 2:
            X, y, source = rng.integers(-3, 4, size=(n, d)).astype(float), rng.integers(-2, 3, size=n).astype(float), "integers"
        else:
            X, y, source = rng.standard_normal((n, d)).round(2), rng.standard_normal(n).round(2), "gaussian"
        if len({tuple(r) for r in X}) == n and np.any(y):
            out.append((X, y, source))
    return out


def search(n: int, d: int, bias: bool, skip: bool, trials: int, seed: int = 0,
           problem: str = "interpolation") -> tuple[list[Found], dict[str, int]]:
    """Solve minimum-norm interpolation on many data sets; return the non-unique ones and counts."""
    from .config import config_from_dict
    from .errors import ConvexdualError
    from .pipeline import certified_two_layer as solve
    from .solve_cache import SolveCache

    cache = SolveCache()  # candidates often share X: the patterns are enumerated once
    found: list[Found] = []
    counts = {"tried": 0, "unique": 0, "non_unique": 0, "unclear": 0, "parametric_only": 0, "infeasible": 0,
              "failed": 0}
    for X, y, source in candidate_sets(n, d, trials, seed):
        raw = {"problem": problem, "model": {"skip": skip},
               "data": {"kind": "points", "X": X.tolist(), "y": y.tolist(), "bias": bias}}
        counts["tried"] += 1
        try:
            u = analyse(solve(config_from_dict(raw), cache))
        except ConvexdualError as exc:
            counts["infeasible" if "infeasible" in str(exc) else "failed"] += 1
            continue
        if u.unique:
            counts["unique"] += 1
            counts["parametric_only"] += int(u.polytope_dim > 0)
            continue
        if u.max_function_difference < CLEAR_DIFFERENCE * max(1.0, float(abs(y).max())):
            counts["unclear"] += 1
            continue
        counts["non_unique"] += 1
        found.append(Found(X.tolist(), y.tolist(), u.polytope_dim, u.function_dim, u.max_function_difference, source))
    return found, counts


# ----------------------------------------------------------------------------- a constructed family


@dataclass(frozen=True)
class Construction:
    """Five 1-D points (penalized bias, no skip) with non-unique minimum-norm interpolators.

    With q(t) = sqrt(1 + t^2) and phi = arctan t, the line T_b(t) = cos b + t sin b equals
    q(t) cos(b - phi): it lies below q and touches it only at t = tan b (for |b| < pi/2). Take
    angles -pi/2 < a_0 < ... < a_4 < 0 with a_4 - a_0 = pi/3, inputs x_k = tan((a_{k-1} + a_k)/2)
    (k = 1..4, where T_{a_{k-1}} and T_{a_k} cross) and x_5 = -cot a_4 (where T_{a_4} = 0), and
    nu = (sin a_1 - sin a_0, ..., sin a_4 - sin a_3, -sin a_4) > 0.

    Right ReLUs: F(t) = sum_i nu_i (x_i - t)_+ is zero beyond x_5 and has slope sin a_k between
    x_k and x_{k+1} (x_0 = -inf), as max(T_a0, ..., T_a4, 0) has: the two agree. The unit neuron
    (1, -t)/q(t) has dual value F(t)/q(t) <= 1, equal exactly at t = tan a_k: five active features.
    Left ReLUs: (t - x)_+ = (x - t)_+ + t - x, and sum nu_i = -sin a_0, sum nu_i x_i = cos a_0 (the
    slope and intercept of F as t -> -inf), so sum_i nu_i (t - x_i)_+ = F(t) - T_a0(t)
    = max_k (T_ak - T_a0, -T_a0)(t), with T_ak - T_a0 = 2 sin((a_k - a_0)/2) T_{(a_k + a_0)/2 + pi/2}
    and -T_a0 = T_{a_0 + pi}. Over q(t) each term is below 2 sin((a_k - a_0)/2) <= 2 sin(pi/6) = 1,
    resp. below 1 strictly, so the value is <= 1 with equality only for k = 4 at
    t = tan(a_0 + 2 pi/3) = tan(a_4 + pi/3): the sixth active feature, its kink distinct.

    Any y = sum_k c_k phi_k(x) with c > 0 over the six is fit with objective sum c_k = nu^T y, the
    dual value of nu, so p* = sum c_k. Six features in R^5 have a null vector; moving along it changes
    the function (distinct kinks): the interpolator is not unique.
    """

    angles: np.ndarray  # (5,) a_0 < ... < a_4
    x: np.ndarray  # (5,) inputs
    nu: np.ndarray  # (5,) the dual certificate
    kinks: np.ndarray  # (6,) right-ReLU kinks tan a_k, then the left-ReLU kink tan(a_4 + pi/3)
    c: np.ndarray  # (6,) positive coefficients of the active unit neurons
    y: np.ndarray  # (5,) targets

    @property
    def p_star(self) -> float:
        return float(self.c.sum())

    def unit_neurons(self) -> np.ndarray:
        """(6, 2) unit (w, b) of the active features: (1, -s)/q(s) right, (-1, s)/q(s) left."""
        s = self.kinks
        sign = np.array([1.0] * 5 + [-1.0])
        return np.column_stack([sign, -sign * s]) / np.hypot(1.0, s)[:, None]


def example2_member(rng: np.random.Generator, min_gap: float = np.pi / 24) -> Construction:
    """A random member of the family: a_0 uniform in (-pi/2 + 0.1, -pi/3 - 0.1), the three inner
    angles uniform with consecutive gaps >= ``min_gap``, c uniform in [0.5, 1.5]^6."""
    a0 = rng.uniform(-np.pi / 2 + 0.1, -np.pi / 3 - 0.1)
    free = np.pi / 3 - 4 * min_gap
    inner = np.sort(rng.uniform(0.0, free, 3)) + min_gap * np.arange(1, 4)
    angles = np.concatenate([[a0], a0 + inner, [a0 + np.pi / 3]])
    x = np.concatenate([np.tan((angles[:-1] + angles[1:]) / 2), [-1.0 / np.tan(angles[-1])]])
    nu = np.concatenate([np.diff(np.sin(angles)), [-np.sin(angles[-1])]])
    kinks = np.concatenate([np.tan(angles), [np.tan(angles[-1] + np.pi / 3)]])
    c = rng.uniform(0.5, 1.5, 6)
    partial = Construction(angles, x, nu, kinks, c, np.zeros(5))
    H = np.maximum(np.column_stack([x, np.ones(5)]) @ partial.unit_neurons().T, 0.0)
    return Construction(angles, x, nu, kinks, c, H @ c)


def construct(count: int, seed: int = 0) -> list[tuple[Construction, Result, Uniqueness]]:
    """``count`` random members, each solved by the certified pipeline and analysed in function space."""
    from .config import config_from_dict
    from .pipeline import certified_two_layer as solve

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        member = example2_member(rng)
        result = solve(config_from_dict(construction_config(member, "constructed")))
        out.append((member, result, analyse(result)))
    return out


def construction_config(member: Construction, name: str) -> dict[str, Any]:
    """The config of a member (inputs and targets at full float precision: the instance lies on a
    hypersurface of data space, and rounding would move it off)."""
    return {"name": name, "problem": "interpolation", "model": {"skip": False},
            "data": {"kind": "points", "X": [[float(v)] for v in member.x], "y": [float(v) for v in member.y],
                     "bias": True}}
