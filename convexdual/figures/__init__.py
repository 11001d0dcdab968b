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

from __future__ import annotations

import importlib
from typing import Any

# name -> the module of this package that defines it; loaded on first use, so that reading the
# registry (the command line does at start-up) does not import numpy and the drawing code.
_EXPORTS = {
    **dict.fromkeys(("PHASE_QUANTITIES", "draw_directions", "draw_polytope", "draw_staircase", "figure_example1",
                     "figure_phase", "figure_staircase", "figure_value_width", "point_table"), "draw"),
    **dict.fromkeys(("pyplot", "save_figure"), "files"),
    **dict.fromkeys(("LARGE_PHASE_DIAGRAMS", "PHASE_DIAGRAMS", "THREE_LAYER_SEEDS"), "paper"),
    **dict.fromkeys(("plot_run", "read_sweep_table"), "plot"),
    **dict.fromkeys(("draw_groups", "regenerate_all"), "regenerate"),
    **dict.fromkeys(("FIGURE_GROUPS", "FIGURES", "Figure", "FigureJob", "figures_of", "registry_markdown"),
                    "registry"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
