"""Step 1 of the pipeline: YAML config -> validated, resolved :class:`Config`.

A config file is composed with Hydra (so ``defaults:`` lists work), merged over the defaults
below, then command-line overrides in Hydra syntax (``beta=0.3 data.bias=true``) are applied.
Every key is checked: unknown keys, wrong types and out-of-range values raise
:class:`~convexdual.errors.ConfigError` with one line naming the key.

Every YAML file that is read (the config and, through ``defaults:`` lists, the files Hydra will
read) is checked first: a regular file of at most :data:`MAX_CONFIG_BYTES`, UTF-8 text, and a
document whose size with every YAML alias expanded is at most :data:`MAX_YAML_NODES` nodes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .errors import ConfigError, ResourceLimitError, first_line
from .problems import PROBLEMS as PROBLEM_REGISTRY
from .solvers import CHOICES as SOLVER_CHOICES

PROBLEMS = tuple(PROBLEM_REGISTRY)  # every registered problem (problems.py)
SOLVERS = SOLVER_CHOICES  # ("auto" and every registered solver)
PATTERN_MODES = ("exact", "sampled", "oracle")
DATA_KINDS = ("points", "gaussian", "circle", "file", "sklearn")
SKLEARN_DATASETS = ("diabetes", "iris", "wine", "breast_cancer", "linnerud")
WORKING_SET_MODES = ("auto", "always", "never")
ARCHITECTURES = ("two_layer", "parallel_three_layer")
OPTIMIZERS = ("adam", "gd")

MAX_CONFIG_BYTES = 1 << 20  # a config file (or a file it includes) larger than this is refused
MAX_YAML_NODES = 100_000  # size of a YAML document with its aliases expanded
MAX_YAML_DEPTH = 50  # nesting of collections in a YAML document
MAX_YAML_FILES = 2_000  # files checked when a defaults list cannot be followed file by file
MAX_CHAIN_FILES = 100  # files a config may include through defaults lists
MAX_DATA_BYTES = 2 << 30  # a data.path file larger than this is refused
MAX_COUNT = 10**9  # upper bound of data.n, data.d, model.branches, model.hidden, patterns.n_samples, widths
MAX_SEED = 2**63  # seeds are in [0, MAX_SEED)

NAME_RE = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9._+-]{0,99}")
NAME_RULE = "1 to 100 ASCII letters, digits and . _ + -, not starting with . or -"


# ----------------------------------------------------------------------------- the schema


@dataclass(frozen=True)
class Check:
    """How a value is checked: ``fn(key, value)`` returns the clean value or raises a one-line
    :class:`ConfigError` naming ``key``; ``text`` is the type and range in words (the key table's)."""

    fn: Callable[[str, Any], Any]
    text: str

    def __call__(self, key: str, value: Any) -> Any:
        return self.fn(key, value)


def _choice_check(options: Sequence[str]) -> Check:
    return Check(lambda key, value: _choice(key, value, options), "one of " + ", ".join(options))


def _positive_int_check(high: int | None = None) -> Check:
    return Check(lambda key, value: _positive_int(key, value, high=high),
                 "int >= 1" if high is None else f"int in [1, {high:.0e}]".replace("e+0", "e"))


BOOL = Check(lambda key, value: _bool(key, value), "bool")
INT = Check(lambda key, value: _int(key, value), "int")
NONNEG_INT = Check(lambda key, value: _nonneg_int(key, value), "int >= 0")
SEED = Check(lambda key, value: _seed(key, value), "int in [0, 2**63)")
POSITIVE = Check(lambda key, value: _positive_float(key, value), "number > 0")
FRACTION = Check(lambda key, value: _fraction(key, value), "number in (0, 1)")
VECTOR = Check(lambda key, value: _vector(key, value), "non-empty list of numbers")
MATRIX = Check(lambda key, value: _matrix(key, value), "non-empty list of equally long rows of numbers")
NAME = Check(lambda key, value: _name(key, value), f"string ({NAME_RULE})")
PATH = Check(lambda key, value: _str(key, value), "string (a .csv or .npz file)")
WIDTHS = Check(lambda key, value: _widths(value), "null or non-empty list of int in [1, 1e9]")
FEATURES = Check(lambda key, value: _features(value), "null, int >= 1 or list of column indices (int >= 0)")
SWEEP = Check(lambda key, value: _sweep_axes(value), "mapping: dotted key -> non-empty list or Hydra sweep string")


@dataclass(frozen=True)
class Key:
    """One config key (``path``: dotted, as in the YAML).

    ``identity``: part of the run's identity (:meth:`Config.resolved`, :meth:`Config.hash`), when
    ``when(config)`` holds if given; ``same_as`` lists (value, value recorded in its place) pairs
    of values with the same identity. Data keys: ``kinds`` are the ``data.kind`` values that use the
    key (empty: every kind) and ``required`` those that need it set; the key is checked only for its
    kinds and when set, unless ``always_checked`` (then for every kind, null included)."""

    path: str
    check: Check
    default: Any
    doc: str
    identity: bool = False
    when: Callable[[Config], bool] | None = None
    same_as: tuple[tuple[Any, Any], ...] = ()
    kinds: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    always_checked: bool = False

    @property
    def section(self) -> str:
        """The top-level key it belongs to (itself for a top-level key)."""
        return self.path.split(".")[0]

    @property
    def leaf(self) -> str:
        return self.path.split(".")[-1]

    def in_identity(self, cfg: Config) -> bool:
        """Whether the key is part of ``cfg``'s identity."""
        return (self.identity and (not self.kinds or cfg.data.kind in self.kinds)
                and (self.when is None or self.when(cfg)))

    def identity_value(self, value: Any) -> Any:
        return dict(self.same_as).get(value, value) if self.same_as else value


@dataclass(frozen=True)
class Rule:
    """A check across keys, run once the keys listed before it in :data:`SCHEMA` are checked:
    ``fn(clean)`` raises ConfigError (``clean``: the checked values by dotted path)."""

    fn: Callable[[dict[str, Any]], None]
    doc: str


def _vector_outputs_rule(clean: dict[str, Any]) -> None:
    if clean["model.outputs"] > 1 and (clean["problem"] != "regression" or clean["model.skip"]
                                       or clean["patterns.mode"] not in ("exact", "oracle")):
        raise ConfigError("model.outputs > 1 (vector outputs) needs problem: regression, model.skip: false and "
                          "patterns exact or oracle")


def _architecture_rule(clean: dict[str, Any]) -> None:
    if clean["model.architecture"] != "two_layer" and (clean["problem"] != "regression" or clean["model.skip"]
                                                       or clean["model.outputs"] != 1
                                                       or clean["patterns.mode"] != "exact"):
        raise ConfigError("model.architecture: parallel_three_layer needs problem: regression, model.skip: false, "
                          "model.outputs: 1 and exact patterns")


def _margin_rule(clean: dict[str, Any]) -> None:
    if clean["tol.margin"] <= clean["tol.active"]:
        raise ConfigError("tol.margin must be larger than tol.active")


def _sampled(cfg: Config) -> bool:
    return cfg.patterns.mode == "sampled"


# Every config key, in the order they are checked (so a config with several bad keys reports the
# first of them in this order). The data keys are checked together (:func:`_check_data`).
SCHEMA: tuple[Key | Rule, ...] = (
    Key("name", NAME, None, "Name of the run's folder (null: the config file's name, made safe).", identity=True),
    Key("problem", _choice_check(PROBLEMS), "regression",
        "regression: squared loss plus beta times the weight decay; interpolation: minimal weight decay with "
        "zero loss.", identity=True),
    Key("beta", POSITIVE, 0.1, "Weight-decay strength (regression only).", identity=True,
        when=lambda cfg: PROBLEM_REGISTRY[cfg.problem].uses_beta),
    Key("solver", _choice_check(SOLVERS), "auto", "Convex solver (auto: the best one installed).", identity=True),
    Key("model.skip", BOOL, False, "A linear skip connection.", identity=True),
    Key("model.outputs", _positive_int_check(), 1, "c, the output dimension (vector outputs when > 1).",
        identity=True, when=lambda cfg: cfg.model.outputs != 1),
    Key("model.architecture", _choice_check(ARCHITECTURES), "two_layer", "The network of the primal problem.",
        identity=True, when=lambda cfg: cfg.model.architecture != "two_layer"),
    Key("patterns.mode", _choice_check(PATTERN_MODES), "exact",
        "exact: every cell of the arrangement; sampled: patterns of random directions (no certificate over "
        "every cell); oracle: the cells the dual needs, found exactly (same identity as exact). "
        "`patterns: MODE` is short for this key.", identity=True, same_as=(("oracle", "exact"),)),
    Key("patterns.n_samples", _positive_int_check(MAX_COUNT), 10000, "Random directions sampled (sampled, oracle).",
        identity=True, when=_sampled),
    Key("patterns.seed", SEED, 0, "Seed of the sampled directions.", identity=True, when=_sampled),
    Rule(_vector_outputs_rule, "model.outputs > 1 needs problem regression, no skip and patterns exact or oracle"),
    Rule(_architecture_rule, "parallel_three_layer needs problem regression, no skip, one output, exact patterns"),
    Key("widths", WIDTHS, None, "Widths m of the trained networks (null: chosen from m*).", identity=True),
    Key("tol.solver", FRACTION, 1e-10, "Gap and feasibility tolerance passed to the solver.", identity=True),
    Key("tol.polish", FRACTION, 1e-12,
        "Tolerance of the final solve on the active blocks (falls back to tol.solver).", identity=True),
    Key("tol.active", FRACTION, 1e-7, "A (direction, sign) is active when |value - beta| <= active * beta.",
        identity=True),
    Key("tol.margin", FRACTION, 1e-6,
        "Every inactive value must be <= beta * (1 - margin), or else margin_ratio times further from beta than "
        "any active value (must exceed tol.active).", identity=True),
    Key("tol.margin_ratio", POSITIVE, 1000.0, "See tol.margin.", identity=True),
    Rule(_margin_rule, "tol.margin > tol.active"),
    Key("polytope.max_enum_dim", _positive_int_check(), 24,
        "Largest dimension of an optimal set whose vertices are enumerated.", identity=True),
    Key("data.kind", _choice_check(DATA_KINDS), "points", "Where the data come from.", identity=True,
        always_checked=True),
    Key("data.bias", BOOL, False, "Append a constant feature 1.", identity=True, always_checked=True),
    Key("data.standardize", BOOL, False, "Standardize the features (zero mean, unit variance).", identity=True,
        always_checked=True),
    Key("data.X", MATRIX, None, "The inputs, n rows of d numbers.", identity=True, kinds=("points",),
        required=("points",)),
    Key("data.angles_deg", VECTOR, None, "Angles of points on the unit circle, in degrees.", identity=True,
        kinds=("circle",), required=("circle",)),
    Key("data.y", VECTOR, None, "Scalar targets, one per point.", identity=True, kinds=("points", "circle"),
        required=("circle",)),
    Key("data.Y", MATRIX, None, "Vector targets, n rows of c numbers (instead of data.y).", identity=True,
        kinds=("points",), when=lambda cfg: cfg.data.Y is not None),
    Key("data.name", _choice_check(SKLEARN_DATASETS), None, "The scikit-learn data set.", identity=True,
        kinds=("sklearn",), required=("sklearn",)),
    Key("data.n", _positive_int_check(MAX_COUNT), None, "Number of points (sklearn: null for all of them).",
        identity=True, kinds=("gaussian", "sklearn"), required=("gaussian",)),
    Key("data.d", _positive_int_check(MAX_COUNT), None, "Dimension of the Gaussian inputs.", identity=True,
        kinds=("gaussian",), required=("gaussian",)),
    Key("data.features", FEATURES, None,
        "The first k features, or a list of feature columns (null: all of them).", identity=True,
        kinds=("sklearn",)),
    Key("data.seed", SEED, 0, "Seed of the random data (or of the sklearn subsample).", identity=True,
        kinds=("gaussian", "sklearn"), always_checked=True),
    Key("data.path", PATH, None,
        "A .csv or .npz file, found relative to the current folder, then to the config's (its sha256 is part "
        "of the identity).", identity=True, kinds=("file",), required=("file",)),
    Key("data.y_column", INT, -1, "The column of the targets in the file.", identity=True, kinds=("file",),
        always_checked=True),
    Key("model.branches", _positive_int_check(MAX_COUNT), 8, "parallel_three_layer: K branches of the trained "
        "networks."),
    Key("model.hidden", _positive_int_check(MAX_COUNT), 4,
        "parallel_three_layer: first-layer width m1 of each trained branch."),
    Key("polytope.enum_timeout_s", POSITIVE, 60.0, "Time budget of one vertex enumeration, in seconds.",
        identity=True),
    Key("polytope.milp_time_limit_s", POSITIVE, 60.0, "Time budget of one MILP for M*, in seconds.", identity=True),
    Key("value_search_budget", NONNEG_INT, 400, "Solves spent on the widths of sub-optimal values (0: none).",
        identity=True),
    Key("sweep", SWEEP, {}, "Axes of a sweep: dotted key -> values (`convexdual sweep`)."),
    Key("train.optimizer", _choice_check(OPTIMIZERS), "adam", "How `convexdual train` trains."),
    Key("train.lr", POSITIVE, 0.01, "Learning rate."),
    Key("train.max_iter", _positive_int_check(), 20000, "Most iterations."),
    Key("train.adam_iter", NONNEG_INT, 5000, "Adam steps before backtracking gradient descent finishes."),
    Key("train.grad_tol", POSITIVE, 1e-10, "Stop when the gradient's norm is below this."),
    Key("train.init_scale", POSITIVE, 1.0, "W ~ N(0, init_scale^2/d), a ~ N(0, init_scale^2/m)."),
    Key("working_set", _choice_check(WORKING_SET_MODES), "auto",
        "How the convex problem is solved (the answer does not depend on it)."),
    Key("certify.gap", FRACTION, 1e-6, "A network is a global optimum when L - p* <= gap * max(1, p*)."),
    Key("certify.stationary", FRACTION, 1e-6,
        "A non-global network is stationary when L - (restricted optimum) <= stationary * max(1, L)."),
    Key("limits.cells", _positive_int_check(), 2_000_000, "Most (estimated) activation patterns of one solve."),
    Key("limits.memory_gb", POSITIVE, 8.0, "Largest estimated memory of one solve, in GB."),
    Key("limits.sweep_points", _positive_int_check(), 100_000, "Most points in one sweep."),
    Key("limits.train_networks", _positive_int_check(), 100_000,
        "Most (width, seed) pairs in one `convexdual train`."),
    Key("limits.max_width", _positive_int_check(), 100_000, "Largest training width."),
    Key("oracle.time_limit_s", POSITIVE, 600.0, "The exact oracle's time budget per solve, in seconds."),
)

KEYS: dict[str, Key] = {entry.path: entry for entry in SCHEMA if isinstance(entry, Key)}

# The order the data keys of a kind are checked in (so which of two bad values is reported).
_DATA_CHECK_ORDER = ("X", "Y", "y", "angles_deg", "n", "d", "path", "name", "features")

# The order of the sections in the resolved config (as result files list them).
_RESOLVED_ORDER = ("name", "problem", "data", "model", "widths", "solver", "patterns", "tol", "value_search_budget",
                   "polytope", "beta")

# Sections whose YAML value may be a plain value instead of a mapping: that value sets this key.
_SHORTHANDS = {"patterns": "mode"}


def _section_keys(section: str) -> list[Key]:
    return [key for key in KEYS.values() if key.section == section and key.path != section]


def _default(path: str) -> Any:
    return copy.deepcopy(KEYS[path].default)


def _defaults() -> dict[str, Any]:
    """The merge base of every config: the defaults as nested YAML (a shorthand section by its shorthand)."""
    out: dict[str, Any] = {}
    for key in KEYS.values():
        if "." not in key.path:
            out[key.path] = _default(key.path)
        elif key.section in _SHORTHANDS:
            out[key.section] = _default(f"{key.section}.{_SHORTHANDS[key.section]}")
        else:
            out.setdefault(key.section, {})[key.leaf] = _default(key.path)
    return out


DEFAULTS: dict[str, Any] = _defaults()
PATTERN_DEFAULTS: dict[str, Any] = {key.leaf: key.default for key in _section_keys("patterns")}
# Keys each data kind uses (besides kind, bias, standardize), in the order the resolved config lists them.
DATA_KEYS_BY_KIND: dict[str, tuple[str, ...]] = {
    kind: tuple(key.leaf for key in _section_keys("data") if kind in key.kinds) for kind in DATA_KINDS}


def keys_markdown() -> str:
    """The schema as a markdown table (key, type, default, description), grouped by section."""
    sections = list(dict.fromkeys(key.section for key in KEYS.values()))
    lines = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for section in sections:
        for key in (k for k in KEYS.values() if k.section == section):
            doc = (key.doc + (f" Used by data.kind {', '.join(key.kinds)}." if key.kinds else "")).replace("|", r"\|")
            lines.append(f"| `{key.path}` | {key.check.text} | `{_yaml_text(key.default)}` | {doc} |")
    return "\n".join(lines) + "\n"


def _yaml_text(value: Any) -> str:
    """A default as written in YAML."""
    return json.dumps(value) if not isinstance(value, str) else value


@dataclass(frozen=True)
class DataConfig:
    """Where the data come from. Only the keys of ``kind`` are meaningful."""

    kind: str
    X: list[list[float]] | None = _default("data.X")
    y: list[float] | None = _default("data.y")
    Y: list[list[float]] | None = _default("data.Y")  # vector targets (n x c), kind points
    n: int | None = _default("data.n")
    d: int | None = _default("data.d")
    seed: int = _default("data.seed")
    angles_deg: list[float] | None = _default("data.angles_deg")
    path: str | None = _default("data.path")
    y_column: int = _default("data.y_column")
    name: str | None = _default("data.name")
    features: int | list[int] | None = _default("data.features")
    bias: bool = _default("data.bias")
    standardize: bool = _default("data.standardize")
    outputs: int = _default("model.outputs")  # model.outputs: the number of target columns to produce/expect
    digest: str | None = None  # kind file: sha256 of the file's bytes (part of the identity)


@dataclass(frozen=True)
class ModelConfig:
    """The network: skip connection, output dimension c, architecture (and the trained
    parallel_three_layer networks' branches K and first-layer width m1)."""

    skip: bool = _default("model.skip")
    outputs: int = _default("model.outputs")
    architecture: str = _default("model.architecture")
    branches: int = _default("model.branches")
    hidden: int = _default("model.hidden")


@dataclass(frozen=True)
class PatternConfig:
    """``exact``: every cell of the arrangement; ``sampled``: patterns of random directions (not a
    certificate over every cell); ``oracle``: the cells the dual needs, found by the exact branch and
    bound of :mod:`convexdual.oracle` from ``n_samples`` sampled patterns (certifies like ``exact``,
    so it has the same identity)."""

    mode: str = _default("patterns.mode")
    n_samples: int = _default("patterns.n_samples")
    seed: int = _default("patterns.seed")


@dataclass(frozen=True)
class Tolerances:
    """solver: gap/feasibility tolerance passed to the solver.
    polish: tolerance of the final solve on exactly the active blocks (falls back to ``solver``
    when the solver cannot reach it).
    active: a (direction, sign) is active when |value - beta| <= active * beta.
    margin: every inactive value must be <= beta * (1 - margin), or else at least ``margin_ratio``
    times further from beta than any active value is, else the active set is unclear."""

    solver: float = _default("tol.solver")
    polish: float = _default("tol.polish")
    active: float = _default("tol.active")
    margin: float = _default("tol.margin")
    margin_ratio: float = _default("tol.margin_ratio")


@dataclass(frozen=True)
class PolytopeConfig:
    """The optimal set's vertices: enumerated up to dimension ``max_enum_dim`` within
    ``enum_timeout_s``; each MILP for M* within ``milp_time_limit_s``."""

    max_enum_dim: int = _default("polytope.max_enum_dim")
    enum_timeout_s: float = _default("polytope.enum_timeout_s")
    milp_time_limit_s: float = _default("polytope.milp_time_limit_s")


@dataclass(frozen=True)
class TrainSettings:
    """How `convexdual train` trains (P_m) (see training.py). ``init_scale``: W ~ N(0, init_scale^2/d),
    a ~ N(0, init_scale^2/m). ``adam_iter``: Adam steps before backtracking gradient descent finishes."""

    optimizer: str = _default("train.optimizer")
    lr: float = _default("train.lr")
    max_iter: int = _default("train.max_iter")
    adam_iter: int = _default("train.adam_iter")
    grad_tol: float = _default("train.grad_tol")
    init_scale: float = _default("train.init_scale")


@dataclass(frozen=True)
class CertifyTolerances:
    """gap: a network is a global optimum when L - p* <= gap * max(1, p*); stationary: a non-global
    network is stationary when L - (restricted optimum) <= stationary * max(1, L)."""

    gap: float = _default("certify.gap")
    stationary: float = _default("certify.stationary")


@dataclass(frozen=True)
class OracleConfig:
    """The exact oracle's time budget per solve (not part of the identity)."""

    time_limit_s: float = _default("oracle.time_limit_s")


@dataclass(frozen=True)
class Limits:
    """Resource ceilings (not part of the identity). cells: most (estimated) activation patterns a
    solve may enumerate or sample; memory_gb: largest estimated memory of one solve; sweep_points:
    most points in one sweep; train_networks: most (width, seed) pairs in one `convexdual train`;
    max_width: largest training width."""

    cells: int = _default("limits.cells")
    memory_gb: float = _default("limits.memory_gb")
    sweep_points: int = _default("limits.sweep_points")
    train_networks: int = _default("limits.train_networks")
    max_width: int = _default("limits.max_width")


# The dataclass of each section of the config.
SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "patterns": PatternConfig, "tol": Tolerances,
                             "polytope": PolytopeConfig, "train": TrainSettings, "certify": CertifyTolerances,
                             "oracle": OracleConfig, "limits": Limits}


