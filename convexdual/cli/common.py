"""What every command module shares: the log on stderr."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("convexdual")


def setup_logging(verbose: bool) -> None:
    """INFO (``--verbose``) or WARNING messages of the ``convexdual`` logger to stderr."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(message)s")
    log.setLevel(logging.INFO if verbose else logging.WARNING)
