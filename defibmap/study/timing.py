"""Time to the first defibrillator within a study.

The glue between a study and :mod:`defibmap.analysis.response_draws` /
:mod:`defibmap.analysis.drive_routes`: reads the ``[response]`` options, the fire stations'
turnout (``turnout_s`` or ``crewing`` columns), any file of observed ambulance times and the
``[first_responders]`` volunteers, and draws the time to the first defib per resident and
scenario. Ambulance make-ready hubs (``[ambulance_hubs]``) are not read here: crews leave the
hub at the start of the shift and stay out, so a hub is a 24/7 defib a bystander can fetch
(counted with the defibs), never a drive origin. ``[ambulance_bases]`` remains as a stand-in
for an ambulance time where no response data is given (:data:`AMBULANCE_BASES_NOTE`).

Private to the package: :mod:`defibmap.study.pipeline` calls :func:`time_analysis`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap import layers as layer_kinds
from defibmap._errors import InputError, NetworkError
from defibmap.analysis import drive_routes, response
from defibmap.analysis import reach as _reach
from defibmap.analysis import response_draws as draws_
from defibmap.defaults import (
    AMBULANCE_MEAN_S,
    AMBULANCE_P90_S,
    AMBULANCE_TURNOUT_S,
    CABINET_S,
    FIRE_AVAILABLE,
    FIRE_TURNOUT_ON_CALL_S,
    FIRE_TURNOUT_S,
    LOCKED_CABINET_EXTRA_S,
    RECOGNITION_S,
    RESPONSE_DRAWS,
    RESPONSE_SEED,
    SECOND_BYSTANDER,
    WALKING_SPEED_M_S,
    WALKING_SPEED_SIGMA,
)
from defibmap.network import drive
from defibmap.network import walk as _network
from defibmap.osm.cache import osmnx_settings
from defibmap.study.parts import TimeAssumptions, TimeSummary, TimeToDefib

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    import geopandas as gpd
    from numpy.typing import NDArray

    from defibmap.config.study_file import StudyConfig
    from defibmap.network.snapping import Snapped

logger = logging.getLogger(__name__)

_YES = {"yes", "true", "1", "y", "t"}


def _flag(values: pd.Series[str]) -> NDArray[np.bool_]:
    return values.astype(str).str.strip().str.lower().isin(_YES).to_numpy()


def co_responders(fire: gpd.GeoDataFrame | None, config: StudyConfig) -> gpd.GeoDataFrame | None:
    """Return the fire stations taking part in a co-responder scheme, or None without one.

    ``[fire_stations] co_responder = true`` switches the scheme on for the layer; a
    ``co_responder`` column (yes/no), when present, names the stations taking part.
    """
    layer = config.layers.get(layer_kinds.FIRE_STATIONS)
    if fire is None or layer is None or not layer.co_responder:
        return None
    if "co_responder" in fire.columns:
        return fire[_flag(fire["co_responder"])]
    return fire


def needs_drive(config: StudyConfig) -> bool:
    """Whether the study needs a driving network (fire co-responders or ambulance bases)."""
    fire = config.layers.get(layer_kinds.FIRE_STATIONS)
    return (
        fire is not None and bool(fire.co_responder)
    ) or layer_kinds.AMBULANCE_BASES in config.layers


def drive_cache_path(config: StudyConfig, cache: Path | None) -> Path | None:
    """Return the ``drive-<key>.npz`` the study's driving network is cached in, else None.

    From a file the key derives from the file's SHA-256; from a place, from the place name;
    both with the study's ``crs`` setting (``auto`` when unset, as the walking network's
    cache) and the speed defaults. It is known before any layer is read, so the offline
    check (:func:`defibmap.study._inputs.preflight`) can tell whether a download is due.
    """
    net = config.network
    if cache is None:
        return None
    if net.osm_file is not None:
        source = hashlib.sha256(net.osm_file.read_bytes()).hexdigest()
    elif net.place is not None:
        source = hashlib.sha256(f"place:{net.place}".encode()).hexdigest()
    else:
        return None
    speeds = json.dumps(config.response.get("speeds_kph", {}), sort_keys=True)
    key = _network.cache_key(source, net.crs or "auto", "drive", speeds)
    return cache / f"drive-{key}.npz"


def _drive_network(
    config: StudyConfig, crs: str, cache: Path | None, *, refresh: bool = False
) -> drive.DriveNetwork:
    """Build the driving network from the study's OSM source, cached like the walking one.

    The cache file is :func:`drive_cache_path`; a cached network in another CRS than the
    study's points is rebuilt. With ``refresh`` the cached network is rebuilt (a place
    downloaded again). A place is downloaded with osmnx's response cache in the study's
    cache folder, never in the current directory.
    """
    net = config.network
    if net.osm_file is None and net.place is None:
        msg = "a driving network needs [network] osm_file or place"
        raise NetworkError(msg)
    path = drive_cache_path(config, cache)
    if path is not None and path.exists() and not refresh:
        try:
            cached = drive.load_drive(path)
        except NetworkError as exc:
            logger.warning("rebuilding the driving network: %s", exc)
        else:
            if cached.crs == crs:
                return cached
            logger.warning(
                "rebuilding the driving network: the cached one is in %s, the study in %s",
                cached.crs,
                crs,
            )
    kph = config.response.get("speeds_kph")
    if net.osm_file is not None:
        built = drive.drive_network_from_osm_file(net.osm_file, crs=crs, default_speeds_kph=kph)
    else:
        where = contextlib.nullcontext() if cache is None else osmnx_settings(cache / "osmnx")
        with where:
            built = drive.drive_network_from_place(str(net.place), crs=crs, default_speeds_kph=kph)
    if path is not None:
        try:
            drive.save_drive(built, path)
        except OSError as exc:
            logger.warning("could not cache the driving network at %s: %s", path, exc)
    return built


@dataclass(frozen=True, eq=False)
class TimingInputs:
    """What the time analysis measures from: the residents, their walks and the responders.

    Attributes
    ----------
    demand
        Demand points (population, geometry) in the network CRS.
    walks
        Walk in metres to the nearest defib per scenario name (``"current"`` first).
    locked
        Whether each resident's current nearest defib is a locked cabinet.
    fire
        Fire stations as loaded (before walking snap), or None.
    ambulance_bases
        Ambulance bases, or None for one area-wide response time.
    usable
        Per scenario name, the probability (0-1) per demand point that its nearest defib is
        usable at the hour of the arrest (e.g. the availability analysis's share of hours
        covered). A scenario not named here, or None, counts every defib as always usable
        (1.0). This is the hook for the available-coverage figures.
    responder_m
        Per demand point, the walk in metres from the nearest community first responder
        (:func:`responder_walks`; NaN beyond the alert distance), or None without
        ``[first_responders]``.
    """

    demand: gpd.GeoDataFrame
    walks: Mapping[str, NDArray[np.float64]]
    locked: NDArray[np.bool_]
    fire: gpd.GeoDataFrame | None
    ambulance_bases: gpd.GeoDataFrame | None
    usable: Mapping[str, NDArray[np.float64]] | None = None
    responder_m: NDArray[np.float64] | None = None


#: What ``[ambulance_bases]`` now means, logged and kept in the study's notes when a study
#: gives one.
AMBULANCE_BASES_NOTE = (
    "[ambulance_bases] is read as a stand-in for areas without ambulance response data: the "
    "ambulance time is its turnout plus the drive from the nearest listed base. Ambulance "
    "services run a make-ready model (crews leave the hub at the start of the shift and stay "
    "out on the road), so crews do not respond from these sites: where the trust publishes "
    "response times, give [response] ambulance_areas_file or ambulance_times_file instead, "
    "and list staffed hubs as [ambulance_hubs] (24/7 defibs, not drive origins)."
)


def responder_walks(
    network: _network.Network,
    demand: Snapped,
    responders: Snapped,
    *,
    alert_m: float,
) -> NDArray[np.float64]:
    """Return each demand point's walk, metres, from the nearest community first responder.

    Measured on the walking network (volunteers travel by any mode, at their own speed);
    NaN where no volunteer is within ``alert_m`` metres (none is alerted).
    """
    if len(responders) == 0:
        return np.full(len(demand), np.nan)
    found = _reach.nearest_facility(network, demand, responders, limit_m=alert_m)
    walk = np.asarray(found.walk_m, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(walk <= alert_m, walk, np.nan)


#: ``crewing`` values of a fire station row and the ``[response]`` key giving their turnout.
CREWING = {"wholetime": "fire_turnout_s", "on_call": "fire_turnout_on_call_s"}
_CREWING_ALIASES = {"on-call": "on_call", "oncall": "on_call", "retained": "on_call"}


def station_turnouts(
    stations: gpd.GeoDataFrame, opts: Mapping[str, float], *, file: str
) -> NDArray[np.float64]:
    """Return each fire station's turnout in seconds.

    A ``turnout_s`` cell (seconds, 0 to 86,400) wins; else a ``crewing`` cell
    (``wholetime``, ``on_call``; ``retained`` and ``on-call`` read as on call) gives
    ``[response] fire_turnout_s`` or ``fire_turnout_on_call_s``; else ``fire_turnout_s``.

    Raises
    ------
    InputError
        Naming the file, the station and the column, for a value that is neither.
    """
    wholetime = float(opts.get("fire_turnout_s", FIRE_TURNOUT_S))
    on_call = float(opts.get("fire_turnout_on_call_s", FIRE_TURNOUT_ON_CALL_S))
    by_crewing = {"wholetime": wholetime, "on_call": on_call}
    out = np.full(len(stations), wholetime)
    ids = [str(i) for i in stations.index]
    if "crewing" in stations.columns:
        for pos, cell in enumerate(stations["crewing"].to_numpy()):
            text = "" if _blank(cell) else str(cell).strip().lower()
            text = _CREWING_ALIASES.get(text, text)
            if not text:
                continue
            if text not in by_crewing:
                msg = (
                    f"{file}: fire station {ids[pos]!r}: column 'crewing' must be "
                    f"'wholetime' or 'on_call' (or empty), got {cell!r}"
                )
                raise InputError(msg)
            out[pos] = by_crewing[text]
    if "turnout_s" in stations.columns:
        for pos, cell in enumerate(stations["turnout_s"].to_numpy()):
            if _blank(cell):
                continue
            try:
                value = float(str(cell).strip())
            except ValueError:
                value = float("nan")
            if not (np.isfinite(value) and 0 <= value <= 86_400):
                msg = (
                    f"{file}: fire station {ids[pos]!r}: column 'turnout_s' must be seconds "
                    f"from 0 to 86400 (or empty), got {cell!r}"
                )
                raise InputError(msg)
            out[pos] = value
    return out


def _blank(cell: object) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float) and np.isnan(cell):
        return True
    return isinstance(cell, str) and not cell.strip()


def read_ambulance_times(path: Path) -> NDArray[np.float64]:
    """Read observed ambulance response times, seconds, from a CSV column ``response_s``.

    Raises
    ------
    InputError
        Naming the file, row and column, for a missing column, an empty file or a value
        that is not seconds from 0 to 86,400.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"{path}: cannot read the ambulance response times: {exc}"
        raise InputError(msg) from exc
    if "response_s" not in frame.columns:
        msg = f"{path}: needs a column 'response_s' (seconds); columns are {list(frame.columns)}"
        raise InputError(msg)
    values = []
    for row, cell in enumerate(frame["response_s"].to_numpy(), start=2):
        try:
            value = float(str(cell).strip())
        except ValueError:
            value = float("nan")
        if not (np.isfinite(value) and 0 <= value <= 86_400):
            msg = (
                f"{path}: row {row}, column 'response_s': must be seconds from 0 to 86400, "
                f"got {cell!r}"
            )
            raise InputError(msg)
        values.append(value)
    if not values:
        msg = f"{path}: no ambulance response times (column 'response_s' is empty)"
        raise InputError(msg)
    return np.asarray(values, dtype=np.float64)


