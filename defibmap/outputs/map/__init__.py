"""The interactive folium map ``map.html``, self-contained so it works without internet."""

from __future__ import annotations

from defibmap.outputs.map.render import MapLayers, MapOptions, result_map, study_map, write_map

__all__ = ["MapLayers", "MapOptions", "result_map", "study_map", "write_map"]
