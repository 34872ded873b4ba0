"""Free-text opening hours: understood where they can be, never a reason to stop the run."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pandas as pd
from demo_study import DATA, demo_with_defibs

import defibmap
from defibmap.outputs.write import write_outputs

if TYPE_CHECKING:
    from pathlib import Path


def demo_with_hours(tmp: Path, hours: dict[str, str]) -> Path:
    """The demo town study with its defibs' hours replaced (a copy; the shipped file is kept)."""
    defibs = pd.read_csv(DATA / "demo-town" / "defibs.csv", dtype=str)
    for site, text in hours.items():
        defibs.loc[defibs["site_id"] == site, "opening_hours"] = text
    return demo_with_defibs(tmp, defibs, "defibs")


def test_free_text_hours_run_to_the_end(tmp_path: Path) -> None:
    hours = {
        "defib-22": "24 hours",
        "defib-23": "Mon-Fri 9am-5pm",
        "defib-24": "ask at reception",
    }
    study = demo_with_hours(tmp_path, hours)
    before = (tmp_path / "defibs.csv").read_bytes()
    result = defibmap.run_study(study)
    labels = result.defibs["availability"]
    assert labels["defib-22"] == "24/7"
    assert labels["defib-23"] == "limited hours"
    assert labels["defib-24"] == "unknown"
    assert result.defibs.loc["defib-23", "opening_hours"] == "Mo-Fr 09:00-17:00"
    # the row with hours not understood is used, not rejected, and listed as a warning
    assert "defib-24" in result.defibs.index
    assert "defib-24" not in set(result.rejected["id"])
    written = write_outputs(result, tmp_path / "out")
    warnings = pd.read_csv(written["warnings.csv"])
    assert warnings[["layer", "id", "row", "column", "text"]].to_dict("records") == [
        {
            "layer": "defibs",
            "id": "defib-24",
            "row": 25,
            "column": "opening_hours",
            "text": "ask at reception",
        }
    ]
    assert warnings["file"].iloc[0].endswith("defibs.csv")
    assert "Mon-Fri 9am-5pm" in warnings["warning"].iloc[0]
    summary = json.loads(written["summary.json"].read_text(encoding="utf-8"))
    assert summary["warnings"]["opening_hours_not_understood"] == 1
    assert (tmp_path / "defibs.csv").read_bytes() == before
