"""Writing figures (the edge where matplotlib lives): the shared pyplot and the atomic writer of
a figure's files and caption. Every figure module imports these from here."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..results import atomic_write_text, replacing

log = logging.getLogger("convexdual")


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (figures are only written to files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, out_dir: Path, stem: str, caption: str, formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Write the figure in ``formats`` and a caption sidecar atomically; say so when replacing
    earlier files."""
    plt = pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in formats:
        path = out_dir / f"{stem}.{ext}"
        if path.exists():
            log.info("replacing %s", path)
        with replacing(path, f".tmp.{ext}") as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight")
        paths.append(path)
    paths.append(atomic_write_text(out_dir / f"{stem}.txt", caption + "\n", overwrite=True))
    plt.close(fig)
    return paths
