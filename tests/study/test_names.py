"""Names and categorical values: IMD deciles, site id name spaces, free-text kinds,
the ``availability`` column and hidden Excel sheets (issue "Nothing lost", items 6 and 7)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from defibmap import load_study
from defibmap._errors import InputError
from defibmap.io._readers import read_table
from defibmap.study import board, names

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_study(REPO / "data" / "studies" / "demo-town.toml")


def _sites(ids: list[str], **columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({"name": ids, **columns}, index=pd.Index(ids, name="id"))
    frame["source_row"] = np.arange(2, len(ids) + 2)
    return frame


def _demand(deciles: list[object]) -> pd.DataFrame:
    ids = [f"d{i}" for i in range(len(deciles))]
    return _sites(ids).assign(imd_decile=deciles, population=10)


@pytest.mark.parametrize("value", ["0", "11", "-3", "1000", "x", "2.5", "inf", "nan?"])
def test_a_decile_outside_1_to_10_is_refused(value: str) -> None:
    layers = {"demand": _demand(["5", value, "7"])}
    with pytest.raises(InputError) as err:
        names.check_layers(CONFIG, layers)
    assert str(err.value) == (
        f"{CONFIG.layers['demand'].file}: column 'imd_decile' must hold IMD deciles, whole "
        f"numbers 1-10 (1 = most deprived) or empty for unknown; row 3: {value!r}"
    )


def test_whole_deciles_and_empty_cells_pass() -> None:
    names.check_layers(CONFIG, {"demand": _demand(["1", " 10 ", "", None, float("nan"), 4.0])})


def test_many_bad_deciles_name_the_first_five() -> None:
    with pytest.raises(InputError, match=r"row 6: '44' and 2 more$"):
        names.check_layers(CONFIG, {"demand": _demand(["0", "-1", "11", "12", "44", "45", "46"])})


def test_no_decile_column_is_fine() -> None:
    names.check_layers(CONFIG, {"demand": _sites(["a"])})


def test_site_ids_are_one_name_space() -> None:
    layers = {"defibs": _sites(["council-01"]), "candidates": _sites(["council-01"])}
    with pytest.raises(
        InputError, match=r"site id 'council-01' is in both \[defibs\] .* and \[candidates\]"
    ):
        names.check_layers(CONFIG, layers)


def test_a_demand_id_may_equal_a_site_id() -> None:
    names.check_layers(CONFIG, {"demand": _sites(["a"]), "defibs": _sites(["a"])})


@pytest.mark.parametrize("prefix", names.RESERVED_PREFIXES)
def test_reserved_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(InputError, match=rf"site id '{prefix}x' starts with '{prefix}'"):
        names.check_layers(CONFIG, {"fire_stations": _sites([f"{prefix}x"])})


def test_kinds_are_free_text_and_near_misses_are_noted() -> None:
    layers = {"defibs": _sites(["a", "b", "c"], kind=["pharmacy", "Primary School", "school"])}
    names.check_layers(CONFIG, layers)  # any text is accepted
    note = (
        "[defibs] kind 'Primary School' is not the kind 'school', so those sites are read "
        "with their own opening hours, not school hours and holidays."
    )
    assert names.notes(layers) == [note]
    assert names.notes({"defibs": _sites(["a"], kind=["School"])}) == []


def test_an_availability_column_is_noted() -> None:
    notes = names.notes({"defibs": _sites(["a"], availability=["24/7"])})
    assert len(notes) == 1
    assert "'availability' column, which defibmap does not read" in notes[0]


def test_a_user_availability_column_does_not_override_school_hours() -> None:
    defibs = _sites(
        ["s", "f"],
        kind=["school", ""],
        opening_hours=["", ""],
        availability=["24/7", ""],
        layer=["defibs", "fire_stations"],
    )
    term, holiday, _, labels = board.defib_availability(defibs, CONFIG)
    assert labels == ["limited hours", "24/7"]
    assert not holiday[0].any()  # a school's defib is shut in the holidays
    assert term[1].all()


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    old = book.active
    assert old is not None
    old.title = "old"
    for row in (["id", "n"], ["stale", 1]):
        old.append(row)
    old.sheet_state = "hidden"
    new = book.create_sheet("current")
    for row in (["id", "n"], ["a", 1], ["b", 2], ["c", 3]):
        new.append(row)
    book.active = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_hidden_first_sheet_is_refused_unless_named(tmp_path: Path) -> None:
    path = tmp_path / "sites.xlsx"
    path.write_bytes(_workbook())
    with pytest.raises(
        InputError, match=r"the first sheet 'old' is hidden; the visible sheets are \['current'\]"
    ):
        read_table(path)
    assert read_table(path, sheet="old")["id"].tolist() == ["stale"]
    assert read_table(path, sheet="current")["id"].tolist() == ["a", "b", "c"]
