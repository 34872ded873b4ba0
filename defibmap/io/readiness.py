"""Is a defib ready? A register's status, pad and battery expiry and last check, per device.

A defibrillator register such as The Circuit (the UK national defibrillator network, run by
the British Heart Foundation) keeps, for each device, a status its guardian sets after a
check (ready or not), the expiry dates of the pads and the battery, and the date of the last
check. A device is *not ready* when its status says so, its pads or battery expired before
the study's ``as_of`` date, or it has not been checked for more than ``max_days_unchecked``
days; such a device is usable at no hour.

The Circuit does not publish its export format, so the headers are recognised from common
names (:data:`HEADERS`; compared lower case, ``_`` read as a space) and a register's
``columns`` option (:func:`defibmap.io.registers.read_register`) names any other.

Values:

- **status**: one of :data:`READY_WORDS` (ready) or :data:`NOT_READY_WORDS` (not ready), any
  case; a blank (or ``NA``, ``-``, ...) is unknown; any other text is refused naming the file,
  row and column, so a status word defibmap does not know never counts a broken device.
- **dates**: ``2026-05-01`` (also with a time, as Excel cells read), ``01/05/2026``,
  ``01/05/26``, ``01-05-2026``, ``01.05.2026``, ``1 May 2026``, ``1 May 26``: day before month,
  as written in the UK. A blank is unknown; anything else is refused naming file, row, column.

Unknown is not a fault: a device with no status and no dates (or no such columns at all) is
counted ready (``ready`` is NA), because most public defibs in OpenStreetMap carry none of
this; a status "ready" with no check date is ready too. Only what the register says counts
against a device.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap._errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from numpy.typing import NDArray

__all__ = [
    "FIELDS",
    "HEADERS",
    "NOT_READY_WORDS",
    "READY_WORDS",
    "assess",
    "find_columns",
    "parse_date",
    "parse_status",
    "read_readiness",
]

#: The normalised columns a defib layer gains, in order: status text, then three dates.
FIELDS = ("status", "pads_expiry", "battery_expiry", "last_checked")
#: Header names recognised for each field (compared lower case, ``_`` read as a space).
HEADERS: dict[str, tuple[str, ...]] = {
    "status": (
        "status",
        "defib status",
        "defibrillator status",
        "device status",
        "aed status",
        "readiness",
        "ready status",
        "rescue ready",
        "emergency ready",
    ),
    "pads_expiry": (
        "pads expiry",
        "pad expiry",
        "pads expiry date",
        "pad expiry date",
        "pads expire",
        "pads expires",
        "adult pads expiry",
        "adult pads expiry date",
        "electrode expiry",
        "electrodes expiry",
        "electrode expiry date",
        "pads expiration date",
    ),
    "battery_expiry": (
        "battery expiry",
        "battery expiry date",
        "battery expires",
        "battery expiration date",
    ),
    "last_checked": (
        "last checked",
        "last check",
        "last checked date",
        "date last checked",
        "last check date",
        "last ready date",
        "last inspected",
        "last inspection",
        "last inspection date",
        "last guardian check",
    ),
}
#: Status text that means the device is ready (lower case, spaces collapsed).
READY_WORDS = frozenset(
    {
        "ready",
        "rescue ready",
        "emergency ready",
        "ready to rescue",
        "available",
        "in service",
        "ok",
        "operational",
        "active",
        "yes",
        "y",
        "true",
        "1",
    }
)
#: Status text that means the device is not ready (lower case, spaces collapsed).
NOT_READY_WORDS = frozenset(
    {
        "not ready",
        "not rescue ready",
        "not emergency ready",
        "unavailable",
        "not available",
        "out of service",
        "out of use",
        "offline",
        "inactive",
        "expired",
        "used",
        "faulty",
        "fault",
        "broken",
        "damaged",
        "missing",
        "stolen",
        "removed",
        "decommissioned",
        "under repair",
        "in repair",
        "needs attention",
        "no",
        "n",
        "false",
        "0",
    }
)
#: Text that means "no value".
_MISSING = frozenset({"", "na", "n/a", "n.a.", "-", "--", "none", "null", "nan", "unknown", "?"})
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %B %Y",
    "%d %b %Y",
    "%d %B %y",
    "%d %b %y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
)


def _key(name: object) -> str:
    return re.sub(r"\s+", " ", str(name).replace("_", " ")).strip().lower()


def find_columns(
    columns: Iterable[object], explicit: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return field to column for the readiness fields a table has (:data:`HEADERS`).

    ``explicit`` (field to column) wins over the recognised names.
    """
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(_key(column), str(column))
    found = {}
    for field_name, names in HEADERS.items():
        hit = next((by_key[n] for n in names if n in by_key), None)
        if hit is not None:
            found[field_name] = hit
    found.update(explicit or {})
    return found


def _blank(text: str) -> bool:
    return text.strip().lower() in _MISSING


