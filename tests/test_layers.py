"""The layer-kind registry: the built-in table, registration, and a new kind end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import defibmap
from defibmap import layers
from defibmap._errors import ConfigError
from defibmap.config.study_file import study_from_dict
from defibmap.layers import LayerKind, MapStyle, Role

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo-town"
CFR = "community_first_responders"


def _cfr_kind() -> LayerKind:
    """A throwaway station-like kind, read from a file only."""
    return LayerKind(
        CFR,
        Role.STATION,
        layers.point_keys("outside_defib"),
        default_availability="24/7",
        map_style=MapStyle("C", "#006d2c", "Community first responder base"),
    )


def test_built_in_table_keeps_the_sections_in_their_order():
    assert layers.point_layer_names() == (
        "demand",
        "day_demand",
        "defibs",
        "fire_stations",
        "police_stations",
        "candidates",
        "ambulance_bases",
        "ambulance_hubs",
        "first_responders",
        "incidents",
    )
    assert layers.defib_source_names() == (
        "defibs",
        "fire_stations",
        "police_stations",
        "ambulance_hubs",
    )
    assert layers.hub_names() == ("ambulance_hubs",)
    hub = layers.kind("ambulance_hubs")
    # a hub's defib counts unless the study says otherwise; a station's only when it says so
    assert hub.outside_default
    assert not layers.kind("fire_stations").outside_default
    assert hub.default_availability == "24/7"
    assert hub.counts_as_defibs(outside_defib=True)
    assert not hub.counts_as_defibs(outside_defib=False)
    assert not layers.kind("first_responders").counts_as_defibs(outside_defib=True)
    assert layers.station_names() == ("fire_stations", "police_stations")
    assert [k.name for k in layers.by_role(Role.BOUNDARY)] == ["boundary", "wards"]
    assert dict(layers.OSM_KINDS) == {
        "defibs": ("defibrillators", "schools"),
        "fire_stations": ("fire_stations",),
        "police_stations": ("police",),
        "candidates": ("council_buildings",),
    }
    assert layers.STUDY_SECTION["police"] == "police_stations"
    assert layers.KINDS == (
        "defibrillators",
        "schools",
        "fire_stations",
        "police",
        "council_buildings",
    )
    fire = layers.kind("fire_stations")
    assert fire.counts_as_defibs(outside_defib=True)
    assert not fire.counts_as_defibs(outside_defib=False)
    assert layers.kind("defibs").counts_as_defibs(outside_defib=False)
    assert not layers.kind("candidates").counts_as_defibs(outside_defib=True)
    assert "co_responder" in layers.section_keys("fire_stations")
    assert "co_responder" not in layers.section_keys("police_stations")


def test_register_refuses_a_second_kind_of_a_name_and_registered_cleans_up():
    with pytest.raises(ValueError, match="already registered"):
        layers.register(LayerKind("defibs", Role.DEFIB_SOURCE, layers.point_keys()))
    with layers.registered(_cfr_kind()):
        assert layers.station_names()[-1] == CFR
        assert layers.point_layer_names()[-1] == CFR
    assert CFR not in layers.station_names()
    with pytest.raises(KeyError):
        layers.kind(CFR)


def test_a_kind_takes_osm_exactly_when_it_names_osm_kinds():
    with pytest.raises(ValueError, match="osm_kinds"):
        LayerKind("x", Role.STATION, layers.point_keys("osm"))
    with pytest.raises(ValueError, match="osm_kinds"):
        LayerKind("x", Role.STATION, layers.point_keys(), osm_kinds=("police",))
    with pytest.raises(ValueError, match="unknown OpenStreetMap"):
        LayerKind("x", Role.STATION, layers.point_keys("osm"), osm_kinds=("pubs",))


def test_a_kind_given_plain_text_and_a_set_is_normalised():
    plain = LayerKind("x", "station", {"file"})  # type: ignore[arg-type]
    assert plain.role is Role.STATION
    assert plain.keys == frozenset({"file"})


def test_is_yes_reads_the_yes_words_in_any_case():
    assert [layers.is_yes(v) for v in ("Yes", " TRUE ", "1", "no", "", None, "y")] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def _study(tmp_path: Path) -> dict[str, object]:
    return {
        "network": {"osm_file": str(DEMO / "town.osm.bz2")},
        "demand": {"file": str(DEMO / "demand.csv"), "id": "demand_id", "population": "population"},
        CFR: {"file": str(tmp_path / "cfr.csv"), "id": "site_id", "outside_defib": True},
    }


def test_the_study_reader_takes_a_registered_section_and_its_keys_only(tmp_path):
    (tmp_path / "cfr.csv").write_text("site_id,lon,lat\ncfr-1,1.56,53.05\n")
    data = _study(tmp_path)
    with pytest.raises(ConfigError, match=rf"unknown section \[{CFR}\]"):
        study_from_dict(data, base=tmp_path)
    with layers.registered(_cfr_kind()):
        config = study_from_dict(data, base=tmp_path)
        assert list(config.layers) == ["demand", CFR]
        assert config.layers[CFR].outside_defib
        bad = {**data, CFR: {**data[CFR], "osm": "police"}}  # type: ignore[dict-item]
        with pytest.raises(ConfigError, match=r"unknown key\(s\) \['osm'\]"):
            study_from_dict(bad, base=tmp_path)


@pytest.fixture(scope="module")
def cfr_result(tmp_path_factory: pytest.TempPathFactory):
    """The demo town with one more kind of layer, registered for the run only.

    Three community first responder bases stand at three residents' points, so those
    residents' nearest defib is a base when the bases count as defibs.
    """
    folder = tmp_path_factory.mktemp("cfr")
    demand = pd.read_csv(DEMO / "demand.csv")
    bases = demand.iloc[[0, 150, 300]]
    pd.DataFrame(
        {
            "site_id": ["cfr-1", "cfr-2", "cfr-3"],
            "name": ["CFR North", "CFR Middle", "CFR South"],
            "lon": bases["lon"].to_numpy(),
            "lat": bases["lat"].to_numpy(),
        }
    ).to_csv(folder / "cfr.csv", index=False)
    (folder / "study.toml").write_text(
        f"""
