"""Every default has a source: ``defibmap/defaults.py`` and ``docs/references.md`` agree.

- every public constant of :mod:`defibmap.defaults` is in its ``__all__``;
- every name in ``__all__`` has an entry in ``docs/references.md`` (a ``###`` heading or a
  top-level list item naming it in backticks) that says ``Source:`` or ``Assumption``;
- every name in ``__all__`` is imported from :mod:`defibmap.defaults` somewhere else in the
  package, so the file and the code cannot drift apart;
- the in-page links of ``docs/references.md`` point at headings that exist;
- no tracked ``.py``/``.md``/``.ipynb``/``.toml`` file cites a brief outside the repository.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from defibmap import defaults

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "defibmap"
REFERENCES = ROOT / "docs" / "references.md"

#: Files outside the repository that code and docs must never cite, built from parts so
#: this file does not contain them either.
FORBIDDEN = ("PRODUCT" + ".md", "STYLE" + ".md")
SCANNED_SUFFIXES = {".py", ".md", ".ipynb", ".toml"}

_HEADING = re.compile(r"^#{1,6}\s")
_TOP_ITEM = re.compile(r"^- ")


def entries(markdown: str) -> list[str]:
    """Split a page into entries: each starts at a heading or a top-level ``- `` item."""
    blocks: list[list[str]] = [[]]
    for line in markdown.splitlines():
        if _HEADING.match(line) or _TOP_ITEM.match(line):
            blocks.append([])
        blocks[-1].append(line)
    return ["\n".join(b) for b in blocks if b]


def missing_entries(names: list[str], markdown: str) -> dict[str, str]:
    """Names with no entry of their own, or whose entry gives neither a source nor "Assumption".

    An entry is "of its own" when its first line (the heading or list item) names the
    constant in backticks.
    """
    found = entries(markdown)
    problems: dict[str, str] = {}
    for name in names:
        own = [e for e in found if f"`{name}`" in e.splitlines()[0]]
        if not own:
            problems[name] = "no entry (a ### heading or top-level list item naming it)"
        elif not any("Source:" in e or "Assumption" in e for e in own):
            problems[name] = "entry says neither 'Source:' nor 'Assumption'"
    return problems


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.lstrip("#").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


# --- the checker itself, on pages built by hand ----------------------------------------------


def test_checker_finds_a_missing_and_an_unsourced_entry() -> None:
    page = (
        "# Title\n\n"
        "### `A_M` = 1 m\n\nSource: someone 2020.\n\n"
        "### `B_S` = 2 s\n\nJust a number.\n\n"
        "- `C_KPH`: Assumption, a guess,\n"
        "  compared with `D_M`. Source: irrelevant.\n"
    )
    got = missing_entries(["A_M", "B_S", "C_KPH", "D_M", "E_M"], page)
    assert set(got) == {"B_S", "D_M", "E_M"}
    assert "neither" in got["B_S"]
    assert "no entry" in got["D_M"]  # named only inside another entry, not on its first line
    assert "no entry" in got["E_M"]


def test_slug_matches_github_anchors() -> None:
    assert _slug("### Deakin 2018") == "deakin-2018"
    assert _slug("### DfE school week") == "dfe-school-week"
    assert _slug("### `AMBULANCE_S` = 420 s") == "ambulance_s--420-s"


# --- the real page and module -----------------------------------------------------------------


def test_all_lists_every_public_constant() -> None:
    public = {
        n for n in vars(defaults) if re.fullmatch(r"[A-Z][A-Z0-9_]*", n) and n != "TYPE_CHECKING"
    }
    assert public == set(defaults.__all__)


def test_every_default_has_a_sourced_entry() -> None:
    problems = missing_entries(list(defaults.__all__), REFERENCES.read_text(encoding="utf-8"))
    assert problems == {}, f"docs/references.md: {problems}"


def _names_imported_from_defaults(path: Path) -> set[str]:
    """Names a module takes from defibmap.defaults (``from ... import X`` or ``defaults.X``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "defibmap.defaults":
            names.update(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "defaults"
        ):
            names.add(node.attr)
    return names


def test_every_default_is_used_by_the_package() -> None:
    used: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if path != PACKAGE / "defaults.py":
            used |= _names_imported_from_defaults(path)
    unused = sorted(set(defaults.__all__) - used)
    assert unused == [], f"defaults with no user outside defaults.py: {unused}"


def test_in_page_links_resolve() -> None:
    text = REFERENCES.read_text(encoding="utf-8")
    anchors = {_slug(line) for line in text.splitlines() if _HEADING.match(line)}
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links, "the page links its sources"
    assert sorted(links - anchors) == []


def _tracked_files() -> list[Path]:
    """The repository's files git tracks or would track, or every file when git is absent."""
    git = shutil.which("git")
    if git is not None and (ROOT / ".git").exists():
        out = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        return [ROOT / p for p in out.split("\0") if p]
    skip = {".git", ".venv", "node_modules", "__pycache__"}
    return [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.parts)]


def test_no_file_cites_a_brief_outside_the_repository() -> None:
    files = [p for p in _tracked_files() if p.suffix in SCANNED_SUFFIXES and p.is_file()]
    assert any(p.name == "references.md" for p in files)  # the scan sees the docs
    hits = [
        f"{p.relative_to(ROOT)}: {word}"
        for p in files
        for word in FORBIDDEN
        if word in p.read_text(encoding="utf-8", errors="replace")
    ]
    assert hits == []


@pytest.mark.parametrize("name", ["WALKING_SPEED_M_S", "AMBULANCE_S", "DEFAULT_SCHOOL_TERM_WEEKS"])
def test_sourced_values_match_their_sources(name: str) -> None:
    """The published figures, worked from the sources' own units."""
    expected = {
        "WALKING_SPEED_M_S": round(4 * 1609.344 / 3600, 2),  # 4 mph (Deakin 2018)
        "AMBULANCE_S": 7 * 60.0,  # Category 1 mean, 7 minutes (NHS England 2017)
        "DEFAULT_SCHOOL_TERM_WEEKS": 195 // 5,  # 195 working days, 5 a week
    }
    assert getattr(defaults, name) == expected[name]
