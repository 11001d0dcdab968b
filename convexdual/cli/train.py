"""train and path: the nonconvex side, trained networks of (P_m) and paths between networks."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from .common import setup_logging


@click.command(context_settings={"ignore_unknown_options": True})
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
    from ..config import load_config
    from ..figures.files import save_figure
    from ..figures.nonconvex import training_figure
    from ..trainrun import parse_range, run_training, width_summary
    from ..variants import architecture_of

    setup_logging(verbose)
    cfg = load_config(config_path, overrides)
    architecture_of(cfg).require(cfg, "train")  # (run_training refuses the problem)
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


@click.command(context_settings={"ignore_unknown_options": True})
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
    from ..certify import certify as run_certify
    from ..config import load_config
    from ..figures.files import save_figure
    from ..figures.nonconvex import path_figure, split_network
    from ..network import Network
    from ..paths import descent_path, landscape, optimal_path
    from ..pipeline import certified_two_layer as run
    from ..results import atomic_write_text, dumps, load_network
    from ..runs import safe_name, writable_folder
    from ..variants import architecture_of

    setup_logging(verbose)
    cfg = load_config(config_path, overrides)
    architecture_of(cfg).require(cfg, "path")  # (paths.landscape refuses the problem)
    stem = safe_name(f"{Path(from_path).stem}_to_{Path(to_path).stem if to_path else 'mstar'}")
    target = Path(out_dir) if out_dir else Path("outputs") / "paths" / stem
    if target.is_dir() and any(target.iterdir()):
        raise ConfigError(f"{target} exists and is not empty; refusing to overwrite it (choose --out)")
    writable_folder(target, keep=False)
    result = run(cfg)
    land = landscape(result)
    d = result.data.X.shape[1]
    start = Network(*load_network(from_path, d, cfg.model.skip)[:3])
    if to_path:
        goal = Network(*load_network(to_path, d, cfg.model.skip)[:3])
    else:
        goal = split_network(result, result.widths.m_star_vertex, start.width)
    kw = dict(beta=cfg.beta, skip=cfg.model.skip, p_star=result.p_star, solver=land.solver, tol=cfg.certify,
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
