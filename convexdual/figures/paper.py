"""The figure groups of ``convexdual figures`` on the convex side: each solves or sweeps its configs
and writes its files (PNG + PDF + a caption file) into the output folder. The registry
(:mod:`convexdual.figures.registry`) lists them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..results import atomic_write_text, dumps
from .draw import draw_directions, draw_polytope, figure_example1, figure_phase, figure_staircase, figure_value_width
from .files import pyplot, save_figure
from .registry import FigureJob

def example1_figures(job: FigureJob) -> list[Path]:
    """Example 1: its result (JSON), its directions and polytope, and Figure 2 (the optimal sets for
    m = 1, 2, 3 in output-weight space)."""
    configs_dir, out_dir, solved = job.configs, job.out_dir, job.solved
    written: list[Path] = []
    ex1 = solved(configs_dir / "example1.yaml")
    written.append(atomic_write_text(out_dir / "example1_result.json", dumps(ex1) + "\n", overwrite=True))
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.6))
    draw_directions(a1, ex1)
    draw_polytope(a2, ex1)
    fig.suptitle("Example 1 of the paper: two points at 120°, y = (1, 1), beta = 0.1", fontsize=11)
    fig.tight_layout()
    written += save_figure(fig, out_dir, "example1_optimal_set", (
        "Example 1. Left: the data and the optimal neuron directions (0°, 60°, 120°), read off the dual "
        "optimum by exact cone projection. Right: the optimal polytope P* projected on two coefficients; "
        f"its vertices are the irreducible solutions. Computed: p* = {ex1['p_star']:.10g}, m* = {ex1['m_star']}, "
        f"M* = {ex1['M_star']}."))
    written += save_figure(figure_example1(ex1), out_dir, "figure2_example1", (
        "Figure 2. Example 1. (a) the optimal polytope in coefficient space; (b-d) the global optima of the "
        "width-m network for m = 1, 2, 3 in output-weight space, up to permutation of neurons: m = 1 one "
        "isolated point; m = 2 an isolated point (neurons at 0° and 120°) and an arc (two neurons sharing "
        "60°); m = 3 one connected set (a sphere patch joined by paths along P*). Computed from the vertices "
        f"of P*: {np.array(ex1['vertices']).round(6).tolist()}."))
    return written


def staircase_figure(job: FigureJob) -> list[Path]:
    """Figure 1: the staircase of connectivity on 3 and 5 points on a circle."""
    figs, out_dir, solved = job.configs / "figures", job.out_dir, job.solved
    stair = [(f"{name}: m* = {r['m_star']}, M* = {r['M_star']}, n = {r['n']}", r)
             for name, r in (("3 points at 120°", solved(figs / "staircase_circle3.yaml")),
                             ("5 points at 72°", solved(figs / "staircase_circle5.yaml")))]
    return save_figure(figure_staircase(stair), out_dir, "figure1_staircase", (
        "Figure 1. Staircase of connectivity computed exactly from the optimal polytope (one convex solve "
        "per instance). Bars: isolated optimal points and continuum components of the optimal set of the "
        "width-m network, counted up to permutation. Dashed: m*, M*, m* + M*, n + 1. Configs: "
        "configs/figures/staircase_circle3.yaml, staircase_circle5.yaml."))


def vector_figure(job: FigureJob) -> list[Path]:
    """The staircase of two vector-output instances (c = 2), nc + 1 marked."""
    vector_dir, out_dir, solved = job.configs / "vector", job.out_dir, job.solved
    panels = []
    for name, file in (("6 points at 60°, Y alternating (1,0), (0,1)", "hexagon_c2.yaml"),
                       ("3 points at 120°, Y = (1, 0.5) at every point", "circle3_c2.yaml")):
        r = solved(vector_dir / file)
        panels.append((f"{name}\nc = {r['output_dim']}: m* = {r['m_star']}, M* = {r['M_star']}, "
                       f"nc + 1 = {r['n'] * r['output_dim'] + 1}", r))
    fig = figure_staircase(panels)
    fig.suptitle("Vector outputs: staircase of connectivity of the global optima (optimal polytope in R^(nc))", fontsize=11)
    return save_figure(fig, out_dir, "vector_staircase", (
        "Vector-valued outputs: the staircase of connectivity per width, computed from the "
        "optimal polytope in R^{nc} (exact dual oracle, certified). Dashed: m*, M*, m* + M*, n + 1 and nc + 1, "
        "from which the optimal set is connected. Configs: configs/vector/hexagon_c2.yaml, circle3_c2.yaml."))


THREE_LAYER_SEEDS = 10


def three_layer_figure(job: FigureJob) -> list[Path]:
    """The first-layer direction set of a parallel three-layer instance against trained networks."""
    config_dir, out_dir = job.configs / "three_layer", job.out_dir
    from ..config import load_config
    from ..pipeline import certified_solve as solve
    from ..three_layer import three_layer_objective, train_three_layer, used_first_layer_directions

    cfg = load_config(config_dir / "gaussian_n5.yaml")
    r = solve(cfg)
    X, y, p = r.data.X, r.data.y, r.p_star
    runs = []
    for seed in range(THREE_LAYER_SEEDS):
        net = train_three_layer(X, y, beta=cfg.beta, branches=cfg.model.branches, hidden=cfg.model.hidden, seed=seed)
        gap = three_layer_objective(net, X, y, cfg.beta) - p
        runs.append((seed, gap, used_first_layer_directions(net, X)))
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.8))
    th = np.linspace(0, 2 * np.pi, 400)
    ax1.plot(np.cos(th), np.sin(th), color="0.8", lw=1)
    for x in X:
        ax1.plot(*(0.45 * x / np.linalg.norm(x)), "s", color="0.4", ms=5)
    dirs = r.directions.directions
    ax1.plot(dirs[:, 0], dirs[:, 1], "o", ms=16, mfc="none", mec="tab:red", mew=2,
             label=f"directions fixed by the dual optimum ({len(dirs)})")
    tol = cfg.certify.gap * max(1.0, p)
    labelled: set[str] = set()
    for k, (seed, gap, U) in enumerate(runs):
        ok = gap <= tol
        name = "trained, global optimum" if ok else "trained, not global"
        jitter = 1 + 0.04 * (k - THREE_LAYER_SEEDS / 2) / THREE_LAYER_SEEDS
        ax1.plot(U[:, 0] * jitter, U[:, 1] * jitter, "." if ok else "x", color="tab:blue" if ok else "tab:orange",
                 ms=7, label=None if name in labelled else name)
        labelled.add(name)
    ax1.plot([], [], "s", color="0.4", ms=5, label="data directions x_k / ||x_k||, drawn at radius 0.45")
    ax1.set_aspect("equal")
    ax1.set_xlim(-1.35, 1.35)
    ax1.set_ylim(-1.35, 1.35)
    ax1.set_xlabel("u_1")
    ax1.set_ylabel("u_2")
    ax1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    ax1.set_title("first-layer unit directions of neurons that carry output", fontsize=10)
    gaps = np.array([max(g, 1e-16) for _, g, _ in runs])
    ok = gaps <= tol
    ax2.semilogy(np.flatnonzero(ok), gaps[ok], "o", color="tab:blue", label="global optimum (certified)")
    ax2.semilogy(np.flatnonzero(~ok), gaps[~ok], "x", color="tab:orange", ms=8, label="not global")
    ax2.axhline(tol, color="black", ls="--", lw=1, label=f"certify.gap x max(1, p*) = {tol:.1e}")
    ax2.set_xlabel("training seed")
    ax2.set_ylabel("objective - p* (log scale)")
    ax2.set_xticks(range(THREE_LAYER_SEEDS))
    ax2.legend(fontsize=8)
    ax2.set_title(f"p* = {p:.8f} from the convex program", fontsize=10)
    fig.suptitle(f"Parallel three-layer ReLU networks ({cfg.name}: n = {r.data.n}, d = {r.data.d}, beta = {cfg.beta:g}; "
                 f"trained with K = {cfg.model.branches} branches of width {cfg.model.hidden})", fontsize=11)
    fig.tight_layout()
    n_ok = int(np.sum(gaps <= tol))
    dist = max((float(np.min(np.linalg.norm(dirs - u, axis=1))) for _, g, U in runs if g <= tol for u in U),
               default=float("nan"))
    return save_figure(fig, out_dir, "three_layer_directions", (
        "Parallel three-layer networks: the finite set of first-layer directions fixed by the dual optimum of the "
        f"convex program (red circles) and the directions used by {THREE_LAYER_SEEDS} trained networks (Adam on the "
        f"unit Frobenius sphere, 20,000 steps). {n_ok} of {THREE_LAYER_SEEDS} reached p* within certify.gap; their "
        f"directions lie within {dist:.1e} of the set. Config: configs/three_layer/gaussian_n5.yaml."))


def value_figure(job: FigureJob) -> list[Path]:
    """The best width-m objective against p*: the gap closes exactly at m*."""
    figs, out_dir, solved = job.configs / "figures", job.out_dir, job.solved
    vw = solved(figs / "value_width.yaml")
    fig = figure_value_width(vw, "Best width-m objective vs p* (5 points at 72°, beta = 0.1)")
    return save_figure(fig, out_dir, "value_vs_width", (
        "Value vs width: the best objective of a width-m network, exact below m* (every set of m (pattern, sign) "
        "blocks tried) and p* from m* on. The gap closes exactly at m* = " f"{vw['m_star']}. "
        "Config: configs/figures/value_width.yaml."))


PHASE_DIAGRAMS = [  # (config, x, rows, title)
    ("phase_beta_d2", "m", "beta", "Random data (X ~ N(0, I) in d = 2 plus a bias, y ~ N(0, 1)), n = 20, 10 seeds"),
    ("phase_n_d2", "m/n", "n", "Random data (X ~ N(0, I) in d = 2 plus a bias, y ~ N(0, 1)), beta = 1, 10 seeds"),
    ("phase_beta_d3", "m", "beta", "Random data (X ~ N(0, I) in d = 3 plus a bias, y ~ N(0, 1)), n = 20, 10 seeds"),
    ("phase_beta_diabetes", "m", "beta", "Real data: scikit-learn diabetes, 10 subsamples of n = 20 patients, "
                                         "3 standardized features plus a bias"),
]
LARGE_PHASE_DIAGRAMS = [  # `convexdual figures --large`
    ("phase_n_d3", "m/n", "n", "Random data (X ~ N(0, I) in d = 3 plus a bias, y ~ N(0, 1)), beta = 1, 10 seeds"),
]


def phase_figures(job: FigureJob) -> list[Path]:
    """Run the phase-diagram sweeps (cached under out_dir/runs) and draw them: the phase diagrams
    over (m, beta) and (m/n, n), the medians against beta, and the measured connectivity width
    against the bound min(m* + M*, n + 1) over every one of these sweeps. ``job.large`` adds
    LARGE_PHASE_DIAGRAMS."""
    import pandas as pd

    from ..sweep import run_sweep
    from .regimes import bound_figure, bound_summary, bound_table, phase_diagram

    figs, out_dir, progress, large = job.configs / "figures", job.out_dir, job.progress, job.large
    written: list[Path] = []
    runs = out_dir / "runs"
    bounds = []
    diagrams = PHASE_DIAGRAMS + (LARGE_PHASE_DIAGRAMS if large else [])
    for name, x, y, title in diagrams:
        run = run_sweep(figs / f"{name}.yaml", [], None, progress=progress, cache_root=runs)
        table = pd.read_csv(run.table_path)
        bounds.append(bound_table(table, name))
        written += save_figure(phase_diagram(table, x, y, title), out_dir, name, (
            f"Phase diagram ({'width m' if x == 'm' else 'width m / n'} across, {y} down): in each cell the fraction "
            "of seeds whose optimal set at that width is connected, has isolated points, has an optimal network "
            "(white 0, black 1); hatched cells hold a seed whose vertices could not be listed and whose m*, M* "
            "bounds do not decide the cell. Markers: medians of m*, M*, the measured connectivity width and "
            f"min(m* + M*, n + 1). {title}. Config: configs/figures/{name}.yaml."))
    g = run_sweep(figs / "phase_gaussian.yaml", [], None, progress=progress, cache_root=runs)
    table = pd.read_csv(g.table_path)
    bounds.append(bound_table(table, "phase_gaussian"))
    fig = figure_phase(table, "beta", "data.n", "data.d",
                       "Random data (X ~ N(0, I), y ~ N(0, 1), with bias): columns input dimension d, lines n")
    written += save_figure(fig, out_dir, "phase_gaussian", (
        "Phase diagram over random data sets: m*, M*, the dimension of the optimal polytope (0: unique optimum) "
        "and the connectivity width (smallest m from which the optimal set stays connected), against beta, "
        "for n = 5, 8, 11 and input dimension d = 1, 2 (plus a bias). Config: configs/figures/phase_gaussian.yaml."))
    dbt = run_sweep(figs / "phase_diabetes.yaml", [], None, progress=progress, cache_root=runs)
    table = pd.read_csv(dbt.table_path)
    bounds.append(bound_table(table, "phase_diabetes"))
    fig = figure_phase(table, "beta", None, None,
                       "Real data: scikit-learn diabetes, subsampled to n = 10 patients, 2 standardized features + bias")
    written += save_figure(fig, out_dir, "phase_diabetes", (
        "Phase diagram on real data (scikit-learn's diabetes set, 8 random subsamples of n = 10 patients, first 2 "
        "standardized features plus a bias, so exact enumeration stays small): m*, M*, dim P*, connectivity "
        "width against beta. Config: configs/figures/phase_diabetes.yaml."))
    df = pd.concat(bounds, ignore_index=True)
    written.append(atomic_write_text(out_dir / "connectivity_bound.csv", df.to_csv(index=False), overwrite=True))
    summary = bound_summary(df)
    written += save_figure(bound_figure(df, "Where the connectivity bound is loose (every phase sweep)"), out_dir,
                           "connectivity_bound", (
        "Measured connectivity width (smallest m from which the optimal set stays connected) against the bound "
        "min(m* + M*, n + 1), per data set with an exact staircase and m* >= 1, over the sweeps "
        f"{', '.join(name for name, *_ in diagrams)}, phase_gaussian and phase_diabetes (table: "
        f"connectivity_bound.csv). {summary}."))
    return written


def _uniqueness_panel(ax: Any, result: Any, title: str) -> str:
    """Two optimal networks (vertices of P*): their functions (1-D), or their level lines over
    their difference (2-D)."""
    from ..uniqueness import analyse, evaluation_inputs, function_of

    from ..network import objective

    u = analyse(result)
    X, y = result.data.X, result.data.y

    def value(net: Any) -> float:  # the objective `uniqueness` prints
        return objective(net, X, y, result.config.problem, result.config.beta)
    raw = X[:, :-1] if result.data.bias else X
    first, second = u.networks[0]["coefficients"], u.networks[-1]["coefficients"]  # the pair that differs most
    verdict = "unique" if u.unique else "NOT unique"
    if raw.shape[1] == 1:
        G, where = evaluation_inputs(result)
        for c, style, label in ((first, "-", "optimal network A"), (second, "--", "optimal network B")):
            net = function_of(result, c)
            ax.plot(G[:, 0], net.predict(G), style, lw=2, label=f"{label}: objective {value(net):.6f}")
        ax.scatter(raw[:, 0], y, color="black", zorder=3, label="data")
        ax.set_xlabel("input x")
        ax.set_ylabel("f(x)")
    else:
        lo, hi = raw.min(axis=0) - 2, raw.max(axis=0) + 2
        g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], 160), np.linspace(lo[1], hi[1], 160))
        P = np.column_stack([g1.ravel(), g2.ravel()])
        if result.data.bias:
            P = np.hstack([P, np.ones((len(P), 1))])
        net_a, net_b = function_of(result, first), function_of(result, second)
        f_a, f_b = net_a.predict(P).reshape(g1.shape), net_b.predict(P).reshape(g1.shape)
        diff = f_a - f_b
        m = max(float(np.abs(diff).max()), 1e-12)
        im = ax.pcolormesh(g1, g2, diff, cmap="RdBu_r", vmin=-m, vmax=m, shading="auto")
        ax.figure.colorbar(im, ax=ax, label="f_A(x) - f_B(x)")
        levels = np.linspace(min(f_a.min(), f_b.min()), max(f_a.max(), f_b.max()), 9)[1:-1]
        ax.contour(g1, g2, f_a, levels=levels, colors="black", linewidths=0.8)
        ax.contour(g1, g2, f_b, levels=levels, colors="black", linewidths=0.8, linestyles="dashed")
        ax.plot([], [], "k-", lw=0.8, label=f"level lines of f_A (objective {value(net_a):.6f})")
        ax.plot([], [], "k--", lw=0.8, label=f"level lines of f_B (objective {value(net_b):.6f})")
        ax.scatter(raw[:, 0], raw[:, 1], color="black", zorder=3, label="data (both interpolate)")
        ax.set_xlabel("input x_1")
        ax.set_ylabel("input x_2")
    ax.set_title(f"{title}\n{verdict}: dim P* = {u.polytope_dim}, dim of optimal functions = {u.function_dim}",
                 fontsize=10)
    ax.legend(fontsize=7, loc="best")
    return f"{title}: {verdict}, dim P* = {u.polytope_dim}, function dim = {u.function_dim}, " \
           f"largest difference {u.max_function_difference:.3g}"


def uniqueness_figures(job: FigureJob) -> list[Path]:
    """One panel per setting: 1-D bias + skip (unique), 1-D bias without skip (n = 5, a constructed
    instance: not unique), 2-D skip with and without bias (not unique); and Figure 3."""
    configs, out_dir = job.configs / "uniqueness", job.out_dir
    from ..config import load_config
    from ..pipeline import certified_two_layer as solve

    plt = pyplot()
    settings = [("d1_bias_skip_unique", "1-D inputs, bias, skip"),
                ("example2_constructed_0", "1-D inputs, bias, no skip (n = 5, constructed as Example 2)"),
                ("d2_skip_bias", "2-D inputs, bias, skip (SB)"), ("d2_skip_nobias", "2-D inputs, no bias, skip (SNB)")]
    fig, axes = plt.subplots(2, 2, figsize=(13, 10))
    lines = [_uniqueness_panel(ax, solve(load_config(configs / f"{name}.yaml")), title)
             for ax, (name, title) in zip(axes.ravel(), settings)]
    fig.suptitle("Minimum-norm interpolation: is the optimal function unique? (two optimal networks A, B = vertices "
                 "of P*, equal norm)", fontsize=11)
    fig.tight_layout()
    written = save_figure(fig, out_dir, "uniqueness_settings", (
        "Uniqueness of minimum-norm interpolators per setting, decided in function space. " + "; ".join(lines)
        + ". Configs: configs/uniqueness/."))
    return written + _example2_figure(solve(load_config(configs / "example2_constructed_0.yaml")), out_dir)


def _example2_figure(result: Any, out_dir: Path) -> list[Path]:
    """Figure 3: optimal interpolants along the segment P* of a constructed Example 2 instance, over the
    data and beyond; kinks of the active neurons marked."""
    from ..network import objective
    from ..uniqueness import function_of

    X, y = result.data.X, result.data.y
    V = result.polytope.vertices
    x = X[:, 0]
    grid = np.linspace(x.min() - 3.0, x.max() + 3.0, 2001)
    G = np.column_stack([grid, np.ones_like(grid)])
    plt = pyplot()
    fig, (ax, ax_d) = plt.subplots(2, 1, figsize=(10, 7.4), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, 5))
    values = []
    base = function_of(result, V[0]).predict(G)
    for lam, color in zip(np.linspace(0, 1, 5), colors):
        net = function_of(result, (1 - lam) * V[0] + lam * V[-1])
        values.append(objective(net, X, y, "interpolation", result.config.beta))
        ax.plot(grid, net.predict(G), color=color, lw=1.8,
                label=f"(1 - t) A + t B, t = {lam:.2f}: objective {values[-1]:.9f}")
        ax_d.plot(grid, net.predict(G) - base, color=color, lw=1.8)
    dirs, signs = result.features.directions, result.features.signs
    used = (V > 0).any(axis=0)
    kinks = [(-d[1] / d[0], s, d[0] > 0) for d, s in zip(dirs[used], signs[used]) if abs(d[0]) > 1e-12]
    for k, (t, _, right) in enumerate(sorted(kinks)):
        for a in (ax, ax_d):
            a.axvline(t, color="tab:red" if not right else "0.6", ls=":", lw=1,
                      label=("kinks of right ReLUs (x - s)_+" if right else "kink of the left ReLU (s - x)_+")
                      if k == 0 or not right else None)
    ax.scatter(x, y, color="black", zorder=5, s=40, label="data")
    ax_d.scatter(x, np.zeros_like(x), color="black", zorder=5, s=25)
    left = min(t for t, _, right in kinks if not right)
    funcs = np.array([function_of(result, (1 - lam) * V[0] + lam * V[-1]).predict(G) for lam in (0.0, 1.0)])
    gap = np.abs(funcs[0] - funcs[1])
    below, above = float(gap[grid < left].max()), float(gap[grid > left].max())
    ax_d.set_xlabel("input x")
    ax.set_ylabel("f(x)")
    ax_d.set_ylabel("f(x) - f_A(x)")
    for a in (ax, ax_d):
        a.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"Figure 3: non-unique minimum-norm interpolators ({result.config.name}, n = 5, bias, no skip)\n"
                 f"every network on the segment P* interpolates with objective p* = {result.p_star:.9f}", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_dir, "figure3_example2", (
        f"Figure 3. A constructed instance of Example 2 ({result.config.name}): five 1-D points, penalized bias, "
        "no skip connection. P* is a segment between two vertices A and B; the optimal networks (1 - t) A + t B "
        f"for t = 0, 0.25, 0.5, 0.75, 1 all interpolate with objectives {min(values):.12g} to {max(values):.12g} "
        f"(p* = {result.p_star:.12g}). Between A and B the functions differ by up to {below:.3g} left of the "
        f"left ReLU's kink (x = {left:.4g}) and by up to {above:.3g} right of it. Config: "
        f"configs/uniqueness/{result.config.name}.yaml."))
