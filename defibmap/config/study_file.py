"""Study files: one typed place for every setting, read from TOML.

Every file path in a study file is relative to the study file itself, or absolute. Every key
is documented in ``docs/study-file.md``; defaults are stated and cited there.

This module holds the typed settings, the sections and keys a study file may have, and reads
the study, network and point-layer sections; :mod:`defibmap.config._values` checks single
values, :mod:`defibmap.config._options` reads the analysis options.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from defibmap import layers
from defibmap._crs import check_projected
from defibmap._errors import ConfigError
from defibmap.config import _values
from defibmap.config._options import (
    RESPONSE_KEYS,
    SENSITIVITY_KEYS,
    DemandWeightConfig,
    read_options,
    today,
)
from defibmap.defaults import (
    DEFAULT_BUFFER_M,
    DEFAULT_MAX_DAYS_UNCHECKED,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_NEW_SITES,
    DEFAULT_REGISTER_WITHIN_M,
    DEFAULT_SCHOOL_HOURS,
    DEFAULT_SCHOOL_TERM_WEEKS,
    DEFAULT_TARGETS,
    DEFAULT_THRESHOLDS_M,
    WALKING_SPEED_M_S,
)
from defibmap.layers import OSM_KINDS

if TYPE_CHECKING:
    import datetime as dt

__all__ = [
    "DEFAULT_REGISTER_WITHIN_M",
    "MIN_BOUNDARY_BUFFER_M",
    "OSM_KINDS",
    "DemandWeightConfig",
    "LayerConfig",
    "NetworkConfig",
    "StudyConfig",
    "read_study",
    "study_from_dict",
]

#: Least (and default) distance, metres, the OSM area reaches beyond the ``[boundary]``.
MIN_BOUNDARY_BUFFER_M = DEFAULT_BUFFER_M
#: The keys of the sections that are not layers (the layers' are in :mod:`defibmap.layers`).
_OPTION_KEYS: dict[str, frozenset[str]] = {
    "study": frozenset({"name", "description", "synthetic", "postcode_file"}),
    "network": frozenset(
        {
            "osm_file",
            "place",
            "graph_file",
            "max_snap_m",
            "crs",
            "cache_dir",
            "boundary_buffer_m",
            "extract_url",
            *layers.SOURCE_KEYS,
        }
    ),
    "coverage": frozenset({"thresholds_m"}),
    "ranking": frozenset(
        {
            "new_sites",
            "threshold_m",
            "baseline",
            "weight",
            "targets",
            "targets_of",
            "objective",
            "upgrades",
            "stations",
            "hubs",
            "budget",
            "upgrade_cost",
            "station_cost",
            "hub_cost",
        }
    ),
    "availability": frozenset(
        {
            "unknown_hours",
            "school_hours",
            "school_term_weeks",
            "walking_speed_m_s",
            "max_days_unchecked",
            "as_of",
        }
    ),
    "finer_demand": frozenset(
        {"file", "id", "method", "centroids_file", "boundary_file", *layers.SOURCE_KEYS}
    ),
    # scenario names are the user's own: any key
    "scenarios": frozenset(),
    "response": frozenset(RESPONSE_KEYS),
    "sensitivity": frozenset(SENSITIVITY_KEYS),
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
    new_sites: int = DEFAULT_NEW_SITES
    ranking_threshold_m: float | None = None
    wards_file: Path | None = None
    boundary_file: Path | None = None
    postcode_file: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    baseline: str = "current"
    weight: str = "population"
    targets: tuple[float, ...] = DEFAULT_TARGETS
    targets_of: str = "all"
    objective: str = "available"
    upgrades: tuple[str, ...] = ()
    stations: tuple[str, ...] = ()
    #: hub layers whose hubs without a public defib are offered a cabinet (``hub:<id>``)
    hubs: tuple[str, ...] = ()
    budget: float | None = None
    upgrade_cost: float | None = None
    station_cost: float | None = None
    hub_cost: float | None = None
    unknown_hours: str = "available"
    school_hours: str = DEFAULT_SCHOOL_HOURS
    school_term_weeks: int = DEFAULT_SCHOOL_TERM_WEEKS
    walking_speed_m_s: float = WALKING_SPEED_M_S
    #: days since a register's last check after which a defib counts as not ready
    max_days_unchecked: int = DEFAULT_MAX_DAYS_UNCHECKED
    #: the day pad and battery expiry and the last check are judged on (default: the day
    #: the study file is read)
    as_of: dt.date = field(default_factory=today)
    imd_column: str | None = None
    ward_column: str | None = None
    finer_demand: dict[str, Any] = field(default_factory=dict)
    scenarios: dict[str, tuple[str, ...]] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)
    #: ``[demand] weight`` (residents, expected arrests or incidents) and its inputs
    demand_weight: DemandWeightConfig = field(default_factory=DemandWeightConfig)
    #: ``[sensitivity]`` as given (empty: no section; ``draws`` None: the default number)
    sensitivity: dict[str, Any] = field(default_factory=dict)
    #: ``[first_responders]`` options with their defaults filled in (``accept_share``,
    #: ``carries_defib``, ``speed_m_s``, ``alert_m``); empty without the section
    first_responders: dict[str, float] = field(default_factory=dict)

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


def _section_keys() -> dict[str, frozenset[str]]:
    """Return the keys each known section may take: options, then every layer kind's."""
    return {**_OPTION_KEYS, **{k.name: k.keys for k in layers.all_kinds()}}


