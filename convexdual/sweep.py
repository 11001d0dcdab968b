"""Sweeps: many solves over a grid of config values, resumable, with one tidy table.

Axes come from the config file's ``sweep:`` block (dotted key -> list of values, or a Hydra sweep
string such as ``"range(0,10)"`` or ``"0.01,0.1,1"``), then from command-line overrides: a Hydra
sweep override (``beta=0.01,0.1,1``, ``data.seed=range(0,10)``) adds that axis or replaces the
file's axis of the same key (in place); a plain override (``data.n=10``) applies to every point and,
when it names an axis key, removes that axis. The points are the Cartesian product of the axes in
the order given (the first axis varies slowest; no axes = one point). Points whose resolved configs
are identical (e.g. a ``beta`` axis with ``problem: interpolation``) are run once.

Run directory (``--out``, default ``outputs/<config name>``); this layout is a public interface:

``points/<config_hash>.json``
    One self-describing file per point, written atomically: ``status`` ("ok" | "failed"),
    ``config_hash``, ``overrides`` ({axis: value}), ``config`` (resolved), ``result`` (the JSON
    of ``convexdual solve --json``; ok only), ``error`` (one line ``Type: message``; failed
    only), ``versions``, ``git_revision``, ``started``/``finished`` (ISO 8601 UTC), ``time_s``.
    A point whose config is invalid has no hash; its file is ``points/invalid-<hash of its
    overrides>.json`` with ``config_hash`` and ``config`` null.
``table.csv``
    The tidy table, rewritten atomically after every finished point from the files of this
    sweep's planned points (so it holds exactly the points done so far): one row per (point,
    width of the staircase) for ok points, one row with empty width columns for failed points
    and for ok points without a staircase. Columns: config_hash, status, error, name, problem,
    beta, data_kind, n, d, bias, skip, one column per sweep axis named by its dotted key (unless
    that name is already a column, e.g. ``beta``), p_star, m_star, m_star_low, m_star_high,
    M_star, M_star_low, M_star_high, n_vertices, polytope_dim, n_patterns, duality_gap,
    active_margin, connectivity_width (smallest m with ``connected`` true at every computed
    width >= m), time_s (seconds of the solve, or until the failure), output_dim, certified
    (false when the exact oracle ran out of time: p_star is then empty and p* lies in
    [p_star_low, p_star_high]), p_star_low, p_star_high, then the staircase
    columns m, optimal, value, isolated_points, continuum_components, connected. ``n`` and ``d``
    are those of the data as solved (``d`` counts the bias column). Empty cells mean None.
``sweep.json``
    The manifest: config path, command-line overrides, axes, the planned points (hash and axis
    values), created/updated times (ISO 8601 UTC).

``submissions.json``
    The SLURM job arrays submitted for this run folder, in order (written before each ``sbatch``):
    ``arrays``, a list of {``name`` (the SLURM job name, ``convexdual-<folder hash>-<k>`` for the
    k-th submission), ``job_id`` (the array's SLURM id when known, else null), ``files`` (the point
    files of its tasks: task ``i`` runs ``files[i]``), ``submitted`` (ISO 8601 UTC), ``detached``}.
    ``status`` asks SLURM about these names to tell queued, running and lost points apart, and a
    resume does not submit a point whose task is still queued or running.

``run.json``, ``.lock``, ``rejected/``
    The run folder's identity (the config file, the axes and the plain overrides), its lock and
    the records that failed their check (see :mod:`convexdual.runs`). A sweep of another config,
    other axes or other plain overrides into the same folder is refused.

Every point file carries ``content_sha256`` and is checked when read: its digest, its status, its
config (which must hash to its ``config_hash``, the file's name) and the types of the result's
keys that the table uses. A file that fails is moved to ``rejected/`` and its point is run again.

Resuming: a point whose file exists with status ok is skipped (and is in the table); failed and
missing points are (re)run; an ok point file is never overwritten. Ctrl-C or SIGTERM stops the
sweep without partial files (every write is atomic); rerunning the same command resumes it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import math
import re
import shlex
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .config import Config, hash_resolved, is_limit_override, load_config, read_limits, read_sweep_axes
from .errors import ConfigError, ResourceLimitError, first_line
from .launch import (LAUNCHERS, array_name, check_plugin, ended_tasks, launch, pick_launcher, queued_tasks, quoted,
                     split_launcher_overrides)
from .results import atomic_write_text, git_revision, jsonable, versions
from .runs import (Check, RunFolder, first_reason, identity_hash, legacy_manifest, load_json, now, progress_bar,
                   read_record, record_path, safe_name, stoppable, table_text, types_ok, verify, write_json,
                   write_record)
from .widths import REGIMES, UNDECIDED, bounds_regime, phase_regime

if TYPE_CHECKING:
    from .solve_cache import SolveCache

log = logging.getLogger("convexdual")

FIXED_COLUMNS = ["config_hash", "status", "error", "name", "problem", "beta", "data_kind", "n", "d", "bias", "skip"]
RESULT_COLUMNS = ["p_star", "m_star", "m_star_low", "m_star_high", "M_star", "M_star_low", "M_star_high",
                  "n_vertices", "polytope_dim", "n_patterns", "duality_gap", "active_margin",
                  "connectivity_width", "time_s", "output_dim", "certified", "p_star_low", "p_star_high"]
WIDTH_COLUMNS = ["m", "optimal", "value", "isolated_points", "continuum_components", "connected", "regime"]


# ----------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its axis values, the overrides that make it, and its config."""

    overrides: dict[str, Any]  # axis -> value
    args: list[str]  # every override passed to load_config (plain first, then the axes)
    config: Config | None  # None when the config is invalid
    error: str | None  # the one-line ConfigError of an invalid config

    @property
    def key(self) -> str:
        """The point's file stem: its config hash, or ``invalid-<hash of args>``."""
        if self.config is not None:
            return self.config.hash()
        return "invalid-" + hashlib.sha256(json.dumps(self.args).encode()).hexdigest()[:12]

    @property
    def config_hash(self) -> str | None:
        return self.config.hash() if self.config is not None else None