#: The demand column naming each point's ambulance area when ``ambulance_area_column`` is unset.
DEFAULT_AMBULANCE_AREA_COLUMN = "ambulance_area"


def read_ambulance_areas(path: Path) -> dict[str, tuple[float, float]]:
    """Read a table of each area's ambulance mean and 90th centile, seconds.

    A CSV with columns ``area``, ``mean_s`` and ``p90_s``: one row per area, the 90th centile
    from the mean to about 2.27 times the mean (a lognormal must have both).

    Raises
    ------
    InputError
        Naming the file, row and column, for a missing column, a repeated or empty area, or
        a value that is not seconds a lognormal can have.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"{path}: cannot read the ambulance areas: {exc}"
        raise InputError(msg) from exc
    missing = [c for c in ("area", "mean_s", "p90_s") if c not in frame.columns]
    if missing:
        msg = (
            f"{path}: needs columns 'area', 'mean_s' and 'p90_s'; columns are {list(frame.columns)}"
        )
        raise InputError(msg)
    out: dict[str, tuple[float, float]] = {}
    for row, (area, mean, p90) in enumerate(
        frame[["area", "mean_s", "p90_s"]].itertuples(index=False), start=2
    ):
        name = str(area).strip()
        if not name or name in out:
            what = "is empty" if not name else f"repeats {name!r}"
            msg = f"{path}: row {row}, column 'area' {what}"
            raise InputError(msg)
        values = []
        for column, cell in (("mean_s", mean), ("p90_s", p90)):
            try:
                value = float(str(cell).strip())
            except ValueError:
                value = float("nan")
            if not (np.isfinite(value) and 0 < value <= 86_400):
                msg = (
                    f"{path}: row {row}, column {column!r}: must be seconds above 0 and at "
                    f"most 86400, got {cell!r}"
                )
                raise InputError(msg)
            values.append(value)
        try:
            draws_.Lognormal.from_mean_p90(values[0], values[1])
        except ValueError as exc:
            msg = f"{path}: row {row}, column 'p90_s': {exc}"
            raise InputError(msg) from exc
        out[name] = (values[0], values[1])
    if not out:
        msg = f"{path}: no ambulance areas (the table is empty)"
        raise InputError(msg)
    return out


def _area_ambulance(
    config: StudyConfig, demand: pd.DataFrame | None, mean: float, p90: float
) -> tuple[draws_.AreaLognormal, str]:
    """Each demand point's area's lognormal; points in no listed area take the study's."""
    opts = config.response
    table = read_ambulance_areas(opts["ambulance_areas_file"])
    column = str(opts.get("ambulance_area_column", DEFAULT_AMBULANCE_AREA_COLUMN))
    if demand is None or column not in demand.columns:
        msg = (
            f"{opts['ambulance_areas_file']}: [response] ambulance_areas_file needs the demand "
            f"column {column!r} naming each point's area (set ambulance_area_column)"
        )
        raise InputError(msg)
    areas = demand[column].astype(str).str.strip().to_numpy()
    means = np.array([table.get(a, (mean, p90))[0] for a in areas], dtype=np.float64)
    p90s = np.array([table.get(a, (mean, p90))[1] for a in areas], dtype=np.float64)
    listed = np.isin(areas, list(table))
    note = ""
    if not listed.all():
        people = demand["population"].to_numpy(dtype=np.float64)
        note = (
            f"Ambulance times: {int((~listed).sum()):,} demand points "
            f"({float(people[~listed].sum()):,.0f} people) are in no area of "
            f"{opts['ambulance_areas_file']}; they take the study-wide mean {mean:g} s and "
            f"90th centile {p90:g} s."
        )
    return draws_.AreaLognormal.from_mean_p90(means, p90s), note


