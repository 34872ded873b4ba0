"""defibmap: walking reach of public-access defibrillators, and where new ones help most.

The pipeline, one function per stage::

    config = load_study("leeds")            # or a path to your own study TOML
    result = run_study(config)               # load, network, snap, walk, cover, rank
    write_outputs(result, "outputs/leeds")   # summary.json, CSVs, map.html

or stage by stage: :func:`build_network` / :func:`network_from_osm` / :func:`network_from_graph`,
:func:`snap_points`, :func:`nearest_facility`, :func:`coverage_shares`, :func:`pair_distances`,
:func:`rank_sites`, :func:`greedy`, :func:`mclp`. What if? :func:`compare` measures plans of
sites (candidates added, defibs taken away) on a finished study without running it again.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from defibmap._errors import (
    ConfigError,
    DefibmapError,
    InputError,
    NetworkError,
    OptimisationError,
)

if TYPE_CHECKING:
    from defibmap.analysis.optimise import greedy, mclp
    from defibmap.analysis.ranking import RankingDemand, rank_sites
    from defibmap.analysis.reach import coverage_shares, nearest_facility, pair_distances
    from defibmap.config.study_file import StudyConfig, read_study
    from defibmap.network.snapping import snap_points
    from defibmap.network.walk import Network
    from defibmap.network.walk import from_graph as network_from_graph
    from defibmap.network.walk import from_osm_file as network_from_osm
    from defibmap.network.walk import from_place as network_from_place
    from defibmap.outputs.write import write_outputs
    from defibmap.study.compare import compare
    from defibmap.study.pipeline import StudyResult, build_network, load_study, run_study

#: The public names that need the heavy libraries (numpy, scipy, geopandas, numba, folium),
#: imported when first used (PEP 562), so ``import defibmap`` and the command line's first
#: progress line come at once: name -> (module, attribute).
_LAZY = {
    "Network": ("defibmap.network.walk", "Network"),
    "RankingDemand": ("defibmap.analysis.ranking", "RankingDemand"),
    "StudyConfig": ("defibmap.config.study_file", "StudyConfig"),
    "StudyResult": ("defibmap.study.pipeline", "StudyResult"),
    "build_network": ("defibmap.study.pipeline", "build_network"),
    "compare": ("defibmap.study.compare", "compare"),
    "coverage_shares": ("defibmap.analysis.reach", "coverage_shares"),
    "greedy": ("defibmap.analysis.optimise", "greedy"),
    "load_study": ("defibmap.study.pipeline", "load_study"),
    "mclp": ("defibmap.analysis.optimise", "mclp"),
    "nearest_facility": ("defibmap.analysis.reach", "nearest_facility"),
    "network_from_graph": ("defibmap.network.walk", "from_graph"),
    "network_from_osm": ("defibmap.network.walk", "from_osm_file"),
    "network_from_place": ("defibmap.network.walk", "from_place"),
    "pair_distances": ("defibmap.analysis.reach", "pair_distances"),
    "rank_sites": ("defibmap.analysis.ranking", "rank_sites"),
    "read_study": ("defibmap.config.study_file", "read_study"),
    "run_study": ("defibmap.study.pipeline", "run_study"),
    "snap_points": ("defibmap.network.snapping", "snap_points"),
    "write_outputs": ("defibmap.outputs.write", "write_outputs"),
}


def __getattr__(name: str) -> object:
    """Import a public name from its module the first time it is used."""
    if name not in _LAZY:
        msg = f"module 'defibmap' has no attribute {name!r}"
        raise AttributeError(msg)
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names, the lazy ones included."""
    return sorted(set(globals()) | set(_LAZY))


try:
    __version__ = version("defibmap")
except PackageNotFoundError:  # pragma: no cover - bare source tree
    __version__ = "0+unknown"

__all__ = [
    "ConfigError",
    "DefibmapError",
    "InputError",
    "Network",
    "NetworkError",
    "OptimisationError",
    "RankingDemand",
    "StudyConfig",
    "StudyResult",
    "__version__",
    "build_network",
    "compare",
    "coverage_shares",
    "greedy",
    "load_study",
    "mclp",
    "nearest_facility",
    "network_from_graph",
    "network_from_osm",
    "network_from_place",
    "pair_distances",
    "rank_sites",
    "read_study",
    "run_study",
    "snap_points",
    "write_outputs",
]
