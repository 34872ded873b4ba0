"""The layer kinds a study reads, in one place.

A study's input layers are residents (demand), existing defibs, fire and police stations and
candidate council buildings; each point layer may be read from OpenStreetMap. The tables here
say which OpenStreetMap tags each kind matches and which study-file section may load it.
"""

from __future__ import annotations

__all__ = ["KINDS", "OSM_KINDS", "STUDY_SECTION", "TAGS"]

#: The OSM tags of each layer kind (osmnx's ``tags`` dict: a feature matches any of them).
TAGS: dict[str, dict[str, bool | str | list[str]]] = {
    "defibrillators": {"emergency": "defibrillator"},
    "schools": {"amenity": "school"},
    "fire_stations": {"amenity": "fire_station"},
    "police": {"amenity": "police"},
    "council_buildings": {
        "amenity": ["townhall", "library", "community_centre", "social_centre"],
        "leisure": "sports_centre",
    },
}
KINDS = tuple(TAGS)
#: The study-file section each kind usually feeds (used in messages).
STUDY_SECTION = {
    "defibrillators": "defibs",
    "schools": "defibs",
    "fire_stations": "fire_stations",
    "police": "police_stations",
    "council_buildings": "candidates",
}

#: The OpenStreetMap layer kinds (:data:`defibmap.osm.features.KINDS`) each section may load
#: with ``osm = ...``.
OSM_KINDS: dict[str, tuple[str, ...]] = {
    "defibs": ("defibrillators", "schools"),
    "fire_stations": ("fire_stations",),
    "police_stations": ("police",),
    "candidates": ("council_buildings",),
}
