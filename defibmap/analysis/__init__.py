"""The pure analysis: walking distances, coverage, availability, optimisation and response.

Every function here takes data (a :class:`~defibmap.network.Network`, snapped points, arrays,
frames) and returns data: no files, no printing. :mod:`~defibmap.analysis.reach` measures
walks and coverage, :mod:`~defibmap.analysis.availability` and
:mod:`~defibmap.analysis.scenarios` add the hours of the week,
:mod:`~defibmap.analysis.optimise` and :mod:`~defibmap.analysis.ranking` choose new sites,
:mod:`~defibmap.analysis.equity` breaks coverage down by deprivation and ward, and
:mod:`~defibmap.analysis.response` / :mod:`~defibmap.analysis.drive_routes` estimate the time
to the first defibrillator.
"""

from __future__ import annotations

from defibmap.analysis.optimise import greedy, mclp, set_cover
from defibmap.analysis.ranking import RankingDemand, rank_sites
from defibmap.analysis.reach import coverage_shares, nearest_facility, pair_distances

__all__ = [
    "RankingDemand",
    "coverage_shares",
    "greedy",
    "mclp",
    "nearest_facility",
    "pair_distances",
    "rank_sites",
    "set_cover",
]
