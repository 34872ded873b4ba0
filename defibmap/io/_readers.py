"""Read tables from files: CSV and Excel cells, with the row each came from.

CSV files may be UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark or
Windows cp1252, and comma, semicolon, tab or pipe delimited; Excel workbooks (``.xlsx``) may
have blank leading rows and columns and a one-cell title row above the header. Every data row
keeps its number in the file as a spreadsheet counts it, so an error can name it. A problem
with the file itself raises :class:`~defibmap._errors.InputError` naming the file (and the row
where there is one); what the cells mean is judged by :mod:`defibmap.io.sites`.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from defibmap._errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")

_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class Table:
    """A table read from a file: cells, the file row of each, and how numbers are written."""

    frame: pd.DataFrame  # index: the row as a person counts it in the file (header row 1)
    decimal_comma: bool = False
    too_many_cells: NDArray[np.bool_] | None = None


def read_table(path: Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV or Excel file into a DataFrame of text and numbers.

    CSV files may be UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark
    or Windows cp1252, and comma, semicolon, tab or pipe delimited. Excel files may have blank
    leading rows and columns and a one-cell title row above the header; the first sheet is
    read unless ``sheet`` names another (by name or 0-based position).

    Returns
    -------
    pandas.DataFrame
        One row per data row; the index (``row``) is the row number in the file, counted as a
        spreadsheet shows it (the header of a plain CSV is row 1). Fully blank rows are skipped.
    """
    return read(path, sheet).frame


def read(path: Path, sheet: str | int | None) -> Table:
    """Read a CSV or Excel file as a :class:`Table` (see :func:`read_table`)."""
    suffix = path.suffix.lower()
    check_file(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, sheet)
    if suffix == ".xls":
        msg = f"{path}: Excel 97-2003 (.xls) workbooks are not read; save it as .xlsx or CSV"
        raise InputError(msg)
    if suffix not in TABLE_SUFFIXES:
        msg = (
            f"{path}: unsupported file type {suffix or '(no extension)'!r}; expected one of "
            f"{', '.join(TABLE_SUFFIXES + VECTOR_SUFFIXES)}"
        )
        raise InputError(msg)
    return _read_csv(path)


def check_file(path: Path) -> None:
    """Refuse a path that is missing, a folder, or not a regular file (a pipe, a device).

    A named pipe is never opened: reading it would wait for a writer forever.
    """
    if not path.exists():
        msg = f"{path}: file not found"
        raise InputError(msg)
    if path.is_dir():
        msg = f"{path}: is a folder, not a file"
        raise InputError(msg)
    if not path.is_file():
        kind = "a named pipe" if path.is_fifo() else "a device" if path.is_char_device() else None
        msg = f"{path}: is {kind or 'not a regular file'}, not a saved file; give a file on disk"
        raise InputError(msg)


def _read_csv(path: Path) -> Table:
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"{path}: cannot read the file ({exc.strerror})"
        raise InputError(msg) from exc
    if data.startswith(b"PK\x03\x04"):
        msg = f"{path}: is a zip archive (an Excel .xlsx workbook?), not CSV text"
        raise InputError(msg)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        msg = f"{path}: is an Excel 97-2003 or encrypted workbook, not CSV text; save it as CSV"
        raise InputError(msg)
    text = _decode(data, path)
    if "\x00" in text:
        msg = f"{path}: holds NUL bytes: a binary file, not CSV text"
        raise InputError(msg)
    if not text.strip():
        msg = f"{path}: the file is empty"
        raise InputError(msg)
    first = next(line for line in text.splitlines() if line.strip())
    sep = _delimiter(first)
    records = _records(text, sep, path)
    start = next((i for i, r in enumerate(records) if any(c.strip() for c in r)), None)
    if start is None:  # delimiters and quotes only: no header to read
        msg = (
            f"{path}: no cell holds any text (delimiters or quotes only); "
            "expected a header row of column names"
        )
        raise InputError(msg)
    columns = _header(records[start], path, start + 1)
    width = len(columns)
    body = records[start + 1 :]
    full = max([width, *(len(r) for r in body)])
    cells = np.array([r + [""] * (full - len(r)) for r in body], dtype=object)
    cells = cells.reshape(len(body), full)
    filled = np.zeros(cells.shape, dtype=bool)
    for j in range(full):
        filled[:, j] = [bool(c.strip()) for c in cells[:, j]]
    has_data = filled.any(axis=1)
    if not has_data.all():
        logger.info("%s: skipped %d blank rows", path, int((~has_data).sum()))
    # rows as a spreadsheet counts them: the header is row start + 1
    rows = pd.Index(np.flatnonzero(has_data) + start + 2, dtype=np.int64, name="row")
    frame = pd.DataFrame(cells[has_data, :width], columns=columns, index=rows, dtype=object)
    over = np.asarray(filled[has_data, width:].any(axis=1), dtype=bool)
    return Table(frame, decimal_comma=sep == ";", too_many_cells=over)


def _delimiter(header: str) -> str:
    """Return the delimiter found most often in the header outside quotes (comma on ties)."""
    outside = "".join(part for i, part in enumerate(header.split('"')) if i % 2 == 0)
    counts = [outside.count(d) for d in _DELIMITERS]
    return _DELIMITERS[int(np.argmax(counts))] if max(counts) else ","


