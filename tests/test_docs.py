"""The documentation's cross-references: citations of docs/theory.md name sections that exist,
links between the markdown pages resolve, and no file refers to notes outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
CITATION = re.compile(r"docs/theory\.md((?:[ ,]*(?:and|or)?[ ]*§\d+(?:\s*-\s*§\d+)?(?:\s*\([^)]*\))?)+)")


def theory_sections() -> set[int]:
    """The numbers N of the headings '## §N ...' of docs/theory.md."""
    return {int(n) for n in re.findall(r"^## §(\d+) ", THEORY.read_text(), flags=re.M)}


def slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def cited_sections(text: str) -> list[int]:
    """Every section number cited as 'docs/theory.md §N' (also '§N and §M', '§N-§M')."""
    found = []
    for match in CITATION.finditer(text):
        found += [int(n) for n in re.findall(r"§(\d+)", re.sub(r"\([^)]*\)", "", match.group(1)))]
    return found


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_theory_has_its_numbered_sections():
    assert theory_sections() == set(range(1, 9))


def test_the_citation_pattern_reads_lists_and_ranges():
    assert cited_sections("See docs/theory.md §3 (the dual) and §8 (margins).") == [3, 8]
    assert cited_sections("docs/theory.md §4-§5 and docs/theory.md §1.") == [4, 5, 1]
    assert cited_sections("docs/theory.md") == []


@pytest.mark.parametrize("path", sorted((ROOT / "convexdual").glob("*.py")) + [ROOT / "README.md"],
                         ids=lambda p: p.name)
def test_citations_name_existing_sections(path: Path):
    missing = [n for n in cited_sections(path.read_text()) if n not in theory_sections()]
    assert not missing, f"{path.name} cites docs/theory.md sections that do not exist: {missing}"


def test_core_modules_cite_the_theory():
    for name in ("program", "dual", "optimum", "refine", "optimal_set", "widths", "uniqueness", "vector",
                 "three_layer", "certify", "oracle"):
        doc = (ROOT / "convexdual" / f"{name}.py").read_text().split('"""')[1]
        assert cited_sections(doc), f"the docstring of {name}.py cites no section of docs/theory.md"


def test_markdown_links_resolve():
    """Relative links between the pages point at files that exist, and anchors into a page at headings."""
    broken = []
    for page in markdown_files():
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            if not dest.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and dest.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", dest.read_text(), flags=re.M)
                if anchor not in {slug(h) for h in headings}:
                    broken.append(f"{page.name}: {target}")
    assert not broken, broken


def test_no_file_mentions_notes_outside_the_repository():
    name = "THEORY" + ".md"
    offenders = [str(path.relative_to(ROOT)) for path in repository_files()
                 if path.is_file() and name.encode() in path.read_bytes()]
    assert not offenders, offenders


def repository_files() -> list[Path]:
    """The files git tracks or would track; without git, every file outside .git, .venv and outputs."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.splitlines()
        return [ROOT / rel for rel in listed]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "outputs"}
        return [p for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)]


def test_readme_tables_are_generated_from_the_registries():
    """The config-key table (config schema) and the figures table (figures registry) in the README
    are what ``python -m tests.readme_tables`` renders now."""
    from tests.readme_tables import README, render

    text = README.read_text()
    assert render(text) == text, "README tables are stale: run python -m tests.readme_tables"
    assert "| `model.skip` |" in text and "| example1 | `example1` |" in text
