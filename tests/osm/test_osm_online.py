"""OpenStreetMap layers online (osmnx against a local fake Overpass) and offline (pyosmium).

The fake server (tests/fake_overpass.py) listens on 127.0.0.1 only and answers from the real
Leeds extract shipped in data/leeds/ plus a hand-made file of defibrillators and council
buildings (tests/data/osm_defibs_handmade.osm). No test touches the internet: osmnx's
endpoints, cache folder and timeouts are pointed at the server and a temporary folder, and
restored after each test.
"""

from __future__ import annotations

import json
import socket
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import osmium
import osmnx as ox
import pandas as pd
import pytest
import shapely
from fake_overpass import FakeServer, OsmData, closed_port

from defibmap import run_study
from defibmap._errors import InputError, NetworkError
from defibmap.network import walk as network
from defibmap.osm import _raw as _osm_raw
from defibmap.osm import cache as _overpass_cache
from defibmap.osm import features as osm_features

TESTS = Path(__file__).resolve().parents[1]
LEEDS_OSM = TESTS.parent / "data" / "leeds" / "leeds_inner_ne.osm.bz2"
HANDMADE_OSM = TESTS / "data" / "osm_defibs_handmade.osm"
ITS_PBF = TESTS / "data" / "its-example.osm.pbf"
#: The Leeds extract's bounds (data/README.md).
LEEDS_BOX = shapely.box(-1.5535, 53.807, -1.4991, 53.828)
#: About 1 km by 900 m inside it (Chapeltown Road).
SMALL_BOX = shapely.box(-1.535, 53.810, -1.520, 53.818)


@pytest.fixture(scope="module")
def osm_data():
    return OsmData.read([LEEDS_OSM, HANDMADE_OSM])


@pytest.fixture
def server(osm_data):
    srv = FakeServer(osm_data).start()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def osmnx_env(no_osm_servers, tmp_path, monkeypatch):
    """No real server (``no_osm_servers``), short back-off and timeouts, no ./cache."""
    monkeypatch.setattr(_overpass_cache, "BACKOFF_S", 0.01)
    # osmnx pauses 1 s before every Nominatim request (the public server's usage policy)
    monkeypatch.setattr(ox._nominatim, "time", SimpleNamespace(sleep=lambda _s: None))
    monkeypatch.chdir(tmp_path)  # osmnx's default ./cache would land here: it must not
    ox.settings.requests_timeout = 5


@pytest.fixture
def online(server):
    ox.settings.overpass_url = server.overpass_url
    ox.settings.nominatim_url = server.nominatim_url
    return server


def _ids(frame):
    return set(frame["site_id"])


# --------------------------------------------------------------------------------------------
# Online features
# --------------------------------------------------------------------------------------------


@pytest.fixture
def sleeps(monkeypatch):
    """Every pause the code asks for (recorded, not slept): failing at once means none."""
    asked: list[float] = []
    monkeypatch.setattr(_overpass_cache, "time", types.SimpleNamespace(sleep=asked.append))
    return asked


def test_defibrillators_by_place_name(online, tmp_path):
    layer = osm_features.osm_layer("defibrillators", place="Leeds, UK", cache_dir=tmp_path)
    assert list(layer.columns) == list(osm_features.COLUMNS)
    assert _ids(layer) == {"osm_node_9000000001", "osm_node_9000000002", "osm_node_9000000005"}
    row = layer.set_index("site_id").loc["osm_node_9000000001"]
    assert row["location"] == "outside"  # from defibrillator:location
    assert row["locked"] == "yes"
    assert row["opening_hours"] == "24/7"
    chemist = layer.set_index("site_id").loc["osm_node_9000000002"]
    assert chemist["location"] == "indoor"
    assert chemist["access"] == "customers"
    assert chemist["opening_hours"] == "Mo-Fr 09:00-17:00; Sa 10:00-13:00"
    # private and access=no defibs are reported, not counted
    excluded = {r["site_id"]: r["reason"] for r in layer.attrs["excluded"]}
    assert excluded == {"osm_node_9000000003": "access=private", "osm_node_9000000004": "access=no"}
    # hours that are not OSM syntax move to hours_text
    sports = layer.set_index("site_id").loc["osm_node_9000000005"]
    assert sports["opening_hours"] == ""
    assert sports["hours_text"] == "9am-5pm weekdays"
    assert sports["location"] == "outside"  # indoor=no
    assert online.count("/nominatim/search") == 1
    assert online.count("/api/interpreter") == 1
    assert not (tmp_path / "cache").exists()  # nothing in the current directory