def _check_sections(data: dict[str, Any], where: Path) -> None:
    """Refuse unknown sections, sections that are not tables and unknown keys."""
    known = _section_keys()
    for section, table in data.items():
        if section not in known:
            msg = f"{where}: unknown section [{section}]; known: {sorted(known)}"
            raise ConfigError(msg)
        if not isinstance(table, dict):
            msg = f"{where}: [{section}] must be a table"
            raise ConfigError(msg)
        unknown = set() if section == "scenarios" else set(table) - known[section]
        if unknown:
            msg = (
                f"{where}: [{section}] unknown key(s) {sorted(unknown)}; "
                f"known: {sorted(known[section])}"
            )
            raise ConfigError(msg)


def _check_layer_sources(
    name: str,
    kinds: tuple[str, ...],
    register: Path | None,
    table: dict[str, Any],
    where: Path,
) -> None:
    """Refuse a layer section with nothing to read, or a ``council`` without council buildings."""
    if "file" not in table and not kinds and register is None:
        also = ""
        if name in OSM_KINDS:
            also = f", osm = {' or '.join(repr(k) for k in OSM_KINDS[name])}"
        extra = " or register" if "register" in layers.section_keys(name) else ""
        msg = f"{where}: [{name}] needs a file{also}{extra}"
        raise ConfigError(msg)
    council = _values.get(table, "council", str, where, name)
    by_council = [k for k, osm in layers.OSM.items() if osm.by_council]
    if council is not None and (not council.strip() or not set(by_council) & set(kinds)):
        wanted = " or ".join(f'"{k}"' for k in by_council)
        msg = (
            f"{where}: [{name}] council = {council!r} needs osm = {wanted} "
            "and a non-empty council name (matched in the buildings' operator or owner)"
        )
        raise ConfigError(msg)


