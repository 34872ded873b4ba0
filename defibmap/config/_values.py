"""Checked readers for single values of a study file.

Each reader takes one key of one section of a parsed study TOML and returns it typed, or
raises a :class:`~defibmap._errors.ConfigError` that names the study file, the section, the
key and what was expected. File paths are resolved against the study file's folder.

Private to the package: :mod:`defibmap.config.study_file` and :mod:`defibmap.config._options` call
these.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from defibmap._errors import ConfigError
from defibmap.defaults import DEFAULT_BUFFER_M
from defibmap.layers import KINDS, OSM_KINDS


def type_error(path: Path, section: str, key: str, expected: str, value: object) -> ConfigError:
    """Return the error for ``[section] key`` of ``path`` holding ``value``, not ``expected``."""
    msg = f"{path}: [{section}] {key} must be {expected}, got {value!r}"
    return ConfigError(msg)


def get(
    table: dict[str, Any], key: str, kind: type | tuple[type, ...], path: Path, section: str
) -> Any:  # noqa: ANN401 - TOML values
    """Return ``table[key]`` checked to be of ``kind`` (a bool is not a number), else None."""
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise type_error(path, section, key, "a whole number" if kind is int else "a number", value)
    if not isinstance(value, kind):
        kinds = (kind,) if isinstance(kind, type) else kind
        if float in kinds:  # "a number" already takes in whole numbers
            kinds = tuple(k for k in kinds if k is not int)
        names = dict.fromkeys(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise type_error(path, section, key, " or ".join(names), value)
    return value


#: How a study file's value types are named in messages (a TOML user's words, not Python's).
_TYPE_NAMES: dict[type, str] = {
    int: "a whole number",
    float: "a number",
    str: "text",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def file(
    base: Path,
    value: str,
    path: Path,
    section: str,
    key: str = "file",
    *,
    folder_ok: bool = False,
) -> Path:
    """Return an existing, readable input path of a study file, relative to ``base``.

    Anything but a regular file (or a folder, where ``folder_ok``) is refused here, before
    any long work: a named pipe would make the reader wait forever, ``/dev/null`` reads as
    empty.
    """
    if not isinstance(value, str) or not value:
        raise type_error(path, section, key, "a file path", value)
    candidate = Path(value).expanduser()
    resolved = candidate if candidate.is_absolute() else base / candidate
    if not resolved.exists():
        msg = f"{path}: [{section}] {key} = {value!r}: no such file ({resolved})"
        raise ConfigError(msg)
    problem = _not_a_file(resolved, folder_ok=folder_ok)
    if problem:
        msg = f"{path}: [{section}] {key} = {value!r}: {problem} ({resolved})"
        raise ConfigError(msg)
    return resolved


def _not_a_file(resolved: Path, *, folder_ok: bool) -> str:
    """Return why ``resolved`` (which exists) cannot be read as an input file, or ``""``."""
    try:
        mode = resolved.stat().st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(mode):
        if folder_ok:
            return ""
        return "is a folder, not a file; give the path of the file in it"
    if not stat.S_ISREG(mode):
        kind = (
            "a named pipe"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        return f"is {kind}, not a saved file; give the path of a file on disk"
    if not os.access(resolved, os.R_OK):
        return "cannot be read (permission denied); check the file's permissions"
    return ""


def folder(base: Path, value: str) -> Path:
    """Return a folder path of the study file: ``~`` expanded, relative to its folder."""
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def choice(
    table: dict[str, Any],
    key: str,
    allowed: tuple[str, ...],
    default: str,
    where: Path,
    section: str,
) -> str:
    """Return ``table[key]`` (else ``default``) checked to be one of ``allowed``."""
    value = table.get(key, default)
    if value not in allowed:
        raise type_error(where, section, key, " or ".join(repr(a) for a in allowed), value)
    return str(value)


def osm_kinds(table: dict[str, Any], where: Path, section: str) -> tuple[str, ...]:
    """Read and check ``osm = "kind"`` or ``osm = ["kind", ...]`` of a layer section."""
    value = table.get("osm")
    if value is None:
        return ()
    kinds = [value] if isinstance(value, str) else value
    allowed = OSM_KINDS[section]
    if (
        not isinstance(kinds, list)
        or not kinds
        or not all(isinstance(k, str) for k in kinds)
        or len(set(kinds)) != len(kinds)
    ):
        expected = "an OpenStreetMap layer name or a list of different ones"
        raise type_error(where, section, "osm", f"{expected} ({', '.join(allowed)})", value)
    for kind in kinds:
        if kind not in KINDS:
            msg = (
                f"{where}: [{section}] osm = {value!r}: unknown OpenStreetMap layer {kind!r}; "
                f"known: {', '.join(KINDS)}"
            )
            raise ConfigError(msg)
        if kind not in allowed:
            msg = (
                f"{where}: [{section}] osm = {value!r}: the {kind!r} layer does not belong in "
                f"[{section}]; it takes {', '.join(repr(a) for a in allowed)}"
            )
            raise ConfigError(msg)
    return tuple(kinds)


@dataclass(frozen=True)
class Range:
    """What a numeric study-file key may hold: its unit and bounds.

    ``minimum`` and ``maximum`` are inclusive, ``above`` exclusive; ``integer`` asks for a
    whole number.
    """

    unit: str
    minimum: float | None = None
    above: float | None = None
    maximum: float | None = None
    integer: bool = False

    def expected(self) -> str:
        """Return the plain words for what is expected (``finite metres > 0``)."""
        bounds = []
        if self.minimum is not None:
            bounds.append(f">= {self.minimum:g}")
        if self.above is not None:
            bounds.append(f"> {self.above:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        kind = "a whole number of" if self.integer else "finite"
        return f"{kind} {self.unit}" + (f" {' and '.join(bounds)}" if bounds else "")

    def holds(self, value: object) -> bool:
        """Return whether ``value`` is a number (not a bool) inside the range."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        number_ = float(value)
        return (
            math.isfinite(number_)
            and (not self.integer or isinstance(value, int))
            and (self.minimum is None or number_ >= self.minimum)
            and (self.above is None or number_ > self.above)
            and (self.maximum is None or number_ <= self.maximum)
        )


