"""sweep and status: run every point of a sweep, and read where it stands."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import click

from .. import shipped_configs
from ..errors import EXIT_POINTS_FAILED
from .common import setup_logging


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config with a `sweep:` block.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run directory (default outputs/<config name>).")
@click.option("--launcher", type=click.Choice(["basic", "joblib", "slurm", "ray"]), default="basic", show_default=True,
              help="basic: in this process; joblib: local parallel; slurm: a SLURM job array (submitit); "
                   "ray: Ray tasks (a local Ray, or a cluster with ray.init.address=auto).")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None, help="Parallel jobs for --launcher joblib.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.option("-m", "--multirun", is_flag=True, help="Accepted as in Hydra; a sweep is always a multirun.")
@click.option("--detach", is_flag=True,
              help="With --launcher slurm: submit the job array and return (its id and the status command).")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def sweep(config_path: str, out_dir: str | None, launcher: str, jobs: int | None, no_progress: bool, verbose: bool,
          multirun: bool, detach: bool, overrides: tuple[str, ...]) -> None:
    """Run every point of a sweep; skip points already done; write one result file per point and a table.

    OVERRIDES use Hydra syntax; sweeps as ``beta=0.01,0.1,1`` or ``data.seed=range(0,10)``. Launcher
    settings go among them too (``partition=cpu timeout_min=30``, or ``hydra.launcher.KEY=VALUE``), and
    so may the launcher itself (``hydra/launcher=submitit_slurm``, ``joblib``, ``ray``, ``basic``).
    """
    from ..sweep import run_sweep

    setup_logging(verbose)
    summary = run_sweep(Path(config_path), list(overrides), Path(out_dir) if out_dir else None,
                        progress=not no_progress, launcher=launcher, jobs=jobs, configs_dir=shipped_configs(),
                        detach=detach)
    flying = f", {summary.in_flight} still queued or running in SLURM" if summary.in_flight else ""
    if detach:
        sent = (f"submitted SLURM job array {summary.job_id} ({summary.ran} point{'s' * (summary.ran != 1)})"
                if summary.job_id
                else "nothing to submit")
        click.echo(f"{summary.run_dir}: {sent}; {summary.done} done, {summary.failed} failed{flying}; "
                   f"follow with: convexdual status {shlex.quote(str(summary.run_dir))}")
        return
    click.echo(f"{summary.run_dir}: {summary.done} done ({summary.skipped} already on disk), "
               f"{summary.failed} failed or missing{flying}; table {summary.table_path}")
    if summary.failed:
        sys.exit(EXIT_POINTS_FAILED)


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(run_dir: str, as_json: bool) -> None:
    """Done / failed / pending points of a sweep, read from its result files; points submitted to SLURM
    without a file are queued, running or lost, as SLURM says. Exit code 1 when a point failed or was lost."""
    from ..results import dumps
    from ..sweep import sweep_status

    st = sweep_status(Path(run_dir))
    if as_json:
        click.echo(dumps(st))
    else:
        _print_status(run_dir, st)
    if st["failed"] or st["lost"]:
        sys.exit(EXIT_POINTS_FAILED)


def _print_status(run_dir: str, st: dict[str, Any]) -> None:
    invalid = f" ({st['invalid']} of them with a file that fails its check)" if st["invalid"] else ""
    parts = [f"{st[k]} {k.replace('_', ' ')}" for k in ("queued", "running", "lost", "not_submitted", "unknown")
             if st[k]]
    detail = f": {', '.join(parts)}" if st["scheduler"]["arrays"] and parts else ""
    click.echo(f"{run_dir}: {st['total']} points: {st['done']} done, {st['failed']} failed, {st['pending']} "
               f"pending{detail}{invalid}")
    for row in st["failures"]:
        click.echo(f"  failed  {row['overrides']}: {row['error']}")
    for row in st["lost_points"]:
        job = f"{row['array']} task {row['task']}" + (f", job {row['slurm_job']}" if row["slurm_job"] else "")
        how = f"ended {row['slurm_state']}" if row["slurm_state"] else "left the queue"
        click.echo(f"  lost    {row['overrides']}: its SLURM task ({job}) {how} without writing a result")
    for row in st["invalid_files"]:
        click.echo(f"  invalid {row['file']}: {row['reason']} (the next sweep recomputes it)")
    if st["scheduler"]["error"]:
        click.echo(f"  SLURM cannot be asked here ({st['scheduler']['error']}): the {st['unknown']} submitted "
                   "points without a file may be queued, running or lost")
    if st["queued"] or st["running"]:
        arrays = ", ".join(st["scheduler"]["in_queue"])
        click.echo(f"  in SLURM: {arrays} (a resume does not submit these points again)")
    if st["pending"] > st["queued"] + st["running"] or st["failed"]:
        click.echo(f"  resume with: {st['resume']}")
