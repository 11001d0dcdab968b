"""Figures of the nonconvex side: training success against width, and objective profiles of paths
(the ``train`` and ``paths`` groups of ``convexdual figures``, and the figures of ``convexdual train``
and ``convexdual path``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..paths import PathResult
from ..trainrun import width_summary
from .files import pyplot, save_figure
from .registry import FigureJob

MOVE_COLORS = {"snap": "#dddddd", "merge": "#aec7e8", "reduce": "#ffbb78", "edge": "#98df8a", "permute": "#c5b0d5",
               "balance": "#ff9896", "restricted optimum": "#dbdb8d", "drop dependent": "#c49c94",
               "add violating direction": "#f7b6d2", "straight line": "#ffffff"}  # one hue each


def draw_training(ax_frac: Any, ax_gap: Any, rows: list[dict[str, Any]], info: dict[str, Any], title: str) -> None:
    """Fraction of seeds certified global per width (top) and the gap of the others (bottom)."""
    summ = width_summary(rows)
    widths = [s["width"] for s in summ]
    frac = [s["global"] / s["seeds"] for s in summ]
    ax_frac.bar(widths, frac, color="#3182bd", width=0.6, label="certified global optimum")
    for s, f in zip(summ, frac):
        ax_frac.text(s["width"], f + 0.02, f"{s['global']}/{s['seeds']}", ha="center", fontsize=8)
    ax_frac.set_ylim(0, 1.15)
    ax_frac.set_ylabel("fraction of seeds")
    ax_frac.set_title(title, fontsize=10)
    for s in summ:
        for klass, marker, color in (("stationary_not_global", "o", "#e6550d"), ("not_stationary", "x", "#636363")):
            gaps = [r["gap"] for r in rows if r["width"] == s["width"] and r["classification"] == klass]
            if gaps:
                jitter = np.linspace(-0.15, 0.15, len(gaps)) if len(gaps) > 1 else [0.0]
                ax_gap.scatter(np.array(jitter) + s["width"], np.maximum(gaps, 1e-16), marker=marker, color=color,
                               s=22, label=klass.replace("_", " "))
    shown = [max(r["gap"], 1e-16) for r in rows if r["classification"] in ("stationary_not_global", "not_stationary")]
    if shown and max(shown) > 10 * min(shown):  # a log scale only when the gaps span a decade
        from matplotlib.ticker import LogLocator

        ax_gap.set_yscale("log")
        ax_gap.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
    ax_gap.set_xlabel("width m (seeds with equal gaps spread sideways by up to 0.15)")
    ax_gap.set_ylabel("gap L - p* of the others")
    handles, labels = ax_gap.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    for ax in (ax_frac, ax_gap):
        if info.get("m_star") is not None:
            ax.axvline(info["m_star"], color="green", ls="--", lw=1.2, label=f"m* = {info['m_star']}")
        ax.axvline(info["n"] + 1, color="purple", ls=":", lw=1.4, label=f"n + 1 = {info['n'] + 1}")
        ax.set_xticks(widths)
    h, lab = ax_frac.get_legend_handles_labels()
    ax_frac.legend(h, lab, fontsize=7, loc="upper left")
    if uniq:
        ax_gap.legend(list(uniq.values()), list(uniq.keys()), fontsize=7, loc="upper right")
    else:
        ax_gap.text(0.5, 0.5, "every seed reached p*", transform=ax_gap.transAxes, ha="center", fontsize=9)


def training_figure(runs: list[tuple[list[dict[str, Any]], dict[str, Any], str]]) -> Any:
    plt = pyplot()
    fig, axes = plt.subplots(2, len(runs), figsize=(5.6 * len(runs), 6.4), sharex="col", squeeze=False)
    for col, (rows, info, title) in enumerate(runs):
        draw_training(axes[0, col], axes[1, col], rows, info, title)
    fig.tight_layout()
    return fig


def draw_path(ax: Any, path: PathResult, p_star: float, title: str) -> None:
    """Objective along the path (sample index), moves shaded, p* dashed."""
    obj = np.array(path.objective)
    seen: set[str] = set()
    for mv in path.moves:
        label = mv["kind"] if mv["kind"] not in seen else None
        seen.add(mv["kind"])
        ax.axvspan(mv["first"], mv["last"], color=MOVE_COLORS.get(mv["kind"], "#eeeeee"), alpha=0.8, lw=0,
                   label=label)
    ax.plot(np.arange(obj.size), obj, color="black", lw=1.6, label="objective L")
    ax.axhline(p_star, color="red", ls="--", lw=1.0, label=f"p* = {p_star:.6g}")
    ax.set_xlabel("sample along the path")
    ax.set_ylabel("objective of (P_m)")
    ax.set_title(title, fontsize=10)
    handles, labels = ax.get_legend_handles_labels()  # one order in every panel: the curves, then the moves
    order = ["objective L"] + [lab for lab in labels if lab.startswith("p* =")] + list(MOVE_COLORS)
    pairs = sorted(zip(labels, handles), key=lambda lh: order.index(lh[0]) if lh[0] in order else len(order))
    ax.legend([h for _, h in pairs], [lab for lab, _ in pairs], fontsize=7, loc="best")


def path_figure(panels: list[tuple[PathResult, float, str]]) -> Any:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False)
    for ax, (path, p_star, title) in zip(axes[0], panels):
        draw_path(ax, path, p_star, title)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- `convexdual figures`


def training_figures(job: FigureJob) -> list[Path]:
    """Train 20 seeds per width on Example 1 (widths 1-4) and on 3 points on a circle (m* = 2, widths 1-5)."""
    from ..config import load_config
    from ..trainrun import run_training

    configs_dir, out_dir = job.configs, job.out_dir
    runs = []
    for name, widths, title in (("example1.yaml", range(1, 5), "Example 1 (m* = 1, n = 2)"),
                                ("figures/staircase_circle3.yaml", range(1, 6), "3 points on a circle (m* = 2)")):
        cfg = load_config(configs_dir / name)
        s = run_training(cfg, list(widths), list(range(20)), None, progress=False, root=out_dir / "runs" / "train")
        runs.append((s.rows, s.info, f"{title}: Adam + GD, 20 seeds per width"))
    fig = training_figure(runs)
    return save_figure(fig, out_dir, "training_success", (
        "Training (P_m) directly (Adam then backtracking gradient descent, 20 seeds per width) and certifying each "
        "network against p*: top, the fraction certified globally optimal; bottom, the gap of the others "
        "(orange: stationary points that are not global; grey: not stationary), spread sideways by up to 0.15 "
        "around their width so that equal gaps stay visible. m* and n + 1 marked. Runs are "
        "cached in outputs/figures/runs/train/."))


def path_figures(job: FigureJob) -> list[Path]:
    """Inside the optimal set on Example 1 (width 3: connected; width 2: different components), and
    descent paths from random networks of width n + 1."""
    from ..config import load_config
    from ..paths import descent_path, landscape, optimal_path
    from ..pipeline import certified_two_layer as solve
    from ..training import initial_network

    configs_dir, out_dir = job.configs, job.out_dir
    ex1 = solve(load_config(configs_dir / "example1.yaml"))
    land = landscape(ex1)
    one, two = _vertex_by_support(ex1, 1), _vertex_by_support(ex1, 2)
    a3, b3 = split_network(ex1, one, 3), split_network(ex1, two, 3)
    a2, b2 = split_network(ex1, one, 2), split_network(ex1, two, 2)
    inside = optimal_path(land, a3, b3)
    barrier = optimal_path(land, a2, b2)
    fig = path_figure([
        (inside, ex1.p_star, f"Example 1, width 3: {inside.verdict}\n60° neuron (split in two) -> 0° + 120° neurons"),
        (barrier, ex1.p_star, f"Example 1, width 2: {barrier.verdict}\nstraight line between the same two optima"),
    ])
    written = save_figure(fig, out_dir, "path_optimal_set", (
        "Paths between global optima of Example 1. Width 3 (>= min(m* + M*, n + 1) = 3): an explicit path inside "
        "the optimal set (moves shaded), objective flat at p* to "
        f"{inside.summary(ex1.p_star)['max_objective_minus_p_star']:.1e}. Width 2: the staircase puts the two optima in "
        "different components; the straight line between them rises "
        f"{barrier.summary(ex1.p_star)['max_objective_minus_p_star']:.3f} above p*."))
    circle = solve(load_config(configs_dir / "figures" / "staircase_circle3.yaml"))
    panels = []
    for res, title in ((ex1, "Example 1"), (circle, "3 points on a circle")):
        m = res.data.n + 1
        goal = split_network(res, res.widths.m_star_vertex, m)
        start = initial_network(m, res.data.X.shape[1], 0, 1.0, res.config.model.skip)
        p = descent_path(landscape(res), start, goal)
        panels.append((p, res.p_star, f"{title}, width n + 1 = {m}: random network -> global optimum\n"
                                       f"largest increase {p.summary(res.p_star)['max_increase']:.1e}"))
    fig = path_figure(panels)
    written += save_figure(fig, out_dir, "path_descent", (
        "Paths of nonincreasing objective from a random network of width n + 1 to a global optimum (the m* "
        "network, padded): balance neurons, move to the optimum over the current activation patterns, add the "
        "most violating direction in a spare neuron, repeat; then move inside the optimal set. Moves shaded."))
    return written


def _vertex_by_support(result: Any, k: int) -> np.ndarray:
    V = result.polytope.vertices
    return V[int(np.flatnonzero((V > 0).sum(axis=1) == k)[0])]


def split_network(result: Any, c: np.ndarray, m: int) -> Any:
    """The network of coefficients c in m slots: the first feature split in two when a slot is spare."""
    from ..network import Network, network_from_coefficients

    net = network_from_coefficients(result.features, c, None)
    W, a = list(net.W), list(net.a)
    if len(a) < m:  # split the first neuron: coefficient 2/3 + 1/3
        W[0], a[0] = W[0] * np.sqrt(2 / 3), a[0] * np.sqrt(2 / 3)
        W.append(W[0] / np.sqrt(2)), a.append(a[0] / np.sqrt(2))
    d = net.W.shape[1]
    Wm = np.zeros((m, d))
    am = np.zeros(m)
    Wm[: len(a)], am[: len(a)] = np.array(W), np.array(a)
    return Network(W=Wm, a=am, z=None)
