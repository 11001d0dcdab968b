"""The config loader's observable behaviour, pinned by a golden file: for every config under configs/
(with a few overrides) the hash, the resolved config (key order included) and the value of every
field; for many single-key changes of a few base configs the hash or the exact error line; and the
order in which the errors of a config with many bad keys are reported.

Regenerate the golden file only when a change of behaviour is intended:
``PYTHONPATH=. python tests/test_config_schema.py``."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

from convexdual.config import config_from_dict, load_config

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "config_schema.json"

# Where each attribute of Config as first released (flat) lives now.
NESTED = {"skip": "model.skip", "outputs": "model.outputs", "architecture": "model.architecture",
          "branches": "model.branches", "hidden": "model.hidden", "max_enum_dim": "polytope.max_enum_dim",
          "enum_timeout_s": "polytope.enum_timeout_s", "milp_time_limit_s": "polytope.milp_time_limit_s",
          "oracle_time_limit_s": "oracle.time_limit_s"}

# Every attribute of Config as first released (flat), read through whatever the Config now is.
FLAT_FIELDS = ("name", "problem", "beta", "data", "skip", "widths", "solver", "patterns", "tol", "max_enum_dim",
               "enum_timeout_s", "milp_time_limit_s", "value_search_budget", "sweep", "train", "certify",
               "working_set", "source", "outputs", "architecture", "branches", "hidden", "limits",
               "oracle_time_limit_s")

FILE_OVERRIDES = ([], ["data.n=7"], ["beta=0.5"], ["patterns.mode=sampled"], ["model.outputs=2"],
                  ["patterns=oracle", "model.outputs=2"], ["problem=interpolation"], ["data.bias=true"],
                  ["patterns=sampled", "patterns.n_samples=50", "patterns.seed=2"], ["tol.margin=1e-5"],
                  ["polytope={max_enum_dim: 3}"], ["limits.cells=10", "oracle.time_limit_s=5"],
                  ["model.architecture=parallel_three_layer", "model.branches=3", "model.hidden=2"])

X3 = [[1, 2], [3, 4], [5, 6]]
BASES: dict[str, dict[str, Any]] = {
    "points_y": {"data": {"kind": "points", "X": X3, "y": [1, 2, 3]}},
    "points_Y": {"data": {"kind": "points", "X": X3, "Y": [[1, 0], [0, 1], [1, 1]]}, "model": {"outputs": 2}},
    "gaussian": {"data": {"kind": "gaussian", "n": 5, "d": 2}},
    "circle": {"data": {"kind": "circle", "angles_deg": [0, 120, 240], "y": [1, -1, 1]}},
    "file": {"data": {"kind": "file", "path": "d.csv"}},
    "sklearn": {"data": {"kind": "sklearn", "name": "diabetes", "n": 20}},
    "sampled": {"data": {"kind": "points", "X": X3, "y": [1, 2, 3]}, "patterns": {"mode": "sampled", "seed": 3}},
    "interpolation": {"data": {"kind": "points", "X": X3, "y": [1, 2, 3]}, "problem": "interpolation"},
    "three_layer": {"data": {"kind": "gaussian", "n": 5, "d": 2}, "model": {"architecture": "parallel_three_layer"}},
}
DATA_BASES = ("points_y", "points_Y", "gaussian", "circle", "file", "sklearn")

DATA_KEYS = ("kind", "X", "y", "Y", "n", "d", "seed", "angles_deg", "path", "y_column", "name", "features", "bias",
             "standardize")
OTHER_KEYS = ("name", "problem", "beta", "data", "model", "model.skip", "model.outputs", "model.architecture",
              "model.branches", "model.hidden", "widths", "solver", "patterns", "patterns.mode", "patterns.n_samples",
              "patterns.seed", "tol", "tol.solver", "tol.polish", "tol.active", "tol.margin", "tol.margin_ratio",
              "polytope", "polytope.max_enum_dim", "polytope.enum_timeout_s", "polytope.milp_time_limit_s",
              "value_search_budget", "sweep", "train", "train.optimizer", "train.lr", "train.max_iter",
              "train.adam_iter", "train.grad_tol", "train.init_scale", "certify", "certify.gap", "certify.stationary",
              "working_set", "oracle", "oracle.time_limit_s", "limits", "limits.cells", "limits.memory_gb",
              "limits.sweep_points", "limits.train_networks", "limits.max_width", "bogus", "data.bogus",
              "patterns.bogus")
# Keys whose checks depend on other keys: also changed in the bases other than points_y.
RULE_KEYS = ("problem", "model", "model.skip", "model.outputs", "model.architecture", "patterns", "patterns.mode",
             "tol.margin", "tol.active")
VALUES: tuple[Any, ...] = ("x", -1, 0, 2, 0.5, 1e-12, True, None, [], [[1, 2]], {}, float("inf"), 10**30, "sampled")
# A value bad for every key (a string where a number is expected, an unknown choice, ...).
BAD: dict[str, Any] = {"data.kind": "x", "data.X": "x", "data.y": "x", "data.Y": "x", "data.n": "x", "data.d": "x",
                       "data.seed": "x", "data.angles_deg": "x", "data.path": 5, "data.y_column": "x",
                       "data.name": "x", "data.features": "x", "data.bias": "x", "data.standardize": "x",
                       "name": "..", "problem": "x", "beta": "x", "model.skip": "x", "model.outputs": "x",
                       "model.architecture": "x", "model.branches": "x", "model.hidden": "x", "widths": "x",
                       "solver": "x", "patterns.mode": "x", "patterns.n_samples": "x", "patterns.seed": "x",
                       "tol.solver": "x", "tol.polish": "x", "tol.active": "x", "tol.margin": "x",
                       "tol.margin_ratio": "x", "polytope.max_enum_dim": "x", "polytope.enum_timeout_s": "x",
                       "polytope.milp_time_limit_s": "x", "value_search_budget": "x", "sweep": "x",
                       "train.optimizer": "x", "train.lr": "x", "train.max_iter": "x", "train.adam_iter": "x",
                       "train.grad_tol": "x", "train.init_scale": "x", "certify.gap": "x", "certify.stationary": "x",
                       "working_set": "x", "oracle.time_limit_s": "x", "limits.cells": "x", "limits.memory_gb": "x",
                       "limits.sweep_points": "x", "limits.train_networks": "x", "limits.max_width": "x"}


def _set(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b`` in a raw config dict (a section that is not a mapping becomes one)."""
    *parents, last = dotted.split(".")
    node = raw
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {"mode": node[part]} if part == "patterns" and isinstance(node.get(part), str) else {}
        node = node[part]
    node[last] = copy.deepcopy(value)


