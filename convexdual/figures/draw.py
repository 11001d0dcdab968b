"""Drawing results (matplotlib on axes and figures; nothing is written here): one certified result
(its directions, polytope, staircase, value against width) and the medians of a sweep table."""

from __future__ import annotations

from typing import Any

import numpy as np

from .files import pyplot

PHASE_QUANTITIES = [
    ("m_star", "m* (smallest optimal width)"),
    ("M_star", "M* (largest irreducible width)"),
    ("polytope_dim", "dim P* (0 = unique optimum)"),
    ("connectivity_width", "connectivity width"),
]


def _direction_label(u: np.ndarray, s: int) -> str:
    if len(u) == 2:
        return f"{np.degrees(np.arctan2(u[1], u[0])) % 360:.0f}°"
    return "(" + ", ".join(f"{x:.2f}" for x in u) + ")" + ("+" if s > 0 else "-")


# ----------------------------------------------------------------------------- one result


def _data_points(result: dict[str, Any]) -> np.ndarray:
    data = result["config"]["data"]
    if data["kind"] == "circle":
        a = np.deg2rad(data["angles_deg"])
        return np.column_stack([np.cos(a), np.sin(a)])
    return np.array(data["X"])


def draw_directions(ax: Any, result: dict[str, Any]) -> None:
    """Data on the unit circle and the optimal neuron directions (2-D inputs without bias)."""
    X = _data_points(result)
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.85", lw=1)
    ax.scatter(X[:, 0], X[:, 1], s=60, color="black", zorder=3, label="data points x_k")
    for d in result["directions"]:
        u = np.array(d["w"])
        ax.annotate("", xy=u[:2], xytext=(0, 0),
                    arrowprops=dict(arrowstyle="->", color="tab:blue" if d["sign"] > 0 else "tab:red", lw=2))
        ax.text(1.27 * u[0], 1.27 * u[1], _direction_label(u, d["sign"]), ha="center", va="center", fontsize=9)
    ax.set_aspect("equal")
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.5, 1.5)
    ax.set_xlabel("input coordinate 1")
    ax.set_ylabel("input coordinate 2")
    signs = {d["sign"] for d in result["directions"]}
    key = {frozenset({1}): "all output weights a > 0", frozenset({-1}): "all output weights a < 0"}.get(
        frozenset(signs), "blue: output weight a > 0, red: a < 0")
    ax.set_title(f"data and optimal directions u_k\n({key})", fontsize=10)
    ax.legend(loc="lower left", fontsize=8)


def draw_polytope(ax: Any, result: dict[str, Any]) -> None:
    """P* projected on the two coefficients with the largest range; vertices labelled."""
    V = np.array(result["vertices"])
    labels = [_direction_label(np.array(d["w"]), d["sign"]) for d in result["directions"]]
    order = np.argsort(-np.array(result["coef_max"]), kind="stable")
    i, j = order[0], order[1] if len(order) > 1 else order[0]
    if len(V) == 2:
        ax.plot(V[:, i], V[:, j], color="tab:green", lw=3, label="optimal polytope P*")
    for v in V:
        used = [labels[k] for k in np.flatnonzero(v > 0)]
        ax.scatter(v[i], v[j], s=80, zorder=3, color="tab:purple")
        ax.annotate("vertex {" + ", ".join(used) + "}", (v[i], v[j]), textcoords="offset points",
                    xytext=(8, 6), fontsize=9)
    ax.set_xlabel(f"coefficient c of direction {labels[i]}")
    ax.set_ylabel(f"coefficient c of direction {labels[j]}")
    ax.legend(loc="upper right", fontsize=8)
    ax.margins(0.2)
    ax.set_title(f"optimal polytope in coefficient space\np* = {result['p_star']:.6g}, "
                 f"m* = {result['m_star']}, M* = {result['M_star']}, dim P* = {result['polytope_dim']}", fontsize=10)


