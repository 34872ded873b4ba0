"""Read a study's input layers: load, snap, stack, spread finer demand, record sources.

A layer section may name a ``file``, OpenStreetMap layers (``osm``, read with
:func:`defibmap.osm_features.osm_layer` from the study's extract or downloaded) and, for
defibs, a ``register`` merged with the OSM defibrillators (:mod:`defibmap.registers`). The
OSM and register rows are written to a CSV in the cache folder and read back through
:func:`defibmap.sites.load_layer`, so they are checked and counted like any file; rows a
study must not count (private defibs, buildings of another operator, sites listed twice) are
rejected with their reason, never dropped silently.

Private to the package: :mod:`defibmap.study` calls these while running a study.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from defibmap import _netcheck, osm_features, reach, registers, sites
from defibmap import demand as demand_mod
from defibmap import network as _network
from defibmap._errors import InputError
from defibmap.snapping import Snapped, snap_points

if TYPE_CHECKING:
    import shapely
    from numpy.typing import NDArray

    from defibmap.config import LayerConfig, StudyConfig
    from defibmap.network import Network

logger = logging.getLogger(__name__)

#: A row of a layer's ``file`` and an OpenStreetMap feature of the same layer closer than
#: this (metres) are one site: the file's row is kept (e.g. a council's library list and
#: OSM's library outlines, placed by postcode and by building centroid).
SAME_SITE_M = 50.0
_EXCLUDED = "excluded_reason"
_ODBL = "ODbL 1.0, © OpenStreetMap contributors"
_digests: dict[tuple[str, int, int], str] = {}


def sha256(path: Path) -> str:
    """Return the SHA-256 of a file (remembered per path, size and modification time)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _digests:
        return _digests[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    _digests[key] = digest.hexdigest()
    return _digests[key]


def layer_spec(layer: LayerConfig) -> sites.LayerSpec:
    """How to read a layer section's ``file``."""
    assert layer.file is not None
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
    )


def snap_layer(
    network: Network,
    gdf: gpd.GeoDataFrame,
    report: sites.LayerReport,
    max_snap_m: float,
    *,
    main: NDArray[np.bool_] | None = None,
) -> tuple[gpd.GeoDataFrame, Snapped]:
    """Snap a layer; reject (count, never silently use) points that cannot join the network.

    Rejected: points farther than ``max_snap_m`` from every walkable edge, and points whose
    nearest edge lies on an island off the main network (:data:`defibmap._netcheck.
    ISLAND_REASON`: they could only reach defibs on the same island). ``main`` is
    :func:`defibmap._netcheck.main_component` of ``network``, computed once per study.
    """
    x = gdf.geometry.x.to_numpy()
    y = gdf.geometry.y.to_numpy()
    snapped = snap_points(network, x, y, max_snap_m=max_snap_m)
    rows = gdf["source_row"].to_numpy()
    far = ~snapped.ok
    if far.any():
        reason = f"farther than {max_snap_m:g} m from the walking network"
        report.reject(list(gdf.index[far]), list(rows[far]), reason)
        report.rows_used -= int(far.sum())
    island = _netcheck.on_island(network, snapped, main=main)
    if island.any():
        report.reject(list(gdf.index[island]), list(rows[island]), _netcheck.ISLAND_REASON)
        report.rows_used -= int(island.sum())
        logger.warning(
            "%s: %d point(s) on a walking-network island rejected", report.file, island.sum()
        )
    keep = snapped.ok & ~island
    out = gdf[keep].copy()
    out["snap_m"] = snapped.snap_m[keep]
    return out, snapped.subset(keep)


def study_crs(specs: list[sites.LayerSpec]) -> str:
    """Choose the projected CRS for the study's points (British National Grid inside GB)."""
    lons: list[float] = []
    lats: list[float] = []
    for spec in specs:
        gdf, _ = sites.load_layer(spec, crs="EPSG:4326")
        lons.extend(gdf["lon"].tolist())
        lats.extend(gdf["lat"].tolist())
    return _network.projected_crs_for(np.asarray(lons), np.asarray(lats))


