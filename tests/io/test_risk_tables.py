"""Reading ages from the ONS mid-year estimates, and the rate tables with their sources."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from defibmap._errors import InputError
from defibmap.io.population import read_ages
from defibmap.io.risk_tables import read_incidence_rates, read_rate_ratios

if TYPE_CHECKING:
    from pathlib import Path

ONS_LSOA = "population_mid_year_2024_mid-year_2024_population_estimates_lsoa.csv"
ONS_OA = "population_mid_year_2024_mid-year_2024_population_estimates_oa.csv"

RATES = "# source: test table, not published figures\nage_from,age_to,rate_per_100000\n"


def test_read_ages_keeps_the_persons_rows_of_the_real_lsoa_table(trafford):
    ages = read_ages(trafford / ONS_LSOA)
    raw = pd.read_csv(trafford / ONS_LSOA)
    persons = raw[raw["sex"] == "Persons"].set_index("area_code")
    assert len(ages) == len(persons) == 139
    assert ages.attrs["open_from"] == 90
    assert ages.attrs["level"] == "LSOA"
    assert list(ages.columns) == list(range(91))
    # every year of age adds up to ONS's own all_ages count, area by area
    pd.testing.assert_series_equal(
        ages.sum(axis=1).astype(int),
        persons["all_ages"].reindex(ages.index).astype(int),
        check_names=False,
    )
    assert ages.loc["E01006074", 90] == persons.loc["E01006074", "90+"] == 28
    assert ages.loc["E01006074", 0] == 6


def test_read_ages_reads_the_output_area_table_too(trafford):
    ages = read_ages(trafford / ONS_OA)
    assert ages.attrs["level"] == "OA"
    assert (ages.sum(axis=1) > 0).all()


def _ages_csv(tmp_path: Path, rows: list[str], header: str | None = None) -> Path:
    cols = ",".join([*map(str, range(90)), "90+"])
    path = tmp_path / "ages.csv"
    path.write_text((header or f"area_code,sex,all_ages,{cols}") + "\n" + "\n".join(rows) + "\n")
    return path


def _row(code: str, sex: str = "Persons", fill: str = "1") -> str:
    return ",".join([code, sex, "91", *([fill] * 91)])


def test_read_ages_names_the_file_row_and_column_of_a_bad_count(tmp_path):
    bad = _row("E01000002").split(",")
    bad[3 + 40] = "x"
    path = _ages_csv(tmp_path, [_row("E01000001"), ",".join(bad)])
    with pytest.raises(InputError, match=r"ages.csv: row 3, column '40': expected a count"):
        read_ages(path)


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([_row("E01000001", "Males")], None, "no 'Persons' rows"),
        ([_row("E01000001"), _row("E01000001")], None, "appears more than once"),
        (["E01000001,Persons,1,1"], "area_code,sex,all_ages,0", "last age column must hold"),
        (["E01000001,Persons,2,1,1"], "area_code,sex,all_ages,0,2+", "skip age"),
        (["E01000001,Persons,1"], "area_code,sex,all_ages", "no single-year-of-age columns"),
    ],
)
def test_read_ages_refuses_tables_it_cannot_use(tmp_path, rows, header, message):
    with pytest.raises(InputError, match=message):
        read_ages(_ages_csv(tmp_path, rows, header))


def test_incidence_rates_are_read_with_their_source(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("# a note\n" + RATES + "0,15,2\n16,64,30.5\n65,,250\n")
    table = read_incidence_rates(path)
    assert table.source == "test table, not published figures"
    assert table.spans == ((0, 15), (16, 64), (65, None))
    assert table.rates == (2.0, 30.5, 250.0)


def test_incidence_rates_need_a_source_and_text(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("age_from,age_to,rate_per_100000\n0,,50\n")
    with pytest.raises(InputError, match="must say where its numbers come from"):
        read_incidence_rates(path)
    with gzip.open(tmp_path / "x.gz", "wt") as f:  # not text: a clear error, no traceback
        f.write(RATES)
    with pytest.raises(InputError, match="cannot read the rate table"):
        read_incidence_rates(tmp_path / "x.gz")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("0,15,2\n17,,30\n", r"row 4, column 'age_from': expected 16"),
        ("1,,2\n", r"row 3, column 'age_from': expected 0"),
        ("0,15,2\n16,64,30\n", "the last band must be open"),
        ("0,15,x\n16,,3\n", r"row 3, column 'rate_per_100000': expected a number >= 0"),
        ("0,15,-1\n16,,3\n", r"row 3, column 'rate_per_100000'"),
        ("0,15,nan\n16,,3\n", r"row 3, column 'rate_per_100000'"),
        ("0,15.5,2\n16,,3\n", r"row 3, column 'age_to': expected a whole number"),
        ("0,,2\n90,,3\n", "follows the open top band"),
        ("0,10,2\n11,5,3\n", "is below age_from"),
        ("", "no rows"),
    ],
)
def test_incidence_rates_refuse_bad_tables_naming_the_row(tmp_path, rows, message):
    path = tmp_path / "rates.csv"
    path.write_text(RATES + rows)
    with pytest.raises(InputError, match=message):
        read_incidence_rates(path)


def test_incidence_rates_need_their_columns(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("# source: x\nage,rate\n0,1\n")
    with pytest.raises(InputError, match=r"missing column\(s\) \['age_from', 'age_to'"):
        read_incidence_rates(path)


RATIOS = "# source: test ratios\nimd_quintile,rate_ratio\n"


def test_rate_ratios_need_each_quintile_once(tmp_path):
    path = tmp_path / "ratios.csv"
    path.write_text(RATIOS + "1,1.5\n2,1.3\n3,1.1\n4,1.05\n5,1\n")
    ratios = read_rate_ratios(path)
    assert dict(ratios.by_quintile) == {1: 1.5, 2: 1.3, 3: 1.1, 4: 1.05, 5: 1.0}
    assert ratios.source == "test ratios"
    path.write_text(RATIOS + "1,1.5\n2,1.3\n3,1.1\n4,1.05\n")
    with pytest.raises(InputError, match=r"no rate_ratio for IMD quintile\(s\) \[5\]"):
        read_rate_ratios(path)
    path.write_text(RATIOS + "1,1.5\n1,1.3\n")
    with pytest.raises(InputError, match=r"row 4, column 'imd_quintile': expected each of 1-5"):
        read_rate_ratios(path)
    path.write_text(RATIOS + "6,1.5\n")
    with pytest.raises(InputError, match=r"row 3, column 'imd_quintile'"):
        read_rate_ratios(path)
