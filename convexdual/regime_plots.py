"""The topology of the global optima against width, drawn from a sweep table (an edge module).

A sweep table has one row per point and width ``m`` with the point's ``regime`` at that width:
``none`` (no width-m network is optimal), ``isolated`` (finitely many optimal points), ``isolated+
continua``, ``continua`` (several components, none a point), ``connected``, or ``undecided`` when
only the m*, M* bounds are known and they do not decide it. Two kinds of figure:

- a regime map: x = width (``m``, ``width``, or ``m/n``), one row per value of ``y`` (a sweep axis
  or config column such as ``beta`` or ``n``), one panel per value of ``col``; each cell shows the
  regime most seeds share (``--agg fraction``, the share written in the cell when below 1) or the
  median regime in the staircase order (``--agg median``), with the medians of m*, M* and of the
  measured connectivity width and the bound min(m* + M*, n + 1) marked on each row;
- a line plot when ``y`` is a result column (``m_star``, ``connectivity_width``, ...): its median
  and interquartile range over seeds (``--agg median``; ``--agg mean`` gives the mean) against ``x``,
  one line per value of ``hue``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import ConfigError
from .widths import REGIMES, UNDECIDED

REGIME_ORDER = list(REGIMES) + [UNDECIDED]
REGIME_COLORS = {"none": "#d9d9d9", "isolated": "#e66101", "isolated+continua": "#fdb863",
                 "continua": "#b2abd2", "connected": "#5e3c99", UNDECIDED: "#ffffff"}
REGIME_LABELS = {"none": "no optimal network", "isolated": "isolated points only",
                 "isolated+continua": "isolated points and continua", "continua": "continua only (disconnected)",
                 "connected": "connected", UNDECIDED: "not decided by the m*, M* bounds"}
WIDTH_NAMES = ("m", "width", "m/n")
LINE_COLUMNS = ("p_star", "m_star", "M_star", "n_vertices", "polytope_dim", "connectivity_width", "time_s",
                "value", "isolated_points", "continuum_components", "duality_gap", "active_margin", "n_patterns")
AGGREGATES = ("fraction", "median", "mean")


def plot_columns(table: Any) -> list[str]:
    """Names ``--x/--y/--hue/--col`` accept: the table's columns and the width names."""
    return sorted(set(table.columns) | set(WIDTH_NAMES))


def check_column(table: Any, option: str, name: str | None) -> None:
    """One ConfigError line listing the valid names when ``name`` is not one of them."""
    if name is not None and name not in plot_columns(table):
        raise ConfigError(f"{option} {name!r} is not a column of this sweep; valid: {', '.join(plot_columns(table))}")


def width_rows(table: Any) -> Any:
    """Rows of ok points that carry a width (``m``) and a regime, with ``width`` and ``m/n`` added."""
    rows = table[(table["status"] == "ok") & table["m"].notna()].copy() if "m" in table.columns else table.iloc[:0]
    if "regime" not in rows.columns or not len(rows):
        raise ConfigError("no point of this sweep has a staircase (widths with their regime): nothing to draw")
    rows["m"] = rows["m"].astype(int)
    rows["width"] = rows["m"]
    rows["m/n"] = rows["m"] / rows["n"]
    rows["regime"] = rows["regime"].fillna(UNDECIDED)
    return rows


