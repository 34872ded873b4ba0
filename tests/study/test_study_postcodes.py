"""A study places rows that have only a postcode from ``[study] postcode_file``.

A hand-made walking network near Leeds (as in ``tests/test_interrupt.py``), a hand-made
Code-Point Open style postcode file (no header: postcode, quality, easting, northing, ...)
with eastings and northings written here, and layers whose rows carry postcodes in mixed
spacing and case: an Excel asset register of candidates (postcodes only), a defib CSV with
lon/lat columns where one row has only a postcode, and a defib register export.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np
import pytest
from openpyxl import Workbook

import defibmap
from defibmap._errors import ConfigError, InputError
from defibmap.network import walk as nw

if TYPE_CHECKING:
    from pathlib import Path

E, N = 430600.0, 435700.0
#: The postcode file's units: postcode -> (easting, northing), British National Grid metres.
UNITS = {
    "LS7 3AA": (E + 200.0, N + 290.0),
    "LS7 3AB": (E + 390.0, N + 150.0),
    "LS7 3AD": (E + 100.0, N + 10.0),
    "LS7 3AE": (E + 300.0, N + 5.0),
}
#: Candidates: id -> postcode as the council typed it (row 1 is a title, row 2 the header).
CANDIDATES = {
    "c1": "ls7 3aa",
    "c2": "LS73AB",
    "c3": "  Ls7   3ad ",
    "c4": "LS99 9ZZ",  # not in the postcode file
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_study(
    folder: Path, *, postcode_file: bool = True, register: bool = False, candidates: bool = True
) -> Path:
    """Write the network, the postcode file, the layers and the study file; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    xs = E + np.array([0.0, 100.0, 200.0, 300.0, 400.0, 400.0, 0.0])
    ys = N + np.array([0.0, 0.0, 0.0, 0.0, 0.0, 300.0, 300.0])
    net = nw.from_arrays(
        node_x=xs,
        node_y=ys,
        edge_u=np.array([0, 1, 2, 3, 4, 5]),
        edge_v=np.array([1, 2, 3, 4, 5, 6]),
    )
    nw.save(net, folder / "net.npz")
    (folder / "codepoint.csv").write_text(
        "".join(
            f'"{pc}",10,{e:.0f},{n:.0f},"E92000001","E19000003","","E99999999",'
            '"E08000035","E05011111"\n'
            for pc, (e, n) in UNITS.items()
        )
    )
    rows = "".join(f"d{i},{E + 40 * i:.1f},{N + 5:.1f},{10 + i}\n" for i in range(10))
    (folder / "demand.csv").write_text("id,easting,northing,pop\n" + rows)
    # k1 has coordinates (kept, although its postcode is LS7 3AE); k2 has only a postcode
    (folder / "defibs.csv").write_text(
        "id,lon,lat,Post Code\nk1,-1.53595,53.81671,LS7 3AE\nk2,,,ls7 3ae\nk3,,,\n"
    )
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Council asset register, March 2024"])
    sheet.append(["Asset ID", "Site name", "Postcode"])
    for i, (cid, code) in enumerate(CANDIDATES.items()):
        sheet.append([cid, f"Site {i}", code])
    book.save(folder / "assets.xlsx")
    text = [
        "[study]",
        'name = "postcodes"',
        *(['postcode_file = "codepoint.csv"'] if postcode_file else []),
        "[network]",
        'graph_file = "net.npz"',
        'cache_dir = "cache"',
        "[demand]",
        'file = "demand.csv"',
        'id = "id"',
        'population = "pop"',
        "[defibs]",
        'file = "defibs.csv"',
        'id = "id"',
    ]
    if candidates:
        text += ["[candidates]", 'file = "assets.xlsx"', 'id = "Asset ID"', 'name = "Site name"']
    if register:
        (folder / "register.csv").write_text(
            "Defib ID,Site Name,Postcode,Latitude,Longitude,Access\n"
            "R1,Chemist,LS7 3AB,53.81927,-1.53137,Public\n"
            "R2,Village hall,ls73ad,NA,NA,Public\n"
            "R3,Church,LS99 9ZZ,,,Public\n"
        )
        text.insert(text.index("[defibs]") + 1, 'register = "register.csv"')
    text += ["[coverage]", "thresholds_m = [100, 200, 500]", "[ranking]", "new_sites = 1"]
    study = folder / "study.toml"
    study.write_text("\n".join(text) + "\n")
    return study