def test_online_layers_equal_offline_layers(online, tmp_path):
    council = "Leeds City Council"
    for kind in osm_features.KINDS:
        got = osm_features.osm_layer(
            kind, polygon=LEEDS_BOX, buffer_m=0, council=council, cache_dir=tmp_path
        )
        expected = [
            osm_features.read_extract(f, [kind], polygon=LEEDS_BOX, buffer_m=0)[kind]
            for f in (LEEDS_OSM, HANDMADE_OSM)
        ]
        want = osm_features.finish_layer(pd.concat(expected), kind, council=council)
        assert list(got["site_id"]) == sorted(want["site_id"]), kind
        merged = got.merge(want, on="site_id", suffixes=("", "_file"))
        for column in osm_features.COLUMNS[4:]:
            assert (merged[column] == merged[f"{column}_file"]).all(), (kind, column)
        assert np.allclose(merged["lon"], merged["lon_file"], atol=1e-6), kind
        assert np.allclose(merged["lat"], merged["lat_file"], atol=1e-6), kind
        excluded = {r["site_id"] for r in want.attrs["excluded"]}
        assert {r["site_id"] for r in got.attrs["excluded"]} == excluded, kind


def test_council_buildings_filter_by_operator_or_owner(online, tmp_path):
    layer = osm_features.osm_layer(
        "council_buildings", polygon=LEEDS_BOX, council="leeds city council", cache_dir=tmp_path
    )
    # operator "Leeds City Council" and owner "LEEDS CITY COUNCIL" match; case is ignored
    assert _ids(layer) == {"osm_node_9000000011", "osm_node_9000000012"}
    assert set(layer["kind"]) == {"townhall", "library"}
    reasons = {r["site_id"]: r["reason"] for r in layer.attrs["excluded"]}
    assert "osm_node_9000000013" in reasons  # Nuffield Health's gym
    assert "osm_node_1299655091" in reasons  # Oakwood Library: no operator in the 2014 data
    # without a council every building is kept, from the same cache (no new request)
    before = online.count("/api/interpreter")
    every = osm_features.osm_layer("council_buildings", polygon=LEEDS_BOX, cache_dir=tmp_path)
    assert len(every) == len(layer) + len(reasons)
    assert online.count("/api/interpreter") == before


# --------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------


def test_second_call_uses_the_cache_and_refresh_downloads_again(online, tmp_path):
    first = osm_features.osm_layer("schools", polygon=LEEDS_BOX, cache_dir=tmp_path)
    assert online.count("/api/interpreter") == 1
    second = osm_features.osm_layer("schools", polygon=LEEDS_BOX, cache_dir=tmp_path)
    assert online.count("/api/interpreter") == 1
    assert online.count("/api/status") == 2  # our probe, then osmnx's slot check: first only
    assert second.equals(first)
    again = osm_features.osm_layer("schools", polygon=LEEDS_BOX, cache_dir=tmp_path, refresh=True)
    assert online.count("/api/interpreter") == 2
    assert again.equals(first)
    # the query and the date sit beside the responses, under a hash of the query
    metas = list((tmp_path / "osmnx").glob("*.json"))
    assert len(metas) == 1
    meta = json.loads(metas[0].read_text(encoding="utf-8"))
    assert meta["complete"] is True
    assert meta["query"]["tags"] == {"amenity": "school"}
    assert meta["query"]["overpass"] == online.overpass_url
    assert meta["date"][:4].isdigit()
    assert (tmp_path / "osmnx" / metas[0].stem).is_dir()
    assert len(list((tmp_path / "osm").glob("schools-*.csv"))) == 1


