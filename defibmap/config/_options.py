"""The analysis options of a study file.

The ``[ranking]`` choices and targets, the ``[availability]`` hours, the ``[finer_demand]``
postcode points, the named ``[scenarios]``, the ``[response]`` times and the ``[demand]``
deprivation and ward columns, read and checked into the keyword arguments of
:class:`defibmap.config.study_file.StudyConfig`.

Private to the package: :func:`defibmap.config.study_file.study_from_dict` calls
:func:`read_options`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path  # noqa: TC003 - a dataclass field's type
from typing import Any

from defibmap import layers
from defibmap._errors import ConfigError
from defibmap.config import _values
from defibmap.defaults import (
    AMBULANCE_MEAN_S,
    AMBULANCE_P90_S,
    DEFAULT_MAX_DAYS_UNCHECKED,
    DEFAULT_SCHOOL_HOURS,
    DEFAULT_SCHOOL_TERM_WEEKS,
    DEFAULT_SPEEDS_KPH,
    DEFAULT_TARGETS,
    FIRST_RESPONDER_ACCEPT,
    FIRST_RESPONDER_ALERT_M,
    FIRST_RESPONDER_DEFIB,
    FIRST_RESPONDER_SPEED_M_S,
    WALKING_SPEED_M_S,
)

#: The keys of the ``[response]`` section (seconds, probabilities, the draws, a file of
#: observed ambulance times, and ``speeds_kph`` by road type).
RESPONSE_KEYS = {
    "cabinet_s",
    "locked_cabinet_extra_s",
    "fire_turnout_s",
    "fire_turnout_on_call_s",
    "fire_available",
    "ambulance_s",
    "ambulance_mean_s",
    "ambulance_p90_s",
    "ambulance_times_file",
    "ambulance_areas_file",
    "ambulance_area_column",
    "ambulance_turnout_s",
    "recognition_s",
    "second_bystander",
    "walking_speed_sigma",
    "draws",
    "seed",
    "speeds_kph",
}


#: The keys of the ``[sensitivity]`` section: the draws, their seed, the top counted, what
#: counts as stable, the exact optimum per draw, and the range of each assumption.
SENSITIVITY_RANGES = (
    "walking_speed_m_s",
    "threshold_factor",
    "unknown_hours",
    "second_bystander",
    "ambulance_factor",
)
SENSITIVITY_KEYS = {
    "draws",
    "seed",
    "top_k",
    "stable_share",
    "exact",
    "demand_weight_cv",
    *SENSITIVITY_RANGES,
}


def _sensitivity(data: dict[str, Any], where: Path) -> dict[str, Any]:
    """Read ``[sensitivity]``: numbers in range, ranges as ``[low, high]``, ``exact`` a bool.

    Only the keys given are returned (the study fills in the defaults); an empty section
    still asks for the draws (``{}`` is returned as ``{"draws": None}``).
    """
    if "sensitivity" not in data:
        return {}
    table = dict(data["sensitivity"])
    out: dict[str, Any] = {"draws": None}
    for key in ("draws", "seed", "top_k", "stable_share", "demand_weight_cv"):
        value = _values.numeric(table, "sensitivity", key, where)
        if value is not None:
            out[key] = int(value) if key in ("draws", "seed", "top_k") else float(value)
    exact = _values.get(table, "exact", bool, where, "sensitivity")
    if exact is not None:
        out["exact"] = bool(exact)
    for key in SENSITIVITY_RANGES:
        bounds = _values.low_high(table, "sensitivity", key, where)
        if bounds is not None:
            out[key] = bounds
    return out


def _finer_demand(data: dict[str, Any], base: Path, where: Path) -> dict[str, Any]:
    """Read ``[finer_demand]``: its files resolved, its ``method`` checked."""
    finer = dict(data.get("finer_demand", {}))
    for key in ("file", "centroids_file", "boundary_file"):
        if key in finer:
            finer[key] = _values.file(base, finer[key], where, "finer_demand", key)
    if finer:
        if "file" not in finer:
            msg = f"{where}: [finer_demand] needs a file of postcode points"
            raise ConfigError(msg)
        finer["method"] = _values.choice(
            finer,
            "method",
            ("nearest_centroid", "boundary"),
            "nearest_centroid",
            where,
            "finer_demand",
        )
        if finer["method"] == "boundary" and "boundary_file" not in finer:
            msg = f"{where}: [finer_demand] method = 'boundary' needs boundary_file"
            raise ConfigError(msg)
    return finer


def _response(data: dict[str, Any], base: Path, where: Path) -> dict[str, Any]:
    """Read ``[response]``: numbers in range, a times file, ``speeds_kph`` as road = km/h.

    ``ambulance_s`` (the older name) is the mean when ``ambulance_mean_s`` is absent; giving
    both with different values, or a times file with a mean or 90th centile, is refused, and
    so is a mean and 90th centile no lognormal has.
    """
    resp = dict(data.get("response", {}))
    for key, value in resp.items():
        if key in ("ambulance_times_file", "ambulance_areas_file"):
            resp[key] = _values.file(base, value, where, "response", key)
            continue
        if key == "ambulance_area_column":
            if not isinstance(value, str) or not value.strip():
                raise _values.type_error(where, "response", key, "a demand column name", value)
            continue
        if key != "speeds_kph":
            _values.numeric(resp, "response", key, where)
            continue
        if not isinstance(value, dict):
            raise _values.type_error(where, "response", key, "a table of road type = km/h", value)
        unknown = sorted(set(value) - set(DEFAULT_SPEEDS_KPH))
        if unknown:
            msg = (
                f"{where}: [response] speeds_kph: unknown road type(s) {unknown}; "
                f"known: {sorted(DEFAULT_SPEEDS_KPH)}"
            )
            raise ConfigError(msg)
        for road, kph in value.items():
            _values.checked_number(
                kph, where, "response", f"speeds_kph.{road}", _values.NUMERIC_KEYS["response", key]
            )
    _ambulance_distribution(resp, where)
    return resp


#: The standard normal 90th centile (as ``defibmap.analysis.response_draws.Z90``; config may
#: not import analysis).
_Z90 = 1.2815515655


def _ambulance_distribution(resp: dict[str, Any], where: Path) -> None:
    """Refuse conflicting ambulance keys and a mean / 90th centile no lognormal has."""
    old, mean = resp.get("ambulance_s"), resp.get("ambulance_mean_s")
    if old is not None and mean is not None and float(old) != float(mean):
        msg = (
            f"{where}: [response] ambulance_s ({old}) and ambulance_mean_s ({mean}) disagree; "
            "ambulance_s is the older name of ambulance_mean_s: give one"
        )
        raise ConfigError(msg)
    given = [k for k in ("ambulance_s", "ambulance_mean_s", "ambulance_p90_s") if k in resp]
    if "ambulance_times_file" in resp and given:
        msg = (
            f"{where}: [response] ambulance_times_file gives the ambulance times; leave out "
            f"{', '.join(given)}"
        )
        raise ConfigError(msg)
    if "ambulance_times_file" in resp and "ambulance_areas_file" in resp:
        msg = (
            f"{where}: [response] ambulance_times_file and ambulance_areas_file both give the "
            "ambulance times: give one"
        )
        raise ConfigError(msg)
    mean_s = float(mean if mean is not None else old if old is not None else AMBULANCE_MEAN_S)
    p90 = resp.get("ambulance_p90_s")
    # an old study file with only ambulance_s keeps the standard's ratio of 90th centile to mean
    p90_s = float(p90) if p90 is not None else mean_s * AMBULANCE_P90_S / AMBULANCE_MEAN_S
    top = mean_s * math.exp(_Z90 * _Z90 / 2.0)
    if not mean_s <= p90_s <= top:
        msg = (
            f"{where}: [response] ambulance_p90_s must lie from the mean ({mean_s:g} s) to "
            f"{top:,.0f} s for a lognormal to have both, got {p90_s:g}"
        )
        raise ConfigError(msg)


#: The scenarios every study reports; a study's own [scenarios.NAME] may not take these names.
BUILT_IN_SCENARIOS = ("current", "current+stations", "current+stations+recommended")


def _scenarios(data: dict[str, Any], where: Path) -> dict[str, tuple[str, ...]]:
    """Read ``[scenarios.NAME]`` tables: ``sites``, a list of site ids; no other key."""
    scenarios: dict[str, tuple[str, ...]] = {}
    for name, table in data.get("scenarios", {}).items():
        section = f"scenarios.{name}"
        if name in BUILT_IN_SCENARIOS:
            msg = (
                f"{where}: [{section}] is the name of a built-in scenario "
                f"({', '.join(BUILT_IN_SCENARIOS)}); give yours another name"
            )
            raise ConfigError(msg)
        if isinstance(table, dict) and set(table) - {"sites"}:
            unknown = sorted(set(table) - {"sites"})
            msg = f"{where}: [{section}] unknown key(s) {unknown}; known: ['sites']"
            raise ConfigError(msg)
        sites = table.get("sites") if isinstance(table, dict) else None
        if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
            raise _values.type_error(where, section, "sites", "a list of site ids", sites)
        scenarios[str(name)] = tuple(sites)
    return scenarios


def _school_hours(hours: dict[str, Any], where: Path) -> str:
    """Read ``[availability] school_hours``: OSM opening hours; absent gives the default."""
    value = _values.get(hours, "school_hours", str, where, "availability")
    if value is None:
        return DEFAULT_SCHOOL_HOURS
    if not value.strip():
        expected = (
            f"OpenStreetMap opening hours such as {DEFAULT_SCHOOL_HOURS!r} (leave it out for that)"
        )
        raise _values.type_error(where, "availability", "school_hours", expected, value)
    return str(value)


#: What ``[demand] weight`` may be: what the ranking maximises per demand point.
DEMAND_WEIGHTS = ("residents", "expected_arrests", "incidents")
#: The ``[demand]`` keys that name the files of expected arrests.
_ARREST_FILES = ("ages_file", "incidence_file", "deprivation_ratio_file")


@dataclass(frozen=True)
class DemandWeightConfig:
    """``[demand] weight`` and what it needs: the age and rate tables, or the incidents.

    Attributes
    ----------
    basis
        ``"residents"`` (default), ``"expected_arrests"`` or ``"incidents"``.
    ages_file
        ONS mid-year estimates by single year of age, joined on the demand ids (area codes).
    incidence_file
        OHCA incidence per 100,000 a year by age band (no default table is shipped).
    deprivation_ratio_file
        Rate ratios by IMD quintile; optional.
    incidents_method
        ``"points"`` (each incident at its nearest demand point) or ``"kernel"``.
    bandwidth_m
        The Gaussian kernel's standard deviation, metres (``kernel`` only).
    datetime_column
        The ``[incidents]`` column holding each arrest's date and time.
    location_type_column
        The ``[incidents]`` column holding the place type (home, public ...), or None.
    """

    basis: str = "residents"
    ages_file: Path | None = None
    incidence_file: Path | None = None
    deprivation_ratio_file: Path | None = None
    incidents_method: str = "points"
    bandwidth_m: float | None = None
    datetime_column: str = "datetime"
    location_type_column: str | None = None


def _incidents(data: dict[str, Any], basis: str, where: Path) -> dict[str, Any]:
    """Read the ``[incidents]`` options; refuse the section without ``weight = "incidents"``."""
    table = data.get(layers.INCIDENTS)
    if table is None:
        if basis == "incidents":
            msg = (
                f"{where}: [demand] weight = 'incidents' needs an [incidents] section "
                "(a file of past cardiac arrests with a date-time column)"
            )
            raise ConfigError(msg)
        return {}
    if basis != "incidents":
        msg = (
            f"{where}: [incidents] is read only with [demand] weight = 'incidents' "
            f"(the weight is {basis!r}); set it, or leave the section out"
        )
        raise ConfigError(msg)
    section = layers.INCIDENTS
    method = _values.choice(table, "method", ("points", "kernel"), "points", where, section)
    bandwidth = _values.numeric(table, section, "bandwidth_m", where)
    if method == "kernel" and bandwidth is None:
        msg = f"{where}: [incidents] method = 'kernel' needs bandwidth_m (metres)"
        raise ConfigError(msg)
    if method == "points" and bandwidth is not None:
        msg = f"{where}: [incidents] bandwidth_m is for method = 'kernel' only"
        raise ConfigError(msg)
    return {
        "incidents_method": method,
        "bandwidth_m": bandwidth,
        "datetime_column": _values.get(table, "datetime", str, where, section) or "datetime",
        "location_type_column": _values.get(table, "location_type", str, where, section),
    }


def _demand_weight(data: dict[str, Any], base: Path, where: Path) -> DemandWeightConfig:
    """Read ``[demand] weight`` with its files, and the ``[incidents]`` options."""
    demand = data.get(layers.DEMAND, {})
    basis = _values.choice(demand, "weight", DEMAND_WEIGHTS, "residents", where, layers.DEMAND)
    files = {
        key: _values.file(base, demand[key], where, layers.DEMAND, key)
        for key in _ARREST_FILES
        if key in demand
    }
    if files and basis != "expected_arrests":
        msg = (
            f"{where}: [demand] {min(files)} is read only with weight = "
            f"'expected_arrests' (the weight is {basis!r})"
        )
        raise ConfigError(msg)
    if basis == "expected_arrests":
        for key, what in (
            ("ages_file", "the ONS mid-year population estimates by single year of age"),
            (
                "incidence_file",
                (
                    "a table of cardiac-arrest incidence by age band, with its source "
                    "(defibmap ships none)"
                ),
            ),
        ):
            if key not in files:
                msg = f"{where}: [demand] weight = 'expected_arrests' needs {key}: {what}"
                raise ConfigError(msg)
    ranking_weight = data.get("ranking", {}).get("weight")
    if basis != "residents" and ranking_weight == "deprivation":
        msg = (
            f"{where}: [ranking] weight = 'deprivation' weighs residents; with [demand] "
            f"weight = {basis!r} leave it out (give a deprivation_ratio_file for risk by "
            "deprivation)"
        )
        raise ConfigError(msg)
    return DemandWeightConfig(
        basis=basis,
        ages_file=files.get("ages_file"),
        incidence_file=files.get("incidence_file"),
        deprivation_ratio_file=files.get("deprivation_ratio_file"),
        **_incidents(data, basis, where),
    )


def today() -> dt.date:
    """Return today's date where the study runs (its local time zone)."""
    return dt.datetime.now().astimezone().date()


