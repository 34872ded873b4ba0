"""Time to the first defibrillator within a study.

The glue between a study and :mod:`defibmap.analysis.response` /
:mod:`defibmap.analysis.drive_routes`.

Private to the package: :mod:`defibmap.study.pipeline` calls :func:`time_analysis`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap import layers as layer_kinds
from defibmap._errors import NetworkError
from defibmap.analysis import drive_routes, response
from defibmap.defaults import (
    AMBULANCE_S,
    AMBULANCE_TURNOUT_S,
    CABINET_S,
    FIRE_TURNOUT_S,
    LOCKED_CABINET_EXTRA_S,
    WALKING_SPEED_M_S,
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
    """

    demand: gpd.GeoDataFrame
    walks: Mapping[str, NDArray[np.float64]]
    locked: NDArray[np.bool_]
    fire: gpd.GeoDataFrame | None
    ambulance_bases: gpd.GeoDataFrame | None


def time_analysis(
    config: StudyConfig,
    inputs: TimingInputs,
    *,
    crs: str,
    cache: Path | None = None,
    refresh: bool = False,
) -> tuple[TimeToDefib, pd.DataFrame]:
    """Minutes to the first defib by bystander fetch, fire co-responder or ambulance.

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
        ``demand_coverage.csv``.
    """
    demand, walks, locked = inputs.demand, inputs.walks, inputs.locked
    ambulance_bases = inputs.ambulance_bases
    opts = config.response
    population = demand["population"].to_numpy(dtype=np.float64)
    dx = demand.geometry.x.to_numpy()
    dy = demand.geometry.y.to_numpy()
    scheme = co_responders(inputs.fire, config)
    notes: list[str] = []
    fire_res = None
    amb_drive = None
    dnet = None
    if scheme is not None or ambulance_bases is not None:
        dnet = _drive_network(config, crs, cache, refresh=refresh)
    if scheme is not None and dnet is not None:
        fire_res = drive_routes.drive_from_stations(
            dnet, scheme.geometry.x.to_numpy(), scheme.geometry.y.to_numpy(), dx, dy
        )
        if fire_res.n_stations_on_network == 0:
            pts = np.column_stack([scheme.geometry.x.to_numpy(), scheme.geometry.y.to_numpy()])
            import shapely

            _, dist = dnet.edge_tree().query_nearest(
                shapely.points(pts), return_distance=True, all_matches=False
            )
            far = ", ".join(f"{d:,.0f} m" for d in sorted(dist))
            notes.append(
                "Fire co-responding cannot be assessed: no co-responding fire station lies "
                f"within 250 m of the study's road network (they are {far} away, outside the "
                "OpenStreetMap extract). Times use bystander fetch and the ambulance only."
            )
            fire_res = None
    if ambulance_bases is not None and dnet is not None:
        amb = drive_routes.drive_from_stations(
            dnet,
            ambulance_bases.geometry.x.to_numpy(),
            ambulance_bases.geometry.y.to_numpy(),
            dx,
            dy,
        )
        amb_drive = amb.fire_drive_s
    assumptions = response.ResponseAssumptions(
        walking_speed_m_s=config.walking_speed_m_s,
        cabinet_s=opts.get("cabinet_s", CABINET_S),
        locked_cabinet_extra_s=opts.get("locked_cabinet_extra_s", LOCKED_CABINET_EXTRA_S),
        fire_turnout_s=opts.get("fire_turnout_s", FIRE_TURNOUT_S),
        ambulance_s=opts.get("ambulance_s", AMBULANCE_S),
        ambulance_turnout_s=opts.get("ambulance_turnout_s", AMBULANCE_TURNOUT_S),
    )
    times = functools.partial(
        response.time_to_defib, ambulance_drive_s=amb_drive, assumptions=assumptions
    )
    fire_s = None if fire_res is None else fire_res.fire_drive_s
    summary: dict[str, TimeSummary] = {}
    frames: dict[str, pd.DataFrame] = {}
    for name, walk in walks.items():
        lock = locked if name == "current" else np.zeros(len(walk), dtype=bool)
        frames[name] = times(walk_m=walk, locked=lock)
        summary[name] = _summary(frames[name], population)
        if fire_s is not None:
            with_fire = times(walk_m=walk, locked=lock, fire_drive_s=fire_s)
            frames[f"{name}+fire"] = with_fire
            summary[f"{name}+fire"] = _summary(with_fire, population)
    headline = "current+fire" if "current+fire" in frames else "current"
    chosen = frames[headline]
    columns = pd.DataFrame(
        {
            "walk_fetch_s": chosen["walk_fetch_s"].to_numpy(),
            "fire_drive_m": np.full(len(demand), np.nan)
            if fire_res is None
            else fire_res.fire_drive_m,
            "fire_drive_s": np.full(len(demand), np.nan) if fire_s is None else fire_s,
            "time_to_defib_s": chosen["time_to_defib_s"].to_numpy(),
            "first_route": chosen["first_route"].to_numpy(),
        },
        index=demand.index,
    )
    out = TimeToDefib(
        scenarios=summary,
        per_point_scenario=headline,
        co_responding="assessed" if fire_res is not None else "not assessed",
        assumptions=TimeAssumptions(
            walking_speed_m_s=config.walking_speed_m_s,
            cabinet_s=assumptions.cabinet_s,
            locked_cabinet_extra_s=assumptions.locked_cabinet_extra_s,
            fire_turnout_s=assumptions.fire_turnout_s,
            ambulance_s=assumptions.ambulance_s,
            ambulance="drive from [ambulance_bases] plus turnout"
            if amb_drive is not None
            else "one area-wide response time (NHS England Category 1 mean target, 7 minutes)",
            sources={
                "walking_speed": f"{WALKING_SPEED_M_S} m/s, 4 mph (Deakin et al., Heart 2018)",
                "ambulance_s": "NHS England Ambulance Response Programme: Category 1 mean 7 min",
                "fire_turnout_s": "assumption to confirm with the fire and rescue service",
                "cabinet_s": "assumption: open an unlocked cabinet and take the defib",
                "locked_cabinet_extra_s": "assumption: get the code from the 999 call handler",
                "drive_speeds": "OSM maxspeed (UK mph) else defaults per road type "
                "(defibmap.network.drive.DEFAULT_SPEEDS_KPH)",
            },
        ),
        notes=tuple(notes),
    )
    return out, columns


def _summary(frame: pd.DataFrame, population: NDArray[np.float64]) -> TimeSummary:
    """Population-weighted summary of one scenario's times."""
    found = response.summarise_times(frame, population)
    return TimeSummary(
        population=found["population"],
        median_s=found["median_s"],
        within_min_share=found["within_min_share"],
        first_route_share=found["first_route_share"],
    )