@dataclass(frozen=True)
class Plan:
    """Everything a sweep will do, computed before anything is run or written."""

    config_path: Path
    overrides: list[str]  # as given on the command line
    axes: dict[str, list[Any]]
    plain: list[str]
    points: list[Point]
    name: str


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did. ``done`` counts ok points, including ``skipped`` ones."""

    run_dir: Path
    done: int
    skipped: int
    failed: int
    table_path: Path
    total: int = 0
    ran: int = 0
    in_flight: int = 0  # points left to SLURM tasks still queued or running (not submitted again)
    job_id: str | None = None  # the SLURM array submitted with ``detach``


def _parser() -> Any:
    # Hydra is imported on first use: reading a sweep (status, table, plot) does not need it.
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def sweep_values(key: str, ov: Any, limit: int | None = None) -> list[Any]:
    """The values of a parsed Hydra sweep override (interval sweeps have no finite values); at most
    ``limit + 1`` of them are listed, so that a huge range is refused before it is built."""
    from hydra.core.override_parser.types import Glob  # on first use, as in _parser


    if ov.is_interval_sweep():
        raise ConfigError(f"sweep axis '{key}': interval() sweeps have no finite list of values")
    if isinstance(ov.value(), Glob):
        raise ConfigError(f"sweep axis '{key}': glob() sweeps are not supported; list the values")
    try:
        values = ov.sweep_iterator()
        return list(itertools.islice(values, limit + 1) if limit is not None else values)
    except Exception as exc:  # e.g. glob() needs Hydra's config loader
        raise ConfigError(f"sweep axis '{key}': {first_line(exc)}") from None


def axis_values(key: str, spec: Any, limit: int | None = None) -> list[Any]:
    """Values of one ``sweep:`` axis from the YAML: a list as is, a string as the Hydra sweep ``key=spec``."""
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"sweep axis '{key}' is empty")
        return list(spec)
    if isinstance(spec, bool) or not isinstance(spec, (str, int, float)):
        raise ConfigError(f"sweep axis '{key}' must be a list or a Hydra sweep string, got {type(spec).__name__}")
    try:
        ov = _parser().parse_override(f"{key}={spec}")
    except Exception as exc:
        raise ConfigError(f"sweep axis '{key}': bad sweep {spec!r}: {first_line(exc)}") from None
    if not ov.is_sweep_override():
        return [ov.value()]
    return sweep_values(key, ov, limit)


def split_overrides(overrides: Sequence[str], limit: int | None = None) -> tuple[dict[str, list[Any]], list[str]]:
    """Split command-line overrides into sweep axes (Hydra sweeps) and plain overrides."""
    parser = _parser()
    axes: dict[str, list[Any]] = {}
    plain: list[str] = []
    for text in overrides:
        try:
            ov = parser.parse_override(text)
        except Exception as exc:
            raise ConfigError(f"bad override {text!r}: {first_line(exc)}") from None
        if ov.is_sweep_override():
            axes[ov.key_or_group] = sweep_values(ov.key_or_group, ov, limit)
        else:
            plain.append(text)
    return axes, plain


def _override_key(text: str) -> str:
    return _parser().parse_override(text).key_or_group


def combine_axes(file_axes: dict[str, list[Any]], cli_axes: dict[str, list[Any]],
                 plain: Sequence[str]) -> dict[str, list[Any]]:
    """File axes, replaced (in place) or extended by CLI axes; axes fixed by a plain override dropped."""
    axes = dict(file_axes)
    for key, values in cli_axes.items():
        axes[key] = values
    for text in plain:
        key = _override_key(text)
        if key in axes:
            log.info("override %s fixes sweep axis '%s'; that axis is dropped", text, key)
            del axes[key]
    return axes


def format_value(value: Any) -> str:
    """``value`` as Hydra override syntax that parses back to the same value (floats via repr)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # 'nan', 'inf', '-inf' and exponents parse back in Hydra's grammar
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(f"sweep value {value!r} of type {type(value).__name__} cannot be written as an override")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def override_for(key: str, value: Any) -> str:
    """``key=<value>`` checked to parse back to exactly ``value``."""
    text = f"{key}={format_value(value)}"
    try:
        ov = _parser().parse_override(text)
        back = ov.value()
    except Exception:
        back = object()
    if not _same(jsonable(back), jsonable(value)):
        raise ConfigError(f"sweep axis '{key}': value {value!r} cannot be written as a Hydra override")
    return text