def _as_of(hours: dict[str, Any], where: Path) -> dt.date:
    """Read ``[availability] as_of``: a TOML date or ``"YYYY-MM-DD"``; absent gives today."""
    value = hours.get("as_of")
    if value is None:
        return today()
    expected = "a date such as 2026-05-01 (a TOML date or the text '2026-05-01')"
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _values.type_error(where, "availability", "as_of", expected, value)


#: What a ranking may maximise (:data:`defibmap.analysis.ranking.OBJECTIVES`): the covering
#: objectives of :data:`defibmap.analysis.time_slices.OBJECTIVES` and expected survival.
OBJECTIVES = ("available", "night", "any", "survival")


def _layer_names(
    ranking: dict[str, Any], data: dict[str, Any], where: Path, key: str, kind: str
) -> tuple[str, ...]:
    """Read a ``[ranking]`` list of layer names of one kind.

    ``upgrades``: defib layers, ``stations``: station layers, ``hubs``: hub layers.
    """
    value = ranking.get(key, [])
    allowed = {
        "defib": layers.defib_source_names,
        "station": layers.station_names,
        "hub": layers.hub_names,
    }[kind]()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        expected = f"a list of {kind} layer names ({', '.join(allowed)})"
        raise _values.type_error(where, "ranking", key, expected, value)
    for name in value:
        if name not in allowed:
            msg = (
                f"{where}: [ranking] {key} = {value!r}: {name!r} is not a {kind} layer; "
                f"known: {', '.join(allowed)}"
            )
            raise ConfigError(msg)
        if name not in data:
            msg = f"{where}: [ranking] {key} names [{name}], which the study does not have"
            raise ConfigError(msg)
    return tuple(dict.fromkeys(value))


