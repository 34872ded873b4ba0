"""A study as a pipeline: a study file in, a :class:`StudyResult` out.

:mod:`~defibmap.study.pipeline` runs the stages; :mod:`~defibmap.study._inputs` loads and snaps
the layers; :mod:`~defibmap.study.network_cache` builds or loads the walking network;
:mod:`~defibmap.study.board` computes the board-level summaries;
:mod:`~defibmap.study.timing` the time to the first defib; :mod:`~defibmap.study.result`
holds what was computed.
"""

from __future__ import annotations

from defibmap.study.network_cache import build_network
from defibmap.study.pipeline import load_study, run_study
from defibmap.study.result import StudyResult

__all__ = ["StudyResult", "build_network", "load_study", "run_study"]
