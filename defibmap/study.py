"""A study: a config file in, a result object out.

``run_study`` reads the layers, builds (or loads from cache) the walking network, snaps every
point, measures walking distances to the nearest defib, computes coverage at each threshold
and ranks the candidate buildings. It writes nothing: :mod:`defibmap.report` does that.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from defibmap import _inputs, _netcheck, _progress, _timing, analysis, equity, osm_features, reach
from defibmap import _overpass_cache as _cache
from defibmap import network as _network
from defibmap._errors import ConfigError, InputError, NetworkError
from defibmap._resources import study_path
from defibmap.config import StudyConfig, read_study
from defibmap.ranking import rank_sites
from defibmap.snapping import Snapped, snap_points

if TYPE_CHECKING:
    from collections.abc import Callable

    import shapely

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
    network_faults
        Counts of the network's faults (:class:`defibmap._netcheck.NetworkFaults`) and one
        sentence per kind found, for ``summary.json``'s ``network``.
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
    network_faults: dict[str, Any] = field(default_factory=dict)

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
                **({"faults": self.network_faults} if self.network_faults else {}),
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


def cache_dir(config: StudyConfig) -> Path:
    """Return the study's cache folder (networks, OpenStreetMap downloads, clipped extracts).

    The study's ``cache_dir``, else ``$DEFIBMAP_CACHE_DIR``, else the per-user cache folder
    (``$XDG_CACHE_HOME/defibmap``, default ``~/.cache/defibmap``); never the current directory.
    """
    if config.network.cache_dir is not None:
        return config.network.cache_dir
    return _cache.default_cache_dir()


def _place_network_query(config: StudyConfig, polygon: shapely.Geometry | None) -> dict[str, Any]:
    """Return what defines a place study's network download (its hash names the cache)."""
    place, area = _inputs.online_area(config, polygon)
    return osm_features.walk_query(
        place=place, polygon=area, buffer_m=config.network.boundary_buffer_m
    )


def _network_cache_path(config: StudyConfig, polygon: shapely.Geometry | None) -> Path | None:
    """Return the ``walk-<key>.npz`` a place study's network is cached in, else None."""
    if config.network.place is None:
        return None
    query = _place_network_query(config, polygon)
    key = _network.cache_key(_cache.query_key(query), config.network.crs or "auto", "walk")
    return cache_dir(config) / f"walk-{key}.npz"


def _cached(
    path: Path, build: Callable[[], Network], meta: dict[str, Any], *, refresh: bool
) -> Network:
    """Load a network from ``path``, or build and save it; a damaged file is rebuilt."""
    if path.exists() and not refresh:
        try:
            return _network.load(path)
        except NetworkError as exc:
            logger.warning("rebuilding the network: %s", exc)
    built = build()
    try:
        _network.save(built, path, meta=meta)
    except OSError as exc:  # a read-only cache must not stop the study
        logger.warning("could not cache the network at %s: %s", path, exc)
    return built


