"""OpenStreetMap: point layers (defibs, schools, stations, council buildings) and walkable ways.

:mod:`~defibmap.osm.features` reads the point layers from a local extract or online;
:mod:`~defibmap.osm.ways` keeps the ways osmnx would walk or drive from a local file;
:mod:`~defibmap.osm.cache` caches downloads on disk.
"""

from __future__ import annotations

from defibmap.osm.features import osm_layer

__all__ = ["osm_layer"]