def number(
    table: dict[str, Any], key: str, where: Path, section: str, allowed: Range
) -> float | None:
    """Return ``table[key]`` as a checked number, or None when the key is absent.

    The one check every numeric key of a study file goes through: a number (not a bool, not
    text), finite (TOML allows ``inf`` and ``nan``), a whole number where the range asks for
    one, and inside the range.

    Raises
    ------
    ConfigError
        Naming the file, section and key, what was expected and what was found.
    """
    if key not in table:
        return None
    return checked_number(table[key], where, section, key, allowed)


def checked_number(value: object, where: Path, section: str, key: str, allowed: Range) -> float:
    """Return ``value`` checked against ``allowed`` (for list items and table values too)."""
    if not allowed.holds(value):
        raise type_error(where, section, key, allowed.expected(), value)
    return float(value)  # type: ignore[arg-type]


#: Every numeric key of a study file and what it may hold. A list key's items (thresholds,
#: targets) and a table key's values (``speeds_kph``) are checked one by one. The upper bounds
#: are sanity limits, far beyond any real study: a walk to fetch a defib of 10 km takes over
#: an hour and a half, a walker faster than 10 m/s is a sprinter.
NUMERIC_KEYS: dict[tuple[str, str], Range] = {
    ("network", "max_snap_m"): Range("metres", minimum=0),
    ("network", "boundary_buffer_m"): Range("metres", minimum=DEFAULT_BUFFER_M),
    ("defibs", "register_within_m"): Range("metres", above=0, maximum=1_000),
    ("coverage", "thresholds_m"): Range("metres", above=0, maximum=10_000),
    ("ranking", "new_sites"): Range("sites", minimum=0, maximum=10_000, integer=True),
    ("ranking", "threshold_m"): Range("metres", above=0, maximum=10_000),
    ("ranking", "targets"): Range("shares", above=0, maximum=1),
    ("ranking", "budget"): Range("money (the unit of the candidates' cost column)", above=0),
    ("ranking", "upgrade_cost"): Range(
        "money (the unit of the candidates' cost column)", minimum=0
    ),
    ("ranking", "station_cost"): Range(
        "money (the unit of the candidates' cost column)", minimum=0
    ),
    ("ranking", "hub_cost"): Range("money (the unit of the candidates' cost column)", minimum=0),
    ("first_responders", "accept_share"): Range("probability", minimum=0, maximum=1),
    ("first_responders", "carries_defib"): Range("probability", minimum=0, maximum=1),
    ("first_responders", "speed_m_s"): Range("metres per second", above=0, maximum=50),
    ("first_responders", "alert_m"): Range("metres", above=0, maximum=10_000),
    ("availability", "school_term_weeks"): Range("weeks", minimum=0, maximum=52, integer=True),
    ("availability", "walking_speed_m_s"): Range("metres per second", above=0, maximum=10),
    ("availability", "max_days_unchecked"): Range("days", minimum=0, maximum=36_500, integer=True),
    ("response", "cabinet_s"): Range("seconds", minimum=0, maximum=86_400),
    ("response", "locked_cabinet_extra_s"): Range("seconds", minimum=0, maximum=86_400),
    ("response", "fire_turnout_s"): Range("seconds", minimum=0, maximum=86_400),
    ("response", "ambulance_s"): Range("seconds", minimum=0, maximum=86_400),
    ("response", "ambulance_turnout_s"): Range("seconds", minimum=0, maximum=86_400),
    ("response", "ambulance_mean_s"): Range("seconds", above=0, maximum=86_400),
    ("response", "ambulance_p90_s"): Range("seconds", above=0, maximum=86_400),
    ("response", "recognition_s"): Range("seconds", minimum=0, maximum=86_400),
    ("response", "second_bystander"): Range("probability", minimum=0, maximum=1),
    ("response", "fire_available"): Range("probability", minimum=0, maximum=1),
    ("response", "fire_turnout_on_call_s"): Range("seconds", minimum=0, maximum=86_400),
    ("response", "walking_speed_sigma"): Range("log-scale spread", minimum=0, maximum=3),
    ("response", "draws"): Range("draws", minimum=1, maximum=100_000, integer=True),
    ("response", "seed"): Range("seed", minimum=0, maximum=2**63 - 1, integer=True),
    ("response", "speeds_kph"): Range("km/h", above=0, maximum=200),
    ("incidents", "bandwidth_m"): Range("metres", above=0, maximum=10_000),
    ("sensitivity", "draws"): Range("draws", minimum=0, maximum=100_000, integer=True),
    ("sensitivity", "seed"): Range("seed", minimum=0, maximum=2**63 - 1, integer=True),
    ("sensitivity", "top_k"): Range("options", minimum=1, maximum=10_000, integer=True),
    ("sensitivity", "stable_share"): Range("share", above=0, maximum=1),
    ("sensitivity", "demand_weight_cv"): Range("coefficient of variation", minimum=0, maximum=3),
}

