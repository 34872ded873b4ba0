"""Study files: one typed place for every setting, read from TOML.

Every file path in a study file is relative to the study file itself, or absolute. Every key
is documented in ``docs/study-file.md``; defaults are stated and cited there.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defibmap._errors import ConfigError
from defibmap.osm_features import DEFAULT_BUFFER_M, KINDS
from defibmap.reach import DEFAULT_THRESHOLDS_M
from defibmap.snapping import DEFAULT_MAX_SNAP_M

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
#: The OpenStreetMap layer kinds (:data:`defibmap.osm_features.KINDS`) each section may load
#: with ``osm = ...``.
OSM_KINDS: dict[str, tuple[str, ...]] = {
    "defibs": ("defibrillators", "schools"),
    "fire_stations": ("fire_stations",),
    "police_stations": ("police",),
    "candidates": ("council_buildings",),
}
#: Default distance, metres, within which a register defib and an OSM defib are one site.
DEFAULT_REGISTER_WITHIN_M = 25.0
#: Least (and default) distance, metres, the OSM area reaches beyond the ``[boundary]``.
MIN_BOUNDARY_BUFFER_M = DEFAULT_BUFFER_M
_RESPONSE_KEYS = {
    "cabinet_s",
    "locked_cabinet_extra_s",
    "fire_turnout_s",
    "ambulance_s",
    "ambulance_turnout_s",
    "speeds_kph",
}
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
    "response": _RESPONSE_KEYS,
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
    school_hours: str = "Mo-Fr 08:00-16:00"
    school_term_weeks: int = 39
    walking_speed_m_s: float = 1.79
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


def _type_error(path: Path, section: str, key: str, expected: str, value: object) -> ConfigError:
    msg = f"{path}: [{section}] {key} must be {expected}, got {value!r}"
    return ConfigError(msg)


def _get(
    table: dict[str, Any], key: str, kind: type | tuple[type, ...], path: Path, section: str
) -> Any:  # noqa: ANN401 - TOML values
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise _type_error(path, section, key, "a number", value)
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _type_error(path, section, key, f"a {name}", value)
    return value


def _file(base: Path, value: str, path: Path, section: str, key: str = "file") -> Path:
    if not isinstance(value, str) or not value:
        raise _type_error(path, section, key, "a file path", value)
    candidate = Path(value).expanduser()
    resolved = candidate if candidate.is_absolute() else base / candidate
    if not resolved.exists():
        msg = f"{path}: [{section}] {key} = {value!r}: no such file ({resolved})"
        raise ConfigError(msg)
    return resolved


def _folder(base: Path, value: str) -> Path:
    """Return a folder path of the study file: ``~`` expanded, relative to its folder."""
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def _osm_kinds(table: dict[str, Any], where: Path, section: str) -> tuple[str, ...]:
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
        raise _type_error(where, section, "osm", f"{expected} ({', '.join(allowed)})", value)
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


def _layer(name: str, table: dict[str, Any], base: Path, where: Path) -> LayerConfig:
    """Read and check one point-layer section."""
    kinds = _osm_kinds(table, where, name) if "osm" in table else ()
    register = (
        _file(base, table["register"], where, name, "register") if "register" in table else None
    )
    if "file" not in table and not kinds and register is None:
        also = ""
        if name in OSM_KINDS:
            also = f", osm = {' or '.join(repr(k) for k in OSM_KINDS[name])}"
        extra = " or register" if name == "defibs" else ""
        msg = f"{where}: [{name}] needs a file{also}{extra}"
        raise ConfigError(msg)
    council = _get(table, "council", str, where, name)
    if council is not None and (not council.strip() or "council_buildings" not in kinds):
        msg = (
            f'{where}: [{name}] council = {council!r} needs osm = "council_buildings" '
            "and a non-empty council name (matched in the buildings' operator or owner)"
        )
        raise ConfigError(msg)
    within = _get(table, "register_within_m", (int, float), where, name)
    if within is not None:
        if register is None:
            msg = f"{where}: [{name}] register_within_m needs register (a register export)"
            raise ConfigError(msg)
        if not (math.isfinite(within) and within > 0):
            raise _type_error(where, name, "register_within_m", "finite metres > 0", within)
    return LayerConfig(
        name=name,
        file=_file(base, table["file"], where, name) if "file" in table else None,
        id=_get(table, "id", str, where, name),
        label=_get(table, "name", str, where, name),
        lon=_get(table, "lon", str, where, name),
        lat=_get(table, "lat", str, where, name),
        easting=_get(table, "easting", str, where, name),
        northing=_get(table, "northing", str, where, name),
        postcode=_get(table, "postcode", str, where, name),
        population=_get(table, "population", str, where, name),
        sheet=_get(table, "sheet", (str, int), where, name),
        outside_defib=bool(_get(table, "outside_defib", bool, where, name) or False),
        co_responder=bool(_get(table, "co_responder", bool, where, name) or False),
        source=_get(table, "source", str, where, name),
        licence=_get(table, "licence", str, where, name),
        date=_get(table, "date", str, where, name),
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
    name = _get(study, "name", str, where, "study") or (path.stem if path else "study")
    net = data.get("network", {})
    sources = [k for k in ("osm_file", "place", "graph_file") if net.get(k) is not None]
    if len(sources) != 1:
        msg = f"{where}: [network] needs exactly one of osm_file, place or graph_file"
        raise ConfigError(msg)
    max_snap = _get(net, "max_snap_m", (int, float), where, "network")
    if max_snap is not None and not (math.isfinite(max_snap) and max_snap >= 0):
        raise _type_error(where, "network", "max_snap_m", "finite metres >= 0", max_snap)
    buffer_m = _get(net, "boundary_buffer_m", (int, float), where, "network")
    if buffer_m is not None and not (math.isfinite(buffer_m) and buffer_m >= MIN_BOUNDARY_BUFFER_M):
        raise _type_error(
            where,
            "network",
            "boundary_buffer_m",
            f"finite metres >= {MIN_BOUNDARY_BUFFER_M:g} (people near the edge walk to "
            "defibs beyond it)",
            buffer_m,
        )
    cache = _get(net, "cache_dir", str, where, "network")
    network = NetworkConfig(
        osm_file=_file(base, net["osm_file"], where, "network", "osm_file")
        if "osm_file" in net
        else None,
        place=_get(net, "place", str, where, "network"),
        graph_file=_file(base, net["graph_file"], where, "network", "graph_file")
        if "graph_file" in net
        else None,
        max_snap_m=float(max_snap) if max_snap is not None else DEFAULT_MAX_SNAP_M,
        crs=_get(net, "crs", str, where, "network"),
        cache_dir=_folder(base, cache) if cache else None,
        source=_get(net, "source", str, where, "network"),
        licence=_get(net, "licence", str, where, "network"),
        date=_get(net, "date", str, where, "network"),
        boundary_buffer_m=float(buffer_m) if buffer_m is not None else MIN_BOUNDARY_BUFFER_M,
        extract_url=_get(net, "extract_url", str, where, "network"),
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
        raise _type_error(
            where, "coverage", "thresholds_m", "a list of positive metres", thresholds
        )
    ranking = data.get("ranking", {})
    new_sites = _get(ranking, "new_sites", int, where, "ranking")
    if new_sites is not None and new_sites < 0:
        raise _type_error(where, "ranking", "new_sites", "a whole number >= 0", new_sites)
    rank_t = _get(ranking, "threshold_m", (int, float), where, "ranking")
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
        _file(base, study["postcode_file"], where, "study", "postcode_file")
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
    options = _options(data, base, where)
    return StudyConfig(
        name=name,
        path=path,
        network=network,
        layers=layers,
        description=_get(study, "description", str, where, "study") or "",
        synthetic=bool(_get(study, "synthetic", bool, where, "study") or False),
        thresholds_m=tuple(sorted(float(t) for t in thresholds)),
        new_sites=3 if new_sites is None else int(new_sites),
        ranking_threshold_m=float(rank_t) if rank_t is not None else None,
        wards_file=_file(base, wards.get("file"), where, "wards") if wards else None,
        boundary_file=_file(base, boundary.get("file"), where, "boundary") if boundary else None,
        postcode_file=postcode_file,
        extra={"wards": wards or {}, "boundary": boundary or {}},
        **options,
    )


def _choice(
    table: dict[str, Any],
    key: str,
    allowed: tuple[str, ...],
    default: str,
    where: Path,
    section: str,
) -> str:
    value = table.get(key, default)
    if value not in allowed:
        raise _type_error(where, section, key, " or ".join(repr(a) for a in allowed), value)
    return str(value)


def _options(data: dict[str, Any], base: Path, where: Path) -> dict[str, Any]:
    """Read and check the analysis options (ranking, hours, finer demand, scenarios)."""
    ranking = data.get("ranking", {})
    hours = data.get("availability", {})
    demand = data.get("demand", {})
    targets = ranking.get("targets", [0.5, 0.75, 0.9])
    if not isinstance(targets, list) or not all(
        isinstance(t, int | float) and not isinstance(t, bool) and 0 < t <= 1 for t in targets
    ):
        raise _type_error(where, "ranking", "targets", "a list of shares in (0, 1]", targets)
    term_weeks = _get(hours, "school_term_weeks", int, where, "availability")
    if term_weeks is not None and not 0 <= term_weeks <= 52:
        raise _type_error(where, "availability", "school_term_weeks", "0 to 52", term_weeks)
    speed = _get(hours, "walking_speed_m_s", (int, float), where, "availability")
    if speed is not None and speed <= 0:
        raise _type_error(where, "availability", "walking_speed_m_s", "positive", speed)
    finer = dict(data.get("finer_demand", {}))
    for key in ("file", "centroids_file", "boundary_file"):
        if key in finer:
            finer[key] = _file(base, finer[key], where, "finer_demand", key)
    if finer:
        if "file" not in finer:
            msg = f"{where}: [finer_demand] needs a file of postcode points"
            raise ConfigError(msg)
        finer["method"] = _choice(
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
    scenarios: dict[str, tuple[str, ...]] = {}
    for name, table in data.get("scenarios", {}).items():
        sites = table.get("sites") if isinstance(table, dict) else None
        if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
            raise _type_error(where, f"scenarios.{name}", "sites", "a list of site ids", sites)
        scenarios[str(name)] = tuple(sites)
    resp = dict(data.get("response", {}))
    for key, value in resp.items():
        if key == "speeds_kph":
            if not isinstance(value, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v > 0
                for v in value.values()
            ):
                raise _type_error(where, "response", key, "a table of road type = km/h", value)
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise _type_error(where, "response", key, "seconds >= 0", value)
    return {
        "response": resp,
        "baseline": _choice(
            ranking, "baseline", ("current", "current+stations"), "current", where, "ranking"
        ),
        "weight": _choice(
            ranking, "weight", ("population", "deprivation"), "population", where, "ranking"
        ),
        "targets": tuple(float(t) for t in targets),
        "targets_of": _choice(
            ranking, "targets_of", ("reachable", "total"), "reachable", where, "ranking"
        ),
        "unknown_hours": _choice(
            hours, "unknown_hours", ("available", "unavailable"), "available", where, "availability"
        ),
        "school_hours": _get(hours, "school_hours", str, where, "availability")
        or "Mo-Fr 08:00-16:00",
        "school_term_weeks": 39 if term_weeks is None else int(term_weeks),
        "walking_speed_m_s": 1.79 if speed is None else float(speed),
        "imd_column": _get(demand, "imd_decile", str, where, "demand"),
        "ward_column": _get(demand, "ward", str, where, "demand"),
        "finer_demand": finer,
        "scenarios": scenarios,
    }
