"""Benchmark: convexdual's pipeline against the standard one, on the same gaussian instances.

The standard pipeline (as commonly written in this field), implemented faithfully:
  1. cells: LP-based cell search (one small LP per candidate sign vector, rows added one by one);
  2. solve: (C) with one cvxpy expression per pattern (a Python loop building 2P variables);
  3. directions: one small cone program per (pattern, sign): max g^T u s.t. u in K_i, ||u|| <= 1;
  solved as such code does: Clarabel at its default tolerances, "optimal_inaccurate" accepted.
convexdual: exact enumeration by extreme rays, one vectorized program (a working set of blocks
when there are many), exact cone projections (NNLS) with screening. Both then run the same
polytope, critical-width and staircase code, so the downstream stages are timed but shared.

Each (pipeline, instance) runs in its own process, so peak memory (max RSS) is its own, and is
stopped after a time limit; a pipeline that hits it is not run on larger n for that d.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import measure
from .config import config_from_dict
from .data import load_data
from .dual import SIGNS, DualValues
from .errors import first_line
from .figures.files import pyplot, save_figure
from .optimal_set import active_features, build_polytope, stdout_to_stderr
from .patterns import Patterns, lp_cell_search
from .pipeline import certified_two_layer, width_phases
from .runs import write_json, write_table
from .solvers import SOLVER_SECONDS, count_solver_time, cvxpy_solver_seconds, resolve_solver
from .widths import critical_widths

STAGES = ["cells", "solve", "directions", "polytope", "widths", "staircase"]
SEED_TRIES = 3  # data seeds tried until convexdual can certify the instance (generic near-ties)
BASELINE_ACTIVE_BAND = 1e-4  # a generic cone-program direction is accurate to ~sqrt(solver tol)


@dataclass(frozen=True)
class Instance:
    n: int
    d: int
    beta: float
    seed: int = 0

    def overrides(self) -> list[str]:
        return [f"data.n={self.n}", f"data.d={self.d}", f"beta={self.beta}", f"data.seed={self.seed}"]


def _config(inst: Instance, limits: float) -> Any:
    raw = {"name": f"bench_n{inst.n}_d{inst.d}", "beta": inst.beta,
           "data": {"kind": "gaussian", "n": inst.n, "d": inst.d, "seed": inst.seed},
           "polytope": {"enum_timeout_s": limits, "milp_time_limit_s": limits}}
    return config_from_dict(raw)


def run_convexdual(inst: Instance, limits: float) -> dict[str, Any]:
    """convexdual end to end (pipeline.certified_two_layer) with its own stage timings, and the
    physical limit it is compared with (:func:`physical_limit`)."""
    r = certified_two_layer(_config(inst, limits))
    t = r.timing
    in_solvers = dict(SOLVER_SECONDS)  # (before the limit's own solve)
    limit = physical_limit(r)
    return {"cells": r.patterns.count, "stage_s": {"cells": t["patterns_s"], "solve": t["optimum_s"], "directions": 0.0,
                                                  "polytope": t["polytope_s"], "widths": t["widths_s"],
                                                  "staircase": t["staircase_s"]},
            "total_s": t["total_s"] - t["data_s"], "p_star": r.p_star,
            "m_star": r.widths.m_star, "m_star_bounds": list(r.widths.m_star_bounds), "M_star": r.widths.M_star,
            "M_star_bounds": list(r.widths.M_star_bounds), "polytope_dim": r.polytope.dim,
            "n_vertices": r.widths.n_vertices, "staircase": r.staircase is not None,
            "solves": len(r.optimum.solves), "solver_by_kind": in_solvers, **limit}


def physical_limit(r: Any) -> dict[str, float]:
    """What no certified pipeline can go below on this instance: one pass of exact cone projections
    over every (pattern, sign) block at the final nu (``projections_s``, cones prepared beforehand, no
    screening) plus one interior-point solve of (C) on the final active blocks, each cone written
    with its facet rows as the pipeline writes them (``final_solve_s``)."""
    from .dual import dual_values, prepared_cones
    from .optimum import _block_solver
    from .patterns import cell_facets

    X, y, D, cfg = r.data.X, r.data.y, r.patterns.D, r.config
    facets = cell_facets(X, D)
    cones = prepared_cones(X, D, facets)
    t = time.perf_counter()
    dual_values(X, D, r.optimum.solution.nu, facets=cones)
    projections = time.perf_counter() - t
    solve_on = _block_solver(X, y, D, facets, dict(problem=cfg.problem, beta=cfg.beta, skip=cfg.model.skip,
                                                 solver=resolve_solver(cfg.solver), tol=cfg.tol.solver,
                                                 inaccurate_ok=True))
    t = time.perf_counter()
    solve_on(r.optimum.active.blocks)
    final = time.perf_counter() - t
    return {"projections_s": projections, "final_solve_s": final, "limit_s": projections + final}


def _solve_default(prob: Any) -> bool:
    """As standard code does: Clarabel with its default tolerances, any optimal status accepted."""
    prob.solve(solver="CLARABEL")
    count_solver_time("clarabel", cvxpy_solver_seconds(prob))
    return prob.status in ("optimal", "optimal_inaccurate")


def baseline_solve(X: np.ndarray, y: np.ndarray, D: np.ndarray, beta: float) -> tuple[np.ndarray, float]:
    """(C) with one cvxpy expression per pattern; returns (nu, objective)."""
    import cvxpy as cp  # heavy: imported where a cvxpy problem is built (the worker loads it before the clock)

    n, d = X.shape
    fit: Any = 0  # a cvxpy expression after the first pattern
    reg: Any = 0
    cons = []
    for i in range(D.shape[1]):
        Di = D[:, i].astype(float)
        A = (2 * Di - 1)[:, None] * X
        u, v = cp.Variable(d), cp.Variable(d)
        fit = fit + cp.multiply(Di, X @ (u - v))
        reg = reg + cp.norm(u, 2) + cp.norm(v, 2)
        cons += [A @ u >= 0, A @ v >= 0]
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(fit - y) + beta * reg), cons)
    return y - np.asarray(fit.value if _solve_default(prob) else np.nan).ravel(), float(prob.value)


def baseline_directions(X: np.ndarray, D: np.ndarray, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One cone program per (pattern, sign): values (P, 2), directions (P, 2, d)."""
    import cvxpy as cp  # heavy, as in baseline_solve

    P, d = D.shape[1], X.shape[1]
    values, dirs = np.zeros((P, 2)), np.zeros((P, 2, d))
    for i in range(P):
        A = (2 * D[:, i] - 1)[:, None] * X
        g = X.T @ (D[:, i] * nu)
        for k, s in enumerate((1.0, -1.0)):
            u = cp.Variable(d)
            prob = cp.Problem(cp.Maximize((s * g) @ u), [A @ u >= 0, cp.norm(u, 2) <= 1])
            _solve_default(prob)
            values[i, k] = max(float(prob.value), 0.0)
            dirs[i, k] = np.asarray(u.value).ravel()
    return values, dirs


