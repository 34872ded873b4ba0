"""Local OpenStreetMap extracts: the raw features of a ``.osm``/``.osm.pbf`` file, and clipping.

Streamed with pyosmium (a tag filter runs in C++, only matching objects reach Python):
:func:`read_extract` reads the raw features of several layer kinds from a local ``.osm``,
``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` extract, optionally clipped to a buffered boundary;
:func:`clip_extract` writes the part of a regional extract around a boundary to a smaller file
for the walking network and the layers.

Private to the package: :mod:`defibmap.osm.features` re-exports both functions.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from defibmap._errors import InputError
from defibmap.defaults import DEFAULT_BUFFER_M
from defibmap.layers import KINDS, TAGS
from defibmap.osm._file import check_osm_file, osm_read_errors
from defibmap.osm._raw import (
    RAW_TAGS,
    buffered,
    check_kind,
    matches,
    raw_frame,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pandas as pd

# logged under the public module's name, as before these functions moved here
logger = logging.getLogger("defibmap.osm.features")


def read_extract(
    osm_file: str | Path,
    kinds: Sequence[str] = KINDS,
    *,
    polygon: shapely.Geometry | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> dict[str, pd.DataFrame]:
    """Read the raw features of several kinds from a local extract, streamed once per pass.

    Parameters
    ----------
    osm_file
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf``.
    kinds
        Layer kinds (:data:`KINDS`).
    polygon
        Optional WGS84 boundary; features whose point lies farther than ``buffer_m`` metres
        outside it are dropped.
    buffer_m
        Metres kept around ``polygon``.

    Returns
    -------
    dict of kind to raw DataFrame (``site_id``, ``lon``, ``lat`` and OSM tags).
    """
    path = Path(osm_file)
    check_osm_file(path, error=InputError)
    for kind in kinds:
        check_kind(kind)
    keys = sorted({key for kind in kinds for key in TAGS[kind]})
    with osm_read_errors(path, error=InputError):
        records = _extract_records(path, keys, kinds)
    raw = raw_frame(records)
    if polygon is not None and len(raw):
        area = buffered(polygon, buffer_m)
        raw = raw[shapely.contains_xy(area, raw["lon"], raw["lat"])].reset_index(drop=True)
    out: dict[str, pd.DataFrame] = {}
    rows = [dict(zip(RAW_TAGS, row, strict=True)) for row in raw[list(RAW_TAGS)].to_numpy()]
    for kind in kinds:
        mask = [matches(row, TAGS[kind]) for row in rows]
        out[kind] = raw.loc[np.asarray(mask, dtype=bool)].reset_index(drop=True)
    return out


_Record = tuple[str, int, dict[str, str], Any]
_Relation = tuple[int, dict[str, str], list[tuple[int, str]]]


def _extract_records(path: Path, keys: Sequence[str], kinds: Sequence[str]) -> list[_Record]:
    """Stream the matching nodes, ways and multipolygon relations of a file with pyosmium.

    Three passes, each filtered in C++ so only matching objects reach Python: relations
    (to learn which ways form multipolygons), then tagged nodes and ways with node locations
    (a compact C++ index), then the multipolygons' member ways. pyosmium's own area assembly
    is not used: it needs files sorted by id, and exports such as the Leeds one are not.
    """

    def wanted(tags: dict[str, str]) -> bool:
        return any(matches(tags, TAGS[kind]) for kind in kinds)

    relations = _multipolygons(path, keys, wanted)
    records = _node_way_records(path, keys, wanted)
    if relations:
        records.extend(_relation_records(path, relations))
    return records


def _multipolygons(
    path: Path, keys: Sequence[str], wanted: Callable[[dict[str, str]], bool]
) -> list[_Relation]:
    """Return the wanted multipolygon relations of a file: id, tags, member ways (ref, role)."""
    import osmium

    relations: list[_Relation] = []
    for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION).with_filter(
        osmium.filter.KeyFilter(*keys)
    ):
        if not isinstance(rel, osmium.osm.Relation):  # pragma: no cover - relations only
            continue
        tags = dict(rel.tags)
        if tags.get("type") == "multipolygon" and wanted(tags):
            members = [(m.ref, m.role) for m in rel.members if m.type == "w"]
            relations.append((rel.id, tags, members))
    return relations


def _way_shape(coords: list[tuple[float, float]], *, closed: bool) -> Any:  # noqa: ANN401 - shapely
    """Return a way's WGS84 shape: polygon when closed, else line or point; None when empty."""
    if len(coords) >= 4 and closed:
        return shapely.Polygon(coords)
    if len(coords) > 1:
        return shapely.LineString(coords)
    if coords:
        return shapely.Point(coords[0])
    return None


