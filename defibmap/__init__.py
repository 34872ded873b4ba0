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

from importlib.metadata import PackageNotFoundError, version

from defibmap._errors import (
    ConfigError,
    DefibmapError,
    InputError,
    NetworkError,
    OptimisationError,
)
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