def draw_assumptions(
    config: StudyConfig, demand: pd.DataFrame | None = None, notes: list[str] | None = None
) -> draws_.DrawAssumptions:
    """Return the distributions of the three routes from the study's ``[response]``.

    ``demand`` is needed with ``ambulance_areas_file`` (each point's area); a note on points
    in no listed area is appended to ``notes``.
    """
    opts = config.response
    times_file = opts.get("ambulance_times_file")
    ambulance: draws_.Lognormal | draws_.AreaLognormal | draws_.Empirical
    mean = float(opts.get("ambulance_mean_s", opts.get("ambulance_s", AMBULANCE_MEAN_S)))
    p90 = float(opts.get("ambulance_p90_s", mean * AMBULANCE_P90_S / AMBULANCE_MEAN_S))
    if times_file is not None:
        ambulance = draws_.Empirical(read_ambulance_times(times_file))
    elif opts.get("ambulance_areas_file") is not None:
        ambulance, note = _area_ambulance(config, demand, mean, p90)
        if note and notes is not None:
            notes.append(note)
    else:
        ambulance = draws_.Lognormal.from_mean_p90(mean, p90)
    return draws_.DrawAssumptions(
        ambulance=ambulance,
        walking_speed=draws_.Lognormal.from_median_sigma(
            config.walking_speed_m_s, float(opts.get("walking_speed_sigma", WALKING_SPEED_SIGMA))
        ),
        recognition_s=float(opts.get("recognition_s", RECOGNITION_S)),
        second_bystander=float(opts.get("second_bystander", SECOND_BYSTANDER)),
        fire_available=float(opts.get("fire_available", FIRE_AVAILABLE)),
        cabinet_s=float(opts.get("cabinet_s", CABINET_S)),
        locked_cabinet_extra_s=float(opts.get("locked_cabinet_extra_s", LOCKED_CABINET_EXTRA_S)),
        draws=int(opts.get("draws", RESPONSE_DRAWS)),
        seed=int(opts.get("seed", RESPONSE_SEED)),
        responder_accept=_responder_accept(config),
    )


