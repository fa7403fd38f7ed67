"""The repository's own write-up of the mathematics (``docs/``) is what code cites.

* every ``docs/<page>.md#<anchor>`` written anywhere in the repository (code,
  kernels, tests, benchmarks, README, the docs themselves) names a page that
  exists and a heading of it that produces that anchor on GitHub; so do the
  relative links between the docs pages;
* no file cites the internal specification, a document users do not have,
  by name or by its section numbers (a section sign and a number; docs/ is
  cited by anchor).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
SOURCE_SUFFIXES = {".py", ".cu", ".cuh", ".h", ".md", ".toml"}
SCANNED = ("gpunep", "kernels", "tests", "benchmarks", "docs", "README.md", "pyproject.toml")

# Spelled in two parts so that this file does not cite it.
SPEC_NAME = "NEP_" + "SPEC"
SECTION_NUMBER = re.compile("\u00a7" + r"\s*\d")

CITATION = re.compile(r"docs/([\w\-]+\.md)(?:#([\w\-]+))?")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]*)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def source_files() -> list[Path]:
    files = []
    for name in SCANNED:
        path = REPO / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in sorted(path.rglob("*"))
                         if p.is_file() and p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts)
    return files


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@lru_cache(maxsize=None)
def anchors(page: Path) -> frozenset[str]:
    """Every anchor the headings of ``page`` produce (GitHub numbers repeats -1, -2, ...)."""
    seen: Counter[str] = Counter()
    found = set()
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            slug = github_anchor(match.group(2))
            found.add(slug if seen[slug] == 0 else f"{slug}-{seen[slug]}")
            seen[slug] += 1
    return frozenset(found)


def broken(page: Path, anchor: str | None) -> str | None:
    if not page.is_file():
        return f"no page {page.relative_to(REPO)}"
    if anchor and anchor not in anchors(page):
        return f"{page.relative_to(REPO)} has no heading with anchor #{anchor}"
    return None


def test_github_anchor_rules():
    assert github_anchor("Angular invariants") == "angular-invariants"
    assert github_anchor("NEP3, NEP4 and NEP5") == "nep3-nep4-and-nep5"
    assert github_anchor("k-vector set") == "k-vector-set"
    assert github_anchor("The `zbl` line (ZBL)") == "the-zbl-line-zbl"


def test_docs_pages_exist():
    for page in ("README.md", "descriptors.md", "network.md", "forces.md", "charges.md",
                 "tensors.md", "file-formats.md", "validation.md"):
        assert (DOCS / page).is_file(), page


def test_every_docs_citation_resolves():
    problems = []
    cited = 0
    for path in source_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for page, anchor in CITATION.findall(line):
                cited += 1
                problem = broken(DOCS / page, anchor)
                if problem:
                    problems.append(f"{path.relative_to(REPO)}:{number}: {problem}")
    assert cited > 50, "the code cites docs/ throughout; finding so few means the scan is broken"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_links_between_docs_pages_resolve(page):
    problems = []
    for number, line in enumerate((DOCS / page).read_text(encoding="utf-8").splitlines(), 1):
        for target in MARKDOWN_LINK.findall(line):
            if re.match(r"[a-z]+:", target):
                continue  # external
            name, _, anchor = target.partition("#")
            problem = broken(DOCS / (name or page), anchor or None)
            if problem:
                problems.append(f"docs/{page}:{number}: {problem}")
    assert not problems, "\n".join(problems)


def test_nothing_cites_the_internal_specification():
    offenders = []
    for path in source_files():
        relative = path.relative_to(REPO).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SPEC_NAME in line or SECTION_NUMBER.search(line):
                offenders.append(f"{relative}:{number}")
    assert not offenders, "cite docs/ (and the papers) instead:\n" + "\n".join(offenders)