@dataclass(frozen=True)
class Config:
    """A fully validated experiment description; its sections nest as in the YAML."""

    name: str
    problem: str
    beta: float
    data: DataConfig
    model: ModelConfig = field(default_factory=ModelConfig)
    widths: list[int] | None = _default("widths")
    solver: str = _default("solver")
    patterns: PatternConfig = field(default_factory=PatternConfig)
    tol: Tolerances = field(default_factory=Tolerances)
    polytope: PolytopeConfig = field(default_factory=PolytopeConfig)
    value_search_budget: int = _default("value_search_budget")
    sweep: dict[str, Any] = field(default_factory=dict)  # axes of a sweep (not part of the identity)
    train: TrainSettings = field(default_factory=TrainSettings)  # not part of the solve's identity
    certify: CertifyTolerances = field(default_factory=CertifyTolerances)  # nor this
    working_set: str = _default("working_set")  # how (C) is solved; the answer does not depend on it
    oracle: OracleConfig = field(default_factory=OracleConfig)  # not in the identity
    limits: Limits = field(default_factory=Limits)  # resource ceilings (not in the identity)
    source: str | None = None  # the file it came from (not part of the identity)

    def get(self, path: str) -> Any:
        """The value of a dotted key, e.g. ``cfg.get("model.skip")``."""
        value: Any = self
        for part in path.split("."):
            value = getattr(value, part)
        return value

    def resolved(self) -> dict[str, Any]:
        """The config as plain data with only the keys that matter for this run (the identity keys
        of :data:`SCHEMA`; kind file adds the data file's sha256)."""
        out: dict[str, Any] = {}
        for section in _RESOLVED_ORDER:
            for key in (k for k in KEYS.values() if k.section == section and k.in_identity(self)):
                value = key.identity_value(self.get(key.path))
                if key.path == section:
                    out[section] = value
                else:
                    out.setdefault(section, {})[key.leaf] = value
            if section == "data" and self.data.kind == "file":
                out["data"]["sha256"] = self.data.digest
        return out

    def hash(self) -> str:
        """A short stable hash of the resolved config (the run's identity)."""
        return hash_resolved(self.resolved())


