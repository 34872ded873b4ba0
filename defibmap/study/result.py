"""The result of a study: everything :func:`defibmap.study.pipeline.run_study` computed.

:class:`StudyResult` holds the frames, the coverage, the ranking, the board's analyses (typed
parts, :mod:`defibmap.study.parts`) and the provenance that the report, the tables and the
map read. :meth:`StudyResult.summary` builds the ``summary.json`` content from the typed
parts (each part's JSON shape in :mod:`defibmap.study.summary`); the writer only dumps it.

Private to the package: :mod:`defibmap.study.pipeline` re-exports :class:`StudyResult` and
:func:`tool_version`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from defibmap.study import summary as _json

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd
    import pandas as pd

    from defibmap.analysis.ranking import Ranking
    from defibmap.analysis.risk import DemandWeight
    from defibmap.config.study_file import StudyConfig
    from defibmap.network.faults import NetworkFaults
    from defibmap.network.walk import Network
    from defibmap.study.parts import (
        JSON,
        Assumptions,
        Equity,
        FinerDemand,
        InputReport,
        ReachAreas,
        Readiness,
        Scenario,
        Sensitivity,
        SetCovering,
        StraightLine,
        TimeToDefib,
    )


@dataclass(frozen=True, eq=False)
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
        Share (0-1) of population within each threshold, every defib counted usable at every
        hour (any time: the optimistic bound).
    coverage_available
        Year-round available coverage (the headline): the people-hours share (0-1) within each
        threshold of a defib usable in that hour, over a typical year of term and holiday
        weeks.
    readiness
        How the defibs' readiness was judged, what it removed and the coverage lost, or None.
    warnings
        Input cells kept but not fully understood (``layer``, ``id``, ``file``, ``row``,
        ``column``, ``text``, ``warning``): opening hours read as unknown; None outside a study.
    coverage_night
        Share (0-1) of people within each threshold of a defib usable through the whole
        00:00-06:00 window every day (at night: in practice 24/7 or outside defibs).
    ranking
        The ranked sites (``recommendations``, also an attribute of the result): greedy and
        optimal population added, the gap, the optimal set.
    input_reports
        Per layer: rows read, used, rejected and the reasons.
    rejected
        Every rejected row: ``layer``, ``id``, ``row``, ``reason``.
    sources
        ``{layer, name, licence, date, sha256}`` for every input file.
    notes
        Plain sentences on what the reader should know (e.g. every defib is in a school).
    scenarios
        Coverage per scenario (named set of sites) by hour of the week.
    set_covering
        The fewest sites for each target share, or None.
    curve
        Covered population against the number of new sites (greedy and optimal), or None.
    equity
        Coverage by deprivation decile and ward, or None.
    straight_line
        The straight-line comparison, or None.
    time_to_defib
        Minutes to the first defib by each route, or None.
    assumptions
        The availability and distance assumptions, or None.
    finer_demand
        Coverage on the area centroids beside the finer demand, when the study spreads it.
    network_faults
        The walking network's faults (:class:`defibmap.network.faults.NetworkFaults`), or None.
    reach_areas
        The walkable reach areas the map draws, or None.
    wards
        The ward outlines the map draws (``name``, geometry), or None.
    sensitivity
        How often each option is in the top k over draws of the assumptions, intervals on
        the headline figures and a verdict, when the study ran them (``--sensitivity N``).
    demand_weight
        What the ranking maximised per demand point (``[demand] weight``: residents,
        expected cardiac arrests a year or past incidents) and its totals within reach.
    """

    config: StudyConfig
    network: Network
    demand: gpd.GeoDataFrame
    defibs: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    coverage: Mapping[str, float]
    ranking: Ranking
    input_reports: Mapping[str, InputReport]
    rejected: pd.DataFrame
    sources: tuple[Mapping[str, str], ...]
    notes: tuple[str, ...] = ()
    scenarios: Mapping[str, Scenario] = field(default_factory=dict)
    set_covering: SetCovering | None = None
    curve: pd.DataFrame | None = None
    equity: Equity | None = None
    straight_line: StraightLine | None = None
    time_to_defib: TimeToDefib | None = None
    assumptions: Assumptions | None = None
    finer_demand: FinerDemand | None = None
    network_faults: NetworkFaults | None = None
    reach_areas: ReachAreas | None = None
    wards: gpd.GeoDataFrame | None = None
    coverage_available: Mapping[str, float] = field(default_factory=dict)
    coverage_night: Mapping[str, float] = field(default_factory=dict)
    warnings: pd.DataFrame | None = None
    readiness: Readiness | None = None
    demand_weight: DemandWeight | None = None
    sensitivity: Sensitivity | None = None

    @property
    def recommendations(self) -> pd.DataFrame:
        """The ranked list (greedy order), ``min(k, candidates)`` rows: ``ranking``'s table."""
        return self.ranking.recommendations

    @property
    def population_total(self) -> float:
        """Population of the demand points used, people."""
        return float(self.demand["population"].sum())

    @property
    def inputs(self) -> dict[str, dict[str, JSON]]:
        """Per layer, the input report as ``summary.json``'s ``inputs`` has it."""
        return {name: _json.input_report(r) for name, r in self.input_reports.items()}

    def summary(self) -> dict[str, JSON]:
        """Return the ``summary.json`` content, built from the typed parts.

        Each part's JSON shape is in :mod:`defibmap.study.summary`; the writer only dumps this.
        """
        network = self.network
        net: dict[str, JSON] = {
            "nodes": network.n_nodes,
            "edges": network.n_edges,
            "source": network.source,
            "crs": network.crs,
        }
        if self.network_faults is not None:
            net["faults"] = _json.faults(self.network_faults)
        out: dict[str, JSON] = {
            "study": self.config.name,
            "version": tool_version(),
            "synthetic": self.config.synthetic,
            "sources": [dict(s) for s in self.sources],
            "population_total": self.population_total,
            "thresholds_m": [round(t) for t in self.config.thresholds_m],
            "coverage": dict(self.coverage),
            **self._available(),
            "ranking": _json.ranking(self.ranking),
            "network": net,
            "inputs": self.inputs,
            "notes": list(self.notes),
        }
        if self.readiness is not None:
            out["readiness"] = _json.readiness(self.readiness)
        if self.warnings is not None:
            out["warnings"] = {
                "opening_hours_not_understood": int(
                    (self.warnings["column"] == "opening_hours").sum()
                ),
                "file": "warnings.csv",
            }
        out.update(self._analyses())
        return out

    def _available(self) -> dict[str, JSON]:
        """Return ``coverage_available`` and ``coverage_night`` when the study measured them."""
        out: dict[str, JSON] = {}
        if self.coverage_available:
            out["coverage_available"] = dict(self.coverage_available)
        if self.coverage_night:
            out["coverage_night"] = dict(self.coverage_night)
        return out

    def _analyses(self) -> dict[str, JSON]:
        """Return the board's analyses in ``summary.json`` order, leaving out what is absent."""
        out: dict[str, JSON] = {}
        if self.scenarios:
            out["scenarios"] = {name: _json.scenario(s) for name, s in self.scenarios.items()}
        if self.set_covering is not None:
            out["set_covering"] = _json.set_covering(self.set_covering)
        if self.curve is not None:
            out["curve"] = [
                {str(k): v for k, v in row.items()} for row in self.curve.to_dict(orient="records")
            ]
        if self.equity is not None:
            out["equity"] = _json.equity(self.equity)
        if self.straight_line is not None:
            out["straight_line"] = _json.straight_line(self.straight_line)
        if self.time_to_defib is not None:
            out["time_to_defib"] = _json.time_to_defib(self.time_to_defib)
        if self.assumptions is not None:
            out["assumptions"] = _json.assumptions(self.assumptions)
        if self.finer_demand is not None:
            out["finer_demand"] = _json.finer_demand(self.finer_demand)
        if self.demand_weight is not None:
            out["demand_weight"] = _json.demand_weight(self.demand_weight)
        if self.sensitivity is not None:
            out["sensitivity"] = _json.sensitivity(self.sensitivity)
        return out


def tool_version() -> str:
    """Return the installed defibmap version."""
    try:
        return version("defibmap")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0+unknown"