def _responder_accept(config: StudyConfig) -> float:
    """Return the chance the nearest volunteer sets off with a defib (0 without any)."""
    # a stand-in config (a test's, a notebook's) may carry no [first_responders] at all
    found: Mapping[str, float] = getattr(config, "first_responders", None) or {}
    if not found:
        return 0.0
    return float(found["accept_share"]) * float(found["carries_defib"])


@dataclass(frozen=True)
class _Fire:
    """Fire crews' time per demand point: turnout plus drive, and the drive alone."""

    total_s: NDArray[np.float64]
    drive_s: NDArray[np.float64]
    drive_m: NDArray[np.float64]


def _fire_times(
    scheme: gpd.GeoDataFrame,
    dnet: drive.DriveNetwork,
    config: StudyConfig,
    dx: NDArray[np.float64],
    dy: NDArray[np.float64],
) -> tuple[_Fire | None, list[str]]:
    """Fastest turnout plus drive from any co-responding station, each with its own turnout.

    Stations are grouped by turnout; one multi-source search per group gives the fastest
    drive from that group, and the group with the smallest turnout plus drive wins per point
    (exact: the minimum over stations of turnout plus drive).
    """
    layer = config.layers.get(layer_kinds.FIRE_STATIONS)
    file = str(layer.file) if layer is not None and layer.file is not None else "[fire_stations]"
    turnouts = station_turnouts(scheme, config.response, file=file)
    sx = scheme.geometry.x.to_numpy()
    sy = scheme.geometry.y.to_numpy()
    n = len(dx)
    best = np.full(n, np.inf)
    drive_s = np.full(n, np.nan)
    drive_m = np.full(n, np.nan)
    on_network = 0
    for turnout in np.unique(turnouts):
        pick = turnouts == turnout
        found = drive_routes.drive_from_stations(dnet, sx[pick], sy[pick], dx, dy)
        on_network += found.n_stations_on_network
        total = turnout + found.fire_drive_s
        better = np.isfinite(total) & (total < best)
        best[better] = total[better]
        drive_s[better] = found.fire_drive_s[better]
        drive_m[better] = found.fire_drive_m[better]
    if on_network == 0:
        pts = np.column_stack([sx, sy])
        import shapely

        _, dist = dnet.edge_tree().query_nearest(
            shapely.points(pts), return_distance=True, all_matches=False
        )
        far = ", ".join(f"{d:,.0f} m" for d in sorted(dist))
        note = (
            "Fire co-responding cannot be assessed: no co-responding fire station lies "
            f"within 250 m of the study's road network (they are {far} away, outside the "
            "OpenStreetMap extract). Times use bystander fetch and the ambulance only."
        )
        return None, [note]
    return _Fire(np.where(np.isfinite(best), best, np.nan), drive_s, drive_m), []


