"""The analysis options of a study file.

The ``[ranking]`` choices and targets, the ``[availability]`` hours, the ``[finer_demand]``
postcode points, the named ``[scenarios]``, the ``[response]`` times and the ``[demand]``
deprivation and ward columns, read and checked into the keyword arguments of
:class:`defibmap.config.study_file.StudyConfig`.

Private to the package: :func:`defibmap.config.study_file.study_from_dict` calls
:func:`read_options`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from defibmap import layers
from defibmap._errors import ConfigError
from defibmap.config import _values
from defibmap.defaults import DEFAULT_SCHOOL_HOURS, WALKING_SPEED_M_S

if TYPE_CHECKING:
    from pathlib import Path

#: The keys of the ``[response]`` section (seconds, and ``speeds_kph`` by road type).
RESPONSE_KEYS = {
    "cabinet_s",
    "locked_cabinet_extra_s",
    "fire_turnout_s",
    "ambulance_s",
    "ambulance_turnout_s",
    "speeds_kph",
}


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


def _response(data: dict[str, Any], where: Path) -> dict[str, Any]:
    """Read ``[response]``: seconds >= 0, and ``speeds_kph`` as road type = km/h."""
    resp = dict(data.get("response", {}))
    for key, value in resp.items():
        if key == "speeds_kph":
            if not isinstance(value, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v > 0
                for v in value.values()
            ):
                raise _values.type_error(
                    where, "response", key, "a table of road type = km/h", value
                )
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise _values.type_error(where, "response", key, "seconds >= 0", value)
    return resp


def read_options(data: dict[str, Any], base: Path, where: Path) -> dict[str, Any]:
    """Read and check the analysis options (ranking, hours, finer demand, scenarios)."""
    ranking = data.get("ranking", {})
    hours = data.get("availability", {})
    demand = data.get(layers.DEMAND, {})
    targets = ranking.get("targets", [0.5, 0.75, 0.9])
    if not isinstance(targets, list) or not all(
        isinstance(t, int | float) and not isinstance(t, bool) and 0 < t <= 1 for t in targets
    ):
        raise _values.type_error(where, "ranking", "targets", "a list of shares in (0, 1]", targets)
    term_weeks = _values.get(hours, "school_term_weeks", int, where, "availability")
    if term_weeks is not None and not 0 <= term_weeks <= 52:
        raise _values.type_error(where, "availability", "school_term_weeks", "0 to 52", term_weeks)
    speed = _values.get(hours, "walking_speed_m_s", (int, float), where, "availability")
    if speed is not None and speed <= 0:
        raise _values.type_error(where, "availability", "walking_speed_m_s", "positive", speed)
    finer = _finer_demand(data, base, where)
    scenarios: dict[str, tuple[str, ...]] = {}
    for name, table in data.get("scenarios", {}).items():
        sites = table.get("sites") if isinstance(table, dict) else None
        if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
            raise _values.type_error(
                where, f"scenarios.{name}", "sites", "a list of site ids", sites
            )
        scenarios[str(name)] = tuple(sites)
    resp = _response(data, where)
    return {
        "response": resp,
        "baseline": _values.choice(
            ranking, "baseline", ("current", "current+stations"), "current", where, "ranking"
        ),
        "weight": _values.choice(
            ranking, "weight", ("population", "deprivation"), "population", where, "ranking"
        ),
        "targets": tuple(float(t) for t in targets),
        "targets_of": _values.choice(
            ranking, "targets_of", ("reachable", "total"), "reachable", where, "ranking"
        ),
        "unknown_hours": _values.choice(
            hours, "unknown_hours", ("available", "unavailable"), "available", where, "availability"
        ),
        "school_hours": _values.get(hours, "school_hours", str, where, "availability")
        or DEFAULT_SCHOOL_HOURS,
        "school_term_weeks": 39 if term_weeks is None else int(term_weeks),
        "walking_speed_m_s": WALKING_SPEED_M_S if speed is None else float(speed),
        "imd_column": _values.get(demand, "imd_decile", str, where, layers.DEMAND),
        "ward_column": _values.get(demand, "ward", str, where, layers.DEMAND),
        "finer_demand": finer,
        "scenarios": scenarios,
    }
