"""Place a layer's rows that have only a postcode, from ``[study] postcode_file``.

Rows of a layer file or a defib register that have a postcode but no coordinates are placed
at the postcode unit's centroid (:mod:`defibmap.io.postcodes`: OS Code-Point Open or ONSPD,
postcodes compared in one spacing and case). The file is never changed: a copy with the
coordinates filled in is written to the study's cache folder, each row at its row number in
the original, so default ids and ``rejected.csv`` rows are the original file's. Rows with
coordinates keep them; rows whose postcode the lookup does not hold are rejected
(``postcode not found in <file>``). Without a lookup, a file with postcodes and no
coordinate columns stops the run with a message saying to set ``[study] postcode_file``.

Private to the package: :mod:`defibmap.study._layer_sources` calls these.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import logging
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from defibmap._errors import InputError
from defibmap._files import write_text_atomic
from defibmap.io import _readers, postcodes, registers, sites

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import geopandas as gpd
    import pandas as pd
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: Postcode column names recognised in a layer file (compared lower case, spaces stripped).
POSTCODE_NAMES = ("postcode", "post_code", "postcode_unit", "post code")
_BLANK = frozenset({"", "na", "n/a", "nan", "none", "null", "-"})
SET_POSTCODE_FILE = (
    "set [study] postcode_file to an OS Code-Point Open folder or CSV, or an ONSPD CSV"
)


@dataclass(frozen=True)
class ByPostcode:
    """A layer file whose rows without coordinates were placed by postcode.

    Attributes
    ----------
    file
        The original file's name (the layer is read from a copy in the cache folder).
    not_found
        Rows of the file (as :func:`defibmap.io.sites.read_table` numbers them) with a postcode
        the lookup does not hold.
    reason
        Their rejection reason (:func:`defibmap.io.postcodes.not_found_reason`).
    placed
        Rows placed by postcode.
    """

    file: str
    not_found: frozenset[int]
    reason: str
    placed: int


def cached_csv(text: str, cache: Path, stem: str) -> Path:
    """Write CSV text to ``cache/layers/<stem>-<hash>.csv`` (once, atomically); return it."""
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = cache / "layers" / f"{stem}-{key}.csv"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    return path


def read_layer(spec: sites.LayerSpec, *, crs: str) -> tuple[gpd.GeoDataFrame, sites.LayerReport]:
    """Read a layer (:func:`defibmap.io.sites.load_layer`); say what to do with postcodes only.

    A table with a postcode column and no coordinate columns stops the run with an
    :class:`~defibmap.InputError` naming the file and asking for ``[study] postcode_file``
    (a study with one reads a copy with coordinates instead, see :func:`layer_parts`).
    """
    try:
        return sites.load_layer(spec, crs=crs)
    except InputError as exc:
        column = _postcodes_only(spec)
        if column is None:
            raise
        msg = (
            f"{spec.file}: no coordinate columns, only postcodes (column {column!r}); to place "
            f"each row at its postcode, {SET_POSTCODE_FILE}"
        )
        raise InputError(msg) from exc


def _postcodes_only(spec: sites.LayerSpec) -> str | None:
    """Return the postcode column of a table that has no coordinate columns, else None."""
    if spec.file.suffix.lower() not in sites.TABLE_SUFFIXES:
        return None
    try:
        columns = sites.read_table(spec.file, sheet=spec.sheet).columns
    except InputError:
        return None
    if _coordinate_columns(columns, spec) is not None:
        return None
    return _postcode_column(columns, None)


def _find(columns: pd.Index, explicit: str | None, names: tuple[str, ...]) -> str | None:
    """Return a column as :func:`defibmap.io.sites.load_layer` finds it (explicit, else by name)."""
    if explicit is not None:
        return explicit
    lower = {str(c).strip().lower(): str(c) for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _coordinate_columns(columns: pd.Index, spec: sites.LayerSpec) -> tuple[str, str, bool] | None:
    """Return ``(x, y, is_easting_northing)``: the columns the layer reader will use."""
    lon = _find(columns, spec.lon, sites.LON_NAMES)
    lat = _find(columns, spec.lat, sites.LAT_NAMES)
    east = _find(columns, spec.easting, sites.EASTING_NAMES)
    north = _find(columns, spec.northing, sites.NORTHING_NAMES)
    explicit_en = spec.easting is not None or spec.northing is not None
    if east is not None and north is not None and (explicit_en or lon is None):
        return east, north, True
    if lon is not None and lat is not None:
        return lon, lat, False
    return None


def _postcode_column(columns: pd.Index, explicit: str | None) -> str | None:
    if explicit is not None:
        return explicit
    names = {" ".join(str(c).split()).lower(): str(c) for c in columns}
    return next((names[n] for n in POSTCODE_NAMES if n in names), None)


def _blank(values: pd.Series) -> NDArray[np.bool_]:
    """Return True where a cell holds no value (empty, ``NA``, ``-``, ...)."""
    text = values.fillna("").astype(str).str.strip().str.lower()
    return np.asarray(text.isin(_BLANK).to_numpy(), dtype=bool)


def place_by_postcode(
    spec: sites.LayerSpec,
    column: str | None,
    lookup: Callable[[], pd.DataFrame],
    cache: Path,
) -> tuple[sites.LayerSpec, ByPostcode | None]:
    """Fill in coordinates from postcodes where a layer file's row has none.

    Returns the spec to read (the original when no row needs a postcode, else a copy of the
    file in ``cache/layers`` with the coordinates filled in) and what was placed. Rows with
    coordinates keep them; coordinates go into the file's own coordinate columns (converted
    to lon/lat degrees for lon/lat columns), or into new ``postcode_easting``/
    ``postcode_northing`` columns when it has none.
    """
    if spec.file.suffix.lower() not in sites.TABLE_SUFFIXES:
        return spec, None
    frame = sites.read_table(spec.file, sheet=spec.sheet)
    code_col = _postcode_column(frame.columns, column)
    if code_col is None:
        return spec, None
    if code_col not in frame.columns:
        msg = (
            f"{spec.file}: postcode column {code_col!r} not found; "
            f"columns are {list(frame.columns)}"
        )
        raise InputError(msg)
    target = _coordinate_columns(frame.columns, spec)
    if target is not None and not {target[0], target[1]} <= set(frame.columns):
        return spec, None  # a named coordinate column is missing: the layer reader says so
    if target is None:
        x_col, y_col, is_en = "postcode_easting", "postcode_northing", True
        while x_col in frame.columns or y_col in frame.columns:
            x_col, y_col = f"_{x_col}", f"_{y_col}"
        spec = dataclasses.replace(spec, easting=x_col, northing=y_col)
        frame = frame.assign(**{x_col: "", y_col: ""})
    else:
        x_col, y_col, is_en = target
    need = _blank(frame[x_col]) | _blank(frame[y_col])
    if not need.any():
        return spec, None
    table = lookup()
    codes = postcodes.normalise_postcodes(frame.loc[need, code_col])
    hit = table.reindex(codes.to_numpy())
    east = hit["easting"].to_numpy(float)
    north = hit["northing"].to_numpy(float)
    found = np.isfinite(east) & np.isfinite(north)
    rows = frame.index[need]
    if not is_en:
        from pyproj import Transformer

        east, north = Transformer.from_crs(27700, 4326, always_xy=True).transform(east, north)
    out = frame.astype(object)
    out.loc[rows[found], x_col] = [repr(float(v)) for v in east[found]]
    out.loc[rows[found], y_col] = [repr(float(v)) for v in north[found]]
    not_found = rows[codes.ne("").to_numpy() & ~found]
    placed = ByPostcode(
        file=spec.file.name,
        not_found=frozenset(int(r) for r in not_found),
        reason=postcodes.not_found_reason(table),
        placed=int(found.sum()),
    )
    logger.info(
        "%s: %d row(s) placed by postcode, %d postcode(s) not found in %s",
        spec.file,
        placed.placed,
        len(placed.not_found),
        table.attrs.get("file", "the postcode file"),
    )
    text = _rows_as_csv(out, _delimiter(spec.file))
    path = cached_csv(text, cache, f"{spec.layer}-postcodes")
    return dataclasses.replace(spec, file=path, sheet=None), placed


def _cell(value: object) -> str:
    """Return a cell as CSV text: missing is empty, whole floats (Excel) lose their ``.0``."""
    return _readers.cell_text(value, strip=False)


def _rows_as_csv(frame: pd.DataFrame, sep: str) -> str:
    """CSV text with each row at its row number (index ``row``; blank lines between).

    Read back with :func:`defibmap.io.sites.read_table`, every row keeps its number in the
    original file, so default ids (``{layer}_{row}``) and ``rejected.csv`` rows match it.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
    writer.writerow([str(c) for c in frame.columns])
    line = 1
    for row, values in zip(frame.index, frame.itertuples(index=False, name=None), strict=True):
        buffer.write("\n" * (int(row) - line - 1))
        writer.writerow([_cell(v) for v in values])
        line = int(row)
    return buffer.getvalue()