def _layer(name: str, table: dict[str, Any], base: Path, where: Path) -> LayerConfig:
    """Read and check one point-layer section."""
    kinds = _values.osm_kinds(table, where, name) if "osm" in table else ()
    register = (
        _values.file(base, table["register"], where, name, "register")
        if "register" in table
        else None
    )
    _check_layer_sources(name, kinds, register, table, where)
    within = _values.number(
        table, "register_within_m", where, name, _values.NUMERIC_KEYS["defibs", "register_within_m"]
    )
    if within is not None and register is None:
        msg = f"{where}: [{name}] register_within_m needs register (a register export)"
        raise ConfigError(msg)

    def text(key: str) -> str | None:
        return _values.get(table, key, str, where, name)  # type: ignore[no-any-return]

    return LayerConfig(
        name=name,
        file=_values.file(base, table["file"], where, name) if "file" in table else None,
        id=text("id"),
        label=text("name"),
        lon=text("lon"),
        lat=text("lat"),
        easting=text("easting"),
        northing=text("northing"),
        postcode=text("postcode"),
        population=text("population"),
        sheet=_values.get(table, "sheet", (str, int), where, name),
        outside_defib=_outside_defib(name, table, where),
        co_responder=bool(_values.get(table, "co_responder", bool, where, name) or False),
        source=text("source"),
        licence=text("licence"),
        date=text("date"),
        osm=kinds,
        council=text("council"),
        register=register,
        register_within_m=float(within) if within is not None else DEFAULT_REGISTER_WITHIN_M,
    )


def _outside_defib(name: str, table: dict[str, Any], where: Path) -> bool:
    """Read a section's ``outside_defib``; absent, its kind's default (a hub's defib counts)."""
    value = _values.get(table, "outside_defib", bool, where, name)
    if value is None:
        return layers.kind(name).outside_default
    return bool(value)


def _network(net: dict[str, Any], base: Path, where: Path) -> NetworkConfig:
    """Read and check the ``[network]`` section."""
    sources = [k for k in ("osm_file", "place", "graph_file") if net.get(k) is not None]
    if len(sources) != 1:
        msg = f"{where}: [network] needs exactly one of osm_file, place or graph_file"
        raise ConfigError(msg)
    max_snap = _values.numeric(net, "network", "max_snap_m", where)
    # at least the search limit of the default headline: people near the edge walk beyond it
    buffer_m = _values.numeric(net, "network", "boundary_buffer_m", where)
    cache = _values.get(net, "cache_dir", str, where, "network")
    crs = _values.get(net, "crs", str, where, "network")
    if crs is not None:
        check_projected(crs, where=f"{where}: [network] crs")

    def path(key: str) -> Path | None:
        return _values.file(base, net[key], where, "network", key) if key in net else None

    def text(key: str) -> str | None:
        return _values.get(net, key, str, where, "network")  # type: ignore[no-any-return]

    return NetworkConfig(
        osm_file=path("osm_file"),
        place=text("place"),
        graph_file=path("graph_file"),
        max_snap_m=float(max_snap) if max_snap is not None else DEFAULT_MAX_SNAP_M,
        crs=crs,
        cache_dir=_values.folder(base, cache) if cache else None,
        source=text("source"),
        licence=text("licence"),
        date=text("date"),
        boundary_buffer_m=float(buffer_m) if buffer_m is not None else MIN_BOUNDARY_BUFFER_M,
        extract_url=text("extract_url"),
    )


def _point_layers(data: dict[str, Any], base: Path, where: Path) -> dict[str, LayerConfig]:
    """Read every point-layer section, in table order; check the required ones are there."""
    found: dict[str, LayerConfig] = {}
    for name in layers.point_layer_names():
        table = data.get(name)
        if table is None:
            continue
        found[name] = _layer(name, table, base, where)
    for required in (k.name for k in layers.all_kinds() if k.required):
        if required not in found:
            msg = f"{where}: the study needs a [{required}] section"
            raise ConfigError(msg)
    for section in (k.name for k in layers.by_role(layers.Role.DEMAND)):
        if section in data and "population" not in data[section]:
            msg = f"{where}: [{section}] population must name the population column"
            raise ConfigError(msg)
    return found


def _thresholds(data: dict[str, Any], where: Path) -> tuple[float, ...]:
    """Read ``[coverage] thresholds_m`` (metres, ascending, distinct in whole metres).

    Coverage is keyed by the whole metre (``"100"``), so 100 and 100.4 would share a key and
    one would be lost: they are refused.
    """
    raw = data.get("coverage", {}).get("thresholds_m", list(DEFAULT_THRESHOLDS_M))
    thresholds = sorted(_values.numbers(raw, "coverage", "thresholds_m", where))
    for low, high in itertools.pairwise(thresholds):
        if round(low) == round(high):
            msg = (
                f"{where}: [coverage] thresholds_m has {low:g} and {high:g}, which are both "
                f"reported as {round(low)} m; give distinct whole metres"
            )
            raise ConfigError(msg)
    return tuple(thresholds)


