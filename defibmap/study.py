"""A study: a config file in, a result object out.

``run_study`` reads the layers, builds (or loads from cache) the walking network, snaps every
point, measures walking distances to the nearest defib, computes coverage at each threshold
and ranks the candidate buildings. It writes nothing: :mod:`defibmap.report` does that.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from defibmap import analysis, equity, optimise, reach, sites
from defibmap import demand as demand_mod
from defibmap import network as _network
from defibmap._errors import ConfigError, InputError, NetworkError
from defibmap._resources import study_path
from defibmap.config import LayerConfig, StudyConfig, read_study
from defibmap.snapping import Snapped, snap_points

if TYPE_CHECKING:
    from defibmap.network import Network

logger = logging.getLogger(__name__)

DEFIB_LAYERS = ("defibs", "fire_stations", "police_stations")


@dataclass
class StudyResult:
    """Everything a study computed; the report and the map read from it.

    Attributes
    ----------
    config
        The study as read.
    network
        The walking network.
    demand
        Demand points used (index ``demand_id``): ``population``, ``lon``/``lat`` (input, WGS84),
        ``snap_m``, ``walk_m`` (NaN: no defib within the search limit), ``nearest_defib_id``,
        ``covered`` (at the headline threshold); geometry in the network CRS.
    defibs
        Every site counted as an existing defib (index ``site_id``), with its ``layer``.
    stations
        Fire and police stations (index ``site_id``) with ``layer`` and ``outside_defib``.
    candidates
        Candidate buildings that snapped to the network, sorted by ``site_id``.
    coverage
        Share (0-1) of population within each threshold, every defib counted available.
    recommendations
        The ranked list (greedy order), ``min(k, candidates)`` rows.
    ranking
        Method, k, greedy and optimal population added, the gap, the optimal site ids.
    inputs
        Per layer: rows read, used, rejected and the reasons.
    rejected
        Every rejected row: ``layer``, ``id``, ``row``, ``reason``.
    sources
        ``{layer, name, licence, date, sha256}`` for every input file.
    """

    config: StudyConfig
    network: Network
    demand: gpd.GeoDataFrame
    defibs: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    coverage: dict[str, float]
    recommendations: pd.DataFrame
    ranking: dict[str, Any]
    inputs: dict[str, dict[str, Any]]
    rejected: pd.DataFrame
    sources: list[dict[str, str]]
    notes: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    curve: pd.DataFrame | None = None

    @property
    def population_total(self) -> float:
        """Population of the demand points used, people."""
        return float(self.demand["population"].sum())

    def summary(self) -> dict[str, Any]:
        """Return the ``summary.json`` content."""
        return {
            "study": self.config.name,
            "version": tool_version(),
            "synthetic": self.config.synthetic,
            "sources": self.sources,
            "population_total": self.population_total,
            "thresholds_m": [round(t) for t in self.config.thresholds_m],
            "coverage": self.coverage,
            "ranking": self.ranking,
            "network": {
                "nodes": self.network.n_nodes,
                "edges": self.network.n_edges,
                "source": self.network.source,
                "crs": self.network.crs,
            },
            "inputs": self.inputs,
            "notes": self.notes,
            **self.extras,
        }


def tool_version() -> str:
    """Return the installed defibmap version."""
    try:
        return version("defibmap")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0+unknown"


def load_study(study: str | Path | None = None) -> StudyConfig:
    """Read a study file, or a study shipped with the package by name.

    Parameters
    ----------
    study
        A path to a study TOML file, or the name of a shipped study (``"leeds"``,
        ``"demo-town"``, ``"coventry"``). ``None`` gives the default real-data study (Leeds).

    Returns
    -------
    StudyConfig
    """
    if study is None:
        return read_study(study_path("leeds"))
    candidate = Path(study)
    if candidate.suffix.lower() == ".toml" or candidate.exists():
        return read_study(candidate)
    return read_study(study_path(str(study)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_dir(config: StudyConfig) -> Path:
    """Return the network cache folder.

    The study's ``cache_dir``, else ``$DEFIBMAP_CACHE_DIR``, else the per-user cache folder
    (``$XDG_CACHE_HOME/defibmap``, default ``~/.cache/defibmap``); never the current directory.
    """
    if config.network.cache_dir is not None:
        return config.network.cache_dir
    env = os.environ.get("DEFIBMAP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "defibmap"


def build_network(config: StudyConfig, *, refresh: bool = False) -> Network:
    """Build the study's walking network, or load it from the on-disk cache.

    The cache key is a hash of the OSM file's bytes and the CRS, so an edited file is
    rebuilt; a damaged cache file is detected, logged and rebuilt.
    """
    net = config.network
    if net.graph_file is not None:
        if net.graph_file.suffix.lower() == ".graphml":
            return _network.from_graphml(net.graph_file, crs=net.crs)
        return _network.load(net.graph_file)
    if net.osm_file is not None:
        digest = _sha256(net.osm_file)
        key = _network.cache_key(digest, net.crs or "auto", "walk")
        path = cache_dir(config) / f"walk-{key}.npz"
        if path.exists() and not refresh:
            try:
                return _network.load(path)
            except NetworkError as exc:
                logger.warning("rebuilding the network: %s", exc)
        built = _network.from_osm_file(net.osm_file, crs=net.crs)
        try:
            _network.save(
                built,
                path,
                meta={"query": str(net.osm_file), "sha256": digest, "network_type": "walk"},
            )
        except OSError as exc:  # a read-only cache must not stop the study
            logger.warning("could not cache the network at %s: %s", path, exc)
        return built
    assert net.place is not None
    import osmnx as ox

    # osmnx caches each Overpass response under a hash of the query; keep it in our cache
    # folder, never the current directory
    ox.settings.cache_folder = str(cache_dir(config) / "osmnx")
    ox.settings.use_cache = True
    return _network.from_place(net.place, crs=net.crs)


def _layer_spec(layer: LayerConfig) -> sites.LayerSpec:
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


def _snap_layer(
    network: Network,
    gdf: gpd.GeoDataFrame,
    report: sites.LayerReport,
    max_snap_m: float,
) -> tuple[gpd.GeoDataFrame, Snapped]:
    """Snap a layer and reject (count, never silently use) points beyond the snap limit."""
    x = gdf.geometry.x.to_numpy()
    y = gdf.geometry.y.to_numpy()
    snapped = snap_points(network, x, y, max_snap_m=max_snap_m)
    far = ~snapped.ok
    if far.any():
        reason = f"farther than {max_snap_m:g} m from the walking network"
        report.reject(list(gdf.index[far]), list(gdf["source_row"].to_numpy()[far]), reason)
        report.rows_used -= int(far.sum())
    keep = snapped.ok
    out = gdf[keep].copy()
    out["snap_m"] = snapped.snap_m[keep]
    return out, snapped.subset(keep)


def run_study(
    config: StudyConfig | str | Path | None = None,
    *,
    network: Network | None = None,
    refresh: bool = False,
) -> StudyResult:
    """Run a whole study: load, network, snap, walk, cover, rank.

    Parameters
    ----------
    config
        A :class:`StudyConfig`, a study file path or a shipped study's name; ``None`` runs the
        default real-data study.
    network
        A network to use instead of building one (e.g. from :func:`defibmap.network.from_graph`).
    refresh
        Rebuild the network instead of using the cache.

    Returns
    -------
    StudyResult
    """
    if not isinstance(config, StudyConfig):
        config = load_study(config)
    layers: dict[str, gpd.GeoDataFrame] = {}
    reports: dict[str, sites.LayerReport] = {}
    crs = config.network.crs or _study_crs(config)
    for name, layer in config.layers.items():
        layers[name], reports[name] = sites.load_layer(_layer_spec(layer), crs=crs)
    net = network if network is not None else build_network(config, refresh=refresh)
    if net.crs != crs:
        layers = {name: gdf.to_crs(net.crs) for name, gdf in layers.items()}
    centroid_demand = None
    if config.finer_demand:
        centroid_demand = layers["demand"]
        layers["demand"], reports["finer_demand"] = _finer_demand(config, layers["demand"], net)
    max_snap = config.network.max_snap_m
    snapped: dict[str, Snapped] = {}
    for name in list(layers):
        layers[name], snapped[name] = _snap_layer(net, layers[name], reports[name], max_snap)
    demand = layers["demand"]
    if demand.empty:
        msg = f"{config.layers['demand'].file}: no demand point lies within the study network"
        raise InputError(msg)

    # existing defibs: the defib layer plus stations that carry an outside defib
    defib_parts = []
    for name in DEFIB_LAYERS:
        if name not in layers:
            continue
        if name != "defibs" and not config.layers[name].outside_defib:
            continue
        part = layers[name].copy()
        part["layer"] = name
        if name != "defibs":
            part["availability"] = "24/7"
        defib_parts.append((part, snapped[name]))
    defibs, defib_snap = _stack(defib_parts, net.crs)
    term, holiday, strict, labels = analysis.defib_availability(defibs, config)
    defibs["availability"] = labels
    current = analysis.SiteSet(
        defibs.index.to_numpy(dtype=object), defib_snap, term, holiday, strict
    )
    thresholds = config.thresholds_m
    limit = reach.search_limit_m(thresholds)
    nearest = reach.nearest_facility(net, snapped["demand"], defib_snap, limit_m=limit)
    demand = demand.copy()
    demand.index.name = "demand_id"
    demand["walk_m"] = nearest.walk_m
    demand["retrieval_s"] = 2.0 * nearest.walk_m / config.walking_speed_m_s
    ids = defibs.index.to_numpy(dtype=object)
    demand["nearest_defib_id"] = np.where(
        nearest.nearest >= 0, ids[np.maximum(nearest.nearest, 0)] if ids.size else None, None
    )
    headline = config.headline_threshold_m
    demand["covered"] = np.nan_to_num(nearest.walk_m, nan=np.inf) <= headline
    population = demand["population"].to_numpy(dtype=np.float64)
    coverage = reach.coverage_shares(nearest.walk_m, population, thresholds)

    stations = _stations(layers, config, net.crs)
    station_set = analysis.always(
        np.array([], dtype=object), snap_points(net, np.array([]), np.array([]))
    )
    station_parts = [n for n in ("fire_stations", "police_stations") if n in layers]
    if station_parts:
        station_set = analysis.always(
            np.concatenate([layers[n].index.to_numpy(dtype=object) for n in station_parts]),
            analysis.concat_snapped([snapped[n] for n in station_parts]),
        )
    with_stations = current.plus(station_set)
    candidates = layers.get("candidates")
    if candidates is None:
        candidates = gpd.GeoDataFrame(
            {"name": pd.Series(dtype=object)}, geometry=gpd.GeoSeries([], crs=net.crs)
        )
        cand_snap = snap_points(net, np.array([]), np.array([]))
    else:
        order = np.argsort(candidates.index.to_numpy(dtype=str), kind="stable")
        candidates = candidates.iloc[order]
        cand_snap = snapped["candidates"].subset(order)
    baseline_walk = nearest.walk_m
    if config.baseline == "current+stations":
        baseline_walk = reach.nearest_facility(
            net, snapped["demand"], with_stations.snapped, limit_m=limit
        ).walk_m
    weights = population
    decile_col = config.imd_column or "imd_decile"
    if config.weight == "deprivation":
        if decile_col not in demand.columns:
            msg = "[ranking] weight = 'deprivation' needs an IMD decile column in the demand"
            raise ConfigError(msg)
        deciles = pd.to_numeric(demand[decile_col], errors="coerce").to_numpy(dtype=float)
        weights = equity.deprivation_weights(population, deciles)
    recommendations, ranking, cover = rank_sites(
        net,
        demand_snapped=snapped["demand"],
        population=population,
        walk_m=baseline_walk,
        candidates=candidates,
        candidates_snapped=cand_snap,
        new_sites=config.new_sites,
        threshold_m=config.rank_threshold_m,
        weights=weights,
    )
    ranking["baseline"] = config.baseline
    ranking["weight"] = config.weight
    already = np.nan_to_num(baseline_walk, nan=np.inf) <= config.rank_threshold_m
    cand_ids = candidates.index.to_numpy(dtype=object)
    recommended_pos = np.flatnonzero(np.isin(cand_ids, recommendations["site_id"].to_numpy()))
    recommended = analysis.always(cand_ids[recommended_pos], cand_snap.subset(recommended_pos))
    scenario_sets = {
        "current": current,
        "current+stations": with_stations,
        "current+stations+recommended": with_stations.plus(recommended),
    }
    all_candidates = analysis.always(cand_ids, cand_snap)
    for name, listed in config.scenarios.items():
        scenario_sets[name] = analysis.named_scenario(
            listed, [current, station_set, all_candidates], name
        )
    dem_snap = snapped["demand"]
    day = None
    if "day_demand" in layers:
        day = (snapped["day_demand"], layers["day_demand"]["population"].to_numpy(np.float64))
    scenarios_out = {
        name: analysis.scenario_summary(net, dem_snap, population, sset, config, day_demand=day)
        for name, sset in scenario_sets.items()
    }
    curve = analysis.curve_table(cover, weights, population, already, config.new_sites)
    set_cover = analysis.set_covering(cover, weights, already, cand_ids, config)
    after_walk = reach.nearest_facility(
        net, dem_snap, scenario_sets["current+stations+recommended"].snapped, limit_m=limit
    ).walk_m
    wards = _wards(config, net.crs)
    equity_out = analysis.equity_tables(
        demand,
        demand["covered"].to_numpy(dtype=bool),
        np.nan_to_num(after_walk, nan=np.inf) <= headline,
        config,
        wards,
    )
    straight = analysis.straight_line(demand, defibs, nearest.walk_m, config)
    demand["straight_m"] = straight.pop("straight_m")
    extras: dict[str, Any] = {
        "scenarios": scenarios_out,
        "set_covering": set_cover,
        "curve": curve.to_dict(orient="records"),
        "equity": equity_out,
        "straight_line": straight,
        "assumptions": {
            "walking_speed_m_s": config.walking_speed_m_s,
            "unknown_hours": config.unknown_hours,
            "school_hours": config.school_hours,
            "school_term_weeks": config.school_term_weeks,
            "day": "Monday to Friday 09:00-17:00, mean of hourly coverage",
            "night": "every day 00:00-06:00, mean of hourly coverage",
            "search_limit_m": limit,
            "max_snap_m": max_snap,
        },
    }
    if centroid_demand is not None:
        extras["finer_demand"] = _finer_comparison(
            config, net, centroid_demand, defib_snap, coverage, len(demand)
        )
    notes = _notes(config, layers, defibs)
    sources = _sources(config)
    inputs = {name: report.as_dict() for name, report in reports.items()}
    rejected = pd.DataFrame(
        [
            {"layer": name, "id": i, "row": r, "reason": why}
            for name, report in reports.items()
            for i, r, why in report.rejected
        ],
        columns=["layer", "id", "row", "reason"],
    )
    return StudyResult(
        config=config,
        network=net,
        demand=demand,
        defibs=defibs,
        stations=stations,
        candidates=candidates,
        coverage=coverage,
        recommendations=recommendations,
        ranking=ranking,
        inputs=inputs,
        rejected=rejected,
        sources=sources,
        notes=notes,
        extras=extras,
        curve=curve,
    )


def _study_crs(config: StudyConfig) -> str:
    """Choose the projected CRS for the study's points (British National Grid inside GB)."""
    lons: list[float] = []
    lats: list[float] = []
    for layer in config.layers.values():
        gdf, _ = sites.load_layer(_layer_spec(layer), crs="EPSG:4326")
        lons.extend(gdf["lon"].tolist())
        lats.extend(gdf["lat"].tolist())
    return _network.projected_crs_for(np.asarray(lons), np.asarray(lats))


