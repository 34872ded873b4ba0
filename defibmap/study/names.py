"""Check the values that name things in a study's point layers, before any analysis.

Three kinds of column, three rules:

* **Categorical columns with a documented value set are validated.** The demand's IMD decile
  column (``imd_decile``, or the column ``[demand] imd_decile`` names) holds whole numbers
  1-10 (1 = the most deprived tenth of England's areas); an empty cell is an unknown decile.
  Any other value stops the run, naming the file, the column and the first offending rows:
  a decile of -3 or 1000 would otherwise become a headline ("the gap between decile -3 and
  1000"), and a cell of ``x`` would silently leave the equity table.
* **Name spaces do not overlap.** A site id is used once across every site layer (defibs,
  stations, candidates, ambulance bases), since scenarios and outputs name sites by id alone;
  ids the study generates for its own options start with one of :data:`RESERVED_PREFIXES`,
  so an input id may not.
* **Free-text columns stay free.** ``kind`` takes any text; only the documented special
  value ``school`` changes behaviour (school hours, closed in holidays). Kinds are logged;
  a kind that looks meant to be ``school`` but is not (``schools``, ``primary school``) is
  reported in the result's notes, never refused.

A site layer's own ``availability`` column is not read: only a station kind sets it
(:attr:`defibmap.layers.LayerKind.default_availability`); a file carrying one is reported in
the notes, since the column would otherwise look as if it took effect.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from defibmap import layers as layer_kinds
from defibmap._errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd

    from defibmap.config.study_file import StudyConfig

logger = logging.getLogger(__name__)

#: Prefixes of ids the study generates for its own options; input ids may not start with one.
RESERVED_PREFIXES = ("upgrade:", "station:", "hub:")
#: The demand column read for IMD deciles when ``[demand] imd_decile`` names none.
DEFAULT_DECILE_COLUMN = "imd_decile"
#: The IMD decile value set: 1 (most deprived) to 10 (least deprived).
DECILES = range(1, 11)
#: ``kind`` values with a documented meaning (compared after trimming, in any case).
SPECIAL_KINDS = frozenset({"school"})
_SHOWN = 5  # offending rows named in a message


def check_layers(config: StudyConfig, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Refuse bad IMD deciles and clashing site ids; log each site layer's kinds.

    Parameters
    ----------
    config
        The study (its layer sections name the files and the decile column).
    layers
        The loaded point layers by section name, indexed by id, as :func:`load_layers`
        returns them.

    Raises
    ------
    InputError
        Naming the file, the column and rows, or the id and both layers.
    """
    check_deciles(config, layers)
    check_site_ids(config, layers)
    for name, gdf in layers.items():
        if _is_site_layer(name) and "kind" in gdf.columns and len(gdf):
            counts = gdf["kind"].astype(str).str.strip().value_counts()
            logger.info("%s kinds: %s", name, ", ".join(f"{k} ({n})" for k, n in counts.items()))


def decile_column(config: StudyConfig, demand: gpd.GeoDataFrame) -> str | None:
    """Return the demand's IMD decile column, or None when it has none."""
    column = config.imd_column or DEFAULT_DECILE_COLUMN
    return column if column in demand.columns else None


def check_deciles(config: StudyConfig, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Refuse a demand IMD decile that is not empty or a whole number 1-10."""
    demand = layers.get(layer_kinds.DEMAND)
    if demand is None:
        return
    column = decile_column(config, demand)
    if column is None:
        return
    rows = demand["source_row"].tolist() if "source_row" in demand.columns else None
    bad = [
        (rows[i] if rows is not None else i + 1, value)
        for i, value in enumerate(demand[column].tolist())
        if not _is_decile(value)
    ]
    if not bad:
        return
    shown = ", ".join(f"row {row}: {str(value).strip()!r}" for row, value in bad[:_SHOWN])
    more = f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
    msg = (
        f"{_where(config, layer_kinds.DEMAND)}: column {column!r} must hold IMD deciles, whole "
        f"numbers 1-10 (1 = most deprived) or empty for unknown; {shown}{more}"
    )
    raise InputError(msg)


def _is_decile(value: object) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True  # an empty cell: the decile is unknown
    text = str(value).strip()
    if not text:
        return True
    try:
        number = float(text)
    except ValueError:
        return False
    return math.isfinite(number) and number.is_integer() and int(number) in DECILES


def check_site_ids(config: StudyConfig, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Refuse a site id used in two site layers, or one starting with a reserved prefix."""
    seen: dict[str, str] = {}
    for name, gdf in layers.items():
        if not _is_site_layer(name):
            continue
        for site_id in (str(i) for i in gdf.index):
            if site_id.startswith(RESERVED_PREFIXES):
                msg = (
                    f"{_where(config, name)}: site id {site_id!r} starts with "
                    f"{site_id.split(':')[0] + ':'!r}, which defibmap keeps for the ids it "
                    f"makes; rename the site"
                )
                raise InputError(msg)
            other = seen.setdefault(site_id, name)
            if other != name:
                msg = (
                    f"site id {site_id!r} is in both [{other}] ({_where(config, other)}) and "
                    f"[{name}] ({_where(config, name)}); ids must be unique across the "
                    f"site layers"
                )
                raise InputError(msg)


def notes(layers: Mapping[str, gpd.GeoDataFrame]) -> list[str]:
    """Sentences for ``result.notes``: near-miss kinds, and ``availability`` columns not read."""
    out = []
    for name, gdf in layers.items():
        if not _is_site_layer(name):
            continue
        if "kind" in gdf.columns:
            kinds = sorted({str(k).strip() for k in gdf["kind"].dropna()})
            near = [k for k in kinds if "school" in k.lower() and k.lower() not in SPECIAL_KINDS]
            if near:
                shown = ", ".join(repr(k) for k in near)
                out.append(
                    f"[{name}] kind {shown} is not the kind 'school', so those sites are read "
                    "with their own opening hours, not school hours and holidays."
                )
                logger.warning(out[-1])
        if "availability" in gdf.columns:
            out.append(
                f"[{name}] has an 'availability' column, which defibmap does not read; a "
                "site's hours come from opening_hours, location (outside = 24/7) and kind."
            )
            logger.warning(out[-1])
    return out


def _is_site_layer(name: str) -> bool:
    try:
        kind = layer_kinds.kind(name)
    except KeyError:
        return False
    # residents, past incidents and volunteers are not sites: their ids may repeat a site's
    return kind.is_point_layer and kind.role not in (
        layer_kinds.Role.DEMAND,
        layer_kinds.Role.INCIDENTS,
        layer_kinds.Role.RESPONDER,
    )


def _where(config: StudyConfig, name: str) -> str:
    layer = config.layers.get(name)
    if layer is not None and layer.file is not None:
        return str(layer.file)
    return f"the [{name}] layer"
