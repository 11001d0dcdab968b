"""``convexdual plot RUN_DIR``: the figures of a stored sweep, read from its table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .draw import PHASE_QUANTITIES, figure_phase, point_table
from .files import save_figure

def read_sweep_table(run_dir: Path) -> tuple[Any, dict[str, Any]]:
    """``table.csv`` and ``sweep.json`` of a sweep folder, checked for what the figures read:
    ConfigError with one line for a missing, unparsable or foreign table."""
    import pandas as pd

    from ..runs import load_json
    from ..sweep import RESULT_COLUMNS, WIDTH_COLUMNS

    table_path = run_dir / "table.csv"
    if not table_path.is_file():
        raise ConfigError(f"{table_path} not found: is {run_dir} a sweep run folder?")
    try:
        table = pd.read_csv(table_path)
    except Exception as exc:  # pandas raises many types for text that is not a table
        raise ConfigError(f"{table_path} is not a table convexdual wrote ({type(exc).__name__})") from None
    needed = ["config_hash", "status", "beta", "m_star_high"] + [q for q, _ in PHASE_QUANTITIES]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ConfigError(f"{table_path} is not a sweep table convexdual wrote: no column {', '.join(missing)}")
    for col in (c for c in RESULT_COLUMNS + WIDTH_COLUMNS + ["beta"] if c in table.columns):
        values = table[col].dropna()
        if col not in ("optimal", "connected", "regime") and not pd.api.types.is_numeric_dtype(values):
            raise ConfigError(f"{table_path}: column {col} holds values that are not numbers")
    manifest = load_json(run_dir / "sweep.json")[0] or {}
    axes = manifest.get("axes") if isinstance(manifest.get("axes"), dict) else {}
    return table, {**manifest, "axes": {a: v for a, v in axes.items() if a in table.columns}}


def plot_run(run_dir: Path, x: str | None = None, y: str | None = None, hue: str | None = None,
             col: str | None = None, agg: str = "fraction", formats: tuple[str, ...] = ("png", "pdf"),
             out: Path | None = None, row: str | None = None) -> list[Path]:
    """Figures of a stored sweep. Without x, y, hue, col, row: the phase diagram (m*, M*, dim P*,
    connectivity width against the first axis) and the regime map (the topology against width,
    rows beta or the first axis, panels by the other axes). With them: one figure, a regime map
    when ``y`` is not a result column, else a line plot (:mod:`.regimes`). A sweep axis
    (other than the seed) that names no part of the figure is refused: it would be pooled as if
    its values were seeds."""
    from .regimes import LINE_COLUMNS, check_column, line_plot, regime_map
    from ..runs import writable_folder

    table, manifest = read_sweep_table(run_dir)
    for option, name in (("--x", x), ("--y", y), ("--hue", hue), ("--col", col), ("--row", row)):
        check_column(table, option, name)
    certified = point_table(table)
    if not len(certified):
        raise ConfigError(f"{run_dir}: no certified point in the table: nothing to draw")
    out_dir = writable_folder(out if out is not None else run_dir / "figures", keep=False)  # made when written
    axes = [a for a in manifest["axes"] if a != "data.seed"]
    title = f"sweep {run_dir.name}"
    if any(v is not None for v in (x, y, hue, col, row)):
        line = y in LINE_COLUMNS
        x = x or (axes[0] if line and axes else "m")
        y = y or ("beta" if "beta" in axes or not axes else axes[0])
        free = [a for a in axes if a not in (x, y, hue, col, row)]
        if line:
            _refuse_pooled(free, "--x, --hue or --col")
            fig = line_plot(table, x, y, hue, col, "median" if agg == "fraction" else agg, title)
            caption = f"{y} against {x} over the sweep in {run_dir}" + (f", by {hue}" if hue else "")
        else:
            if hue is not None:
                raise ConfigError("--hue applies to line plots (--y a result column such as m_star); "
                                  "a regime map colours its cells by regime")
            col = col or (free.pop(0) if free else None)
            row = row or (free.pop(0) if free else None)
            _refuse_pooled(free, "--y, --col or --row")
            fig = regime_map(table, x, y, col, agg, title, row=row)
            caption = f"Regime of the optimal set against width, rows {y}, over the sweep in {run_dir}."
        parts = ["plot", y, "vs", x] + [f"{k}_{v}" for k, v in (("by", hue), ("col", col), ("row", row)) if v]
        return save_figure(fig, out_dir, "_".join(parts).replace("/", "_over_").replace(".", "_"), caption, formats)
    paths = []
    if not certified["m_star_high"].isna().all():
        x_axis = "beta" if "beta" in axes or not axes else axes[0]
        rest = [a for a in axes if a != x_axis]
        fig = figure_phase(table, x_axis, rest[0] if rest else None, rest[1] if len(rest) > 1 else None, title,
                           xlog=(x_axis == "beta"))
        caption = f"Phase diagram of the sweep in {run_dir}: m*, M*, dim P* and connectivity width against {x_axis}."
        paths += save_figure(fig, out_dir, "phase", caption, formats)
    if "m" in table.columns and table["m"].notna().any() and len(axes) <= 3:
        y_axis = "beta" if "beta" in axes or not axes else axes[0]
        rest = [a for a in axes if a != y_axis]
        x_axis = "m/n" if y_axis in ("data.n", "n") else "m"  # rows of different n: widths relative to n
        fig = regime_map(table, x_axis, y_axis, rest[0] if rest else None, agg, title,
                         row=rest[1] if len(rest) > 1 else None)
        caption = f"Regime of the optimal set against width, one row per {y_axis}, over the sweep in {run_dir}."
        paths += save_figure(fig, out_dir, "staircase", caption, formats)
    if not paths:
        raise ConfigError(f"{run_dir}: no certified point has m*, M* or a staircase (parallel three-layer runs "
                          "have none): nothing to draw")
    return paths


def _refuse_pooled(free: list[str], options: str) -> None:
    if free:
        raise ConfigError(f"the sweep axes {', '.join(free)} are not drawn: name each with {options} "
                          "(their values would otherwise be pooled like seeds)")
