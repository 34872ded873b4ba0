"""ONS population tables, population-weighted centroids and IMD, read in their layouts and joined.

Hand-made fixtures in tests/data/*_handmade.csv copy the exact header layouts of the ONS and
MHCLG files; the real-data tests split the shipped demand files (data/coventry,
data/leeds) back into those layouts and join them again, and use the Trafford files in
../shared/data when they are there.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defibmap._errors import InputError
from defibmap.io import population as pop

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "data"
DATA = TESTS.parent / "data"

BULK_TOTAL = "Residence type: Total; measures: Value"
BULK_HOUSEHOLD = "Residence type: Lives in a household; measures: Value"
BULK_COMMUNAL = "Residence type: Lives in a communal establishment; measures: Value"


def test_bulk_layout_takes_the_total_column():
    table = pop.read_population(FIXTURES / "ons_census2021_ts001_lsoa_bulk_handmade.csv")
    assert table.attrs["layout"] == "bulk"
    assert table.attrs["level"] == "LSOA"
    assert table["population"].to_dict() == {
        "E01009522": 1910,
        "E01009523": 1641,
        "E01009524": 1523,
    }
    assert table.loc["E01009522", "name"] == "Coventry 014A"


def test_custom_dataset_layout_lsoa():
    table = pop.read_population(FIXTURES / "ons_census2021_ts001_lsoa_custom_handmade.csv")
    assert table.attrs["layout"] == "custom"
    assert table["population"].sum() == 1910 + 1641 + 1523
    assert table.loc["E01009524", "name"] == "Coventry 006A"


def test_custom_dataset_layout_oa_sums_categories():
    table = pop.read_population(FIXTURES / "ons_census2021_ts001_oa_custom_handmade.csv")
    assert table.attrs["level"] == "OA"
    assert table.attrs["summed"] == ["Residence type (2 categories) Code"]
    assert table["population"].to_dict() == {"E00048491": 301, "E00048492": 301}


def test_centroids_imd_and_a_report_of_what_did_not_join():
    centroids = pop.read_centroids(FIXTURES / "ons_lsoa21_pwc_handmade.csv")
    assert centroids.crs.to_epsg() == 27700
    assert np.isclose(centroids.loc["E01009522", "easting"], 431988.1)
    assert np.isclose(centroids.loc["E01009522", "lon"], -1.5310353, atol=1e-6)
    table = pop.read_population(FIXTURES / "ons_census2021_ts001_lsoa_bulk_handmade.csv")
    imd = pop.read_imd(FIXTURES / "imd2019_file1_handmade.csv")
    joined, report = pop.join_population(centroids, table, imd=imd)
    assert list(joined.index) == ["E01009522", "E01009523"]
    assert report.missing_population == ["E01009525"]  # a centroid with no population row
    assert report.missing_centroid == ["E01009524"]  # people with nowhere to stand
    assert report.population_without_centroid == 1523
    assert report.missing_imd == []
    assert not report.ok
    assert joined.loc["E01009523", "imd_decile"] == 6
    assert joined.loc["E01009522", "name"] == "Coventry 014A"
    summary = report.as_dict()
    assert summary["population_without_centroid"] == 1
    assert summary["examples"]["centroids_without_population"] == ["E01009525"]


def test_unrecognised_tables_name_the_file_and_columns(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("zone,people\nA,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"people\.csv.*cannot recognise.*'zone', 'people'"):
        pop.read_population(path)
    table = pop.read_population(path, code="zone", value="people")
    assert table["population"].to_dict() == {"A": 1}
    bad = tmp_path / "bad.csv"
    bad.write_text("geography code,Observation\nE01000001,12\nE01000002,n/a\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3, column 'Observation'"):
        pop.read_population(bad)
    with pytest.raises(InputError, match="no IMD rank column"):
        pop.read_imd(path)


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _split(demand: pd.DataFrame, folder: Path, *, api: bool) -> tuple[Path, Path, Path]:
    """Write a shipped demand file back out as ONS population, PWC and IMD files."""
    rows = demand.to_dict("records")
    if api:
        population = _write(
            folder / "custom.csv",
            [
                "Lower layer Super Output Areas Code",
                "Lower layer Super Output Areas",
                "Observation",
            ],
            [[r["lsoa21cd"], r["lsoa21nm"], r["population"]] for r in rows],
        )
    else:
        population = _write(
            folder / "census2021-ts001-lsoa.csv",
            ["date", "geography", "geography code", BULK_TOTAL, BULK_HOUSEHOLD, BULK_COMMUNAL],
            [
                [2021, r["lsoa21nm"], r["lsoa21cd"], r["population"], r["population"] - 7, 7]
                for r in rows
            ],
        )
    centroids = _write(
        folder / "pwc.csv",
        ["FID", "LSOA21CD", "GlobalID", "x", "y"],
        [[i, r["lsoa21cd"], f"g{i}", r["easting"], r["northing"]] for i, r in enumerate(rows)],
    )
    imd = _write(
        folder / "imd.csv",
        [
            "LSOA code (2011)",
            "LSOA name (2011)",
            "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
            "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
        ],
        [[r["lsoa21cd"], r["lsoa21nm"], r["imd_rank"], r["imd_decile"]] for r in rows],
    )
    return population, centroids, imd


@pytest.mark.parametrize(
    ("place", "areas", "total", "api"),
    [
        ("coventry", 203, 345_312, False),
        ("coventry", 203, 345_312, True),
        ("leeds", 32, 60_339, False),
    ],
)
def test_shipped_demand_round_trips_through_the_ons_layouts(tmp_path, place, areas, total, api):
    demand = pd.read_csv(DATA / place / "lsoa21_demand.csv")
    paths = _split(demand, tmp_path, api=api)
    table = pop.read_population(paths[0])
    joined, report = pop.join_population(
        pop.read_centroids(paths[1]), table, imd=pop.read_imd(paths[2])
    )
    assert report.ok
    assert report.areas_joined == areas
    assert report.population_total == total
    assert report.level == "LSOA"
    expected = demand.set_index("lsoa21cd").loc[joined.index]
    assert (joined["imd_decile"].to_numpy() == expected["imd_decile"].to_numpy()).all()
    assert np.allclose(joined["lon"], expected["lon"], atol=1e-6)
    assert np.allclose(joined["lat"], expected["lat"], atol=1e-6)
    assert (joined["name"].to_numpy() == expected["lsoa21nm"].to_numpy()).all()
    out = pop.demand_table(joined)
    assert list(out.columns) == [
        "area_code",
        "name",
        "population",
        "imd_rank",
        "imd_decile",
        "easting",
        "northing",
        "lon",
        "lat",
    ]


def test_trafford_mid_2024_population_joins_the_lsoa_table_and_imd_via_2011_parents(
    trafford, tmp_path
):
    table = pop.read_population(
        trafford / "population_mid_year_2024_mid-year_2024_population_estimates_lsoa.csv"
    )
    assert table.attrs["layout"] == "mid-year"
    assert len(table) == 139
    assert table["population"].sum() == 241_025  # Persons rows only
    lsoas = trafford / "lsoa21_trafford_pop2021_pwc_imd2019.csv"
    centroids = pop.read_centroids(lsoas, code="LSOA21CD")
    # IMD 2019 is published for 2011 LSOAs: write it that way, one row per 2011 LSOA
    raw = pd.read_csv(lsoas).drop_duplicates("F_LSOA11CD")
    imd_path = _write(
        tmp_path / "imd2019.csv",
        ["LSOA code (2011)", "IMD19_rank", "IMD19_decile"],
        raw[["F_LSOA11CD", "IMD19_rank", "IMD19_decile"]].to_numpy().tolist(),
    )
    imd = pop.read_imd(imd_path)
    assert len(imd) == 138
    lookup = pop.read_lookup(lsoas)
    joined, report = pop.join_population(centroids, table, imd=imd, imd_lookup=lookup)
    assert report.ok
    assert report.areas_joined == 139
    assert report.population_total == 241_025
    # the 2011 LSOA split in 2021 gives both halves its values
    parent = raw.set_index("F_LSOA11CD").loc["E01006185", "IMD19_decile"]
    assert (joined.loc[["E01034000", "E01034001"], "imd_decile"] == parent).all()
    without_lookup = pop.join_population(centroids, table, imd=imd)[1]
    assert without_lookup.missing_imd == ["E01034000", "E01034001"]


def test_trafford_oa_population_adds_up_to_the_lsoa_total(trafford):
    oa = pop.read_population(
        trafford / "population_mid_year_2024_mid-year_2024_population_estimates_oa.csv"
    )
    assert oa.attrs["level"] == "OA"
    assert len(oa) == 738
    assert oa["population"].sum() == 241_025