def run_baseline(inst: Instance, limits: float) -> dict[str, Any]:
    """The standard pipeline, then the same downstream code as convexdual."""
    cfg = _config(inst, limits)
    data = load_data(cfg.data)
    X, y = data.X, data.y
    solver = resolve_solver("auto")
    times: dict[str, float] = {}
    t = time.perf_counter()
    D = lp_cell_search(X)
    times["cells"] = time.perf_counter() - t
    measure.stage_done("cells")
    t = time.perf_counter()
    nu, p_solve = baseline_solve(X, y, D, inst.beta)
    times["solve"] = time.perf_counter() - t
    measure.stage_done("solve")
    t = time.perf_counter()
    values, dirs = baseline_directions(X, D, nu)
    times["directions"] = time.perf_counter() - t
    measure.stage_done("directions")
    out: dict[str, Any] = {"cells": int(D.shape[1])}
    t = time.perf_counter()
    active = [(int(i), SIGNS[k]) for i, k in np.argwhere(values >= inst.beta * (1 - BASELINE_ACTIVE_BAND))]
    feats = active_features(X, DualValues(values=values, directions=dirs), active)
    try:
        poly = build_polytope(X, feats.H, y - nu, skip=False, max_enum_dim=cfg.polytope.max_enum_dim,
                              enum_timeout_s=cfg.polytope.enum_timeout_s)
    except Exception as exc:  # the baseline's approximate directions may not reproduce the fit
        times["polytope"] = time.perf_counter() - t
        return {**out, "stage_s": times, "total_s": sum(times.values()), "p_star": p_solve,
                "status": f"downstream failed: {first_line(exc)}"}
    times["polytope"] = time.perf_counter() - t
    measure.stage_done("polytope")
    t = time.perf_counter()
    widths = critical_widths(poly, cfg.polytope.milp_time_limit_s)
    times["widths"] = time.perf_counter() - t
    measure.stage_done("widths")
    t = time.perf_counter()
    pats = Patterns(D=D, mode="exact")
    width_phases(cfg, data, pats, poly, widths, p_solve, solver)
    times["staircase"] = time.perf_counter() - t
    measure.stage_done("staircase")
    return {**out, "stage_s": times, "total_s": sum(times.values()), "p_star": p_solve, "m_star": widths.m_star,
            "m_star_bounds": list(widths.m_star_bounds), "M_star": widths.M_star,
            "M_star_bounds": list(widths.M_star_bounds), "polytope_dim": poly.dim, "n_vertices": widths.n_vertices,
            "active_features": int(feats.H.shape[1])}


