"""The figures of ``convexdual figures``, one entry each: what it is called, its ``--only`` group,
the configs it solves and the sweeps it runs, the files it writes, a one-line caption, and the
function that draws it. ``convexdual figures --only`` offers the groups listed here, and the README's
table of figures is :func:`registry_markdown`.

Adding a figure: write its function ``(job: FigureJob) -> list[Path]`` (it returns the paths it
wrote, in order) in a module of this package, and add one :class:`Figure` entry to ``FIGURES``.

This module imports nothing heavy: the command line reads it at start-up; a figure's module is
imported only when the figure is drawn.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

FIGURE_FORMATS = ("png", "pdf", "txt")  # every figure: PNG, PDF and its caption


@dataclass(frozen=True)
class FigureJob:
    """What a figure function gets: the shipped configs folder, the output folder, a solver of a
    config file (its certified result as a dict), and the ``--progress`` and ``--large`` flags."""

    configs: Path
    out_dir: Path
    solved: Callable[[Path], dict[str, Any]]
    progress: bool = False
    large: bool = False


@dataclass(frozen=True)
class Figure:
    """One registered figure (or a few drawn by one function from the same runs).

    ``files`` in the order written: a name with a suffix is one file, a name without one is a figure
    written as ``name.png``, ``name.pdf`` and the caption ``name.txt``. ``configs`` (solved) and
    ``sweeps`` (run, cached under OUT/runs) are paths relative to the shipped configs folder; the
    ``large_*`` ones are used only with ``--large``.
    """

    name: str
    group: str
    function: str  # "module:function" inside convexdual.figures
    files: tuple[str, ...]
    caption: str
    configs: tuple[str, ...] = ()
    sweeps: tuple[str, ...] = ()
    large_files: tuple[str, ...] = ()
    large_sweeps: tuple[str, ...] = ()

    def draw(self) -> Callable[[FigureJob], list[Path]]:
        """The figure's function (its module imported now)."""
        module, name = self.function.split(":")
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)

    def outputs(self, large: bool = False) -> list[str]:
        """The file names written, in order (figures expanded to their formats)."""
        names = [f for f in self.files if large or f not in self.large_files]
        return [out for f in names for out in ([f] if "." in f else [f"{f}.{ext}" for ext in FIGURE_FORMATS])]

    def needs(self, large: bool = False) -> tuple[str, ...]:
        """Every config this figure solves or sweeps."""
        return self.configs + tuple(s for s in self.sweeps if large or s not in self.large_sweeps)


FIGURES: tuple[Figure, ...] = (
    Figure("example1", "example1", "paper:example1_figures",
           ("example1_result.json", "example1_optimal_set", "figure2_example1"),
           "Example 1: the optimal directions and polytope P*, and (Figure 2) the optimal sets for m = 1, 2, 3 "
           "in output-weight space",
           configs=("example1.yaml",)),
    Figure("figure1_staircase", "staircase", "paper:staircase_figure", ("figure1_staircase",),
           "Figure 1: the staircase of connectivity on 3 and 5 points on a circle",
           configs=("figures/staircase_circle3.yaml", "figures/staircase_circle5.yaml")),
    Figure("value_vs_width", "value", "paper:value_figure", ("value_vs_width",),
           "Best width-m objective against p*, exact below m*: the gap closes at m*",
           configs=("figures/value_width.yaml",)),
    Figure("phase", "phase", "paper:phase_figures",
           ("phase_beta_d2", "phase_n_d2", "phase_beta_d3", "phase_beta_diabetes", "phase_n_d3", "phase_gaussian",
            "phase_diabetes", "connectivity_bound.csv", "connectivity_bound"),
           "Phase diagrams of the regime against width and beta or n (gaussian and diabetes data), m*, M*, "
           "dim P* and connectivity width against beta, and the measured connectivity width against "
           "min(m* + M*, n + 1)",
           sweeps=("figures/phase_beta_d2.yaml", "figures/phase_n_d2.yaml", "figures/phase_beta_d3.yaml",
                   "figures/phase_beta_diabetes.yaml", "figures/phase_n_d3.yaml", "figures/phase_gaussian.yaml",
                   "figures/phase_diabetes.yaml"),
           large_files=("phase_n_d3",), large_sweeps=("figures/phase_n_d3.yaml",)),
    Figure("uniqueness", "uniqueness", "paper:uniqueness_figures", ("uniqueness_settings", "figure3_example2"),
           "Minimum-norm interpolation: is the optimal function unique, per setting; and (Figure 3) the "
           "interpolants along the segment P* of a constructed Example 2 instance",
           configs=("uniqueness/d1_bias_skip_unique.yaml", "uniqueness/example2_constructed_0.yaml",
                    "uniqueness/d2_skip_bias.yaml", "uniqueness/d2_skip_nobias.yaml")),
    Figure("vector_staircase", "vector", "paper:vector_figure", ("vector_staircase",),
           "Vector outputs (c = 2): the staircase of connectivity, nc + 1 marked",
           configs=("vector/hexagon_c2.yaml", "vector/circle3_c2.yaml")),
    Figure("three_layer_directions", "three_layer", "paper:three_layer_figure", ("three_layer_directions",),
           "Parallel three-layer networks: the dual's first-layer direction set against 10 trained networks",
           configs=("three_layer/gaussian_n5.yaml",)),
    Figure("training_success", "train", "nonconvex:training_figures", ("training_success",),
           "Training 20 seeds per width and certifying each against p*: the fraction globally optimal, the gaps "
           "of the others",
           configs=("example1.yaml", "figures/staircase_circle3.yaml")),
    Figure("paths", "paths", "nonconvex:path_figures", ("path_optimal_set", "path_descent"),
           "Paths inside the optimal set of Example 1 (and the barrier of the straight line), and paths of "
           "nonincreasing objective from random networks of width n + 1",
           configs=("example1.yaml", "figures/staircase_circle3.yaml")),
)

FIGURE_GROUPS: tuple[str, ...] = tuple(dict.fromkeys(f.group for f in FIGURES))  # in drawing order


def figures_of(group: str) -> list[Figure]:
    """The registered figures of one ``--only`` group, in drawing order."""
    return [f for f in FIGURES if f.group == group]


def registry_markdown() -> str:
    """The registry as a markdown table: name, ``--only`` group, files, caption."""
    rows = ["| figure | `--only` | files | caption |", "| --- | --- | --- | --- |"]
    for f in FIGURES:
        files = ", ".join(f"`{name}`" + (" (`--large`)" if name in f.large_files else "") for name in f.files)
        rows.append(f"| {f.name} | `{f.group}` | {files} | {f.caption} |")
    return "\n".join(rows) + "\n\nA file name without a suffix is a figure: `.png`, `.pdf` and its caption `.txt`.\n"
