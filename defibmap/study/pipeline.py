"""A study: a config file in, a result object out.

``run_study`` reads the layers, builds (or loads from cache) the walking network, snaps every
point, measures walking distances to the nearest defib, computes coverage at each threshold
and ranks the candidate buildings. It writes nothing: :mod:`defibmap.outputs.write` does that.

The result object, :class:`StudyResult`, lives in :mod:`defibmap.study.result`; building and
caching the network, :func:`build_network` and :func:`cache_dir`, in
:mod:`defibmap.study.network_cache`. Both are re-exported here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from defibmap import _progress
from defibmap._errors import ConfigError, InputError
from defibmap._resources import study_path
from defibmap.analysis import equity, reach
from defibmap.analysis.ranking import rank_sites
from defibmap.config.study_file import StudyConfig, read_study
from defibmap.network import faults as _netcheck
from defibmap.network.snapping import Snapped, snap_points
from defibmap.study import _inputs
from defibmap.study import board as analysis
from defibmap.study import timing as _timing
from defibmap.study.network_cache import build_network, cache_dir, network_cache_path
from defibmap.study.result import StudyResult, tool_version

if TYPE_CHECKING:
    from defibmap.network.walk import Network

__all__ = [
    "DEFIB_LAYERS",
    "StudyResult",
    "build_network",
    "cache_dir",
    "load_study",
    "run_study",
    "tool_version",
]

DEFIB_LAYERS = ("defibs", "fire_stations", "police_stations")


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
        A network to use instead of building one (e.g. from
        :func:`defibmap.network.walk.from_graph`).
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
        path = network_cache_path(config, polygon)
        need_network = refresh or path is None or not path.is_file()
    else:
        need_network = False
    # before any work: every download is cached or its server answers, else stop and say
    # what to download and where to put it
    need_drive = False
    if config.network.place is not None and _timing.needs_drive(config):
        # only a place study downloads it; a file study's key would hash the whole extract
        drive_path = _timing.drive_cache_path(config, folder)
        need_drive = refresh or drive_path is None or not drive_path.is_file()
    _inputs.preflight(config, polygon, network=need_network, cache=folder, drive=need_drive)
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
            {
                "layer": name,
                "id": i,
                "file": report.origins.get(i, report.file),
                "row": r or None,  # OpenStreetMap features have no row
                "reason": why,
            }
            for name, report in reports.items()
            for i, r, why in report.rejected
        ],
        columns=["layer", "id", "file", "row", "reason"],
    ).astype({"row": "Int64"})
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
