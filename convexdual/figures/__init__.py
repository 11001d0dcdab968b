"""Figures (the edge of the pipeline): read results, draw them, write PNG + PDF + a caption file.

Every figure of ``convexdual figures`` is one entry of :mod:`.registry` (its name, ``--only``
group, configs, files, caption and function); its config is in ``configs/`` (``configs/example1.yaml``
and ``configs/figures/``, ``configs/uniqueness/``, ``configs/vector/``, ``configs/three_layer/``).
``convexdual plot RUN_DIR`` draws a stored sweep (:mod:`.plot`).

Modules: :mod:`.files` (the shared pyplot and the atomic figure writer), :mod:`.draw` (drawing one
result or a sweep table's medians), :mod:`.regimes` (regime maps, phase diagrams, line plots of a
sweep table), :mod:`.plot` (``convexdual plot``), :mod:`.paper` and :mod:`.nonconvex` (the figure
functions of ``convexdual figures``), :mod:`.registry` and :mod:`.regenerate` (which figures there
are, and drawing them).
"""

from .draw import (PHASE_QUANTITIES, draw_directions, draw_polytope, draw_staircase, figure_example1, figure_phase,
                   figure_staircase, figure_value_width, point_table)
from .files import pyplot, save_figure
from .paper import LARGE_PHASE_DIAGRAMS, PHASE_DIAGRAMS, THREE_LAYER_SEEDS
from .plot import plot_run, read_sweep_table
from .regenerate import draw_groups, regenerate_all
from .registry import FIGURE_GROUPS, FIGURES, Figure, FigureJob, figures_of, registry_markdown

__all__ = [
    "FIGURES", "FIGURE_GROUPS", "Figure", "FigureJob", "LARGE_PHASE_DIAGRAMS", "PHASE_DIAGRAMS", "PHASE_QUANTITIES",
    "THREE_LAYER_SEEDS", "draw_directions", "draw_groups", "draw_polytope", "draw_staircase", "figure_example1",
    "figure_phase", "figure_staircase", "figure_value_width", "figures_of", "plot_run", "point_table", "pyplot",
    "read_sweep_table", "regenerate_all", "registry_markdown", "save_figure",
]
