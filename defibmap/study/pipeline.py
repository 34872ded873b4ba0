"""A study: a config file in, a result object out.

``run_study`` reads the layers, builds (or loads from cache) the walking network, snaps every
point, measures walking distances to the nearest defib, computes coverage at each threshold
and ranks the candidate buildings: the named stages of :mod:`defibmap.study.stages`, each a
function from one frozen record to the next. It writes nothing:
:mod:`defibmap.outputs.write` does that.

The result object, :class:`StudyResult`, lives in :mod:`defibmap.study.result`; building and
caching the network, :func:`build_network` and :func:`cache_dir`, in
:mod:`defibmap.study.network_cache`. Both are re-exported here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from defibmap._resources import study_path
from defibmap.config.study_file import StudyConfig, read_study
from defibmap.study import stages
from defibmap.study.network_cache import build_network, cache_dir
from defibmap.study.result import StudyResult, tool_version
from defibmap.study.sensitivity import sensitivity
from defibmap.study.stages import DEFIB_LAYERS

if TYPE_CHECKING:
    from defibmap.network.walk import Network

__all__ = [
    "DEFIB_LAYERS",
    "StudyResult",
    "build_network",
    "cache_dir",
    "load_study",
    "run_study",
    "tool_version",
]


def load_study(study: str | Path | None = None) -> StudyConfig:
    """Read a study file, or a study shipped with the package by name.

    Parameters
    ----------
    study
        A path to a study TOML file, or the name of a shipped study (``"leeds"``,
        ``"demo-town"``, ``"coventry"``). ``None`` gives the default real-data study (Leeds).

    Returns
    -------
    StudyConfig
    """
    if study is None:
        return read_study(study_path("leeds"))
    candidate = Path(study)
    if candidate.suffix.lower() == ".toml" or candidate.exists():
        return read_study(candidate)
    return read_study(study_path(str(study)))


def run_study(
    config: StudyConfig | str | Path | None = None,
    *,
    network: Network | None = None,
    refresh: bool = False,
) -> StudyResult:
    """Run a whole study: load, network, snap, walk, cover, rank.

    Parameters
    ----------
    config
        A :class:`StudyConfig`, a study file path or a shipped study's name; ``None`` runs the
        default real-data study.
    network
        A network to use instead of building one (e.g. from
        :func:`defibmap.network.walk.from_graph`).
    refresh
        Rebuild the network and download the OpenStreetMap layers again instead of using
        the cache.

    Returns
    -------
    StudyResult

    Raises
    ------
    NetworkError
        Before any work, when the study needs downloads (``[network] place``, ``osm``
        layers without a local extract) that are not cached and the servers cannot be
        reached: the message lists what is missing, what to download and where to put it.
    """
    if not isinstance(config, StudyConfig):
        config = load_study(config)
    loaded = stages.load(config, given=network, refresh=refresh)
    networked = stages.network(loaded, given=network, refresh=refresh)
    reached = stages.reach(stages.snap(networked))
    ranked = stages.rank(stages.availability(reached))
    responded = stages.response(stages.board(ranked), refresh=refresh)
    outcome = stages.result(responded)
    # draws over the assumptions re-score the ranked study (no new walks but the pairs')
    drawn = sensitivity(ranked)
    return outcome if drawn is None else replace(outcome, sensitivity=drawn)
