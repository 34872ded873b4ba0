"""Shared studies of the output tests: demo-town without fire or police stations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from defibmap.study.pipeline import StudyResult

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo-town"


def no_stations_study(folder: Path) -> Path:
    """Write demo-town's study without fire or police stations (absolute paths)."""
    text = f"""
[study]
name = "Demoton, defibs and candidates only"
synthetic = true
[network]
osm_file = "{(DEMO / "town.osm.bz2").as_posix()}"
max_snap_m = 250
[demand]
file = "{(DEMO / "demand.csv").as_posix()}"
id = "demand_id"
name = "name"
population = "population"
[defibs]
file = "{(DEMO / "defibs.csv").as_posix()}"
id = "site_id"
[candidates]
file = "{(DEMO / "candidates.csv").as_posix()}"
id = "site_id"
[coverage]
thresholds_m = [200, 500]
[ranking]
new_sites = 4
threshold_m = 500
"""
    path = folder / "plain.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def plain(tmp_path_factory: pytest.TempPathFactory) -> StudyResult:
    """Demo-town with no stations: no stations scenario, row or legend entry anywhere."""
    from defibmap import run_study

    return run_study(no_stations_study(tmp_path_factory.mktemp("plain")))