def aggregate_regime(regimes: Sequence[str], agg: str) -> tuple[str, float]:
    """The regime of a cell over seeds and the share of seeds in it."""
    values = list(regimes)
    if agg == "median":
        decided = sorted((REGIME_ORDER.index(r) for r in values if r != UNDECIDED))
        if len(decided) * 2 <= len(values):  # most seeds undecided: so is the cell
            return UNDECIDED, values.count(UNDECIDED) / len(values)
        regime = REGIME_ORDER[decided[(len(decided) - 1) // 2]]
    else:
        regime = max(REGIME_ORDER, key=lambda r: (values.count(r), -REGIME_ORDER.index(r)))
    return regime, values.count(regime) / len(values)


def _edges(centers: np.ndarray) -> np.ndarray:
    """Cell edges halfway between sorted centers (a single center gets width 1)."""
    if len(centers) == 1:
        return np.array([centers[0] - 0.5, centers[0] + 0.5])
    mid = (centers[1:] + centers[:-1]) / 2
    return np.concatenate([[2 * centers[0] - mid[0]], mid, [2 * centers[-1] - mid[-1]]])


def _row_markers(points: Any, x: str) -> dict[str, float]:
    """Medians over the seeds of one row: m*, M*, connectivity width and min(m* + M*, n + 1), in
    the units of ``x`` (widths, or widths / n)."""
    scale = points["n"].median() if x == "m/n" else 1.0
    m_star = points["m_star"].fillna(points["m_star_high"])
    M_star = points["M_star"].fillna(points["M_star_high"])
    bound = np.minimum(m_star + M_star, points["n"] + 1)
    out = {"m*": m_star.median(), "M*": M_star.median(), "min(m* + M*, n + 1)": bound.median(),
           "connectivity width": points["connectivity_width"].median()}
    return {k: v / scale for k, v in out.items() if np.isfinite(v)}


MARKERS = {"m*": ("v", "black"), "M*": ("^", "black"), "connectivity width": ("o", "white"),
           "min(m* + M*, n + 1)": ("|", "red")}


def _facet_label(name: str, value: Any) -> str:
    return f"{name} = {value:g}" if isinstance(value, (int, float, np.number)) else f"{name} = {value}"


def regime_map(table: Any, x: str, y: str, col: str | None, agg: str, title: str, row: str | None = None) -> Any:
    """The regime map (see the module docstring), one panel per (``row``, ``col``) value; returns
    a matplotlib figure. Every column other than x, y, row, col and the seed must be constant
    within a cell (else the cell would pool different settings as if they were seeds)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    rows = width_rows(table)
    col_values = sorted(rows[col].dropna().unique()) if col else [None]
    row_values = sorted(rows[row].dropna().unique()) if row else [None]
    y_values = sorted(rows[y].dropna().unique())
    fig, axes = plt.subplots(len(row_values), len(col_values), squeeze=False,
                             figsize=(max(7.0, 5.0 * len(col_values)),
                                      len(row_values) * (1.4 + 0.45 * len(y_values)) + 2.0))
    seeds = 0
    for (r, rv), (c, cv) in ((a, b) for a in enumerate(row_values) for b in enumerate(col_values)):
        ax = axes[r, c]
        sub = rows if cv is None else rows[rows[col] == cv]
        sub = sub if rv is None else sub[sub[row] == rv]
        for i, yv in enumerate(y_values):
            line = sub[sub[y] == yv]
            if not len(line):
                continue
            cells = line.groupby(x)["regime"].apply(list)
            centers = np.array(cells.index, dtype=float)
            edges = _edges(centers)
            for k, regimes in enumerate(cells):
                seeds = max(seeds, len(regimes))
                regime, share = aggregate_regime(regimes, agg)
                ax.add_patch(Rectangle((edges[k], i - 0.5), edges[k + 1] - edges[k], 1.0,
                                       facecolor=REGIME_COLORS[regime], edgecolor="#999999", linewidth=0.3,
                                       hatch="///" if regime == UNDECIDED else None))
                if share < 1 and agg == "fraction":
                    ax.text(centers[k], i - 0.22, f"{share:.1f}", ha="center", va="center", fontsize=6,
                            color="white" if regime in ("isolated", "connected") else "black")
            for name, value in _row_markers(line.drop_duplicates("config_hash"), x).items():
                marker, color = MARKERS[name]
                ax.plot([value], [i + 0.2], marker=marker, color=color, markeredgecolor="black", markersize=5,
                        linestyle="none")
        ax.set_xlim(_edges(np.sort(sub[x].unique().astype(float)))[[0, -1]] if len(sub) else (0, 1))
        ax.set_ylim(-0.5, len(y_values) - 0.5)
        ax.set_yticks(range(len(y_values)))
        ax.set_yticklabels([f"{v:g}" if isinstance(v, (int, float, np.number)) else str(v) for v in y_values])
        ax.set_xlabel("width m / n" if x == "m/n" else "width m")
        ax.set_ylabel(y)
        ax.set_title(", ".join(_facet_label(k, v) for k, v in ((row, rv), (col, cv)) if v is not None), fontsize=10)
    used = [g for g in REGIME_ORDER if (rows["regime"] == g).any()]
    handles = [Patch(facecolor=REGIME_COLORS[g], edgecolor="#999999", hatch="///" if g == UNDECIDED else None,
                     label=REGIME_LABELS[g]) for g in used]
    handles += [Line2D([], [], marker=MARKERS[k][0], color=MARKERS[k][1], markeredgecolor="black", linestyle="none",
                       label=f"median {k}") for k in MARKERS]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    how = ("the regime most seeds share (its share written when below 1)" if agg == "fraction"
           else "the median regime in the order none < isolated < mixed < continua < connected")
    fig.suptitle(f"{title}\neach cell: {how}; {seeds} seeds per cell at most", fontsize=10)
    legend_rows = -(-len(handles) // 3)
    fig.tight_layout(rect=(0, min(0.4, (0.3 + 0.22 * legend_rows) / fig.get_figheight()), 1, 1))
    return fig


def line_plot(table: Any, x: str, y: str, hue: str | None, col: str | None, agg: str, title: str) -> Any:
    """Median (or mean) of the result column ``y`` over seeds against ``x``, one line per ``hue``."""
    import matplotlib.pyplot as plt

    per_width = y in ("value", "isolated_points", "continuum_components") or x in WIDTH_NAMES
    rows = width_rows(table) if per_width else table[table["status"] == "ok"].drop_duplicates("config_hash")
    if not len(rows) or rows[y].dropna().empty:
        raise ConfigError(f"no point of this sweep has a value of {y}: nothing to draw")
    panels = sorted(rows[col].dropna().unique()) if col else [None]
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6.5, 5.0 * len(panels)), 4.5), squeeze=False, sharey=True)
    for ax, pv in zip(axes[0], panels):
        sub = rows if pv is None else rows[rows[col] == pv]
        for hv in (sorted(sub[hue].dropna().unique()) if hue else [None]):
            part = sub if hv is None else sub[sub[hue] == hv]
            stats = part.groupby(x)[y].describe()
            if stats.empty:
                continue
            center = stats["mean"] if agg == "mean" else stats["50%"]
            ax.plot(stats.index, center, "o-", markersize=4, label=f"{hue} = {hv:g}" if hv is not None else agg)
            if agg != "mean":
                ax.fill_between(stats.index, stats["25%"], stats["75%"], alpha=0.2)
        if x == "beta":
            ax.set_xscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        if pv is not None:
            ax.set_title(_facet_label(col, pv), fontsize=10)
    band = "mean over seeds" if agg == "mean" else "median over seeds, band = interquartile range"
    fig.suptitle(f"{title}\n{band}", fontsize=10)
    fig.tight_layout()
    return fig