def _turnout_note(scheme: gpd.GeoDataFrame, config: StudyConfig) -> str:
    """Say which turnouts the co-responding stations have (each its own, by crewing)."""
    layer = config.layers.get(layer_kinds.FIRE_STATIONS)
    file = str(layer.file) if layer is not None and layer.file is not None else "[fire_stations]"
    turnouts = station_turnouts(scheme, config.response, file=file)
    values, counts = np.unique(turnouts, return_counts=True)
    each = ", ".join(
        f"{t:g} s ({c} station{'s' if c > 1 else ''})" for t, c in zip(values, counts, strict=True)
    )
    return (
        f"Fire co-responders: {len(turnouts)} station(s) take part, each with its own turnout "
        f"(its crewing or turnout_s): {each}; the crew with the smallest turnout plus drive goes."
    )


def time_analysis(
    config: StudyConfig,
    inputs: TimingInputs,
    *,
    crs: str,
    cache: Path | None = None,
    refresh: bool = False,
) -> tuple[TimeToDefib, pd.DataFrame]:
    """Minutes to the first defib by bystander fetch, fire co-responder or ambulance.

    Each scenario is drawn ``[response] draws`` times with the same random numbers
    (:func:`defibmap.analysis.response_draws.draw_scenarios`).

    Parameters
    ----------
    config
        The study (response assumptions in ``config.response``).
    inputs
        The residents, their walks per scenario and the fire stations and ambulance bases.
    crs
        The network CRS of the points.
    cache
        The study's cache folder for the driving network (and osmnx's downloads), or None.
    refresh
        Rebuild the cached driving network (download a place again).

    Returns
    -------
    tuple of (TimeToDefib, DataFrame)
        The population-weighted times per scenario and the per-demand columns for
        ``demand_coverage.csv``: ``walk_fetch_s`` (the fetch at the median walking speed,
        without recognition, as before), ``fire_drive_m`` / ``fire_drive_s`` (the drive of
        the fastest crew, turnout excluded), ``time_to_defib_s`` (median over draws),
        ``time_to_defib_p90_s``, ``p_defib_before_ambulance``, ``expected_min_saved`` and
        ``first_route`` (the route most often first), for the headline scenario; and
        ``time_to_defib_with_recommended_s`` / ``p_defib_before_ambulance_with_recommended``
        for the scenario with the recommended sites, when there is one.
    """
    demand, walks, locked = inputs.demand, inputs.walks, inputs.locked
    ambulance_bases = inputs.ambulance_bases
    opts = config.response
    population = demand["population"].to_numpy(dtype=np.float64)
    dx = demand.geometry.x.to_numpy()
    dy = demand.geometry.y.to_numpy()
    n = len(demand)
    scheme = co_responders(inputs.fire, config)
    notes: list[str] = []
    fire: _Fire | None = None
    amb_drive = None
    dnet = None
    if scheme is not None or ambulance_bases is not None:
        dnet = _drive_network(config, crs, cache, refresh=refresh)
    if scheme is not None and dnet is not None:
        fire, more = _fire_times(scheme, dnet, config, dx, dy)
        notes.extend(more)
        if fire is not None:
            notes.append(_turnout_note(scheme, config))
    if ambulance_bases is not None:
        logger.warning(AMBULANCE_BASES_NOTE)
        notes.append(AMBULANCE_BASES_NOTE)
    if ambulance_bases is not None and dnet is not None:
        amb = drive_routes.drive_from_stations(
            dnet,
            ambulance_bases.geometry.x.to_numpy(),
            ambulance_bases.geometry.y.to_numpy(),
            dx,
            dy,
        )
        amb_drive = amb.fire_drive_s
    drawn_with = draw_assumptions(config, demand, notes)
    amb_turnout = float(opts.get("ambulance_turnout_s", AMBULANCE_TURNOUT_S))
    amb_fixed = None if amb_drive is None else amb_turnout + amb_drive
    usable = inputs.usable or {}
    volunteers = _responder_seconds(config, inputs.responder_m, notes)
    scenario_inputs: dict[str, draws_.ScenarioInputs] = {}
    for name, walk in walks.items():
        lock = locked if name == "current" else np.zeros(len(walk), dtype=bool)
        use = np.asarray(usable.get(name, np.ones(n)), dtype=np.float64)
        scenario_inputs[name] = draws_.ScenarioInputs(
            np.asarray(walk, float), lock, use, responder_s=volunteers
        )
        if fire is not None:
            scenario_inputs[f"{name}+fire"] = draws_.ScenarioInputs(
                np.asarray(walk, float), lock, use, fire.total_s, responder_s=volunteers
            )
    fits = draws_.draws_within_memory(n, len(scenario_inputs), drawn_with.draws)
    if fits < drawn_with.draws:
        notes.append(
            f"Time to a defib: {fits} draws instead of {drawn_with.draws}, to keep the "
            f"working memory bounded ({n:,} demand points x {len(scenario_inputs)} scenarios)."
        )
        drawn_with = replace(drawn_with, draws=fits)
    drawn = draws_.draw_scenarios(
        scenario_inputs, assumptions=drawn_with, ambulance_fixed_s=amb_fixed
    )
    summary = {name: _summary(d, population) for name, d in drawn.items()}
    headline = "current+fire" if "current+fire" in drawn else "current"
    columns = _per_point(drawn, headline, walks, locked, config)
    columns.index = demand.index
    columns["fire_drive_m"] = np.full(n, np.nan) if fire is None else fire.drive_m
    columns["fire_drive_s"] = np.full(n, np.nan) if fire is None else fire.drive_s
    order = [
        "walk_fetch_s",
        "fire_drive_m",
        "fire_drive_s",
        "time_to_defib_s",
        "first_route",
        *[c for c in columns.columns if c not in _FIRST_COLUMNS],
    ]
    out = TimeToDefib(
        scenarios=summary,
        per_point_scenario=headline,
        co_responding="assessed" if fire is not None else "not assessed",
        assumptions=_assumptions(config, drawn_with, from_bases=amb_drive is not None),
        notes=tuple(notes),
    )
    return out, columns[order]


