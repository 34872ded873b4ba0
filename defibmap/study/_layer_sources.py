"""Gather a study's layer sections: files, OpenStreetMap layers, registers, postcodes.

A layer section may name a ``file``, OpenStreetMap layers (``osm``, read with
:func:`defibmap.osm.features.osm_layer` from the study's extract or downloaded) and, for
defibs, a ``register`` merged with the OSM defibrillators (:mod:`defibmap.io.registers`). The
OSM and register rows are written to a CSV in the cache folder and read back through
:func:`defibmap.io.sites.load_layer`, so they are checked and counted like any file; rows a
study must not count (private defibs, buildings of another operator, sites listed twice) are
rejected with their reason, never dropped silently.

With ``[study] postcode_file``, rows of a file or register that have a postcode but no
coordinates are placed at the postcode unit's centroid (:mod:`defibmap.io.postcodes`); the file
is never changed: a copy with the coordinates filled in is written to the cache folder, its
rows at the same row numbers as the original, so ids and ``rejected.csv`` rows match the
original file. Rows whose postcode is not in the lookup are rejected
(``postcode not found in <file>``).

Private to the package: :mod:`defibmap.study.pipeline` calls these (through
:mod:`defibmap.study._inputs`)
while running a study.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from defibmap import layers as layer_kinds
from defibmap._errors import InputError
from defibmap.defaults import DEFAULT_SAME_SITE_M
from defibmap.io import _layer_postcodes, _row_origins, postcodes, registers, sites
from defibmap.osm import features as osm_features

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from defibmap.config.study_file import LayerConfig, StudyConfig
    from defibmap.study._osm_source import OsmSource
    from defibmap.study.parts import JSON

logger = logging.getLogger(__name__)

#: A row of a layer's ``file`` and an OpenStreetMap feature of the same layer closer than
#: this (metres) are one site: the file's row is kept (e.g. a council's library list and
#: OSM's library outlines, placed by postcode and by building centroid). An assumption, in
#: :mod:`defibmap.defaults` with the other defaults.
SAME_SITE_M = DEFAULT_SAME_SITE_M
_EXCLUDED = "excluded_reason"
#: The OpenStreetMap kind a section's defib ``register`` is merged with.
_REGISTER_KIND = next(name for name, kind in layer_kinds.OSM.items() if kind.merges_register)


def layer_spec(layer: LayerConfig) -> sites.LayerSpec:
    """How to read a layer section's ``file``."""
    if layer.file is None:
        msg = f"[{layer.name}]: the layer has no file to read"
        raise InputError(msg)
    return sites.LayerSpec(
        file=layer.file,
        layer=layer.name,
        id=layer.id,
        name=layer.label,
        lon=layer.lon,
        lat=layer.lat,
        easting=layer.easting,
        northing=layer.northing,
        population=layer.population,
        sheet=layer.sheet,
        readiness=_reads_readiness(layer.name),
    )


def _reads_readiness(name: str) -> bool:
    """Return True for a layer of defibs: a register's readiness columns count there."""
    known = {k.name: k for k in layer_kinds.all_kinds()}
    return name in known and known[name].role is layer_kinds.Role.DEFIB_SOURCE


@dataclass
class LayerParts:
    """A layer section's inputs, ready for :func:`defibmap.io.sites.load_layer`.

    ``specs`` holds the section's ``file`` first (when it has one; its copy with coordinates
    from postcodes when ``by_postcode`` is set), then the CSV written from its OpenStreetMap
    layers and register (``generated``). ``info`` goes into ``summary.json``'s ``inputs``
    (features per OSM layer, the register merge, rows placed by postcode).
    """

    name: str
    specs: list[sites.LayerSpec]
    generated: Path | None = None
    #: generated rows without a place whose postcode the lookup lacks: site id -> reason
    unplaced: dict[str, str] = field(default_factory=dict)
    by_postcode: _layer_postcodes.ByPostcode | None = None
    info: dict[str, JSON] = field(default_factory=dict)


