"""The README's generated tables: the config keys (from the config schema) and the figures (from the
figures registry), each between its ``<!-- NAME:begin -->`` / ``<!-- NAME:end -->`` markers.

``python -m tests.readme_tables`` rewrites them; ``tests/test_docs.py`` checks they are current.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

README = Path(__file__).resolve().parent.parent / "README.md"


def _config_keys() -> str:
    from convexdual.config import keys_markdown

    return keys_markdown()


def _figures() -> str:
    from convexdual.figures import registry_markdown

    return registry_markdown()


TABLES: dict[str, Callable[[], str]] = {"config-keys": _config_keys, "figures": _figures}


def render(text: str) -> str:
    """``text`` with every generated table replaced by its current rendering."""
    for name, make in TABLES.items():
        pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README.md lacks the <!-- {name}:begin/end --> markers")
        table = make().rstrip("\n") + "\n"
        text = pattern.sub(lambda m: m.group(1) + table + m.group(2), text)
    return text


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
