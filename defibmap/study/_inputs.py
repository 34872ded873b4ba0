"""Read a study's input layers: load, snap, stack, spread finer demand, record sources.

Where the layers come from is gathered elsewhere: the OpenStreetMap source (extract or
online area, pre-flight check) in :mod:`defibmap.study._osm_source`, each section's file,
OpenStreetMap layers and defib register in :mod:`defibmap.study._layer_sources`, rows placed by
postcode in :mod:`defibmap.io._layer_postcodes`. Their entry points are re-exported here.

Private to the package: :mod:`defibmap.study.pipeline` calls these while running a study.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from defibmap import layers as layer_kinds
from defibmap._errors import InputError
from defibmap.analysis import finer_demand as demand_mod
from defibmap.analysis import reach
from defibmap.io import readiness, sites
from defibmap.io._layer_postcodes import read_layer
from defibmap.network import faults as _netcheck
from defibmap.network import walk as _network
from defibmap.network.snapping import Snapped, snap_points
from defibmap.study._layer_sources import LayerParts, layer_parts, layer_spec, load_layers
from defibmap.study._osm_source import (
    OsmSource,
    boundary,
    online_area,
    osm_source,
    preflight,
    sha256,
    study_extract,
)
from defibmap.study.parts import FinerDemand

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import NDArray

    from defibmap.config.study_file import StudyConfig
    from defibmap.network.walk import Network
    from defibmap.study.parts import JSON

__all__ = [
    "LayerParts",
    "OsmSource",
    "all_schools",
    "boundary",
    "defib_parts",
    "finer_comparison",
    "finer_demand",
    "layer_parts",
    "layer_spec",
    "load_layers",
    "locked_nearest",
    "notes",
    "online_area",
    "osm_source",
    "outside_defibs",
    "preflight",
    "read_wards",
    "readiness_summary",
    "sha256",
    "snap_layer",
    "sources",
    "stack_layers",
    "station_names",
    "stations_frame",
    "study_crs",
    "study_extract",
]

logger = logging.getLogger(__name__)

_ODBL = "ODbL 1.0, © OpenStreetMap contributors"


def snap_layer(
    network: Network,
    gdf: gpd.GeoDataFrame,
    report: sites.LayerReport,
    max_snap_m: float,
    *,
    main: NDArray[np.bool_] | None = None,
    finer: sites.LayerReport | None = None,
) -> tuple[gpd.GeoDataFrame, Snapped]:
    """Snap a layer; reject (count, never silently use) points that cannot join the network.

    Rejected: points farther than ``max_snap_m`` from every walkable edge, and points whose
    nearest edge lies on an island off the main network (:data:`defibmap.network.faults.
    ISLAND_REASON`: they could only reach defibs on the same island). ``main`` is
    :func:`defibmap.network.faults.main_component` of ``network``, computed once per study.

    ``finer`` is the finer-demand report when ``gdf`` is demand spread over postcode points
    (:func:`finer_demand`): a rejected postcode point is a row of the postcode file, so it is
    counted there; an area kept whole (its index is its own ``area_id``) is counted in ``report``.
    """
    x = gdf.geometry.x.to_numpy()
    y = gdf.geometry.y.to_numpy()
    snapped = snap_points(network, x, y, max_snap_m=max_snap_m)
    rows = gdf["source_row"].to_numpy()
    on_points = np.zeros(len(gdf), dtype=bool)
    if finer is not None and "area_id" in gdf.columns:
        on_points = gdf["area_id"].astype(str).to_numpy() != gdf.index.astype(str).to_numpy()

    def reject(hit: NDArray[np.bool_], reason: str) -> None:
        for into, mine in ((report, hit & ~on_points), (finer, hit & on_points)):
            if into is not None and mine.any():
                into.reject(list(gdf.index[mine]), list(rows[mine]), reason)
                into.rows_used -= int(mine.sum())

    far = ~snapped.ok
    if far.any():
        reject(far, f"farther than {max_snap_m:g} m from the walking network")
    island = _netcheck.on_island(network, snapped, main=main)
    if island.any():
        reject(island, _netcheck.ISLAND_REASON)
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
        gdf, _ = read_layer(spec, crs="EPSG:4326")
        lons.extend(gdf["lon"].tolist())
        lats.extend(gdf["lat"].tolist())
    return _network.projected_crs_for(np.asarray(lons), np.asarray(lats))


def finer_demand(
    config: StudyConfig, areas: gpd.GeoDataFrame, net: Network
) -> tuple[gpd.GeoDataFrame, sites.LayerReport]:
    """Spread area populations over postcode points (see :mod:`defibmap.analysis.finer_demand`)."""
    finer = config.finer_demand
    points, report = sites.load_layer(
        sites.LayerSpec(file=finer["file"], layer="finer_demand", id=finer.get("id")),
        crs=net.crs,
    )
    centroids = None
    if "centroids_file" in finer:
        centroids, _ = sites.load_layer(
            sites.LayerSpec(
                file=finer["centroids_file"],
                layer="centroids",
                id=config.layers[layer_kinds.DEMAND].id,
            ),
            crs=net.crs,
        )
    boundaries = None
    if "boundary_file" in finer:
        boundaries = gpd.read_file(finer["boundary_file"]).to_crs(net.crs)
        code = config.layers[layer_kinds.DEMAND].id
        if code and code in boundaries.columns:
            boundaries = boundaries.set_index(code)
    spread = demand_mod.spread_to_points(
        areas, points, method=finer["method"], all_centroids=centroids, boundaries=boundaries
    )
    wgs = spread.geometry.to_crs(4326)
    spread["lon"] = wgs.x.to_numpy()
    spread["lat"] = wgs.y.to_numpy()
    # Each point keeps the row it came from: a postcode point its postcode file's row, an area
    # kept whole its demand file's row (copied from the area), so rejections name the right one.
    on_points = spread["area_id"].astype(str).to_numpy() != spread.index.astype(str).to_numpy()
    spread.loc[on_points, "source_row"] = points.loc[spread.index[on_points], "source_row"]
    spread["source_row"] = spread["source_row"].astype(np.int64)
    report.rows_used = int(on_points.sum())
    report.row_population = dict.fromkeys(points["source_row"].astype(int).tolist(), 0.0)
    report.row_population.update(
        zip(
            spread.loc[on_points, "source_row"].astype(int).tolist(),
            spread.loc[on_points, "population"].astype(float).tolist(),
            strict=True,
        )
    )
    unused = points.index[~points.index.isin(spread.index[on_points])]
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
) -> FinerDemand:
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
    return FinerDemand(
        method=config.finer_demand["method"],
        points=n_points,
        areas=len(centroids),
        assumption="each area's residents spread equally over its postcode unit centroids",
        coverage=finer_coverage,
        area_centroid_coverage=cov,
        change={k: finer_coverage[k] - cov[k] for k in cov},
    )


def read_wards(config: StudyConfig, crs: str) -> gpd.GeoDataFrame | None:
    if config.wards_file is None:
        return None
    wards = gpd.read_file(config.wards_file).to_crs(crs)
    name = config.extra.get(layer_kinds.WARDS, {}).get("name")
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
        return empty, Snapped.concat([])
    frames = [p for p, _ in parts]
    gdf = gpd.GeoDataFrame(pd.concat(frames), crs=crs)
    if gdf.index.duplicated().any():
        dup = gdf.index[gdf.index.duplicated()][0]
        msg = f"site id {dup!r} is used in more than one defib layer; ids must be unique"
        raise InputError(msg)
    gdf.index.name = "site_id"
    for column in ("ready", sites.OUTSIDE_DEFIB):  # rows of a layer without it: unknown (NA)
        if column in gdf.columns:
            gdf[column] = gdf[column].astype("boolean")
    return gdf, Snapped.concat([s for _, s in parts])


def outside_defibs(frame: pd.DataFrame, *, default: bool) -> NDArray[np.bool_]:
    """Return, per row, whether the site has an outside (24/7) defib.

    A row's own ``outside_defib`` value (yes/no, read by :func:`defibmap.io.sites.yes_no`)
    wins; a blank, or a layer without the column, takes the section's ``outside_defib`` key
    (``default``).
    """
    if sites.OUTSIDE_DEFIB not in frame.columns:
        return np.full(len(frame), default, dtype=bool)
    flags = frame[sites.OUTSIDE_DEFIB].astype("boolean").fillna(value=default)
    return np.asarray(flags.to_numpy(dtype=bool), dtype=bool)


def defib_parts(
    layers: dict[str, gpd.GeoDataFrame], snapped: dict[str, Snapped], config: StudyConfig
) -> list[tuple[gpd.GeoDataFrame, Snapped]]:
    """Return the layers whose sites count as existing defibs, with their snaps.

    In registry order (:func:`defibmap.layers.defib_source_names`): the defib layers, then
    the station and ambulance-hub rows with an outside defib (:func:`outside_defibs`: the row's
    ``outside_defib``, else the section's). Each frame gains a ``layer`` column and, for a
    kind with a fixed availability (a station's 24/7 outside cabinet), its ``availability``
    label; a defib layer gains ``ready`` (pandas ``"boolean"``; NA when the row says nothing
    of readiness) and ``not_ready_reason`` (:func:`defibmap.io.readiness.assess`, judged on
    ``[availability] as_of`` and ``max_days_unchecked``). Give them to :func:`stack_layers`.
    """
    parts = []
    for name in layer_kinds.defib_source_names():
        if name not in layers:
            continue
        kind = layer_kinds.kind(name)
        part = layers[name].copy()
        snap = snapped[name]
        if kind.role in (layer_kinds.Role.STATION, layer_kinds.Role.HUB):
            # a station's outside cabinet, or a hub's staffed 24/7 defib: by the row, else
            # the section (a hub's counts unless the study says otherwise)
            outside = outside_defibs(part, default=config.layers[name].outside_defib)
            if not outside.any():
                continue
            part = part.loc[outside].copy()
            snap = snap.subset(outside)
            part[sites.OUTSIDE_DEFIB] = pd.array([True] * len(part), dtype="boolean")
        else:
            ready, reason = readiness.assess(
                part, as_of=config.as_of, max_days_unchecked=config.max_days_unchecked
            )
            part["ready"] = ready.array
            part["not_ready_reason"] = reason.to_numpy()
        part["layer"] = name
        if kind.default_availability is not None:
            part["availability"] = kind.default_availability
        parts.append((part, snap))
    return parts


#: The start of each reason :func:`defibmap.io.readiness.assess` gives, by name.
_REASON_KINDS = {
    "status": "status ",
    "pads_expired": "pads expired ",
    "battery_expired": "battery expired ",
    "not_checked": "not checked since ",
}


def readiness_summary(defibs: pd.DataFrame, config: StudyConfig) -> dict[str, JSON]:
    """Say how readiness was judged and what it removed (for ``summary.json``).

    Returns
    -------
    dict
        ``as_of`` (ISO date the expiry and last check were judged on), ``max_days_unchecked``
        (days), ``judged`` (defibs with any readiness value), ``not_ready`` (defibs usable at
        no hour for it), ``reasons`` (defibs per reason: ``status``, ``pads_expired``,
        ``battery_expired``, ``not_checked``; one defib may have several) and
        ``not_ready_ids``.
    """
    judged = 0
    removed: list[str] = []
    reasons = dict.fromkeys(_REASON_KINDS, 0)
    if "ready" in defibs.columns:
        ready = defibs["ready"].astype("boolean")
        judged = int(ready.notna().sum())
        off = (~ready).fillna(value=False).to_numpy(dtype=bool)
        removed = [str(i) for i in defibs.index[off]]
        why = defibs.get("not_ready_reason", pd.Series("", index=defibs.index))
        for text in why.fillna("").astype(str)[off]:
            parts = text.split("; ")
            for name, start in _REASON_KINDS.items():
                reasons[name] += any(part.startswith(start) for part in parts)
    return {
        "as_of": config.as_of.isoformat(),
        "max_days_unchecked": config.max_days_unchecked,
        "judged": judged,
        "not_ready": len(removed),
        "reasons": dict(reasons),
        "not_ready_ids": list(removed),
    }


def station_names(layers: Mapping[str, object]) -> list[str]:
    """Return the station layers the study has (:func:`defibmap.layers.station_names`)."""
    return [name for name in layer_kinds.station_names() if name in layers]


def stations_frame(
    layers: dict[str, gpd.GeoDataFrame], config: StudyConfig, crs: str
) -> gpd.GeoDataFrame:
    """Return every station (each kind of :func:`station_names`) with its layer and defib.

    ``outside_defib`` is each row's own value, else its section's (:func:`outside_defibs`).
    """
    parts = []
    for name in station_names(layers):
        part = layers[name].copy()
        part["layer"] = name
        part[sites.OUTSIDE_DEFIB] = outside_defibs(part, default=config.layers[name].outside_defib)
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


def locked_nearest(defibs: gpd.GeoDataFrame, nearest_ids: pd.Series[str]) -> NDArray[np.bool_]:
    """Return True where a demand point's nearest defib is locked (a yes in ``locked``).

    ``nearest_ids`` holds each demand point's nearest defib id (None when there is none);
    a defib layer without a ``locked`` column locks nothing. Yes is any of
    :data:`defibmap.layers.YES_WORDS`, in any case.
    """
    if "locked" not in defibs.columns or not len(defibs):
        return np.zeros(len(nearest_ids), dtype=bool)
    words = defibs["locked"].astype(str).str.strip().str.lower()
    lock_of = words.isin(layer_kinds.YES_WORDS)
    return nearest_ids.map(lock_of).fillna(value=False).to_numpy(dtype=bool)


def sources(
    config: StudyConfig, parts: dict[str, LayerParts] | None = None
) -> list[dict[str, str]]:
    """``{layer, name, licence, date, file, sha256}`` for every input the study read."""
    out = []
    net = config.network
    synthetic = "synthetic demonstration data"
    path = net.osm_file or net.graph_file
    if path is not None:
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
    if config.postcode_file is not None:
        lookup = config.postcode_file
        out.append(
            {
                "layer": "postcodes",
                "name": f"postcode lookup ({lookup.name})",
                "licence": "",
                "date": "",
                "file": lookup.name,
                "sha256": sha256(lookup) if lookup.is_file() else "",
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


#: ONS (GSS) codes of census areas: output areas (E00, W00, S00), LSOAs and data zones (E01,
#: W01, S01), MSOAs and intermediate zones (E02, W02, S02).
_AREA_CODE = re.compile(r"[EWS]0[0-2]\d{6}")


def centroid_note(config: StudyConfig, demand: gpd.GeoDataFrame | None) -> str | None:
    """Say so when the demand is census areas at one centroid each, without ``[finer_demand]``.

    A whole area's residents at one point make the ranking all-or-nothing per area: a site a
    few metres nearer wins the area, one a few metres farther loses it. The demand counts as
    areas when every id is an ONS area code (``E01``...). Not said with ``[demand] weight =
    "expected_arrests"``, which needs the area codes and so cannot take ``[finer_demand]``.
    """
    if demand is None or demand.empty or config.finer_demand:
        return None
    if config.demand_weight.basis == "expected_arrests":
        return None
    ids = pd.Series(demand.index.astype(str), dtype=object).str.strip()
    if not ids.str.fullmatch(_AREA_CODE).all():
        return None
    people = pd.to_numeric(demand["population"], errors="coerce")
    return (
        f"Demand is {len(demand):,} census areas, each at one centroid (about "
        f"{people.mean():,.0f} residents, up to {people.max():,.0f}), so the ranking is "
        "all-or-nothing per area (a site a few metres nearer wins a whole area, one a few "
        "metres farther loses it): give [finer_demand] postcode points (OS Code-Point Open) to "
        "spread each area's residents."
    )


def notes(
    config: StudyConfig, layers: dict[str, gpd.GeoDataFrame], defibs: gpd.GeoDataFrame
) -> list[str]:
    notes = []
    centroids = centroid_note(config, layers.get(layer_kinds.DEMAND))
    if centroids is not None:
        notes.append(centroids)
    defib_layer = config.layers.get(layer_kinds.DEFIBS)
    if defib_layer is not None and all_schools(layers.get(layer_kinds.DEFIBS)):
        notes.append(
            "Existing defibs are schools (DfE: every state-funded school received a defib in "
            "2022-23); most hang indoors and are usable in school hours only. The headline "
            "(year-round available) coverage counts a school's defib only in school hours in term "
            "time; the any-time figure counts it at every hour."
        )
    elif defib_layer is not None and "schools" in defib_layer.osm:
        notes.append(
            "OpenStreetMap schools count as existing defibs (DfE: every state-funded school "
            "received a defib in 2022-23); unless tagged as outside, a school's defib is usable "
            "in school hours only. The headline (year-round available) coverage counts it only "
            "in school hours in term time; the any-time figure counts it at every hour."
        )
    if defib_layer is not None and (
        "defibrillators" in defib_layer.osm or defib_layer.register is not None
    ):
        notes.append(
            "Defibs OpenStreetMap or the register mark as private (access=private or no) are "
            "not counted; they are listed in rejected.csv."
        )
    judged = readiness_summary(defibs, config)
    if judged["not_ready"]:
        notes.append(
            f"{judged['not_ready']} defib(s) are not ready by their register (status, pads or "
            f"battery expired, or not checked for over {config.max_days_unchecked} days, as of "
            f"{judged['as_of']}) and count at no hour; see not_ready_reason."
        )
    if config.unknown_hours == "available" and (defibs["availability"] == "unknown").any():
        notes.append(
            "Defibs with unknown hours are assumed usable at all times; the figures with them "
            "unusable are reported beside (unknown_hours_unavailable)."
        )
    return notes
