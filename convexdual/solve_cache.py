"""What one solve leaves for the next solve of the same data, as an explicit object.

A sweep over beta or widths solves the same X many times: the activation patterns (with their facet
rows and prepared cones) are enumerated once, and the active blocks and features of the last solve
seed the next one. The answer depends on neither; only the time does. A :class:`SolveCache` holds
one entry of each (the last data seen); callers that solve one instance need none.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import Config
from .dual import Cones, prepared_cones
from .patterns import Patterns, cell_facets, enumerate_patterns, sample_patterns


def array_key(*arrays: np.ndarray) -> tuple[str]:
    """A hashable key for the exact contents of arrays (sha256 of shape, dtype and bytes)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return (h.hexdigest(),)


@dataclass
class SolveCache:
    """The last patterns computed and the last active set found, keyed by the exact data."""

    patterns: dict[tuple[Any, ...], tuple[Patterns, np.ndarray | None, Cones | None]] = field(default_factory=dict)
    active: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)

    def clear(self) -> None:
        self.patterns.clear()
        self.active.clear()

    def patterns_for(self, X: np.ndarray, cfg: Config) -> tuple[Patterns, np.ndarray | None, Cones | None, bool]:
        """The patterns of X (with their facet rows and, for d <= 3, their prepared cones), reused
        when the previous solve had the same X and pattern settings. Returns (patterns, facets,
        cones, reused)."""
        key = array_key(X) + (cfg.patterns.mode, cfg.patterns.n_samples, cfg.patterns.seed)
        if key in self.patterns:
            return (*self.patterns[key], True)
        if cfg.patterns.mode == "exact":
            patterns = enumerate_patterns(X)
            facets = cell_facets(X, patterns.D)  # a sampled set lacks neighbours: its cones keep every row
        else:
            patterns = sample_patterns(X, cfg.patterns.n_samples, cfg.patterns.seed)
            facets = None
        cones = prepared_cones(X, patterns.D, facets)
        self.patterns.clear()
        self.patterns[key] = (patterns, facets, cones)
        return patterns, facets, cones, False

    @staticmethod
    def start_key(X: np.ndarray, y: np.ndarray, cfg: Config) -> tuple[Any, ...]:
        """The data and settings under which a previous active set is a valid start."""
        return array_key(X, y) + (cfg.problem, cfg.model.skip, cfg.patterns.mode, cfg.patterns.n_samples,
                                  cfg.patterns.seed)

    def start(self, key: tuple[Any, ...]) -> dict[str, Any]:
        """Keyword arguments seeding :func:`optimum.certified_optimum` (empty when none fit)."""
        return self.active.get(key, {})

    def remember(self, key: tuple[Any, ...], blocks: list[tuple[int, int]], cuts: np.ndarray) -> None:
        """Keep this solve's active blocks and feature rows for the next solve of the same data."""
        self.active.clear()
        self.active[key] = {"start": blocks, "start_cuts": cuts}
