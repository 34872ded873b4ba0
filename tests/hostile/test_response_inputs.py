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