def _exclusion(reason: str) -> str:
    """Return the rejection reason of a feature the OSM or register reader set aside."""
    if reason.startswith("access="):
        return f"not for public use ({reason})"
    return reason


def _osm_frames(
    layer: LayerConfig,
    source: OsmSource | None,
    *,
    refresh: bool,
    lookup: Callable[[], pd.DataFrame] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, JSON]]:
    """Read a section's OSM layers and register; return frames by kind and summary info."""
    frames: dict[str, pd.DataFrame] = {}
    info: dict[str, JSON] = {}
    if layer.osm:
        if source is None:  # pragma: no cover - the study reader refuses such a study
            msg = f"[{layer.name}] osm needs [network] osm_file or place, or a [boundary]"
            raise InputError(msg)
        counts: dict[str, JSON] = {}
        for kind in layer.osm:
            frame = osm_features.osm_layer(
                kind,
                osm_file=source.osm_file,
                place=source.place,
                polygon=source.polygon,
                council=layer.council if layer_kinds.OSM[kind].by_council else None,
                buffer_m=source.buffer_m,
                refresh=refresh,
                cache_dir=source.cache_dir,
            )
            frames[kind] = frame
            excluded = Counter(_exclusion(r["reason"]) for r in frame.attrs.get("excluded", []))
            counts[kind] = {
                "features": len(frame) + sum(excluded.values()),
                "used": len(frame),
                "excluded": dict(sorted(excluded.items())),
            }
        info["osm"] = {
            "source": str(source.osm_file.name) if source.osm_file is not None else "online",
            "buffer_m": source.buffer_m,
            "layers": counts,
        }
    if layer.register is not None:
        register = _layer_postcodes.read_register(layer.register, lookup)
        base = frames.pop(_REGISTER_KIND, None)
        if base is None:
            base = pd.DataFrame({c: pd.Series(dtype=object) for c in osm_features.COLUMNS})
            base.attrs = {"excluded": []}
        merged, report = registers.merge_defibs(base, register, within_m=layer.register_within_m)
        unplaced = register.attrs.get("unplaced", {})
        for row in merged.attrs["excluded"]:  # say why a register row has no place
            if row["reason"] == "no coordinates" and row["site_id"] in unplaced:
                row["reason"] = unplaced[row["site_id"]]
        _row_origins.mark_register_rows(merged, register, layer.register.name)
        frames = {_REGISTER_KIND: merged, **frames}
        merge: dict[str, JSON] = {"file": layer.register.name, **report.as_dict()}
        if lookup is not None:
            merge["placed_by_postcode"] = register.attrs.get("by_postcode", 0)
        info["register"] = merge
    return frames, info


def _generated_csv(layer: LayerConfig, frames: dict[str, pd.DataFrame], cache: Path) -> Path | None:
    """Write a section's OSM and register rows, kept and set aside, to a CSV in the cache.

    Returns None when there is no row at all (no feature found, an empty register).
    """
    parts: list[pd.DataFrame] = []
    for frame in frames.values():
        kept = frame.assign(**{_EXCLUDED: ""})
        aside = pd.DataFrame(
            frame.attrs.get("excluded", []),
            columns=["site_id", "name", "lon", "lat", "reason"]
            + (["origin", "origin_row"] if "origin" in frame.columns else []),
        )
        aside[_EXCLUDED] = aside.pop("reason").astype(str).map(_exclusion)
        parts.extend(p for p in (kept, aside) if len(p))
    columns = list(dict.fromkeys(c for p in parts for c in p.columns))
    columns = columns or [*osm_features.COLUMNS, _EXCLUDED]
    text_columns = [c for c in columns if c not in ("lon", "lat", "match_m")]
    rows = [p.reindex(columns=columns).astype(dict.fromkeys(text_columns, object)) for p in parts]
    for row in rows:
        row[text_columns] = row[text_columns].fillna("")
    if not rows:
        return None
    combined = pd.concat(rows, ignore_index=True)
    # a feature in two kinds (a node tagged as both a defibrillator and a school) counts once
    twice = combined["site_id"].duplicated().to_numpy()
    if twice.any():
        combined.loc[twice, _EXCLUDED] = combined.loc[twice, _EXCLUDED].where(
            combined.loc[twice, _EXCLUDED] != "", "listed twice in OpenStreetMap"
        )
        combined.loc[twice, "site_id"] = [
            f"{s}#{i}" for i, s in enumerate(combined.loc[twice, "site_id"], start=2)
        ]
    return _layer_postcodes.cached_csv(
        combined.to_csv(index=False, lineterminator="\n"), cache, layer.name
    )