def _budget(
    ranking: dict[str, Any], upgrades: tuple[str, ...], stations: tuple[str, ...], where: Path
) -> dict[str, Any]:
    """Read ``budget``, ``upgrade_cost``, ``station_cost``; a budget needs every option's cost."""
    budget = _values.numeric(ranking, "ranking", "budget", where)
    upgrade_cost = _values.numeric(ranking, "ranking", "upgrade_cost", where)
    station_cost = _values.numeric(ranking, "ranking", "station_cost", where)
    hub_cost = _values.numeric(ranking, "ranking", "hub_cost", where)
    if budget is not None and ranking.get("hubs") and hub_cost is None:
        msg = (
            f"{where}: [ranking] budget with hubs needs hub_cost (what fitting a public "
            "cabinet at one ambulance hub costs, in the unit of the candidates' cost column)"
        )
        raise ConfigError(msg)
    if budget is not None and upgrades and upgrade_cost is None:
        msg = (
            f"{where}: [ranking] budget with upgrades needs upgrade_cost (what moving one "
            "defib to an outside cabinet costs, in the unit of the candidates' cost column)"
        )
        raise ConfigError(msg)
    if budget is not None and stations and station_cost is None:
        msg = (
            f"{where}: [ranking] budget with stations needs station_cost (what fitting an "
            "outside cabinet at one station costs, in the unit of the candidates' cost column)"
        )
        raise ConfigError(msg)
    return {
        "budget": budget,
        "upgrade_cost": upgrade_cost,
        "station_cost": station_cost,
        "hub_cost": hub_cost,
    }


