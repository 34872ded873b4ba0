"""The result of a study: everything :func:`defibmap.study.pipeline.run_study` computed.

:class:`StudyResult` holds the frames, the coverage, the ranking and the provenance that the
report, the tables and the map read; :meth:`StudyResult.summary` gives ``summary.json``.

Private to the package: :mod:`defibmap.study.pipeline` re-exports :class:`StudyResult` and
:func:`tool_version`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from defibmap.config.study_file import StudyConfig
    from defibmap.network.walk import Network


@dataclass
class StudyResult:
    """Everything a study computed; the report and the map read from it.

    Attributes
    ----------
    config
        The study as read.
    network
        The walking network.
    demand
        Demand points used (index ``demand_id``): ``population``, ``lon``/``lat`` (input, WGS84),
        ``snap_m``, ``walk_m`` (NaN: no defib within the search limit), ``nearest_defib_id``,
        ``covered`` (at the headline threshold); geometry in the network CRS.
    defibs
        Every site counted as an existing defib (index ``site_id``), with its ``layer``.
    stations
        Fire and police stations (index ``site_id``) with ``layer`` and ``outside_defib``.
    candidates
        Candidate buildings that snapped to the network, sorted by ``site_id``.
    coverage
        Share (0-1) of population within each threshold, every defib counted available.
    recommendations
        The ranked list (greedy order), ``min(k, candidates)`` rows.
    ranking
        Method, k, greedy and optimal population added, the gap, the optimal site ids.
    inputs
        Per layer: rows read, used, rejected and the reasons.
    rejected
        Every rejected row: ``layer``, ``id``, ``row``, ``reason``.
    sources
        ``{layer, name, licence, date, sha256}`` for every input file.
    network_faults
        Counts of the network's faults (:class:`defibmap.network.faults.NetworkFaults`) and one
        sentence per kind found, for ``summary.json``'s ``network``.
    """

    config: StudyConfig
    network: Network
    demand: gpd.GeoDataFrame
    defibs: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    coverage: dict[str, float]
    recommendations: pd.DataFrame
    ranking: dict[str, Any]
    inputs: dict[str, dict[str, Any]]
    rejected: pd.DataFrame
    sources: list[dict[str, str]]
    notes: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    curve: pd.DataFrame | None = None
    network_faults: dict[str, Any] = field(default_factory=dict)

    @property
    def population_total(self) -> float:
        """Population of the demand points used, people."""
        return float(self.demand["population"].sum())

    def summary(self) -> dict[str, Any]:
        """Return the ``summary.json`` content."""
        return {
            "study": self.config.name,
            "version": tool_version(),
            "synthetic": self.config.synthetic,
            "sources": self.sources,
            "population_total": self.population_total,
            "thresholds_m": [round(t) for t in self.config.thresholds_m],
            "coverage": self.coverage,
            "ranking": self.ranking,
            "network": {
                "nodes": self.network.n_nodes,
                "edges": self.network.n_edges,
                "source": self.network.source,
                "crs": self.network.crs,
                **({"faults": self.network_faults} if self.network_faults else {}),
            },
            "inputs": self.inputs,
            "notes": self.notes,
            **self.extras,
        }


def tool_version() -> str:
    """Return the installed defibmap version."""
    try:
        return version("defibmap")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0+unknown"