def expand(axes: dict[str, list[Any]], limit: int | None = None) -> list[dict[str, Any]]:
    """The Cartesian product of the axes in order (first axis slowest); no axes = one empty point.
    More than ``limit`` points is a ResourceLimitError (counted before anything is built)."""
    total = math.prod(len(v) for v in axes.values())
    if limit is not None and total > limit:
        sizes = ", ".join(f"{k}: {len(v) if len(v) <= limit else f'more than {limit}'} values" for k, v in axes.items())
        raise ResourceLimitError(f"the sweep has more than {limit} points ({sizes}); the limit is "
                                 f"limits.sweep_points = {limit}")
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


def _file_axes(config_path: Path, limit: int | None = None) -> dict[str, list[Any]]:
    """The ``sweep:`` block of the file, read without validating the rest (axes may fix it)."""
    if not config_path.is_file():
        raise ConfigError(f"config file not found: {config_path}")
    return {key: axis_values(key, spec, limit) for key, spec in read_sweep_axes(config_path).items()}


def plan_sweep(config_path: Path, overrides: Sequence[str]) -> Plan:
    """Read the axes, expand them and load every point's config (invalid ones are kept, as failed)."""
    config_path = Path(config_path)
    limit = read_limits(config_path, overrides).sweep_points
    cli_axes, plain = split_overrides(overrides, limit)
    axes = combine_axes(_file_axes(config_path, limit), cli_axes, plain)
    points: list[Point] = []
    seen: dict[str, dict[str, Any]] = {}
    same: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for values in expand(axes, limit):
        args = plain + [override_for(k, v) for k, v in values.items()]
        try:
            point = Point(values, args, load_config(config_path, args), None)
        except ConfigError as exc:
            point = Point(values, args, None, f"ConfigError: {first_line(exc)}")
        if point.key in seen:
            same.append((values, seen[point.key]))
            continue
        seen[point.key] = values
        points.append(point)
    if same:
        log.warning("warning: %d sweep point(s) have the same resolved config as an earlier point (e.g. %s and %s) "
                    "and are run once", len(same), *same[0])
    name = next((p.config.name for p in points if p.config is not None), safe_name(config_path.stem))
    return Plan(config_path, list(overrides), axes, plain, points, name)


# ----------------------------------------------------------------------------- records and table


@functools.cache
def worker_cache() -> SolveCache:
    """The one :class:`solve_cache.SolveCache` of the points this process runs: consecutive points
    of the same data (a beta or width axis) enumerate the patterns once and warm-start each other."""
    from .solve_cache import SolveCache  # (with the solver stack, as below)

    return SolveCache()


def run_point(point: Point, provenance: dict[str, Any]) -> dict[str, Any]:
    """Solve one point (with this process's :func:`worker_cache`); any exception becomes a failed
    record (KeyboardInterrupt propagates)."""
    from .pipeline import solve  # the solver stack is heavy: planning and reading a sweep do not need it

    started, t0 = now(), time.perf_counter()
    record: dict[str, Any] = {
        "status": "failed",
        "config_hash": point.config_hash,
        "overrides": point.overrides,
        "config": point.config.resolved() if point.config is not None else None,
    }
    if point.config is None:
        record["error"] = point.error
    else:
        try:
            record["result"] = solve(point.config, worker_cache()).to_dict()
            record["status"] = "ok"
        except Exception as exc:
            record["error"] = f"{type(exc).__name__}: {first_line(exc)}".rstrip(": ")
            log.debug("point %s failed", point.key, exc_info=True)
    record.update(provenance)
    record.update(started=started, finished=now(), time_s=time.perf_counter() - t0)
    return jsonable(record)


_MAYBE_INT = (int, type(None))
_MAYBE_NUMBER = (int, float, type(None))
RESULT_TYPES: dict[str, tuple[type, ...]] = {
    "config_hash": (str,), "n": (int,), "d": (int,), "p_star": _MAYBE_NUMBER, "m_star": _MAYBE_INT,
    "M_star": _MAYBE_INT, "n_vertices": _MAYBE_INT, "polytope_dim": _MAYBE_INT, "patterns": (dict,),
    "certificates": (dict,), "staircase": (list, type(None)), "m_star_bounds": (list, type(None)),
    "M_star_bounds": (list, type(None)), "timing": (dict,),
}
STEP_TYPES: dict[str, tuple[type, ...]] = {
    "m": (int,), "optimal": (bool, type(None)), "value": _MAYBE_NUMBER, "isolated_points": _MAYBE_INT,
    "continuum_components": _MAYBE_INT, "connected": (bool, type(None)),
}
BOUNDS_TYPES: dict[str, tuple[type, ...]] = {
    "from_m": (int,), "to_m": (int,), **{k: (bool, type(None)) for k in
                                         ("optimal", "all_isolated", "some_continuum", "some_isolated", "connected")},
}


def result_problem(res: Any) -> str | None:
    """Why a point's ``result`` is not a result the table can use (the types of the keys it reads),
    or None."""
    if not isinstance(res, dict):
        return "its result is not an object"
    why = types_ok(res, RESULT_TYPES)
    if why is None:
        why = _p_star_problem(res)
    if why is None:
        for key in ("m_star_bounds", "M_star_bounds"):
            b = res[key]
            if b is not None and (len(b) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in b)):
                why = f"'{key}' is not two integers"
    if why is None:
        why = first_reason(types_ok(step, STEP_TYPES) if isinstance(step, dict) else "a staircase row is not an object"
                           for step in res["staircase"] or [])
    bounds_rows = res.get("staircase_bounds") if why is None else None
    if bounds_rows is not None:
        why = "'staircase_bounds' is not a list" if not isinstance(bounds_rows, list) else first_reason(
            types_ok(row, BOUNDS_TYPES) if isinstance(row, dict) else "a staircase_bounds row is not an object"
            for row in bounds_rows)
    return f"result: {why}" if why is not None else None


