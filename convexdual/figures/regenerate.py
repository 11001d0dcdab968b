"""``convexdual figures``: solve the figure configs, run the figure sweeps (resumable), and draw
every registered figure (:mod:`convexdual.figures.registry`) or those of the groups asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .registry import FIGURE_GROUPS, FigureJob, figures_of


def regenerate_all(out_dir: Path, configs_dir: Path, only: set[str] | None = None, progress: bool = False,
                   large: bool = False) -> list[Path]:
    """Draw every registered figure into ``out_dir`` (or those of the groups in ``only``) and return
    the paths written, in order. The output folder is a run folder: one ``figures`` run at a time."""
    from ..config import load_config
    from ..pipeline import certified_solve as solve
    from ..runs import RunFolder

    def solved(path: Path) -> dict[str, Any]:
        return solve(load_config(path)).to_dict()

    with RunFolder.open(out_dir, "figures", {}, hint="choose another --out"):
        return draw_groups(FigureJob(configs_dir, out_dir, solved, progress, large), only)


def draw_groups(job: FigureJob, only: set[str] | None = None) -> list[Path]:
    """Draw the groups in registry order, with a bar over the groups on stderr (``job.progress``);
    the figure sweeps show their own bars (points done now, and points skipped: already on disk)."""
    from ..runs import progress_bar

    groups = [g for g in FIGURE_GROUPS if only is None or g in only]
    written: list[Path] = []
    bar = progress_bar(len(groups), 0, "figures", job.progress, unit="group")
    for group in groups:
        bar.set_postfix_str(f"drawing {group}")
        for figure in figures_of(group):
            written += figure.draw()(job)
        bar.update(1)
    bar.set_postfix_str("done")
    bar.close()
    return written