def test_postcode_only_register_is_geocoded(tmp_path: Path) -> None:
    study = write_study(tmp_path)
    inputs = [p for p in tmp_path.iterdir() if p.is_file()]
    before = {p.name: sha256(p) for p in inputs}
    result = defibmap.run_study(study)

    # each candidate sits at its postcode unit's centroid, whatever the spacing and case
    cands = result.candidates
    assert sorted(cands.index) == ["c1", "c2", "c3"]
    for cid in ("c1", "c2", "c3"):
        code = " ".join(CANDIDATES[cid].split()).upper()
        code = code if " " in code else f"{code[:-3]} {code[-3:]}"
        assert cands.loc[cid, "geometry"].x == pytest.approx(UNITS[code][0], abs=1e-3)
        assert cands.loc[cid, "geometry"].y == pytest.approx(UNITS[code][1], abs=1e-3)
    assert cands.loc["c1", "name"] == "Site 0"
    # c4's postcode is not in the file: rejected with its reason and its row in the workbook
    rejected = result.rejected[result.rejected["layer"] == "candidates"]
    assert rejected[["id", "row", "reason"]].to_dict("records") == [
        {"id": "c4", "row": 6, "reason": "postcode not found in codepoint.csv"}
    ]
    info = result.inputs["candidates"]
    assert info["file"] == "assets.xlsx"
    assert (info["rows_read"], info["rows_used"], info["rows_rejected"]) == (4, 3, 1)
    assert info["rows_read"] == info["rows_used"] + info["rows_rejected"]
    assert info["rejected_reasons"] == {"postcode not found in codepoint.csv": 1}
    assert info["postcodes"] == {"file": "codepoint.csv", "placed": 3, "not_found": 1}

    # a row with coordinates keeps them; a row with only a postcode is placed by it (lon/lat
    # columns filled in degrees); a row with neither is rejected as before
    defibs = result.defibs
    assert defibs.loc["k2", "geometry"].x == pytest.approx(UNITS["LS7 3AE"][0], abs=1e-3)
    assert defibs.loc["k2", "geometry"].y == pytest.approx(UNITS["LS7 3AE"][1], abs=1e-3)
    assert defibs.loc["k1", "lon"] == pytest.approx(-1.53595)
    assert defibs.loc["k1", "geometry"].distance(defibs.loc["k2", "geometry"]) > 50
    info = result.inputs["defibs"]
    assert info["file"] == "defibs.csv"
    assert (info["rows_read"], info["rows_used"], info["rows_rejected"]) == (3, 2, 1)
    assert info["rejected_reasons"] == {"missing or non-numeric coordinates": 1}
    rows = result.rejected.set_index("id")
    assert rows.loc["k3", "row"] == 4

    # the inputs are untouched; the filled-in copies live in the study's cache folder
    assert {p.name: sha256(p) for p in inputs} == before
    copies = sorted(p.name for p in (tmp_path / "cache" / "layers").glob("*-postcodes-*.csv"))
    assert [c.split("-")[0] for c in copies] == ["candidates", "defibs"]
    assert {s["layer"] for s in result.sources} >= {"postcodes", "candidates"}


def test_postcodes_without_postcode_file_say_what_to_set(tmp_path: Path) -> None:
    study = write_study(tmp_path, postcode_file=False)
    with pytest.raises(InputError) as info:
        defibmap.run_study(study)
    message = str(info.value)
    assert "assets.xlsx" in message
    assert "'Postcode'" in message
    assert "[study] postcode_file" in message


def test_postcode_column_needs_postcode_file(tmp_path: Path) -> None:
    study = write_study(tmp_path, postcode_file=False)
    study.write_text(study.read_text() + '[fire_stations]\nfile = "defibs.csv"\npostcode = "X"\n')
    with pytest.raises(ConfigError, match=r"\[fire_stations\] postcode needs .*postcode_file"):
        defibmap.load_study(study)


def test_register_rows_with_only_a_postcode(tmp_path: Path) -> None:
    study = write_study(tmp_path, register=True)
    result = defibmap.run_study(study)
    defibs = result.defibs
    assert {"R1", "R2"} <= set(defibs.index)
    assert defibs.loc["R2", "geometry"].x == pytest.approx(UNITS["LS7 3AD"][0], abs=1e-3)
    assert defibs.loc["R2", "geometry"].y == pytest.approx(UNITS["LS7 3AD"][1], abs=1e-3)
    assert defibs.loc["R1", "lat"] == pytest.approx(53.81927)
    rejected = result.rejected.set_index("id")
    assert rejected.loc["R3", "reason"] == "postcode not found in codepoint.csv"
    assert rejected.loc["R3", ["file", "row"]].tolist() == ["register.csv", 4]  # its own row
    info = result.inputs["defibs"]
    assert info["rows_read"] == info["rows_used"] + info["rows_rejected"]
    assert info["rows_read"] == 3 + 3  # defibs.csv and the register
    assert info["register"]["placed_by_postcode"] == 1
    assert info["register"]["register_without_coordinates"] == 1


def test_register_of_postcodes_only_without_postcode_file(tmp_path: Path) -> None:
    study = write_study(tmp_path, postcode_file=False, register=True, candidates=False)
    (tmp_path / "register.csv").write_text(
        "Defib ID,Site Name,Postcode,Access\nR1,Chemist,LS7 3AB,Public\n"
    )
    with pytest.raises(
        InputError, match=r"register\.csv: the register has postcodes .*postcode_file"
    ):
        defibmap.run_study(study)
