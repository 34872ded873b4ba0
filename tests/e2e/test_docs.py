"""The user documentation keeps up with the code it describes."""

from __future__ import annotations

from pathlib import Path

from defibmap.io import postcodes, sites
from defibmap.network import faults

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_rejection_reason_is_documented() -> None:
    text = (DOCS / "inputs.md").read_text(encoding="utf-8")
    for reason in (
        *sites.REASONS,
        faults.ISLAND_REASON,
        "farther than 250 m from the",
        postcodes.POSTCODE_NOT_FOUND,
    ):
        assert f"`{reason}" in text, reason
