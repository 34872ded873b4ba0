"""The coverage lost to defibs that are not ready: what maintenance alone would win back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pytest
from demo_study import DATA, demo_with_defibs

import defibmap

if TYPE_CHECKING:
    from pathlib import Path


def test_coverage_lost_equals_a_run_with_every_defib_ready(tmp_path: Path) -> None:
    shipped = pd.read_csv(DATA / "demo-town" / "defibs.csv", dtype=str)
    broken = {"defib-14": "Not ready", "defib-22": "Not ready"}
    with_status = shipped.assign(status=shipped["site_id"].map(broken).fillna("Ready"))
    not_ready = defibmap.run_study(
        demo_with_defibs(tmp_path, with_status, "status", as_of="2026-05-01")
    )
    all_ready = defibmap.run_study(demo_with_defibs(tmp_path, shipped, "plain", as_of="2026-05-01"))
    found = not_ready.summary()["readiness"]
    assert isinstance(found, dict)
    assert found["as_of"] == "2026-05-01"
    assert sorted(found["not_ready_ids"]) == ["defib-14", "defib-22"]
    assert found["reasons"]["status"] == 2
    for key, share in all_ready.coverage_available.items():
        lost = share - not_ready.coverage_available[key]
        assert found["coverage_lost_available"][key] == pytest.approx(lost, abs=1e-12)
        night = all_ready.coverage_night[key] - not_ready.coverage_night[key]
        assert found["coverage_lost_night"][key] == pytest.approx(night, abs=1e-12)
    # a 24/7 outside cabinet is among them: it costs night coverage at the headline walk
    assert found["coverage_lost_night"]["500"] > 0
    assert all_ready.summary()["readiness"]["not_ready"] == 0