def figure_example1(result: dict[str, Any]) -> Any:
    """Figure 2: Example 1's polytope and the nonconvex optimal sets for m = 1, 2, 3 in a-space.

    A point c of P* becomes a network by giving direction k neurons whose squared output weights
    sum to c_k (each neuron balanced: ||w|| = |a|). Drawn from the computed vertices.
    """
    plt = pyplot()
    V = np.array(result["vertices"])
    labels = [_direction_label(np.array(d["w"]), d["sign"]) for d in result["directions"]]
    single = V[(V > 0).sum(axis=1) == 1][0]
    pair = V[(V > 0).sum(axis=1) == 2][0]
    k1 = int(np.flatnonzero(single)[0])
    k2, k3 = (int(k) for k in np.flatnonzero(pair))
    c_single = single[k1]
    fig = plt.figure(figsize=(15, 4.4))
    draw_polytope(fig.add_subplot(1, 4, 1), result)

    ax = fig.add_subplot(1, 4, 2)
    a = np.sqrt(c_single)
    ax.axhline(0, color="0.7", lw=1)
    ax.scatter([a], [0], s=90, color="tab:purple", zorder=3, label=f"one neuron at {labels[k1]}")
    ax.set_xlim(0, 1.6 * a)
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.set_ylabel("(one neuron: a single output weight)")
    ax.set_xlabel("output weight a_1")
    ax.set_title("m = 1: one isolated point", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)

    ax = fig.add_subplot(1, 4, 3)
    phi = np.linspace(0, np.pi / 2, 200)
    ax.plot(a * np.cos(phi), a * np.sin(phi), color="tab:green", lw=3,
            label=f"both neurons at {labels[k1]}: a_1² + a_2² = {c_single:.3g}")
    p = np.sqrt([pair[k2], pair[k3]])
    ax.scatter([p[0]], [p[1]], s=90, color="tab:purple", zorder=3,
               label=f"neurons at {labels[k2]} and {labels[k3]} (isolated)")
    ax.annotate("different first-layer directions:\nnot a point of the arc", p, xytext=(0.05 * a, 0.35 * a),
                fontsize=8, arrowprops=dict(arrowstyle="->", color="0.4"))
    ax.set_aspect("equal")
    ax.set_xlim(0, 1.6 * a)
    ax.set_ylim(0, 1.6 * a)
    ax.set_xlabel("output weight a_1")
    ax.set_ylabel("output weight a_2")
    ax.set_title("m = 2: one isolated point and one continuum (an arc)", fontsize=10)
    ax.legend(loc="upper right", fontsize=7)

    ax = fig.add_subplot(1, 4, 4, projection="3d")
    th, ph = np.meshgrid(np.linspace(0, np.pi / 2, 25), np.linspace(0, np.pi / 2, 25))
    ax.plot_wireframe(a * np.sin(th) * np.cos(ph), a * np.sin(th) * np.sin(ph), a * np.cos(th), color="tab:green",
                      lw=0.5, alpha=0.6)
    s = np.linspace(0, 1, 100)[:, None]
    path = np.sqrt((1 - s) * np.array([pair[k2], pair[k3], 0.0]) + s * np.array([0.0, 0.0, c_single]))
    for perm in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        ax.plot(*path[:, perm].T, color="tab:purple", lw=2)
    ax.plot([], [], color="tab:green", label=f"all three at {labels[k1]} (sphere patch)")
    ax.plot([], [], color="tab:purple", label=f"{labels[k2]}, {labels[k3]} and {labels[k1]} along P*")
    ax.set_xlabel("a_1")
    ax.set_ylabel("a_2")
    ax.set_zlabel("a_3")
    ax.set_title("m = 3: the optimal set is connected", fontsize=10)
    ax.legend(loc="upper left", fontsize=7)
    fig.suptitle("Example 1 of the paper: two points at 120°, y = (1, 1), beta = 0.1; "
                 "optimal sets drawn in output-weight space (first-layer directions in the legends)", fontsize=11)
    fig.tight_layout()
    return fig


def draw_staircase(ax: Any, result: dict[str, Any]) -> None:
    """Isolated points and continuum components per width, with m*, M*, m* + M*, n + 1 marked."""
    rows = result["staircase"]
    m = np.array([r["m"] for r in rows])
    iso = np.array([r["isolated_points"] for r in rows])
    cont = np.array([r["continuum_components"] for r in rows])
    ax.bar(m - 0.2, iso, width=0.4, color="tab:purple", label="isolated points")
    ax.bar(m + 0.2, cont, width=0.4, color="tab:green", label="continuum components")
    for row in rows:
        if row["connected"]:
            ax.axvspan(row["m"] - 0.5, row["m"] + 0.5, color="tab:green", alpha=0.08, lw=0)
        if not row["optimal"]:
            ax.axvspan(row["m"] - 0.5, row["m"] + 0.5, color="0.5", alpha=0.12, lw=0)
    top = max(int(iso.max()), int(cont.max()), 1)
    marks = {"m*": result["m_star"], "M*": result["M_star"], "m*+M*": result["m_star"] + result["M_star"],
             "n+1": result["n"] + 1}
    if result.get("output_dim", 1) > 1:  # vector outputs: connected from nc + 1 on
        marks["nc+1"] = result["n"] * result["output_dim"] + 1
    for k, (name, x) in enumerate(marks.items()):
        ax.axvline(x, color="black", ls="--", lw=1)
        last = x >= m.max()  # at the right edge the label goes left of its line, inside the axes
        ax.text(x - 0.05 if last else x + 0.05, top * (1.25 - 0.1 * k), f"{name} = {x}", fontsize=9,
                ha="right" if last else "left")
    from matplotlib.ticker import MaxNLocator

    ax.set_xticks(m)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, top * 1.35)
    ax.set_xlabel("width m")
    ax.set_ylabel("number of components (up to permutation)")
    ax.legend(loc="center right", fontsize=8)