def test_osmnx_response_cache_works_offline(online, tmp_path):
    first = osm_features.osm_layer("schools", polygon=LEEDS_BOX, cache_dir=tmp_path)
    for csv in (tmp_path / "osm").glob("*.csv"):
        csv.unlink()  # only osmnx's responses are left
    online.close()  # and the server is gone
    again = osm_features.osm_layer("schools", polygon=LEEDS_BOX, cache_dir=tmp_path)
    assert again.equals(first)


def test_failed_refresh_keeps_the_old_cache(server, tmp_path):
    ox.settings.overpass_url = server.overpass_url
    first = osm_features.osm_layer("police", polygon=LEEDS_BOX, cache_dir=tmp_path)
    ox.settings.overpass_url = server.overpass_url
    server.script = [503] * 10
    with pytest.raises(NetworkError, match="503"):
        osm_features.osm_layer("police", polygon=LEEDS_BOX, cache_dir=tmp_path, refresh=True)
    server.close()
    again = osm_features.osm_layer("police", polygon=LEEDS_BOX, cache_dir=tmp_path)
    assert again.equals(first)
    assert _ids(again) == {"osm_node_9000000031"}


# --------------------------------------------------------------------------------------------
# Server errors, refused connections, timeouts, name lookups, proxies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_retried(online, tmp_path, status):
    online.script = [status, status]
    layer = osm_features.osm_layer("fire_stations", polygon=LEEDS_BOX, cache_dir=tmp_path)
    assert _ids(layer) == {"osm_node_9000000021"}
    assert online.count("/api/interpreter") == 3


def test_server_error_that_persists_ends_with_a_clear_error(online, tmp_path):
    online.script = [503] * 10
    with pytest.raises(NetworkError) as info:
        osm_features.osm_layer("defibrillators", polygon=LEEDS_BOX, cache_dir=tmp_path)
    message = str(info.value)
    assert "defibrillators" in message
    assert "HTTP 503 after 4 attempts" in message
    assert "[defibs] file" in message
    assert online.count("/api/interpreter") == 1 + _overpass_cache.RETRIES


def test_refused_connection_fails_at_once(sleeps, tmp_path):
    with pytest.raises(NetworkError) as info:
        osm_features.osm_layer("schools", polygon=LEEDS_BOX, cache_dir=tmp_path)
    assert not sleeps  # no back-off pause: it failed at once
    message = str(info.value)
    assert "schools" in message
    assert "cannot connect to the Overpass API" in message
    assert "[defibs] file" in message
    assert "[network] osm_file" in message


def test_timeout_fails_at_once(online, tmp_path):
    ox.settings.requests_timeout = 1
    online.script = ["sleep"]
    online.sleep_s = 10
    with pytest.raises(NetworkError, match="did not answer in time"):
        osm_features.osm_layer("police", polygon=LEEDS_BOX, cache_dir=tmp_path)
    assert online.count("/api/interpreter") == 1  # a timeout is not retried


def test_failed_name_lookup_fails_at_once(tmp_path, monkeypatch):
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        if host == "overpass.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    ox.settings.overpass_url = "http://overpass.invalid/api"
    with pytest.raises(NetworkError, match=r"'overpass\.invalid'.*could not be looked up"):
        osm_features.osm_layer("schools", polygon=LEEDS_BOX, cache_dir=tmp_path)


