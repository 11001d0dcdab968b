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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .errors import ConfigError, ResourceLimitError, first_line

PROBLEMS = ("regression", "interpolation")
SOLVERS = ("auto", "mosek", "clarabel", "scs")
PATTERN_MODES = ("exact", "sampled", "oracle")
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
    "oracle": {"time_limit_s": 600.0},
    "limits": {"cells": 2_000_000, "memory_gb": 8.0, "sweep_points": 100_000, "train_networks": 100_000,
               "max_width": 100_000},
}

WORKING_SET_MODES = ("auto", "always", "never")

ARCHITECTURES = ("two_layer", "parallel_three_layer")

OPTIMIZERS = ("adam", "gd")

PATTERN_DEFAULTS = {"mode": "exact", "n_samples": 10000, "seed": 0}

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
    digest: str | None = None  # kind file: sha256 of the file's bytes (part of the identity)


@dataclass(frozen=True)
class PatternConfig:
    """``exact``: every cell of the arrangement; ``sampled``: patterns of random directions (not a
    certificate over every cell); ``oracle``: the cells the dual needs, found by the exact branch and
    bound of :mod:`convexdual.oracle` from ``n_samples`` sampled patterns (certifies like ``exact``,
    so it has the same identity)."""

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
class Limits:
    """Resource ceilings (not part of the identity). cells: most (estimated) activation patterns a
    solve may enumerate or sample; memory_gb: largest estimated memory of one solve; sweep_points:
    most points in one sweep; train_networks: most (width, seed) pairs in one `convexdual train`;
    max_width: largest training width."""

    cells: int = 2_000_000
    memory_gb: float = 8.0
    sweep_points: int = 100_000
    train_networks: int = 100_000
    max_width: int = 100_000


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
    limits: Limits = field(default_factory=Limits)  # resource ceilings (not in the identity)
    oracle_time_limit_s: float = 600.0  # oracle.time_limit_s: the exact oracle's budget per solve (nor this)

    def resolved(self) -> dict[str, Any]:
        """The config as plain data with only the keys that matter for this run."""
        data = {"kind": self.data.kind, "bias": self.data.bias, "standardize": self.data.standardize}
        for key in DATA_KEYS_BY_KIND[self.data.kind]:
            if key != "Y" or self.data.Y is not None:  # (keys added later stay out of older hashes)
                data[key] = getattr(self.data, key)
        if self.data.kind == "file":
            data["sha256"] = self.data.digest
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
    """Check types and ranges of the merged config; return a :class:`Config`."""
    name = _name(cfg["name"], default_name)
    problem = _choice("problem", cfg["problem"], PROBLEMS)
    beta = _positive_float("beta", cfg["beta"])
    solver = _choice("solver", cfg["solver"], SOLVERS)
    model = cfg["model"]
    skip = _bool("model.skip", model["skip"])
    outputs = _positive_int("model.outputs", model["outputs"])
    architecture = _choice("model.architecture", model["architecture"], ARCHITECTURES)
    patterns = _patterns(cfg["patterns"])
    if outputs > 1 and (problem != "regression" or skip or patterns.mode not in ("exact", "oracle")):
        raise ConfigError("model.outputs > 1 (vector outputs) needs problem: regression, model.skip: false and "
                          "patterns exact or oracle")
    if architecture != "two_layer" and (problem != "regression" or skip or outputs != 1
                                        or patterns.mode != "exact"):
        raise ConfigError("model.architecture: parallel_three_layer needs problem: regression, model.skip: false, "
                          "model.outputs: 1 and exact patterns")
    widths = _widths(cfg["widths"])
    tol = cfg["tol"]
    tolerances = Tolerances(
        solver=_fraction("tol.solver", tol["solver"]),
        polish=_fraction("tol.polish", tol["polish"]),
        active=_fraction("tol.active", tol["active"]),
        margin=_fraction("tol.margin", tol["margin"]),
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
        data=_data(cfg["data"], outputs, Path(source).parent if source else None),
        skip=skip,
        outputs=outputs,
        architecture=architecture,
        branches=_positive_int("model.branches", model["branches"], high=MAX_COUNT),
        hidden=_positive_int("model.hidden", model["hidden"], high=MAX_COUNT),
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
        certify=CertifyTolerances(gap=_fraction("certify.gap", cfg["certify"]["gap"]),
                                  stationary=_fraction("certify.stationary", cfg["certify"]["stationary"])),
        source=source,
        limits=_limits(cfg["limits"]),
        oracle_time_limit_s=_positive_float("oracle.time_limit_s", cfg["oracle"]["time_limit_s"]),
    )


def _name(value: Any, default: str) -> str:
    """A given ``name`` must be a safe folder name (NAME_RULE); the default (the file's stem) is made
    one by replacing other characters with ``_`` and dropping leading dots and dashes."""
    if value is None:
        safe = re.sub(r"[^A-Za-z0-9._+-]", "_", default).lstrip(".-")[:100]
        return safe or "config"
    _check_type("name", value, str)
    if not NAME_RE.fullmatch(value):
        raise ConfigError(f"config key 'name' must be {NAME_RULE}; got {_short(value)}")
    return value


def _limits(block: dict[str, Any]) -> Limits:
    """Each limit is a positive integer (memory_gb: a positive number)."""
    return Limits(
        cells=_positive_int("limits.cells", block["cells"]),
        memory_gb=_positive_float("limits.memory_gb", block["memory_gb"]),
        sweep_points=_positive_int("limits.sweep_points", block["sweep_points"]),
        train_networks=_positive_int("limits.train_networks", block["train_networks"]),
        max_width=_positive_int("limits.max_width", block["max_width"]),
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


def _data(d: dict[str, Any], outputs: int = 1, base_dir: Path | None = None) -> DataConfig:
    """The keys of ``data.kind``; for kind file, the file must exist (found relative to the current
    directory, then to ``base_dir``) and its sha256 is recorded."""
    kind = _choice("data.kind", d["kind"], DATA_KINDS)
    out: dict[str, Any] = {
        "kind": kind,
        "outputs": outputs,
        "bias": _bool("data.bias", d["bias"]),
        "standardize": _bool("data.standardize", d["standardize"]),
        "seed": _seed("data.seed", d["seed"]),
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
        out["n"] = _positive_int("data.n", d["n"], high=MAX_COUNT)
    if kind == "gaussian":
        out["d"] = _positive_int("data.d", d["d"], high=MAX_COUNT)
    if kind == "file":
        _check_type("data.path", d["path"], str)
        out["path"] = d["path"]
        out["digest"] = _sha256(find_data_file(d["path"], base_dir))
    if kind == "sklearn":
        out["name"] = _choice("data.name", d["name"], SKLEARN_DATASETS)
        out["features"] = _features(d["features"])
    return DataConfig(**out)


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


def _patterns(value: Any) -> PatternConfig:
    if isinstance(value, str):
        value = {"mode": value}
    if not isinstance(value, dict):
        raise ConfigError(f"config key 'patterns' must be 'exact', 'sampled', 'oracle' or a mapping, got {_type(value)}")
    for key in value:
        if key not in PATTERN_DEFAULTS:
            raise ConfigError(f"unknown config key 'patterns.{key}'{_suggest(key, PATTERN_DEFAULTS)}")
    merged = {**PATTERN_DEFAULTS, **value}
    return PatternConfig(
        mode=_choice("patterns.mode", merged["mode"], PATTERN_MODES),
        n_samples=_positive_int("patterns.n_samples", merged["n_samples"], high=MAX_COUNT),
        seed=_seed("patterns.seed", merged["seed"]),
    )


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