# ---------------------------------------------------------------------------------------------
# OpenStreetMap layers and defib registers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OsmSource:
    """Where a study's OpenStreetMap layers come from: a local extract or an online area.

    Attributes
    ----------
    osm_file
        Offline: the extract read (``[network] osm_file``, clipped to the boundary when the
        study has one). None online.
    place, polygon
        Online: the place name (geocoded by Nominatim) or the WGS84 boundary, one of them.
        Offline ``polygon`` (the boundary, when given) clips the features.
    buffer_m
        Metres the area reaches beyond the boundary (``[network] boundary_buffer_m``).
    cache_dir
        The study's cache folder.
    """

    osm_file: Path | None
    place: str | None
    polygon: shapely.Geometry | None
    buffer_m: float
    cache_dir: Path

    @property
    def online(self) -> bool:
        """True when the layers are downloaded (no local extract)."""
        return self.osm_file is None


@dataclass
class LayerParts:
    """A layer section's inputs, ready for :func:`defibmap.sites.load_layer`.

    ``specs`` holds the section's ``file`` first (when it has one), then the CSV written from
    its OpenStreetMap layers and register (``generated``). ``info`` goes into
    ``summary.json``'s ``inputs`` (features per OSM layer, the register merge).
    """

    name: str
    specs: list[sites.LayerSpec]
    generated: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)


def boundary(config: StudyConfig) -> shapely.Geometry | None:
    """Return the study's ``[boundary]`` outline as one WGS84 (multi)polygon, or None."""
    if config.boundary_file is None:
        return None
    return osm_features.boundary_polygon(config.boundary_file)


def online_area(
    config: StudyConfig, polygon: shapely.Geometry | None
) -> tuple[str | None, shapely.Geometry | None]:
    """Return the area a download covers: the boundary outline when given, else the place.

    Returns ``(place, polygon)``, at most one of them set.
    """
    if polygon is not None:
        return None, polygon
    return config.network.place, None


def study_extract(
    config: StudyConfig, cache: Path, polygon: shapely.Geometry | None
) -> Path | None:
    """Return the OpenStreetMap file a study reads offline, clipped to its boundary.

    Without a ``[boundary]`` it is ``[network] osm_file`` itself. With one, a regional extract
    is clipped (streamed, never loaded whole: :func:`defibmap.osm_features.clip_extract`) to
    the boundary grown by ``boundary_buffer_m`` and kept in the cache folder under a hash of
    the extract, the boundary file and the buffer, so the clip runs once. The walking network
    and the OSM layers are both read from the clipped file.
    """
    net = config.network
    if net.osm_file is None:
        return None
    if polygon is None or config.boundary_file is None:
        return net.osm_file
    key = _network.cache_key(
        sha256(net.osm_file), sha256(config.boundary_file), f"{net.boundary_buffer_m:g}", "clip"
    )
    stem = net.osm_file.name.split(".")[0]
    dst = cache / "extracts" / f"{stem}-clip-{key}.osm.pbf"
    if dst.is_file():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".tmp-{os.getpid()}-{dst.name}")
    try:
        counts = osm_features.clip_extract(
            net.osm_file, polygon, tmp, buffer_m=net.boundary_buffer_m, overwrite=True
        )
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info(
        "%s clipped to %s grown by %g m: %s",
        net.osm_file.name,
        config.boundary_file.name,
        net.boundary_buffer_m,
        counts,
    )
    return dst


def osm_source(
    config: StudyConfig, cache: Path, polygon: shapely.Geometry | None
) -> OsmSource | None:
    """Where the study's OSM layers come from; None when it has neither extract nor area."""
    net = config.network
    if net.osm_file is not None:
        extract = study_extract(config, cache, polygon)
        return OsmSource(extract, None, polygon, net.boundary_buffer_m, cache)
    place, area = online_area(config, polygon)
    if place is None and area is None:
        return None
    return OsmSource(None, place, area, net.boundary_buffer_m, cache)