def test_http_proxy_from_the_environment_is_honoured(online, tmp_path, monkeypatch):
    # the fake server doubles as the proxy: requests sends it absolute URLs for the real host
    monkeypatch.setenv("HTTP_PROXY", online.base_url)
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("no_proxy")

    def no_dns(host):
        raise socket.gaierror(socket.EAI_NONAME, "no DNS in tests")

    monkeypatch.setattr(socket, "gethostbyname", no_dns)  # osmnx's _config_dns
    ox.settings.overpass_url = "http://overpass.example/api"
    layer = osm_features.osm_layer("police", polygon=LEEDS_BOX, cache_dir=tmp_path)
    assert _ids(layer) == {"osm_node_9000000031"}
    hosts = {host for _, _, host in online.requests}
    assert hosts == {"overpass.example"}


# --------------------------------------------------------------------------------------------
# The walking network online
# --------------------------------------------------------------------------------------------


def test_network_from_place_with_a_polygon(online, tmp_path):
    ox.settings.cache_folder = str(tmp_path / "osmnx")
    net = network.from_place(SMALL_BOX)
    assert online.count("/api/interpreter") == 1
    assert net.crs == "EPSG:27700"
    assert net.n_nodes > 100
    again = network.from_place(SMALL_BOX)
    assert online.count("/api/interpreter") == 1  # osmnx's cache
    assert again.n_nodes == net.n_nodes


def test_walk_graph_grown_2km_is_the_extract_network(online, tmp_path, leeds_network):
    graph = osm_features.walk_graph(polygon=LEEDS_BOX, buffer_m=2000, cache_dir=tmp_path)
    net = network.from_graph(network._prepare_walk_graph(graph, None))
    # grown 2 km, the area holds every way of the file: the same network as offline
    assert net.n_nodes == leeds_network.n_nodes
    assert net.n_edges == leeds_network.n_edges
    assert np.isclose(net.edge_length_m.sum(), leeds_network.edge_length_m.sum(), rtol=1e-6)


def test_walk_graph_by_place_name_is_cached(online, tmp_path):
    online.place_names = ("little london",)
    online.place_bounds = SMALL_BOX.bounds
    with pytest.raises(InputError, match="no boundary for the place 'Atlantis'"):
        osm_features.walk_graph(place="Atlantis", buffer_m=0, cache_dir=tmp_path)
    graph = osm_features.walk_graph(place="Little London, Leeds", buffer_m=0, cache_dir=tmp_path)
    assert len(graph) > 100
    requests = len(online.requests)
    again = osm_features.walk_graph(place="Little London, Leeds", buffer_m=0, cache_dir=tmp_path)
    assert len(online.requests) == requests
    assert len(again) == len(graph)


def test_walk_graph_refused_and_timeout_name_the_osm_file_key(sleeps, online, tmp_path):
    ox.settings.requests_timeout = 1
    online.script = ["sleep"]
    online.sleep_s = 10
    with pytest.raises(NetworkError, match=r"walking network.*\[network\] osm_file"):
        osm_features.walk_graph(polygon=LEEDS_BOX, cache_dir=tmp_path)
    ox.settings.overpass_url = f"http://127.0.0.1:{closed_port()}/api"
    with pytest.raises(NetworkError, match=r"\[network\] osm_file"):
        osm_features.walk_graph(polygon=LEEDS_BOX, cache_dir=tmp_path)
    assert not sleeps  # no back-off pause: it failed at once


# --------------------------------------------------------------------------------------------
# Preflight: stop before any work, saying what to download and where
# --------------------------------------------------------------------------------------------


