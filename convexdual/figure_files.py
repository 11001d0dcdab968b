"""The old import path of :mod:`convexdual.figures.files` (the shared pyplot and the figure writer)."""

from .figures.files import pyplot, save_figure

__all__ = ["pyplot", "save_figure"]
