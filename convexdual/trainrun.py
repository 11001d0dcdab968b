"""`convexdual train` on disk: train width-m networks for many seeds, certify each, keep everything.

Run folder (default ``outputs/train/<config name>-<hash>``, the hash covering the config and
the training settings; see :mod:`convexdual.runs` for ``run.json``, ``.lock`` and ``rejected/``)::

    train.json                  p*, m*, M*, n, settings, counts (rewritten at the end)
    points/m<m>_seed<s>.json    one record per (width, seed): objective, gap, classification, ...
    weights/m<m>_seed<s>.npz    the trained network (layout: results.WEIGHTS_LAYOUT)
    table.csv                   one row per record (rebuilt after every point)
    train_success.png/.pdf/.txt the figure

The folder belongs to one config and its training settings (``run_id``); a training run of another
config into it is refused. Every record carries ``run_id``, ``content_sha256`` and
``weights_sha256`` (the sha256 of its weights file) and is checked when read; one that fails is
moved to ``rejected/`` (with its weights) and trained again. A (width, seed) whose valid record
exists is not trained again; nothing is overwritten. Ctrl-C or SIGTERM stops cleanly (exit 130 /
143) and a rerun resumes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .certify import certify
from .config import Config
from .errors import ConfigError, ResourceLimitError
from .pipeline import certified_two_layer
from .results import save_network
from .runs import (Check, RunFolder, file_sha256, legacy_manifest, progress_bar, record_path, reject, safe_name,
                   stoppable, types_ok, write_json, write_table)
from .solvers import resolve_solver
from .training import initial_network, train
from .variants import require

log = logging.getLogger("convexdual")

COLUMNS = ["width", "seed", "classification", "objective", "p_star", "gap", "dual_violation", "gradient_norm",
           "iterations", "converged", "seconds", "weights"]
CLASSES = ("global_optimum", "stationary_not_global", "not_stationary", "diverged")


def parse_range(text: str, what: str, limit: int | None = None, high: int | None = None) -> list[int]:
    """'0-19', '6', '1-4,6' -> sorted distinct integers (>= 0); more than ``limit`` of them, or one
    above ``high``, is a ResourceLimitError, found before any list is built."""
    parts: list[tuple[int, int]] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                a, b = int(lo), int(hi)
                if b < a:
                    raise ValueError
            else:
                a = b = int(part)
        except ValueError:
            raise ConfigError(f"{what}: cannot read {text!r}; use e.g. 6, 0-19 or 1-4,6") from None
        parts.append((a, b))
    if not parts or min(a for a, _ in parts) < 0:
        raise ConfigError(f"{what}: {text!r} must name non-negative integers")
    if limit is not None and sum(b - a + 1 for a, b in parts) > limit:
        raise ResourceLimitError(f"{what}: {text!r} names more than {limit} values")
    if high is not None and max(b for _, b in parts) > high:
        raise ResourceLimitError(f"{what}: {text!r} goes above {high}, the largest value allowed here")
    return sorted({v for a, b in parts for v in range(a, b + 1)})


def run_id(cfg: Config) -> str:
    text = json.dumps({"config": cfg.hash(), "train": asdict(cfg.train), "certify": asdict(cfg.certify)},
                      sort_keys=True)
    return f"{safe_name(cfg.name)}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class TrainSummary:
    run_dir: Path
    rows: list[dict[str, Any]]
    done_before: int
    info: dict[str, Any]


def check_limits(cfg: Config, widths: list[int], seeds: list[int]) -> None:
    """Widths and the number of networks within ``limits.max_width`` and ``limits.train_networks``."""
    if widths[-1] > cfg.limits.max_width:
        raise ResourceLimitError(f"--width: width {widths[-1]} is above limits.max_width = {cfg.limits.max_width}")
    if len(widths) * len(seeds) > cfg.limits.train_networks:
        raise ResourceLimitError(f"{len(widths)} widths x {len(seeds)} seeds = {len(widths) * len(seeds)} networks; "
                                 f"the limit is limits.train_networks = {cfg.limits.train_networks}")


def run_training(cfg: Config, widths: list[int], seeds: list[int], out_dir: Path | None, progress: bool = True,
                 root: Path = Path("outputs") / "train") -> TrainSummary:
    """Train and certify every (width, seed) not yet on disk; return all records of the run."""
    require(cfg, "train")
    check_limits(cfg, widths, seeds)
    rid = run_id(cfg)
    legacy = legacy_manifest("train.json", lambda old: _other_training(old, cfg))
    with RunFolder.open(out_dir or root / rid, "train", {"run_id": rid}, legacy=legacy) as folder:
        result = certified_two_layer(cfg)
        return _train_all(folder, cfg, result, widths, seeds, progress)


def _train_all(folder: RunFolder, cfg: Config, result: Any, widths: list[int], seeds: list[int],
               progress: bool) -> TrainSummary:
    run_dir, rid = folder.path, run_id(cfg)
    solver = resolve_solver(cfg.solver)
    X, y = result.data.X, result.data.y
    info = {"name": cfg.name, "config_hash": cfg.hash(), "config": cfg.resolved(), "train": asdict(cfg.train),
            "certify": asdict(cfg.certify), "p_star": result.p_star, "m_star": result.widths.m_star,
            "M_star": result.widths.M_star, "n": result.data.n, "d": result.data.d}
    pairs = [(m, s) for m in widths for s in seeds]
    known = {(r["width"], r["seed"]): r for r in read_records(folder, rid)}
    todo = [pair for pair in pairs if pair not in known]
    before = len(pairs) - len(todo)
    log.info("%s: %d (width, seed) pairs, %d already on disk", run_dir, len(pairs), before)
    bar = progress_bar(len(pairs), before, f"train {cfg.name}", progress)

    def so_far() -> str:
        bar.close()
        done = sum(1 for m, s in pairs if (run_dir / point_file(m, s)).exists())
        return f"{done} of {len(pairs)} networks trained in {run_dir}; rerun the same command to resume"

    with stoppable(so_far):
        for m, seed in todo:
            t0 = time.perf_counter()
            tr = train(X, y, cfg.beta, initial_network(m, X.shape[1], seed, cfg.train.init_scale, cfg.model.skip), cfg.train)
            try:
                cert = certify(tr.network, X, y, result.patterns.D, beta=cfg.beta, skip=cfg.model.skip,
                               p_star=result.p_star, solver=solver, tol=cfg.certify, solver_tol=cfg.tol.solver,
                               every_cell=result.patterns.mode != "oracle")
            except ConfigError as exc:  # training diverged: weights not finite, or too large to evaluate
                log.warning("width %d, seed %d: %s", m, seed, exc)
                cert = None
            wpath = run_dir / "weights" / f"m{m}_seed{seed}.npz"
            if wpath.exists():  # weights without a valid record: keep them aside, never overwrite
                reject(run_dir, f"weights/{wpath.name}", "weights file without a valid record")
            save_network(wpath, tr.network.W, tr.network.a, tr.network.z, cfg.hash(), width=m, seed=seed)
            record = {"status": "ok", "run_id": rid, "width": m, "seed": seed,
                      "classification": cert.classification if cert else "diverged",
                      "objective": cert.objective if cert else None, "p_star": result.p_star,
                      "gap": cert.gap if cert else None, "dual_violation": cert.dual_violation if cert else None,
                      "gradient_norm": cert.gradient_norm if cert else None, "iterations": tr.iterations,
                      "converged": tr.converged, "seconds": time.perf_counter() - t0,
                      "weights": f"weights/{wpath.name}", "weights_sha256": file_sha256(wpath)}
            known[m, seed] = folder.write_record(point_file(m, seed), record, point_check(run_dir, rid, m, seed))
            _write_table(run_dir, known)
            bar.update(1)
    bar.close()
    rows = [known[pair] for pair in sorted(known) if pair[0] in widths and pair[1] in seeds]
    counts = {c: sum(r["classification"] == c for r in rows) for c in CLASSES}
    write_json(run_dir / "train.json", {**info, "run_id": rid, "widths": widths, "seeds": seeds, "counts": counts})
    _write_table(run_dir, known)
    return TrainSummary(run_dir, rows, before, info)


def _other_training(old: dict[str, Any], cfg: Config) -> str | None:
    """A folder from before run folders had run.json: its train.json, if any, must be this config's."""
    if old.get("config_hash") != cfg.hash() or old.get("train") != asdict(cfg.train):
        return f"a training run of config {old.get('name')} ({old.get('config_hash')})"
    return None


