"""Step 1 of the pipeline: YAML config -> validated, resolved :class:`Config`.

A config file is composed with Hydra (so ``defaults:`` lists work), merged over the defaults
below, then command-line overrides in Hydra syntax (``beta=0.3 data.bias=true``) are applied.
Every key is checked: unknown keys, wrong types and out-of-range values raise
:class:`~convexdual.errors.ConfigError` with one line naming the key.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .errors import ConfigError

PROBLEMS = ("regression", "interpolation")
SOLVERS = ("auto", "mosek", "clarabel", "scs")
PATTERN_MODES = ("exact", "sampled")
DATA_KINDS = ("points", "gaussian", "circle", "file", "sklearn")
SKLEARN_DATASETS = ("diabetes", "iris", "wine", "breast_cancer", "linnerud")

# Keys each data kind uses (besides kind, bias, standardize).
DATA_KEYS_BY_KIND: dict[str, tuple[str, ...]] = {
    "points": ("X", "y", "Y"),
    "gaussian": ("n", "d", "seed"),
    "circle": ("angles_deg", "y"),
    "file": ("path", "y_column"),
    "sklearn": ("name", "n", "features", "seed"),
}

DEFAULTS: dict[str, Any] = {
    "name": None,
    "problem": "regression",
    "beta": 0.1,
    "data": {
        "kind": "points",
        "X": None,
        "y": None,
        "Y": None,
        "n": None,
        "d": None,
        "seed": 0,
        "angles_deg": None,
        "path": None,
        "y_column": -1,
        "name": None,
        "features": None,
        "bias": False,
        "standardize": False,
    },
    "model": {"skip": False, "outputs": 1, "architecture": "two_layer", "branches": 8, "hidden": 4},
    "widths": None,
    "solver": "auto",
    "patterns": "exact",
    "tol": {"solver": 1e-10, "polish": 1e-12, "active": 1e-7, "margin": 1e-6, "margin_ratio": 1000.0},
    "polytope": {"max_enum_dim": 24, "enum_timeout_s": 60.0, "milp_time_limit_s": 60.0},
    "value_search_budget": 400,
    "sweep": {},
    "train": {"optimizer": "adam", "lr": 0.01, "max_iter": 20000, "adam_iter": 5000, "grad_tol": 1e-10,
              "init_scale": 1.0},
    "certify": {"gap": 1e-6, "stationary": 1e-6},
    "working_set": "auto",
}

WORKING_SET_MODES = ("auto", "always", "never")

ARCHITECTURES = ("two_layer", "parallel_three_layer")

OPTIMIZERS = ("adam", "gd")

PATTERN_DEFAULTS = {"mode": "exact", "n_samples": 10000, "seed": 0}


@dataclass(frozen=True)
class DataConfig:
    """Where the data come from. Only the keys of ``kind`` are meaningful."""

    kind: str
    X: list[list[float]] | None = None
    y: list[float] | None = None
    Y: list[list[float]] | None = None  # vector targets (n x c), kind points
    n: int | None = None
    d: int | None = None
    seed: int = 0
    angles_deg: list[float] | None = None
    path: str | None = None
    y_column: int = -1
    name: str | None = None
    features: int | list[int] | None = None
    bias: bool = False
    standardize: bool = False
    outputs: int = 1  # model.outputs: the number of target columns to produce/expect


@dataclass(frozen=True)
class PatternConfig:
    """``exact``: every cell of the arrangement; ``sampled``: patterns of random directions."""

    mode: str = "exact"
    n_samples: int = 10000
    seed: int = 0


@dataclass(frozen=True)
class Tolerances:
    """solver: gap/feasibility tolerance passed to the solver.
    polish: tolerance of the final solve on exactly the active blocks (falls back to ``solver``
    when the solver cannot reach it).
    active: a (direction, sign) is active when |value - beta| <= active * beta.
    margin: every inactive value must be <= beta * (1 - margin), or else at least ``margin_ratio``
    times further from beta than any active value is, else the active set is unclear."""

    solver: float = 1e-10
    polish: float = 1e-12
    active: float = 1e-7
    margin: float = 1e-6
    margin_ratio: float = 1000.0


@dataclass(frozen=True)
class TrainSettings:
    """How `convexdual train` trains (P_m) (see training.py). ``init_scale``: W ~ N(0, init_scale^2/d),
    a ~ N(0, init_scale^2/m). ``adam_iter``: Adam steps before backtracking gradient descent finishes."""

    optimizer: str = "adam"
    lr: float = 0.01
    max_iter: int = 20000
    adam_iter: int = 5000
    grad_tol: float = 1e-10
    init_scale: float = 1.0


@dataclass(frozen=True)
class CertifyTolerances:
    """gap: a network is a global optimum when L - p* <= gap * max(1, p*); stationary: a non-global
    network is stationary when L - (restricted optimum) <= stationary * max(1, L)."""

    gap: float = 1e-6
    stationary: float = 1e-6


@dataclass(frozen=True)
class Config:
    """A fully validated experiment description."""

    name: str
    problem: str
    beta: float
    data: DataConfig
    skip: bool
    widths: list[int] | None
    solver: str
    patterns: PatternConfig
    tol: Tolerances = field(default_factory=Tolerances)
    max_enum_dim: int = 24
    enum_timeout_s: float = 60.0
    milp_time_limit_s: float = 60.0
    value_search_budget: int = 400
    sweep: dict[str, Any] = field(default_factory=dict)  # axes of a sweep (not part of the identity)
    train: TrainSettings = field(default_factory=TrainSettings)  # not part of the solve's identity
    certify: CertifyTolerances = field(default_factory=CertifyTolerances)  # nor this
    working_set: str = "auto"  # how (C) is solved; the answer does not depend on it (not in the identity)
    source: str | None = None  # the file it came from (not part of the identity)
    outputs: int = 1  # model.outputs: c, the output dimension (vector outputs when > 1)
    architecture: str = "two_layer"  # or "parallel_three_layer" (three_layer.py)
    branches: int = 8  # parallel_three_layer: K branches of the trained networks (not in the identity)
    hidden: int = 4  # parallel_three_layer: first-layer width m1 of each trained branch (nor this)

    def resolved(self) -> dict[str, Any]:
        """The config as plain data with only the keys that matter for this run."""
        data = {"kind": self.data.kind, "bias": self.data.bias, "standardize": self.data.standardize}
        for key in DATA_KEYS_BY_KIND[self.data.kind]:
            if key != "Y" or self.data.Y is not None:  # (keys added later stay out of older hashes)
                data[key] = getattr(self.data, key)
        model: dict[str, Any] = {"skip": self.skip}
        if self.outputs != 1:
            model["outputs"] = self.outputs
        if self.architecture != "two_layer":
            model["architecture"] = self.architecture
        out: dict[str, Any] = {
            "name": self.name,
            "problem": self.problem,
            "data": data,
            "model": model,
            "widths": self.widths,
            "solver": self.solver,
            "patterns": asdict(self.patterns) if self.patterns.mode == "sampled" else {"mode": "exact"},
            "tol": asdict(self.tol),
            "value_search_budget": self.value_search_budget,
            "polytope": {
                "max_enum_dim": self.max_enum_dim,
                "enum_timeout_s": self.enum_timeout_s,
                "milp_time_limit_s": self.milp_time_limit_s,
            },
        }
        if self.problem == "regression":
            out["beta"] = self.beta
        return out

    def hash(self) -> str:
        """A short stable hash of the resolved config (the run's identity)."""
        text = json.dumps(self.resolved(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------- loading


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> Config:
    """Compose ``path`` with Hydra, apply ``overrides`` (Hydra syntax) and validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    raw = _compose(path)
    merged = _merge(copy.deepcopy(DEFAULTS), raw, prefix="")
    for key, value in parse_overrides(overrides):
        _set_key(merged, key, value)
    return validate(merged, source=str(path), default_name=path.stem)


def read_sweep_axes(path: str | Path) -> dict[str, Any]:
    """The ``sweep:`` block of a config file, checked for shape only (the rest is not validated:
    an axis may be what makes the base config valid)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    return _sweep_axes(_compose(path).get("sweep"))


def config_from_dict(raw: dict[str, Any], overrides: Sequence[str] = (), name: str = "config") -> Config:
    """Validate a config given as a dict (same rules as a file)."""
    merged = _merge(copy.deepcopy(DEFAULTS), copy.deepcopy(raw), prefix="")
    for key, value in parse_overrides(overrides):
        _set_key(merged, key, value)
    return validate(merged, source=None, default_name=name)


def _compose(path: Path) -> dict[str, Any]:
    """Read a YAML file through Hydra's compose API (handles ``defaults:`` lists)."""
    import yaml
    from omegaconf._utils import get_yaml_loader

    try:  # a plain YAML parse first gives the clearest message for malformed files
        with open(path) as fh:  # OmegaConf's loader: same floats (1e-3) as the Hydra path below
            first = yaml.load(fh, Loader=get_yaml_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"{path}: malformed YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if first is None:
        return {}
    if not isinstance(first, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, got {type(first).__name__}")
    if "defaults" not in first:
        return first

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(path.parent.resolve()), version_base=None):
            cfg = compose(config_name=path.stem)
    except Exception as exc:  # Hydra raises several types; all mean a bad config
        raise ConfigError(f"{path}: {str(exc).splitlines()[0]}") from None
    finally:
        GlobalHydra.instance().clear()
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def parse_overrides(overrides: Sequence[str]) -> list[tuple[str, Any]]:
    """Parse ``key=value`` overrides with Hydra's grammar. Sweeps are rejected here."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if not overrides:
        return []
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except Exception as exc:
        raise ConfigError(f"bad override: {str(exc).splitlines()[0]}") from None
    out = []
    for ov in parsed:
        if ov.is_sweep_override():
            raise ConfigError(f"override {ov.input_line!r} is a sweep; use `convexdual sweep` for sweeps")
        if ov.is_delete():
            raise ConfigError(f"override {ov.input_line!r}: deleting keys is not supported")
        out.append((ov.key_or_group, ov.value()))
    return out


def _merge(base: dict[str, Any], update: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Recursively merge ``update`` into ``base``; keys absent from ``base`` are errors."""
    for key, value in update.items():
        full = f"{prefix}{key}"
        if key == "defaults" and not prefix:
            continue
        if key not in base:
            raise ConfigError(f"unknown config key '{full}'{_suggest(key, base)}")
        if isinstance(base[key], dict) and key not in ("patterns", "sweep"):
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{full}' must be a mapping, got {_type(value)}")
            _merge(base[key], value, prefix=f"{full}.")
        else:
            base[key] = value
    return base


def _set_key(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    """Apply one override ``a.b.c=value`` to the nested dict."""
    dotted = dotted.lstrip("+")
    parts = dotted.split(".")
    node = cfg
    for i, part in enumerate(parts):
        here = ".".join(parts[: i + 1])
        if part not in node:
            if part in PATTERN_DEFAULTS and i > 0 and parts[i - 1] == "patterns":
                node[part] = value
                return
            raise ConfigError(f"unknown config key '{here}'{_suggest(part, node)}")
        if i == len(parts) - 1:
            node[part] = value
            return
        if parts[i] == "patterns" and not isinstance(node[part], dict):
            node[part] = {"mode": node[part]}
        if not isinstance(node[part], dict):
            raise ConfigError(f"config key '{here}' is not a mapping; cannot set '{dotted}'")
        node = node[part]


def _suggest(key: str, options: dict[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), [str(k) for k in options], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# ----------------------------------------------------------------------------- validation


def validate(cfg: dict[str, Any], source: str | None, default_name: str) -> Config:
    """Check types and ranges of the merged config; return a :class:`Config`."""
    name = cfg["name"] if cfg["name"] is not None else default_name
    _check_type("name", name, str)
    problem = _choice("problem", cfg["problem"], PROBLEMS)
    beta = _positive_float("beta", cfg["beta"])
    solver = _choice("solver", cfg["solver"], SOLVERS)
    model = cfg["model"]
    skip = _bool("model.skip", model["skip"])
    outputs = _positive_int("model.outputs", model["outputs"])
    architecture = _choice("model.architecture", model["architecture"], ARCHITECTURES)
    patterns = _patterns(cfg["patterns"])
    if outputs > 1 and (problem != "regression" or skip or patterns.mode != "exact"):
        raise ConfigError("model.outputs > 1 (vector outputs) needs problem: regression, model.skip: false and "
                          "exact patterns")
    if architecture != "two_layer" and (problem != "regression" or skip or outputs != 1
                                        or patterns.mode != "exact"):
        raise ConfigError("model.architecture: parallel_three_layer needs problem: regression, model.skip: false, "
                          "model.outputs: 1 and exact patterns")
    widths = _widths(cfg["widths"])
    tol = cfg["tol"]
    tolerances = Tolerances(
        solver=_positive_float("tol.solver", tol["solver"]),
        polish=_positive_float("tol.polish", tol["polish"]),
        active=_positive_float("tol.active", tol["active"]),
        margin=_positive_float("tol.margin", tol["margin"]),
        margin_ratio=_positive_float("tol.margin_ratio", tol["margin_ratio"]),
    )
    if tolerances.margin <= tolerances.active:
        raise ConfigError("tol.margin must be larger than tol.active")
    poly = cfg["polytope"]
    max_dim = _positive_int("polytope.max_enum_dim", poly["max_enum_dim"])
    return Config(
        name=name,
        problem=problem,
        beta=beta,
        data=_data(cfg["data"], outputs),
        skip=skip,
        outputs=outputs,
        architecture=architecture,
        branches=_positive_int("model.branches", model["branches"]),
        hidden=_positive_int("model.hidden", model["hidden"]),
        widths=widths,
        solver=solver,
        patterns=patterns,
        tol=tolerances,
        max_enum_dim=max_dim,
        enum_timeout_s=_positive_float("polytope.enum_timeout_s", poly["enum_timeout_s"]),
        milp_time_limit_s=_positive_float("polytope.milp_time_limit_s", poly["milp_time_limit_s"]),
        value_search_budget=_nonneg_int("value_search_budget", cfg["value_search_budget"]),
        sweep=_sweep_axes(cfg["sweep"]),
        train=_train(cfg["train"]),
        working_set=_choice("working_set", cfg["working_set"], WORKING_SET_MODES),
        certify=CertifyTolerances(gap=_positive_float("certify.gap", cfg["certify"]["gap"]),
                                  stationary=_positive_float("certify.stationary", cfg["certify"]["stationary"])),
        source=source,
    )


def _train(t: dict[str, Any]) -> TrainSettings:
    return TrainSettings(
        optimizer=_choice("train.optimizer", t["optimizer"], OPTIMIZERS),
        lr=_positive_float("train.lr", t["lr"]),
        max_iter=_positive_int("train.max_iter", t["max_iter"]),
        adam_iter=_nonneg_int("train.adam_iter", t["adam_iter"]),
        grad_tol=_positive_float("train.grad_tol", t["grad_tol"]),
        init_scale=_positive_float("train.init_scale", t["init_scale"]),
    )


def _data(d: dict[str, Any], outputs: int = 1) -> DataConfig:
    kind = _choice("data.kind", d["kind"], DATA_KINDS)
    out: dict[str, Any] = {
        "kind": kind,
        "outputs": outputs,
        "bias": _bool("data.bias", d["bias"]),
        "standardize": _bool("data.standardize", d["standardize"]),
        "seed": _int("data.seed", d["seed"]),
        "y_column": _int("data.y_column", d["y_column"]),
    }
    needed = {
        "points": ("X",),
        "gaussian": ("n", "d"),
        "circle": ("angles_deg", "y"),
        "file": ("path",),
        "sklearn": ("name",),
    }[kind]
    for key in needed:
        if d[key] is None:
            raise ConfigError(f"data.{key} is required when data.kind is '{kind}'")
    if kind == "points":
        out["X"] = _matrix("data.X", d["X"])
        if (d["y"] is None) == (d["Y"] is None):
            raise ConfigError("data.kind 'points' needs exactly one of data.y (scalar targets) and data.Y (n x c)")
        if d["Y"] is not None:
            out["Y"] = _matrix("data.Y", d["Y"])
    if kind == "circle" or (kind == "points" and d["y"] is not None):
        out["y"] = _vector("data.y", d["y"])
    if kind == "circle":
        out["angles_deg"] = _vector("data.angles_deg", d["angles_deg"])
    if kind in ("gaussian", "sklearn") and d["n"] is not None:
        out["n"] = _positive_int("data.n", d["n"])
    if kind == "gaussian":
        out["d"] = _positive_int("data.d", d["d"])
    if kind == "file":
        _check_type("data.path", d["path"], str)
        out["path"] = d["path"]
    if kind == "sklearn":
        out["name"] = _choice("data.name", d["name"], SKLEARN_DATASETS)
        out["features"] = _features(d["features"])
    return DataConfig(**out)


def _sweep_axes(value: Any) -> dict[str, Any]:
    """``sweep:`` maps dotted keys to a list of values or a Hydra sweep string ("range(0,10)", "1,2")."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"config key 'sweep' must be a mapping of dotted keys to value lists, got {_type(value)}")
    for key, axis in value.items():
        if not isinstance(axis, (list, str, int, float)) or isinstance(axis, bool) or (isinstance(axis, list) and not axis):
            raise ConfigError(f"sweep axis '{key}' must be a non-empty list or a Hydra sweep string, got {_type(axis)}")
    return dict(value)


def _features(value: Any) -> int | list[int] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [_nonneg_int(f"data.features[{i}]", v) for i, v in enumerate(value)]
    return _positive_int("data.features", value)


def _patterns(value: Any) -> PatternConfig:
    if isinstance(value, str):
        value = {"mode": value}
    if not isinstance(value, dict):
        raise ConfigError(f"config key 'patterns' must be 'exact', 'sampled' or a mapping, got {_type(value)}")
    for key in value:
        if key not in PATTERN_DEFAULTS:
            raise ConfigError(f"unknown config key 'patterns.{key}'{_suggest(key, PATTERN_DEFAULTS)}")
    merged = {**PATTERN_DEFAULTS, **value}
    return PatternConfig(
        mode=_choice("patterns.mode", merged["mode"], PATTERN_MODES),
        n_samples=_positive_int("patterns.n_samples", merged["n_samples"]),
        seed=_int("patterns.seed", merged["seed"]),
    )


def _widths(value: Any) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"config key 'widths' must be a non-empty list of positive integers, got {_type(value)}")
    return sorted({_positive_int(f"widths[{i}]", v) for i, v in enumerate(value)})


def _check_type(key: str, value: Any, typ: type) -> None:
    if not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
        raise ConfigError(f"config key '{key}' must be {typ.__name__}, got {_type(value)} {value!r}")


def _choice(key: str, value: Any, options: Sequence[str]) -> str:
    if value not in options:
        raise ConfigError(f"config key '{key}' must be one of {', '.join(options)}; got {value!r}")
    return str(value)


def _bool(key: str, value: Any) -> bool:
    _check_type(key, value, bool)
    return bool(value)


def _int(key: str, value: Any) -> int:
    _check_type(key, value, int)
    return int(value)


def _positive_int(key: str, value: Any) -> int:
    v = _int(key, value)
    if v <= 0:
        raise ConfigError(f"config key '{key}' must be a positive integer, got {v}")
    return v


def _nonneg_int(key: str, value: Any) -> int:
    v = _int(key, value)
    if v < 0:
        raise ConfigError(f"config key '{key}' must be a non-negative integer, got {v}")
    return v


def _float(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"config key '{key}' must be a number, got {_type(value)} {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ConfigError(f"config key '{key}' must be finite, got {v}")
    return v


def _positive_float(key: str, value: Any) -> float:
    v = _float(key, value)
    if v <= 0:
        raise ConfigError(f"config key '{key}' must be > 0, got {v}")
    return v


def _vector(key: str, value: Any) -> list[float]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"config key '{key}' must be a non-empty list of numbers, got {_type(value)}")
    return [_float(f"{key}[{i}]", v) for i, v in enumerate(value)]


def _matrix(key: str, value: Any) -> list[list[float]]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"config key '{key}' must be a non-empty list of rows, got {_type(value)}")
    rows = [_vector(f"{key}[{i}]", row if isinstance(row, list) else [row]) for i, row in enumerate(value)]
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ConfigError(f"config key '{key}' is ragged: rows have lengths {sorted(widths)}")
    return rows
