"""The walking and driving networks, and snapping points onto them.

Read top to bottom as the data flows: :mod:`~defibmap.network.walk` builds the walking network
(osmnx, a local extract or any networkx graph) and holds it as arrays
(:class:`~defibmap.network.walk.Network`); :mod:`~defibmap.network.snapping` joins points to
it; :mod:`~defibmap.network.faults` finds islands and degenerate edges;
:mod:`~defibmap.network.drive` is the directed driving network for fire co-responders.
"""

from __future__ import annotations

from defibmap.network.snapping import Snapped, snap_points
from defibmap.network.walk import (
    Network,
    from_graph,
    from_graphml,
    from_osm_file,
    from_place,
    to_networkx,
)

__all__ = [
    "Network",
    "Snapped",
    "from_graph",
    "from_graphml",
    "from_osm_file",
    "from_place",
    "snap_points",
    "to_networkx",
]
