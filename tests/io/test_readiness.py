"""A defib's readiness from a register: status, pad and battery expiry, last check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defibmap._errors import InputError
from defibmap.io import readiness, registers

TESTS = Path(__file__).resolve().parents[1]
REGISTER = TESTS / "data" / "register_readiness_handmade.csv"
AS_OF = dt.date(2026, 5, 1)


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    return registers.read_register(REGISTER).set_index("site_id")


def test_register_readiness_columns_are_normalised(register: pd.DataFrame) -> None:
    assert register.loc["R1", "status"] == "Ready"
    assert register.loc["R1", "pads_expiry"] == "2026-09-01"  # 01/09/2026, day first
    assert register.loc["R1", "battery_expiry"] == "2028-01-31"
    assert register.loc["R1", "last_checked"] == "2026-04-20"
    assert register.loc["R4", "battery_expiry"] == "2026-03-15"  # "15 Mar 2026"
    assert register.loc["R7", "pads_expiry"] == ""  # "N/A"
    assert register.loc["R7", "battery_expiry"] == ""  # "-"
    assert register.loc["R6", "status"] == ""


def test_each_reason_against_a_fixed_date(register: pd.DataFrame) -> None:
    ready, reason = readiness.assess(register, as_of=AS_OF, max_days_unchecked=90)
    assert str(ready.dtype) == "boolean"
    # worked out by hand from the file against 1 May 2026 and 90 days
    expected_ready = {
        "R1": True,
        "R2": False,
        "R3": False,
        "R4": False,
        "R5": False,  # 1 Jan -> 1 May 2026 is 120 days
        "R6": None,  # nothing known: counted ready, not judged
        "R7": True,
        "R8": True,  # pads expiring on the day still count
        "R9": True,  # 31 Jan -> 1 May 2026 is 90 days: not more than 90
        "R10": False,
    }
    for site, want in expected_ready.items():
        got = ready[site]
        assert (got is pd.NA) if want is None else (bool(got) is want), site
    assert reason.to_dict() == {
        "R1": "",
        "R2": "status 'Not Ready'",
        "R3": "pads expired 2026-04-30",
        "R4": "battery expired 2026-03-15",
        "R5": "not checked since 2026-01-01 (120 days)",
        "R6": "",
        "R7": "",
        "R8": "",
        "R9": "",
        "R10": "status 'Out of service'; pads expired 2026-04-01",
    }


def test_max_days_unchecked_moves_the_line(register: pd.DataFrame) -> None:
    ready, _ = readiness.assess(register, as_of=AS_OF, max_days_unchecked=89)
    assert not ready["R9"]  # 90 days > 89
    ready, _ = readiness.assess(register, as_of=AS_OF, max_days_unchecked=None)
    assert ready["R5"]


def test_a_frame_without_readiness_columns_is_all_unknown() -> None:
    frame = pd.DataFrame({"name": ["a", "b"]})
    ready, reason = readiness.assess(frame, as_of=AS_OF, max_days_unchecked=90)
    assert ready.isna().all()
    assert reason.tolist() == ["", ""]


def test_merge_gives_an_osm_defib_its_register_readiness(register: pd.DataFrame) -> None:
    raw = registers.read_register(REGISTER)
    osm = pd.DataFrame(
        {
            "site_id": ["node/1"],
            "name": ["OSM defib"],
            "lon": [-1.52001],  # R2's place
            "lat": [53.81601],
            "kind": ["defibrillator"],
            "opening_hours": ["24/7"],
            "hours_text": [""],
            "access": ["yes"],
            "location": [""],
            "locked": [""],
        }
    )
    merged, report = registers.merge_defibs(osm, raw, within_m=25)
    assert report.matched == 1
    row = merged.set_index("site_id").loc["node/1"]
    assert row["status"] == "Not Ready"
    assert row["pads_expiry"] == "2026-09-01"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Ready", True),
        ("RESCUE READY", True),
        ("rescue_ready", True),
        ("Not ready", False),
        ("Out of service", False),
        ("", None),
        ("N/A", None),
        (np.nan, None),
    ],
)
def test_parse_status(text: object, want: bool | None) -> None:
    assert readiness.parse_status(text) is want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2026-05-01", dt.date(2026, 5, 1)),
        ("2026-05-01 00:00:00", dt.date(2026, 5, 1)),
        ("01/05/2026", dt.date(2026, 5, 1)),
        ("1/5/26", dt.date(2026, 5, 1)),
        ("01.05.2026", dt.date(2026, 5, 1)),
        ("1 May 2026", dt.date(2026, 5, 1)),
        ("", None),
        ("NA", None),
    ],
)
def test_parse_date(text: str, want: dt.date | None) -> None:
    assert readiness.parse_date(text) == want


def _register_with(tmp_path: Path, column: str, value: str) -> Path:
    path = tmp_path / "register.csv"
    path.write_text(
        f"id,name,latitude,longitude,{column}\nA,Hall,53.81,-1.53,\nB,Shop,53.82,-1.52,{value}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("Status", "Maybe", "status 'Maybe' is not known"),
        ("Pads Expiry", "soon", "'soon' is not a date"),
        ("Battery Expiry Date", "31/02/2026", "'31/02/2026' is not a date"),
        ("Last Checked", "2026-13-01", "'2026-13-01' is not a date"),
    ],
)
def test_a_bad_value_names_file_row_and_column(
    tmp_path: Path, column: str, value: str, says: str
) -> None:
    path = _register_with(tmp_path, column, value)
    with pytest.raises(InputError) as err:
        registers.read_register(path)
    assert str(err.value).startswith(f"{path}: row 3, column {column!r}: {says}")


def test_an_explicit_column_names_a_readiness_field(tmp_path: Path) -> None:
    path = _register_with(tmp_path, "Guardian says", "Not ready")
    frame = registers.read_register(path, columns={"status": "Guardian says"})
    assert frame["status"].tolist() == ["", "Not ready"]


def test_a_register_s_readiness_reaches_the_study(tmp_path: Path, leeds_network) -> None:
    """The hand-made register, read by a study on the Leeds network, judged on 1 May 2026."""
    import defibmap

    repo = TESTS.parent
    (tmp_path / "s.toml").write_text(
        f"""
[network]
osm_file = "{(repo / "data" / "leeds" / "leeds_inner_ne.osm.bz2").as_posix()}"
[demand]
file = "{(repo / "data" / "leeds" / "lsoa21_demand.csv").as_posix()}"
id = "lsoa21cd"
population = "population"
[defibs]
register = "{REGISTER.as_posix()}"
[ranking]
new_sites = 0
[availability]
as_of = 2026-05-01
max_days_unchecked = 90
""",
        encoding="utf-8",
    )
    result = defibmap.run_study(tmp_path / "s.toml", network=leeds_network)
    defibs = result.defibs
    assert set(defibs.index) == {f"R{i}" for i in range(1, 11)}
    assert defibs.loc["R3", "not_ready_reason"] == "pads expired 2026-04-30"
    assert defibs.loc["R6", "ready"] is pd.NA
    assert str(defibs["ready"].dtype) == "boolean"
    not_ready = set(defibs.index[(~defibs["ready"]).fillna(value=False).to_numpy(dtype=bool)])
    assert not_ready == {"R2", "R3", "R4", "R5", "R10"}
    assert "status" in result.inputs["defibs"]["columns_read"]