def layer_parts(
    config: StudyConfig, source: OsmSource | None, cache: Path, *, refresh: bool = False
) -> dict[str, LayerParts]:
    """Gather each layer section's inputs: its file, and a CSV of its OSM and register rows.

    The OSM layers are read from the study's extract or downloaded (cached; ``refresh``
    downloads again). With ``[study] postcode_file``, a file's rows without coordinates are
    placed by postcode (a copy in the cache folder is read instead of the file) and so are a
    register's; the lookup is read only when some row needs it.
    """
    lookup = None
    if config.postcode_file is not None:
        lookup = functools.cache(
            functools.partial(postcodes.read_postcode_lookup, config.postcode_file)
        )
    out: dict[str, LayerParts] = {}
    for name, layer in config.layers.items():
        part = LayerParts(name=name, specs=[])
        if layer.file is not None:
            spec = layer_spec(layer)
            if lookup is not None:
                spec, part.by_postcode = _layer_postcodes.place_by_postcode(
                    spec, layer.postcode, lookup, cache
                )
            if part.by_postcode is not None:
                part.info["postcodes"] = {
                    "file": lookup().attrs.get("file", "") if lookup is not None else "",
                    "placed": part.by_postcode.placed,
                    "not_found": len(part.by_postcode.not_found),
                }
            part.specs.append(spec)
        if layer.osm or layer.register is not None:
            frames, info = _osm_frames(layer, source, refresh=refresh, lookup=lookup)
            part.info.update(info)
            part.generated = _generated_csv(layer, frames, cache)
            part.unplaced = {
                str(row["site_id"]): str(row["reason"])
                for frame in frames.values()
                for row in frame.attrs.get("excluded", [])
                if str(row["reason"]).startswith(postcodes.POSTCODE_NOT_FOUND)
            }
            if part.generated is not None:
                part.specs.append(
                    sites.LayerSpec(
                        file=part.generated,
                        layer=name,
                        id="site_id",
                        name="name",
                        lon="lon",
                        lat="lat",
                        readiness=_reads_readiness(name),
                    )
                )
        out[name] = part
    return out


def _set_aside(gdf: gpd.GeoDataFrame, report: sites.LayerReport) -> gpd.GeoDataFrame:
    """Reject the generated rows marked with an exclusion reason; drop the marker column."""
    reason = gdf[_EXCLUDED].fillna("").astype(str)
    drop = reason.ne("").to_numpy()
    for why in sorted(set(reason[drop])):
        hit = (reason == why).to_numpy()
        report.reject(list(gdf.index[hit]), list(gdf["source_row"].to_numpy()[hit]), why)
    report.rows_used -= int(drop.sum())
    return gdf.loc[~drop].drop(columns=_EXCLUDED)


def _same_sites(
    file_gdf: gpd.GeoDataFrame, osm_gdf: gpd.GeoDataFrame, report: sites.LayerReport, file: str
) -> gpd.GeoDataFrame:
    """Reject OSM rows within :data:`SAME_SITE_M` of a row of the section's file."""
    if not len(file_gdf) or not len(osm_gdf):
        return osm_gdf
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([file_gdf.geometry.x, file_gdf.geometry.y]))
    dist, _ = tree.query(
        np.column_stack([osm_gdf.geometry.x, osm_gdf.geometry.y]),
        distance_upper_bound=SAME_SITE_M,
    )
    same = np.isfinite(dist)
    if same.any():
        reason = f"same site as a row of {file} (within {SAME_SITE_M:g} m)"
        report.reject(list(osm_gdf.index[same]), list(osm_gdf["source_row"][same]), reason)
        report.rows_used -= int(same.sum())
    return osm_gdf.loc[~same]