def preflight(
    config: StudyConfig, polygon: shapely.Geometry | None, *, network: bool, cache: Path
) -> None:
    """Before any work: check every download the study needs is cached or its server answers.

    ``network`` says whether the walking network must still be fetched. Offline with
    something missing, :func:`defibmap.osm_features.preflight` raises
    :class:`~defibmap.NetworkError` listing what is missing, the extract to download
    (``[network] extract_url``), the folder to put it in (the boundary file's folder, else
    the study file's) and the ``osm_file`` value to set.
    """
    net = config.network
    if net.osm_file is not None:
        return
    kinds = [kind for layer in config.layers.values() for kind in layer.osm]
    layers = (["network"] if network else []) + list(dict.fromkeys(kinds))
    place, area = online_area(config, polygon)
    if not layers or (place is None and area is None):
        return
    study_dir = config.path.parent if config.path is not None else Path.cwd()
    folder = config.boundary_file.parent if config.boundary_file is not None else study_dir
    name = (
        net.extract_url.rstrip("/").rsplit("/", 1)[-1]
        if net.extract_url
        else "<county>-latest.osm.pbf"
    )
    value = Path(os.path.relpath(folder.resolve() / name, study_dir.resolve())).as_posix()
    osm_features.preflight(
        place if place is not None else area,
        layers=layers,
        buffer_m=net.boundary_buffer_m,
        cache_dir=cache,
        download_dir=folder.resolve(),
        extract_url=net.extract_url,
        osm_file_value=value,
    )


def _exclusion(reason: str) -> str:
    """Return the rejection reason of a feature the OSM or register reader set aside."""
    if reason.startswith("access="):
        return f"not for public use ({reason})"
    return reason


