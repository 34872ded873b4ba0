"""Nothing lost: every row and every resident of every input file is accounted for.

On every shipped study that runs offline (Leeds, Demoton), and on Leeds with a tight snap limit
(15 m and 50 m: hundreds of postcode points rejected), each entry of ``summary.json``'s
``inputs`` is checked against the input files themselves, read here with pandas: rows read,
the rejected rows named by file and row (the id at that row of that file), and the people on
the rejected rows. The expected finer-demand shares are worked out here too (each postcode
joins the nearest centroid among all areas; an area's residents are shared equally).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from scipy.spatial import cKDTree

from defibmap import load_study, run_study

REPO = Path(__file__).resolve().parents[2]
STUDIES = REPO / "data" / "studies"

#: (study, max_snap_m): None keeps the study's own limit
CASES = [("leeds", None), ("leeds", 15.0), ("leeds", 50.0), ("demo-town", None)]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1] or 'own'}")
def case(request, leeds_network):
    name, snap_m = request.param
    config = load_study(STUDIES / f"{name}.toml")
    if snap_m is not None:
        config = dataclasses.replace(
            config, network=dataclasses.replace(config.network, max_snap_m=snap_m)
        )
    result = run_study(config, network=leeds_network if name == "leeds" else None)
    return config, result


def _table(path: Path) -> pd.DataFrame:
    """The file's data rows as text; row r of the file (header: row 1) is position r - 2."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _files(config) -> dict[str, tuple[Path, str]]:
    """Per ``inputs`` key, the file it reads and its id column."""
    out = {name: (layer.file, layer.id) for name, layer in config.layers.items() if layer.file}
    if config.finer_demand:
        out["finer_demand"] = (config.finer_demand["file"], config.finer_demand["id"])
    return out


def _people(path: Path, column: str) -> pd.Series:
    return pd.to_numeric(_table(path)[column], errors="coerce").fillna(0.0)


def _areas_of_points(config) -> pd.Series:
    """The study area each postcode point joins, by postcode file row (none: left out).

    A point joins the nearest centroid among all areas (the study's ``centroids_file``).
    """
    finer = config.finer_demand
    points = _table(finer["file"])
    ref = _table(finer["centroids_file"])
    demand = config.layers["demand"]
    tree = cKDTree(ref[["easting", "northing"]].to_numpy(dtype=float))
    _, nearest = tree.query(points[["easting", "northing"]].to_numpy(dtype=float))
    area = pd.Series(ref[demand.id].to_numpy()[nearest], index=points.index + 2)
    return area[area.isin(_table(demand.file)[demand.id])]


def _shares(config) -> pd.Series:
    """Each postcode point's people, by postcode file row: the area's residents shared equally."""
    demand = config.layers["demand"]
    areas = _table(demand.file).set_index(demand.id)
    area = _areas_of_points(config)
    people = pd.to_numeric(areas[demand.population]).astype(float)
    return pd.Series(people.loc[area].to_numpy(), index=area.index) / area.map(area.value_counts())


def test_every_entry_adds_up(case):
    config, result = case
    inputs = result.summary()["inputs"]
    files = _files(config)
    assert set(files) <= set(inputs)
    for name, entry in inputs.items():
        assert min(entry["rows_read"], entry["rows_used"], entry["rows_rejected"]) >= 0, name
        assert entry["rows_read"] == entry["rows_used"] + entry["rows_rejected"], name
        assert sum(entry["rejected_reasons"].values()) == entry["rows_rejected"], name
        if name in files:
            path, _ = files[name]
            assert entry["file"] == path.name
            assert entry["rows_read"] == len(_table(path)), name


def test_rejected_table_names_file_and_row(case):
    config, result = case
    inputs = result.summary()["inputs"]
    rejected = result.rejected
    assert list(rejected.columns) == ["layer", "id", "file", "row", "reason"]
    by = rejected.groupby(["layer", "file"]).size()
    for name, entry in inputs.items():
        assert by.get((name, entry["file"]), 0) == entry["rows_rejected"], name
    assert set(rejected["layer"]) <= set(inputs)
    for name, (path, id_column) in _files(config).items():
        mine = rejected[rejected["layer"] == name]
        table = _table(path)
        for row in mine.itertuples():
            assert row.file == path.name
            assert table[id_column].iloc[int(row.row) - 2].strip() == row.id, (name, row)


