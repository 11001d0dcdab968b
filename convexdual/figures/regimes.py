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

from ..errors import ConfigError
from ..widths import REGIMES, UNDECIDED

REGIME_ORDER = list(REGIMES) + [UNDECIDED]
REGIME_COLORS = {"none": "#d9d9d9", "isolated": "#e66101", "isolated+continua": "#fdb863",
                 "continua": "#b2abd2", "connected": "#5e3c99", UNDECIDED: "#ffffff"}
REGIME_LABELS = {"none": "no optimal network", "isolated": "isolated points only",
                 "isolated+continua": "isolated points and continua", "continua": "continua only (disconnected)",
                 "connected": "connected", UNDECIDED: "not decided by the m*, M* bounds"}
WIDTH_NAMES = ("m", "width", "m/n")
LINE_COLUMNS = ("p_star", "m_star", "M_star", "n_vertices", "polytope_dim", "connectivity_width", "time_s",
                "value", "isolated_points", "continuum_components", "duality_gap", "active_margin", "n_patterns")


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
    the units of ``x`` (widths, or widths / n); over the seeds where they are known exactly (a
    point with only m*, M* bounds does not enter)."""
    scale = points["n"].median() if x == "m/n" else 1.0
    m_star, M_star = points["m_star"], points["M_star"]
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
            few = len(centers) <= 30  # room for cell borders and written shares
            for k, regimes in enumerate(cells):
                seeds = max(seeds, len(regimes))
                regime, share = aggregate_regime(regimes, agg)
                ax.add_patch(Rectangle((edges[k], i - 0.5), edges[k + 1] - edges[k], 1.0,
                                       facecolor=REGIME_COLORS[regime], edgecolor="#999999", linewidth=0.3 if few else 0,
                                       hatch="///" if regime == UNDECIDED else None))
                if share < 1 and agg == "fraction" and few:
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
    how = ("the regime most seeds share (its share written when below 1 and the row has at most 30 widths)"
           if agg == "fraction"
           else "the median regime in the order none < isolated < mixed < continua < connected")
    fig.suptitle(f"{title}\neach cell: {how}; {seeds} seeds per cell at most", fontsize=10)
    legend_rows = -(-len(handles) // 3)
    fig.tight_layout(rect=(0, min(0.4, (0.3 + 0.22 * legend_rows) / fig.get_figheight()), 1, 1))
    return fig


def median_band(ax: Any, frame: Any, x: str, y: str, label: str, agg: str = "median",
                markersize: float | None = None) -> None:
    """The median of ``y`` over the rows sharing each ``x`` with its interquartile band (``agg``
    "mean": the mean, no band); nothing when ``y`` has no values."""
    stats = frame.groupby(x)[y].describe()
    if stats.empty:
        return
    center = stats["mean"] if agg == "mean" else stats["50%"]
    ax.plot(stats.index, center, "o-", markersize=markersize, label=label)
    if agg != "mean":
        ax.fill_between(stats.index, stats["25%"], stats["75%"], alpha=0.2)


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
            median_band(ax, part, x, y, f"{hue} = {hv:g}" if hv is not None else agg, agg, markersize=4)
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


PROPERTIES = {
    "connected": "optimal set connected",
    "isolated": "has isolated optimal points",
    "optimal": "has an optimal network",
}


def property_values(rows: Any, prop: str) -> Any:
    """Per width row: 1.0 / 0.0 when the property is decided, NaN when only bounds are known and
    they do not decide it. ``optimal`` and ``connected`` come from their columns (the bounds decide
    some widths), ``isolated`` (some optimal point is isolated) from the regime."""
    if prop == "isolated":
        values = rows["regime"].map({"isolated": 1.0, "isolated+continua": 1.0, "none": 0.0, "continua": 0.0,
                                     "connected": 0.0})
        return values.where(rows["regime"] != UNDECIDED)
    return rows[prop].map({True: 1.0, False: 0.0, "True": 1.0, "False": 0.0}).astype(float)


def phase_panel(ax: Any, rows: Any, x: str, y: str, prop: str) -> Any:
    """One Donoho-Tanner style panel: the fraction of seeds with ``prop`` in each (x, y) cell (grey
    scale, 0 white to 1 black); cells where some seed is undecided are hatched and left uncoloured.
    Rows are the values of y (log-spaced beta or n); returns the colour mappable."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    cmap = plt.get_cmap("Greys")
    y_values = sorted(rows[y].dropna().unique())
    values = property_values(rows, prop)
    for i, yv in enumerate(y_values):
        line = rows[rows[y] == yv]
        cells = values[line.index].groupby(line[x])
        centers = np.array(sorted(cells.groups), dtype=float)
        edges = _edges(centers)
        for k, (_, v) in enumerate(sorted(cells, key=lambda kv: kv[0])):
            undecided = bool(v.isna().any())
            ax.add_patch(Rectangle((edges[k], i - 0.5), edges[k + 1] - edges[k], 1.0, linewidth=0,
                                   facecolor="#ffffff" if undecided else cmap(0.08 + 0.92 * float(v.mean())),
                                   hatch="////" if undecided else None, edgecolor="#bb3333" if undecided else None))
        for name, value in _row_markers(line.drop_duplicates("config_hash"), x).items():
            marker, color = MARKERS[name]
            ax.plot([value], [i], marker=marker, color=color, markeredgecolor="#1f77b4" if color == "black" else "black",
                    markersize=6, linestyle="none")
    ax.set_xlim(float(rows[x].min()) - 0.5 * (1 if x == "m" else float((1 / rows["n"]).max())),
                float(rows[x].max()) + 0.5 * (1 if x == "m" else float((1 / rows["n"]).max())))
    ax.set_ylim(-0.5, len(y_values) - 0.5)
    ax.set_yticks(range(len(y_values)))
    ax.set_yticklabels([f"{v:g}" for v in y_values])
    ax.set_xlabel("width m / n" if x == "m/n" else "width m")
    if x == "m":
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(y)
    ax.set_title(f"fraction of seeds: {PROPERTIES[prop]}", fontsize=10)
    return plt.cm.ScalarMappable(norm=plt.Normalize(0, 1), cmap=cmap)


