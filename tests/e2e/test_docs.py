"""The user documentation keeps up with the code it describes."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import defibmap
from defibmap.io import postcodes, sites
from defibmap.network import faults

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: The pages a user reads; each ``defibmap.x.y`` they name must exist.
PAGES = [
    ROOT / "README.md",
    *sorted(DOCS.glob("*.md")),
    ROOT / "notebooks" / "README.md",
    ROOT / "benchmarks" / "README.md",
]
#: (``defibmap.gpkg`` is an output file's name, not a module)
DOTTED = re.compile(r"\bdefibmap(?:\.(?!gpkg\b)[A-Za-z_][A-Za-z0-9_]*)+")


def _resolve(dotted: str) -> object:
    """The module or attribute a dotted ``defibmap...`` name stands for (AttributeError if none)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise AssertionError(dotted)


def test_every_rejection_reason_is_documented() -> None:
    text = (DOCS / "inputs.md").read_text(encoding="utf-8")
    for reason in (
        *sites.REASONS,
        faults.ISLAND_REASON,
        "farther than 250 m from the",
        postcodes.POSTCODE_NOT_FOUND,
    ):
        assert f"`{reason}" in text, reason


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_path_in_the_docs_exists(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for dotted in sorted(set(DOTTED.findall(text))):
        _resolve(dotted)
        private = [p for p in dotted.split(".") if p.startswith("_") and not p.startswith("__")]
        assert not private, f"{page.name} names the internal {dotted}"


def test_resolve_fails_on_a_stale_name() -> None:
    with pytest.raises(AttributeError):
        _resolve("defibmap.network.no_such_function")
    with pytest.raises(AttributeError):
        _resolve("defibmap.drive")


def test_the_readme_layout_names_every_package() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Package layout", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    for module in pkgutil.iter_modules(defibmap.__path__):
        name = f"{module.name}/" if module.ispkg else f"{module.name}.py"
        assert name in layout, name