def worker(argv: list[str]) -> None:
    """`python -m convexdual.bench PIPELINE n d beta seed limits`: one run, JSON on stdout.

    Both pipelines' libraries (cvxpy, scipy) are imported before the clock starts. ``solver_s`` is
    the time inside solver libraries (HiGHS through scipy, cvxpy's solver by its own clock, NNLS, least squares;
    see :func:`solvers.in_solver`); the rest of ``total_s`` is the pipeline's own work."""
    import cvxpy  # noqa: F401  (deliberately here: import time is not pipeline time)
    import scipy.optimize  # noqa: F401

    logging.disable(logging.WARNING)
    pipeline, n, d, beta, seed, limits = argv[0], int(argv[1]), int(argv[2]), float(argv[3]), int(argv[4]), float(argv[5])
    inst = Instance(n, d, beta, seed)
    SOLVER_SECONDS.clear()
    measure.start()
    with stdout_to_stderr():
        res = run_baseline(inst, limits) if pipeline == "baseline" else run_convexdual(inst, limits)
    res["stage_peak_mb"] = dict(measure.STAGE_PEAK_MB)
    res.setdefault("solver_by_kind", dict(SOLVER_SECONDS))
    res["solver_s"] = float(sum(res["solver_by_kind"].values()))
    res.setdefault("status", "ok")
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(res, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def run_one(pipeline: str, inst: Instance, limits: float, timeout_s: float) -> dict[str, Any]:
    """Run one (pipeline, instance) in a subprocess with a time limit."""
    cmd = [sys.executable, "-m", "convexdual.bench", pipeline, str(inst.n), str(inst.d), str(inst.beta),
           str(inst.seed), str(limits)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout after {timeout_s:g} s", "wall_s": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": f"failed: {last}", "wall_s": wall}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_s"] = wall
    return res


COLUMNS = ["pipeline", "n", "d", "beta", "seed", "cells", "status", "total_s", "wall_s", "solver_s", "overhead_fraction",
           *[f"{s}_s" for s in STAGES], "peak_rss_mb", "p_star", "m_star", "M_star", "polytope_dim", "n_vertices",
           "limit_s", "projections_s", "final_solve_s", *[f"{s}_peak_mb" for s in STAGES]]


def flat_row(pipeline: str, inst: Instance, res: dict[str, Any]) -> dict[str, Any]:
    row = {"pipeline": pipeline, "n": inst.n, "d": inst.d, "beta": inst.beta, "seed": inst.seed, **{k: res.get(k) for k in COLUMNS
                                                                                  if k in res}}
    for stage, secs in (res.get("stage_s") or {}).items():
        row[f"{stage}_s"] = secs
    for stage, mb in (res.get("stage_peak_mb") or {}).items():
        row[f"{stage}_peak_mb"] = mb
    for key in ("solver_by_kind", "m_star_bounds", "M_star_bounds"):  # bench.json only
        if key in res:
            row[key] = res[key]
    if res.get("total_s") and res.get("solver_s") is not None:
        row["overhead_fraction"] = max(0.0, 1.0 - res["solver_s"] / res["total_s"])
    return row


def run_bench(ds: list[int], ns: list[int], beta: float, timeout_s: float, limits: float, out_dir: Path,
              pipelines: list[str], echo: Any = print) -> list[dict[str, Any]]:
    """Every (d, n) for each pipeline, smallest n first; a pipeline that times out skips larger n."""
    rows: list[dict[str, Any]] = []
    for d in ds:
        stopped: set[str] = set()
        for n in ns:
            here: dict[str, dict[str, Any]] = {}
            inst = Instance(n, d, beta)
            for pipe in sorted(pipelines, key=lambda p: p != "convexdual"):  # convexdual first: it picks the seed
                if pipe in stopped:
                    continue
                for seed in range(SEED_TRIES if pipe == "convexdual" else 1):
                    inst = Instance(n, d, beta, seed if pipe == "convexdual" else inst.seed)
                    res = run_one(pipe, inst, limits, timeout_s)
                    if "unclear active set" not in res["status"]:
                        break
                    echo(f"d={d} n={n:<5d} {pipe:<10s} seed {seed}: not certifiable (unclear active set); next seed")
                here[pipe] = res
                rows.append(flat_row(pipe, inst, res))
                if res["status"].startswith("timeout"):
                    stopped.add(pipe)
                echo(_line(pipe, inst, res))
            if len(here) == 2 and all("directions" in r.get("stage_s", {}) for r in here.values()):
                echo(_ratio_line(here["baseline"], here["convexdual"]))
            _write_table(out_dir, rows)
    exponents = fit_exponents(rows, limits)
    for line in exponent_lines(exponents):
        echo(line)
    write_json(out_dir / "bench.json", {"beta": beta, "ds": ds, "ns": ns, "timeout_s": timeout_s,
                                        "polytope_limits_s": limits, "machine": machine(), "rows": rows,
                                        "exponents": exponents})
    return rows


FITTED = [*STAGES, "total", "limit", "peak_rss"]  # what fit_exponents fits against n
MIN_FIT_S = 0.01  # shorter stage times are timer noise, not growth
LIMITED = ("polytope", "widths")  # stages that stop at the polytope time limit


def _measured(row: dict[str, Any], what: str, time_limit: float | None = None) -> float | None:
    """The quantity ``what`` of a run, or None when it is missing, below MIN_FIT_S (times), or a
    stage whose time is the polytope time limit's (within 5%: it ran into the limit)."""
    key = {"total": "total_s", "limit": "limit_s", "peak_rss": "peak_rss_mb"}.get(what, f"{what}_s")
    value = row.get(key)
    if not isinstance(value, (int, float)) or value <= (0 if what == "peak_rss" else MIN_FIT_S):
        return None
    if what in LIMITED and time_limit is not None and abs(value - time_limit) <= 0.05 * time_limit:
        return None
    return float(value)


def fit_exponents(rows: list[dict[str, Any]], time_limit: float | None = None,
                  min_points: int = 3) -> dict[str, dict[str, dict[str, float]]]:
    """For each pipeline and d, the exponent b of a least-squares fit time ~ a n^b (log-log) per
    stage, end to end, for the physical limit and for the peak memory, over the finished runs
    (``{"<pipeline> d=<d>": {stage: {"exponent": b, "points": k, "n_min": .., "n_max": ..}}}``);
    a quantity measured at fewer than ``min_points`` sizes (see :func:`_measured`: stages at the
    polytope ``time_limit`` do not count) is left out."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for pipe, d in sorted({(r["pipeline"], r["d"]) for r in rows}):
        mine = [r for r in rows if r["pipeline"] == pipe and r["d"] == d and r.get("status") == "ok"]
        fits: dict[str, dict[str, float]] = {}
        for what in FITTED:
            pts = [(r["n"], v) for r in mine if (v := _measured(r, what, time_limit)) is not None]
            if len({n for n, _ in pts}) < min_points:
                continue
            x, t = np.log([n for n, _ in pts]), np.log([v for _, v in pts])
            slope = float(np.polyfit(x, t, 1)[0])
            fits[what] = {"exponent": slope, "points": len(pts), "n_min": min(n for n, _ in pts),
                          "n_max": max(n for n, _ in pts)}
        if fits:
            out[f"{pipe} d={d}"] = fits
    return out


def exponent_lines(exponents: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """The fitted exponents as lines: "convexdual d=3, n = 50..400: time ~ n^b: cells 2.1, ..."."""
    lines = []
    for key, fits in exponents.items():
        parts = ", ".join(f"{what.replace('_', ' ')} {f['exponent']:.2f} (n {f['n_min']:g}..{f['n_max']:g})"
                          for what, f in fits.items())
        lines.append(f"{key}: growth exponents b (cost ~ n^b): {parts}")
    return lines


def _ratio_line(b: dict[str, Any], c: dict[str, Any]) -> str:
    """Baseline / convexdual: end to end when both finished, and always on the stages that differ
    (cells, solve, directions; the downstream code is shared)."""
    bs, cs = b["stage_s"], c["stage_s"]
    own_b, own_c = bs["cells"] + bs["solve"] + bs["directions"], cs["cells"] + cs["solve"] + cs["directions"]
    end = (f"end to end {b['total_s'] / c['total_s']:.1f}x" if b["status"] == c["status"] == "ok"
           else "end to end: n/a (baseline " + b["status"].split(":")[0] + ")")
    return (f"    ratio baseline / convexdual: {end}; cells + solve + directions {own_b:.2f} s / {own_c:.2f} s = "
            f"{own_b / max(own_c, 1e-9):.0f}x (cells {bs['cells'] / max(cs['cells'], 1e-9):.0f}x)")


def _line(pipe: str, inst: Instance, res: dict[str, Any]) -> str:
    head = f"d={inst.d} n={inst.n:<5d} seed {inst.seed} {pipe:<10s}"
    if "total_s" not in res:
        return f"{head} {res['status']}"
    st = res["stage_s"]
    stages = " ".join(f"{k} {st[k]:.2f}" for k in STAGES if k in st)
    ms = res.get("m_star") if res.get("m_star") is not None else res.get("m_star_bounds")
    kinds = ", ".join(f"{k} {v:.2f}" for k, v in sorted(res.get("solver_by_kind", {}).items()))
    return (f"{head} {res['cells']:>6d} cells  total {res['total_s']:.2f} s  [{stages}]  solver {res['solver_s']:.2f} s"
            f" ({kinds}; the rest {max(0.0, 1 - res['solver_s'] / res['total_s']):.0%})"
            f"  peak {res['peak_rss_mb']:.0f} MB  p* {res['p_star']:.9g}  m* {ms}  M* "
            f"{res.get('M_star') if res.get('M_star') is not None else res.get('M_star_bounds')}  ({res['status']})")


def _write_table(out_dir: Path, rows: list[dict[str, Any]]) -> Path:
    """``table.csv``: one row per (pipeline, instance) run so far."""
    return write_table(out_dir / "table.csv", COLUMNS, rows)


def machine() -> dict[str, Any]:
    """The CPU model, the number of cores, the Python version and the platform."""
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def bench_figure(rows: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Log-log wall time (end to end) against n, per pipeline and input dimension."""

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    styles = {"baseline": ("#d62728", "standard pipeline"), "convexdual": ("#1f77b4", "convexdual")}
    notes: list[tuple[str, str]] = []  # runs without an end-to-end time
    for pipe, (color, label) in styles.items():
        for d, marker in ((2, "o"), (3, "s")):
            mine = [r for r in rows if r["pipeline"] == pipe and r["d"] == d]
            pts = [(r["n"], r["total_s"]) for r in mine if r.get("total_s") and r.get("status") == "ok"]
            if pts:
                x, t = zip(*pts)
                ax.loglog(x, t, marker=marker, color=color, ls="-" if d == 2 else "--", label=f"{label}, d = {d}")
            for r in mine:  # listed under the axes
                if r.get("status") == "ok":
                    continue
                status = str(r.get("status", ""))
                why = ("time limit" if status.startswith("timeout") else
                       "no m*, M* (" + status.split(":")[0] + f" after {r['total_s']:.0f} s)" if r.get("total_s")
                       else "not certified")
                notes.append((color, f"{label}: {why} at n = {r['n']} (d = {d})"))
    for k, (color, text) in enumerate(notes):
        ax.text(0.0, -0.13 - 0.05 * k, text, transform=ax.transAxes, color=color, fontsize=8, ha="left", va="top")
    ax.set_xlabel("number of points n (gaussian data)")
    ax.set_ylabel("end-to-end time to m*, M* and the staircase (s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    m = machine()
    both = {r["pipeline"] for r in rows} >= {"baseline", "convexdual"}
    ax.set_title(f"{'Certified pipeline vs the standard one' if both else 'Certified pipeline'} ({m['cores']} cores)",
                 fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_dir, "time_vs_n", (
        f"End-to-end time against n on gaussian data, beta fixed, on {m['cpu']} ({m['cores']} cores). Same "
        "downstream code (polytope, widths, staircase) in both; the standard pipeline = LP cell search, one cvxpy "
        "expression per pattern, one cone program per (pattern, sign). Table: table.csv."))


def stages_figure(rows: list[dict[str, Any]], out_dir: Path, time_limit: float | None = None,
                  pipeline: str = "convexdual") -> list[Path]:
    """Log-log time of each stage (and the physical limit) against n, one panel per d, the fitted
    exponents in the legend (stages at the polytope ``time_limit`` are drawn, not fitted)."""
    exponents = fit_exponents(rows, time_limit)
    ds = sorted({r["d"] for r in rows if r["pipeline"] == pipeline and r.get("status") == "ok"})
    if not ds:
        return []
    plt = pyplot()
    fig, axes = plt.subplots(1, len(ds), figsize=(6.5 * len(ds), 5), squeeze=False)
    for ax, d in zip(axes[0], ds):
        mine = sorted((r for r in rows if r["pipeline"] == pipeline and r["d"] == d and r.get("status") == "ok"),
                      key=lambda r: r["n"])
        fits = exponents.get(f"{pipeline} d={d}", {})
        for what in ["cells", "solve", "polytope", "widths", "total", "limit"]:
            pts = [(r["n"], v) for r in mine if (v := _measured(r, what)) is not None]
            if not pts:
                continue
            x, t = zip(*pts)
            slope = (f", n^{fits[what]['exponent']:.2f}" if what in fits else
                     " (at its time limit: not fitted)" if what in LIMITED else "")
            style = {"total": dict(color="black", lw=2), "limit": dict(color="gray", ls=":", lw=2)}.get(what, {})
            label = {"total": "end to end",
                     "limit": "physical limit (one projection pass + final solve)"}.get(what, what)
            ax.loglog(x, t, marker="o", label=label + slope, **style)
        ax.set_xlabel("number of points n (gaussian data)")
        ax.set_ylabel("seconds")
        ax.set_title(f"{pipeline}, d = {d}: time per stage", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    m = machine()
    return save_figure(fig, out_dir, "stages_vs_n", (
        f"Time of each stage of {pipeline} against n on gaussian data ({m['cpu']}, {m['cores']} cores), with the "
        "exponent b of a least-squares fit time ~ n^b; the physical limit is one pass of exact cone projections "
        "over every block plus one interior-point solve on the final active blocks. Table: table.csv."))


if __name__ == "__main__":
    worker(sys.argv[1:])
