"""sweep and status: run every point of a sweep, and read where it stands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import shipped_configs
from ..errors import EXIT_POINTS_FAILED
from .common import setup_logging


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config with a `sweep:` block.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run directory (default outputs/<config name>).")
@click.option("--launcher", type=click.Choice(["basic", "joblib", "slurm"]), default="basic", show_default=True,
              help="basic: in this process; joblib: local parallel; slurm: a SLURM job array (submitit).")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None, help="Parallel jobs for --launcher joblib.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.option("-m", "--multirun", is_flag=True, help="Accepted as in Hydra; a sweep is always a multirun.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def sweep(config_path: str, out_dir: str | None, launcher: str, jobs: int | None, no_progress: bool, verbose: bool,
          multirun: bool, overrides: tuple[str, ...]) -> None:
    """Run every point of a sweep; skip points already done; write one result file per point and a table.

    OVERRIDES use Hydra syntax; sweeps as ``beta=0.01,0.1,1`` or ``data.seed=range(0,10)``. Launcher
    settings go among them too (``partition=cpu timeout_min=30``, or ``hydra.launcher.KEY=VALUE``), and
    so may the launcher itself (``hydra/launcher=submitit_slurm``, ``joblib``, ``basic``).
    """
    from ..sweep import run_sweep

    setup_logging(verbose)
    summary = run_sweep(Path(config_path), list(overrides), Path(out_dir) if out_dir else None,
                        progress=not no_progress, launcher=launcher, jobs=jobs, configs_dir=shipped_configs())
    click.echo(f"{summary.run_dir}: {summary.done} done ({summary.skipped} already on disk), "
               f"{summary.failed} failed or missing; table {summary.table_path}")
    if summary.failed:
        sys.exit(EXIT_POINTS_FAILED)


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(run_dir: str, as_json: bool) -> None:
    """Done / failed / pending points of a sweep, read from its result files (not from the scheduler);
    exit code 1 when a point failed."""
    from ..results import dumps
    from ..sweep import sweep_status

    st = sweep_status(Path(run_dir))
    if as_json:
        click.echo(dumps(st))
        if st["failed"]:
            sys.exit(EXIT_POINTS_FAILED)
        return
    invalid = f" ({st['invalid']} of them with a file that fails its check)" if st["invalid"] else ""
    click.echo(f"{run_dir}: {st['total']} points: {st['done']} done, {st['failed']} failed, {st['pending']} "
               f"pending{invalid}")
    for row in st["failures"]:
        click.echo(f"  failed  {row['overrides']}: {row['error']}")
    for row in st["invalid_files"]:
        click.echo(f"  invalid {row['file']}: {row['reason']} (the next sweep recomputes it)")
    if st["pending"] or st["failed"]:
        click.echo(f"  resume with: {st['resume']}")
    if st["failed"]:
        sys.exit(EXIT_POINTS_FAILED)
