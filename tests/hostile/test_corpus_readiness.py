"""Hostile studies for one device's usability: ``outside_defib`` cells, readiness values and
the ``[availability]`` keys ``as_of`` and ``max_days_unchecked``.

Each case runs the command line on a copy of the demo-town study with one thing wrong and
asserts one error line naming the file and key (or row and column) and what was expected,
with no traceback. The last test runs a whole study where a row's own ``outside_defib`` and a
register-style ``status`` change which devices count.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from defibmap.cli import main

REPO = Path(__file__).resolve().parents[2]
DEMO_DATA = REPO / "data" / "demo-town"
STUDY = (REPO / "data" / "studies" / "demo-town.toml").read_text(encoding="utf-8")


def _availability(line: str) -> str:
    return f"{STUDY}\n[availability]\n{line}\n"


def _with_column(name: str, column: str, values: dict[int, str]) -> tuple[str, str]:
    """A copy of a demo file with one more column; ``values`` by data row (0 = first).

    A column the file already has (the demo's fire stations carry ``outside_defib``) is
    replaced: each row takes its value from ``values``, blank where none is given.
    """
    lines = (DEMO_DATA / name).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    if column in header:
        at = header.index(column)
        rows = [line.split(",") for line in lines[1:]]
        for i, cells in enumerate(rows):
            cells[at] = values.get(i, "")
        return name, "\n".join([lines[0], *(",".join(c) for c in rows)]) + "\n"
    out = [f"{lines[0]},{column}"]
    out += [f"{line},{values.get(i, '')}" for i, line in enumerate(lines[1:])]
    return name, "\n".join(out) + "\n"


def _study(tmp_path: Path, text: str, files: tuple[tuple[str, str], ...] = ()) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    for name, content in files:
        text = text.replace(f'"../demo-town/{name}"', f'"{name}"')
        (folder / name).write_text(content, encoding="utf-8")
    text = text.replace('"../demo-town/', f'"{DEMO_DATA.as_posix()}/')
    path = folder / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


AV = r"\[availability\] "
DATE = AV + "as_of must be a date"
DAYS = AV + "max_days_unchecked must be a whole number of days"
FIRE_CELL = _with_column("fire_stations.csv", "outside_defib", {1: "perhaps"})
STATUS_CELL = _with_column("defibs.csv", "Status", {4: "Kaput"})
PADS_CELL = _with_column("defibs.csv", "Pads Expiry", {0: "next year"})
CASES = {
    "as_of_not_a_day": (
        _availability('as_of = "2026-02-30"'),
        (),
        DATE + r" such as 2026-05-01.*got '2026-02-30'",
    ),
    "as_of_uk_order": (_availability('as_of = "01/05/2026"'), (), DATE + ".*got '01/05/2026'"),
    "as_of_number": (_availability("as_of = 2026"), (), DATE + ".*got 2026"),
    "as_of_with_time": (_availability("as_of = 2026-05-01T10:00:00"), (), DATE + ".*datetime"),
    "days_negative": (
        _availability("max_days_unchecked = -1"),
        (),
        DAYS + " >= 0 and <= 36500, got -1",
    ),
    "days_fraction": (_availability("max_days_unchecked = 30.5"), (), DAYS),
    "days_text": (_availability('max_days_unchecked = "90"'), (), DAYS + ".*got '90'"),
    "days_bool": (_availability("max_days_unchecked = true"), (), DAYS),
    "days_typo": (
        _availability("max_day_unchecked = 90"),
        (),
        AV + r"unknown key\(s\) \['max_day_unchecked'\]",
    ),
    "as_of_typo": (_availability('asof = "2026-05-01"'), (), AV + r"unknown key\(s\) \['asof'\]"),
    "outside_defib_cell": (
        STUDY,
        (FIRE_CELL,),
        r"fire_stations\.csv: row 3, column 'outside_defib': 'perhaps' is not yes or no",
    ),
    "status_word": (
        STUDY,
        (STATUS_CELL,),
        r"defibs\.csv: row 6, column 'Status': status 'Kaput' is not known",
    ),
    "pads_date": (
        STUDY,
        (PADS_CELL,),
        r"defibs\.csv: row 2, column 'Pads Expiry': 'next year' is not a date",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_readiness_study(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, files, message = CASES[case]
    study = _study(tmp_path, text, files)
    status = main(["run", "--config", str(study), "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "out").exists()


def test_rows_decide_which_devices_count(tmp_path: Path) -> None:
    """The police station's row says no (its section says yes); every defib is not ready."""
    n_defibs = len((DEMO_DATA / "defibs.csv").read_text(encoding="utf-8").splitlines()) - 1
    files = (
        _with_column("police_stations.csv", "outside_defib", {0: "no"}),
        # the demo's fire stations (one says yes) carry no cabinet here either
        _with_column("fire_stations.csv", "outside_defib", {0: "no", 1: "no"}),
        _with_column("defibs.csv", "status", dict.fromkeys(range(n_defibs), "Not ready")),
    )
    # nor the ambulance hub (a 24/7 staffed defib the register does not judge)
    text = _availability("as_of = 2026-05-01\nmax_days_unchecked = 30")
    text = re.sub(r"\n\[ambulance_hubs\]\nfile = [^\n]*\nid = [^\n]*\n", "\n", text)
    assert "[ambulance_hubs]" not in text
    out = tmp_path / "out"
    assert (
        main(["run", "--config", str(_study(tmp_path, text, files)), "--out", str(out), "-q"]) == 0
    )
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    current = summary["scenarios"]["current"]
    assert current["sites"] == n_defibs  # the police station is not a defib any more
    for figure in ("day", "night", "day_annual_average", "night_annual_average"):
        assert set(current[figure].values()) == {0.0}, figure  # no device is usable
    assert summary["inputs"]["defibs"]["columns_read"][-1] == "status"
    assert any(f"{n_defibs} defib(s) are not ready" in note for note in summary["notes"])