def _node_way_records(
    path: Path, keys: Sequence[str], wanted: Callable[[dict[str, str]], bool]
) -> list[_Record]:
    """Return the wanted tagged nodes and ways of a file, with their WGS84 shapes."""
    import osmium

    records: list[_Record] = []
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter(*keys))
    )
    for obj in processor:
        tags = dict(obj.tags)
        if not wanted(tags):
            continue
        if isinstance(obj, osmium.osm.Node):
            if obj.location.valid():
                records.append(
                    ("node", obj.id, tags, shapely.Point(obj.location.lon, obj.location.lat))
                )
        elif isinstance(obj, osmium.osm.Way):
            coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
            shape = _way_shape(coords, closed=obj.is_closed())
            if shape is not None:
                records.append(("way", obj.id, tags, shape))
    return records


def _relation_records(path: Path, relations: list[_Relation]) -> list[_Record]:
    """Return the multipolygons' outlines, built from their member ways (inner rings left out)."""
    import osmium

    member_ids = {ref for _, _, members in relations for ref, _ in members}
    lines: dict[int, Any] = {}
    id_filter = osmium.filter.IdFilter(member_ids)
    id_filter.enable_for(osmium.osm.WAY)
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(id_filter)
    )
    for way in processor:
        if isinstance(way, osmium.osm.Way):
            coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
            if len(coords) > 1:
                lines[way.id] = shapely.LineString(coords)
    records: list[_Record] = []
    for rel_id, tags, members in relations:
        outer = [lines[ref] for ref, role in members if ref in lines and role != "inner"]
        area = shapely.build_area(shapely.union_all(outer)) if outer else None
        if area is None or area.is_empty:
            logger.warning("%s: relation %d has no usable outline; skipped", path, rel_id)
            continue
        records.append(("relation", rel_id, tags, area))
    return records


def clip_extract(
    src: str | Path,
    polygon: shapely.Geometry,
    dst: str | Path,
    *,
    buffer_m: float = DEFAULT_BUFFER_M,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write the part of a regional extract around a boundary to a smaller file.

    Streams ``src`` with pyosmium: node locations are held in pyosmium's compact C++ index, and
    only tagged objects reach Python. Kept: tagged nodes inside the buffered boundary, every
    tagged way with a node inside it (whole, with all its nodes, so streets crossing the edge
    are not cut), and multipolygon relations with a kept way (their members completed).
    Nodes pulled in only as way members lose their tags, so nothing outside the area shows
    up as a feature. ``defibmap.network.walk.from_osm_file`` and :func:`osm_layer` read the result.

    Parameters
    ----------
    src
        Regional extract (``.osm.pbf``, ``.osm``, ``.osm.bz2``), sorted by type and id as
        Geofabrik's are.
    polygon
        WGS84 boundary (e.g. :func:`boundary_polygon` of the council outline).
    dst
        Output file; the format follows its suffix (``.osm.pbf`` recommended).
    buffer_m
        Metres kept around the boundary (at least the longest walk searched).
    overwrite
        Replace ``dst`` if it exists.

    Returns
    -------
    dict
        Counts: ``nodes`` (tagged nodes written), ``ways``, ``relations``.
    """
    import osmium

    src, dst = Path(src), Path(dst)
    check_osm_file(src, error=InputError)
    area = buffered(polygon, buffer_m)
    shapely.prepare(area)
    kept_ways = osmium.index.IdSet()
    counts = {"nodes": 0, "ways": 0, "relations": 0}
    processor = (
        osmium.FileProcessor(str(src)).with_locations().with_filter(osmium.filter.EmptyTagFilter())
    )
    with (
        osmium.BackReferenceWriter(str(dst), ref_src=str(src), overwrite=overwrite) as writer,
        osm_read_errors(src, error=InputError),
    ):
        for obj in processor:
            if isinstance(obj, osmium.osm.Node):
                loc = obj.location
                if loc.valid() and shapely.contains_xy(area, loc.lon, loc.lat):
                    writer.add_node(obj)
                    counts["nodes"] += 1
            elif isinstance(obj, osmium.osm.Way):
                xy = np.array([(n.lon, n.lat) for n in obj.nodes if n.location.valid()])
                if len(xy) and bool(shapely.contains_xy(area, xy[:, 0], xy[:, 1]).any()):
                    writer.add_way(obj)
                    kept_ways.set(obj.id)
                    counts["ways"] += 1
            elif (
                isinstance(obj, osmium.osm.Relation)
                and obj.tags.get("type") == "multipolygon"
                and any(m.type == "w" and m.ref in kept_ways for m in obj.members)
            ):
                writer.add_relation(obj)
                counts["relations"] += 1
    logger.info("clipped %s to %s: %s", src.name, dst.name, counts)
    return counts