def phase_diagram(table: Any, x: str, y: str, title: str) -> Any:
    """Three panels over (x, y): fraction of seeds whose optimal set at width m is connected, has
    isolated points, has an optimum; the row medians of m*, M*, connectivity width and the bound
    min(m* + M*, n + 1) marked on each."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows = width_rows(table)
    n_rows = rows[y].nunique()
    fig, axes = plt.subplots(1, 3, figsize=(17, 1.6 + 0.42 * n_rows + 1.4), squeeze=False,
                             gridspec_kw={"wspace": 0.28})
    for ax, prop in zip(axes[0], PROPERTIES):
        mappable = phase_panel(ax, rows, x, y, prop)
    handles = [Line2D([], [], marker=MARKERS[k][0], color=MARKERS[k][1], linestyle="none",
                      markeredgecolor="#1f77b4" if MARKERS[k][1] == "black" else "black", label=f"median {k}")
               for k in MARKERS]
    if (rows["regime"] == UNDECIDED).any():
        handles.append(Patch(facecolor="white", hatch="////", edgecolor="#bb3333",
                             label="some seed not decided by the m*, M* bounds"))
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    seeds = int(rows.groupby([x, y]).size().max())
    points = table.drop_duplicates("config_hash")
    failed = int((points["status"] != "ok").sum())
    fig.suptitle(f"{title}\n{rows['config_hash'].nunique()} certified data sets, up to {seeds} seeds per cell"
                 + (f"; {failed} failed (excluded)" if failed else ""), fontsize=10)
    height = fig.get_figheight()
    top, bottom = 1 - 1.0 / height, 1.0 / height
    fig.subplots_adjust(top=top, bottom=bottom, left=0.05, right=0.93)
    fig.colorbar(mappable, cax=fig.add_axes((0.945, bottom, 0.01, top - bottom)), label="fraction of seeds")
    return fig


def bound_table(table: Any, source: str) -> Any:
    """Per certified point with an exact staircase and a nonzero optimum (m* >= 1; the zero network
    is one point at every width): m*, M*, the bound min(m* + M*, n + 1) from which the optimal set
    is connected, the measured connectivity width, their ratio and whether they are equal."""
    pts = table[(table["status"] == "ok") & table["connectivity_width"].notna() & (table["m_star"] >= 1)
                & table["M_star"].notna()].drop_duplicates("config_hash")
    out = pts[["config_hash", "n", "d", "beta", "m_star", "M_star", "connectivity_width"]].copy()
    out.insert(0, "sweep", source)
    out["bound"] = np.minimum(out["m_star"] + out["M_star"], out["n"] + 1)
    out["ratio"] = out["connectivity_width"] / out["bound"]
    out["equal"] = out["connectivity_width"] == out["bound"]
    return out.reset_index(drop=True)


def bound_summary(df: Any) -> str:
    """One paragraph: how often the measured width equals the bound, and the ratio's spread."""
    if not len(df):
        return "no point with an exact staircase"
    return (f"{len(df)} data sets; measured connectivity width = min(m* + M*, n + 1) in {int(df['equal'].sum())} "
            f"({df['equal'].mean():.0%}); ratio measured / bound: median {df['ratio'].median():.2f}, "
            f"min {df['ratio'].min():.2f}, max {df['ratio'].max():.2f}")


def bound_figure(df: Any, title: str) -> Any:
    """Measured connectivity width against the bound (the diagonal: equal), and the ratio
    against n; colour = beta (log)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8))
    rng = np.random.default_rng(0)  # a little horizontal jitter: many points share integer coordinates
    jitter = rng.uniform(-0.18, 0.18, len(df))
    norm = LogNorm(df["beta"].min(), df["beta"].max()) if df["beta"].min() < df["beta"].max() else None
    sc = a1.scatter(df["bound"] + jitter, df["connectivity_width"], c=df["beta"], norm=norm, cmap="viridis", s=14)
    top = float(max(df["bound"].max(), df["connectivity_width"].max())) + 1
    a1.plot([0, top], [0, top], "k--", linewidth=0.8, label="equal")
    a1.set_xlabel("bound min(m* + M*, n + 1) (jittered by up to 0.18)")
    a1.set_ylabel("measured connectivity width")
    a1.legend(fontsize=8)
    a2.scatter(df["n"] * (1 + 0.04 * jitter), df["ratio"], c=df["beta"], norm=norm, cmap="viridis", s=14)
    a2.axhline(1.0, color="k", linestyle="--", linewidth=0.8)
    a2.set_xlabel("n (jittered by up to 0.7%)")
    a2.set_ylabel("measured / bound")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    fig.colorbar(sc, ax=[a1, a2], label="beta", fraction=0.03)
    fig.suptitle(f"{title}\n{bound_summary(df)}", fontsize=10)
    return fig