def hash_resolved(resolved: dict[str, Any]) -> str:
    """The hash of a resolved config (:meth:`Config.resolved`, e.g. as stored in a result file)."""
    text = json.dumps(resolved, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]



# ----------------------------------------------------------------------------- loading


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> Config:
    """Compose ``path`` with Hydra, apply ``overrides`` (Hydra syntax) and validate."""
    path = Path(path)
    raw = _compose(path)
    merged = _merge(copy.deepcopy(DEFAULTS), raw, prefix="")
    for key, value in parse_overrides(overrides):
        _set_key(merged, key, value)
    return validate(merged, source=str(path), default_name=path.stem)


def read_sweep_axes(path: str | Path) -> dict[str, Any]:
    """The ``sweep:`` block of a config file, checked for shape only (the rest is not validated:
    an axis may be what makes the base config valid)."""
    return _sweep_axes(_compose(Path(path)).get("sweep"))


def read_limits(path: str | Path, plain_overrides: Sequence[str] = ()) -> Limits:
    """The checked ``limits:`` block of a config file with the ``limits.KEY=VALUE`` overrides among
    ``plain_overrides`` applied (other overrides and the rest of the config are not validated)."""
    merged = _merge({"limits": copy.deepcopy(DEFAULTS["limits"])},
                    {"limits": _compose(Path(path)).get("limits", {})}, prefix="")
    mine = [text for text in plain_overrides if is_limit_override(text) and not _is_sweep(text)]
    for key, value in parse_overrides(mine):
        _set_key(merged, key, value)
    return _limits(merged["limits"])


