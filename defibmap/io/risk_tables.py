"""Reading the rate tables behind expected cardiac arrests: incidence by age, ratios by IMD.

Expected out-of-hospital cardiac arrests (OHCA) per year at a demand point are its residents
by age band times an incidence rate per 100,000 a year for each band, optionally times a rate
ratio for its IMD quintile (:mod:`defibmap.analysis.risk`). Both tables are small CSV files
a study names (``[demand] incidence_file`` and ``deprivation_ratio_file``); each must say where
its numbers come from in a comment line before the header::

    # source: Authors, "Title", Journal Year;Volume:pages, table N
    age_from,age_to,rate_per_100000
    0,15,2.5
    16,64,30
    65,,250

An empty ``age_to`` is the open top band (that age and over). The ratio table has the
columns ``imd_quintile`` (1 = most deprived fifth of areas, 5 = least) and ``rate_ratio``,
one row for each quintile.

defibmap ships no default table: no published English table of OHCA incidence by age band
was found that could be checked (see ``docs/references.md``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from defibmap._errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["AgeBand", "RateRatios", "RateTable", "read_incidence_rates", "read_rate_ratios"]


@dataclass(frozen=True)
class AgeBand:
    """One age band: ``low`` to ``high`` years inclusive (``high`` None: and over)."""

    low: int
    high: int | None
    #: OHCA incidence, arrests per 100,000 residents of the band a year
    rate_per_100000: float


@dataclass(frozen=True)
class RateTable:
    """OHCA incidence by age band, from age 0 to an open top band, with its source."""

    bands: tuple[AgeBand, ...]
    source: str
    file: str

    @property
    def spans(self) -> tuple[tuple[int, int | None], ...]:
        """Each band's ``(low, high)`` years, ``high`` None for the open top band."""
        return tuple((b.low, b.high) for b in self.bands)

    @property
    def rates(self) -> tuple[float, ...]:
        """Each band's rate, arrests per 100,000 a year."""
        return tuple(b.rate_per_100000 for b in self.bands)


@dataclass(frozen=True)
class RateRatios:
    """OHCA incidence rate ratio by IMD quintile (1 = most deprived fifth), with its source."""

    by_quintile: Mapping[int, float]
    source: str
    file: str


_SOURCE_PREFIX = "source:"


