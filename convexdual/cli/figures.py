"""figures and plot: the paper's figures, and the figures of a stored sweep."""

from __future__ import annotations

from pathlib import Path

import click

from .. import shipped_configs
from ..figures.registry import FIGURE_GROUPS
from .common import setup_logging


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="outputs/figures", show_default=True)
@click.option("--only", type=click.Choice(FIGURE_GROUPS), multiple=True,
              help="Regenerate only these figures (default: all).")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Bars on stderr: one over the figure groups, one per figure sweep (points done, skipped = on disk).")
@click.option("--large", is_flag=True, help="Also the larger phase diagrams (d = 3, n up to 100; a few more minutes).")
def figures(out_dir: str, only: tuple[str, ...], verbose: bool, progress: bool, large: bool) -> None:
    """Regenerate every paper figure (and the example results) into OUT.

    Figure sweeps are cached under OUT/runs and resume; figure files are replaced.
    """
    from ..figures.regenerate import regenerate_all

    setup_logging(verbose)
    for path in regenerate_all(Path(out_dir), configs_dir=shipped_configs(), only=set(only) or None, progress=progress,
                               large=large):
        click.echo(str(path))


@click.command()
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
    from ..figures.plot import plot_run

    for path in plot_run(Path(run_dir), x=x, y=y, hue=hue, col=col, row=row, agg=agg,
                         formats=fmt or ("png", "pdf"), out=Path(out) if out else None):
        click.echo(str(path))
