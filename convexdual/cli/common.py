"""What every command module shares: the log on stderr and the scalar two-layer guard."""

from __future__ import annotations

import logging
import sys
from typing import Any

from ..errors import ConfigError

log = logging.getLogger("convexdual")


def setup_logging(verbose: bool) -> None:
    """INFO (``--verbose``) or WARNING messages of the ``convexdual`` logger to stderr."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(message)s")
    log.setLevel(logging.INFO if verbose else logging.WARNING)


def scalar_only(cfg: Any, command: str) -> None:
    """Vector-output and three-layer configs run through solve, sweep, plot, figures and certify;
    the other commands handle the scalar two-layer network only."""
    if cfg.outputs > 1:
        raise ConfigError(f"convexdual {command} handles scalar outputs only (model.outputs = 1); "
                          f"this config has model.outputs = {cfg.outputs}")
    if cfg.architecture != "two_layer":
        raise ConfigError(f"convexdual {command} handles two-layer networks only; this config has "
                          f"model.architecture = {cfg.architecture}")
