"""The figures registry: one entry per figure, and `convexdual figures` runs what it lists."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import click
import pytest

from convexdual import shipped_configs
from convexdual.cli import main
from convexdual.figures import registry
from convexdual.figures.registry import FIGURE_GROUPS, FIGURES, figures_of, registry_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_every_registered_function_exists_and_takes_a_job():
    for figure in FIGURES:
        draw = figure.draw()
        assert callable(draw), figure.name
        assert list(inspect.signature(draw).parameters) == ["job"], figure.name
        assert draw.__module__.startswith("convexdual.figures."), figure.name


def test_only_choices_are_the_registry_groups():
    only = next(p for p in main.commands["figures"].params if p.name == "only")
    assert isinstance(only.type, click.Choice)
    assert tuple(only.type.choices) == FIGURE_GROUPS
    shipped = ("example1", "staircase", "value", "phase", "uniqueness", "vector", "three_layer", "train", "paths")
    assert FIGURE_GROUPS[:len(shipped)] == shipped  # new groups may follow; none is dropped or renamed
    assert [f for g in FIGURE_GROUPS for f in figures_of(g)] == list(FIGURES)  # each group's entries are contiguous


def test_entries_are_consistent():
    names = [f.name for f in FIGURES]
    assert len(set(names)) == len(names)
    stems = [name for f in FIGURES for name in f.files]
    assert len(set(stems)) == len(stems), "two figures write the same file"
    for f in FIGURES:
        assert f.caption and "\n" not in f.caption, f.name
        assert set(f.large_files) <= set(f.files) and set(f.large_sweeps) <= set(f.sweeps), f.name
        for config in f.configs + f.sweeps:
            assert (shipped_configs() / config).is_file(), (f.name, config)
    phase = next(f for f in FIGURES if f.name == "phase")
    assert phase.outputs(large=False) == [o for o in phase.outputs(large=True) if not o.startswith("phase_n_d3.")]
    assert "figures/phase_n_d3.yaml" not in phase.needs(large=False)


def test_phase_entry_lists_the_phase_sweeps():
    from convexdual.figures.paper import LARGE_PHASE_DIAGRAMS, PHASE_DIAGRAMS

    phase = next(f for f in FIGURES if f.name == "phase")
    swept = {f"figures/{name}.yaml" for name, *_ in PHASE_DIAGRAMS + LARGE_PHASE_DIAGRAMS}
    assert set(phase.sweeps) == swept | {"figures/phase_gaussian.yaml", "figures/phase_diabetes.yaml"}
    assert set(phase.large_sweeps) == {f"figures/{name}.yaml" for name, *_ in LARGE_PHASE_DIAGRAMS}
    assert {f"{name}" for name, *_ in PHASE_DIAGRAMS + LARGE_PHASE_DIAGRAMS} <= set(phase.files)


def test_registry_markdown_has_a_row_per_figure():
    text = registry_markdown()
    rows = [line for line in text.splitlines() if line.startswith("| ")][2:]  # below the header and its rule
    assert len(rows) == len(FIGURES)
    for f, row in zip(FIGURES, rows):
        assert row.startswith(f"| {f.name} | `{f.group}` |") and f.caption in row
        assert all(f"`{name}`" in row for name in f.files)


def test_outputs_expand_figures_to_their_formats():
    f = registry.Figure("toy", "toy", "paper:none", ("a.csv", "b"), "caption")
    assert f.outputs() == ["a.csv", "b.png", "b.pdf", "b.txt"]


def test_figures_package_exports_its_names():
    import convexdual.figures as figures

    for name in ("PHASE_QUANTITIES", "draw_directions", "draw_polytope", "figure_example1", "draw_staircase",
                 "figure_staircase", "figure_value_width", "point_table", "figure_phase", "read_sweep_table", "plot_run",
                 "FIGURE_GROUPS", "regenerate_all", "THREE_LAYER_SEEDS", "PHASE_DIAGRAMS", "LARGE_PHASE_DIAGRAMS",
                 "pyplot", "save_figure"):
        assert hasattr(figures, name), name


@pytest.mark.slow
def test_example1_writes_exactly_the_registered_files(tmp_path):
    out = tmp_path / "figs"
    p = subprocess.run([sys.executable, "-m", "convexdual", "figures", "--only", "example1", "--no-progress", "--out",
                        str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    expected = [name for f in figures_of("example1") for name in f.outputs()]
    assert [Path(line).name for line in p.stdout.splitlines()] == expected
    written = sorted(path.name for path in out.iterdir() if not path.name.startswith("."))  # not the run lock
    assert written == sorted(expected + ["run.json"])
