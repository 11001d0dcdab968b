"""Certification without enumeration: the exact dual oracle against full enumeration.

For Gaussian data (configs/gaussian_n40_d3.yaml with data.n, data.d, beta 0.05, seed 0) it solves
each (n, d) with ``patterns: oracle`` and, where the arrangement is small enough, ``patterns: exact``,
and prints one markdown row per instance: the certificate stage (``optimum_s``: convex solves and
oracle), the oracle's own time and nodes, p*, m* and M* (bounds where the MILP time limit ends the
search) and whether both methods agree. The polytope and MILP stages are capped (5 s each) so that
the table is about certification.

    python benchmarks/oracle.py                 # the default grid
    python benchmarks/oracle.py 50x10 100x10    # chosen instances
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRID = ["20x4", "30x5", "20x6", "30x6", "20x8", "50x6", "50x8", "30x10", "50x10", "100x5", "70x8", "100x10"]
ENUMERATE_BELOW = 400_000  # general-position cell count up to which the exact enumeration also runs
CAPS = ["polytope.milp_time_limit_s=5", "polytope.enum_timeout_s=5", "oracle.time_limit_s=600"]


def run(n: int, d: int, mode: str) -> dict:
    from convexdual.config import load_config
    from convexdual.pipeline import solve

    cfg = load_config(ROOT / "configs" / "gaussian_n40_d3.yaml",
                      [f"data.n={n}", f"data.d={d}", "beta=0.05", f"patterns.mode={mode}", *CAPS])
    t = time.perf_counter()
    out = solve(cfg).to_dict()
    out["wall_s"] = time.perf_counter() - t
    return out


def widths(r: dict) -> str:
    if not r["certified"]:
        return "-"
    m, M = r["m_star_bounds"], r["M_star_bounds"]
    return f"{m[0] if m[0] == m[1] else f'[{m[0]}, {m[1]}]'} / {M[0] if M[0] == M[1] else f'[{M[0]}, {M[1]}]'}"


def main(args: list[str]) -> None:
    from convexdual.patterns import general_position_count

    print("| n | d | cells (general position) | enumeration: optimum_s | oracle: optimum_s | oracle s | nodes "
          "| p* | m* / M* | same p* |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for item in args or GRID:
        n, d = (int(v) for v in item.split("x"))
        cells = general_position_count(n, d)
        o = run(n, d, "oracle")
        e = run(n, d, "exact") if cells <= ENUMERATE_BELOW else None
        s = o["patterns"]["oracle"]
        p = f"{o['p_star']:.10g}" if o["certified"] else "in [{:.8g}, {:.8g}]".format(*o["p_star_bounds"])
        same = "-" if e is None else ("yes" if o["certified"] and abs(o["p_star"] - e["p_star"]) <= 1e-8 * e["p_star"]
                                      else "NO")
        enum_s = "-" if e is None else f"{e['timing']['optimum_s']:.1f}"
        print(f"| {n} | {d} | {cells:.3g} | {enum_s} | {o['timing']['optimum_s']:.1f} | {s['seconds']:.1f} "
              f"| {s['nodes']} | {p} | {widths(o)} | {same} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