def point_file(m: int, seed: int) -> str:
    """The record of the network of width ``m`` and seed ``seed``: ``points/m<m>_seed<s>.json``."""
    return record_path(f"m{m}_seed{seed}")


RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "run_id": (str,), "width": (int,), "seed": (int,), "classification": (str,),
    "objective": (int, float, type(None)), "p_star": (int, float), "gap": (int, float, type(None)),
    "dual_violation": (int, float, type(None)),
    "gradient_norm": (int, float, type(None)), "iterations": (int,), "converged": (bool,), "seconds": (int, float),
    "weights": (str,), "weights_sha256": (str,),
}


def point_check(run_dir: Path, rid: str, m: int, seed: int) -> Check:
    """The check of ``points/m<m>_seed<s>.json``: this run's id, its own width and seed, the types
    of every column, and the weights file it names, by its sha256."""
    def check(r: dict[str, Any]) -> str | None:
        why = types_ok(r, RECORD_TYPES)
        if why is None and (r["run_id"], r["width"], r["seed"]) != (rid, m, seed):
            why = f"it is the record of run {r['run_id']}, width {r['width']}, seed {r['seed']}"
        if why is None and r["classification"] not in CLASSES:
            why = f"unknown classification {r['classification']!r}"
        if why is None and r["weights"] != f"weights/m{m}_seed{seed}.npz":
            why = f"it names the weights file {r['weights']!r}"
        if why is None:
            wpath = run_dir / r["weights"]
            if not wpath.is_file():
                why = "its weights file is missing"
            elif file_sha256(wpath) != r["weights_sha256"]:
                why = "its weights file does not match its weights_sha256"
        return why
    return check


