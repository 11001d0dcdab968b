"""Why m* below rank(A) is a tolerance question on large generic instances: a constructed vertex.

When every active feature has an antipodal twin (u and -u, same output sign, nu^T X u = 0) the
optimal set is a slice of a box. Pair k holds coefficients (sigma_k, T_k - sigma_k) with a fixed
total T_k, and the pairs are tied only by the linear part of the fit:

    sum_k sigma_k L_k = r,   0 <= sigma_k <= T_k,   L_k in R^q,  q = rank(A) - (number of pairs).

A pair at an end of its range has one nonzero, a pair inside it two, and a vertex has at least
(pairs - q) pairs at an end, so every vertex has pairs + q = rank(A) nonzeros unless it is
degenerate, and degenerate means that the ends chosen for the other pairs make the residual
r - sum e_k L_k fall exactly into the span of fewer than q columns L_k: a signed sum over about
2^pairs choices of ends must vanish exactly. Floating point cannot tell an exact zero from the
near-zeros that so many sums produce. This script builds one near-zero: with q = 3 it chooses the
ends by meeting in the middle so that the residual lies (nearly) in the plane of two columns, and
frees a third pair by the small amount that closes the residual. The result is a true vertex of
P* (rank(A) positive entries, residual at round-off) whose smallest entry is below the zero rule
used when supports are counted (1e-9 x sum c), so a support count at that tolerance sees
rank(A) - 1; the width rank(A) - 1 network obtained by dropping that neuron is reported with its
objective minus p*.

    .venv/bin/python experiments/near_degenerate_vertex.py --n 200 --seed 0
"""

from __future__ import annotations

import argparse

import numpy as np

from convexdual.config import config_from_dict
from convexdual.network import network_from_coefficients, objective
from convexdual.optimal_set import cardinalities, series_classes
from convexdual.pipeline import certified_two_layer

HALF = 18  # coordinates per half of the meet-in-the-middle (2^18 partial sums each)


def pair_structure(A: np.ndarray, t: np.ndarray, c0: np.ndarray, N: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                          np.ndarray, np.ndarray]:
    """Pairs J (K x 2), totals T, linking columns L (q x K) and right-hand side r of the box slice."""
    classes = series_classes(c0, N)
    J = np.array([m for m, _ in classes if len(m) == 2])
    if len(J) * 2 != A.shape[1]:
        raise SystemExit("not every active feature is in a pair: this construction needs the box-slice structure")
    T = c0[J[:, 0]] + c0[J[:, 1]]
    D = A[:, J[:, 0]] - A[:, J[:, 1]]
    Q, s, _ = np.linalg.svd(D, full_matrices=False)
    q = int((s > s[0] * 1e-9).sum())
    L = Q[:, :q].T @ D
    r = Q[:, :q].T @ (t - A[:, J[:, 1]] @ T)
    return J, T, L, r


def closest_subset(w: np.ndarray, target: float, rng: np.random.Generator) -> np.ndarray:
    """x in {0,1}^len(w) with x.w close to target: random bits, then the best of 2^(2 HALF)
    completions on 2 HALF coordinates by sorting one half's sums."""
    x = rng.integers(0, 2, w.size).astype(float)
    mid = rng.choice(w.size, 2 * HALF, replace=False)
    h1, h2 = mid[:HALF], mid[HALF:]
    rest = np.setdiff1d(np.arange(w.size), mid)
    bits = ((np.arange(2**HALF)[:, None] >> np.arange(HALF)) & 1).astype(float)
    s1, s2 = bits @ w[h1], bits @ w[h2]
    order = np.argsort(s2)
    sorted2 = s2[order]
    need = target - w[rest] @ x[rest] - s1
    pos = np.clip(np.searchsorted(sorted2, need), 1, sorted2.size - 1)
    pick = np.where(np.abs(sorted2[pos] - need) < np.abs(sorted2[pos - 1] - need), pos, pos - 1)
    i = int(np.argmin(np.abs(sorted2[pick] - need)))
    x[h1], x[h2] = bits[i], bits[order[pick[i]]]
    return x


def near_degenerate_vertex(T: np.ndarray, L: np.ndarray, r: np.ndarray, tries: int,
                           rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """sigma of a vertex (q = 3) whose third free pair sits as close to an end as found."""
    K = T.size
    best: tuple[float, np.ndarray] | None = None
    for _ in range(tries):
        a, b = rng.choice(K, 2, replace=False)
        normal = np.cross(L[:, a], L[:, b])
        rest = np.setdiff1d(np.arange(K), [a, b])
        x = closest_subset(T[rest] * (normal @ L[:, rest]), float(normal @ r), rng)
        sigma = np.zeros(K)
        sigma[rest] = x * T[rest]
        for c in rest:
            free = [a, b, c]
            try:
                z = np.linalg.solve(L[:, free], r - L @ sigma + L[:, c] * sigma[c])
            except np.linalg.LinAlgError:
                continue
            if not (0 < z[0] < T[a] and 0 < z[1] < T[b] and 0 < z[2] < T[c]):
                continue
            gap = min(z[2], T[c] - z[2])
            if best is None or gap < best[0]:
                trial = sigma.copy()
                trial[free] = z
                best = (gap, trial)
    if best is None:
        raise SystemExit("no vertex found; raise --tries")
    return best[1], best[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--beta", type=float, default=0.05)
    ap.add_argument("--tries", type=int, default=200)
    args = ap.parse_args()
    raw = {"name": f"gaussian_n{args.n}_d3", "beta": args.beta,
           "data": {"kind": "gaussian", "n": args.n, "d": 3, "seed": args.seed},
           "polytope": {"enum_timeout_s": 10.0, "milp_time_limit_s": 10.0}}  # (the benchmark's instance)
    res = certified_two_layer(config_from_dict(raw))
    poly, data = res.polytope, res.data
    J, T, L, r = pair_structure(poly.A, poly.target, poly.c0, poly.N)
    print(f"n = {args.n}, seed {args.seed}: {len(J)} pairs, rank(A) = {poly.rank}, q = {L.shape[0]} linking "
          f"equations; reported m* bounds {list(res.widths.m_star_bounds)}, M* = {res.widths.M_star}")
    if L.shape[0] != 3:
        raise SystemExit("the construction is written for q = 3 (d = 3 without a skip connection)")
    sigma, gap = near_degenerate_vertex(T, L, r, args.tries, np.random.default_rng(args.seed))
    c = np.zeros(poly.A.shape[1])
    c[J[:, 0]], c[J[:, 1]] = sigma, T - sigma
    zero_rule = 1e-9 * max(1.0, float(c.sum()))
    print(f"vertex: {int((c > 0).sum())} positive entries, smallest {np.sort(c[c > 0])[:2]}, min entry {c.min():.1e}, "
          f"||A c - target|| = {np.linalg.norm(poly.A @ c - poly.target):.1e}")
    print(f"zero rule 1e-9 x sum c = {zero_rule:.2e}: support counted {cardinalities(np.where(c > zero_rule, c, 0)[None, :])[0]}")
    for label, coef in (("the vertex", c), ("its entries above the zero rule", np.where(c > zero_rule, c, 0.0))):
        net = network_from_coefficients(res.features, coef, None)
        value = objective(net, data.X, data.y, res.config.problem, res.config.beta)
        print(f"width {net.W.shape[0]} network from {label}: objective - p* = {value - res.p_star:.2e} (p* = {res.p_star:.10f})")


if __name__ == "__main__":
    main()