def test_population_in_and_used(case):
    config, result = case
    inputs = result.summary()["inputs"]
    demand = config.layers["demand"]
    people = _people(demand.file, demand.population)
    entry = inputs["demand"]
    assert entry["population_in"] == pytest.approx(people.sum())
    lost_rows = result.rejected.loc[result.rejected["layer"] == "demand", "row"].astype(int)
    lost = people.iloc[lost_rows.to_numpy() - 2].sum()
    assert entry["population_in"] - entry["population_used"] == pytest.approx(lost)
    # layers without people carry no population keys
    for name, other in inputs.items():
        if name not in ("demand", "finer_demand"):
            assert "population_in" not in other, name
            assert "population_used" not in other, name
    assert result.input_reports["demand"].population_in == entry["population_in"]
    expected = people.sum() - lost
    if config.finer_demand:
        shares = _shares(config)
        finer = inputs["finer_demand"]
        assert finer["population_in"] == pytest.approx(shares.sum())
        assert finer["population_in"] == pytest.approx(entry["population_used"])
        rows = result.rejected.loc[result.rejected["layer"] == "finer_demand", "row"].astype(int)
        finer_lost = shares.reindex(rows.to_numpy()).fillna(0.0).sum()
        assert finer["population_in"] - finer["population_used"] == pytest.approx(finer_lost)
        # the postcodes no area takes are exactly those rejected as outside the study's areas
        outside = result.rejected[
            (result.rejected["layer"] == "finer_demand")
            & (result.rejected["reason"] == "postcode outside the study's areas")
        ]
        assert set(outside["row"].astype(int)) == set(
            _table(config.finer_demand["file"]).index + 2
        ) - set(shares.index)
        expected -= finer_lost
    # the outputs hold the people read less those on rejected rows, nobody more
    assert result.population_total == pytest.approx(expected)
    assert result.summary()["population_total"] == pytest.approx(expected)


def test_area_whose_points_are_all_rejected_is_lost(leeds_network):
    """At 8 m every postcode point of some areas is rejected: their residents are not counted.

    An area spread over postcode points does not fall back to its centroid when all of its
    points fail the snap; its people are counted on the postcode file's rejected rows.
    """
    config = load_study(STUDIES / "leeds.toml")
    config = dataclasses.replace(
        config, network=dataclasses.replace(config.network, max_snap_m=8.0)
    )
    result = run_study(config, network=leeds_network)
    shares = _shares(config)
    points = _areas_of_points(config)
    area_of = {a: list(rows) for a, rows in points.groupby(points).groups.items()}
    rejected_rows = set(
        result.rejected.loc[result.rejected["layer"] == "finer_demand", "row"].astype(int)
    )
    gone = [a for a, rows in area_of.items() if set(rows) <= rejected_rows]
    assert gone  # the case this test is about happens in the shipped data
    assert not result.demand["area_id"].isin(gone).any()
    kept = result.demand.groupby("area_id")["population"].sum()
    for area, rows in area_of.items():
        used = sum(shares[r] for r in rows if r not in rejected_rows)
        assert kept.get(area, 0.0) == pytest.approx(used), area


def test_postcode_rejected_at_50_m_names_the_postcode_file(leeds_network):
    """LS7 2DG, row 188 of the postcode file, was reported at a row of the LSOA file."""
    config = load_study(STUDIES / "leeds.toml")
    config = dataclasses.replace(
        config, network=dataclasses.replace(config.network, max_snap_m=50.0)
    )
    table = _table(config.finer_demand["file"])
    assert table["postcode"].iloc[188 - 2] == "LS7 2DG"
    result = run_study(config, network=leeds_network)
    row = result.rejected[result.rejected["id"] == "LS7 2DG"]
    assert row[["layer", "file", "row"]].to_numpy().tolist() == [
        ["finer_demand", "postcodes_inner_ne.csv", 188]
    ]