def _responder_seconds(
    config: StudyConfig, walk_m: NDArray[np.float64] | None, notes: list[str]
) -> NDArray[np.float64] | None:
    """Each point's nearest volunteer's travel, seconds (walk / speed); a note on the reach."""
    found = config.first_responders
    if not found or walk_m is None:
        return None
    walk = np.asarray(walk_m, dtype=np.float64)
    reached = np.isfinite(walk)
    notes.append(
        f"Community first responders: the nearest volunteer within {found['alert_m']:,.0f} m "
        f"of walk is alerted for {int(reached.sum()):,} of {walk.size:,} demand points; they "
        f"accept with probability {found['accept_share']:g} and bring a defib with probability "
        f"{found['carries_defib']:g}, travelling at {found['speed_m_s']:g} m/s."
    )
    seconds: NDArray[np.float64] = walk / float(found["speed_m_s"])
    return seconds


_FIRST_COLUMNS = ("walk_fetch_s", "fire_drive_m", "fire_drive_s", "time_to_defib_s", "first_route")


def _per_point(
    drawn: Mapping[str, draws_.DrawnScenario],
    headline: str,
    walks: Mapping[str, NDArray[np.float64]],
    locked: NDArray[np.bool_],
    config: StudyConfig,
) -> pd.DataFrame:
    """Per-demand columns of the headline scenario (and of the one with recommended sites)."""
    opts = config.response
    fixed = response.time_to_defib(
        walk_m=walks["current"],
        locked=locked,
        assumptions=response.ResponseAssumptions(
            walking_speed_m_s=config.walking_speed_m_s,
            cabinet_s=opts.get("cabinet_s", CABINET_S),
            locked_cabinet_extra_s=opts.get("locked_cabinet_extra_s", LOCKED_CABINET_EXTRA_S),
        ),
    )
    chosen = drawn[headline]
    columns = pd.DataFrame(
        {
            "walk_fetch_s": fixed["walk_fetch_s"].to_numpy(),
            "time_to_defib_s": draws_.per_point_quantile(chosen, 0.5),
            "first_route": draws_.per_point_route(chosen),
            "time_to_defib_p90_s": draws_.per_point_quantile(chosen, 0.9),
            "p_defib_before_ambulance": draws_.per_point_before(chosen),
            "expected_min_saved": draws_.per_point_saved_min(chosen),
        }
    )
    with_recommended = next((n for n in walks if n != "current"), None)
    if with_recommended is not None:
        fire_name = f"{with_recommended}+fire"
        other = drawn[fire_name] if headline.endswith("+fire") else drawn[with_recommended]
        columns["time_to_defib_with_recommended_s"] = draws_.per_point_quantile(other, 0.5)
        columns["p_defib_before_ambulance_with_recommended"] = draws_.per_point_before(other)
    return columns