def test_preflight_offline_lists_what_to_download(sleeps, tmp_path):
    with pytest.raises(NetworkError) as info:
        osm_features.preflight(
            "Coventry, UK",
            layers=["network", "defibrillators", "schools"],
            cache_dir=tmp_path,
            download_dir="data/coventry",
            extract_url="https://download.geofabrik.de/europe/united-kingdom/england/west-midlands-latest.osm.pbf",
        )
    assert not sleeps  # no back-off pause: it failed at once
    message = str(info.value)
    missing = [line.split()[1] for line in message.splitlines() if line.startswith("  - ")]
    assert missing == ["network", "defibrillators", "schools"]  # one line each
    assert "west-midlands-latest.osm.pbf" in message
    assert "data/coventry" in message
    assert '[network] osm_file = "data/coventry/west-midlands-latest.osm.pbf"' in message
    assert "the OpenStreetMap layers defibrillators, schools are then read from it" in message
    assert "Nothing was run" in message


def test_preflight_passes_online_and_offline_once_cached(online, tmp_path):
    box = SMALL_BOX
    osm_features.preflight(box, layers=["network", "police"], cache_dir=tmp_path, buffer_m=0)
    osm_features.osm_layer("police", polygon=box, cache_dir=tmp_path, buffer_m=0)
    osm_features.walk_graph(polygon=box, cache_dir=tmp_path, buffer_m=0)
    online.close()
    osm_features.preflight(box, layers=["network", "police"], cache_dir=tmp_path, buffer_m=0)
    with pytest.raises(NetworkError, match="schools"):
        osm_features.preflight(box, layers=["network", "schools"], cache_dir=tmp_path, buffer_m=0)


# --------------------------------------------------------------------------------------------
# Offline: local extracts with pyosmium
# --------------------------------------------------------------------------------------------


def test_offline_schools_match_the_shipped_layer():
    layer = osm_features.osm_layer("schools", osm_file=LEEDS_OSM)
    shipped = pd.read_csv(TESTS.parent / "data" / "leeds" / "schools.csv")
    assert len(layer) == 14
    merged = layer.merge(shipped, on="site_id", suffixes=("", "_shipped"))
    assert len(merged) == 14
    # a way's point is its centroid in British National Grid, as in the shipped file
    assert np.allclose(merged["lon"], merged["lon_shipped"], atol=1e-6)
    assert np.allclose(merged["lat"], merged["lat_shipped"], atol=1e-6)


def test_offline_multipolygon_relation_and_pbf():
    schools = osm_features.osm_layer("schools", osm_file=HANDMADE_OSM)
    assert _ids(schools) == {"osm_relation_9200000001"}
    assert np.allclose(schools[["lon", "lat"]].to_numpy()[0], (-1.512, 53.8235), atol=1e-5)
    libraries = osm_features.osm_layer("council_buildings", osm_file=ITS_PBF)
    assert set(libraries["name"]) == {
        "Edward Boyle Library",
        "Brotherton Library",
        "Laidlaw Library",
        "Cromer Terrace Sports Studio",
    }
    assert set(libraries["kind"]) == {"library", "sports_centre"}


def test_offline_clip_to_a_buffered_boundary():
    small = shapely.box(-1.5300, 53.8100, -1.5200, 53.8150)
    near = osm_features.osm_layer("schools", osm_file=LEEDS_OSM, polygon=small, buffer_m=0)
    wider = osm_features.osm_layer("schools", osm_file=LEEDS_OSM, polygon=small, buffer_m=500)
    every = osm_features.osm_layer("schools", osm_file=LEEDS_OSM)
    assert 0 < len(near) < len(wider) < len(every)
    assert shapely.contains_xy(small, near["lon"], near["lat"]).all()


def test_bad_inputs_are_named():
    with pytest.raises(InputError, match="unknown OpenStreetMap layer 'hospitals'"):
        osm_features.osm_layer("hospitals", osm_file=LEEDS_OSM)
    with pytest.raises(InputError, match="not found"):
        osm_features.osm_layer("schools", osm_file="nowhere.osm.pbf")
    with pytest.raises(InputError, match="exactly one of place"):
        osm_features.osm_layer("schools")