def _p_star_problem(res: dict[str, Any]) -> str | None:
    """A certified result has a number p_star; a bracket (``certified`` false) has two numbers
    in ``p_star_bounds`` instead. Results written before brackets existed have no ``certified``."""
    certified = res.get("certified", True)
    if not isinstance(certified, bool):
        return f"'certified' has type {type(certified).__name__}"
    if certified:
        return None if isinstance(res["p_star"], (int, float)) else "'p_star' is missing for a certified result"
    b = res.get("p_star_bounds")
    if not (isinstance(b, list) and len(b) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                       for v in b)):
        return "'p_star_bounds' is not two numbers"
    return None


def point_check(key: str) -> Check:
    """The check of the point file ``points/<key>.json``: status, the config hash (the file's own
    name, matched by the hash of the stored config and by the result's), and the result's types."""
    def check(record: dict[str, Any]) -> str | None:
        status = record.get("status")
        if status not in ("ok", "failed"):
            return f"status {status!r} is neither ok nor failed"
        if not isinstance(record.get("overrides"), dict):
            return "its overrides are not an object"
        expected = None if key.startswith("invalid-") else key
        if record.get("config_hash") != expected:
            return f"config_hash {record.get('config_hash')!r} is not this point's ({expected})"
        if expected is not None and (not isinstance(record.get("config"), dict)
                                     or hash_resolved(record["config"]) != expected):
            return "its config does not hash to its config_hash"
        if status == "failed":
            return types_ok(record, {"error": (str,)})
        why = result_problem(record.get("result"))
        if why is None and record["result"]["config_hash"] != expected:
            why = "its result belongs to another config"
        return why
    return check


def connectivity_width(staircase: list[dict[str, Any]] | None) -> int | None:
    """Smallest m with ``connected`` true at every computed width >= m (None if there is none)."""
    if not staircase:
        return None
    best = None
    for row in sorted(staircase, key=lambda r: r["m"], reverse=True):
        if not row.get("connected"):
            break
        best = row["m"]
    return best


def table_columns(axes: Sequence[str]) -> list[str]:
    """Column names of ``table.csv`` for these axes (an axis named like a fixed column is not repeated)."""
    fixed = set(FIXED_COLUMNS) | set(RESULT_COLUMNS) | set(WIDTH_COLUMNS)
    return FIXED_COLUMNS + [a for a in axes if a not in fixed] + RESULT_COLUMNS + WIDTH_COLUMNS


def table_rows(record: dict[str, Any], axes: Sequence[str]) -> list[dict[str, Any]]:
    """The tidy rows of one point record: one per staircase width, else one."""
    cfg = record.get("config") or {}
    data = cfg.get("data") or {}
    base: dict[str, Any] = {
        "config_hash": record.get("config_hash"),
        "status": record["status"],
        "error": record.get("error"),
        "name": cfg.get("name"),
        "problem": cfg.get("problem"),
        "beta": cfg.get("beta"),
        "data_kind": data.get("kind"),
        "bias": data.get("bias"),
        "skip": (cfg.get("model") or {}).get("skip"),
    }
    overrides = record.get("overrides") or {}
    for axis in axes:
        base.setdefault(axis, overrides.get(axis))
    res = record.get("result")
    if record["status"] != "ok" or not res:
        base["time_s"] = record.get("time_s")
        return [base]
    m_lo, m_hi = (res.get("m_star_bounds") or [None, None])[:2]
    M_lo, M_hi = (res.get("M_star_bounds") or [None, None])[:2]
    certs = res.get("certificates") or {}
    steps = res.get("staircase")
    bounds = res.get("p_star_bounds") or [res.get("p_star")] * 2
    base.update(
        n=res.get("n"), d=res.get("d"), p_star=res.get("p_star"),
        m_star=res.get("m_star"), m_star_low=m_lo, m_star_high=m_hi,
        M_star=res.get("M_star"), M_star_low=M_lo, M_star_high=M_hi,
        n_vertices=res.get("n_vertices"), polytope_dim=res.get("polytope_dim"),
        n_patterns=(res.get("patterns") or {}).get("count"),
        duality_gap=certs.get("duality_gap"), active_margin=certs.get("active_margin"),
        connectivity_width=connectivity_width(steps),
        time_s=(res.get("timing") or {}).get("total_s", record.get("time_s")),
        output_dim=res.get("output_dim", 1),
        certified=res.get("certified", True),  # (results written before brackets existed are certified)
        p_star_low=bounds[0], p_star_high=bounds[1],
    )
    if steps:
        return [{**base, **{c: step.get(c) for c in WIDTH_COLUMNS}, "regime": step_regime(step)} for step in steps]
    bounds_rows = res.get("staircase_bounds")
    if bounds_rows:  # only what the m*, M* bounds decide, width by width
        return [{**base, "m": m, "optimal": row["optimal"], "connected": row["connected"],
                 "regime": row["regime"] if row.get("regime") in REGIMES + (UNDECIDED,) else bounds_regime(row)}
                for row in bounds_rows for m in range(row["from_m"], row["to_m"] + 1)]
    return [base]