def is_limit_override(text: str) -> bool:
    """Whether an override sets ``limits`` or one of its keys (``limits.cells=...``, ``limits={...}``)."""
    return text.lstrip("+~").split("=")[0].split(".")[0].strip() == "limits"


def _is_sweep(text: str) -> bool:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_override(text).is_sweep_override()
    except Exception:  # a malformed override: reported where the overrides are applied
        return False


def config_from_dict(raw: dict[str, Any], overrides: Sequence[str] = (), name: str = "config") -> Config:
    """Validate a config given as a dict (same rules as a file)."""
    merged = _merge(copy.deepcopy(DEFAULTS), copy.deepcopy(raw), prefix="")
    for key, value in parse_overrides(overrides):
        _set_key(merged, key, value)
    return validate(merged, source=None, default_name=name)


def _compose(path: Path) -> dict[str, Any]:
    """Read a YAML file through Hydra's compose API (handles ``defaults:`` lists), after checking
    it and every file Hydra will read for it (:func:`_load_yaml`, :func:`_check_defaults`)."""
    first, size = _load_sized(path)
    if first is None:
        return {}
    if not isinstance(first, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, got {type(first).__name__}")
    if "defaults" not in first:
        return first
    _check_defaults(path, first, MAX_YAML_NODES - size)

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(path.parent.resolve()), version_base=None):
            cfg = compose(config_name=path.stem)
    except Exception as exc:  # Hydra raises several types; all mean a bad config
        raise ConfigError(f"{path}: {_first_line(exc)}") from None
    finally:
        GlobalHydra.instance().clear()
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


