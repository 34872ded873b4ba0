"""Defibrillator registers (The Circuit style exports) and merging them with OpenStreetMap.

A register export names each defib's site, address, postcode or coordinates, whether the
public may use it, when, and whether the cabinet is locked. :func:`read_register` reads one
into the defib layer shape (the same columns as :func:`defibmap.osm.features.osm_layer`):
headers are recognised from common names, messy values (``"NA"``, ``"N/A"``, ``"-"``) are
emptied, ``"24/7"``/``"24 hours"`` become OSM ``24/7``, ``Yes``/``No``/``Locked`` become
``locked = yes/no``, and only valid OSM ``opening_hours`` go into ``opening_hours``: free
text stays in ``hours_text``. A device's readiness (status, pad and battery expiry, last
check; :mod:`defibmap.io.readiness`) is read into ``status``, ``pads_expiry``,
``battery_expiry`` and ``last_checked``.

:func:`merge_defibs` joins a register to OSM defibs without counting a site twice: a register
row and an OSM defib within ``within_m`` metres (compared in British National Grid) are the
same site, matched one to one nearest first; the register's access, lock and hours win, the
OSM id is kept. The merge lives in :mod:`defibmap.io._register_merge` and is re-exported here.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap._errors import InputError
from defibmap.io import readiness
from defibmap.io._register_merge import MergeReport, merge_defibs
from defibmap.io.hours import week_profile
from defibmap.io.postcodes import geocode, normalise_postcodes, not_found_reason
from defibmap.io.sites import read_table

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "HEADERS",
    "LAYER_COLUMNS",
    "MISSING",
    "MergeReport",
    "merge_defibs",
    "normalise_access",
    "normalise_locked",
    "read_register",
]

logger = logging.getLogger(__name__)

#: Header names recognised for each field (compared lower case, ``_`` read as a space).
HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("id", "defib id", "defibrillator id", "circuit id", "ref:gb:the circuit", "guid"),
    "name": ("name", "site name", "site", "location name", "defibrillator name", "premises"),
    "address": (
        "address",
        "full address",
        "address1",
        "address 1",
        "address line 1",
        "address2",
        "address 2",
        "address line 2",
        "address3",
        "address 3",
        "address line 3",
        "street",
        "town",
    ),
    "postcode": ("postcode", "post code", "postal code", "pcode"),
    "lat": ("latitude", "lat"),
    "lon": ("longitude", "lon", "long", "lng"),
    "easting": ("easting", "eastings"),
    "northing": ("northing", "northings"),
    "access": ("access", "public access", "access type", "accessibility", "publicly accessible"),
    "hours": (
        "opening hours",
        "opening hours osm",
        "availability",
        "available",
        "hours",
        "access times",
        "times available",
    ),
    "locked": ("locked", "cabinet locked", "is locked", "lock", "cabinet", "cabinet type"),
    "location": ("location type", "indoor/outdoor", "indoor or outdoor", "internal/external"),
    "notes": ("notes", "note", "comments", "description", "location description"),
}
#: Text that means "no value" in registers.
MISSING = frozenset({"", "na", "n/a", "n.a.", "-", "--", "none", "null", "nan", "unknown", "?"})
_ALWAYS = re.compile(
    r"^(24\s*/\s*7|24\s*x\s*7|24\s*h(ou)?rs?|24\s*hours?(\s*a\s*day)?(,?\s*7\s*days(\s*a\s*week)?)?"
    r"|always(\s*(open|available|accessible))?|open\s*24\s*hours|mo-su\s*00:00-24:00)$",
    re.IGNORECASE,
)
_OUTSIDE = ("outside", "outdoor", "external", "exterior")
_INSIDE = ("inside", "indoor", "internal", "interior")
LAYER_COLUMNS = (
    "site_id",
    "name",
    "address",
    "postcode",
    "lon",
    "lat",
    "easting",
    "northing",
    "kind",
    "opening_hours",
    "hours_text",
    "access",
    "access_text",
    "location",
    "locked",
    "notes",
    *readiness.FIELDS,
    "source_row",
)


def _key(name: object) -> str:
    return re.sub(r"\s+", " ", str(name).replace("_", " ")).strip().lower()


def _clean(series: pd.Series) -> pd.Series:
    text = series.fillna("").astype(str).str.strip()
    return text.where(~text.str.lower().isin(MISSING), "")


def _map_columns(columns: pd.Index, explicit: Mapping[str, str] | None) -> dict[str, list[str]]:
    """Field to source column(s); ``address`` may gather several columns."""
    found: dict[str, list[str]] = {}
    by_key = {_key(c): str(c) for c in columns}
    for field_name, names in HEADERS.items():
        hits = [by_key[n] for n in names if n in by_key]
        if hits:
            found[field_name] = hits if field_name == "address" else hits[:1]
    if "name" not in found and "location" in by_key:  # Trafford's "Location" is the site
        found["name"] = [by_key["location"]]
    for field_name, column in (explicit or {}).items():
        if field_name in readiness.FIELDS:
            continue  # read by defibmap.io.readiness
        if field_name not in HEADERS:
            known = ", ".join([*HEADERS, *readiness.FIELDS])
            msg = f"unknown register field {field_name!r}; known: {known}"
            raise InputError(msg)
        if column not in columns:
            msg = f"register column {column!r} not found; columns are {list(columns)}"
            raise InputError(msg)
        found[field_name] = [column]
    return found


def normalise_locked(value: str) -> str:
    """Return ``"yes"``, ``"no"`` or ``""`` for a register's lock/cabinet text."""
    text = value.strip().lower()
    if not text or text in MISSING:
        return ""
    if "unlock" in text or text in {"no", "n", "false", "0", "open", "open cabinet"}:
        return "no"
    if (
        text in {"yes", "y", "true", "1"}
        or "lock" in text
        or "code" in text
        or "keypad" in text
        or "key" in text.split()
    ):
        return "yes"
    return ""