def step_regime(step: dict[str, Any]) -> str:
    """A staircase row's regime (rows written before the ``regime`` key existed get it computed)."""
    if step.get("regime") in REGIMES + (UNDECIDED,):
        return step["regime"]
    if step["optimal"] is False:
        return "none"
    if None in (step["optimal"], step["isolated_points"], step["continuum_components"], step["connected"]):
        return UNDECIDED
    return phase_regime(step["optimal"], step["isolated_points"], step["continuum_components"], step["connected"])


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


def render_table(records: Sequence[dict[str, Any]], axes: Sequence[str]) -> str:
    """``table.csv`` as text, from the records in plan order."""
    return render_rows([row for record in records for row in table_rows(record, axes)], axes)


def render_rows(rows: Sequence[dict[str, Any]], axes: Sequence[str]) -> str:
    """``table.csv`` as text, from its rows."""
    return table_text(table_columns(axes), rows, lineterminator="\n", cell=_cell)


def identity(plan: Plan) -> dict[str, Any]:
    """What makes two sweeps the same run: the config file, the axes and the plain overrides
    (but the ``limits.*`` ones, which change what may run, not what a point is)."""
    return {"config": str(plan.config_path.resolve()), "axes": plan.axes,
            "overrides": [o for o in plan.plain if not is_limit_override(o)]}


def resume_command(config: str, run_dir: Path, overrides: Sequence[str], launcher: str = "basic",
                   settings: Sequence[str] = ()) -> str:
    """The ``convexdual sweep`` command that resumes a run: its config, folder, overrides, launcher and
    the launcher's settings (``hydra.launcher.KEY=VALUE``)."""
    return shlex.join(["convexdual", "sweep", "--config", config, "--out", str(run_dir),
                       *([] if launcher == "basic" else ["--launcher", launcher, *settings]), *overrides])


def manifest(plan: Plan, created: str, launcher: str = "basic", settings: Sequence[str] = ()) -> dict[str, Any]:
    """The content of ``sweep.json`` (``launcher``: how it was last run, for the resume command)."""
    return jsonable({
        "config": str(plan.config_path.resolve()),
        "overrides": plan.overrides,
        "launcher": {"name": launcher, "settings": list(settings)},
        "axes": plan.axes,
        "identity_sha256": identity_hash(identity(plan)),
        "points": [{"config_hash": p.config_hash, "file": record_path(p.key), "overrides": p.overrides,
                    "args": p.args} for p in plan.points],
        "created": created,
        "updated": now(),
    })


def _other_sweep(old: dict[str, Any], plan: Plan) -> str | None:
    """A folder from before run folders had run.json: the sweep.json it holds must be this sweep's."""
    if old.get("config") != str(plan.config_path.resolve()) or old.get("axes") != jsonable(plan.axes):
        return f"a sweep of {old.get('config')} over {', '.join(old.get('axes') or {}) or 'no axes'}"
    return None


# ----------------------------------------------------------------------------- running


def run_sweep(config_path: Path, overrides: list[str], out_dir: Path | None, progress: bool = True,
              launcher: str = "basic", jobs: int | None = None, configs_dir: Path | None = None,
              cache_root: Path | None = None, detach: bool = False) -> SweepSummary:
    """Run every planned point not already done through a Hydra launcher (see :mod:`convexdual.launch`);
    write point files, ``table.csv`` and ``sweep.json``. The run folder is ``out_dir``, else
    ``cache_root/<name>-<identity>`` (a cache: one folder per sweep identity), else ``outputs/<name>``.
    With ``detach`` (SLURM only) the job array is submitted and the call returns at once (its id in
    ``job_id``); the jobs write the point files and the table."""
    launcher, overrides = pick_launcher(launcher, overrides)
    check_plugin(launcher)
    if detach and launcher != "slurm":
        raise ConfigError("--detach goes with --launcher slurm")
    launcher_overrides, overrides = split_launcher_overrides(launcher, overrides)
    if jobs is not None:
        if launcher != "joblib":
            raise ConfigError("-j/--jobs goes with --launcher joblib")
        launcher_overrides.append(f"hydra.launcher.n_jobs={jobs}")
    plan = plan_sweep(Path(config_path), overrides)
    if plan.points and all(p.config is None for p in plan.points):
        # Every point is invalid: a typo or bad value for the whole sweep, not a failing point.
        raise ConfigError(plan.points[0].error.split(": ", 1)[-1] if plan.points[0].error else "invalid sweep")
    if out_dir is not None:
        run_dir = Path(out_dir)
    elif cache_root is not None:
        run_dir = Path(cache_root) / f"{safe_name(plan.name)}-{identity_hash(identity(plan))[:8]}"
    else:
        run_dir = Path("outputs") / safe_name(plan.name)
    if "${" in str(run_dir.resolve()):
        raise ConfigError(f"{run_dir}: a run folder's path may not contain '${{' (the launchers read it as an "
                          "interpolation)")
    legacy = legacy_manifest("sweep.json", lambda old: _other_sweep(old, plan))
    with RunFolder.open(run_dir, "sweep", identity(plan), legacy=legacy) as folder:
        return _run_plan(folder, plan, progress, launcher, launcher_overrides, configs_dir, detach)