# ----------------------------------------------------------------------------- safe YAML reading


def _load_yaml(path: Path, interpolations: bool = False) -> Any:
    """The parsed YAML file (see :func:`_load_sized`)."""
    return _load_sized(path, interpolations)[0]


def _load_sized(path: Path, interpolations: bool = False, limit: int = MAX_YAML_NODES) -> tuple[Any, int]:
    """Parse one YAML file after checking its bytes (:func:`_read_text`) and its expanded size
    (:func:`_check_expansion`, at most ``limit`` nodes); returns (data, size). Every YAML error is
    one line with its line and column. Only Hydra's own files (``interpolations``) may hold
    ``${...}`` interpolations: in a config they could expand without bound when Hydra resolves
    them. A config may not set Hydra's own ``hydra:`` settings (a search path would bring in files
    that are not checked)."""
    import yaml
    from omegaconf._utils import get_yaml_loader

    text = _read_text(path)
    loader = get_yaml_loader()  # OmegaConf's loader: same floats (1e-3) as the Hydra path
    try:
        size = _check_expansion(path, yaml.parse(text, Loader=loader), interpolations, limit)
        data = yaml.load(text, Loader=loader)
        if not interpolations and isinstance(data, dict) and "hydra" in data:
            raise ConfigError(f"{path}: the key 'hydra' (Hydra's own settings) is not allowed in a convexdual config")
        return data, size
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"{path}: malformed YAML{where}: {getattr(exc, 'problem', None) or _first_line(exc)}") \
            from None
    except ValueError as exc:  # a value the constructor refuses, e.g. an integer of over 4300 digits
        raise ConfigError(f"{path}: a YAML value cannot be read: {_first_line(exc).split(';')[0]}") from None