def _postcode_file(
    study: dict[str, Any], found: dict[str, LayerConfig], base: Path, where: Path
) -> Path | None:
    """Read ``[study] postcode_file``; refuse a layer's ``postcode`` column without it."""
    postcode_file = (
        _values.file(base, study["postcode_file"], where, "study", "postcode_file", folder_ok=True)
        if "postcode_file" in study
        else None
    )
    with_postcode = [name for name, layer in found.items() if layer.postcode is not None]
    if with_postcode and postcode_file is None:
        msg = (
            f"{where}: [{with_postcode[0]}] postcode needs a postcode lookup: set "
            "[study] postcode_file (OS Code-Point Open folder or CSV, or ONSPD CSV)"
        )
        raise ConfigError(msg)
    return postcode_file


def _decode(raw: bytes, path: Path) -> str:
    """Decode a study file: UTF-8, with or without a byte-order mark, or UTF-16 with one.

    Notepad and Excel write byte-order marks; TOML itself is UTF-8, so the mark is dropped.
    """
    import codecs

    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        msg = (
            f"{path}: the study file is not UTF-8 text (byte {exc.start} cannot be read); "
            "save it as UTF-8"
        )
        raise ConfigError(msg) from exc


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
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"{path}: cannot read the study file ({exc.strerror})"
        raise ConfigError(msg) from exc
    text = _decode(raw, path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML: {exc}"
        raise ConfigError(msg) from exc
    return study_from_dict(data, base=path.parent, path=path)


def study_from_dict(data: dict[str, Any], *, base: Path, path: Path | None = None) -> StudyConfig:
    """Build a :class:`StudyConfig` from a parsed TOML mapping (paths relative to ``base``)."""
    where = path or base / "<study>"
    _check_sections(data, where)
    study = data.get("study", {})
    name = _values.get(study, "name", str, where, "study") or (path.stem if path else "study")
    network = _network(data.get("network", {}), base, where)
    found = _point_layers(data, base, where)
    thresholds = _thresholds(data, where)
    ranking = data.get("ranking", {})
    new_sites = _values.numeric(ranking, "ranking", "new_sites", where)
    rank_t = _values.numeric(ranking, "ranking", "threshold_m", where)
    wards = data.get(layers.WARDS)
    boundary = data.get(layers.BOUNDARY)
    for section, table in ((layers.WARDS, wards), (layers.BOUNDARY, boundary)):
        if table is not None and "file" not in table:
            msg = f"{where}: [{section}] needs a file (or leave the section out)"
            raise ConfigError(msg)
    with_osm = [name for name, layer in found.items() if layer.osm]
    if with_osm and network.graph_file is not None and not boundary:
        msg = (
            f"{where}: [{with_osm[0]}] osm needs an area to read OpenStreetMap for: "
            "[network] osm_file or place, or a [boundary] file"
        )
        raise ConfigError(msg)
    postcode_file = _postcode_file(study, found, base, where)
    options = read_options(data, base, where)
    return StudyConfig(
        name=name,
        path=path,
        network=network,
        layers=found,
        description=_values.get(study, "description", str, where, "study") or "",
        synthetic=bool(_values.get(study, "synthetic", bool, where, "study") or False),
        thresholds_m=thresholds,
        new_sites=DEFAULT_NEW_SITES if new_sites is None else int(new_sites),
        ranking_threshold_m=float(rank_t) if rank_t is not None else None,
        wards_file=_values.file(base, wards.get("file"), where, layers.WARDS) if wards else None,
        boundary_file=_values.file(base, boundary.get("file"), where, layers.BOUNDARY)
        if boundary
        else None,
        postcode_file=postcode_file,
        extra={layers.WARDS: wards or {}, layers.BOUNDARY: boundary or {}},
        **options,
    )
