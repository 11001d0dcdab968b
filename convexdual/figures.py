"""Figures (the edge of the pipeline): read results, draw them, write PNG + PDF + caption."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from .results import atomic_write_text, dumps

log = logging.getLogger("convexdual")


def _save(fig: Any, out_dir: Path, stem: str, caption: str) -> list[Path]:
    """Write PNG, PDF and a caption sidecar; say so when replacing earlier files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = out_dir / f"{stem}.{ext}"
        if path.exists():
            log.warning("replacing %s", path)
        tmp = out_dir / f".{stem}.tmp.{ext}"
        fig.savefig(tmp, dpi=150, bbox_inches="tight")
        tmp.replace(path)
        paths.append(path)
    paths.append(atomic_write_text(out_dir / f"{stem}.txt", caption + "\n", overwrite=True))
    return paths


def plot_optimal_set(result: dict[str, Any], title: str) -> Any:
    """Left: data and optimal directions (2-D inputs). Right: P* projected on two coefficients."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dirs = np.array([d["w"] for d in result["directions"]])
    signs = np.array([d["sign"] for d in result["directions"]])
    V = np.array(result["vertices"]) if result["vertices"] is not None else None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.6))
    labels = [_direction_label(u, s) for u, s in zip(dirs, signs)]

    X = np.array(result["config"]["data"].get("X") or _circle(result))
    t = np.linspace(0, 2 * np.pi, 200)
    ax1.plot(np.cos(t), np.sin(t), color="0.85", lw=1)
    ax1.scatter(X[:, 0], X[:, 1], s=60, color="black", zorder=3, label="data x_k")
    for u, s, lab in zip(dirs, signs, labels):
        ax1.annotate("", xy=u[:2], xytext=(0, 0),
                     arrowprops=dict(arrowstyle="->", color="tab:blue" if s > 0 else "tab:red", lw=2))
        ax1.text(1.25 * u[0], 1.25 * u[1], lab, ha="center", va="center", fontsize=9)
    ax1.set_aspect("equal")
    ax1.set_xlim(-1.4, 1.4)
    ax1.set_ylim(-1.4, 1.4)
    ax1.set_xlabel("first input coordinate")
    ax1.set_ylabel("second input coordinate")
    ax1.set_title("data and optimal neuron directions u_k\n(blue: a > 0, red: a < 0)", fontsize=10)
    ax1.legend(loc="lower left", fontsize=8)

    if V is not None and len(V):
        order = np.argsort(-np.array(result["coef_max"]))
        i, j = sorted(order[:2]) if len(order) > 1 else (0, 0)
        cards = (V > 0).sum(axis=1)
        if len(V) == 2:
            ax2.plot(V[:, i], V[:, j], color="tab:green", lw=3, label="optimal polytope P*")
        for v, card in zip(V, cards):
            ax2.scatter(v[i], v[j], s=80, zorder=3, color="tab:purple")
            ax2.annotate(f"vertex, {card} neuron{'s' if card > 1 else ''}", (v[i], v[j]),
                         textcoords="offset points", xytext=(8, 6), fontsize=9)
        ax2.set_xlabel(f"coefficient c of direction {labels[i]}")
        ax2.set_ylabel(f"coefficient c of direction {labels[j]}")
        ax2.legend(loc="upper right", fontsize=8)
        ax2.margins(0.15)
    ax2.set_title(f"optimal set in coefficient space: m* = {result['m_star']}, M* = {result['M_star']}\n"
                  f"p* = {result['p_star']:.6g}, dim P* = {result['polytope_dim']}", fontsize=10)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def _circle(result: dict[str, Any]) -> list[list[float]]:
    angles = np.deg2rad(result["config"]["data"]["angles_deg"])
    return np.column_stack([np.cos(angles), np.sin(angles)]).tolist()


def _direction_label(u: np.ndarray, s: int) -> str:
    if len(u) == 2:
        return f"{np.degrees(np.arctan2(u[1], u[0])) % 360:.0f}°"
    return "(" + ", ".join(f"{x:.2f}" for x in u) + ")" + ("+" if s > 0 else "-")


def regenerate_all(out_dir: Path, configs_dir: Path) -> list[Path]:
    """Solve the example configs and draw their figures; returns the files written."""
    import matplotlib.pyplot as plt

    from .config import load_config
    from .pipeline import solve

    written: list[Path] = []
    cfg = load_config(configs_dir / "example1.yaml")
    result = solve(cfg).to_dict()
    written.append(atomic_write_text(out_dir / "example1_result.json", dumps(result) + "\n", overwrite=True))
    fig = plot_optimal_set(result, "Example 1 (THEORY.md Sec. 6): two points at 120°, y = (1, 1), beta = 0.1")
    caption = (
        "Example 1. Left: the two data points on the unit circle and the optimal neuron directions "
        "(0°, 60°, 120°), read off the dual optimum nu* by exact cone projection. Right: the optimal "
        "polytope P* = {c >= 0 : sum_k c_k h_k = y_hat*} projected on two coefficients; its vertices "
        f"are the irreducible solutions. Computed: p* = {result['p_star']:.10g}, m* = {result['m_star']}, "
        f"M* = {result['M_star']}, vertices with {result['vertex_cardinalities']} nonzeros."
    )
    written += _save(fig, out_dir, "example1_optimal_set", caption)
    plt.close(fig)
    return written
