"""Time each analyst notebook top to bottom (issue 7: under a minute each on 2 cores).

    python benchmarks/notebooks.py

Runs every notebook in ``notebooks/`` in a fresh kernel with nbclient, prints a table and
writes ``benchmarks/results/notebooks.json``. Exits 1 when a notebook takes longer than
:data:`TARGET_S`. The test suite runs the notebooks too, but never asserts on their time.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULTS = Path(__file__).resolve().parent / "results" / "notebooks.json"
TARGET_S = 60.0


def time_notebook(path: Path) -> float:
    """Run one notebook in a fresh kernel; return the wall-clock seconds it took."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main() -> int:
    """Time every notebook, print the table, save the JSON; 1 when one misses the target."""
    rows = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        seconds = time_notebook(path)
        rows.append({"notebook": path.name, "seconds": round(seconds, 2), "target_s": TARGET_S})
        sys.stdout.write(f"{path.name:<32} {seconds:7.1f} s  (target < {TARGET_S:.0f} s)\n")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"machine": platform.platform(), "python": platform.python_version(), "rows": rows},
            indent=2,
        )
        + "\n"
    )
    return 1 if any(r["seconds"] >= TARGET_S for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