def read_records(folder: RunFolder, rid: str) -> list[dict[str, Any]]:
    """Every valid record of a training run, ordered by (width, seed); invalid ones are moved aside."""
    rows = folder.read_records((point_file(m, seed), point_check(folder.path, rid, m, seed))
                               for m, seed in _stored_pairs(folder.path))
    return sorted(rows.values(), key=lambda r: (r["width"], r["seed"]))


def _stored_pairs(run_dir: Path) -> list[tuple[int, int]]:
    """The (width, seed) of every ``points/m<m>_seed<s>.json`` in the folder."""
    pairs = []
    for path in (run_dir / "points").glob("m*_seed*.json"):
        try:
            m, seed = (int(v) for v in path.stem[1:].split("_seed"))
        except ValueError:
            continue
        pairs.append((m, seed))
    return pairs


def _write_table(run_dir: Path, records: dict[tuple[int, int], dict[str, Any]]) -> Path:
    """``table.csv``: one row per record, by (width, seed)."""
    return write_table(run_dir / "table.csv", COLUMNS, (records[key] for key in sorted(records)))


def width_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per width: seeds, how many certified global, and the gaps of the others."""
    out = []
    for m in sorted({r["width"] for r in rows}):
        sub = [r for r in rows if r["width"] == m]
        other = [r["gap"] for r in sub if r["classification"] != "global_optimum" and r["gap"] is not None]
        out.append({"width": m, "seeds": len(sub),
                    "global": sum(r["classification"] == "global_optimum" for r in sub),
                    "stationary_not_global": sum(r["classification"] == "stationary_not_global" for r in sub),
                    "not_stationary": sum(r["classification"] == "not_stationary" for r in sub),
                    "diverged": sum(r["classification"] == "diverged" for r in sub),
                    "other_gaps": other, "max_global_gap": max((r["gap"] for r in sub
                                                                if r["classification"] == "global_optimum"),
                                                               default=None),
                    "seconds": float(np.sum([r["seconds"] for r in sub]))})
    return out
