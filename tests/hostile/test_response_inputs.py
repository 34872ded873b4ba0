"""Hostile inputs to the time-to-defib analysis: fire-station crewing and observed times.

A bad ``crewing`` or ``turnout_s`` cell of a fire station, or a bad row in the file of
observed ambulance response times, stops the run with the file, the row (or station) and the
column named; good values give the turnout or the times.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from defibmap._errors import InputError
from defibmap.study.timing import read_ambulance_times, station_turnouts

OPTS = {"fire_turnout_s": 100.0, "fire_turnout_on_call_s": 400.0}


def _stations(**columns: list[object]) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    frame = gpd.GeoDataFrame(columns, geometry=[Point(i, i) for i in range(n)], crs="EPSG:27700")
    frame.index = [f"st{i}" for i in range(n)]
    return frame


def test_crewing_and_turnout_columns_give_each_station_its_turnout():
    stations = _stations(
        crewing=["wholetime", "on_call", "Retained", "", None, "on_call"],
        turnout_s=["", None, "", "", "", "250"],
    )
    got = station_turnouts(stations, OPTS, file="fire.csv")
    np.testing.assert_array_equal(got, [100.0, 400.0, 400.0, 100.0, 100.0, 250.0])


def test_defaults_without_columns():
    got = station_turnouts(_stations(name=["a", "b"]), {}, file="fire.csv")
    np.testing.assert_array_equal(got, [120.0, 120.0])


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"crewing": ["wholetime", "part-time"]}, "fire.csv: fire station 'st1': column 'crewing'"),
        ({"turnout_s": ["60", "soon"]}, "fire.csv: fire station 'st1': column 'turnout_s'"),
        ({"turnout_s": ["-1", "60"]}, "fire.csv: fire station 'st0': column 'turnout_s'"),
        ({"turnout_s": ["inf", "60"]}, "fire.csv: fire station 'st0': column 'turnout_s'"),
        ({"turnout_s": ["1e9", "60"]}, "fire.csv: fire station 'st0': column 'turnout_s'"),
    ],
)
def test_bad_crewing_or_turnout_names_station_and_column(columns, message):
    with pytest.raises(InputError, match=message):
        station_turnouts(_stations(**columns), OPTS, file="fire.csv")


def test_observed_ambulance_times_are_read(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text("call,response_s\n1,300\n2, 412.5\n", encoding="utf-8")
    np.testing.assert_array_equal(read_ambulance_times(path), [300.0, 412.5])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("call,seconds\n1,300\n", "needs a column 'response_s'"),
        ("response_s\n", "no ambulance response times"),
        ("", "cannot read the ambulance response times"),
        ("response_s\n300\nsoon\n", "row 3, column 'response_s'"),
        ("response_s\n-4\n", "row 2, column 'response_s'"),
        ("response_s\nnan\n", "row 2, column 'response_s'"),
        ("response_s\n\n300\n", "row 2, column 'response_s'"),
    ],
)
def test_bad_observed_times_name_file_row_and_column(tmp_path, text, message):
    path = tmp_path / "times.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_ambulance_times(path)


def test_ambulance_areas_are_read(tmp_path):
    from defibmap.study.timing import read_ambulance_areas

    path = tmp_path / "areas.csv"
    path.write_text("area,mean_s,p90_s\nLeeds,480,960\nBradford, 420 ,900\n", encoding="utf-8")
    assert read_ambulance_areas(path) == {"Leeds": (480.0, 960.0), "Bradford": (420.0, 900.0)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("area,mean_s\nLeeds,480\n", "needs columns 'area', 'mean_s' and 'p90_s'"),
        ("area,mean_s,p90_s\n", "no ambulance areas"),
        ("area,mean_s,p90_s\nLeeds,480,960\nLeeds,400,900\n", "row 3, column 'area' repeats"),
        ("area,mean_s,p90_s\n,480,960\n", "row 2, column 'area' is empty"),
        ("area,mean_s,p90_s\nLeeds,soon,960\n", "row 2, column 'mean_s'"),
        ("area,mean_s,p90_s\nLeeds,0,960\n", "row 2, column 'mean_s'"),
        ("area,mean_s,p90_s\nLeeds,480,inf\n", "row 2, column 'p90_s'"),
        ("area,mean_s,p90_s\nLeeds,480,300\n", "row 2, column 'p90_s': no lognormal"),
        ("area,mean_s,p90_s\nLeeds,480,5000\n", "row 2, column 'p90_s': no lognormal"),
    ],
)
def test_bad_ambulance_areas_name_file_row_and_column(tmp_path, text, message):
    from defibmap.study.timing import read_ambulance_areas

    path = tmp_path / "areas.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_ambulance_areas(path)


def test_demand_points_take_their_areas_times_and_the_rest_the_study_wide(tmp_path):
    from types import SimpleNamespace

    import pandas as pd

    from defibmap.study.timing import draw_assumptions

    path = tmp_path / "areas.csv"
    path.write_text("area,mean_s,p90_s\nA,600,600\n", encoding="utf-8")
    config = SimpleNamespace(
        walking_speed_m_s=1.79,
        response={
            "ambulance_areas_file": path,
            "ambulance_area_column": "trust_area",
            "ambulance_mean_s": 420.0,
            "ambulance_p90_s": 420.0,
        },
    )
    demand = pd.DataFrame({"population": [10.0, 5.0], "trust_area": ["A", "B"]})
    notes: list[str] = []
    found = draw_assumptions(config, demand, notes)  # type: ignore[arg-type]
    np.testing.assert_array_equal(found.ambulance.fixed, [600.0, 420.0])  # type: ignore[union-attr]
    assert notes
    assert "1 demand points (5 people) are in no area" in notes[0]
    with pytest.raises(InputError, match="needs the demand column 'trust_area'"):
        draw_assumptions(config, demand.drop(columns="trust_area"), [])  # type: ignore[arg-type]
