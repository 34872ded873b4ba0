from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
LEEDS_OSM = DATA / "leeds" / "leeds_inner_ne.osm.bz2"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the network cache of the test run out of the user's cache folder."""
    import os

    os.environ["DEFIBMAP_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def leeds_network():
    from defibmap import network

    return network.from_osm_file(LEEDS_OSM)