#: The options of ``[first_responders]`` and their defaults (the rest of its keys name the
#: volunteers' file and columns, read as a point layer).
FIRST_RESPONDER_OPTIONS = {
    "accept_share": FIRST_RESPONDER_ACCEPT,
    "carries_defib": FIRST_RESPONDER_DEFIB,
    "speed_m_s": FIRST_RESPONDER_SPEED_M_S,
    "alert_m": FIRST_RESPONDER_ALERT_M,
}


def _first_responders(data: dict[str, Any], where: Path) -> dict[str, float]:
    """Read the ``[first_responders]`` options, each checked; empty without the section."""
    table = data.get(layers.FIRST_RESPONDERS)
    if table is None:
        return {}
    out = {}
    for key, default in FIRST_RESPONDER_OPTIONS.items():
        value = _values.numeric(table, layers.FIRST_RESPONDERS, key, where)
        out[key] = float(default) if value is None else float(value)
    return out


def read_options(data: dict[str, Any], base: Path, where: Path) -> dict[str, Any]:
    """Read and check the analysis options (ranking, hours, finer demand, scenarios)."""
    ranking = data.get("ranking", {})
    hours = data.get("availability", {})
    demand = data.get(layers.DEMAND, {})
    targets = _values.numbers(
        ranking.get("targets", list(DEFAULT_TARGETS)), "ranking", "targets", where
    )
    term_weeks = _values.numeric(hours, "availability", "school_term_weeks", where)
    speed = _values.numeric(hours, "availability", "walking_speed_m_s", where)
    unchecked = _values.numeric(hours, "availability", "max_days_unchecked", where)
    finer = _finer_demand(data, base, where)
    scenarios = _scenarios(data, where)
    resp = _response(data, base, where)
    # defib layers whose indoor defibs may move out; station layers that may get a cabinet
    upgrades = _layer_names(ranking, data, where, "upgrades", "defib")
    stations = _layer_names(ranking, data, where, "stations", "station")
    hubs = _layer_names(ranking, data, where, "hubs", "hub")
    return {
        "objective": _values.choice(
            ranking, "objective", OBJECTIVES, "available", where, "ranking"
        ),
        "upgrades": upgrades,
        "stations": stations,
        "hubs": hubs,
        "first_responders": _first_responders(data, where),
        **_budget(ranking, upgrades, stations, where),
        "response": resp,
        "sensitivity": _sensitivity(data, where),
        "baseline": _values.choice(
            ranking, "baseline", ("current", "current+stations"), "current", where, "ranking"
        ),
        "weight": _values.choice(
            ranking, "weight", ("population", "deprivation"), "population", where, "ranking"
        ),
        "targets": targets,
        # "total" is the old name of "all", still accepted
        "targets_of": _values.choice(
            ranking, "targets_of", ("all", "reachable", "total"), "all", where, "ranking"
        ).replace("total", "all"),
        "unknown_hours": _values.choice(
            hours, "unknown_hours", ("available", "unavailable"), "available", where, "availability"
        ),
        "school_hours": _school_hours(hours, where),
        "school_term_weeks": DEFAULT_SCHOOL_TERM_WEEKS if term_weeks is None else int(term_weeks),
        "walking_speed_m_s": WALKING_SPEED_M_S if speed is None else float(speed),
        "max_days_unchecked": DEFAULT_MAX_DAYS_UNCHECKED if unchecked is None else int(unchecked),
        "as_of": _as_of(hours, where),
        "imd_column": _values.get(demand, "imd_decile", str, where, layers.DEMAND),
        "ward_column": _values.get(demand, "ward", str, where, layers.DEMAND),
        "finer_demand": finer,
        "scenarios": scenarios,
        "demand_weight": _demand_weight(data, base, where),
    }
