"""The interactive folium map ``map.html``, self-contained so it works without internet."""

from __future__ import annotations

from defibmap.outputs.map.render import result_map, study_map, write_map

__all__ = ["result_map", "study_map", "write_map"]
