"""Dual-first search for a non-unique minimum-norm interpolator: n = 5, one-dimensional inputs,
penalized bias, no skip connection.

Why dual first. For interpolation, P* = {c >= 0 : H c = y} over the features active for a dual
optimum nu. P* has a direction whose functions differ only if the active
features are linearly dependent: at least 6 of them in R^5, or 5 of rank <= 4. Conversely, if some
nu with max |psi| = 1 had 6 distinct active features (psi(u) = nu^T (X u)_+ on the unit circle),
then every y = H c with c > 0 on them would be certified non-unique by nu itself (nu^T y = sum c =
the norm of c). So this script searches (x, nu) jointly -- 10 parameters -- for 6 distinct
local maxima of |psi| tied at the top, by Nelder-Mead from random starts.

Reading the output. The objective is (v_1 - v_6) / v_1 over maxima at least `sep` radians apart.
Two maxima that merge into one as they approach each other realise 1 - cos(sep) (a degenerate
critical point, not a sixth feature). If every run ends at that floor, for two values of sep, the
search found no sixth active feature: only the merging artefact.

    .venv/bin/python experiments/noskip_1d_dual_ties.py --starts 40 --sep 0.03 --sep 0.15

Such (x, nu) exist: `convexdual.uniqueness.Construction` gives a family in closed form (tangent
lines of sqrt(1 + t^2) at five angles spanning pi/3), and `convexdual search --construct` proves its
members. A local search of this kind does not find them because they need exact ties.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import minimize

from convexdual.dual import dual_values
from convexdual.patterns import enumerate_patterns

N = 5


def unpack(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parameters -> sorted inputs x (first point, then log-gaps) and dual vector nu."""
    x = np.cumsum(np.r_[p[0], np.exp(p[1:N])])
    return x, p[N:]


def local_maxima(x: np.ndarray, nu: np.ndarray, sep: float) -> list[tuple[float, float, int]]:
    """Per-cone maxima of s * nu^T (X u)_+ (exact, by cone projection), as (value, angle, sign),
    largest first, keeping only maxima at least `sep` radians from a larger one of the same sign."""
    X = np.c_[x, np.ones(N)]
    dv = dual_values(X, enumerate_patterns(X).D, nu)
    cand = []
    for i in range(dv.values.shape[0]):
        for k, s in enumerate((1, -1)):
            if dv.values[i, k] > 0:
                u = dv.directions[i, k]
                cand.append((float(dv.values[i, k]), float(np.arctan2(u[1], u[0])), s))
    cand.sort(key=lambda c: -c[0])
    kept: list[tuple[float, float, int]] = []
    for c in cand:
        if not any(c[2] == k[2] and abs(np.angle(np.exp(1j * (c[1] - k[1])))) < sep for k in kept):
            kept.append(c)
    return kept


def tie_gap(p: np.ndarray, sep: float, k: int = 6) -> float:
    """(v_1 - v_k) / v_1: zero exactly when k distinct maxima of |psi| tie at the top."""
    x, nu = unpack(p)
    if np.linalg.norm(nu) < 1e-6:
        return 9.0
    m = local_maxima(x, nu, sep)
    return 9.0 if len(m) < k else (m[0][0] - m[k - 1][0]) / m[0][0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--starts", type=int, default=40)
    ap.add_argument("--sep", type=float, action="append")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for sep in args.sep or [0.03, 0.15]:
        rng = np.random.default_rng(args.seed)
        t0, gaps = time.perf_counter(), []
        for _ in range(args.starts):
            p0 = np.r_[rng.uniform(-3, 0), rng.normal(0, 0.5, N - 1), rng.normal(size=N)]
            r = minimize(tie_gap, p0, args=(sep,), method="Nelder-Mead",
                         options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 6000, "adaptive": True})
            gaps.append(float(r.fun))
        gaps = np.sort(gaps)
        floor = 1 - np.cos(sep)
        print(f"sep={sep}: {args.starts} starts in {time.perf_counter() - t0:.0f} s; merging floor 1-cos(sep)="
              f"{floor:.6g}; smallest gaps {', '.join(f'{g:.6g}' for g in gaps[:5])}; "
              f"runs below 0.999*floor: {int(np.sum(gaps < 0.999 * floor))}")


if __name__ == "__main__":
    main()