def _assumptions(
    config: StudyConfig, drawn_with: draws_.DrawAssumptions, *, from_bases: bool
) -> TimeAssumptions:
    """Return the assumptions and their sources, as the outputs report them."""
    opts = config.response
    amb = drawn_with.ambulance
    if from_bases:
        ambulance = "drive from [ambulance_bases] plus turnout"
    elif isinstance(amb, draws_.Empirical):
        ambulance = f"observed response times resampled ({amb.observed.size} calls)"
    elif isinstance(amb, draws_.AreaLognormal):
        ambulance = (
            f"lognormal per area (each area's mean and 90th centile, "
            f"{opts.get('ambulance_areas_file')}); mean over points {amb.mean / 60:.1f} min"
        )
    elif amb.fixed is not None:
        ambulance = f"one area-wide response time, {amb.fixed:g} s"
    else:
        p90 = float(np.exp(amb.mu + draws_.Z90 * amb.sigma))
        ambulance = (
            f"lognormal, mean {amb.mean / 60:.1f} min and 90th centile {p90 / 60:.1f} min "
            "(NHS England Category 1 standard unless set)"
        )
    p90_s = (
        float(np.exp(amb.mu + draws_.Z90 * amb.sigma))
        if isinstance(amb, draws_.Lognormal) and not from_bases
        else None
    )
    return TimeAssumptions(
        walking_speed_m_s=config.walking_speed_m_s,
        cabinet_s=drawn_with.cabinet_s,
        locked_cabinet_extra_s=drawn_with.locked_cabinet_extra_s,
        fire_turnout_s=float(opts.get("fire_turnout_s", FIRE_TURNOUT_S)),
        ambulance_s=amb.mean,
        ambulance=ambulance,
        sources={
            "walking_speed": f"{WALKING_SPEED_M_S} m/s, 4 mph (Deakin et al., Heart 2018)",
            "walking_speed_sigma": "spread of lay responders' speeds, IQR 1.4-4.0 m/s "
            "(Jonsson et al., Resuscitation 2020;151:197-204)",
            "ambulance_s": "NHS England Ambulance Response Programme: Category 1 mean 7 min, "
            "90th centile 15 min",
            "recognition_s": "assumption: call to recognition of the arrest; confirm with the "
            "ambulance service",
            "second_bystander": "assumption: a second person can fetch the defib; confirm",
            "fire_turnout_s": "assumption to confirm with the fire and rescue service",
            "fire_turnout_on_call_s": "assumption: on-call crews come to the station first",
            "fire_available": "assumption: share of calls the crew is free; confirm",
            "cabinet_s": "assumption: open an unlocked cabinet and take the defib",
            "locked_cabinet_extra_s": "assumption: get the code from the 999 call handler",
            "drive_speeds": "OSM maxspeed (UK mph) else defaults per road type "
            "(defibmap.network.drive.DEFAULT_SPEEDS_KPH)",
            **_responder_sources(config),
        },
        ambulance_p90_s=p90_s,
        recognition_s=drawn_with.recognition_s,
        second_bystander=drawn_with.second_bystander,
        walking_speed_sigma=drawn_with.walking_speed.sigma,
        fire_available=drawn_with.fire_available,
        fire_turnout_on_call_s=float(opts.get("fire_turnout_on_call_s", FIRE_TURNOUT_ON_CALL_S)),
        draws=drawn_with.draws,
        seed=drawn_with.seed,
    )


