"""Study files: one typed place for every setting, read from TOML.

Every file path in a study file is relative to the study file itself, or absolute. Every key
is documented in ``docs/study-file.md``; defaults are stated and cited there.

This module holds the typed settings, the sections and keys a study file may have, and reads
the study, network and point-layer sections; :mod:`defibmap.config._values` checks single
values, :mod:`defibmap.config._options` reads the analysis options.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defibmap._errors import ConfigError
from defibmap.config import _values
from defibmap.config._options import RESPONSE_KEYS, read_options
from defibmap.defaults import (
    DEFAULT_BUFFER_M,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_REGISTER_WITHIN_M,
    DEFAULT_SCHOOL_HOURS,
    DEFAULT_SCHOOL_TERM_WEEKS,
    DEFAULT_THRESHOLDS_M,
    WALKING_SPEED_M_S,
)
from defibmap.layers import OSM_KINDS

__all__ = [
    "DEFAULT_REGISTER_WITHIN_M",
    "LAYERS",
    "MIN_BOUNDARY_BUFFER_M",
    "OSM_KINDS",
    "LayerConfig",
    "NetworkConfig",
    "StudyConfig",
    "read_study",
    "study_from_dict",
]

LAYERS = (
    "demand",
    "day_demand",
    "defibs",
    "fire_stations",
    "police_stations",
    "candidates",
    "ambulance_bases",
)
_SOURCE_KEYS = {"source", "licence", "date"}
_COLUMN_KEYS = {"id", "name", "lon", "lat", "easting", "northing", "postcode", "sheet"}
_LAYER_KEYS: dict[str, set[str]] = {
    "demand": {"file", "population", "imd_decile", "ward", *_COLUMN_KEYS, *_SOURCE_KEYS},
    "day_demand": {"file", "population", *_COLUMN_KEYS, *_SOURCE_KEYS},
    "defibs": {
        "file",
        "osm",
        "register",
        "register_within_m",
        *_COLUMN_KEYS,
        *_SOURCE_KEYS,
    },
    "fire_stations": {
        "file",
        "osm",
        "outside_defib",
        "co_responder",
        *_COLUMN_KEYS,
        *_SOURCE_KEYS,
    },
    "police_stations": {"file", "osm", "outside_defib", *_COLUMN_KEYS, *_SOURCE_KEYS},
    "candidates": {"file", "osm", "council", *_COLUMN_KEYS, *_SOURCE_KEYS},
    "ambulance_bases": {"file", *_COLUMN_KEYS, *_SOURCE_KEYS},
}
#: Least (and default) distance, metres, the OSM area reaches beyond the ``[boundary]``.
MIN_BOUNDARY_BUFFER_M = DEFAULT_BUFFER_M
_SECTION_KEYS: dict[str, set[str]] = {
    "study": {"name", "description", "synthetic", "postcode_file"},
    "network": {
        "osm_file",
        "place",
        "graph_file",
        "max_snap_m",
        "crs",
        "cache_dir",
        "boundary_buffer_m",
        "extract_url",
    }
    | _SOURCE_KEYS,
    "coverage": {"thresholds_m"},
    "ranking": {"new_sites", "threshold_m", "baseline", "weight", "targets", "targets_of"},
    "availability": {"unknown_hours", "school_hours", "school_term_weeks", "walking_speed_m_s"},
    "finer_demand": {"file", "id", "method", "centroids_file", "boundary_file", *_SOURCE_KEYS},
    "scenarios": set(),
    "response": RESPONSE_KEYS,
    "boundary": {"file", *_SOURCE_KEYS},
    "wards": {"file", "name", *_SOURCE_KEYS},
    **_LAYER_KEYS,
}


@dataclass(frozen=True)
class LayerConfig:
    """One point layer of a study.

    ``file`` is None when the layer comes only from OpenStreetMap (``osm``) and/or a defib
    register (``register``). ``postcode`` names the file's postcode column (default: one
    called ``postcode``, ``post_code`` or ``postcode_unit``), used with
    :attr:`StudyConfig.postcode_file` to place rows that have no coordinates.
    """

    name: str
    file: Path | None
    id: str | None = None
    label: str | None = None
    lon: str | None = None
    lat: str | None = None
    easting: str | None = None
    northing: str | None = None
    postcode: str | None = None
    population: str | None = None
    sheet: str | int | None = None
    outside_defib: bool = False
    co_responder: bool = False
    source: str | None = None
    licence: str | None = None
    date: str | None = None
    osm: tuple[str, ...] = ()
    council: str | None = None
    register: Path | None = None
    register_within_m: float = DEFAULT_REGISTER_WITHIN_M


@dataclass(frozen=True)
class NetworkConfig:
    """Where the walking network comes from."""

    osm_file: Path | None = None
    place: str | None = None
    graph_file: Path | None = None
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    crs: str | None = None
    cache_dir: Path | None = None
    source: str | None = None
    licence: str | None = None
    date: str | None = None
    boundary_buffer_m: float = MIN_BOUNDARY_BUFFER_M
    extract_url: str | None = None


@dataclass(frozen=True)
class StudyConfig:
    """A whole study, as read from its TOML file."""

    name: str
    path: Path | None
    network: NetworkConfig
    layers: dict[str, LayerConfig]
    description: str = ""
    synthetic: bool = False
    thresholds_m: tuple[float, ...] = DEFAULT_THRESHOLDS_M
    new_sites: int = 3
    ranking_threshold_m: float | None = None
    wards_file: Path | None = None
    boundary_file: Path | None = None
    postcode_file: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    baseline: str = "current"
    weight: str = "population"
    targets: tuple[float, ...] = (0.5, 0.75, 0.9)
    targets_of: str = "reachable"
    unknown_hours: str = "available"
    school_hours: str = DEFAULT_SCHOOL_HOURS
    school_term_weeks: int = DEFAULT_SCHOOL_TERM_WEEKS
    walking_speed_m_s: float = WALKING_SPEED_M_S
    imd_column: str | None = None
    ward_column: str | None = None
    finer_demand: dict[str, Any] = field(default_factory=dict)
    scenarios: dict[str, tuple[str, ...]] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def headline_threshold_m(self) -> float:
        """The largest coverage threshold (the headline, 500 m by default)."""
        return float(max(self.thresholds_m))

    @property
    def rank_threshold_m(self) -> float:
        """The walk the ranking maximises coverage within (default: the headline)."""
        if self.ranking_threshold_m is not None:
            return self.ranking_threshold_m
        return self.headline_threshold_m


def _layer(name: str, table: dict[str, Any], base: Path, where: Path) -> LayerConfig:
    """Read and check one point-layer section."""
    kinds = _values.osm_kinds(table, where, name) if "osm" in table else ()
    register = (
        _values.file(base, table["register"], where, name, "register")
        if "register" in table
        else None
    )
    if "file" not in table and not kinds and register is None:
        also = ""
        if name in OSM_KINDS:
            also = f", osm = {' or '.join(repr(k) for k in OSM_KINDS[name])}"
        extra = " or register" if name == "defibs" else ""
        msg = f"{where}: [{name}] needs a file{also}{extra}"
        raise ConfigError(msg)
    council = _values.get(table, "council", str, where, name)
    if council is not None and (not council.strip() or "council_buildings" not in kinds):
        msg = (
            f'{where}: [{name}] council = {council!r} needs osm = "council_buildings" '
            "and a non-empty council name (matched in the buildings' operator or owner)"
        )
        raise ConfigError(msg)
    within = _values.get(table, "register_within_m", (int, float), where, name)
    if within is not None:
        if register is None:
            msg = f"{where}: [{name}] register_within_m needs register (a register export)"
            raise ConfigError(msg)
        if not (math.isfinite(within) and within > 0):
            raise _values.type_error(where, name, "register_within_m", "finite metres > 0", within)
    return LayerConfig(
        name=name,
        file=_values.file(base, table["file"], where, name) if "file" in table else None,
        id=_values.get(table, "id", str, where, name),
        label=_values.get(table, "name", str, where, name),
        lon=_values.get(table, "lon", str, where, name),
        lat=_values.get(table, "lat", str, where, name),
        easting=_values.get(table, "easting", str, where, name),
        northing=_values.get(table, "northing", str, where, name),
        postcode=_values.get(table, "postcode", str, where, name),
        population=_values.get(table, "population", str, where, name),
        sheet=_values.get(table, "sheet", (str, int), where, name),
        outside_defib=bool(_values.get(table, "outside_defib", bool, where, name) or False),
        co_responder=bool(_values.get(table, "co_responder", bool, where, name) or False),
        source=_values.get(table, "source", str, where, name),
        licence=_values.get(table, "licence", str, where, name),
        date=_values.get(table, "date", str, where, name),
        osm=kinds,
        council=council,
        register=register,
        register_within_m=float(within) if within is not None else DEFAULT_REGISTER_WITHIN_M,
    )


def read_study(path: str | Path) -> StudyConfig:
    """Read and check a study TOML file.

    Parameters
    ----------
    path
        The study file. Relative file paths inside it are resolved against its folder.

    Returns
    -------
    StudyConfig
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"{path}: cannot read the study file ({exc.strerror})"
        raise ConfigError(msg) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML: {exc}"
        raise ConfigError(msg) from exc
    return study_from_dict(data, base=path.parent, path=path)


