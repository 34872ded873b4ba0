"""The analyst notebooks: executed top to bottom on the shipped data, with their key figures.

Each notebook runs in a fresh python3 kernel (ipykernel) with ``notebooks/`` as its working
directory, as a reader would run it. The repository copies carry no outputs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
TIMEOUT_S = 300
# a notebook teaches the API: a helper longer than this is a workaround the API should offer
MAX_HELPER_LINES = 15

# the number of matplotlib figures (PNG outputs) each notebook shows at least
FIGURES = {
    "01_quickstart.ipynb": 1,
    "02_real_data_leeds.ipynb": 8,
    "03_your_council.ipynb": 1,
    "04_what_if.ipynb": 1,
}


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_repository_copy_has_no_outputs(name):
    nb = _read(name)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: outputs not stripped"
            assert cell.execution_count is None, f"{name}: execution count not stripped"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_no_helper_is_longer_than_15_lines(name):
    for i, cell in enumerate(_read(name).cells):
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                lines = node.end_lineno - node.lineno + 1
                assert lines <= MAX_HELPER_LINES, f"{name} cell {i}: {lines}-line helper"


def _code(name: str) -> str:
    return "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")


def test_the_notebooks_teach_the_current_api():
    council = _code("03_your_council.ipynb")
    # postcodes are placed by the study, not looked up by hand
    assert "postcode_file = " in council
    assert "register = " in council
    assert ".map(lookup" not in council
    assert "defibmap.compare(" in _code("04_what_if.ipynb")


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_has_a_title_axis_labels_and_a_reading(name):
    cells = _read(name).cells
    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or "plt.show()" not in cell.source:
            continue
        assert "set_title(" in cell.source or "suptitle(" in cell.source, f"{name} cell {i}"
        assert "set_xlabel(" in cell.source, f"{name} cell {i}"
        assert "set_ylabel(" in cell.source, f"{name} cell {i}"
        after = cells[i + 1] if i + 1 < len(cells) else None
        assert after is not None, f"{name} cell {i}: no reading after the figure"
        assert after.cell_type == "markdown", f"{name} cell {i}: no reading after the figure"
        assert after.source.startswith("*Reading"), f"{name} cell {i}: no reading after it"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_notebook_runs_and_shows_its_figures(name, tmp_path, monkeypatch):
    # the kernel inherits this environment: outputs to a temporary folder (the network cache is
    # already private to the test session, see conftest.py) and figures drawn inline as PNG
    monkeypatch.setenv("DEFIBMAP_NOTEBOOK_OUTPUTS", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = _read(name)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # TIMEOUT_S per cell guards against a hang; speed is not asserted here

    outputs = _outputs(nb)
    errors = [out for out in outputs if out.output_type == "error"]
    assert not errors, errors
    stderr = [out.text for out in outputs if out.output_type == "stream" and out.name == "stderr"]
    assert not stderr, f"{name} printed to stderr (warnings?): {stderr}"
    pngs = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(pngs) >= FIGURES[name], f"{name}: {len(pngs)} figures, expected {FIGURES[name]}"
    if name == "01_quickstart.ipynb":
        pages = [out["data"]["text/html"] for out in outputs if "text/html" in out.get("data", {})]
        assert any("<iframe srcdoc=" in page and "leaflet" in page for page in pages), (
            "the quickstart shows the map inline"
        )