def build_network(config: StudyConfig, *, refresh: bool = False) -> Network:
    """Build the study's walking network, or load it from the on-disk cache.

    * ``osm_file``: built from the local extract; with a ``[boundary]``, from the extract
      clipped to the boundary grown by ``boundary_buffer_m`` (the clip is cached too). The
      cache key is a hash of the file's bytes and the CRS, so an edited file is rebuilt.
    * ``place``: downloaded with osmnx (:func:`defibmap.network.from_place`: cached
      responses, retries, clear errors), for the ``[boundary]`` outline when the study has
      one, else the place's outline, grown by ``boundary_buffer_m``. The cache key derives
      from the hash of the download query (:func:`defibmap.osm_features.walk_query`).
    * ``graph_file``: read as saved.

    A damaged cache file is detected, logged and rebuilt; ``refresh`` rebuilds (and
    re-downloads) regardless.
    """
    net = config.network
    if net.graph_file is not None:
        if net.graph_file.suffix.lower() == ".graphml":
            return _network.from_graphml(net.graph_file, crs=net.crs)
        return _network.load(net.graph_file)
    folder = cache_dir(config)
    polygon = _inputs.boundary(config)
    if net.osm_file is not None:
        extract = _inputs.study_extract(config, folder, polygon)
        assert extract is not None
        digest = _inputs.sha256(extract)
        key = _network.cache_key(digest, net.crs or "auto", "walk")
        return _cached(
            folder / f"walk-{key}.npz",
            lambda: _network.from_osm_file(extract, crs=net.crs),
            {
                "query": str(net.osm_file),
                "extract": str(extract),
                "sha256": digest,
                "network_type": "walk",
            },
            refresh=refresh,
        )
    assert net.place is not None
    path = _network_cache_path(config, polygon)
    assert path is not None
    place, area = _inputs.online_area(config, polygon)
    where = place if place is not None else area
    assert where is not None
    return _cached(
        path,
        lambda: _network.from_place(
            where,
            crs=net.crs,
            buffer_m=net.boundary_buffer_m,
            refresh=refresh,
            cache_dir=folder,
        ),
        {"query": _place_network_query(config, polygon), "network_type": "walk"},
        refresh=refresh,
    )


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
        Rebuild the network and download the OpenStreetMap layers again instead of using
        the cache.

    Returns
    -------
    StudyResult

    Raises
    ------
    NetworkError
        Before any work, when the study needs downloads (``[network] place``, ``osm``
        layers without a local extract) that are not cached and the servers cannot be
        reached: the message lists what is missing, what to download and where to put it.
    """
    if not isinstance(config, StudyConfig):
        config = load_study(config)
    folder = cache_dir(config)
    polygon = _inputs.boundary(config)
    if network is None and config.network.place is not None:
        path = _network_cache_path(config, polygon)
        need_network = refresh or path is None or not path.is_file()
    else:
        need_network = False
    # before any work: every download is cached or its server answers, else stop and say
    # what to download and where to put it
    _inputs.preflight(config, polygon, network=need_network, cache=folder)
    source = _inputs.osm_source(config, folder, polygon)
    _progress.step("Loading the input layers")
    parts = _inputs.layer_parts(config, source, folder, refresh=refresh)
    crs = config.network.crs or _inputs.study_crs([s for p in parts.values() for s in p.specs])
    layers, reports = _inputs.load_layers(parts, crs)
    _progress.step("Building or loading the walking network")
    net = network if network is not None else build_network(config, refresh=refresh)
    faults = _netcheck.log_faults(net)
    main_nodes = _netcheck.main_component(net)
    if net.crs != crs:
        layers = {name: gdf.to_crs(net.crs) for name, gdf in layers.items()}
    centroid_demand = None
    if config.finer_demand:
        centroid_demand = layers["demand"]
        layers["demand"], reports["finer_demand"] = _inputs.finer_demand(
            config, layers["demand"], net
        )
    max_snap = config.network.max_snap_m
    loaded = dict(layers)  # as read, before the walking snap (fire crews drive)
    ambulance_bases = layers.pop("ambulance_bases", None)
    snapped: dict[str, Snapped] = {}
    _progress.step(f"Snapping points to the network ({net.n_nodes:,} nodes)")
    for name in list(layers):
        layers[name], snapped[name] = _inputs.snap_layer(
            net, layers[name], reports[name], max_snap, main=main_nodes
        )
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
    defibs, defib_snap = _inputs.stack_layers(defib_parts, net.crs)
    term, holiday, strict, labels = analysis.defib_availability(defibs, config)
    defibs["availability"] = labels
    current = analysis.SiteSet(
        defibs.index.to_numpy(dtype=object), defib_snap, term, holiday, strict
    )
    thresholds = config.thresholds_m
    limit = reach.search_limit_m(thresholds)
    _progress.step("Walking distances and coverage")
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

    stations = _inputs.stations_frame(layers, config, net.crs)
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
    _progress.step(f"Ranking {len(candidates):,} candidate buildings (greedy and exact)")
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
    _progress.step("Scenarios by hour of the week, set covering, equity")
    scenarios_out = {
        name: analysis.scenario_summary(net, dem_snap, population, sset, config, day_demand=day)
        for name, sset in scenario_sets.items()
    }
    curve = analysis.curve_table(cover, weights, population, already, config.new_sites)
    set_cover = analysis.set_covering(cover, weights, already, cand_ids, config)
    after_walk = reach.nearest_facility(
        net, dem_snap, scenario_sets["current+stations+recommended"].snapped, limit_m=limit
    ).walk_m
    wards = _inputs.read_wards(config, net.crs)
    equity_out = analysis.equity_tables(
        demand,
        demand["covered"].to_numpy(dtype=bool),
        np.nan_to_num(after_walk, nan=np.inf) <= headline,
        config,
        wards,
    )
    locked = np.zeros(len(demand), dtype=bool)
    if "locked" in defibs.columns and len(defibs):
        lock_of = defibs["locked"].astype(str).str.strip().str.lower().isin({"yes", "true", "1"})
        ids_near = demand["nearest_defib_id"]
        locked = ids_near.map(lock_of).fillna(value=False).to_numpy(dtype=bool)
    # the drive network is read from the same (clipped) extract as the walking one
    extract = source.osm_file if source is not None else None
    drive_config = (
        replace(config, network=replace(config.network, osm_file=extract))
        if extract is not None
        else config
    )
    timing, timing_cols = _timing.time_analysis(
        drive_config,
        crs=net.crs,
        demand=demand,
        walks={"current": nearest.walk_m, "current+stations+recommended": after_walk},
        locked=locked,
        fire=loaded.get("fire_stations"),
        ambulance_bases=ambulance_bases,
        cache=folder,
        refresh=refresh,
    )
    for column in timing_cols.columns:
        demand[column] = timing_cols[column].to_numpy()
    straight = analysis.straight_line(demand, defibs, nearest.walk_m, config)
    demand["straight_m"] = straight.pop("straight_m")
    extras: dict[str, Any] = {
        "scenarios": scenarios_out,
        "set_covering": set_cover,
        "curve": curve.to_dict(orient="records"),
        "equity": equity_out,
        "straight_line": straight,
        "time_to_defib": timing,
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
        extras["finer_demand"] = _inputs.finer_comparison(
            config, net, centroid_demand, defib_snap, coverage, len(demand)
        )
    notes = [*_inputs.notes(config, layers, defibs), *timing["notes"]]
    sources = _inputs.sources(config, parts)
    inputs = {name: report.as_dict() for name, report in reports.items()}
    for name, part in parts.items():
        inputs[name].update(part.info)
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
        network_faults={**faults.as_dict(), "messages": faults.messages()},
    )
