"""Command line: thin wrappers over the pipeline. Logs go to stderr; ``--json`` output to stdout.

Every failure prints one line ``error: ...`` to stderr and exits with the code of its class in the
error table (:mod:`convexdual.errors`): 2 bad input, 3 solver, 4 uncertifiable, 5 resource limit,
6 run folder busy, 70 internal error (the traceback goes to a log file the line names), 130/143
interrupted. Usage errors (unknown options, missing arguments) are one line with exit code 2 too.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import click
import numpy as np

from . import shipped_configs
from .errors import (EXIT_INTERNAL, EXIT_PIPE, EXIT_POINTS_FAILED, EXIT_SIGINT, CertificateError, ConfigError,
                     Terminated, classify, first_line)

log = logging.getLogger("convexdual")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(message)s")
    log.setLevel(logging.INFO if verbose else logging.WARNING)


def crash_log(exc: BaseException) -> Path | None:
    """Write the traceback of an unexpected exception to a new log file in the temporary folder."""
    try:
        fd, name = tempfile.mkstemp(prefix=f"convexdual-crash-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".log")
        with os.fdopen(fd, "w") as fh:
            fh.write(f"convexdual {' '.join(sys.argv[1:])}\n\n")
            fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    except OSError:
        return None
    return Path(name)


def fail(exc: BaseException) -> None:
    """Print the one line of ``exc`` and exit with its code (internal errors: log the traceback;
    a closed stdout: exit quietly)."""
    known = classify(exc)
    if known is None:
        where = crash_log(exc)
        log_note = f"the traceback is in {where}" if where else "no log could be written"
        code, message = EXIT_INTERNAL, (f"internal error (a bug in convexdual): {type(exc).__name__}: "
                                        f"{first_line(exc)}; please report it with the command you ran; {log_note}")
    else:
        code, message = known
    if code == EXIT_PIPE:  # nothing more can be written to stdout; keep the interpreter from trying
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


class Commands(click.Group):
    """The command group: every exception of a command, and every usage error, becomes one line."""

    def invoke(self, ctx: click.Context) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _sigterm)  # SIGTERM ends every command like Ctrl-C: one line, 143
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the edge where every failure is mapped
            fail(exc)
        except KeyboardInterrupt as exc:
            fail(exc)

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_SIGINT)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=Commands)
@click.version_option(package_name="convexdual")
def main() -> None:
    """Exact loss landscapes of weight-decay-regularized ReLU networks via convex duality."""


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the JSON result here (never overwrites).")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def solve(config_path: str, as_json: bool, out: str | None, verbose: bool, overrides: tuple[str, ...]) -> None:
    """Solve one instance: certified optimum, optimal polytope, m* and M*.

    OVERRIDES use Hydra syntax, e.g. ``beta=0.3 data.bias=true``.
    """
    from .config import load_config
    from .pipeline import solve as run
    from .results import atomic_write_text, dumps
    from .runs import writable_file

    _setup_logging(verbose)
    cfg = load_config(config_path, overrides)
    if out:
        writable_file(Path(out))
    result = run(cfg)
    text = dumps(result.to_dict())
    if out:
        atomic_write_text(out, text + "\n")
    if as_json:
        click.echo(text)
    else:
        click.echo(summary(result.to_dict()))


def _certify_other(cfg: Any, weights: str, as_json: bool) -> None:
    """certify for vector-output and parallel three-layer networks (certify.py)."""
    from .certify import certify_parallel, certify_vector
    from .pipeline import certified_solve as run
    from .results import PARALLEL_LAYOUT, VECTOR_LAYOUT, dumps, load_arrays

    result = run(cfg)
    X = result.data.X
    if cfg.outputs > 1:
        arrays, h = load_arrays(weights, {"W": 2, "a": 2}, VECTOR_LAYOUT)
        W, A = arrays["W"], arrays["a"]
        if W.shape[1] != X.shape[1] or A.shape != (W.shape[0], cfg.outputs):
            raise ConfigError(f"{weights}: need W (m, {X.shape[1]}) and a (m, {cfg.outputs}), got {W.shape}, {A.shape}")
        out = certify_vector(W, A, X, result.data.targets, beta=cfg.beta, p_star=result.p_star, tol=cfg.certify,
                             time_limit_s=cfg.oracle_time_limit_s)
        width = W.shape[0]
    else:
        arrays, h = load_arrays(weights, {"W": 3, "v": 2, "a": 1}, PARALLEL_LAYOUT)
        W, v, a = arrays["W"], arrays["v"], arrays["a"]
        K, d, m1 = W.shape
        if d != X.shape[1] or v.shape != (K, m1) or a.shape != (K,):
            raise ConfigError(f"{weights}: need W (K, {X.shape[1]}, m1), v (K, m1), a (K,); got {W.shape}, {v.shape}, "
                              f"{a.shape}")
        out = certify_parallel(W, v, a, X, result.data.y, beta=cfg.beta, p_star=result.p_star,
                               directions=result.directions.directions, tol=cfg.certify)
        width = K
    out = {**out, "width": int(width), "weights": weights, "config_hash": cfg.hash(), "weights_config_hash": h}
    if as_json:
        click.echo(dumps(out))
        return
    click.echo(f"{weights}: {out['classification']} (width {width})")
    click.echo(f"  objective {out['objective']:.12g}, p* {out['p_star']:.12g}, gap {out['gap']:.3g}")
    if "dual_max" in out:
        click.echo(f"  dual constraint max {out['dual_max']:.6g} vs beta {cfg.beta:g} "
                   f"(violation {out['dual_violation']:.3g})")
    if out.get("max_direction_distance") is not None:
        click.echo(f"  used first-layer directions: {len(out['used_first_layer_directions'])}, largest distance to "
                   f"the dual's direction set {out['max_direction_distance']:.3g}")


def _scalar_only(cfg: Any, command: str) -> None:
    """Vector-output and three-layer configs run through solve, sweep, plot, figures and certify;
    the other commands handle the scalar two-layer network only."""
    if cfg.outputs > 1:
        raise ConfigError(f"convexdual {command} handles scalar outputs only (model.outputs = 1); "
                          f"this config has model.outputs = {cfg.outputs}")
    if cfg.architecture != "two_layer":
        raise ConfigError(f"convexdual {command} handles two-layer networks only; this config has "
                          f"model.architecture = {cfg.architecture}")


def summary(r: dict[str, Any]) -> str:
    """A short human-readable account of a result."""
    c = r["certificates"]
    if r.get("certified") is False:
        lo, hi = r["p_star_bounds"]
        o = r["patterns"]["oracle"]
        return "\n".join([
            f"{r['name']}: {r['problem']}{', beta=' + format(r['beta'], 'g') if r['beta'] is not None else ''}, "
            f"n={r['n']}, d={r['d']}: NOT CERTIFIED (the exact dual oracle ran out of oracle.time_limit_s)",
            f"  p*            in [{lo:.10g}, {hi:.10g}] (gap {hi - lo:.3g}, relative {c['relative_duality_gap']:.2g})",
            f"  oracle        every cell's dual value proven <= {o['upper'] / (r['beta'] or 1.0):.6g} x the bound; "
            f"{r['patterns']['count']} patterns, {o['rounds']} rounds, {o['nodes']} nodes, {o['seconds']:.1f} s",
            "  optimal set   not computed (it needs a certified dual optimum)",
        ])
    if r.get("architecture") == "parallel_three_layer":
        return "\n".join([
            f"{r['name']}: parallel three-layer ReLU network, regression, beta={r['beta']:g}, n={r['n']}, d={r['d']}",
            f"  patterns      {r['patterns']['count']} first-layer cells, {r['patterns']['second_layer_patterns']} "
            "second-layer patterns",
            f"  p*            {r['p_star']:.10g}",
            f"  first layer   {len(r['first_layer_directions'])} directions fixed by the dual optimum",
            f"  network       {r['branches_used']} branches, first-layer width {r['hidden_needed']}",
            f"  solver        {r['solver']['name']} ({r['solver']['status']}, {r['solver']['time_s']:.2f} s, "
            f"tol {r['solver']['tolerance']:.0e})",
            f"  certificates  duality gap {c['duality_gap']:.1e}, dual violation {c['dual_violation']:.1e}, "
            f"reconstruction gap {c['reconstruction_gap']:.1e}",
        ])
    m_star = f"= {r['m_star']}" if r["m_star"] is not None else f"in {r['m_star_bounds']} (MILP time limit)"
    M_star = f"= {r['M_star']}" if r["M_star"] is not None else f"in {r['M_star_bounds']}"
    nv = r["n_vertices"] if r["n_vertices"] is not None else "not enumerated"
    beta = f", beta={r['beta']:g}" if r["beta"] is not None else ""
    lines = [
        f"{r['name']}: {r['problem']}{beta}, n={r['n']}, d={r['d']}"
        f"{', c=' + str(r['output_dim']) + ' outputs' if r.get('output_dim', 1) > 1 else ''}"
        f" ({r['config']['data']['kind']} data"
        f"{', bias' if r['config']['data']['bias'] else ''}{', skip' if r['config']['model']['skip'] else ''})",
        f"  patterns      {r['patterns']['count']} ({r['patterns']['mode']}{_oracle_note(r['patterns'])})",
        f"  p*            {r['p_star']:.10g}",
        f"  directions    {len(r['directions'])} active (deduplicated features)",
        f"  polytope      dimension {r['polytope_dim']}, vertices: {nv}",
        f"  critical      m* {m_star}, M* {M_star}",
        f"  solver        {r['solver']['name']} ({r['solver']['status']}, {r['solver']['solves']} solves, "
        f"{r['solver']['time_s']:.2f} s, tol {r['solver']['tolerance']:.0e})",
        f"  certificates  duality gap {c['duality_gap']:.1e}, dual violation {c['dual_violation']:.1e}, "
        f"active margin {c['active_margin']:.1e}, reconstruction gap {c['reconstruction_gap']:.1e}",
    ]
    if r["vertex_cardinalities"] is not None:
        lines.insert(5, f"  cardinalities {_counts(r['vertex_cardinalities'])}")
    if r["enumeration"].startswith("not"):
        lines.append(f"  note          vertices {r['enumeration']}")
    if r.get("staircase_bounds"):
        lines.append(f"  staircase     {_bounds_line(r['staircase_bounds'])}")
    return "\n".join(lines)


def _oracle_note(p: dict[str, Any]) -> str:
    """How the exact oracle certified the patterns it did not list (patterns: oracle)."""
    o = p.get("oracle")
    if not o:
        return ""
    return (f": {p['count'] - o['cells_added']} sampled + {o['cells_added']} found by the exact dual oracle, which proved every other "
            f"cell of the {p['general_position_count']:.3g} below {o['outside']:.6g}; {o['rounds']} rounds, "
            f"{o['nodes']} nodes, {o['seconds']:.1f} s")


def _bounds_line(rows: list[dict]) -> str:
    """One line of what Theorem 2 settles from the m*, M* bounds (widths.phase_bounds rows)."""
    def first(key: str) -> int | None:  # the first width where ``key`` is True
        return next((row["from_m"] for row in rows if row[key] is True), None)

    no_isolated = next((row["from_m"] for row in rows if row["optimal"] is True and row["some_isolated"] is False), None)
    line = (f"(bounds, Theorem 2) optimal from m = {first('optimal')}, no isolated point from m = {no_isolated}, "
            f"connected from m = {first('connected')}")
    if rows[0]["optimal"] is False:
        line += f"; none optimal below m = {rows[0]['to_m'] + 1}"
    return line


def _counts(cards: list[int]) -> str:
    from collections import Counter

    return ", ".join(f"{k} nonzeros x{v}" for k, v in sorted(Counter(cards).items()))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def solvers(as_json: bool) -> None:
    """Which solvers work here, and the MOSEK license state."""
    from .results import dumps
    from .solvers import resolve_solver, solver_report

    rows = solver_report()
    auto = resolve_solver("auto")
    if as_json:
        click.echo(dumps({"solvers": rows, "auto": auto}))
        return
    for row in rows:
        state = "works" if row["works"] else "unavailable"
        click.echo(f"{row['solver']:9s} {state:12s} {row['detail']}")
    click.echo(f"auto -> {auto}")


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="outputs/figures", show_default=True)
@click.option("--only", type=click.Choice(["example1", "staircase", "value", "phase", "uniqueness", "vector", "three_layer", "train",
                                  "paths"]),
              multiple=True,
              help="Regenerate only these figures (default: all).")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Bars on stderr: one over the figure groups, one per figure sweep (points done, skipped = on disk).")
@click.option("--large", is_flag=True, help="Also the larger phase diagrams (d = 3, n up to 100; a few more minutes).")
def figures(out_dir: str, only: tuple[str, ...], verbose: bool, progress: bool, large: bool) -> None:
    """Regenerate every paper figure (and the example results) into OUT.

    Figure sweeps are cached under OUT/runs and resume; figure files are replaced.
    """
    from .figures import regenerate_all

    _setup_logging(verbose)
    for path in regenerate_all(Path(out_dir), configs_dir=shipped_configs(), only=set(only) or None, progress=progress,
                               large=large):
        click.echo(str(path))


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--x", "x", default=None, help="Horizontal: m (= width), m/n, or a sweep column.")
@click.option("--y", "y", default=None,
              help="Rows of a regime map (a sweep axis such as beta or n), or a result column for a line plot "
                   "(m_star, M_star, connectivity_width, polytope_dim, ...).")
@click.option("--hue", default=None, help="One line per value of this column (line plots).")
@click.option("--col", default=None, help="One panel per value of this column.")
@click.option("--row", default=None, help="One row of panels per value of this column (regime maps).")
@click.option("--agg", type=click.Choice(["fraction", "median", "mean"]), default="fraction", show_default=True,
              help="Over seeds: the regime most seeds share with its share (fraction), the median regime or "
                   "value (median), or the mean value (mean, line plots).")
@click.option("--format", "fmt", type=click.Choice(["png", "pdf", "svg"]), multiple=True,
              help="Figure formats (repeatable; default png and pdf).")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Folder for the figures (default RUN_DIR/figures).")
def plot(run_dir: str, x: str | None, y: str | None, hue: str | None, col: str | None, row: str | None,
         agg: str, fmt: tuple[str, ...], out: str | None) -> None:
    """Draw the figures of a stored sweep (RUN_DIR/table.csv): by default the phase diagram and the
    regime map (the topology of the optimal set against width) into RUN_DIR/figures; with --x/--y/
    --hue/--col one figure of those columns."""
    from .figures import plot_run

    for path in plot_run(Path(run_dir), x=x, y=y, hue=hue, col=col, row=row, agg=agg,
                         formats=fmt or ("png", "pdf"), out=Path(out) if out else None):
        click.echo(str(path))


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config with a `sweep:` block.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run directory (default outputs/<config name>).")
@click.option("--launcher", type=click.Choice(["basic", "joblib", "slurm"]), default="basic", show_default=True,
              help="basic: in this process; joblib: local parallel; slurm: a SLURM job array (submitit).")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None, help="Parallel jobs for --launcher joblib.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def sweep(config_path: str, out_dir: str | None, launcher: str, jobs: int | None, no_progress: bool, verbose: bool,
          overrides: tuple[str, ...]) -> None:
    """Run every point of a sweep; skip points already done; write one result file per point and a table.

    OVERRIDES use Hydra syntax; sweeps as ``beta=0.01,0.1,1`` or ``data.seed=range(0,10)``. Launcher
    settings go among them too (``partition=cpu timeout_min=30``, or ``hydra.launcher.KEY=VALUE``).
    """
    from .sweep import run_sweep

    _setup_logging(verbose)
    summary = run_sweep(Path(config_path), list(overrides), Path(out_dir) if out_dir else None,
                        progress=not no_progress, launcher=launcher, jobs=jobs, configs_dir=shipped_configs())
    click.echo(f"{summary.run_dir}: {summary.done} done ({summary.skipped} already on disk), "
               f"{summary.failed} failed or missing; table {summary.table_path}")
    if summary.failed:
        sys.exit(EXIT_POINTS_FAILED)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(run_dir: str, as_json: bool) -> None:
    """Done / failed / pending points of a sweep, read from its result files (not from the scheduler)."""
    from .results import dumps
    from .sweep import sweep_status

    st = sweep_status(Path(run_dir))
    if as_json:
        click.echo(dumps(st))
        return
    invalid = f" ({st['invalid']} of them with a file that fails its check)" if st["invalid"] else ""
    click.echo(f"{run_dir}: {st['total']} points: {st['done']} done, {st['failed']} failed, {st['pending']} "
               f"pending{invalid}")
    for row in st["failures"]:
        click.echo(f"  failed  {row['overrides']}: {row['error']}")
    for row in st["invalid_files"]:
        click.echo(f"  invalid {row['file']}: {row['reason']} (the next sweep recomputes it)")
    if st["pending"]:
        click.echo(f"  resume with: {st['resume']}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def uniqueness(config_path: str, as_json: bool, verbose: bool, overrides: tuple[str, ...]) -> None:
    """Is the optimal (e.g. minimum-norm interpolating) function unique? Answer with the proof."""
    from .config import load_config
    from .pipeline import certified_solve as run
    from .results import dumps
    from .uniqueness import analyse

    _setup_logging(verbose)
    cfg = load_config(config_path, overrides)
    _scalar_only(cfg, "uniqueness")
    result = run(cfg)
    u = analyse(result)
    if as_json:
        click.echo(dumps({"name": cfg.name, "p_star": result.p_star, **u.as_dict()}))
        return
    verdict = "UNIQUE" if u.unique else "NOT UNIQUE"
    click.echo(f"{cfg.name}: {cfg.problem}, bias={cfg.data.bias}, skip={cfg.skip}: the optimal function is {verdict}")
    click.echo(f"  optimal polytope dimension {u.polytope_dim}; dimension of the set of optimal functions {u.function_dim}")
    for k, net in enumerate(u.networks):
        click.echo(f"  network {k + 1}: width {net['width']}, objective {net['objective']:.12g}, "
                   f"max residual on data {net['max_residual_on_data']:.1e}")
    where = u.evaluation
    span = where.get("interval", [where.get("low"), where.get("high")])
    click.echo(f"  largest difference between two optimal functions on {where['kind']} {span}: "
               f"{u.max_function_difference:.6g}")
    p = u.perturbation
    click.echo(f"  check: moving {p['moved']:.3g} inside P* changes the fit by {p['fit_change']:.1e} and the "
               f"objective by {p['objective_change']:.1e}")


@main.command()
@click.option("--n", "n", type=click.IntRange(1, 10), default=None, help="Number of data points (1 to 10).")
@click.option("--d", "d", type=click.IntRange(1, 5), default=None, help="Input dimension (before the bias column; 1 to 5).")
@click.option("--bias/--no-bias", default=True, show_default=True, help="Penalized bias.")
@click.option("--skip/--no-skip", default=False, show_default=True, help="Free skip connection.")
@click.option("--trials", type=click.IntRange(1, 100_000), default=None,
              help="Data sets to try (default 200), or members to construct (default 5).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True)
@click.option("--construct", is_flag=True,
              help="Instead of searching, construct random members of the family of 5 one-dimensional points "
                   "(penalized bias, no skip) with non-unique interpolators, and prove each with the uniqueness "
                   "analysis.")
@click.option("--save", "save_dir", type=click.Path(file_okay=False), default=None,
              help="Write each non-unique instance found as a config here (never overwrites).")
def search(n: int | None, d: int | None, bias: bool, skip: bool, trials: int | None, seed: int, construct: bool,
           save_dir: str | None) -> None:
    """Search data sets for non-unique minimum-norm interpolators (in function space), or --construct them."""
    from .runs import writable_folder
    from .uniqueness import search as run_search

    if construct:
        if n not in (None, 5) or d not in (None, 1) or not bias or skip:
            raise click.UsageError("--construct builds n = 5, d = 1 with a bias and no skip; drop the other options")
        n, d = 5, 1
    elif n is None or d is None:
        raise click.UsageError("--n and --d are required (or --construct)")
    if save_dir:
        writable_folder(Path(save_dir), keep=False)
    if construct:
        _construct(trials or 5, seed, save_dir)
        return
    found, counts = run_search(n, d, bias, skip, trials or 200, seed)
    click.echo(f"n={n} d={d} bias={bias} skip={skip}: tried {counts['tried']}, unique {counts['unique']} "
               f"({counts['parametric_only']} with a non-singleton P* realizing one function), non-unique "
               f"{counts['non_unique']}, unclear (difference below 1e-3 of |y|) {counts['unclear']}, "
               f"no interpolating network {counts['infeasible']}, not certified {counts['failed']}")
    for k, f in enumerate(sorted(found, key=lambda f: -f.max_function_difference)):
        click.echo(f"  [{k}] dim P* {f.polytope_dim}, function dim {f.function_dim}, max difference "
                   f"{f.max_function_difference:.4g} ({f.source}): X={f.X} y={f.y}")
        if save_dir:
            path = Path(save_dir) / f"nonunique_n{n}_d{d}_{'bias' if bias else 'nobias'}_{'skip' if skip else 'noskip'}_{k}.yaml"
            _save_config(path, {"name": path.stem, "problem": "interpolation", "model": {"skip": skip},
                                "data": {"kind": "points", "X": f.X, "y": f.y, "bias": bias}})


def _save_config(path: Path, raw: dict) -> None:
    import yaml

    from .results import atomic_write_text

    click.echo(f"      saved {atomic_write_text(path, yaml.safe_dump(raw, sort_keys=False))}")


def _construct(count: int, seed: int, save_dir: str | None) -> None:
    """Members of the constructed family, each with its proof from the certified solve."""
    from .uniqueness import CLEAR_DIFFERENCE, construct, construction_config

    proved = 0
    for k, (member, result, u) in enumerate(construct(count, seed)):
        ok = (not u.unique) and u.max_function_difference >= CLEAR_DIFFERENCE * max(1.0, float(abs(member.y).max()))
        proved += ok
        click.echo(f"  [{k}] angles {np.round(member.angles, 6).tolist()}: p* {result.p_star:.10g} (constructed "
                   f"{member.p_star:.10g}), dim P* {u.polytope_dim}, function dim {u.function_dim}, max difference "
                   f"{u.max_function_difference:.4g}: {'NOT unique (proved)' if ok else 'not proved'}")
        if save_dir:
            path = Path(save_dir) / f"example2_constructed_seed{seed}_{k}.yaml"
            _save_config(path, construction_config(member, path.stem))
    click.echo(f"constructed {count}, proved non-unique {proved}")
    if proved < count:
        raise CertificateError(f"{count - proved} constructed members were not proved non-unique")


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--width", "width_text", required=True, help="Width(s) m: 6, 1-8 or 1-4,6.")
@click.option("--seeds", "seed_text", default="0-19", show_default=True, help="Seeds: 0-19 or 0,3,7.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run directory (default outputs/train/<name>-<hash>); resumes what is there.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def train(config_path: str, width_text: str, seed_text: str, out_dir: str | None, no_progress: bool, verbose: bool,
          overrides: tuple[str, ...]) -> None:
    """Train width-m networks of (P_m) for several seeds and classify each against p*.

    Training settings are config keys (train.optimizer=adam|gd, train.lr, train.max_iter, ...);
    certificate tolerances are certify.gap and certify.stationary.
    """
    from .config import load_config
    from .nonconvex_figures import training_figure
    from .figure_files import save_figure
    from .trainrun import parse_range, run_training, width_summary

    _setup_logging(verbose)
    cfg = load_config(config_path, overrides)
    _scalar_only(cfg, "train")
    cap = cfg.limits.train_networks
    widths, seeds = parse_range(width_text, "--width", cap), parse_range(seed_text, "--seeds", cap)
    if widths[0] < 1:
        raise ConfigError("--width: widths must be at least 1")
    s = run_training(cfg, widths, seeds, Path(out_dir) if out_dir else None, progress=not no_progress)
    info = s.info
    click.echo(f"{cfg.name}: p* = {info['p_star']:.12g}, m* = {info['m_star']}, M* = {info['M_star']}, "
               f"n = {info['n']}; {len(s.rows)} networks ({s.done_before} already on disk) in {s.run_dir}")
    for w in width_summary(s.rows):
        gaps = w["other_gaps"]
        others = f"; others' gap {min(gaps):.3g} .. {max(gaps):.3g}" if gaps else ""
        diverged = f", {w['diverged']} diverged" if w["diverged"] else ""
        click.echo(f"  m = {w['width']}: {w['global']}/{w['seeds']} global optimum, {w['stationary_not_global']} "
                   f"stationary not global, {w['not_stationary']} not stationary{diverged}{others}; "
                   f"{w['seconds']:.2f} s")
    fig = training_figure([(s.rows, info, f"{cfg.name}: fraction of seeds at the global optimum")])
    for path in save_figure(fig, s.run_dir, "train_success", (
            f"Training {cfg.name}: fraction of seeds certified globally optimal per width, and the gap of the "
            "others; m* and n + 1 marked.")):
        click.echo(f"  {path}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--weights", required=True, type=click.Path(dir_okay=False), help="Network .npz (W, a[, z]).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def certify(config_path: str, weights: str, as_json: bool, verbose: bool, overrides: tuple[str, ...]) -> None:
    """Is this network a global optimum of (P_m)? Gap to p*, dual feasibility of its residual, class."""
    from .certify import certify as run_certify
    from .config import load_config
    from .pipeline import Network
    from .pipeline import certified_solve as run
    from .results import dumps, load_network
    from .solvers import resolve_solver

    _setup_logging(verbose)
    cfg = load_config(config_path, overrides)
    if cfg.problem != "regression":
        raise ConfigError("certify needs problem: regression")
    if cfg.outputs > 1 or cfg.architecture != "two_layer":
        _certify_other(cfg, weights, as_json)
        return
    result = run(cfg)
    W, a, z, h = load_network(weights, result.data.X.shape[1], cfg.skip)
    if h is not None and h != cfg.hash():
        log.warning("warning: %s was saved for config %s, this config is %s", weights, h, cfg.hash())
    cert = run_certify(Network(W=W, a=a, z=z), result.data.X, result.data.y, result.patterns.D, beta=cfg.beta,
                       skip=cfg.skip, p_star=result.p_star, solver=resolve_solver(cfg.solver), tol=cfg.certify,
                       solver_tol=cfg.tol.solver, every_cell=result.patterns.mode != "oracle")
    out = {**cert.as_dict(), "width": int(a.shape[0]), "weights": weights, "config_hash": cfg.hash(),
           "weights_config_hash": h}
    if as_json:
        click.echo(dumps(out))
        return
    click.echo(f"{weights}: {cert.classification} (width {a.shape[0]}, {cert.neurons} live neurons)")
    click.echo(f"  objective {cert.objective:.12g}, p* {cert.p_star:.12g}, gap {cert.gap:.3g}")
    click.echo(f"  dual constraint max {cert.dual_max:.6g} vs beta {cfg.beta:g} (violation {cert.dual_violation:.3g})")
    if cert.restricted_objective is not None:
        click.echo(f"  optimum over its own activation patterns {cert.restricted_objective:.12g}")
    if cert.violating_direction is not None:
        v = cert.violating_direction
        click.echo(f"  most violating direction u = {np.round(v['w'], 6).tolist()}, sign {v['sign']:+d}, "
                   f"value {v['value']:.6g}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--from", "from_path", required=True, type=click.Path(dir_okay=False), help="Start network .npz.")
@click.option("--to", "to_path", default=None, type=click.Path(dir_okay=False),
              help="Goal network .npz (a global optimum; default: the m* network padded to the same width).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Where to write path.json, profile.csv and the figure (default outputs/paths/<from>_to_<to>).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def path(config_path: str, from_path: str, to_path: str | None, out_dir: str | None, as_json: bool, verbose: bool,
         overrides: tuple[str, ...]) -> None:
    """A path between two networks: inside the optimal set when both are global optima (or the barrier
    of the straight line when the staircase separates them); otherwise, from width n + 1 on, a path of
    nonincreasing objective to the goal. The objective is evaluated at every sample."""
    from .certify import certify as run_certify
    from .config import load_config
    from .figure_files import save_figure
    from .nonconvex_figures import path_figure, split_network
    from .paths import descent_path, landscape, optimal_path
    from .pipeline import Network
    from .pipeline import certified_solve as run
    from .results import atomic_write_text, dumps, load_network
    from .runs import safe_name, writable_folder

    _setup_logging(verbose)
    cfg = load_config(config_path, overrides)
    _scalar_only(cfg, "path")
    stem = safe_name(f"{Path(from_path).stem}_to_{Path(to_path).stem if to_path else 'mstar'}")
    target = Path(out_dir) if out_dir else Path("outputs") / "paths" / stem
    if target.is_dir() and any(target.iterdir()):
        raise ConfigError(f"{target} exists and is not empty; refusing to overwrite it (choose --out)")
    writable_folder(target, keep=False)
    result = run(cfg)
    land = landscape(result)
    d = result.data.X.shape[1]
    start = Network(*load_network(from_path, d, cfg.skip)[:3])
    if to_path:
        goal = Network(*load_network(to_path, d, cfg.skip)[:3])
    else:
        goal = split_network(result, result.widths.m_star_vertex, start.width)
    kw = dict(beta=cfg.beta, skip=cfg.skip, p_star=result.p_star, solver=land.solver, tol=cfg.certify,
              solver_tol=cfg.tol.solver)
    if run_certify(goal, land.X, land.y, land.D, **kw).classification != "global_optimum":
        raise ConfigError(f"the goal network {to_path or '(m* network)'} is not a certified global optimum")
    start_class = run_certify(start, land.X, land.y, land.D, **kw).classification
    p = optimal_path(land, start, goal) if start_class == "global_optimum" else descent_path(land, start, goal)
    summary = {"from": from_path, "to": to_path, "start_classification": start_class, "width": start.width,
               **p.summary(result.p_star), "moves_in_order": p.moves}
    rows = "sample,objective\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(p.objective))
    atomic_write_text(target / "profile.csv", rows)
    atomic_write_text(target / "path.json", dumps(summary) + "\n")
    fig = path_figure([(p, result.p_star, f"{cfg.name}, width {start.width}: {p.verdict}")])
    written = save_figure(fig, target, "path", f"Objective along the path from {from_path} to "
                                                f"{to_path or 'the m* network'} ({p.verdict}); moves shaded.")
    if as_json:
        click.echo(dumps(summary))
        return
    s = summary
    click.echo(f"{p.verdict}: {s['samples']} samples, moves {s['moves']}; objective {s['objective_start']:.9g} -> "
               f"{s['objective_end']:.9g} (p* {result.p_star:.9g}); max above p* {s['max_objective_minus_p_star']:.3g}, "
               f"largest step up {s['max_increase']:.3g}")
    for f in written:
        click.echo(f"  {f}")


@main.command()
@click.option("--d", "d_text", default="2,3", show_default=True, help="Input dimensions.")
@click.option("--n", "n_text", default="10,20,40,80,160,200", show_default=True, help="Numbers of points.")
@click.option("--beta", type=float, default=0.05, show_default=True)
@click.option("--timeout", "timeout_s", type=float, default=240.0, show_default=True,
              help="Seconds per (pipeline, instance); a pipeline that hits it skips larger n.")
@click.option("--polytope-limit", "limits", type=float, default=10.0, show_default=True,
              help="Time limit (s) of the vertex search and of the m* MILP (bounds are reported beyond it).")
@click.option("--pipelines", default="baseline,convexdual", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Directory for table.csv, bench.json and the figure (default outputs/bench/<time>).")
def bench(d_text: str, n_text: str, beta: float, timeout_s: float, limits: float, pipelines: str,
          out_dir: str | None) -> None:
    """Time convexdual against the standard pipeline on gaussian instances (per stage, peak memory, ratios)."""
    import time as _time

    from .bench import bench_figure, machine, run_bench
    from .runs import RunFolder
    from .trainrun import parse_range

    pipes = [p.strip() for p in pipelines.split(",") if p.strip()]
    if not pipes or any(p not in ("baseline", "convexdual") for p in pipes):
        raise ConfigError(f"--pipelines: choose from baseline, convexdual (got {pipelines!r})")
    out = Path(out_dir) if out_dir else Path("outputs") / "bench" / _time.strftime("%Y%m%d-%H%M%S")
    for option, value in (("--beta", beta), ("--timeout", timeout_s), ("--polytope-limit", limits)):
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{option} must be a positive number, got {value}")
    ds, ns = parse_range(d_text, "--d", 20, high=20), parse_range(n_text, "--n", 100, high=5000)
    settings = {"d": ds, "n": ns, "beta": beta, "timeout_s": timeout_s, "polytope_limit_s": limits, "pipelines": pipes}
    with RunFolder.open(out, "bench", settings, fresh=True, hint="refusing to overwrite it (choose another --out)"):
        m = machine()
        click.echo(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; results in {out}")
        rows = run_bench(ds, ns, beta, timeout_s, limits, out, pipes, echo=click.echo)
        for path in bench_figure(rows, out):
            click.echo(f"  {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