#: The ``[low, high]`` range keys of a study file (each bound checked against its range).
RANGE_KEYS: dict[tuple[str, str], Range] = {
    ("sensitivity", "walking_speed_m_s"): Range("metres per second", above=0, maximum=10),
    ("sensitivity", "threshold_factor"): Range("factor", above=0, maximum=5),
    ("sensitivity", "unknown_hours"): Range("probability", minimum=0, maximum=1),
    ("sensitivity", "second_bystander"): Range("probability", minimum=0, maximum=1),
    ("sensitivity", "ambulance_factor"): Range("factor", above=0, maximum=10),
}


def numeric(table: dict[str, Any], section: str, key: str, where: Path) -> float | None:
    """Return ``[section] key`` checked against :data:`NUMERIC_KEYS`, or None when absent."""
    return number(table, key, where, section, NUMERIC_KEYS[section, key])


def numbers(value: object, section: str, key: str, where: Path) -> tuple[float, ...]:
    """Return a non-empty list key (``thresholds_m``, ``targets``), each item checked."""
    allowed = NUMERIC_KEYS[section, key]
    if not isinstance(value, list) or not value:
        raise type_error(where, section, key, f"a list of {allowed.expected()}", value)
    for item in value:
        if not allowed.holds(item):
            raise type_error(where, section, key, f"a list of {allowed.expected()}", value)
    return tuple(float(v) for v in value)


def low_high(
    table: dict[str, Any], section: str, key: str, where: Path
) -> tuple[float, float] | None:
    """Return a ``[low, high]`` range key, each bound checked, low <= high; None when absent."""
    if key not in table:
        return None
    value = table[key]
    allowed = RANGE_KEYS[section, key]
    expected = f"a list [low, high] of two {allowed.expected()}, low <= high"
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(allowed.holds(v) for v in value)
        or float(value[0]) > float(value[1])
    ):
        raise type_error(where, section, key, expected, value)
    return float(value[0]), float(value[1])
