"""Postcodes to coordinates: OS Code-Point Open and the ONS Postcode Directory (ONSPD).

A council's files often locate a building by its postcode alone. :func:`geocode` places each
row at its postcode unit's centroid (British National Grid metres) from a lookup read by
:func:`read_codepoint`, :func:`read_onspd` or :func:`read_postcode_lookup` (which tells them
apart), and lists the postcodes it could not find. Postcodes are compared in one form,
upper case with one space before the inward code (``"cv1 5fb"``, ``"CV15FB"`` and
``" CV1  5FB "`` are all ``"CV1 5FB"``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from defibmap._errors import InputError

logger = logging.getLogger(__name__)

#: A full UK postcode unit with the spaces taken out (outward code, then digit + 2 letters).
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")
#: OS Code-Point Open CSV columns (the files have no header).
CODEPOINT_COLUMNS = (
    "postcode",
    "positional_quality",
    "easting",
    "northing",
    "country",
    "region",
    "unused",
    "county",
    "district",
    "ward",
)
_MISSING = {"", "NA", "N/A", "NAN", "NONE", "NULL", "-"}
#: Start of the reason a row placed only by its postcode is rejected for when the postcode is
#: not in the lookup (:func:`not_found_reason` adds the lookup's file name).
POSTCODE_NOT_FOUND = "postcode not found in"


def not_found_reason(lookup: pd.DataFrame) -> str:
    """Return the rejection reason for a postcode missing from ``lookup``.

    ``"postcode not found in <file>"``, the file the lookup was read from.
    """
    return f"{POSTCODE_NOT_FOUND} {lookup.attrs.get('file', 'the postcode file')}"


def normalise_postcode(text: object) -> str:
    """Return a postcode in the usual form (``"CV1 5FB"``); ``""`` when empty.

    Text that is not a full postcode comes back upper case with spaces squeezed out, so it
    still fails to match rather than matching the wrong unit.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    squeezed = re.sub(r"\s+", "", str(text)).upper()
    if squeezed in _MISSING:
        return ""
    if POSTCODE.match(squeezed):
        return f"{squeezed[:-3]} {squeezed[-3:]}"
    return squeezed