def normalise_access(value: str) -> str:
    """Return an OSM ``access`` value (``yes``, ``customers``, ``private``, ``no``) or ``""``."""
    text = value.strip().lower()
    if not text or text in MISSING:
        return ""
    if text in {"no", "n", "false", "none"} or text.startswith(("not ", "no ")):
        return "no"
    if any(w in text for w in ("private", "restricted", "staff only", "staff", "members")):
        return "private"
    if any(w in text for w in ("customer", "opening hours", "when open", "during")):
        return "customers"
    if (
        text in {"yes", "y", "true", "public", "permissive"}
        or "public" in text
        or _ALWAYS.match(text)
    ):
        return "permissive" if text == "permissive" else "yes"
    return ""


def _location(value: str) -> str:
    text = value.strip().lower()
    if any(w in text for w in _OUTSIDE):
        return "outside"
    if any(w in text for w in _INSIDE):
        return "indoor"
    return ""


def _hours(texts: pd.Series) -> pd.Series:
    """Return valid OSM ``opening_hours`` per text (``24/7`` for its spellings), else ``""``."""
    out: dict[str, str] = {}
    for text in set(texts):
        if not text:
            out[text] = ""
        elif _ALWAYS.match(text):
            out[text] = "24/7"
        else:
            try:
                week_profile(text)
            except InputError:
                out[text] = ""
            else:
                out[text] = text
    return texts.map(out)


def _field_text(frame: pd.DataFrame, fields: Mapping[str, list[str]], name: str) -> pd.Series:
    """Return a field's cleaned text: its columns joined with ", " (empty without the field)."""
    if name not in fields:
        return pd.Series("", index=frame.index)
    parts = [_clean(frame[c]) for c in fields[name]]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.str.cat(part, sep=", ").str.strip(", ")
    return joined.str.replace(r"(, )+", ", ", regex=True)


def _place_by_postcode(
    frame: pd.DataFrame,
    postcode: pd.Series,
    postcodes: pd.DataFrame,
    *,
    lonlat: tuple[np.ndarray, np.ndarray],
    en: tuple[np.ndarray, np.ndarray],
) -> int:
    """Place the rows without coordinates at their postcode's centroid, in place.

    ``lonlat`` (WGS84 degrees) and ``en`` (British National Grid metres) are the rows'
    coordinate arrays, NaN where a row has no place; the rows placed get both. Returns how
    many rows were placed.
    """
    from pyproj import Transformer

    lon, lat = lonlat
    east, north = en
    have = np.isfinite(lon) & np.isfinite(lat)
    if have.all():
        return 0
    placed, _ = geocode(frame.assign(_pc=postcode.to_numpy())[~have], "_pc", postcodes)
    found = np.isfinite(placed["easting"].to_numpy(float))
    idx = np.flatnonzero(~have)[found]
    east[idx] = placed["easting"].to_numpy(float)[found]
    north[idx] = placed["northing"].to_numpy(float)[found]
    to_wgs = Transformer.from_crs(27700, 4326, always_xy=True)
    lon[idx], lat[idx] = to_wgs.transform(east[idx], north[idx])
    return int(found.sum())


