"""``python -m convexdual``: the command line (as the ``convexdual`` script)."""

from .cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