def study_from_dict(data: dict[str, Any], *, base: Path, path: Path | None = None) -> StudyConfig:
    """Build a :class:`StudyConfig` from a parsed TOML mapping (paths relative to ``base``)."""
    where = path or base / "<study>"
    for section, table in data.items():
        if section not in _SECTION_KEYS:
            msg = f"{where}: unknown section [{section}]; known: {sorted(_SECTION_KEYS)}"
            raise ConfigError(msg)
        if not isinstance(table, dict):
            msg = f"{where}: [{section}] must be a table"
            raise ConfigError(msg)
        unknown = set(table) - _SECTION_KEYS[section]
        if section == "scenarios":
            unknown = set()
        if unknown:
            msg = (
                f"{where}: [{section}] unknown key(s) {sorted(unknown)}; "
                f"known: {sorted(_SECTION_KEYS[section])}"
            )
            raise ConfigError(msg)
    study = data.get("study", {})
    name = _values.get(study, "name", str, where, "study") or (path.stem if path else "study")
    net = data.get("network", {})
    sources = [k for k in ("osm_file", "place", "graph_file") if net.get(k) is not None]
    if len(sources) != 1:
        msg = f"{where}: [network] needs exactly one of osm_file, place or graph_file"
        raise ConfigError(msg)
    max_snap = _values.get(net, "max_snap_m", (int, float), where, "network")
    if max_snap is not None and not (math.isfinite(max_snap) and max_snap >= 0):
        raise _values.type_error(where, "network", "max_snap_m", "finite metres >= 0", max_snap)
    buffer_m = _values.get(net, "boundary_buffer_m", (int, float), where, "network")
    if buffer_m is not None and not (math.isfinite(buffer_m) and buffer_m >= MIN_BOUNDARY_BUFFER_M):
        raise _values.type_error(
            where,
            "network",
            "boundary_buffer_m",
            f"finite metres >= {MIN_BOUNDARY_BUFFER_M:g} (people near the edge walk to "
            "defibs beyond it)",
            buffer_m,
        )
    cache = _values.get(net, "cache_dir", str, where, "network")
    network = NetworkConfig(
        osm_file=_values.file(base, net["osm_file"], where, "network", "osm_file")
        if "osm_file" in net
        else None,
        place=_values.get(net, "place", str, where, "network"),
        graph_file=_values.file(base, net["graph_file"], where, "network", "graph_file")
        if "graph_file" in net
        else None,
        max_snap_m=float(max_snap) if max_snap is not None else DEFAULT_MAX_SNAP_M,
        crs=_values.get(net, "crs", str, where, "network"),
        cache_dir=_values.folder(base, cache) if cache else None,
        source=_values.get(net, "source", str, where, "network"),
        licence=_values.get(net, "licence", str, where, "network"),
        date=_values.get(net, "date", str, where, "network"),
        boundary_buffer_m=float(buffer_m) if buffer_m is not None else MIN_BOUNDARY_BUFFER_M,
        extract_url=_values.get(net, "extract_url", str, where, "network"),
    )
    layers: dict[str, LayerConfig] = {}
    for layer in LAYERS:
        table = data.get(layer)
        if table is None:
            continue
        layers[layer] = _layer(layer, table, base, where)
    for required in ("demand",):
        if required not in layers:
            msg = f"{where}: the study needs a [{required}] section"
            raise ConfigError(msg)
    for section in ("demand", "day_demand"):
        if section in data and "population" not in data[section]:
            msg = f"{where}: [{section}] population must name the population column"
            raise ConfigError(msg)
    coverage = data.get("coverage", {})
    thresholds = coverage.get("thresholds_m", list(DEFAULT_THRESHOLDS_M))
    if (
        not isinstance(thresholds, list)
        or not thresholds
        or not all(isinstance(t, int | float) and not isinstance(t, bool) for t in thresholds)
        or any(t <= 0 for t in thresholds)
    ):
        raise _values.type_error(
            where, "coverage", "thresholds_m", "a list of positive metres", thresholds
        )
    ranking = data.get("ranking", {})
    new_sites = _values.get(ranking, "new_sites", int, where, "ranking")
    if new_sites is not None and new_sites < 0:
        raise _values.type_error(where, "ranking", "new_sites", "a whole number >= 0", new_sites)
    rank_t = _values.get(ranking, "threshold_m", (int, float), where, "ranking")
    wards = data.get("wards")
    boundary = data.get("boundary")
    with_osm = [name for name, layer in layers.items() if layer.osm]
    if with_osm and network.graph_file is not None and not boundary:
        msg = (
            f"{where}: [{with_osm[0]}] osm needs an area to read OpenStreetMap for: "
            "[network] osm_file or place, or a [boundary] file"
        )
        raise ConfigError(msg)
    postcode_file = (
        _values.file(base, study["postcode_file"], where, "study", "postcode_file")
        if "postcode_file" in study
        else None
    )
    with_postcode = [name for name, layer in layers.items() if layer.postcode is not None]
    if with_postcode and postcode_file is None:
        msg = (
            f"{where}: [{with_postcode[0]}] postcode needs a postcode lookup: set "
            "[study] postcode_file (OS Code-Point Open folder or CSV, or ONSPD CSV)"
        )
        raise ConfigError(msg)
    options = read_options(data, base, where)
    return StudyConfig(
        name=name,
        path=path,
        network=network,
        layers=layers,
        description=_values.get(study, "description", str, where, "study") or "",
        synthetic=bool(_values.get(study, "synthetic", bool, where, "study") or False),
        thresholds_m=tuple(sorted(float(t) for t in thresholds)),
        new_sites=3 if new_sites is None else int(new_sites),
        ranking_threshold_m=float(rank_t) if rank_t is not None else None,
        wards_file=_values.file(base, wards.get("file"), where, "wards") if wards else None,
        boundary_file=_values.file(base, boundary.get("file"), where, "boundary")
        if boundary
        else None,
        postcode_file=postcode_file,
        extra={"wards": wards or {}, "boundary": boundary or {}},
        **options,
    )