def _osm_frames(
    layer: LayerConfig, source: OsmSource | None, *, refresh: bool
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read a section's OSM layers and register; return frames by kind and summary info."""
    frames: dict[str, pd.DataFrame] = {}
    info: dict[str, Any] = {}
    if layer.osm:
        if source is None:  # pragma: no cover - the study reader refuses such a study
            msg = f"[{layer.name}] osm needs [network] osm_file or place, or a [boundary]"
            raise InputError(msg)
        counts = {}
        for kind in layer.osm:
            frame = osm_features.osm_layer(
                kind,
                osm_file=source.osm_file,
                place=source.place,
                polygon=source.polygon,
                council=layer.council if kind == "council_buildings" else None,
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
        register = registers.read_register(layer.register)
        base = frames.pop("defibrillators", None)
        if base is None:
            base = pd.DataFrame({c: pd.Series(dtype=object) for c in osm_features.COLUMNS})
            base.attrs = {"excluded": []}
        merged, report = registers.merge_defibs(base, register, within_m=layer.register_within_m)
        frames = {"defibrillators": merged, **frames}
        info["register"] = {"file": layer.register.name, **report.as_dict()}
    return frames, info


def _generated_csv(layer: LayerConfig, frames: dict[str, pd.DataFrame], cache: Path) -> Path | None:
    """Write a section's OSM and register rows, kept and set aside, to a CSV in the cache.

    Returns None when there is no row at all (no feature found, an empty register).
    """
    parts: list[pd.DataFrame] = []
    for frame in frames.values():
        kept = frame.assign(**{_EXCLUDED: ""})
        aside = pd.DataFrame(
            frame.attrs.get("excluded", []), columns=["site_id", "name", "lon", "lat", "reason"]
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
    text = combined.to_csv(index=False, lineterminator="\n")
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = cache / "layers" / f"{layer.name}-{key}.csv"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path


def layer_parts(
    config: StudyConfig, source: OsmSource | None, cache: Path, *, refresh: bool = False
) -> dict[str, LayerParts]:
    """Gather each layer section's inputs: its file, and a CSV of its OSM and register rows.

    The OSM layers are read from the study's extract or downloaded (cached; ``refresh``
    downloads again).
    """
    out: dict[str, LayerParts] = {}
    for name, layer in config.layers.items():
        part = LayerParts(name=name, specs=[layer_spec(layer)] if layer.file is not None else [])
        if layer.osm or layer.register is not None:
            frames, part.info = _osm_frames(layer, source, refresh=refresh)
            part.generated = _generated_csv(layer, frames, cache)
            if part.generated is not None:
                part.specs.append(
                    sites.LayerSpec(
                        file=part.generated,
                        layer=name,
                        id="site_id",
                        name="name",
                        lon="lon",
                        lat="lat",
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
        loaded = [sites.load_layer(spec, crs=crs) for spec in part.specs]
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
            gdf = _set_aside(gdf, report)
            if len(loaded) == 2:
                gdf = _same_sites(loaded[0][0], gdf, report, part.specs[0].file.name)
            loaded[-1] = (gdf, report)
        if len(loaded) == 1:
            layers[name], reports[name] = loaded[0]
            continue
        frames = [g for g, _ in loaded if len(g)] or [loaded[0][0]]
        gdf = gpd.GeoDataFrame(pd.concat(frames), crs=frames[0].crs)
        if gdf.index.duplicated().any():
            dup = gdf.index[gdf.index.duplicated()][0]
            msg = (
                f"[{name}]: id {dup!r} is used both in {part.specs[0].file} and in the "
                "OpenStreetMap/register rows; ids must be unique"
            )
            raise InputError(msg)
        report = sites.LayerReport(
            file=" + ".join(r.file for _, r in loaded),
            rows_read=sum(r.rows_read for _, r in loaded),
            rows_used=sum(r.rows_used for _, r in loaded),
            rejected=[row for _, r in loaded for row in r.rejected],
        )
        layers[name], reports[name] = gdf, report
    return layers, reports


def finer_demand(
    config: StudyConfig, areas: gpd.GeoDataFrame, net: Network
) -> tuple[gpd.GeoDataFrame, sites.LayerReport]:
    """Spread area populations over postcode points (see :mod:`defibmap.demand`)."""
    finer = config.finer_demand
    points, report = sites.load_layer(
        sites.LayerSpec(file=finer["file"], layer="finer_demand", id=finer.get("id")),
        crs=net.crs,
    )
    centroids = None
    if "centroids_file" in finer:
        centroids, _ = sites.load_layer(
            sites.LayerSpec(
                file=finer["centroids_file"], layer="centroids", id=config.layers["demand"].id
            ),
            crs=net.crs,
        )
    boundaries = None
    if "boundary_file" in finer:
        boundaries = gpd.read_file(finer["boundary_file"]).to_crs(net.crs)
        code = config.layers["demand"].id
        if code and code in boundaries.columns:
            boundaries = boundaries.set_index(code)
    spread = demand_mod.spread_to_points(
        areas, points, method=finer["method"], all_centroids=centroids, boundaries=boundaries
    )
    wgs = spread.geometry.to_crs(4326)
    spread["lon"] = wgs.x.to_numpy()
    spread["lat"] = wgs.y.to_numpy()
    spread["source_row"] = np.arange(len(spread)) + 2
    report.rows_used = int(spread.index.isin(points.index).sum())
    unused = points.index[~points.index.isin(spread.index)]
    rows = points.loc[unused, "source_row"].tolist()
    report.reject(list(unused), rows, "postcode outside the study's areas")
    return spread, report


def finer_comparison(
    config: StudyConfig,
    net: Network,
    centroids: gpd.GeoDataFrame,
    defib_snap: Snapped,
    finer_coverage: dict[str, float],
    n_points: int,
) -> dict[str, Any]:
    """Coverage on area centroids beside the finer-demand figure."""
    snap = snap_points(
        net,
        centroids.geometry.x.to_numpy(),
        centroids.geometry.y.to_numpy(),
        max_snap_m=config.network.max_snap_m,
    )
    walk = reach.nearest_facility(
        net, snap, defib_snap, limit_m=reach.search_limit_m(config.thresholds_m)
    ).walk_m
    cov = reach.coverage_shares(
        walk, centroids["population"].to_numpy(dtype=np.float64), config.thresholds_m
    )
    return {
        "method": config.finer_demand["method"],
        "points": n_points,
        "areas": len(centroids),
        "assumption": "each area's residents spread equally over its postcode unit centroids",
        "coverage": finer_coverage,
        "area_centroid_coverage": cov,
        "change": {k: finer_coverage[k] - cov[k] for k in cov},
    }


def read_wards(config: StudyConfig, crs: str) -> gpd.GeoDataFrame | None:
    if config.wards_file is None:
        return None
    wards = gpd.read_file(config.wards_file).to_crs(crs)
    name = config.extra.get("wards", {}).get("name")
    if name is None or name not in wards.columns:
        text_cols = [c for c in wards.columns if c != "geometry" and wards[c].dtype == object]
        name = next((c for c in text_cols if c.lower().endswith("nm")), text_cols[0])
    return wards.rename(columns={name: "ward"})[["ward", "geometry"]]


def stack_layers(
    parts: list[tuple[gpd.GeoDataFrame, Snapped]], crs: str
) -> tuple[gpd.GeoDataFrame, Snapped]:
    if not parts:
        empty = gpd.GeoDataFrame(
            {"name": pd.Series(dtype=object), "layer": pd.Series(dtype=object)},
            geometry=gpd.GeoSeries([], crs=crs),
        )
        empty.index.name = "site_id"
        return empty, Snapped(
            ok=np.zeros(0, bool),
            edge=np.zeros(0, np.int64),
            snap_m=np.zeros(0),
            to_u_m=np.zeros(0),
            to_v_m=np.zeros(0),
            snap_x=np.zeros(0),
            snap_y=np.zeros(0),
        )
    frames = [p for p, _ in parts]
    gdf = gpd.GeoDataFrame(pd.concat(frames), crs=crs)
    if gdf.index.duplicated().any():
        dup = gdf.index[gdf.index.duplicated()][0]
        msg = f"site id {dup!r} is used in more than one defib layer; ids must be unique"
        raise InputError(msg)
    gdf.index.name = "site_id"
    snaps = [s for _, s in parts]
    snapped = Snapped(
        ok=np.concatenate([s.ok for s in snaps]),
        edge=np.concatenate([s.edge for s in snaps]),
        snap_m=np.concatenate([s.snap_m for s in snaps]),
        to_u_m=np.concatenate([s.to_u_m for s in snaps]),
        to_v_m=np.concatenate([s.to_v_m for s in snaps]),
        snap_x=np.concatenate([s.snap_x for s in snaps]),
        snap_y=np.concatenate([s.snap_y for s in snaps]),
    )
    return gdf, snapped


def stations_frame(
    layers: dict[str, gpd.GeoDataFrame], config: StudyConfig, crs: str
) -> gpd.GeoDataFrame:
    parts = []
    for name in ("fire_stations", "police_stations"):
        if name in layers:
            part = layers[name].copy()
            part["layer"] = name
            part["outside_defib"] = config.layers[name].outside_defib
            parts.append(part)
    if not parts:
        return gpd.GeoDataFrame(
            {
                "name": pd.Series(dtype=object),
                "layer": pd.Series(dtype=object),
                "outside_defib": pd.Series(dtype=bool),
            },
            geometry=gpd.GeoSeries([], crs=crs),
        )
    gdf = gpd.GeoDataFrame(pd.concat(parts), crs=crs)
    gdf.index.name = "site_id"
    return gdf


def sources(
    config: StudyConfig, parts: dict[str, LayerParts] | None = None
) -> list[dict[str, str]]:
    """``{layer, name, licence, date, file, sha256}`` for every input the study read."""
    out = []
    net = config.network
    synthetic = "synthetic demonstration data"
    if net.osm_file is not None or net.graph_file is not None:
        path = net.osm_file or net.graph_file
        assert path is not None
        out.append(
            {
                "layer": "network",
                "name": net.source or (synthetic if config.synthetic else "OpenStreetMap"),
                "licence": net.licence or "",
                "date": net.date or "",
                "file": path.name,
                "sha256": sha256(path),
            }
        )
    else:
        out.append(
            {
                "layer": "network",
                "name": net.source or f"OpenStreetMap via osmnx ({net.place})",
                "licence": net.licence or _ODBL,
                "date": net.date or "",
                "file": "",
                "sha256": "",
            }
        )
    for name, layer in config.layers.items():
        if layer.file is not None:
            out.append(
                {
                    "layer": name,
                    "name": layer.source or (synthetic if config.synthetic else layer.file.name),
                    "licence": layer.licence or "",
                    "date": layer.date or "",
                    "file": layer.file.name,
                    "sha256": sha256(layer.file),
                }
            )
        part = (parts or {}).get(name)
        if layer.osm:
            how = "OpenStreetMap via osmnx" if net.osm_file is None else "OpenStreetMap"
            generated = part.generated if part is not None else None
            own = layer.file is None  # the section's source describes its OSM layers
            out.append(
                {
                    "layer": name,
                    "name": (layer.source if own else None) or f"{how} ({', '.join(layer.osm)})",
                    "licence": (layer.licence if own else None) or _ODBL,
                    "date": (layer.date if own else None) or "",
                    "file": generated.name if generated is not None else "",
                    "sha256": sha256(generated) if generated is not None else "",
                }
            )
        if layer.register is not None:
            out.append(
                {
                    "layer": f"{name}_register",
                    "name": f"defibrillator register ({layer.register.name})",
                    "licence": "",
                    "date": "",
                    "file": layer.register.name,
                    "sha256": sha256(layer.register),
                }
            )
    finer = config.finer_demand
    for key in ("file", "centroids_file"):
        if key in finer:
            path = finer[key]
            out.append(
                {
                    "layer": "finer_demand" if key == "file" else "finer_demand_centroids",
                    "name": finer.get("source", path.name) if key == "file" else path.name,
                    "licence": finer.get("licence", "") if key == "file" else "",
                    "date": finer.get("date", "") if key == "file" else "",
                    "file": path.name,
                    "sha256": sha256(path),
                }
            )
    return out


def all_schools(gdf: gpd.GeoDataFrame | None) -> bool:
    if gdf is None or gdf.empty or "kind" not in gdf.columns:
        return False
    return bool((gdf["kind"].astype(str) == "school").all())


def notes(
    config: StudyConfig, layers: dict[str, gpd.GeoDataFrame], defibs: gpd.GeoDataFrame
) -> list[str]:
    notes = []
    defib_layer = config.layers.get("defibs")
    if defib_layer is not None and all_schools(layers.get("defibs")):
        notes.append(
            "Existing defibs are schools (DfE: every state-funded school received a defib in "
            "2022-23); most hang indoors and are usable in school hours only. The headline "
            "coverage counts every defib as available; day and night figures use school hours."
        )
    elif defib_layer is not None and "schools" in defib_layer.osm:
        notes.append(
            "OpenStreetMap schools count as existing defibs (DfE: every state-funded school "
            "received a defib in 2022-23); unless tagged as outside, a school's defib is usable "
            "in school hours only. The headline coverage counts every defib as available; day "
            "and night figures use school hours."
        )
    if defib_layer is not None and (
        "defibrillators" in defib_layer.osm or defib_layer.register is not None
    ):
        notes.append(
            "Defibs OpenStreetMap or the register mark as private (access=private or no) are "
            "not counted; they are listed in rejected.csv."
        )
    if config.unknown_hours == "available" and (defibs["availability"] == "unknown").any():
        notes.append(
            "Defibs with unknown hours are assumed usable at all times; the figures with them "
            "unusable are reported beside (unknown_hours_unavailable)."
        )
    return notes