[study]
name = "Demoton with first responders"
synthetic = true
[network]
osm_file = "{(DEMO / "town.osm.bz2").as_posix()}"
max_snap_m = 250
[demand]
file = "{(DEMO / "demand.csv").as_posix()}"
id = "demand_id"
population = "population"
[defibs]
file = "{(DEMO / "defibs.csv").as_posix()}"
id = "site_id"
[candidates]
file = "{(DEMO / "candidates.csv").as_posix()}"
id = "site_id"
[{CFR}]
file = "cfr.csv"
id = "site_id"
outside_defib = true
[ranking]
new_sites = 2
""",
        encoding="utf-8",
    )
    with layers.registered(_cfr_kind()):
        result = defibmap.run_study(folder / "study.toml")
        from defibmap.outputs.map._layers import station_layers, to_wgs84
        from defibmap.outputs.map._legend import sections

        groups = station_layers(to_wgs84(result.stations, "stations"))
        # the map's legend has a section per station layer the study has (issue 17)
        rows = [
            html
            for _, html in sections(
                residents=(-1, [], [], False),
                defibs=(-1, []),
                candidates=(-1, -1),
                stations=[(i, g.layer_name) for i, g in enumerate(groups)],
                reach=[],
                outlines=(-1, -1),
                extra=[],
            )
        ]
    return result, bases["demand_id"].tolist(), groups, rows


def test_a_registered_kind_is_read_counted_and_mapped(cfr_result):
    result, _, groups, rows = cfr_result
    assert result.inputs[CFR]["rows_used"] == 3
    assert {s["layer"] for s in result.sources} >= {CFR}
    stations = result.stations
    assert sorted(stations.index) == ["cfr-1", "cfr-2", "cfr-3"]
    assert set(stations["layer"]) == {CFR}
    assert stations["outside_defib"].all()
    assert [g.layer_name for g in groups][-1] == "Community first responder bases"
    html = "".join(rows)
    assert "Community first responder base (C)" in html
    # registered for the run only
    assert CFR not in layers.station_names()


def test_a_registered_station_kind_counts_as_defibs_in_the_study(cfr_result):
    result, at_bases, _, _ = cfr_result
    defibs = result.defibs
    cfr = defibs[defibs["layer"] == CFR]
    assert sorted(cfr.index) == ["cfr-1", "cfr-2", "cfr-3"]
    assert set(cfr["availability"]) == {"24/7"}
    nearest = result.demand.loc[at_bases, "nearest_defib_id"]
    assert nearest.tolist() == ["cfr-1", "cfr-2", "cfr-3"]
    assert (result.demand.loc[at_bases, "walk_m"] < 250).all()
