"""The layer kinds a study reads, in one table.

A study's input layers are residents (demand), existing defibs, fire and police stations,
candidate council buildings, ambulance make-ready hubs, community first responders, ambulance
bases (a stand-in for response data) and the boundary and ward outlines. Each kind is
one :class:`LayerKind`: the study-file section that holds it, its role in the analysis, the
keys its section takes, the OpenStreetMap kinds it may load and how the map draws it. The
study reader (:mod:`defibmap.config`), the layer assembly (:mod:`defibmap.study`), the
OpenStreetMap readers (:mod:`defibmap.osm`) and the map (:mod:`defibmap.outputs.map`) read
this table, so a new kind of layer is one entry: :func:`register` (or :func:`registered` for
a while, as the tests do).

The OpenStreetMap point kinds are one :class:`OsmKind` each (:data:`OSM`): the tags a feature
matches and the study-file section it usually feeds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = [
    "AMBULANCE_BASES",
    "AMBULANCE_HUBS",
    "BOUNDARY",
    "CANDIDATES",
    "COLUMN_KEYS",
    "DAY_DEMAND",
    "DEFIBS",
    "DEMAND",
    "FIRE_STATIONS",
    "FIRST_RESPONDERS",
    "IGNORED_COLUMNS",
    "INCIDENTS",
    "KINDS",
    "OSM",
    "OSM_KINDS",
    "POLICE_STATIONS",
    "SEMANTIC_COLUMNS",
    "SOURCE_KEYS",
    "STUDY_SECTION",
    "TAGS",
    "WARDS",
    "YES_WORDS",
    "LayerKind",
    "MapStyle",
    "OsmKind",
    "Role",
    "all_kinds",
    "by_role",
    "defib_source_names",
    "hub_names",
    "is_yes",
    "kind",
    "point_keys",
    "point_layer_names",
    "register",
    "registered",
    "section_keys",
    "station_names",
    "unregister",
]

# The section names of the built-in kinds, for the few places that treat one kind on its own
# (the fire crews' drive, the demand every study needs).
DEMAND = "demand"
DAY_DEMAND = "day_demand"
DEFIBS = "defibs"
FIRE_STATIONS = "fire_stations"
POLICE_STATIONS = "police_stations"
CANDIDATES = "candidates"
AMBULANCE_BASES = "ambulance_bases"
AMBULANCE_HUBS = "ambulance_hubs"
FIRST_RESPONDERS = "first_responders"
INCIDENTS = "incidents"
BOUNDARY = "boundary"
WARDS = "wards"

#: Keys every section that reads a file may take: where its data came from.
SOURCE_KEYS = frozenset({"source", "licence", "date"})
#: Keys naming a point file's columns (and an Excel sheet).
COLUMN_KEYS = frozenset({"id", "name", "lon", "lat", "easting", "northing", "postcode", "sheet"})
#: Lower-case words read as "yes" in a yes/no column of a layer (e.g. ``locked``).
YES_WORDS = frozenset({"yes", "true", "1"})


class Role(enum.StrEnum):
    """What a layer kind is to the analysis."""

    #: people to reach (snapped; their population weighs the coverage)
    DEMAND = "demand"
    #: existing defibs (every site counts as a defib)
    DEFIB_SOURCE = "defib_source"
    #: 24/7 sites that count as defibs with ``outside_defib``, and as stations in the
    #: ``current+stations`` scenario
    STATION = "station"
    #: buildings ranked for new defibs
    CANDIDATE = "candidate"
    #: sites vehicles drive from (not walked to, so not snapped to the walking network): the
    #: ``[ambulance_bases]`` stand-in for an ambulance time where no response data is given
    BASE = "base"
    #: 24/7 staffed sites with a defib (an ambulance service's make-ready hubs): existing 24/7
    #: defibs a bystander can fetch from, unless a row's ``outside_defib`` says no; never a
    #: drive origin (crews leave the hub at the start of the shift and stay out)
    HUB = "hub"
    #: volunteers the ambulance service alerts (community first responders): not sites and
    #: not defibs; the nearest one's travel is a route to the patient
    RESPONDER = "responder"
    #: past cardiac arrests: the demand with ``[demand] weight = "incidents"``, placed on the
    #: demand points (not snapped to the walking network)
    INCIDENTS = "incidents"
    #: polygon outlines (the study area, wards), not point layers
    BOUNDARY = "boundary"


@dataclass(frozen=True)
class MapStyle:
    """How the study map draws the sites of a kind: a lettered square badge.

    ``label`` is one site, singular (``"Fire station"``); the map's layer is its plural.
    """

    letter: str
    colour: str
    label: str


@dataclass(frozen=True)
class LayerKind:
    """One kind of input layer: a study-file section and what the study does with it.

    Parameters
    ----------
    name
        The study-file section (``[fire_stations]``) and the layer name in the outputs.
    role
        What the analysis does with the sites (:class:`Role`).
    keys
        Every key the section may take (:func:`point_keys` builds a point layer's).
    osm_kinds
        The OpenStreetMap kinds (:data:`OSM`) the section may load with ``osm = ...``.
    default_availability
        The ``availability`` label of its sites when they count as defibs (``"24/7"`` for a
        station's outside cabinet); None when it comes from each site's opening hours.
    map_style
        How the map draws its sites; None when the map draws the role its own way.
    required
        A study must have the section.
    outside_default
        The section's ``outside_defib`` when the study file does not set it (a hub's defib
        counts unless the study says otherwise; a station's does not).
    """

    name: str
    role: Role
    keys: frozenset[str]
    osm_kinds: tuple[str, ...] = ()
    default_availability: str | None = None
    map_style: MapStyle | None = None
    required: bool = False
    outside_default: bool = False

    def __post_init__(self) -> None:
        """Check the entry: a section loads OpenStreetMap kinds exactly when it takes ``osm``."""
        # a role given as its text ("station") and keys given as a set are taken as meant
        object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "keys", frozenset(self.keys))
        if ("osm" in self.keys) != bool(self.osm_kinds):
            msg = f"layer kind {self.name!r}: give osm_kinds exactly when its keys hold 'osm'"
            raise ValueError(msg)
        unknown = [k for k in self.osm_kinds if k not in OSM]
        if unknown:
            msg = f"layer kind {self.name!r}: unknown OpenStreetMap kind(s) {unknown}"
            raise ValueError(msg)

    @property
    def is_point_layer(self) -> bool:
        """True for point layers (every role but :attr:`Role.BOUNDARY`)."""
        return self.role is not Role.BOUNDARY

    def counts_as_defibs(self, *, outside_defib: bool) -> bool:
        """Return True when the section's sites count as existing defibs.

        Defib sources always do; stations and hubs when the section sets ``outside_defib``.
        """
        return self.role is Role.DEFIB_SOURCE or (
            self.role in (Role.STATION, Role.HUB) and outside_defib
        )


@dataclass(frozen=True)
class OsmKind:
    """One OpenStreetMap point kind: which features it matches and how they are read.

    Parameters
    ----------
    name
        The name a study file gives in ``osm = ...``.
    tags
        osmnx's ``tags`` dict: a feature matches when it has any of these keys with one of
        the values (True: any value).
    section
        The study-file section this kind usually feeds (used in messages).
    label
        The ``kind`` column of its rows; None to take the ``amenity`` (else ``leisure``) tag.
    public_only
        Features tagged ``access=private`` or ``access=no`` are set aside (defibs).
    by_council
        The section's ``council`` name filters the features by ``operator``/``owner``.
    merges_register
        A section's defib ``register`` is merged with this kind's features.
    """

    name: str
    tags: Mapping[str, bool | str | list[str]]
    section: str
    label: str | None = None
    public_only: bool = False
    by_council: bool = False
    merges_register: bool = False


#: The OpenStreetMap point kinds, by name.
OSM: dict[str, OsmKind] = {
    k.name: k
    for k in (
        OsmKind(
            "defibrillators",
            {"emergency": "defibrillator"},
            DEFIBS,
            label="defibrillator",
            public_only=True,
            merges_register=True,
        ),
        OsmKind("schools", {"amenity": "school"}, DEFIBS, label="school"),
        OsmKind(FIRE_STATIONS, {"amenity": "fire_station"}, FIRE_STATIONS, label="fire_station"),
        OsmKind("police", {"amenity": "police"}, POLICE_STATIONS, label="police"),
        OsmKind(
            "council_buildings",
            {
                "amenity": ["townhall", "library", "community_centre", "social_centre"],
                "leisure": "sports_centre",
            },
            CANDIDATES,
            by_council=True,
        ),
    )
}
#: The OSM tags of each OpenStreetMap kind (osmnx's ``tags`` dict).
TAGS: dict[str, dict[str, bool | str | list[str]]] = {k: dict(v.tags) for k, v in OSM.items()}
KINDS = tuple(OSM)
#: The study-file section each OpenStreetMap kind usually feeds (used in messages).
STUDY_SECTION = {k: v.section for k, v in OSM.items()}


def point_keys(*extra: str) -> frozenset[str]:
    """Return the keys of a point-layer section: ``file``, its columns, its source, ``extra``."""
    return frozenset({"file", *COLUMN_KEYS, *SOURCE_KEYS, *extra})


_REGISTRY: dict[str, LayerKind] = {
    k.name: k
    for k in (
        LayerKind(
            DEMAND,
            Role.DEMAND,
            point_keys(
                "population",
                "imd_decile",
                "ward",
                "weight",
                "ages_file",
                "incidence_file",
                "deprivation_ratio_file",
            ),
            required=True,
        ),
        LayerKind(DAY_DEMAND, Role.DEMAND, point_keys("population")),
        LayerKind(
            DEFIBS,
            Role.DEFIB_SOURCE,
            point_keys("osm", "register", "register_within_m"),
            osm_kinds=("defibrillators", "schools"),
        ),
        LayerKind(
            FIRE_STATIONS,
            Role.STATION,
            point_keys("osm", "outside_defib", "co_responder"),
            osm_kinds=(FIRE_STATIONS,),
            default_availability="24/7",
            map_style=MapStyle("F", "#cb181d", "Fire station"),
        ),
        LayerKind(
            POLICE_STATIONS,
            Role.STATION,
            point_keys("osm", "outside_defib"),
            osm_kinds=("police",),
            default_availability="24/7",
            map_style=MapStyle("P", "#253494", "Police station"),
        ),
        LayerKind(
            CANDIDATES,
            Role.CANDIDATE,
            point_keys("osm", "council"),
            osm_kinds=("council_buildings",),
        ),
        LayerKind(AMBULANCE_BASES, Role.BASE, point_keys()),
        LayerKind(
            AMBULANCE_HUBS,
            Role.HUB,
            point_keys("outside_defib"),
            default_availability="24/7",
            map_style=MapStyle("H", "#006d2c", "Ambulance hub"),
            outside_default=True,
        ),
        LayerKind(
            FIRST_RESPONDERS,
            Role.RESPONDER,
            point_keys("accept_share", "carries_defib", "speed_m_s", "alert_m"),
        ),
        LayerKind(
            INCIDENTS,
            Role.INCIDENTS,
            point_keys("datetime", "location_type", "method", "bandwidth_m"),
        ),
        LayerKind(BOUNDARY, Role.BOUNDARY, frozenset({"file", *SOURCE_KEYS})),
        LayerKind(WARDS, Role.BOUNDARY, frozenset({"file", "name", *SOURCE_KEYS})),
    )
}


class _OsmKindsBySection(Mapping[str, tuple[str, ...]]):
    """The OpenStreetMap kinds each section may load, read from the registry when asked."""

    def _table(self) -> dict[str, tuple[str, ...]]:
        return {k.name: k.osm_kinds for k in _REGISTRY.values() if k.osm_kinds}

    def __getitem__(self, section: str) -> tuple[str, ...]:
        return self._table()[section]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


#: The OpenStreetMap kinds (:data:`KINDS`) each section may load with ``osm = ...``.
OSM_KINDS: Mapping[str, tuple[str, ...]] = _OsmKindsBySection()


def all_kinds() -> tuple[LayerKind, ...]:
    """Return every layer kind, built-in ones first, then registered ones in their order."""
    return tuple(_REGISTRY.values())


def kind(name: str) -> LayerKind:
    """Return the layer kind of section ``name`` (:class:`KeyError` when there is none)."""
    return _REGISTRY[name]


def by_role(*roles: Role) -> tuple[LayerKind, ...]:
    """Return the layer kinds with one of ``roles``, in table order."""
    return tuple(k for k in _REGISTRY.values() if k.role in roles)


def point_layer_names() -> tuple[str, ...]:
    """Return the sections of every point layer, in the order a study reads them."""
    return tuple(k.name for k in _REGISTRY.values() if k.is_point_layer)


def defib_source_names() -> tuple[str, ...]:
    """Return the sections whose sites may count as defibs (defibs, stations, hubs).

    Whether a station's or hub's sites do is :meth:`LayerKind.counts_as_defibs`.
    """
    return tuple(k.name for k in by_role(Role.DEFIB_SOURCE, Role.STATION, Role.HUB))


def station_names() -> tuple[str, ...]:
    """Return the station sections (counted in the ``current+stations`` scenario)."""
    return tuple(k.name for k in by_role(Role.STATION))


def hub_names() -> tuple[str, ...]:
    """Return the hub sections (24/7 staffed sites with a defib; ``[ranking] hubs``)."""
    return tuple(k.name for k in by_role(Role.HUB))


def section_keys(name: str) -> frozenset[str]:
    """Return the keys section ``name`` may take."""
    return _REGISTRY[name].keys


def register(layer_kind: LayerKind) -> None:
    """Add a layer kind to the table (after the kinds already there).

    Raises
    ------
    ValueError
        When a kind of that name is already registered.
    """
    if layer_kind.name in _REGISTRY:
        msg = f"layer kind {layer_kind.name!r} is already registered"
        raise ValueError(msg)
    _REGISTRY[layer_kind.name] = layer_kind


def unregister(name: str) -> None:
    """Remove a registered layer kind (:class:`KeyError` when there is none)."""
    del _REGISTRY[name]


@contextmanager
def registered(layer_kind: LayerKind) -> Iterator[LayerKind]:
    """Register ``layer_kind`` for the ``with`` block, then remove it again."""
    register(layer_kind)
    try:
        yield layer_kind
    finally:
        unregister(layer_kind.name)


def is_yes(value: object) -> bool:
    """Return True for a yes/no cell that says yes (:data:`YES_WORDS`, any case and spaces)."""
    return str(value).strip().lower() in YES_WORDS


#: Columns of a point layer's file that change what defibmap does with a row, reported per
#: file in ``summary.json``'s ``inputs`` (``columns_read``) whenever a file carries them.
SEMANTIC_COLUMNS = (
    "population",
    "kind",
    "opening_hours",
    "location",
    "locked",
    "outside_defib",
    # a defib's readiness (defibmap.io.readiness): status, pad and battery expiry, last check
    "status",
    "pads_expiry",
    "battery_expiry",
    "last_checked",
    "co_responder",
    "imd_decile",
    "ward",
)
#: Columns a user may expect to change a row but that defibmap does not read from a file
#: (reported as ``columns_not_read``).
IGNORED_COLUMNS = ("availability",)