def read_register(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    postcodes: pd.DataFrame | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a defibrillator register export into the defib layer shape.

    Parameters
    ----------
    path
        CSV (UTF-8 or cp1252) or Excel export.
    columns
        Field to column name, for headers not recognised (fields: ``id``, ``name``,
        ``address``, ``postcode``, ``lat``, ``lon``, ``easting``, ``northing``, ``access``,
        ``hours``, ``locked``, ``location``, ``notes``, and the readiness fields ``status``,
        ``pads_expiry``, ``battery_expiry``, ``last_checked``).
    postcodes
        A postcode lookup (:func:`defibmap.io.postcodes.read_postcode_lookup`) to place rows
        that have a postcode but no coordinates.
    sheet
        Excel sheet.

    Returns
    -------
    pandas.DataFrame
        :data:`LAYER_COLUMNS`: ``lon``/``lat`` (WGS84) and ``easting``/``northing``
        (EPSG:27700), NaN where a row could not be placed; ``kind`` is ``defibrillator``.
        ``attrs["no_coordinates"]`` lists ``(row, postcode)`` of rows left without a place,
        ``attrs["unplaced"]`` the reason for each of them by ``site_id`` (``no coordinates``,
        or ``postcode not found in <file>`` when ``postcodes`` was given and the row's
        postcode is not in it), ``attrs["by_postcode"]`` how many rows ``postcodes`` placed,
        ``attrs["invalid_hours"]`` hours text that is not OSM syntax. ``status`` and the
        three readiness dates (ISO ``YYYY-MM-DD``) are ``""`` where the register is blank or
        has no such column.

    Raises
    ------
    InputError
        For an unusable file, a duplicate id, or a status or date cell that is not one
        (naming the file, row and column).
    """
    from pyproj import Transformer

    path = Path(path)
    frame = read_table(path, sheet=sheet)
    if frame.empty:
        msg = f"{path}: the register has no rows"
        raise InputError(msg)
    try:
        fields = _map_columns(frame.columns, columns)
    except InputError as exc:
        msg = f"{path}: {exc}"
        raise InputError(msg) from exc
    rows = (
        frame.index.to_numpy(dtype=np.int64)
        if frame.index.name == "row"
        else np.arange(len(frame)) + 2
    )

    def text(name: str) -> pd.Series:
        return _field_text(frame, fields, name)

    def number(name: str) -> np.ndarray:
        return np.array(pd.to_numeric(text(name), errors="coerce"), dtype=float)

    lon, lat = number("lon"), number("lat")
    east, north = number("easting"), number("northing")
    to_wgs = Transformer.from_crs(27700, 4326, always_xy=True)
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
    from_en = ~(np.isfinite(lon) & np.isfinite(lat)) & np.isfinite(east) & np.isfinite(north)
    if from_en.any():
        lon[from_en], lat[from_en] = to_wgs.transform(east[from_en], north[from_en])
    postcode = normalise_postcodes(text("postcode"))
    by_postcode = 0
    if postcodes is not None:
        by_postcode = _place_by_postcode(
            frame, postcode, postcodes, lonlat=(lon, lat), en=(east, north)
        )
    have = np.isfinite(lon) & np.isfinite(lat)
    east, north = to_bng.transform(lon, lat)
    hours_text = text("hours")
    access_text = text("access")
    opening = _hours(hours_text)
    # an "Access: 24/7" column and no hours column: the access text gives the hours
    always = access_text.str.match(_ALWAYS.pattern, case=False) & hours_text.eq("")
    opening = opening.where(~always, "24/7")
    ids = text("id")
    site_ids = np.where(ids.ne(""), ids, [f"register_{r}" for r in rows])
    location = text("location").map(_location)
    from_cabinet = text("locked").map(_location)
    explicit = {k: v for k, v in (columns or {}).items() if k in readiness.FIELDS}
    ready = readiness.read_readiness(
        frame,
        file=str(path),
        rows=rows,
        columns=readiness.find_columns(frame.columns, explicit),
    )
    out = pd.DataFrame(
        {
            "site_id": site_ids,
            "name": text("name").to_numpy(),
            "address": text("address").to_numpy(),
            "postcode": postcode.to_numpy(),
            "lon": lon,
            "lat": lat,
            "easting": np.where(have, east, np.nan),
            "northing": np.where(have, north, np.nan),
            "kind": "defibrillator",
            "opening_hours": opening.to_numpy(),
            "hours_text": hours_text.to_numpy(),
            "access": access_text.map(normalise_access).to_numpy(),
            "access_text": access_text.to_numpy(),
            "location": location.where(location.ne(""), from_cabinet).to_numpy(),
            "locked": text("locked").map(normalise_locked).to_numpy(),
            "notes": text("notes").to_numpy(),
            **{
                f: ready[f].to_numpy() if f in ready.columns else np.full(len(frame), "")
                for f in readiness.FIELDS
            },
            "source_row": rows,
        },
        columns=list(LAYER_COLUMNS),
    )
    if out["site_id"].duplicated().any():
        dup = out.loc[out["site_id"].duplicated(), ["site_id", "source_row"]].iloc[0]
        msg = f"{path}: row {dup['source_row']}: duplicate id {dup['site_id']!r}"
        raise InputError(msg)
    bad_hours = out["hours_text"].ne("") & out["opening_hours"].eq("")
    lost = postcode.ne("").to_numpy() & ~have
    missing = not_found_reason(postcodes) if postcodes is not None else "no coordinates"
    unplaced = np.where(lost, missing, "no coordinates")[~have]
    out.attrs = {
        "file": path.name,
        "no_coordinates": [
            (int(r), str(p)) for r, p in zip(rows[~have], postcode[~have], strict=True)
        ],
        "unplaced": dict(zip(site_ids[~have].tolist(), unplaced.tolist(), strict=True)),
        "by_postcode": by_postcode,
        "invalid_hours": out.loc[bad_hours, ["site_id", "hours_text"]].to_dict("records"),
    }
    return out