def load_layers(
    parts: dict[str, LayerParts], crs: str
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, sites.LayerReport]]:
    """Load every layer section in ``crs``: file and OSM/register rows as one layer.

    Every row is counted: rows set aside by the OSM or register reader and OSM features at
    the site of a row of the file are rejected with their reason.
    """
    layers: dict[str, gpd.GeoDataFrame] = {}
    reports: dict[str, sites.LayerReport] = {}
    for name, part in parts.items():
        loaded = [_layer_postcodes.read_layer(spec, crs=crs) for spec in part.specs]
        if part.by_postcode is not None:
            _layer_postcodes.postcode_reasons(loaded[0][1], part.by_postcode)
        if not loaded:  # only OSM layers, and they hold no feature
            logger.warning("[%s]: no OpenStreetMap feature found", name)
            empty = gpd.GeoDataFrame(
                {
                    "name": pd.Series(dtype=object),
                    "lon": pd.Series(dtype=float),
                    "lat": pd.Series(dtype=float),
                    "source_row": pd.Series(dtype=np.int64),
                },
                geometry=gpd.GeoSeries([], crs=crs),
                index=pd.Index([], dtype=object, name="id"),
            )
            layers[name], reports[name] = empty, sites.LayerReport(file="OpenStreetMap")
            continue
        if part.generated is not None:
            gdf, report = loaded[-1]
            report.rejected = [  # no coordinates because the postcode is not in the lookup
                (i, row, part.unplaced[i] if why == sites.MISSING_COORDINATES else why)
                if i in part.unplaced
                else (i, row, why)
                for i, row, why in report.rejected
            ]
            gdf = _set_aside(gdf, report)
            _row_origins.renumber(gdf, report, _row_origins.generated(part.generated))
            # name the sources, not the working copy in the cache folder
            merge = part.info.get("register")
            report.file = " + ".join(
                (["OpenStreetMap"] if "osm" in part.info else [])
                + ([str(merge["file"])] if isinstance(merge, Mapping) else [])
            )
            if len(loaded) == 2:
                gdf = _same_sites(loaded[0][0], gdf, report, loaded[0][1].file)
            loaded[-1] = (gdf, report)
        if len(loaded) == 1:
            layers[name], reports[name] = loaded[0]
            continue
        frames = [g for g, _ in loaded if len(g)] or [loaded[0][0]]
        gdf = gpd.GeoDataFrame(pd.concat(frames), crs=frames[0].crs)
        if gdf.index.duplicated().any():
            dup = gdf.index[gdf.index.duplicated()][0]
            msg = (
                f"[{name}]: id {dup!r} is used both in {loaded[0][1].file} and in the "
                "OpenStreetMap/register rows; ids must be unique"
            )
            raise InputError(msg)
        first_gdf, first = loaded[0]
        from_file = {str(i): first.file for i in first_gdf.index}
        from_file.update((i, first.file) for i, _, _ in first.rejected)
        report = sites.LayerReport(
            file=" + ".join(r.file for _, r in loaded),
            rows_read=sum(r.rows_read for _, r in loaded),
            rows_used=sum(r.rows_used for _, r in loaded),
            rejected=[row for _, r in loaded for row in r.rejected],
            origins={**from_file, **loaded[-1][1].origins},
        )
        if sites.OUTSIDE_DEFIB in gdf.columns:  # rows without the column: unknown (NA)
            gdf[sites.OUTSIDE_DEFIB] = gdf[sites.OUTSIDE_DEFIB].astype("boolean")
        layers[name], reports[name] = gdf, report
    return layers, reports
