"""The old import path of :mod:`convexdual.figures.regimes` (regime maps, phase diagrams and line
plots of a sweep table)."""

from .figures.regimes import (LINE_COLUMNS, MARKERS, PROPERTIES, REGIME_COLORS, REGIME_LABELS, REGIME_ORDER,
                              WIDTH_NAMES, aggregate_regime, bound_figure, bound_summary, bound_table, check_column,
                              line_plot, median_band, phase_diagram, phase_panel, plot_columns, property_values,
                              regime_map, width_rows)

__all__ = [
    "LINE_COLUMNS", "MARKERS", "PROPERTIES", "REGIME_COLORS", "REGIME_LABELS", "REGIME_ORDER", "WIDTH_NAMES",
    "aggregate_regime", "bound_figure", "bound_summary", "bound_table", "check_column", "line_plot", "median_band",
    "phase_diagram", "phase_panel", "plot_columns", "property_values", "regime_map", "width_rows",
]
