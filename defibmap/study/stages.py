"""The stages of a study, each a function from one frozen record to the next.

load -> network -> snap -> reach -> availability -> rank -> board -> response -> result:
:func:`load` reads the layers (after checking every download can be had),
:func:`network` builds or loads the walking network, :func:`snap` puts every point on it,
:func:`reach` measures each resident's walk to the nearest defib, :func:`availability`
reads the defibs' opening hours, :func:`rank` ranks the candidate buildings, :func:`board`
computes the scenarios, set covering and equity, :func:`response` the time to the first
defib, and :func:`result` gathers everything into a :class:`StudyResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from defibmap import _progress
from defibmap import layers as layer_kinds
from defibmap._crs import check_scale
from defibmap._errors import ConfigError, InputError
from defibmap.analysis import availability as av
from defibmap.analysis import equity
from defibmap.analysis import reach as _reach
from defibmap.analysis import response_draws as _draws
from defibmap.analysis import survival as _survival
from defibmap.analysis.ranking import (
    HUB_CABINET,
    HUB_PREFIX,
    NEW_CABINET,
    STATION_CABINET,
    STATION_PREFIX,
    UPGRADE,
    UPGRADE_PREFIX,
    Ranking,
    RankingDemand,
    RankingRules,
    SurvivalInputs,
    rank_sites,
    year_share,
)
from defibmap.analysis.time_slices import Week
from defibmap.io.hours import HOURS_PER_WEEK
from defibmap.io.sites import check_demand_total
from defibmap.network import faults as _netcheck
from defibmap.network.snapping import Snapped, snap_points
from defibmap.study import _hours, _inputs, names
from defibmap.study import board as analysis
from defibmap.study import demand_weight as _demand_weight
from defibmap.study import timing as _timing
from defibmap.study.network_cache import build_network, cache_dir, network_cache_path
from defibmap.study.parts import Assumptions, BeatsAmbulance, InputReport, Readiness
from defibmap.study.reach_areas import map_wards, study_reach_areas
from defibmap.study.result import StudyResult

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from numpy.typing import NDArray

    from defibmap.analysis.risk import DemandWeight
    from defibmap.analysis.scenarios import YearCoverage
    from defibmap.config.study_file import StudyConfig
    from defibmap.io.sites import LayerReport
    from defibmap.network.faults import NetworkFaults
    from defibmap.network.walk import Network
    from defibmap.study._layer_sources import LayerParts
    from defibmap.study._osm_source import OsmSource
    from defibmap.study.parts import (
        Equity,
        FinerDemand,
        Scenario,
        SetCovering,
        TimeToDefib,
    )

#: The layers whose sites count as existing defibs (stations only with ``outside_defib``).
#: The layers whose sites can be existing defibs (the layer registry's defib sources).
DEFIB_LAYERS = layer_kinds.defib_source_names()

#: The scenario whose walk the equity and the time analysis compare with today's.
WITH_RECOMMENDED = "current+stations+recommended"


@dataclass(frozen=True, eq=False)
class Loaded:
    """The input layers as read, in the study CRS, with their reports and sources."""

    config: StudyConfig
    cache: Path | None
    source: OsmSource | None
    parts: Mapping[str, LayerParts]
    layers: Mapping[str, gpd.GeoDataFrame]
    reports: Mapping[str, LayerReport]
    crs: str
    warnings: pd.DataFrame


@dataclass(frozen=True, eq=False)
class Networked:
    """The walking network, its faults, and the layers in its CRS."""

    loaded: Loaded
    network: Network
    faults: NetworkFaults
    main_nodes: NDArray[np.bool_]
    layers: Mapping[str, gpd.GeoDataFrame]
    reports: Mapping[str, LayerReport]
    centroid_demand: gpd.GeoDataFrame | None


@dataclass(frozen=True, eq=False)
class OnNetwork:
    """Every walking layer snapped to the network (rows too far from a path dropped).

    ``as_read`` keeps the layers before the walking snap: fire crews drive.
    """

    networked: Networked
    layers: Mapping[str, gpd.GeoDataFrame]
    snapped: Mapping[str, Snapped]
    as_read: Mapping[str, gpd.GeoDataFrame]
    ambulance_bases: gpd.GeoDataFrame | None


@dataclass(frozen=True, eq=False)
class Reached:
    """Each resident's walk to the nearest existing defib and the coverage it gives.

    Attributes
    ----------
    demand
        The residents on the network with ``walk_m``, ``retrieval_s``, ``nearest_defib_id``
        and ``covered`` (at the headline walk).
    defibs, defib_snap
        Every site counted as an existing defib, and where it joins the network.
    walk_m
        Walk to the nearest defib, metres (NaN beyond ``limit_m``).
    population
        People at each demand point.
    coverage
        Share (0-1) of people within each threshold (text, ``"500"``).
    limit_m
        The search limit, metres: farther defibs are out of reach.
    """

    snapped: OnNetwork
    demand: gpd.GeoDataFrame
    defibs: gpd.GeoDataFrame
    defib_snap: Snapped
    walk_m: NDArray[np.float64]
    population: NDArray[np.float64]
    coverage: Mapping[str, float]
    limit_m: float


@dataclass(frozen=True, eq=False)
class Available:
    """The defibs with their opening hours, the stations as 24/7 sites, available coverage.

    ``demand`` is the reached demand with ``covered_available_share`` (share of a typical
    year's hours within the headline walk of a usable defib) and ``covered_night`` (within it
    of a defib usable all night); ``year`` holds the same at every threshold.
    """

    reached: Reached
    defibs: gpd.GeoDataFrame
    current: analysis.SiteSet
    stations: analysis.SiteSet
    with_stations: analysis.SiteSet
    demand: gpd.GeoDataFrame
    year: YearCoverage
    readiness: Readiness


@dataclass(frozen=True, eq=False)
class Ranked:
    """The candidate buildings ranked, and the scenarios' site sets.

    Attributes
    ----------
    candidates
        Every option weighed, sorted by ``site_id``: the candidate buildings and the upgrades
        (``upgrade:<defib id>``), with an ``option`` column (new cabinet or upgrade).
    ranking
        The greedy order and the exact optimum (with the study's baseline and weight).
    weights
        What the ranking maximises per demand point (people, or deprivation-weighted).
    already
        Demand points within the ranking walk of a baseline defib.
    scenario_sets
        The sites of each scenario (current, with stations, with the recommended sites, and
        the study's own).
    options
        The options with where they join the network and when they are usable (the
        sensitivity draws re-rank these).
    demand_weight
        The ``[demand] weight`` per demand point (residents, expected arrests or incidents),
        read once: the ranking's weights and the result's columns and summary both use it.
    """

    available: Available
    candidates: gpd.GeoDataFrame
    ranking: Ranking
    weights: NDArray[np.float64]
    already: NDArray[np.bool_]
    scenario_sets: Mapping[str, analysis.SiteSet]
    demand_weight: DemandWeight
    options: Options


@dataclass(frozen=True, eq=False)
class Boarded:
    """What a board reads beside the headline: scenarios, set covering, curve, equity.

    ``after_walk_m`` is each resident's walk, metres, with the stations and the recommended
    sites added.
    """

    ranked: Ranked
    scenarios: Mapping[str, Scenario]
    set_covering: SetCovering
    curve: pd.DataFrame
    after_walk_m: NDArray[np.float64]
    equity: Equity


@dataclass(frozen=True, eq=False)
class Responded:
    """Time to the first defib, and the demand with its per-resident time columns."""

    boarded: Boarded
    demand: gpd.GeoDataFrame
    time_to_defib: TimeToDefib


def load(config: StudyConfig, *, given: Network | None, refresh: bool) -> Loaded:
    """Check every download can be had, then read the input layers in the study CRS."""
    folder = cache_dir(config)
    polygon = _inputs.boundary(config)
    need_network = False
    if given is None and config.network.place is not None:
        path = network_cache_path(config, polygon)
        need_network = refresh or path is None or not path.is_file()
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
    names.check_layers(config, layers)  # IMD deciles 1-10, site ids unique and not reserved
    # free-text hours ("Mon-Fri 9am-5pm") read once; a cell not understood becomes unknown
    layers, warnings = _hours.read_hours(layers, reports, school_hours=config.school_hours)
    demand = config.layers[layer_kinds.DEMAND]
    check_demand_total(demand.file or demand.name, reports[layer_kinds.DEMAND], layers[demand.name])
    if config.network.crs is not None:
        # a CRS the user chose must keep metres true where the study's points are
        lon = np.concatenate([gdf["lon"].to_numpy(dtype=float) for gdf in layers.values()])
        lat = np.concatenate([gdf["lat"].to_numpy(dtype=float) for gdf in layers.values()])
        where = f"{config.path}: [network] crs" if config.path else "[network] crs"
        check_scale(config.network.crs, lon, lat, where=where)
    return Loaded(config, folder, source, parts, layers, reports, crs, warnings)


def network(loaded: Loaded, *, given: Network | None, refresh: bool) -> Networked:
    """Build or load the walking network; bring the layers to its CRS; spread finer demand."""
    config = loaded.config
    _progress.step("Building or loading the walking network")
    net = given if given is not None else build_network(config, refresh=refresh)
    faults = _netcheck.log_faults(net)
    main_nodes = _netcheck.main_component(net)
    layers = dict(loaded.layers)
    if net.crs != loaded.crs:
        layers = {name: gdf.to_crs(net.crs) for name, gdf in layers.items()}
    reports = dict(loaded.reports)
    centroid_demand = None
    if config.finer_demand:
        centroid_demand = layers["demand"]
        layers["demand"], reports["finer_demand"] = _inputs.finer_demand(
            config, layers["demand"], net
        )
    return Networked(loaded, net, faults, main_nodes, layers, reports, centroid_demand)


def snap(networked: Networked) -> OnNetwork:
    """Snap every walking layer to the network; stop when no resident lies on it."""
    net = networked.network
    config = networked.loaded.config
    layers = dict(networked.layers)
    as_read = dict(layers)  # as read, before the walking snap (fire crews drive)
    ambulance_bases = layers.pop(layer_kinds.AMBULANCE_BASES, None)
    layers.pop(layer_kinds.INCIDENTS, None)  # placed on the demand points, not walked to
    snapped: dict[str, Snapped] = {}
    _progress.step(f"Snapping points to the network ({net.n_nodes:,} nodes)")
    for name in list(layers):
        layers[name], snapped[name] = _inputs.snap_layer(
            net,
            layers[name],
            networked.reports[name],
            config.network.max_snap_m,
            main=networked.main_nodes,
            finer=networked.reports.get("finer_demand") if name == layer_kinds.DEMAND else None,
        )
    if layers["demand"].empty:
        msg = f"{config.layers['demand'].file}: no demand point lies within the study network"
        raise InputError(msg)
    return OnNetwork(networked, layers, snapped, as_read, ambulance_bases)


def _defib_parts(
    config: StudyConfig, layers: Mapping[str, gpd.GeoDataFrame], snapped: Mapping[str, Snapped]
) -> list[tuple[gpd.GeoDataFrame, Snapped]]:
    """Return the defib layers plus the stations that carry an outside defib (24/7)."""
    return _inputs.defib_parts(dict(layers), dict(snapped), config)


def reach(snapped: OnNetwork) -> Reached:
    """Walk from every resident to the nearest existing defib; coverage at each threshold."""
    config = snapped.networked.loaded.config
    net = snapped.networked.network
    defibs, defib_snap = _inputs.stack_layers(
        _defib_parts(config, snapped.layers, snapped.snapped), net.crs
    )
    thresholds = config.thresholds_m
    limit = _reach.search_limit_m(thresholds)
    _progress.step("Walking distances and coverage")
    nearest = _reach.nearest_facility(net, snapped.snapped["demand"], defib_snap, limit_m=limit)
    demand = snapped.layers["demand"].copy()
    demand.index.name = "demand_id"
    demand["walk_m"] = nearest.walk_m
    demand["retrieval_s"] = 2.0 * nearest.walk_m / config.walking_speed_m_s
    ids = defibs.index.to_numpy(dtype=object)
    demand["nearest_defib_id"] = np.where(
        nearest.nearest >= 0, ids[np.maximum(nearest.nearest, 0)] if ids.size else None, None
    )
    headline = config.headline_threshold_m
    demand["covered"] = _reach.covered(nearest.walk_m, headline)
    population = demand["population"].to_numpy(dtype=np.float64)
    coverage = _reach.coverage_shares(nearest.walk_m, population, thresholds)
    return Reached(snapped, demand, defibs, defib_snap, nearest.walk_m, population, coverage, limit)


def availability(reached: Reached) -> Available:
    """Read each defib's opening hours; the stations count as 24/7 sites."""
    snapped = reached.snapped
    config = snapped.networked.loaded.config
    net = snapped.networked.network
    term, holiday, strict, labels = analysis.defib_availability(reached.defibs, config)
    defibs = reached.defibs.assign(availability=labels)
    current = analysis.SiteSet(
        defibs.index.to_numpy(dtype=object), reached.defib_snap, term, holiday, strict
    )
    station_set = analysis.always(
        np.array([], dtype=object), snap_points(net, np.array([]), np.array([]))
    )
    station_parts = _inputs.station_names(snapped.layers)
    if station_parts:
        station_set = analysis.always(
            np.concatenate([snapped.layers[n].index.to_numpy(dtype=object) for n in station_parts]),
            Snapped.concat([snapped.snapped[n] for n in station_parts]),
        )
    year = analysis.site_year_coverage(
        net, snapped.snapped["demand"], reached.population, current, config
    )
    key = str(round(config.headline_threshold_m))
    demand = reached.demand.assign(
        covered_available_share=year.point_share[key], covered_night=year.point_night[key]
    )
    readiness = _readiness(reached, year)
    return Available(
        reached, defibs, current, station_set, current.plus(station_set), demand, year, readiness
    )


def _readiness(reached: Reached, year: YearCoverage) -> Readiness:
    """Return what readiness removed and the coverage the not-ready defibs would give if ready."""
    snapped = reached.snapped
    config = snapped.networked.loaded.config
    info = _inputs.readiness_summary(reached.defibs, config)
    lost_available = dict.fromkeys(year.available, 0.0)
    lost_night = dict.fromkeys(year.night, 0.0)
    if analysis.not_ready(reached.defibs).any():
        term, holiday, strict, _ = analysis.defib_availability(
            reached.defibs, config, ignore_readiness=True
        )
        ready = analysis.SiteSet(
            reached.defibs.index.to_numpy(dtype=object), reached.defib_snap, term, holiday, strict
        )
        if_ready = analysis.site_year_coverage(
            snapped.networked.network, snapped.snapped["demand"], reached.population, ready, config
        )
        lost_available = {k: if_ready.available[k] - v for k, v in year.available.items()}
        lost_night = {k: if_ready.night[k] - v for k, v in year.night.items()}
    reasons = info["reasons"]
    ids = info["not_ready_ids"]
    return Readiness(
        as_of=str(info["as_of"]),
        max_days_unchecked=config.max_days_unchecked,
        judged=int(str(info["judged"])),
        not_ready_ids=tuple(str(i) for i in ids) if isinstance(ids, list) else (),
        reasons={str(k): int(str(v)) for k, v in reasons.items()}
        if isinstance(reasons, dict)
        else {},
        coverage_lost_available=lost_available,
        coverage_lost_night=lost_night,
    )


def _outside(value: object, where: str) -> bool:
    """Read one ``outside_defib`` cell of a candidate: blank means an outside cabinet."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return True
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in layer_kinds.YES_WORDS:
        return True
    if text in {"no", "false", "0"}:
        return False
    if not text:
        return True
    msg = f"{where}: expected yes or no (blank: an outside cabinet), got {value!r}"
    raise InputError(msg)


def _candidate_hours(
    candidates: gpd.GeoDataFrame, config: StudyConfig
) -> tuple[Week, NDArray[np.bool_]]:
    """Each candidate's usability: 24/7 outside unless ``outside_defib`` says no.

    An indoor candidate is usable in its ``opening_hours`` (a school's in school hours in term
    only, as for defibs). Returns the term and holiday weeks, and the term week with unknown
    hours read as unusable.
    """
    n = len(candidates)
    week = Week.always(n)
    strict = np.ones((n, HOURS_PER_WEEK), dtype=bool)
    if "outside_defib" not in candidates.columns:
        return week, strict
    rows = candidates["source_row"].to_numpy() if "source_row" in candidates.columns else None
    hours = candidates.get("opening_hours", pd.Series([None] * n, index=candidates.index))
    kinds = candidates.get("kind", pd.Series([None] * n, index=candidates.index))
    for i, value in enumerate(candidates["outside_defib"].astype(object)):
        row = (
            f"candidates row {rows[i]}" if rows is not None else f"candidate {candidates.index[i]}"
        )
        if _outside(value, f"{row}, column 'outside_defib'"):
            continue
        text = hours.iloc[i] if isinstance(hours.iloc[i], str) else None
        kind = kinds.iloc[i] if isinstance(kinds.iloc[i], str) else None
        common = {
            "kind": kind,
            "school_hours": config.school_hours,
            "school_term_weeks": config.school_term_weeks,
            "where": f"{row}, column 'opening_hours'",
        }
        found = av.site_availability(text, unknown_hours=config.unknown_hours, **common)  # type: ignore[arg-type]
        off = av.site_availability(text, unknown_hours="unavailable", **common)  # type: ignore[arg-type]
        week.term[i] = found.term
        is_school = (kind or "").strip().lower() == "school"
        week.holiday[i] = found.term if not is_school or found.label == "24/7" else False
        strict[i] = off.term
    return week, strict


@dataclass(frozen=True, eq=False)
class Options:
    """Every option the ranking weighs, sorted by ``site_id``, with where and when usable."""

    frame: gpd.GeoDataFrame
    snapped: Snapped
    hours: Week
    strict: NDArray[np.bool_]

    def sites(self, positions: NDArray[np.int64]) -> analysis.SiteSet:
        """Return the options at ``positions`` as scenario sites, with their own hours."""
        return analysis.SiteSet(
            self.frame.index.to_numpy(dtype=object)[positions],
            self.snapped.subset(positions),
            self.hours.term[positions],
            self.hours.holiday[positions],
            self.strict[positions],
        )


def _upgrades(
    available: Available, config: StudyConfig
) -> tuple[gpd.GeoDataFrame, NDArray[np.bool_]]:
    """Return the defibs of the ``upgrades`` layers not usable 24/7, as upgrade options."""
    defibs = available.defibs
    current = available.current
    layer = defibs["layer"].astype(str).to_numpy() if "layer" in defibs.columns else None
    if layer is None or not config.upgrades:
        return defibs.iloc[:0], np.zeros(len(defibs), dtype=bool)
    always = current.term.all(axis=1) & current.holiday.all(axis=1)
    pick = np.isin(layer, list(config.upgrades)) & ~always
    columns = [c for c in ("name", "kind", "lon", "lat") if c in defibs.columns]
    found = gpd.GeoDataFrame(defibs.loc[pick, columns], geometry=defibs.geometry[pick])
    found.index = [f"{UPGRADE_PREFIX}{i}" for i in defibs.index[pick]]
    found["option"] = UPGRADE
    if config.upgrade_cost is not None:
        found["cost"] = float(config.upgrade_cost)
    return found, pick


def _station_cabinets(snapped: OnNetwork, config: StudyConfig) -> tuple[gpd.GeoDataFrame, Snapped]:
    """Return the stations of the ``[ranking] stations`` layers without an outside defib.

    Each is an option: an outside 24/7 cabinet on the station's wall (``station:<id>``); a
    station whose row (or layer) already has an outside defib counts as a defib today.
    """
    return _site_cabinets(
        snapped, config, config.stations, (STATION_PREFIX, STATION_CABINET), config.station_cost
    )


def _hub_cabinets(snapped: OnNetwork, config: StudyConfig) -> tuple[gpd.GeoDataFrame, Snapped]:
    """Return the hubs of the ``[ranking] hubs`` layers without a public defib, as options.

    Each is a 24/7 cabinet at the staffed hub (``hub:<id>``); a hub whose defib already
    counts (its row's ``outside_defib``, else the layer's) is an existing defib instead.
    """
    return _site_cabinets(snapped, config, config.hubs, (HUB_PREFIX, HUB_CABINET), config.hub_cost)


def _site_cabinets(
    snapped: OnNetwork,
    config: StudyConfig,
    names: tuple[str, ...],
    option: tuple[str, str],
    cost: float | None,
) -> tuple[gpd.GeoDataFrame, Snapped]:
    """Return the sites of layers ``names`` without an outside defib as 24/7 cabinet options.

    ``option`` is the id prefix and the option's label; ``cost`` each one's cost, if any.
    """
    prefix, label = option
    frames, snaps = [], []
    for name in names:
        sites = snapped.layers.get(name)
        if sites is None or sites.empty:
            continue
        bare = ~_inputs.outside_defibs(sites, default=config.layers[name].outside_defib)
        columns = [c for c in ("name", "kind", "lon", "lat") if c in sites.columns]
        found = gpd.GeoDataFrame(sites.loc[bare, columns], geometry=sites.geometry[bare])
        found.index = [f"{prefix}{i}" for i in sites.index[bare]]
        found["option"] = label
        if cost is not None:
            found["cost"] = float(cost)
        frames.append(found)
        snaps.append(snapped.snapped[name].subset(bare))
    net = snapped.networked.network
    if not frames:
        empty = gpd.GeoDataFrame({"name": pd.Series(dtype=object)}, geometry=[], crs=net.crs)
        return empty, snap_points(net, np.array([]), np.array([]))
    return gpd.GeoDataFrame(pd.concat(frames), crs=frames[0].crs), Snapped.concat(snaps)


def _candidates(snapped: OnNetwork, available: Available) -> Options:
    """Return every option sorted by ``site_id`` (greedy ties: lowest id first).

    The candidate buildings (new cabinets) and, for the ``[ranking] upgrades`` layers, each
    existing defib not usable 24/7 moved to an outside 24/7 cabinet (``upgrade:<id>``); for
    the ``stations`` and ``hubs`` layers, a cabinet at each site without a defib today.
    """
    net = snapped.networked.network
    config = snapped.networked.loaded.config
    candidates = snapped.layers.get("candidates")
    if candidates is None:
        candidates = gpd.GeoDataFrame(
            {"name": pd.Series(dtype=object)}, geometry=gpd.GeoSeries([], crs=net.crs)
        )
        cand_snap = snap_points(net, np.array([]), np.array([]))
    else:
        cand_snap = snapped.snapped["candidates"]
    hours, strict = _candidate_hours(candidates, config)
    candidates = candidates.assign(option=NEW_CABINET)
    upgrades, pick = _upgrades(available, config)
    frame = candidates
    if len(upgrades):
        frame = gpd.GeoDataFrame(pd.concat([candidates, upgrades]), crs=candidates.crs)
        n_up = len(upgrades)
        hours = hours.then(Week.always(n_up))
        strict = np.vstack([strict, np.ones((n_up, HOURS_PER_WEEK), dtype=bool)])
        cand_snap = Snapped.concat([cand_snap, available.current.snapped.subset(pick)])
    # outside 24/7 cabinets at stations and at ambulance hubs without a defib today
    for cabinets, cabinet_snap in (
        _station_cabinets(snapped, config),
        _hub_cabinets(snapped, config),
    ):
        if len(cabinets):
            frame = gpd.GeoDataFrame(pd.concat([frame, cabinets]), crs=frame.crs)
            n_st = len(cabinets)
            hours = hours.then(Week.always(n_st))
            strict = np.vstack([strict, np.ones((n_st, HOURS_PER_WEEK), dtype=bool)])
            cand_snap = Snapped.concat([cand_snap, cabinet_snap])
    order = np.argsort(frame.index.to_numpy(dtype=str), kind="stable")
    frame = frame.iloc[order]
    frame.index.name = "site_id"
    return Options(
        frame, cand_snap.subset(order), Week(hours.term[order], hours.holiday[order]), strict[order]
    )


def _weights(
    config: StudyConfig, demand: gpd.GeoDataFrame, weight: DemandWeight
) -> NDArray[np.float64]:
    """Return what the ranking maximises per demand point.

    ``[demand] weight``: residents, expected cardiac arrests a year or past incidents
    (``weight``, from :func:`defibmap.study.demand_weight.demand_weight`); with residents,
    ``[ranking] weight = "deprivation"`` weighs them by IMD decile.
    """
    if config.demand_weight.basis != "residents":
        return weight.per_point
    population: NDArray[np.float64] = demand["population"].to_numpy(dtype=np.float64)
    if config.weight != "deprivation":
        return population
    decile_col = config.imd_column or "imd_decile"
    if decile_col not in demand.columns:
        msg = "[ranking] weight = 'deprivation' needs an IMD decile column in the demand"
        raise ConfigError(msg)
    deciles = pd.to_numeric(demand[decile_col], errors="coerce").to_numpy(dtype=float)
    weights: NDArray[np.float64] = equity.deprivation_weights(population, deciles)
    return weights


#: Most seconds HiGHS may take on the survival ranking's exact optimum. Past it the best set
#: found is reported, marked not proven optimal.
SURVIVAL_TIME_LIMIT_S = 60.0
#: Beside another objective's ranking, the survival ranking's exact optimum is skipped above
#: this many (option, point) pairs with a gain (the greedy order is still given): the second
#: ranking stays cheap on a city.
SURVIVAL_SECOND_MAX_PAIRS = 300_000


def _survival_inputs(
    available: Available, baseline: analysis.SiteSet, config: StudyConfig
) -> SurvivalInputs:
    """Return the time model and today's defibs (usable share of the year, locked) for survival.

    The walks weighed reach the study's search limit; the time model is the response
    stage's (:func:`defibmap.study.timing.draw_assumptions`): with ``[ambulance_bases]`` its
    area-wide distribution stands in for the drives from the bases.
    """
    reached = available.reached
    assumptions = _timing.draw_assumptions(config, reached.demand)
    weeks = config.school_term_weeks
    locked = _inputs.locked_nearest(available.defibs, pd.Series(baseline.ids, dtype=object))
    return SurvivalInputs(
        assumptions=assumptions,
        baseline_sites=baseline.snapped,
        baseline_usable=year_share(Week(baseline.term, baseline.holiday), weeks),
        baseline_locked=locked,
        limit_m=reached.limit_m,
        time_limit_s=SURVIVAL_TIME_LIMIT_S,
        exact_max_pairs=None if config.objective == "survival" else SURVIVAL_SECOND_MAX_PAIRS,
    )


def rank(available: Available) -> Ranked:
    """Rank the options (candidate buildings, upgrades); build the scenarios' site sets."""
    reached = available.reached
    snapped = reached.snapped
    config = snapped.networked.loaded.config
    net = snapped.networked.network
    options = _candidates(snapped, available)
    candidates = options.frame
    baseline_walk = reached.walk_m
    baseline = available.current
    if config.baseline == "current+stations":
        baseline = available.with_stations
        baseline_walk = _reach.nearest_facility(
            net, snapped.snapped["demand"], available.with_stations.snapped, limit_m=reached.limit_m
        ).walk_m
    demand_weight = _demand_weight.demand_weight(
        config, reached.demand, snapped.as_read.get(layer_kinds.INCIDENTS)
    )
    weights = _weights(config, reached.demand, demand_weight)
    what = "expected survival" if config.objective == "survival" else f"{config.objective} coverage"
    _progress.step(f"Ranking {len(candidates):,} options by {what} (greedy and exact)")
    ranking = rank_sites(
        net,
        RankingDemand(
            snapped=snapped.snapped["demand"],
            population=reached.population,
            walk_m=baseline_walk,
            weights=weights,
        ),
        candidates=candidates,
        candidates_snapped=options.snapped,
        new_sites=config.new_sites,
        threshold_m=config.rank_threshold_m,
        hours=options.hours,
        rules=RankingRules(
            objective=config.objective,  # type: ignore[arg-type]
            baseline_sites=baseline.snapped,
            baseline_hours=Week(baseline.term, baseline.holiday),
            term_weeks=config.school_term_weeks,
            budget=config.budget,
            survival=_survival_inputs(available, baseline, config),
        ),
    )
    ranking = replace(ranking, baseline=config.baseline, weight=config.weight)
    if ranking.survival is not None:
        ranking = replace(
            ranking,
            survival=replace(
                ranking.survival,
                weight_unit=demand_weight.unit,
                survivors_per_year=demand_weight.basis == "expected_arrests"
                and config.weight != "deprivation",
            ),
        )
    already = _reach.covered(baseline_walk, config.rank_threshold_m)
    cand_ids = candidates.index.to_numpy(dtype=object)
    chosen = ranking.recommendations["site_id"].to_numpy()
    recommended = options.sites(np.flatnonzero(np.isin(cand_ids, chosen)))
    scenario_sets = {
        "current": available.current,
        "current+stations": available.with_stations,
        WITH_RECOMMENDED: available.with_stations.plus(recommended),
    }
    all_candidates = options.sites(np.arange(len(candidates)))
    for name, listed in config.scenarios.items():
        scenario_sets[name] = analysis.named_scenario(
            listed, [available.current, available.stations, all_candidates], name
        )
    return Ranked(
        available, candidates, ranking, weights, already, scenario_sets, demand_weight, options
    )


def board(ranked: Ranked) -> Boarded:
    """Scenarios by hour of the week, set covering, the coverage curve and equity."""
    reached = ranked.available.reached
    snapped = reached.snapped
    config = snapped.networked.loaded.config
    net = snapped.networked.network
    dem_snap = snapped.snapped["demand"]
    day = None
    if "day_demand" in snapped.layers:
        day_people = snapped.layers["day_demand"]["population"].to_numpy(np.float64)
        day = (snapped.snapped["day_demand"], day_people)
    _progress.step("Scenarios by hour of the week, set covering, equity")
    year = {
        "current": ranked.available.year,
        WITH_RECOMMENDED: analysis.site_year_coverage(
            net, dem_snap, reached.population, ranked.scenario_sets[WITH_RECOMMENDED], config
        ),
    }
    scenarios = {
        name: analysis.scenario_summary(
            net, dem_snap, reached.population, sset, config, day_demand=day, year=year.get(name)
        )
        for name, sset in ranked.scenario_sets.items()
    }
    # the curve keeps its any-time meaning (coverage_curve.csv); the fewest sites for a
    # target count what the ranking counts: its objective's (point, pattern) rows
    curve = analysis.curve_table(
        ranked.ranking.cover, ranked.weights, reached.population, ranked.already, config.new_sites
    )
    cover, weights, already = ranked.ranking.cover, ranked.weights, ranked.already
    model = ranked.ranking.model
    if model is not None:
        cover, weights, already = model.cover, model.weights, model.already
    cand_ids = ranked.candidates.index.to_numpy(dtype=object)
    set_cover = replace(
        analysis.set_covering(cover, weights, already, cand_ids, config),
        basis=("available" if config.objective == "survival" else config.objective)
        if model is not None
        else "any",
    )
    after_walk = _reach.nearest_facility(
        net, dem_snap, ranked.scenario_sets[WITH_RECOMMENDED].snapped, limit_m=reached.limit_m
    ).walk_m
    wards = _inputs.read_wards(config, net.crs)
    headline = config.headline_threshold_m
    now, after, measured = analysis.coverage_bases(
        ranked.available.demand,
        _reach.covered(after_walk, headline),
        year[WITH_RECOMMENDED],
        str(round(headline)),
    )
    equity_out = analysis.equity_tables(
        ranked.available.demand, now, after, config, wards, bases_measured=measured
    )
    return Boarded(ranked, scenarios, set_cover, curve, after_walk, equity_out)


def _locked(demand: gpd.GeoDataFrame, defibs: gpd.GeoDataFrame) -> NDArray[np.bool_]:
    """Whether each resident's nearest defib is a locked cabinet."""
    return _inputs.locked_nearest(defibs, demand["nearest_defib_id"])


def _nearest_usable(
    available: Available, after_walk_m: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """Per scenario, the chance each resident's nearest defib is usable at the arrest's hour.

    An arrest's hour is any hour of a typical year alike, so the chance is the share of the
    year's hours the nearest defib is usable (term and holiday weeks weighted by their
    number). With the recommended sites, a resident whose walk got shorter has a new 24/7
    site (a station or a new cabinet) as the nearest defib.
    """
    config = available.reached.snapped.networked.loaded.config
    current = available.current
    weeks = config.school_term_weeks
    share = (weeks * current.term.mean(axis=1) + (52 - weeks) * current.holiday.mean(axis=1)) / 52
    by_id = dict(zip(current.ids.astype(str), share.tolist(), strict=True))
    nearest = available.demand["nearest_defib_id"]
    now = np.array([by_id.get(str(i), 1.0) if i is not None else 1.0 for i in nearest])
    walk = available.reached.walk_m
    with np.errstate(invalid="ignore"):
        closer = np.isfinite(after_walk_m) & ~(after_walk_m >= walk)
    return {"current": now, WITH_RECOMMENDED: np.where(closer, 1.0, now)}


def _responder_walks(snapped: OnNetwork, config: StudyConfig) -> NDArray[np.float64] | None:
    """Each resident's walk from the nearest ``[first_responders]`` volunteer, else None."""
    volunteers = snapped.snapped.get(layer_kinds.FIRST_RESPONDERS)
    if volunteers is None or not config.first_responders:
        return None
    return _timing.responder_walks(
        snapped.networked.network,
        snapped.snapped["demand"],
        volunteers,
        alert_m=float(config.first_responders["alert_m"]),
    )


def response(boarded: Boarded, *, refresh: bool) -> Responded:
    """Time to the first defib by bystander, fire co-responder or ambulance, per resident."""
    available = boarded.ranked.available
    reached = available.reached
    snapped = reached.snapped
    loaded = snapped.networked.loaded
    config = loaded.config
    # the drive network is read from the same (clipped) extract as the walking one
    extract = loaded.source.osm_file if loaded.source is not None else None
    drive_config = (
        replace(config, network=replace(config.network, osm_file=extract))
        if extract is not None
        else config
    )
    timing, timing_cols = _timing.time_analysis(
        drive_config,
        _timing.TimingInputs(
            demand=available.demand,
            walks={"current": reached.walk_m, WITH_RECOMMENDED: boarded.after_walk_m},
            locked=_locked(available.demand, available.defibs),
            fire=snapped.as_read.get(layer_kinds.FIRE_STATIONS),
            ambulance_bases=snapped.ambulance_bases,
            usable=_nearest_usable(available, boarded.after_walk_m),
            responder_m=_responder_walks(snapped, config),
        ),
        crs=snapped.networked.network.crs,
        cache=loaded.cache,
        refresh=refresh,
    )
    demand = available.demand.copy()
    for column in timing_cols.columns:
        demand[column] = timing_cols[column].to_numpy()
    timing = replace(timing, beats_ambulance=_beats_ambulance(config, available.demand))
    return Responded(boarded, demand, timing)


def _beats_ambulance(config: StudyConfig, demand: gpd.GeoDataFrame) -> dict[str, BeatsAmbulance]:
    """Per ambulance area, the walk at which a fetch beats the ambulance in half the draws.

    With ``[response] ambulance_areas_file`` one entry per listed area (each area's mean
    and 90th centile); else one, ``"all"``, for the study-wide distribution (or the observed
    times).
    """
    assumptions = _timing.draw_assumptions(config, demand)
    areas: dict[str, _draws.Lognormal | _draws.Empirical] = {}
    table = config.response.get("ambulance_areas_file")
    if isinstance(assumptions.ambulance, _draws.AreaLognormal) and table is not None:
        for name, (mean, p90) in _timing.read_ambulance_areas(table).items():
            areas[name] = _draws.Lognormal.from_mean_p90(mean, p90)
    elif not isinstance(assumptions.ambulance, _draws.AreaLognormal):
        areas["all"] = assumptions.ambulance
    out = {}
    for name, dist in areas.items():
        found = _survival.beats_ambulance_m(dist, assumptions)
        out[name] = BeatsAmbulance(found.walk_m, found.share_at_walk, dist.mean)
    return out


def _rejected(reports: Mapping[str, LayerReport]) -> pd.DataFrame:
    """Every rejected row of every layer: ``layer``, ``id``, ``file``, ``row``, ``reason``."""
    return pd.DataFrame(
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


def _finer(reached: Reached) -> FinerDemand | None:
    """Coverage on the area centroids beside the finer demand, when the study spreads it."""
    networked = reached.snapped.networked
    if networked.centroid_demand is None:
        return None
    return _inputs.finer_comparison(
        networked.loaded.config,
        networked.network,
        networked.centroid_demand,
        reached.defib_snap,
        dict(reached.coverage),
        len(reached.demand),
    )


#: The counts every input report has, as :class:`InputReport` attributes.
_COUNTS = ("file", "rows_read", "rows_used", "rows_rejected", "rejected_reasons")


def _input_reports(
    reports: Mapping[str, LayerReport],
    parts: Mapping[str, LayerParts],
    layers: Mapping[str, gpd.GeoDataFrame],
) -> dict[str, InputReport]:
    """Per layer, what happened to its rows, with what its source knows (e.g. ``osm``).

    A point layer's entry also names the columns of its file that change what a row means
    (``columns_read``) and those it carries that defibmap does not read (``columns_not_read``).
    """
    out = {}
    for name, report in reports.items():
        entries = report.as_dict()
        if name in parts:
            entries.update(parts[name].info)
        if name in layers:
            columns = set(layers[name].columns)
            entries["columns_read"] = [c for c in layer_kinds.SEMANTIC_COLUMNS if c in columns]
            ignored = [c for c in layer_kinds.IGNORED_COLUMNS if c in columns]
            if ignored:
                entries["columns_not_read"] = ignored
        out[name] = InputReport(
            file=entries["file"],
            rows_read=entries["rows_read"],
            rows_used=entries["rows_used"],
            rows_rejected=entries["rows_rejected"],
            rejected_reasons=entries["rejected_reasons"],
            details={k: v for k, v in entries.items() if k not in _COUNTS},
        )
    return out


def result(responded: Responded) -> StudyResult:
    """Gather every stage's output into the study's result."""
    boarded = responded.boarded
    ranked = boarded.ranked
    available = ranked.available
    reached = available.reached
    snapped = reached.snapped
    networked = snapped.networked
    loaded = networked.loaded
    config = loaded.config
    net = networked.network
    straight, straight_m = analysis.straight_line(
        responded.demand, available.defibs, reached.walk_m, config
    )
    weight = ranked.demand_weight
    demand = responded.demand.assign(straight_m=straight_m, **_demand_weight.weight_columns(weight))
    time_to_defib = responded.time_to_defib
    outcome = StudyResult(
        config=config,
        network=net,
        demand=demand,
        defibs=available.defibs,
        stations=_inputs.stations_frame(dict(snapped.layers), config, net.crs),
        candidates=ranked.candidates,
        coverage=reached.coverage,
        coverage_available=available.year.available,
        coverage_night=available.year.night,
        warnings=loaded.warnings,
        readiness=available.readiness,
        ranking=ranked.ranking,
        input_reports=_input_reports(networked.reports, loaded.parts, loaded.layers),
        rejected=_rejected(networked.reports),
        sources=tuple(_inputs.sources(config, dict(loaded.parts))),
        notes=(
            *_inputs.notes(config, dict(snapped.layers), available.defibs),
            *names.notes(dict(snapped.layers)),
            *time_to_defib.notes,
        ),
        scenarios=boarded.scenarios,
        set_covering=boarded.set_covering,
        curve=boarded.curve,
        equity=boarded.equity,
        straight_line=straight,
        time_to_defib=time_to_defib,
        assumptions=Assumptions(
            walking_speed_m_s=config.walking_speed_m_s,
            unknown_hours=config.unknown_hours,
            school_hours=config.school_hours,
            school_term_weeks=config.school_term_weeks,
            search_limit_m=reached.limit_m,
            max_snap_m=config.network.max_snap_m,
        ),
        finer_demand=_finer(reached),
        network_faults=networked.faults,
        wards=map_wards(config),
        demand_weight=_demand_weight.with_coverage(weight, demand),
    )
    return replace(outcome, reach_areas=study_reach_areas(outcome))