def _finer_demand(
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


def _finer_comparison(
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


def _wards(config: StudyConfig, crs: str) -> gpd.GeoDataFrame | None:
    if config.wards_file is None:
        return None
    wards = gpd.read_file(config.wards_file).to_crs(crs)
    name = config.extra.get("wards", {}).get("name")
    if name is None or name not in wards.columns:
        text_cols = [c for c in wards.columns if c != "geometry" and wards[c].dtype == object]
        name = next((c for c in text_cols if c.lower().endswith("nm")), text_cols[0])
    return wards.rename(columns={name: "ward"})[["ward", "geometry"]]


def _notes(
    config: StudyConfig, layers: dict[str, gpd.GeoDataFrame], defibs: gpd.GeoDataFrame
) -> list[str]:
    notes = []
    if "defibs" in config.layers and _all_schools(layers.get("defibs")):
        notes.append(
            "Existing defibs are schools (DfE: every state-funded school received a defib in "
            "2022-23); most hang indoors and are usable in school hours only. The headline "
            "coverage counts every defib as available; day and night figures use school hours."
        )
    if config.unknown_hours == "available" and (defibs["availability"] == "unknown").any():
        notes.append(
            "Defibs with unknown hours are assumed usable at all times; the figures with them "
            "unusable are reported beside (unknown_hours_unavailable)."
        )
    return notes


def _all_schools(gdf: gpd.GeoDataFrame | None) -> bool:
    if gdf is None or gdf.empty or "kind" not in gdf.columns:
        return False
    return bool((gdf["kind"].astype(str) == "school").all())


def _stack(
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


def _stations(
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


def rank_sites(
    network: Network,
    *,
    demand_snapped: Snapped,
    population: np.ndarray,
    walk_m: np.ndarray,
    candidates: gpd.GeoDataFrame,
    candidates_snapped: Snapped,
    new_sites: int,
    threshold_m: float,
    weights: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], Any]:
    """Rank candidate buildings for ``new_sites`` new 24/7 outside defibs.

    Greedy marginal gain gives the ordered list (ties to the lowest ``site_id``: candidates
    must come sorted by id); the exact maximal covering optimum (HiGHS) is reported beside it.
    Both maximise ``weights`` (default: population) newly within ``threshold_m`` of a defib,
    ``walk_m`` being each demand point's walk to the baseline's nearest defib; the table
    always counts people.

    Returns
    -------
    tuple of (DataFrame, dict, sparse matrix)
        The ``recommendations.csv`` rows, the ``ranking`` summary and the candidates x demand
        cover matrix at ``threshold_m``.
    """
    w = population if weights is None else weights
    pairs = reach.pair_distances(network, candidates_snapped, demand_snapped, limit_m=threshold_m)
    cover = pairs.cover_matrix(threshold_m)
    covered_now = np.nan_to_num(walk_m, nan=np.inf) <= threshold_m
    total = float(population.sum())
    base = float(population[covered_now].sum())
    steps = optimise.greedy(cover, w, new_sites, already_covered=covered_now)
    exact = optimise.mclp(cover, w, new_sites, already_covered=covered_now)
    optimal_ids = set(candidates.index[exact.sites].astype(str))
    wgs = candidates.to_crs(4326) if len(candidates) else candidates
    rows = []
    chosen: list[int] = []
    previous = 0.0
    for rank, step in enumerate(steps, start=1):
        chosen.append(step.site)
        people = optimise.covered_weight(
            cover, population, np.array(chosen, dtype=np.int64), already_covered=covered_now
        )
        site = candidates.index[step.site]
        rows.append(
            {
                "rank": rank,
                "site_id": str(site),
                "name": str(candidates["name"].iloc[step.site]),
                "lon": float(wgs.geometry.x.iloc[step.site]),
                "lat": float(wgs.geometry.y.iloc[step.site]),
                "added_population": people - previous,
                "cumulative_population_covered": base + people,
                "cumulative_coverage_share": (base + people) / total if total > 0 else 0.0,
                "method": "greedy",
                "in_optimal_set": str(site) in optimal_ids,
            }
        )
        previous = people
    columns = [
        "rank",
        "site_id",
        "name",
        "lon",
        "lat",
        "added_population",
        "cumulative_population_covered",
        "cumulative_coverage_share",
        "method",
        "in_optimal_set",
    ]
    table = pd.DataFrame(rows, columns=columns)
    greedy_added = previous
    optimal_added = optimise.covered_weight(
        cover, population, exact.sites, already_covered=covered_now
    )
    greedy_objective = steps[-1].cumulative if steps else 0.0
    ranking = {
        "method": (
            "greedy marginal gain; exact maximal covering (MILP, HiGHS via scipy.optimize.milp)"
        ),
        "new_sites": int(new_sites),
        "threshold_m": round(threshold_m),
        "candidates": len(candidates),
        "greedy_population_added": greedy_added,
        "optimal_population_added": optimal_added,
        "greedy_objective": greedy_objective,
        "optimal_objective": exact.objective,
        "gap_objective": exact.objective - greedy_objective,
        "gap_share": (exact.objective - greedy_objective) / exact.objective
        if exact.objective > 0
        else 0.0,
        "optimal_site_ids": sorted(optimal_ids),
        "solver_status": exact.status,
        "population_covered_before": base,
    }
    return table, ranking, cover


def _sources(config: StudyConfig) -> list[dict[str, str]]:
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
                "sha256": _sha256(path),
            }
        )
    else:
        out.append(
            {
                "layer": "network",
                "name": net.source or f"OpenStreetMap via osmnx ({net.place})",
                "licence": net.licence or "ODbL 1.0, © OpenStreetMap contributors",
                "date": net.date or "",
                "file": "",
                "sha256": "",
            }
        )
    for name, layer in config.layers.items():
        out.append(
            {
                "layer": name,
                "name": layer.source or (synthetic if config.synthetic else layer.file.name),
                "licence": layer.licence or "",
                "date": layer.date or "",
                "file": layer.file.name,
                "sha256": _sha256(layer.file),
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
                    "sha256": _sha256(path),
                }
            )
    return out


def ensure_config(config: StudyConfig | str | Path | None) -> StudyConfig:
    """Return a :class:`StudyConfig` for any of the accepted study arguments."""
    if isinstance(config, StudyConfig):
        return config
    try:
        return load_study(config)
    except FileNotFoundError as exc:  # pragma: no cover - load_study raises ConfigError
        raise ConfigError(str(exc)) from exc
