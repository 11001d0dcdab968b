"""The results of every shipped single-solve config, reduced to what must not change when the code is
restructured: p*, the optimal directions, the polytope's vertices, m*, M* and the staircase rows.

``python -m tests.golden_results`` rewrites ``tests/golden/results.json`` (only when the results are
meant to change); ``tests/test_golden.py`` compares a fresh solve of each config against it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "results.json"

# Wall-clock, environment, solver-internal and process-history keys (``patterns.reused`` says whether
# an earlier solve in the same process enumerated the same data): they change between runs of the
# same code.
VOLATILE = {"reused", "timing", "versions", "git", "git_revision", "seconds", "time_s", "elapsed_s", "solver_stats",
            "iterations", "nodes", "solver", "created", "host", "oracle", "solve_stats", "stats"}


def golden_configs() -> list[Path]:
    """Every config under configs/ that describes one solve. Excluded: sweep and launcher configs,
    and configs/real/ (they run the exact oracle under oracle.time_limit_s, so a slower or loaded
    machine turns their certificate into a bracket; benchmarks/ records those runs)."""
    out = []
    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        if "hydra" in path.parts or "real" in path.parts:
            continue
        text = path.read_text()
        if any(line.startswith("sweep:") for line in text.splitlines()):
            continue
        out.append(path)
    return out


# When the polytope's vertices were not enumerated, m* comes from a MILP under
# polytope.milp_time_limit_s: whether it is proved, its incumbent (the reported network), its bounds
# and what follows from them depend on the machine's speed. p*, the directions, the polytope's dimension and the bounds on M*
# do not.
TIME_LIMITED = {"network", "m_star", "m_star_bounds", "degenerate", "staircase_bounds"}
MANY_VERTICES = 100  # above this many vertices the file keeps their supports and their sum


def vertex_summary(vertices: list[list[float]]) -> dict[str, Any]:
    """The vertex set by its supports (which neurons each vertex uses: m*, M* and the staircase
    depend on nothing else) and the sum of the vertices (their coefficients, to the test's tolerance)."""
    V = np.asarray(vertices, dtype=float)
    nonzero = np.abs(V) > 1e-12 * max(1.0, float(np.abs(V).max()))
    return {"supports": sorted(np.flatnonzero(row).tolist() for row in nonzero), "sum": V.sum(axis=0).tolist()}


def reduce(obj: Any) -> Any:
    """The result's JSON without volatile keys, large vertex sets summarized."""
    if isinstance(obj, dict):
        out = {k: reduce(v) for k, v in obj.items() if k not in VOLATILE}
        if str(out.get("enumeration", "")).startswith("not enumerated"):
            out = {k: v for k, v in out.items() if k not in TIME_LIMITED}
        if isinstance(out.get("vertices"), list) and len(out["vertices"]) > MANY_VERTICES:
            out["vertices"] = vertex_summary(out["vertices"])
        return out
    if isinstance(obj, list):
        return [reduce(v) for v in obj]
    return obj


def result_of(path: Path) -> dict[str, Any]:
    """The reduced JSON result of ``convexdual solve --config path``."""
    from convexdual.config import load_config
    from convexdual.pipeline import solve
    from convexdual.results import dumps

    result = solve(load_config(path))
    return reduce(json.loads(dumps(result.to_dict())))


def main() -> None:
    golden = {}
    for path in golden_configs():
        name = str(path.relative_to(ROOT))
        t0 = time.perf_counter()
        golden[name] = result_of(path)
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