def _outcome(make: Callable[[], Any]) -> dict[str, Any]:
    """The hash, resolved config and field values of a config, or its error line."""
    try:
        cfg = make()
    except Exception as exc:  # the error type and line are what is pinned
        return {"error": f"{type(exc).__name__}: {exc}"}
    fields = {name: repr(cfg.get(NESTED.get(name, name))) for name in FLAT_FIELDS}
    return {"hash": cfg.hash(), "resolved": json.dumps(cfg.resolved()),
            "resolved_sorted": json.dumps(cfg.resolved(), sort_keys=True), "fields": fields}


def _short(outcome: dict[str, Any]) -> str:
    """One line: the error, or the hash and digests of the field values and of the resolved config
    (its key order included)."""
    if "error" in outcome:
        return outcome["error"]
    fields = hashlib.sha256(json.dumps(outcome["fields"], sort_keys=True).encode()).hexdigest()[:12]
    resolved = hashlib.sha256(outcome["resolved"].encode()).hexdigest()[:12]
    return f"ok {outcome['hash']} {fields} {resolved}"


def _error_order(base: dict[str, Any]) -> list[str]:
    """Set every key of BAD to its bad value, then repeatedly: record the error and repair the key
    whose repair changes it (the first such in BAD's order). The list is the order of the checks."""
    bad = dict(BAD)
    out = []
    while True:
        raw = copy.deepcopy(base)
        for key, value in bad.items():
            _set(raw, key, value)
        first = _short(_outcome(lambda: config_from_dict(raw)))
        out.append(first)
        if first.startswith("ok ") or not bad:
            return out
        for key in list(bad):
            trial = copy.deepcopy(base)
            for other, value in bad.items():
                if other != key:
                    _set(trial, other, value)
            if _short(_outcome(lambda: config_from_dict(trial))) != first:
                out[-1] = f"{key}: {first}"
                del bad[key]
                break
        else:
            return out


def snapshot(data_dir: Path) -> dict[str, Any]:
    """Everything pinned: the configs read from the repository root, the dicts from ``data_dir``
    (which holds the data file d.csv of the base ``file``)."""
    here = os.getcwd()
    try:
        os.chdir(ROOT)
        files = _files()
        os.chdir(data_dir)
        return {"files": files, "single": _single(), "order": {name: _error_order(BASES[name]) for name in DATA_BASES}}
    finally:
        os.chdir(here)


def _files() -> dict[str, Any]:
    files = {}
    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        rel = path.relative_to(ROOT)
        if rel.parts[1] == "hydra":
            continue
        for overrides in FILE_OVERRIDES:
            outcome = _outcome(lambda: load_config(rel, overrides))
            files[f"{rel} {' '.join(overrides)}".strip()] = outcome if not overrides else _short(outcome)
    return files


def _single() -> dict[str, str]:
    single = {}
    for base_name, base in BASES.items():
        keys = [f"data.{k}" for k in DATA_KEYS] if base_name in DATA_BASES else []
        keys += list(OTHER_KEYS) if base_name == "points_y" else [] if base_name in DATA_BASES[2:] else list(RULE_KEYS)
        for key in keys:
            for value in VALUES:
                raw = copy.deepcopy(base)
                _set(raw, key, value)
                single[f"{base_name} {key}={value!r}"] = _short(_outcome(lambda: config_from_dict(raw)))
        single[f"{base_name} (as is)"] = _short(_outcome(lambda: config_from_dict(base)))
    return single


def _data_dir(directory: Path) -> Path:
    (directory / "d.csv").write_text("1,2,3\n4,5,6\n")
    return directory


def test_config_behaviour_matches_golden(tmp_path):
    golden = json.loads(GOLDEN.read_text())
    now = json.loads(json.dumps(snapshot(_data_dir(tmp_path))))
    for part in ("files", "single", "order"):
        assert now[part].keys() == golden[part].keys(), part
        wrong = [key for key in golden[part] if now[part][key] != golden[part][key]]
        assert not wrong, f"{part}: {len(wrong)} differ, e.g. {wrong[0]!r}: {now[part][wrong[0]]!r} " \
                          f"!= {golden[part][wrong[0]]!r}"


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(snapshot(_data_dir(Path(tmp))), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