def parse_status(text: object, *, where: str = "status") -> bool | None:
    """Return True (ready), False (not ready) or None (blank) for a status cell.

    Raises
    ------
    InputError
        For text that is neither a :data:`READY_WORDS` nor a :data:`NOT_READY_WORDS` word;
        ``where`` names the file, row and column.
    """
    raw = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    if _blank(raw):
        return None
    words = re.sub(r"[\s_]+", " ", raw).strip().lower()
    if words in READY_WORDS:
        return True
    if words in NOT_READY_WORDS:
        return False
    msg = (
        f"{where}: status {raw.strip()!r} is not known; give one of "
        f"{sorted(READY_WORDS - {'y', '1'})} for a ready device, "
        f"{sorted(NOT_READY_WORDS - {'n', '0'})} for one that is not, or leave it blank"
    )
    raise InputError(msg)


def parse_date(text: object, *, where: str = "date") -> dt.date | None:
    """Return the date a cell holds (UK day-first), or None when it is blank.

    Raises
    ------
    InputError
        For text that is not a date in one of the accepted forms; ``where`` names the file,
        row and column.
    """
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    raw = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    if _blank(raw) or raw.strip() == "NaT":
        return None
    value = re.sub(r"\s+", " ", raw.strip())
    for form in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, form).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    msg = (
        f"{where}: {raw.strip()!r} is not a date; write it as 2026-05-01 or 01/05/2026 "
        "(day first), or leave it blank"
    )
    raise InputError(msg)


def read_readiness(
    frame: pd.DataFrame,
    *,
    file: str,
    rows: NDArray[np.int64],
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a table's readiness columns into the normalised :data:`FIELDS`.

    Parameters
    ----------
    frame
        The table as read (text cells).
    file
        The file, for messages.
    rows
        The row of each line of ``frame`` in the file, for messages.
    columns
        The columns found (:func:`find_columns`); found here when None.

    Returns
    -------
    pandas.DataFrame
        Index of ``frame``; ``status`` (the text, ``""`` when blank) and ``pads_expiry``,
        ``battery_expiry``, ``last_checked`` (ISO dates ``YYYY-MM-DD``, ``""`` when blank), only
        for the fields the table has.

    Raises
    ------
    InputError
        For a status word not known or a cell that is not a date, naming file, row and column.
    """
    found = find_columns(frame.columns) if columns is None else dict(columns)
    out = pd.DataFrame(index=frame.index)
    for field_name in FIELDS:
        column = found.get(field_name)
        if column is None:
            continue
        values: list[str] = []
        for row, cell in zip(rows, frame[column].to_numpy(dtype=object), strict=True):
            where = f"{file}: row {row}, column {column!r}"
            if field_name == "status":
                parse_status(cell, where=where)  # refuse a word not known, now
                text = "" if cell is None or pd.isna(cell) else str(cell).strip()
                values.append("" if _blank(text) else text)
            else:
                day = parse_date(cell, where=where)
                values.append("" if day is None else day.isoformat())
        out[field_name] = values
    return out


def assess(
    frame: pd.DataFrame, *, as_of: dt.date, max_days_unchecked: int | None
) -> tuple[pd.Series, pd.Series]:
    """Judge each device ready or not from its normalised readiness columns.

    Parameters
    ----------
    frame
        A defib layer with any of :data:`FIELDS` (text as :func:`read_readiness` writes it;
        dates as ISO text or dates; blanks and missing columns are unknown).
    as_of
        The day expiry and the last check are judged on: pads or a battery expiring on that day
        still count (expired means before it).
    max_days_unchecked
        Days since the last check after which a device counts as not ready; None: never.

    Returns
    -------
    tuple of (pandas.Series, pandas.Series)
        ``ready`` (pandas ``"boolean"``: False when any reason holds, True when the row gives
        some readiness value and none holds, NA when it gives none) and ``not_ready_reason``
        (text, reasons joined with ``"; "``: ``status 'Not ready'``, ``pads expired
        2026-05-01``, ``battery expired ...``, ``not checked since 2025-01-10 (N days)``;
        ``""`` for a ready or unknown device).
    """
    reasons: list[str] = []
    ready: list[bool | None] = []
    for i in range(len(frame)):
        row_reasons: list[str] = []
        known = False
        status = _cell(frame, "status", i)
        if status:
            known = True
            if parse_status(status, where=f"row {i}") is False:
                row_reasons.append(f"status {status!r}")
        for field_name, label in (("pads_expiry", "pads"), ("battery_expiry", "battery")):
            day = parse_date(_cell(frame, field_name, i), where=field_name)
            if day is not None:
                known = True
                if day < as_of:
                    row_reasons.append(f"{label} expired {day.isoformat()}")
        checked = parse_date(_cell(frame, "last_checked", i), where="last_checked")
        if checked is not None:
            known = True
            days = (as_of - checked).days
            if max_days_unchecked is not None and days > max_days_unchecked:
                row_reasons.append(f"not checked since {checked.isoformat()} ({days} days)")
        reasons.append("; ".join(row_reasons))
        ready.append(False if row_reasons else (True if known else None))
    return (
        pd.Series(pd.array(ready, dtype="boolean"), index=frame.index, name="ready"),
        pd.Series(reasons, index=frame.index, name="not_ready_reason", dtype=object),
    )


def _cell(frame: pd.DataFrame, column: str, i: int) -> str:
    """Return a cell as stripped text ("" for a missing column or value)."""
    if column not in frame.columns:
        return ""
    value = frame[column].iloc[i]
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    text = str(value).strip()
    return "" if _blank(text) else text