@pytest.mark.parametrize("source", [ITS_PBF, LEEDS_OSM])
def test_clip_extract_is_reference_complete_and_loads(tmp_path, source):
    area = shapely.box(-1.5560, 53.8060, -1.5520, 53.8085)
    dst = tmp_path / "clip.osm.pbf"
    counts = osm_features.clip_extract(source, area, dst, buffer_m=100)
    assert counts["ways"] > 0
    node_ids = set()
    way_refs = set()
    n_ways = 0
    for obj in osmium.FileProcessor(str(dst)):
        if isinstance(obj, osmium.osm.Node):
            node_ids.add(obj.id)
        elif isinstance(obj, osmium.osm.Way):
            n_ways += 1
            way_refs.update(n.ref for n in obj.nodes)
    assert n_ways == counts["ways"]
    assert way_refs <= node_ids  # every way keeps all of its nodes
    clipped = network.from_osm_file(dst)
    assert clipped.n_nodes > 20
    n_source_ways = sum(1 for _ in osmium.FileProcessor(str(source), osmium.osm.WAY))
    assert n_ways < n_source_ways
    libraries = osm_features.osm_layer("council_buildings", osm_file=dst)
    every = osm_features.osm_layer("council_buildings", osm_file=source)
    assert set(libraries["site_id"]) <= set(every["site_id"])


def test_coventry_study_offline_stops_before_any_work(tmp_path):
    from defibmap.config import study_file as config

    study = config.read_study(TESTS.parent / "data" / "studies" / "coventry.toml")
    assert study.network.place == "Coventry, UK"
    boundary = osm_features.boundary_polygon(study.boundary_file)
    assert boundary.bounds[1] > 52.3  # WGS84, around Coventry
    for area in (study.network.place, boundary):
        with pytest.raises(NetworkError, match="Nothing was run") as info:
            osm_features.preflight(
                area,
                layers=["network", "defibrillators", "schools"],
                cache_dir=tmp_path / "cache",
                download_dir="data/coventry",
                osm_file_value="../coventry/west-midlands-latest.osm.pbf",
            )
        assert '[network] osm_file = "../coventry/west-midlands-latest.osm.pbf"' in str(info.value)
    assert not (tmp_path / "cache").exists()  # nothing written


@pytest.mark.parametrize(
    ("indoor", "where", "location"),
    [
        ("", "Outside the community centre, on the wall", "outside"),
        ("", "Inside reception, on the wall", "indoor"),
        ("", "On the wall by the door", "outside"),
        ("", "in the office", ""),
        ("yes", "outside", "indoor"),  # the indoor tag wins
        ("no", "", "outside"),
    ],
)
def test_location_from_tags(indoor, where, location):
    raw = pd.DataFrame(
        [
            {
                "site_id": "osm_node_1",
                "lon": -1.5,
                "lat": 53.8,
                "indoor": indoor,
                "defibrillator:location": where,
            }
        ]
    )
    for tag in _osm_raw.RAW_TAGS:
        if tag not in raw:
            raw[tag] = ""
    layer = osm_features.finish_layer(raw, "defibrillators")
    assert layer.loc[0, "location"] == location


# --------------------------------------------------------------------------------------------
# Whole studies: online through the fake server, and offline from a clipped extract
# --------------------------------------------------------------------------------------------

REPO = TESTS.parent
REGISTER = TESTS / "data" / "register_circuit_style_handmade.csv"