def _read(path: str | Path, columns: tuple[str, ...]) -> tuple[pd.DataFrame, str, Path]:
    """Return the table's rows (as text), its ``# source:`` line and its path.

    The first data row is row 2 of the header-and-rows part; row numbers in messages count
    every line of the file, comments included, as a text editor shows them.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read the rate table ({exc})"
        raise InputError(msg) from exc
    lines = text.splitlines()
    comments = 0
    source = ""
    for line in lines:
        stripped = line.strip()
        if not stripped.startswith("#") and stripped:
            break
        comments += 1
        body = stripped.lstrip("#").strip()
        if body.lower().startswith(_SOURCE_PREFIX):
            source = body[len(_SOURCE_PREFIX) :].strip()
    if not source:
        msg = (
            f"{path}: the rate table must say where its numbers come from in a comment line "
            "before the header, e.g. '# source: Authors, title, journal, year, table'"
        )
        raise InputError(msg)
    frame = pd.read_csv(io.StringIO("\n".join(lines[comments:])), dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        got = list(frame.columns)
        msg = f"{path}: missing column(s) {missing}; expected {list(columns)}, got {got}"
        raise InputError(msg)
    if frame.empty:
        msg = f"{path}: the rate table has no rows"
        raise InputError(msg)
    # file line of each data row: the comments, the header, then 1-based rows
    frame.index = pd.RangeIndex(comments + 2, comments + 2 + len(frame))
    return frame, source, path


def _number(
    text: str, path: Path, row: int, column: str, *, whole: bool = False, empty_ok: bool = False
) -> float | None:
    """Return a cell as a finite number >= 0 (a whole one where asked), else InputError."""
    value = text.strip()
    if not value and empty_ok:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0 or (whole and number != int(number)):
        kind = "a whole number >= 0" if whole else "a number >= 0"
        msg = f"{path}: row {row}, column {column!r}: expected {kind}, got {text!r}"
        raise InputError(msg)
    return number


def read_incidence_rates(path: str | Path) -> RateTable:
    """Read OHCA incidence per 100,000 residents a year by age band.

    Parameters
    ----------
    path
        CSV with a ``# source: ...`` comment line, then ``age_from``, ``age_to`` (inclusive,
        whole years; empty in the last row: that age and over) and ``rate_per_100000``.

    Returns
    -------
    RateTable
        The bands in age order, from age 0 to an open top band, without gap or overlap.

    Raises
    ------
    InputError
        Naming the file, row and column of a bad value, or the rows that leave a gap.
    """
    frame, source, path = _read(path, ("age_from", "age_to", "rate_per_100000"))
    bands: list[AgeBand] = []
    for row, cells in frame.iterrows():
        line = int(str(row))
        low = _number(cells["age_from"], path, line, "age_from", whole=True)
        high = _number(cells["age_to"], path, line, "age_to", whole=True, empty_ok=True)
        rate = _number(cells["rate_per_100000"], path, line, "rate_per_100000")
        assert low is not None  # noqa: S101 - empty_ok is False for it
        assert rate is not None  # noqa: S101
        expected_low = 0 if not bands else (bands[-1].high or 0) + 1
        if bands and bands[-1].high is None:
            msg = f"{path}: row {line}: a band follows the open top band (age_to empty)"
            raise InputError(msg)
        if int(low) != expected_low:
            msg = (
                f"{path}: row {line}, column 'age_from': expected {expected_low} (the bands "
                f"must run from age 0 without gap or overlap), got {cells['age_from']!r}"
            )
            raise InputError(msg)
        if high is not None and high < low:
            msg = f"{path}: row {line}, column 'age_to': {cells['age_to']!r} is below age_from"
            raise InputError(msg)
        bands.append(AgeBand(int(low), None if high is None else int(high), rate))
    if bands[-1].high is not None:
        msg = (
            f"{path}: the last band must be open (age_to empty: that age and over), so every "
            f"resident counts; it ends at {bands[-1].high}"
        )
        raise InputError(msg)
    return RateTable(bands=tuple(bands), source=source, file=path.name)


def read_rate_ratios(path: str | Path) -> RateRatios:
    """Read OHCA incidence rate ratios by IMD quintile (1 = most deprived fifth).

    Parameters
    ----------
    path
        CSV with a ``# source: ...`` comment line, then ``imd_quintile`` (1-5, each once)
        and ``rate_ratio`` (a number >= 0).

    Returns
    -------
    RateRatios

    Raises
    ------
    InputError
        Naming the file, row and column of a bad value, or the quintiles missing.
    """
    frame, source, path = _read(path, ("imd_quintile", "rate_ratio"))
    ratios: dict[int, float] = {}
    for row, cells in frame.iterrows():
        line = int(str(row))
        quintile = _number(cells["imd_quintile"], path, line, "imd_quintile", whole=True)
        ratio = _number(cells["rate_ratio"], path, line, "rate_ratio")
        assert quintile is not None  # noqa: S101 - empty_ok is False for it
        assert ratio is not None  # noqa: S101
        if not 1 <= quintile <= 5 or int(quintile) in ratios:
            msg = (
                f"{path}: row {line}, column 'imd_quintile': expected each of 1-5 once, "
                f"got {cells['imd_quintile']!r}"
            )
            raise InputError(msg)
        ratios[int(quintile)] = ratio
    missing = sorted(set(range(1, 6)) - set(ratios))
    if missing:
        msg = f"{path}: no rate_ratio for IMD quintile(s) {missing}; give one for each of 1-5"
        raise InputError(msg)
    return RateRatios(by_quintile=ratios, source=source, file=path.name)