def _run_plan(folder: RunFolder, plan: Plan, progress: bool, launcher: str, launcher_overrides: list[str],
              configs_dir: Path | None, detach: bool = False) -> SweepSummary:
    run_dir = folder.path
    table_path, manifest_path = run_dir / "table.csv", run_dir / "sweep.json"
    old = load_json(manifest_path)[0]
    created = old.get("created") if old and old.get("identity_sha256") == identity_hash(identity(plan)) else None
    write_json(manifest_path, manifest(plan, created or now(), launcher, launcher_overrides))
    # move what fails its check aside before counting what is done
    folder.read_records((record_path(p.key), point_check(p.key)) for p in plan.points)
    watch = _Statuses(run_dir, plan)
    before = watch()
    flying = in_flight(run_dir)
    not_ok = [i for i, st in enumerate(before) if st != "ok"]
    todo = [i for i in not_ok if record_path(plan.points[i].key) not in flying]
    skipped = len(plan.points) - len(not_ok)
    if len(todo) < len(not_ok):
        log.warning("%d point(s) are still queued or running in an earlier SLURM array (%s); they are not "
                    "submitted again: follow them with convexdual status %s", len(not_ok) - len(todo),
                    ", ".join(sorted(set(flying.values()))), run_dir)
    log.info("sweep %s: %d points, %d already done, %d to run with launcher %s, into %s",
             plan.name, len(plan.points), skipped, len(todo), launcher, run_dir)
    cmd = resume_command(str(plan.config_path), run_dir, plan.overrides, launcher, launcher_overrides)
    watcher = _Progress(watch, len(plan.points), skipped, plan.name, progress and not detach)
    job_name = record_submission(run_dir, [plan.points[i] for i in todo], detach) if launcher == "slurm" and todo \
        else None

    def so_far() -> str:
        done, failed = watcher.counts()
        return f"{done} of {len(plan.points)} points done ({failed} failed) in {run_dir}; resume with: {cmd}"

    with stoppable(so_far), watcher:
        try:
            job_id = launch(run_dir, todo, launcher, launcher_overrides, configs_dir, identity_hash(identity(plan)),
                            runner=run_planned_point, job_name=job_name, detach=detach)
        except ConfigError:  # the launcher could not start: nothing was submitted
            if job_name is not None:
                _edit_submission(run_dir, job_name, None)
            raise
    if job_id is not None and job_name is not None:
        _edit_submission(run_dir, job_name, job_id)
    write_table(run_dir)
    write_json(manifest_path, manifest(plan, created or now(), launcher, launcher_overrides))
    after = watch()
    if detach:
        return SweepSummary(run_dir, after.count("ok"), skipped, after.count("failed"), table_path,
                            total=len(plan.points), ran=len(todo), in_flight=len(not_ok) - len(todo), job_id=job_id)
    ended = {task: state for (_, task), state in ended_tasks([job_name]).items()} if job_name else {}
    missing = [task for task, i in enumerate(todo) if after[i] is None]
    for task in missing:
        how = f"its SLURM task ended {ended[task]}" if task in ended else "its job died, timed out or was preempted"
        log.warning("point %s has no result file: %s", _describe(plan.points[todo[task]]), how)
    for i in todo:
        if after[i] == "failed":
            rec = load_json(run_dir / record_path(plan.points[i].key))[0] or {}
            log.warning("point %s failed: %s", _describe(plan.points[i]), rec.get("error"))
    return SweepSummary(run_dir, after.count("ok"), skipped, sum(after[i] == "failed" for i in not_ok) + len(missing),
                        table_path, total=len(plan.points), ran=len(todo), in_flight=len(not_ok) - len(todo))


# ----------------------------------------------------------------------------- SLURM submissions

SUBMISSIONS = "submissions.json"


def read_submissions(run_dir: Path) -> list[dict[str, Any]]:
    """The SLURM arrays recorded in ``submissions.json`` (none when there is no such file); a file
    that is not the list convexdual wrote is one ConfigError line."""
    data, why = load_json(Path(run_dir) / SUBMISSIONS)
    if data is None:
        if why is None:
            return []
        raise ConfigError(f"{run_dir}/{SUBMISSIONS} is unreadable: {why}")
    arrays = data.get("arrays")
    if not isinstance(arrays, list) or not all(
            isinstance(a, dict) and isinstance(a.get("name"), str) and isinstance(a.get("files"), list)
            and all(isinstance(f, str) for f in a["files"]) and isinstance(a.get("job_id"), (str, type(None)))
            for a in arrays):
        raise ConfigError(f"{run_dir}/{SUBMISSIONS} is not a record convexdual wrote (edited or corrupt)")
    return arrays


def record_submission(run_dir: Path, points: Sequence[Point], detached: bool) -> str:
    """Append the next SLURM array of ``run_dir`` (its tasks' point files) to ``submissions.json``
    before it is submitted; return its job name."""
    arrays = read_submissions(run_dir)
    name = array_name(run_dir, len(arrays) + 1)
    arrays.append({"name": name, "job_id": None, "files": [record_path(p.key) for p in points],
                   "submitted": now(), "detached": detached})
    write_json(run_dir / SUBMISSIONS, {"arrays": arrays})
    return name