def _records(text: str, sep: str, path: Path) -> list[list[str]]:
    """Split CSV text into records; blank lines stay as empty records so rows keep numbers."""
    try:
        return _split(text, sep, path, strict=True)
    except csv.Error as exc:
        records = _split(text, sep, path, strict=False)
        if "end of data" in str(exc):
            msg = (
                f"{path}: row {len(records)}: a quotation mark opens a cell that is never closed, "
                "so the rest of the file would be read as one cell"
            )
            raise InputError(msg) from exc
        return records  # stray quotes inside a cell are read as text


def _split(text: str, sep: str, path: Path, *, strict: bool) -> list[list[str]]:
    """Split CSV text into records, refusing a cell too long to be a value."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=strict)
    records: list[list[str]] = []
    try:
        records.extend(reader)
    except csv.Error as exc:
        if "field limit" not in str(exc):
            raise
        # no value in a point layer is this long: a quotation mark left open, or not a table
        msg = (
            f"{path}: row {reader.line_num}: a cell is longer than "
            f"{csv.field_size_limit():,} characters (a quotation mark left open?); "
            "check the file is a table of points"
        )
        raise InputError(msg) from exc
    return records


def _header(cells: list[Any], path: Path, row: int) -> list[str]:
    """Column names from a header row; blank names made up, repeated names refused."""
    names = [cell_text(c).replace("\ufeff", "") or f"Unnamed: {j}" for j, c in enumerate(cells)]
    seen: dict[str, int] = {}
    for j, name in enumerate(names, start=1):
        if name in seen:
            msg = (
                f"{path}: row {row}: column {name!r} appears twice in the header "
                f"(columns {seen[name]} and {j}); column names must be unique"
            )
            raise InputError(msg)
        seen[name] = j
    return names


def cell_text(value: object, *, strip: bool = True) -> str:
    """Return a cell as (stripped) text: missing is empty, whole floats lose their ``.0``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        if float(value).is_integer():
            return str(int(value))
    return str(value).strip() if strip else str(value)


def _decode(data: bytes, path: Path) -> str:
    """Decode file bytes as UTF-16 (with BOM), UTF-8 (BOM stripped) or Windows cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            msg = f"{path}: starts like UTF-16 text but byte {exc.start} is not; save it as UTF-8"
            raise InputError(msg) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        logger.info("%s is not UTF-8; reading it as Windows cp1252", path)
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            msg = (
                f"{path}: byte {exc.start} is neither UTF-8 nor Windows cp1252 text; "
                "save the file as UTF-8 CSV"
            )
            raise InputError(msg) from exc


def _read_excel(path: Path, sheet: str | int | None) -> Table:
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            names = [str(n) for n in book.sheet_names]
            chosen = _sheet_name(names, sheet, path)
            _check_visible(book, chosen, names, sheet=sheet, path=path)
            raw = pd.read_excel(book, sheet_name=chosen, header=None, dtype=object)
    except InputError:
        raise
    except Exception as exc:
        msg = f"{path}: cannot read as an Excel workbook ({type(exc).__name__}: {exc})"
        raise InputError(msg) from exc
    text = raw.map(cell_text).to_numpy(dtype=object) if raw.size else np.empty((0, 0), object)
    filled = text != ""
    row_has = filled.any(axis=1)
    if not row_has.any():
        others = f"; the workbook's sheets are {names}, choose one with sheet = ..." * (
            len(names) > 1
        )
        msg = f"{path}: sheet {chosen!r} is empty{others}"
        raise InputError(msg)
    cols = np.flatnonzero(filled.any(axis=0))
    counts = filled[:, cols].sum(axis=1)
    used = np.flatnonzero(row_has)
    # a one-cell title row above the header ("Asset register, March 2024") is not the header
    wide = used[counts[used] >= 2]
    head = int(wide[0]) if wide.size and cols.size >= 2 else int(used[0])
    if head != used[0]:
        logger.info("%s: skipped title rows above the header in row %d", path, head + 1)
    columns = _header(list(raw.iloc[head, cols]), path, head + 1)
    body = used[used > head]
    frame = pd.DataFrame(raw.iloc[body, cols].to_numpy(dtype=object), columns=columns)
    frame.index = pd.Index(body + 1, dtype=np.int64, name="row")  # sheet rows count from 1
    return Table(frame)


def _check_visible(
    book: pd.ExcelFile, chosen: str, names: list[str], *, sheet: str | int | None, path: Path
) -> None:
    """Log the sheet read; refuse a hidden one the study did not name.

    The first sheet may be hidden (an old copy kept out of sight): Excel shows the visible
    ones, so reading it unasked would use rows the user never sees.
    """
    states = {str(ws.title): str(ws.sheet_state) for ws in book.book.worksheets}
    state = states.get(chosen, "visible")
    if state != "visible" and sheet is None:
        shown = [n for n in names if states.get(n, "visible") == "visible"]
        msg = (
            f"{path}: the first sheet {chosen!r} is {state}; the visible sheets are {shown}, "
            f"name the one to read with sheet = ..."
        )
        raise InputError(msg)
    logger.info("%s: reading sheet %r%s", path, chosen, f" ({state})" * (state != "visible"))


def _sheet_name(names: list[str], sheet: str | int | None, path: Path) -> str:
    if sheet is None:
        return names[0]
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
        msg = (
            f"{path}: sheet {sheet} does not exist; the workbook has {len(names)} sheet(s) "
            f"{names} (numbered from 0)"
        )
        raise InputError(msg)
    if sheet in names:
        return sheet
    msg = f"{path}: no sheet named {sheet!r}; the workbook's sheets are {names}"
    raise InputError(msg)
