"""`convexdual train` on disk: train width-m networks for many seeds, certify each, keep everything.

Run directory (default ``outputs/train/<config name>-<hash>``, the hash covering the config and
the training settings)::

    train.json                  p*, m*, M*, n, settings, counts (rewritten at the end)
    points/m<m>_seed<s>.json    one record per (width, seed): objective, gap, classification, ...
    weights/m<m>_seed<s>.npz    the trained network (layout: results.WEIGHTS_LAYOUT)
    table.csv                   one row per record (rebuilt after every point)
    train_success.png/.pdf/.txt the figure

A (width, seed) whose record exists is not trained again; nothing is overwritten. Ctrl-C or
SIGTERM stops cleanly (exit 130 / 143) and a rerun resumes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config
from .errors import ConfigError

log = logging.getLogger("convexdual")

COLUMNS = ["width", "seed", "classification", "objective", "p_star", "gap", "dual_violation", "gradient_norm",
           "iterations", "converged", "seconds", "weights"]


def parse_range(text: str, what: str) -> list[int]:
    """'0-19', '6', '1-4,6' -> sorted distinct integers (>= 0)."""
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                a, b = int(lo), int(hi)
                if b < a:
                    raise ValueError
                out.update(range(a, b + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise ConfigError(f"{what}: cannot read {text!r}; use e.g. 6, 0-19 or 1-4,6") from None
    if not out or min(out) < 0:
        raise ConfigError(f"{what}: {text!r} must name non-negative integers")
    return sorted(out)


def run_id(cfg: Config) -> str:
    text = json.dumps({"config": cfg.hash(), "train": asdict(cfg.train), "certify": asdict(cfg.certify)},
                      sort_keys=True)
    return f"{cfg.name}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class TrainSummary:
    run_dir: Path
    rows: list[dict[str, Any]]
    done_before: int
    info: dict[str, Any]


def run_training(cfg: Config, widths: list[int], seeds: list[int], out_dir: Path | None, progress: bool = True,
                 root: Path = Path("outputs") / "train") -> TrainSummary:
    """Train and certify every (width, seed) not yet on disk; return all records of the run."""
    from .certify import certify
    from .pipeline import solve
    from .results import atomic_write_text, dumps, save_network
    from .solvers import resolve_solver
    from .sweep import _progress_bar, _sigterm_as_interrupt, exit_interrupted
    from .training import initial_network, train

    if cfg.problem != "regression":
        raise ConfigError("train needs problem: regression (interpolation has no training objective here)")
    run_dir = out_dir or root / run_id(cfg)
    result = solve(cfg)
    solver = resolve_solver(cfg.solver)
    X, y = result.data.X, result.data.y
    info = {"name": cfg.name, "config_hash": cfg.hash(), "config": cfg.resolved(), "train": asdict(cfg.train),
            "certify": asdict(cfg.certify), "p_star": result.p_star, "m_star": result.widths.m_star,
            "M_star": result.widths.M_star, "n": result.data.n, "d": result.data.d}
    todo = [(m, s) for m in widths for s in seeds if not _point_path(run_dir, m, s).exists()]
    before = len(widths) * len(seeds) - len(todo)
    log.info("%s: %d (width, seed) pairs, %d already on disk", run_dir, len(widths) * len(seeds), before)
    bar = _progress_bar(len(widths) * len(seeds), before, f"train {cfg.name}", progress)
    try:
        with _sigterm_as_interrupt():
            for m, seed in todo:
                t0 = time.perf_counter()
                tr = train(X, y, cfg.beta, initial_network(m, X.shape[1], seed, cfg.train.init_scale, cfg.skip),
                           cfg.train)
                cert = certify(tr.network, X, y, result.patterns.D, beta=cfg.beta, skip=cfg.skip,
                               p_star=result.p_star, solver=solver, tol=cfg.certify, solver_tol=cfg.tol.solver)
                wpath = run_dir / "weights" / f"m{m}_seed{seed}.npz"
                if not wpath.exists():
                    save_network(wpath, tr.network.W, tr.network.a, tr.network.z, cfg.hash(), width=m, seed=seed)
                record = {"width": m, "seed": seed, "classification": cert.classification,
                          "objective": cert.objective, "p_star": result.p_star, "gap": cert.gap,
                          "dual_violation": cert.dual_violation, "gradient_norm": cert.gradient_norm,
                          "iterations": tr.iterations, "converged": tr.converged,
                          "seconds": time.perf_counter() - t0, "weights": str(wpath.relative_to(run_dir))}
                atomic_write_text(_point_path(run_dir, m, seed), dumps(record) + "\n")
                _write_table(run_dir)
                bar.update(1)
    except KeyboardInterrupt as exc:
        bar.close()
        done = sum(1 for m in widths for s in seeds if _point_path(run_dir, m, s).exists())
        exit_interrupted(exc, f"{done} of {len(widths) * len(seeds)} networks trained in {run_dir}; rerun the "
                              "same command to resume")
    bar.close()
    rows = [r for r in read_records(run_dir) if r["width"] in widths and r["seed"] in seeds]
    counts = {c: sum(r["classification"] == c for r in rows)
              for c in ("global_optimum", "stationary_not_global", "not_stationary")}
    atomic_write_text(run_dir / "train.json", dumps({**info, "widths": widths, "seeds": seeds, "counts": counts})
                      + "\n", overwrite=True)
    _write_table(run_dir)
    return TrainSummary(run_dir, rows, before, info)


def _point_path(run_dir: Path, m: int, seed: int) -> Path:
    return run_dir / "points" / f"m{m}_seed{seed}.json"


def read_records(run_dir: Path) -> list[dict[str, Any]]:
    """Every record of a training run, ordered by (width, seed)."""
    rows = [json.loads(p.read_text()) for p in (run_dir / "points").glob("m*_seed*.json")]
    return sorted(rows, key=lambda r: (r["width"], r["seed"]))


def _write_table(run_dir: Path) -> Path:
    from .results import atomic_write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in read_records(run_dir):
        writer.writerow(row)
    return atomic_write_text(run_dir / "table.csv", buf.getvalue(), overwrite=True)


def width_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per width: seeds, how many certified global, and the gaps of the others."""
    out = []
    for m in sorted({r["width"] for r in rows}):
        sub = [r for r in rows if r["width"] == m]
        other = [r["gap"] for r in sub if r["classification"] != "global_optimum"]
        out.append({"width": m, "seeds": len(sub),
                    "global": sum(r["classification"] == "global_optimum" for r in sub),
                    "stationary_not_global": sum(r["classification"] == "stationary_not_global" for r in sub),
                    "not_stationary": sum(r["classification"] == "not_stationary" for r in sub),
                    "other_gaps": other, "max_global_gap": max((r["gap"] for r in sub
                                                                if r["classification"] == "global_optimum"),
                                                               default=None),
                    "seconds": float(np.sum([r["seconds"] for r in sub]))})
    return out