def _study(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _boundary(path: Path, polygon) -> Path:
    import geopandas as gpd

    gpd.GeoDataFrame({"name": ["area"]}, geometry=[polygon], crs="EPSG:4326").to_file(path)
    return path


def test_whole_study_online_then_offline_from_the_cache(online, tmp_path, leeds_network):
    from defibmap.cli import main

    study = _study(
        tmp_path / "study",
        f"""
[network]
place = "Leeds, UK"
cache_dir = "cache"
[demand]
file = "{(REPO / "data" / "leeds" / "lsoa21_demand.csv").as_posix()}"
id = "lsoa21cd"
population = "population"
[defibs]
osm = ["defibrillators", "schools"]
register = "{REGISTER.as_posix()}"
register_within_m = 25
[police_stations]
osm = "police"
[candidates]
file = "{(REPO / "data" / "leeds" / "candidates.csv").as_posix()}"
id = "site_id"
osm = "council_buildings"
council = "Leeds City Council"
[ranking]
new_sites = 2
""",
    )
    result = run_study(study)
    # the place's outline grown by 2 km holds the whole extract: the offline network
    assert result.network.n_nodes == leeds_network.n_nodes
    assert result.network.n_edges == leeds_network.n_edges
    assert result.population_total == 60339
    defibs = set(result.defibs.index)
    # OSM defibs, the register-only D006 and the 15 schools; D001/D002 are OSM 1/2 (merged)
    assert {"osm_node_9000000001", "osm_node_9000000002", "osm_node_9000000005", "D006"} <= defibs
    assert "D001" not in defibs
    assert "D002" not in defibs
    assert (result.defibs["kind"] == "school").sum() == 15
    inputs = result.inputs["defibs"]
    assert inputs["rows_read"] == inputs["rows_used"] + inputs["rows_rejected"]
    assert inputs["rejected_reasons"] == {
        "not for public use (access=private)": 2,  # OSM 9000000003 and register D003
        "not for public use (access=no)": 1,
        "missing or non-numeric coordinates": 2,  # D004 (a postcode only) and D005
    }
    assert inputs["register"]["matched"] == 2
    assert inputs["file"] == f"OpenStreetMap + {REGISTER.name}"  # not the cache's working copy
    assert inputs["osm"]["layers"]["defibrillators"]["excluded"] == {
        "not for public use (access=no)": 1,
        "not for public use (access=private)": 1,
    }
    private = set(result.rejected.loc[result.rejected["reason"].str.startswith("not for"), "id"])
    assert private == {"osm_node_9000000003", "osm_node_9000000004", "D003"}
    # register rows point at the register's own file and rows (header is row 1); OSM
    # features at OpenStreetMap, with no row
    where = result.rejected.set_index("id")
    assert where.loc["D003", ["file", "row"]].tolist() == [REGISTER.name, 4]
    assert where.loc[["D004", "D005"], "row"].tolist() == [5, 6]
    assert where.loc["osm_node_9000000003", "file"] == "OpenStreetMap"
    assert pd.isna(where.loc["osm_node_9000000003", "row"])
    assert set(result.stations.index) == {"osm_node_9000000031"}
    candidates = set(result.candidates.index)
    assert {"osm_node_9000000011", "osm_node_9000000012", "library_chapeltown"} <= candidates
    assert "osm_node_9000000013" not in candidates  # Nuffield Health
    assert result.inputs["candidates"]["rejected_reasons"] == {
        "operator/owner does not match 'Leeds City Council'": 6
    }
    assert any("private" in note for note in result.notes)
    names = [s["name"] for s in result.summary()["sources"]]
    assert "OpenStreetMap via osmnx (defibrillators, schools)" in names
    requests = len(online.requests)
    assert online.count("/api/interpreter") == 5  # the network and the four OSM layers
    # offline, from the cache alone: the same figures, written by the command line
    online.close()
    out = tmp_path / "out"
    assert main(["run", "--config", str(study), "--out", str(out), "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["coverage"] == result.coverage
    assert summary["inputs"]["defibs"]["rejected_reasons"] == inputs["rejected_reasons"]
    rejected = pd.read_csv(out / "rejected.csv")
    assert {"osm_node_9000000003", "osm_node_9000000004", "D003"} <= set(rejected["id"])
    assert len(online.requests) == requests


def test_place_study_with_a_boundary_downloads_the_grown_outline(online, tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    _boundary(folder / "boundary.geojson", SMALL_BOX)
    (folder / "demand.csv").write_text("id,lon,lat,pop\na,-1.530,53.814,100\nb,-1.524,53.816,50\n")
    study = _study(
        folder,
        """
[network]
place = "Chapeltown, Leeds"
cache_dir = "cache"
boundary_buffer_m = 2500
[boundary]
file = "boundary.geojson"
[demand]
file = "demand.csv"
id = "id"
population = "pop"
[police_stations]
osm = "police"
outside_defib = true
[ranking]
new_sites = 0
""",
    )
    result = run_study(study)
    assert online.count("/nominatim/search") == 0  # the boundary is the area: no geocoding
    assert set(result.defibs.index) == {"osm_node_9000000031"}
    polygon = osm_features.boundary_polygon(folder / "boundary.geojson")
    query = osm_features.walk_query(polygon=polygon, buffer_m=2500)
    key = network.cache_key(_overpass_cache.query_key(query), "auto", "walk")
    cached = folder / "cache" / f"walk-{key}.npz"
    assert cached.is_file()
    sidecar = json.loads(cached.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["query"]["buffer_m"] == 2500
    assert network.load(cached).n_nodes == result.network.n_nodes
    before = online.count("/api/interpreter")
    run_study(study)
    assert online.count("/api/interpreter") == before  # cached
    run_study(study, refresh=True)
    assert online.count("/api/interpreter") == before + 2  # the network and the police


@pytest.mark.parametrize("source", [ITS_PBF, LEEDS_OSM], ids=["its-example-pbf", "leeds-bz2"])
def test_study_from_a_regional_extract_clipped_to_the_boundary(tmp_path, source):
    folder = tmp_path / "study"
    folder.mkdir()
    extract = folder / source.name
    extract.write_bytes(source.read_bytes())
    # a small area at the west end of each file
    area = shapely.box(-1.5600, 53.8060, -1.5560, 53.8085)
    if source == LEEDS_OSM:
        area = shapely.box(-1.5535, 53.8100, -1.5500, 53.8130)
    _boundary(folder / "outline.geojson", area)
    lon, lat = area.centroid.x, area.centroid.y
    (folder / "demand.csv").write_text(f"id,lon,lat,pop\na,{lon:.6f},{lat:.6f},100\n")
    study = _study(
        folder,
        f"""
[network]
osm_file = "{source.name}"
cache_dir = "cache"
[boundary]
file = "outline.geojson"
[demand]
file = "demand.csv"
id = "id"
population = "pop"
[defibs]
osm = ["defibrillators", "schools"]
[candidates]
osm = "council_buildings"
[ranking]
new_sites = 1
""",
    )
    before = extract.read_bytes()
    result = run_study(study)
    (clipped,) = (folder / "cache" / "extracts").glob("*-clip-*.osm.pbf")
    full = network.from_osm_file(extract)
    assert result.network.n_nodes <= full.n_nodes
    if source == LEEDS_OSM:  # 2 km around the west end is not the whole extract
        assert result.network.n_nodes < full.n_nodes
    else:  # the University's extract lies within 2 km of its west end
        assert result.network.n_nodes == full.n_nodes
    every = osm_features.osm_layer("council_buildings", osm_file=extract)
    grown = osm_features.buffered(area, 2000)
    inside = every[shapely.contains_xy(grown, every["lon"], every["lat"])]
    assert set(result.candidates.index) | set(
        result.rejected.loc[result.rejected["layer"] == "candidates", "id"]
    ) == set(inside["site_id"])
    assert len(result.candidates) > 0
    assert result.inputs["candidates"]["osm"]["source"] == clipped.name
    assert extract.read_bytes() == before  # inputs are never modified
    # a second run reuses the clip and the network
    mtime = clipped.stat().st_mtime_ns
    again = run_study(study)
    assert clipped.stat().st_mtime_ns == mtime
    assert again.coverage == result.coverage
