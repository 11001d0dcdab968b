"""The old import path of :mod:`convexdual.figures.nonconvex` (training and path figures)."""

from .figures.nonconvex import (MOVE_COLORS, draw_path, draw_training, path_figure, path_figures, split_network,
                                training_figure, training_figures)

__all__ = ["MOVE_COLORS", "draw_path", "draw_training", "path_figure", "path_figures", "split_network",
           "training_figure", "training_figures"]
