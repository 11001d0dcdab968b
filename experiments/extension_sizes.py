"""How large the vector-output and parallel three-layer solvers go while staying exact and fast.

Prints one line per instance (gaussian data, beta 0.1): time of the certified optimum (the
solver's part), total time (with the vertex search and the m* MILP, each limited to 10 s, and the
staircase), number of cells, duality gap and dual violation.
Usage: python experiments/extension_sizes.py [--quick]
"""

from __future__ import annotations

import sys
import time

from convexdual.config import config_from_dict
from convexdual.pipeline import solve

QUICK = "--quick" in sys.argv
VECTOR = [(n, d, c) for d in (2, 3) for c in (2, 3) for n in ((10, 20) if QUICK else (10, 20, 40, 80))]
PARALLEL = [(n, 2) for n in ((4, 5) if QUICK else (4, 5, 6, 7, 8))]


def run(label: str, raw: dict) -> None:
    t = time.perf_counter()
    try:
        r = solve(config_from_dict(raw)).to_dict()
    except Exception as exc:  # report and go on: the table is the point
        print(f"{label}: failed after {time.perf_counter() - t:.1f} s: {type(exc).__name__}: {exc}", flush=True)
        return
    c = r["certificates"]
    print(f"{label}: optimum {r['timing']['optimum_s']:7.2f} s, total {time.perf_counter() - t:7.2f} s, "
          f"cells {r['patterns']['count']:5d}, p* {r['p_star']:.8g}, gap {c['duality_gap']:.1e}, "
          f"dual violation {c['dual_violation']:.1e}, m* {r['m_star']}, M* {r['M_star']}", flush=True)


for n, d, c in VECTOR:
    run(f"vector outputs n={n:2d} d={d} c={c}",
        {"beta": 0.1, "model": {"outputs": c}, "data": {"kind": "gaussian", "n": n, "d": d, "seed": 0},
         "polytope": {"enum_timeout_s": 10, "milp_time_limit_s": 10}})
for n, d in PARALLEL:
    run(f"parallel three-layer n={n} d={d}",
        {"beta": 0.1, "model": {"architecture": "parallel_three_layer"},
         "data": {"kind": "gaussian", "n": n, "d": d, "seed": 0}})