def _edit_submission(run_dir: Path, name: str, job_id: str | None) -> None:
    """Record the SLURM id of the array ``name``, or (``job_id`` None) drop it: it was never submitted."""
    arrays = [a for a in read_submissions(run_dir) if job_id is not None or a["name"] != name]
    for entry in arrays:
        if entry["name"] == name:
            entry["job_id"] = job_id
    if arrays:
        write_json(run_dir / SUBMISSIONS, {"arrays": arrays})
    else:
        (run_dir / SUBMISSIONS).unlink(missing_ok=True)


def _latest_tasks(arrays: Sequence[dict[str, Any]]) -> dict[str, tuple[str, int]]:
    """Point file -> (array name, task) of the last array that ran it."""
    return {f: (a["name"], task) for a in arrays for task, f in enumerate(a["files"])}


def _scheduler_view(arrays: Sequence[dict[str, Any]]
                    ) -> tuple[dict[str, tuple[str, int]], dict[tuple[str, int], str], str | None]:
    """(point file -> (array name, task) of the last array that ran it, the tasks SLURM still lists
    -> "queued" | "running", why SLURM could not be asked or None)."""
    tasks = _latest_tasks(arrays)
    live = queued_tasks(sorted({name for name, _ in tasks.values()}))
    return (tasks, {}, live) if isinstance(live, str) else (tasks, live, None)


def in_flight(run_dir: Path) -> dict[str, str]:
    """Point file -> array name, for the points whose SLURM task is still queued or running (none
    when nothing was submitted or SLURM cannot be asked; then nothing is known to be in flight)."""
    tasks, live, error = _scheduler_view(read_submissions(run_dir))
    if error is not None:
        if tasks:
            log.warning("warning: cannot ask SLURM which points are still queued or running (%s)", error)
        return {}
    return {f: name for f, (name, task) in tasks.items() if (name, task) in live}


class _Statuses:
    """The status of every planned point (ok / failed / None), re-verifying a (possibly large)
    point file only when it has changed. Read-only: the progress bar polls it."""

    def __init__(self, run_dir: Path, plan: Plan) -> None:
        self.files = [(record_path(p.key), point_check(p.key)) for p in plan.points]
        self.run_dir = run_dir
        self.seen: dict[str, tuple[tuple[int, int, int], str | None]] = {}

    def status(self, relpath: str, check: Check) -> str | None:
        try:
            info = (self.run_dir / relpath).stat()
        except OSError:
            return None
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        if relpath not in self.seen or self.seen[relpath][0] != stamp:
            record = verify(self.run_dir, relpath, check)[0]
            self.seen[relpath] = (stamp, record.get("status") if record else None)
        return self.seen[relpath][1]

    def __call__(self) -> list[str | None]:
        return [self.status(relpath, check) for relpath, check in self.files]


class _Progress:
    """A progress bar fed by polling the point files (works for every launcher)."""

    def __init__(self, statuses: Any, total: int, skipped: int, name: str, enabled: bool) -> None:
        self.statuses, self.total, self.skipped = statuses, total, skipped
        self.bar = progress_bar(total, skipped, name, enabled)
        self.enabled = enabled
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def counts(self) -> tuple[int, int]:
        st = self.statuses()
        return st.count("ok"), st.count("failed")

    def _refresh(self) -> None:
        done, failed = self.counts()
        self.bar.n = done + failed
        self.bar.set_postfix(done=done, failed=failed, skipped=self.skipped)

    def _poll(self) -> None:
        while not self.stop.wait(0.5):
            self._refresh()

    def __enter__(self) -> "_Progress":
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        if self.enabled:
            self.thread.join()
            self._refresh()
        self.bar.close()


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """``sweep.json`` of a run folder, checked for the shape the commands read; ConfigError otherwise."""
    man, why = load_json(run_dir / "sweep.json")
    if man is None:
        raise ConfigError(f"{run_dir}/sweep.json {'is unreadable: ' + why if why else 'not found'}: is {run_dir} "
                          "a sweep run folder?")
    points = man.get("points")
    ok = (isinstance(points, list) and isinstance(man.get("axes"), dict) and isinstance(man.get("config"), str)
          and isinstance(man.get("overrides"), list)
          and all(isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("args"), list)
                  and isinstance(e.get("overrides"), dict) and re.fullmatch(r"points/[A-Za-z0-9-]+\.json", e["file"])
                  for e in points))
    ran = man.get("launcher", {"name": "basic", "settings": []})  # (older manifests do not record it)
    ok = ok and isinstance(ran, dict) and ran.get("name") in LAUNCHERS and isinstance(ran.get("settings"), list) \
        and all(isinstance(t, str) for t in ran["settings"])
    if not ok:
        raise ConfigError(f"{run_dir}/sweep.json is not a sweep manifest convexdual wrote (edited or corrupt)")
    return man


def _key(entry: dict[str, Any]) -> str:
    return Path(entry["file"]).stem