def _responder_sources(config: StudyConfig) -> dict[str, str]:
    """Return the community first responders' assumptions for the sources (if any)."""
    found = config.first_responders
    if not found:
        return {}
    return {
        "first_responders": (
            f"[first_responders]: the nearest volunteer within {found['alert_m']:g} m "
            f"(Andelius et al., JACC 2020: 1.8 km) accepts with probability "
            f"{found['accept_share']:g} (assumption; app responders' response rates of "
            f"17-47 %, Khalemsky et al., JMIR mHealth uHealth 2023), brings a defib with "
            f"probability {found['carries_defib']:g} (assumption) and travels at "
            f"{found['speed_m_s']:g} m/s (Jonsson et al., Resuscitation 2020: median 2.3 m/s)"
        )
    }


def _summary(drawn: draws_.DrawnScenario, population: NDArray[np.float64]) -> TimeSummary:
    """Population-weighted summary of one scenario's draws."""
    found = draws_.population_figures(drawn, population)
    return TimeSummary(
        population=found.population,
        median_s=found.median_s,
        within_min_share=found.within_min_share,
        first_route_share=found.first_route_share,
        draws=found.draws,
        median_s_p10=found.median_s_p10,
        median_s_p90=found.median_s_p90,
        within_min_share_p10=found.within_min_share_p10,
        within_min_share_p90=found.within_min_share_p90,
        p_defib_before_ambulance=found.p_defib_before_ambulance,
        expected_min_saved=found.expected_min_saved,
    )