def figure_staircase(results: list[tuple[str, dict[str, Any]]]) -> Any:
    """Figure 1: the staircase of connectivity on constructed instances."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.6), squeeze=False)
    for ax, (title, result) in zip(axes[0], results):
        draw_staircase(ax, result)
        ax.set_title(f"{title}\ngrey: no optimal network; green band: optimal set connected", fontsize=10)
    fig.suptitle("Staircase of connectivity: topology of the global optima of (P_m) against the width", fontsize=11)
    fig.tight_layout()
    return fig


def figure_value_width(result: dict[str, Any], title: str) -> Any:
    """Best width-m objective against p*: the gap closes exactly at m*."""
    plt = pyplot()
    rows = [r for r in result["staircase"] if r["value"] is not None]
    m = np.array([r["m"] for r in rows])
    v = np.array([r["value"] for r in rows])
    p = result["p_star"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(m, v, "o-", color="tab:blue", label="best objective of a width-m network")
    ax1.axhline(p, color="black", ls="--", lw=1, label=f"p* = {p:.4g}")
    ax1.axvline(result["m_star"], color="tab:red", ls=":", label=f"m* = {result['m_star']}")
    ax1.set_xlabel("width m")
    ax1.set_ylabel("objective of (P_m)")
    ax1.legend(fontsize=8)
    gap = v - p
    below = gap > 0
    ax2.semilogy(m[below], gap[below], "o-", color="tab:blue", label="value - p* (m < m*)")
    from matplotlib.transforms import blended_transform_factory

    at_bottom = blended_transform_factory(ax2.transData, ax2.transAxes)
    for mm in m[~below]:
        ax2.text(mm, 0.05, "gap 0\n(= p*)", transform=at_bottom, fontsize=8, ha="center")
    ax2.axvline(result["m_star"], color="tab:red", ls=":", label=f"m* = {result['m_star']}")
    ax2.set_xlabel("width m")
    ax2.set_ylabel("gap to p* (log scale)")
    ax2.set_xlim(m.min() - 0.5, m.max() + 0.5)
    ax2.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- sweeps


def point_table(table: Any) -> Any:
    """One row per certified sweep point (the table has one row per point and width); points whose
    p* is only bracketed (``certified`` False) are left out."""
    ok = table[(table["status"] == "ok") & (table.get("certified", True) != False)]  # noqa: E712 (a column)
    return ok.drop_duplicates("config_hash")


def figure_phase(table: Any, x: str, group: str | None, columns: str | None, title: str, xlog: bool = True) -> Any:
    """Median and interquartile range of m*, M*, dim P*, connectivity width against ``x``."""
    from .regimes import median_band

    plt = pyplot()
    pts = point_table(table)
    col_values = sorted(pts[columns].unique()) if columns else [None]
    fig, axes = plt.subplots(len(PHASE_QUANTITIES), len(col_values), figsize=(max(6.5, 5.2 * len(col_values)), 11),
                             squeeze=False, sharex=True)
    for j, cv in enumerate(col_values):
        sub = pts if cv is None else pts[pts[columns] == cv]
        groups = sorted(sub[group].unique()) if group else [None]
        for i, (q, label) in enumerate(PHASE_QUANTITIES):
            ax = axes[i, j]
            for g in groups:
                gsub = sub if g is None else sub[sub[group] == g]
                median_band(ax, gsub, x, q, f"{group} = {g}" if g is not None else "median")
            if xlog:
                ax.set_xscale("log")
            ax.set_ylabel(label)
            if i == 0:
                ax.set_title(f"{columns} = {cv}" if cv is not None else "", fontsize=10)
                ax.legend(fontsize=8)
            if i == len(PHASE_QUANTITIES) - 1:
                ax.set_xlabel(x)
    counts = f"{len(pts)} certified instances"
    points = table.drop_duplicates("config_hash")
    failed = int((points["status"] != "ok").sum())
    bracketed = int(((points["status"] == "ok") & (points.get("certified", True) == False)).sum())  # noqa: E712
    if failed:
        counts += f", {failed} failed (excluded)"
    if bracketed:
        counts += f", {bracketed} with p* only bracketed (excluded)"
    fig.suptitle(f"{title}\nmedian and interquartile range over seeds; {counts}", fontsize=11)
    fig.tight_layout()
    return fig