def _read_text(path: Path) -> str:
    """The text of a config file: it must be a regular file of at most MAX_CONFIG_BYTES bytes,
    strict UTF-8 without NUL bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # (a FIFO must not block)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ConfigError(f"{path}: is a directory, not a config file" if stat.S_ISDIR(info.st_mode)
                              else f"{path}: not a regular file")
        with open(fd, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError, ValueError):  # (ValueError: a NUL in the path)
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or _first_line(exc)}") from None
    if len(data) > MAX_CONFIG_BYTES:
        size = max(len(data), info.st_size)
        raise ConfigError(f"{path}: {size} bytes is larger than the {MAX_CONFIG_BYTES}-byte limit for a config file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start})") \
            from None
    if "\0" in text:
        raise ConfigError(f"{path}: not UTF-8 text (NUL byte at offset {data.index(0)})")
    return text


def _check_expansion(path: Path, events: Iterable[Any], interpolations: bool = False,
                     limit: int = MAX_YAML_NODES) -> int:
    """Walk the YAML event stream (nothing is constructed) and refuse a document nested deeper than
    MAX_YAML_DEPTH or larger than MAX_YAML_NODES nodes with its aliases expanded: a scalar counts 1,
    a collection 1 + its children, an alias the size of its anchored node. Counting stops as soon
    as the limit is passed, so no count exceeds twice the limit. Returns the expanded size; a
    ``limit`` below MAX_YAML_NODES is what is left of it for a file included by another."""
    import yaml

    sizes: dict[str, int | None] = {}  # anchor -> expanded size (None while its node is still open)
    stack: list[list[Any]] = [[None, 0]]  # open collections as [anchor, size so far]; bottom: the stream
    aliases = False
    for event in events:
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) > MAX_YAML_DEPTH:
                raise ConfigError(f"{path}: YAML nested more than {MAX_YAML_DEPTH} levels deep "
                                  f"(line {event.start_mark.line + 1})")
            if event.anchor:
                sizes[event.anchor] = None
            stack.append([event.anchor, 1])
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
            if not interpolations and "${" in event.value:
                raise ConfigError(f"{path}: interpolations (${{...}}) are not supported in a config "
                                  f"(line {event.start_mark.line + 1}); write the value out")
        elif isinstance(event, yaml.AliasEvent):
            anchor, size, aliases = None, sizes.get(event.anchor, 1), True  # (an unknown anchor: the loader says so)
            if size is None:
                raise ConfigError(f"{path}: YAML alias *{event.anchor} refers to a node that contains it "
                                  f"(line {event.start_mark.line + 1})")
        else:
            continue
        if anchor:
            sizes[anchor] = size
        stack[-1][1] += size
        if stack[-1][1] > limit:
            how = " through YAML aliases" if aliases else ""
            also = "" if limit == MAX_YAML_NODES else " together with the files that include it"
            raise ConfigError(f"{path}: the YAML document expands to more than {MAX_YAML_NODES} nodes{how}{also}")
    return stack[0][1]


def _check_defaults(primary: Path, content: dict[str, Any], left: int = MAX_YAML_NODES) -> None:
    """Check every file Hydra will read for ``primary``: its ``defaults:`` entries, recursively
    (together at most ``left`` more nodes and MAX_CHAIN_FILES files), and Hydra's own groups under
    ``<dir>/hydra``. When an entry cannot be resolved to a file, every ``*.yaml`` under the
    config's directory is checked instead."""
    root = primary.parent
    seen = {primary.resolve()}
    todo: list[tuple[Path, Any]] = [(root, content)]
    while todo:
        here, data = todo.pop()
        for target in _default_files(data, here, root):
            if target is None or not target.is_file():
                _check_tree(root)
                return
            if target.resolve() not in seen:
                if len(seen) >= MAX_CHAIN_FILES:
                    raise ConfigError(f"{primary}: its defaults lists include more than {MAX_CHAIN_FILES} files")
                seen.add(target.resolve())
                data, size = _load_sized(target, limit=left)
                left -= size
                todo.append((target.parent, data))
    _check_tree(root / "hydra", interpolations=True)


def _default_files(content: Any, here: Path, root: Path) -> Iterator[Path | None]:
    """The files named by the ``defaults:`` list of a file in directory ``here`` (None: an entry that
    cannot be resolved). ``name`` is here/name.yaml, ``{group: option}`` here/group/option.yaml (option
    may be a list), ``/...`` is relative to ``root``; ``optional``/``override`` prefixes, ``@package``
    suffixes and ``_self_`` are ignored."""
    entries = content.get("defaults") if isinstance(content, dict) else None
    if entries is None:
        return
    if not isinstance(entries, list):
        yield None
        return
    for entry in entries:
        if isinstance(entry, str):
            if entry != "_self_":
                yield _entry_file(entry, here, root)
        elif isinstance(entry, dict) and len(entry) == 1:
            (group, options), = entry.items()
            if str(group).split()[-1].lstrip("/").startswith("hydra/"):
                continue  # Hydra's own groups: its packaged files, and <dir>/hydra checked separately
            for option in options if isinstance(options, list) else [options]:
                if option is not None:
                    yield _entry_file(f"{group}/{option}", here, root) if isinstance(option, str) else None
        else:
            yield None