def _delimiter(path: Path) -> str:
    """``;`` for a semicolon-delimited CSV (so decimal commas still read), else ``,``."""
    if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
        return ","
    head = path.read_bytes()[: 1 << 16]
    encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    text = head.decode(encoding, errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    outside = "".join(part for i, part in enumerate(first.split('"')) if i % 2 == 0)
    counts = Counter({d: outside.count(d) for d in (",", ";", "\t", "|")})
    sep, n = counts.most_common(1)[0]
    return ";" if sep == ";" and n > outside.count(",") else ","


def postcode_reasons(report: sites.LayerReport, placed: ByPostcode) -> None:
    """Name the original file and give rows whose postcode was not found their reason."""
    report.file = placed.file
    report.rejected = [
        (
            i,
            row,
            placed.reason if row in placed.not_found and why == sites.MISSING_COORDINATES else why,
        )
        for i, row, why in report.rejected
    ]


def read_register(path: Path, lookup: Callable[[], pd.DataFrame] | None) -> pd.DataFrame:
    """Read a register; place rows with only a postcode when the study has a lookup."""
    register = registers.read_register(path)
    unplaced = register["lon"].isna() & register["postcode"].ne("")
    if not unplaced.any():
        return register
    if lookup is not None:
        return registers.read_register(path, postcodes=lookup())
    if register["lon"].isna().all():
        msg = (
            f"{path}: the register has postcodes but no coordinates; to place each defib at "
            f"its postcode, {SET_POSTCODE_FILE}"
        )
        raise InputError(msg)
    logger.warning(
        "%s: %d row(s) have a postcode but no coordinates and are rejected; %s",
        path,
        int(unplaced.sum()),
        SET_POSTCODE_FILE,
    )
    return register