def normalise_postcodes(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_postcode` over a Series (same index)."""
    squeezed = values.fillna("").astype(str).str.replace(r"\s+", "", regex=True).str.upper()
    squeezed = squeezed.where(~squeezed.isin(_MISSING), "")
    full = squeezed.str.match(POSTCODE.pattern)
    spaced = squeezed.str[:-3] + " " + squeezed.str[-3:]
    return spaced.where(full, squeezed)


def _finish(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame["postcode"] = normalise_postcodes(frame["postcode"])
    for column in ("easting", "northing"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    east, north = frame["easting"].to_numpy(float), frame["northing"].to_numpy(float)
    finite = np.isfinite(east) & np.isfinite(north) & (east > 0) & (north > 0)
    usable = frame["postcode"].ne("").to_numpy() & finite
    frame = frame[usable]
    frame = frame.drop_duplicates("postcode", keep="first").set_index("postcode")
    frame.attrs = {"file": path.name}
    logger.info("%s: %d postcodes", path, len(frame))
    return frame


def read_codepoint(path: str | Path) -> pd.DataFrame:
    """Read OS Code-Point Open postcode unit centroids.

    Parameters
    ----------
    path
        One Code-Point Open CSV (no header: postcode, positional quality, easting, northing,
        country, region, unused, county, district, ward), or the folder of them
        (``Data/CSV/*.csv`` in the download).

    Returns
    -------
    pandas.DataFrame
        Index ``postcode`` (normalised); ``easting``, ``northing`` (EPSG:27700 metres),
        ``positional_quality`` and the area codes. Units without a grid reference are left
        out.
    """
    path = Path(path)
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files or not files[0].exists():
        msg = f"{path}: Code-Point Open file not found"
        raise InputError(msg)
    parts = []
    for file in files:
        try:
            part = pd.read_csv(
                file, header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig"
            )
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            msg = f"{file}: cannot read as a Code-Point Open CSV ({exc})"
            raise InputError(msg) from exc
        if part.shape[1] < 4 or not pd.to_numeric(part[2], errors="coerce").notna().any():
            msg = (
                f"{file}: not a Code-Point Open CSV (expected no header and the columns "
                f"{', '.join(CODEPOINT_COLUMNS)})"
            )
            raise InputError(msg)
        part = part.iloc[:, : len(CODEPOINT_COLUMNS)]
        part.columns = pd.Index(CODEPOINT_COLUMNS[: part.shape[1]])
        parts.append(part.drop(columns=["unused"], errors="ignore"))
    return _finish(pd.concat(parts, ignore_index=True), path)


def read_onspd(path: str | Path) -> pd.DataFrame:
    """Read the ONS Postcode Directory (or any CSV with ONSPD-style columns).

    Reads only the columns it needs, so the full directory (2.7 million rows) fits in memory:
    ``pcds`` (or ``pcd``/``pcd7``/``pcd8``/``postcode``), ``oseast1m``/``osnrth1m``
    (British National Grid metres), else ``lat``/``long``; ``doterm`` marks terminated
    postcodes (kept: old registers use them; a live unit wins a tie).

    Returns
    -------
    pandas.DataFrame
        Index ``postcode``; ``easting``, ``northing`` (EPSG:27700), ``terminated`` (bool).
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: postcode directory not found"
        raise InputError(msg)
    wanted = {"pcds", "pcd", "pcd7", "pcd8", "postcode", "oseast1m", "osnrth1m"}
    wanted |= {"lat", "long", "lon", "latitude", "longitude", "doterm", "easting", "northing"}
    try:
        frame = pd.read_csv(
            path,
            usecols=lambda c: c.strip().lower() in wanted,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        msg = f"{path}: cannot read as a postcode directory CSV ({exc})"
        raise InputError(msg) from exc
    frame.columns = pd.Index([c.strip().lower() for c in frame.columns])
    code = next((c for c in ("pcds", "pcd", "pcd7", "pcd8", "postcode") if c in frame), None)
    if code is None:
        msg = f"{path}: no postcode column (pcds, pcd or postcode); columns {list(frame.columns)}"
        raise InputError(msg)
    out = pd.DataFrame({"postcode": frame[code]})
    east = next((c for c in ("oseast1m", "easting") if c in frame), None)
    north = next((c for c in ("osnrth1m", "northing") if c in frame), None)
    lon = next((c for c in ("long", "lon", "longitude") if c in frame), None)
    lat = next((c for c in ("lat", "latitude") if c in frame), None)
    if east and north:
        out["easting"], out["northing"] = frame[east], frame[north]
    elif lon and lat:
        from pyproj import Transformer

        x = pd.to_numeric(frame[lon], errors="coerce").to_numpy(float)
        y = pd.to_numeric(frame[lat], errors="coerce").to_numpy(float)
        y = np.where(np.abs(y) > 90, np.nan, y)  # ONSPD writes 99.999999 for "no grid ref"
        out["easting"], out["northing"] = Transformer.from_crs(
            4326, 27700, always_xy=True
        ).transform(x, y)
    else:
        msg = (
            f"{path}: no coordinates (oseast1m/osnrth1m, easting/northing or lat/long); "
            f"columns {list(frame.columns)}"
        )
        raise InputError(msg)
    out["terminated"] = frame["doterm"].str.strip().ne("") if "doterm" in frame else False
    out = out.sort_values("terminated", kind="stable")  # a live unit wins a tie
    return _finish(out, path)


def read_postcode_lookup(path: str | Path) -> pd.DataFrame:
    """Read any postcode lookup: Code-Point Open (no header), ONSPD, or a simple table.

    A simple table has a ``postcode`` column and ``easting``/``northing`` or ``lat``/``lon``
    (e.g. ``data/leeds/postcodes_inner_ne.csv``).
    """
    path = Path(path)
    if path.is_dir():
        return read_codepoint(path)
    if not path.is_file():
        msg = f"{path}: postcode file not found"
        raise InputError(msg)
    with path.open("rb") as fh:
        first = fh.readline().decode("utf-8-sig", errors="replace")
    first_cell = first.split(",")[0].strip().strip('"')
    if POSTCODE.match(re.sub(r"\s+", "", first_cell).upper()):  # no header: Code-Point Open
        return read_codepoint(path)
    return read_onspd(path)


def geocode(
    frame: pd.DataFrame,
    postcode_column: str,
    lookup: pd.DataFrame,
    *,
    keep_existing: bool = False,
) -> tuple[pd.DataFrame, list[tuple[int | str, str]]]:
    """Place each row at its postcode unit's centroid.

    Parameters
    ----------
    frame
        Any table with a postcode column (e.g. from :func:`defibmap.io.sites.read_table`).
    postcode_column
        The column holding postcodes, in any spacing and case.
    lookup
        From :func:`read_codepoint`, :func:`read_onspd` or :func:`read_postcode_lookup`.
    keep_existing
        Keep ``easting``/``northing`` already in ``frame`` and fill only missing ones.

    Returns
    -------
    tuple of (DataFrame, list)
        A copy of ``frame`` with ``postcode`` normalised in ``postcode_column`` and
        ``easting``/``northing`` (EPSG:27700 metres; NaN where not found), and the rows not
        found as ``(row, postcode)``: the row number in the file for a frame from
        :func:`defibmap.io.sites.read_table` (index ``row``; the header is row 1 of a CSV),
        else the index label.
    """
    if postcode_column not in frame.columns:
        msg = f"postcode column {postcode_column!r} not found; columns are {list(frame.columns)}"
        raise InputError(msg)
    out = frame.copy()
    codes = normalise_postcodes(out[postcode_column])
    found = lookup.reindex(codes.to_numpy())
    east = found["easting"].to_numpy(float)
    north = found["northing"].to_numpy(float)
    if keep_existing and {"easting", "northing"} <= set(out.columns):
        old_e = pd.to_numeric(out["easting"], errors="coerce").to_numpy(float)
        old_n = pd.to_numeric(out["northing"], errors="coerce").to_numpy(float)
        have = np.isfinite(old_e) & np.isfinite(old_n)
        east = np.where(have, old_e, east)
        north = np.where(have, old_n, north)
    out[postcode_column] = codes.to_numpy()
    out["easting"] = east
    out["northing"] = north
    missing = ~np.isfinite(east)
    rows: list[int | str]
    if frame.index.name == "row":  # defibmap.io.sites.read_table: the row number in the file
        rows = [int(i) for i in frame.index]
    elif "first_data_row" in frame.attrs:
        rows = [int(frame.attrs["first_data_row"]) + i for i in range(len(frame))]
    else:
        rows = [i if isinstance(i, int) else str(i) for i in frame.index]
    not_found = [(rows[i], str(codes.iloc[i])) for i in np.flatnonzero(missing)]
    if not_found:
        logger.info("%d postcode(s) not found, e.g. %s", len(not_found), not_found[:3])
    return out, not_found