def _entry_file(entry: str, here: Path, root: Path) -> Path | None:
    """The file of one defaults entry ``[optional |override ]name[@package]`` (None: interpolated)."""
    words = entry.split()
    while len(words) > 1 and words[0] in ("optional", "override"):
        words.pop(0)
    name = "/".join(part.split("@")[0] for part in " ".join(words).split("/"))
    if not name.strip("/") or "${" in name:
        return None
    base, rel = (root, name.lstrip("/")) if name.startswith("/") else (here, name)
    return base / (rel if rel.endswith(".yaml") else f"{rel}.yaml")


def _check_tree(directory: Path, interpolations: bool = False) -> None:
    """Check (:func:`_load_yaml`) every ``*.yaml`` file under ``directory``; more than MAX_YAML_FILES
    of them is refused."""
    if not directory.is_dir():
        return
    files = []
    for file in directory.rglob("*.yaml"):
        if file.is_file():
            files.append(file)
            if len(files) > MAX_YAML_FILES:
                raise ConfigError(f"{directory}: more than {MAX_YAML_FILES} YAML files to check for a defaults list "
                                  "that cannot be followed file by file")
    for file in sorted(files):
        _load_yaml(file, interpolations)


def _first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (its type's name when it has none)."""
    return first_line(exc) or type(exc).__name__


def parse_overrides(overrides: Sequence[str]) -> list[tuple[str, Any]]:
    """Parse ``key=value`` overrides with Hydra's grammar. Sweeps are rejected here."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if not overrides:
        return []
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except Exception as exc:
        raise ConfigError(f"bad override: {first_line(exc)}") from None
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
        if i == len(parts) - 1:  # (a mapping given for a whole section is merged into it)
            _merge(node, {part: value}, prefix=".".join(parts[:i]) + "." if i else "")
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
    """Check every key of the merged config in :data:`SCHEMA`'s order; return a :class:`Config`."""
    clean = _check_keys(cfg, default_name, Path(source).parent if source else None)
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for path, value in clean.items():
        section, _, leaf = path.rpartition(".")
        if section:
            nested.setdefault(section, {})[leaf] = value
        else:
            top[leaf] = value
    return Config(**top, **{section: SECTIONS[section](**values) for section, values in nested.items()},
                  source=source)


def _check_keys(cfg: dict[str, Any], default_name: str, base_dir: Path | None) -> dict[str, Any]:
    """The checked value of every key (and the data's outputs and digest) by dotted path."""
    clean: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    for entry in SCHEMA:
        if isinstance(entry, Rule):
            entry.fn(clean)
        elif entry.section == "data":
            if "data.kind" not in clean:
                clean.update(_check_data(cfg["data"], clean["model.outputs"], base_dir))
        elif entry.path == "name":
            clean["name"] = _default_name(default_name) if cfg["name"] is None else entry.check("name", cfg["name"])
        elif entry.path == entry.section:
            clean[entry.path] = entry.check(entry.path, cfg[entry.path])
        else:
            if entry.section not in blocks:
                blocks[entry.section] = _block(entry.section, cfg[entry.section])
            clean[entry.path] = entry.check(entry.path, blocks[entry.section][entry.leaf])
    return clean


def _block(section: str, value: Any) -> dict[str, Any]:
    """A section's mapping; a shorthand section (``patterns``) may be given by its plain value and
    misses no key (its keys are not in the merge base)."""
    if section != "patterns":
        return value
    if isinstance(value, str):
        value = {"mode": value}
    if not isinstance(value, dict):
        raise ConfigError(f"config key 'patterns' must be 'exact', 'sampled', 'oracle' or a mapping, got {_type(value)}")
    for key in value:
        if key not in PATTERN_DEFAULTS:
            raise ConfigError(f"unknown config key 'patterns.{key}'{_suggest(key, PATTERN_DEFAULTS)}")
    return {**PATTERN_DEFAULTS, **value}


def _default_name(default: str) -> str:
    """The default name (the file's stem) made a safe folder name (NAME_RULE): other characters
    replaced with ``_``, leading dots and dashes dropped."""
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", default).lstrip(".-")[:100]
    return safe or "config"


def _name(key: str, value: Any) -> str:
    """A given ``name`` must be a safe folder name (NAME_RULE)."""
    _check_type(key, value, str)
    if not NAME_RE.fullmatch(value):
        raise ConfigError(f"config key '{key}' must be {NAME_RULE}; got {_short(value)}")
    return value


def _str(key: str, value: Any) -> str:
    _check_type(key, value, str)
    return value


def _limits(block: dict[str, Any]) -> Limits:
    """The checked ``limits`` section."""
    return Limits(**{key.leaf: key.check(key.path, block[key.leaf]) for key in _section_keys("limits")})


def _check_data(d: dict[str, Any], outputs: int = 1, base_dir: Path | None = None) -> dict[str, Any]:
    """The checked keys of ``data.kind`` by dotted path: the keys checked for every kind, then those
    the kind requires must be set, then the kind's keys that are set (in _DATA_CHECK_ORDER); for kind
    file, the file must exist (found relative to the current directory, then to ``base_dir``) and
    its sha256 is recorded as ``data.digest``."""
    keys = _section_keys("data")
    out: dict[str, Any] = {}
    for key in keys:
        if key.always_checked:
            out[key.leaf] = key.check(key.path, d[key.leaf])
    kind = out["kind"]
    for key in keys:
        if kind in key.required and d[key.leaf] is None:
            raise ConfigError(f"data.{key.leaf} is required when data.kind is '{kind}'")
    for leaf in _DATA_CHECK_ORDER:
        key = KEYS[f"data.{leaf}"]
        if kind in key.kinds and d[leaf] is not None:
            out[leaf] = key.check(key.path, d[leaf])
        if leaf == "X" and kind == "points" and (d["y"] is None) == (d["Y"] is None):
            raise ConfigError("data.kind 'points' needs exactly one of data.y (scalar targets) and data.Y (n x c)")
    if kind == "file":
        out["digest"] = _sha256(find_data_file(out["path"], base_dir))
    out["outputs"] = outputs
    return {f"data.{leaf}": value for leaf, value in out.items()}


def _data(d: dict[str, Any], outputs: int = 1, base_dir: Path | None = None) -> DataConfig:
    """The checked ``data`` section (see :func:`_check_data`)."""
    return DataConfig(**{path.split(".")[1]: value for path, value in _check_data(d, outputs, base_dir).items()})



def find_data_file(raw: str, base_dir: Path | None) -> Path:
    """Find the data file ``raw`` (.csv or .npz): as given (relative to the current directory), then
    relative to ``base_dir``. It must be a regular file of at most MAX_DATA_BYTES bytes."""
    path = Path(raw).expanduser()
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz"):
        raise ConfigError(f"data.path {str(raw)!r}: unsupported file type {suffix or '(none)'!r}; use .csv or .npz")
    tried = [path]
    if not path.is_file() and base_dir is not None and not path.is_absolute() and Path(base_dir) / path != path:
        tried.append(Path(base_dir) / path)
    if not tried[-1].is_file():
        there = next((p for p in tried if p.exists()), None)
        if there is not None:
            raise ConfigError(f"data.path: {there} is not a regular file")
        raise ConfigError(f"data.path: file not found: {' or '.join(str(p) for p in tried)}")
    size = tried[-1].stat().st_size
    if size > MAX_DATA_BYTES:
        raise ResourceLimitError(f"data.path: {tried[-1]} is {size} bytes, larger than the {MAX_DATA_BYTES}-byte "
                                 "limit")
    return tried[-1]


def _sha256(path: Path) -> str:
    """The sha256 hex digest of a file's bytes (remembered while the file's inode, size and
    modification time stay the same: a sweep hashes a large data file once, not once per point)."""
    try:
        info = path.stat()
        key = (str(path.resolve()), info.st_ino, info.st_size, info.st_mtime_ns)
        if key not in _DIGESTS:
            with open(path, "rb") as fh:
                _DIGESTS[key] = hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise ConfigError(f"data.path: cannot read {path}: {exc.strerror or _first_line(exc)}") from None
    return _DIGESTS[key]


_DIGESTS: dict[tuple[str, int, int, int], str] = {}


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


def _widths(value: Any) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"config key 'widths' must be a non-empty list of positive integers, got {_type(value)}")
    return sorted({_positive_int(f"widths[{i}]", v, high=MAX_COUNT) for i, v in enumerate(value)})


