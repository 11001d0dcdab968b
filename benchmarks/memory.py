"""Peak memory of `convexdual solve` against the estimate it checks before enumerating.

    .venv/bin/python benchmarks/memory.py            # the instances below, about 3 minutes
    .venv/bin/python benchmarks/memory.py 200:3 40:4  # chosen (n, d)

Each solve runs in its own process (gaussian data, beta 0.05, polytope limits 2 s); its peak RSS
comes from os.wait4. The estimate (patterns.pattern_budget) must stay above every measured peak:
it is what `limits.memory_gb` is compared with.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from convexdual.patterns import pattern_budget

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = [(100, 3), (200, 3), (400, 3), (200, 2), (40, 4), (20, 5)]


def peak(n: int, d: int) -> tuple[float, float, int, str]:
    """(peak RSS in MB, seconds, exit code, last stderr line) of one solve."""
    cmd = [sys.executable, "-m", "convexdual.cli", "solve", "--config", str(ROOT / "configs" / "gaussian_n40_d3.yaml"),
           f"data.n={n}", f"data.d={d}", "polytope.milp_time_limit_s=2", "polytope.enum_timeout_s=2"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    last = (err.strip().splitlines() or [""])[-1]
    return usage.ru_maxrss / 1024, time.perf_counter() - t0, os.waitstatus_to_exitcode(status), last


def main(argv: list[str]) -> None:
    instances = [tuple(int(v) for v in a.split(":")) for a in argv] or INSTANCES
    print(f"{'n':>5} {'d':>3} {'patterns (bound)':>17} {'estimate MB':>12} {'peak MB':>9} {'s':>7}  exit")
    for n, d in instances:
        cells, estimate = pattern_budget(n, d, "exact", 0)
        mb, seconds, code, last = peak(n, d)
        flag = "" if estimate / 2**20 >= mb else "  ESTIMATE BELOW PEAK"
        print(f"{n:>5} {d:>3} {cells:>17} {estimate / 2**20:>12.0f} {mb:>9.0f} {seconds:>7.1f}  {code}{flag}"
              + (f"  ({last[:70]})" if code else ""), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
