from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
LEEDS_OSM = DATA / "leeds" / "leeds_inner_ne.osm.bz2"
_SETTINGS = (
    "overpass_url",
    "nominatim_url",
    "cache_folder",
    "use_cache",
    "requests_timeout",
    "doh_url_template",
    "overpass_rate_limit",
)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the network cache of the test run out of the user's cache folder."""
    import os

    os.environ["DEFIBMAP_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def leeds_network():
    from defibmap.network import from_osm_file

    return from_osm_file(LEEDS_OSM)


@pytest.fixture
def no_osm_servers(tmp_path, monkeypatch):
    """osmnx's Overpass and Nominatim on a closed local port, no proxy, no DNS-over-HTTPS.

    osmnx's settings and ``socket.getaddrinfo`` (osmnx's DNS set-up replaces it) are
    restored afterwards.
    """
    import socket

    import osmnx as ox
    from fake_overpass import closed_port

    saved = {name: getattr(ox.settings, name) for name in _SETTINGS}
    getaddrinfo = socket.getaddrinfo
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    ox.settings.overpass_url = f"http://127.0.0.1:{closed_port()}/api"
    ox.settings.nominatim_url = f"http://127.0.0.1:{closed_port()}/"
    ox.settings.cache_folder = str(tmp_path / "osmnx-default")
    ox.settings.doh_url_template = None  # never ask Google's DNS from a test
    yield
    for name, value in saved.items():
        setattr(ox.settings, name, value)
    socket.getaddrinfo = getaddrinfo


@pytest.fixture
def offline(no_osm_servers, tmp_path, monkeypatch):
    """No OpenStreetMap server, an empty cache, and a working folder of its own."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("DEFIBMAP_CACHE_DIR", str(cache))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return cache


@pytest.fixture(scope="session")
def trafford(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trafford's real ONS tables, register and postcodes, unpacked from ``tests/data/trafford``.

    The shipped copies are gzip files derived by ``scripts/derive_data.py`` (whole files, the
    postcodes cut to the register's); the readers take them as published, uncompressed.
    """
    import gzip

    folder = tmp_path_factory.mktemp("trafford")
    for packed in sorted((REPO / "tests" / "data" / "trafford").glob("*.csv.gz")):
        (folder / packed.name.removesuffix(".gz")).write_bytes(gzip.decompress(packed.read_bytes()))
    return folder