def _check_type(key: str, value: Any, typ: type) -> None:
    if not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
        raise ConfigError(f"config key '{key}' must be {typ.__name__}, got {_type(value)} {_short(value)}")


def _short(value: Any, width: int = 60) -> str:
    """``repr(value)``, cut to ``width`` characters, for one-line messages."""
    try:
        text = repr(value)
    except ValueError:  # an integer of more digits than Python converts to text
        return f"an integer of {value.bit_length()} bits"
    return text if len(text) <= width else text[: width - 3] + "..."


def _choice(key: str, value: Any, options: Sequence[str]) -> str:
    if value not in options:
        raise ConfigError(f"config key '{key}' must be one of {', '.join(options)}; got {_short(value)}")
    return str(value)


def _bool(key: str, value: Any) -> bool:
    _check_type(key, value, bool)
    return bool(value)


def _int(key: str, value: Any) -> int:
    _check_type(key, value, int)
    return int(value)


def _positive_int(key: str, value: Any, high: int | None = None) -> int:
    """An integer >= 1 (and <= ``high`` when given)."""
    v = _int(key, value)
    if v <= 0:
        raise ConfigError(f"config key '{key}' must be a positive integer, got {_short(v)}")
    if high is not None and v > high:
        raise ConfigError(f"config key '{key}' must be at most {high}, got {_short(v)}")
    return v


def _seed(key: str, value: Any) -> int:
    """An integer in [0, MAX_SEED) (numpy's generators take no negative seeds)."""
    v = _int(key, value)
    if not 0 <= v < MAX_SEED:
        raise ConfigError(f"config key '{key}' must be an integer in [0, 2**63), got {_short(v)}")
    return v


def _nonneg_int(key: str, value: Any) -> int:
    v = _int(key, value)
    if v < 0:
        raise ConfigError(f"config key '{key}' must be a non-negative integer, got {_short(v)}")
    return v


def _float(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"config key '{key}' must be a number, got {_type(value)} {_short(value)}")
    try:
        v = float(value)
    except OverflowError:  # an integer beyond the float range
        raise ConfigError(f"config key '{key}' must be finite, got {_short(value)}") from None
    if not math.isfinite(v):
        raise ConfigError(f"config key '{key}' must be finite, got {v}")
    return v


def _positive_float(key: str, value: Any) -> float:
    v = _float(key, value)
    if v <= 0:
        raise ConfigError(f"config key '{key}' must be > 0, got {v}")
    return v


def _fraction(key: str, value: Any) -> float:
    """A tolerance: a number in (0, 1)."""
    v = _positive_float(key, value)
    if v >= 1:
        raise ConfigError(f"config key '{key}' must be < 1, got {v}")
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
