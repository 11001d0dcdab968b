"""Is the minimum-norm interpolator (or the regularized optimum) unique, as a function?

P* can have positive dimension while every point of it realizes the same function: with a free
skip connection, an antipodal pair of features moves mass as (u^T x)_+ - (-u^T x)_+ = u^T x, which
the skip absorbs. So uniqueness is decided in function space: the optimal functions are
f_c(x) = sum_k c_k s_k (u_k^T x)_+ (+ z(c)^T x), c in P*, and ``function_dim`` is the rank of the map
from P*'s directions to functions, evaluated on a dense set of inputs around the data.

The proof of non-uniqueness is two vertices of P* (two irreducible networks) with equal norm that
both interpolate and differ as functions by ``max_function_difference``; an independent check moves
an interior point along a null-space direction and re-evaluates the network from its weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .pipeline import Network, Result, network_from_coefficients, objective, skip_weights

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
    z = skip_weights(result.data.X, target, result.features.H, c) if result.config.skip else None
    return network_from_coefficients(result.features, c, z)


def analyse(result: Result) -> Uniqueness:
    """Decide uniqueness in function space and assemble the proof."""
    y, poly = result.data.y, result.polytope
    G, where = evaluation_inputs(result)
    scale = max(1.0, float(np.abs(y).max()))
    V = poly.vertices if poly.vertices is not None else poly.sample_vertices
    V = V[:50]
    funcs = np.array([function_of(result, v).predict(G) for v in V])
    best, pair = 0.0, (0, 0)
    for i in range(len(V)):
        diffs = np.abs(funcs[i + 1:] - funcs[i]).max(axis=1) if i + 1 < len(V) else np.array([])
        if diffs.size and diffs.max() > best:
            best, pair = float(diffs.max()), (i, i + 1 + int(diffs.argmax()))
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
    from .pipeline import certified_solve as solve

    found: list[Found] = []
    counts = {"tried": 0, "unique": 0, "non_unique": 0, "unclear": 0, "parametric_only": 0, "infeasible": 0,
              "failed": 0}
    for X, y, source in candidate_sets(n, d, trials, seed):
        raw = {"problem": problem, "model": {"skip": skip},
               "data": {"kind": "points", "X": X.tolist(), "y": y.tolist(), "bias": bias}}
        counts["tried"] += 1
        try:
            u = analyse(solve(config_from_dict(raw)))
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