def run_planned_point(run_dir: Path, index: int, sweep_id: str | None = None) -> str:
    """Solve point ``index`` of the manifest in ``run_dir`` unless done; write its file and the table.

    This is what every launcher's job runs; it never raises for a failing solve. ``sweep_id`` (the
    identity hash the job was launched for) must match the manifest's.
    """
    man = read_manifest(run_dir)
    if sweep_id is not None and man.get("identity_sha256") != sweep_id:
        raise ConfigError(f"{run_dir}/sweep.json now belongs to another sweep; this job's point is not run")
    if not 0 <= index < len(man["points"]):
        raise ConfigError(f"{run_dir}/sweep.json has no point {index}")
    entry = man["points"][index]
    relpath, check = entry["file"], point_check(_key(entry))
    on_disk = read_record(run_dir, relpath, check)
    if on_disk is not None and on_disk["status"] == "ok":
        return "ok"
    try:
        point = Point(entry["overrides"], entry["args"], load_config(man["config"], entry["args"]), None)
    except ConfigError as exc:
        point = Point(entry["overrides"], entry["args"], None, f"ConfigError: {first_line(exc)}")
    if point.key != _key(entry):
        raise ConfigError(f"{man['config']} changed after the sweep in {run_dir} was planned (point {_key(entry)} "
                          f"now has config {point.key}); run the sweep again to plan it anew")
    record = run_point(point, {"versions": versions(), "git_revision": git_revision()})
    written = write_record(run_dir, relpath, record, check)  # never replaces a result finished meanwhile
    write_table(run_dir)
    return str(written["status"])


def sweep_status(run_dir: Path) -> dict[str, Any]:
    """Counts of done / failed / invalid / pending points, from the manifest and the point files
    (read-only: invalid files are counted, not moved). A point without a file that was submitted to
    SLURM (``submissions.json``) is ``queued`` or ``running`` when ``squeue`` still lists its task,
    else ``lost`` (its job ended without writing it: ``sacct`` says how, when it can); one never
    submitted is ``not_submitted``; when SLURM cannot be asked the submitted ones are ``unknown``.
    ``pending`` counts them all: the points neither done nor failed."""
    man = read_manifest(run_dir)
    arrays = read_submissions(run_dir)
    tasks, live, error = _scheduler_view(arrays)
    ids = {a["name"]: a["job_id"] for a in arrays}
    names = sorted({name for name, _ in tasks.values()})
    ended = ended_tasks(names) if names and error is None else {}
    counts = dict.fromkeys(("done", "failed", "queued", "running", "lost", "not_submitted", "unknown"), 0)
    failures, invalid, lost = [], [], []
    for e in man["points"]:
        record, why = verify(run_dir, e["file"], point_check(_key(e)))
        if record is None and why is not None:
            invalid.append({"overrides": e["overrides"], "file": e["file"], "reason": why})
        task = tasks.get(e["file"])
        if record is not None and record["status"] == "ok":
            state = "done"
        elif task in live:
            state = live[task]
        elif record is not None:
            state = "failed"
            failures.append({"overrides": e["overrides"], "error": record["error"]})
        elif task is None:
            state = "not_submitted"
        elif error is not None:
            state = "unknown"
        else:
            state = "lost"
            lost.append({"overrides": e["overrides"], "file": e["file"], "array": task[0], "task": task[1],
                         "slurm_job": f"{ids[task[0]]}_{task[1]}" if ids.get(task[0]) else None,
                         "slurm_state": ended.get(task)})
        counts[state] += 1
    ran = man.get("launcher", {"name": "basic", "settings": []})  # (checked by read_manifest)
    resume = resume_command(man["config"], run_dir, man["overrides"], ran["name"], ran["settings"])
    total = len(man["points"])
    return {"total": total, "done": counts["done"], "failed": counts["failed"], "invalid": len(invalid),
            "pending": total - counts["done"] - counts["failed"], "failures": failures, "invalid_files": invalid,
            "resume": resume, **{k: counts[k] for k in ("queued", "running", "lost", "not_submitted", "unknown")},
            "lost_points": lost, "scheduler": {"arrays": names, "error": error,
                                               "in_queue": sorted({name for name, _ in live})}}


def write_table(run_dir: Path) -> None:
    """Rewrite ``table.csv`` from the manifest's planned points whose files pass their checks."""
    man = read_manifest(run_dir)
    axes = list(man["axes"])
    rows = [row for e in man["points"] for row in _point_rows(run_dir, e, axes)]
    atomic_write_text(run_dir / "table.csv", render_rows(rows, axes), overwrite=True)


_ROWS: dict[tuple[str, tuple[str, ...]], tuple[tuple[int, int, int], list[dict[str, Any]]]] = {}


def _point_rows(run_dir: Path, entry: dict[str, Any], axes: list[str]) -> list[dict[str, Any]]:
    """The table rows of one planned point (none when its file is missing or fails its check),
    remembered in this process while the file stays the same (inode, size, modification time):
    the table is rewritten after every point, each file is verified once."""
    path = run_dir / entry["file"]
    try:
        info = path.stat()
    except OSError:
        return []
    key, stamp = (str(path.resolve()), tuple(axes)), (info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _ROWS or _ROWS[key][0] != stamp:
        record = verify(run_dir, entry["file"], point_check(_key(entry)))[0]
        _ROWS[key] = (stamp, table_rows(record, axes) if record is not None else [])
    return _ROWS[key][1]


def _describe(point: Point) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.overrides.items()) or point.key


__all__ = ["Plan", "Point", "SweepSummary", "plan_sweep", "run_sweep", "expand", "split_overrides",
           "axis_values", "combine_axes", "format_value", "override_for", "render_table", "table_rows",
           "table_columns", "connectivity_width", "run_point", "point_check", "manifest", "sweep_status"]
