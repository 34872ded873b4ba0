"""The typed parts of a :class:`~defibmap.study.result.StudyResult`.

Each part is a frozen record of one analysis: scenarios by hour, set covering, equity, the
straight-line comparison, time to the first defib, the assumptions, the finer-demand
comparison, the input reports and the reach areas for the map. The ``summary.json`` shape of
each is built in one place, :mod:`defibmap.study.summary`; nothing here is a dict
of loosely typed values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import geopandas as gpd

#: A value as JSON holds it: the open-ended details of an input report.
JSON: TypeAlias = "str | int | float | bool | Sequence[JSON] | Mapping[str, JSON] | None"

#: Shares (0-1) keyed by threshold in metres as text (``"500"``).
Shares: TypeAlias = Mapping[str, float]


@dataclass(frozen=True)
class Scenario:
    """Coverage of one scenario (a set of defib sites) at every threshold.

    Attributes
    ----------
    sites
        Number of defib sites.
    any_time
        Share of residents within each threshold, every site counted usable.
    day, night
        Mean hourly share in a term-time week: Monday to Friday 09:00-17:00 (day demand),
        every day 00:00-06:00 (residents).
    day_annual_average, night_annual_average
        The same averaged over the year, school holidays included.
    unknown_day, unknown_night
        Day and night shares with defibs of unknown hours counted unusable.
    hourly_term_time
        Share for each of the 168 hours of a term-time week, per threshold.
    day_demand
        Who the day figures count: ``"residents"`` or ``"own day-time layer"``.
    """

    sites: int
    any_time: Shares
    day: Shares
    night: Shares
    day_annual_average: Shares
    night_annual_average: Shares
    unknown_day: Shares
    unknown_night: Shares
    hourly_term_time: Mapping[str, tuple[float, ...]]
    day_demand: str


@dataclass(frozen=True)
class CoverTarget:
    """Fewest candidate buildings bringing coverage up to one target share.

    ``reachable`` False: no set reaches the target; ``max_share`` is the best share. Else
    ``sites`` buildings (``site_ids``) reach ``covered_share``.
    """

    reachable: bool
    sites: int = 0
    site_ids: tuple[str, ...] = ()
    covered_share: float = 0.0
    max_share: float = 0.0


@dataclass(frozen=True)
class SetCovering:
    """Location set covering: the fewest sites for each target share (exact).

    Attributes
    ----------
    of
        The targets' denominator: ``"reachable"`` or ``"total"`` population.
    threshold_m
        The ranking walk, metres.
    population_total, population_reachable, population_covered_before
        People (or weights) in the study, within reach of any candidate, covered today.
    targets
        Per target share (text, ``"0.9"``).
    """

    of: str
    threshold_m: int
    population_total: float
    population_reachable: float
    population_covered_before: float
    targets: Mapping[str, CoverTarget]


@dataclass(frozen=True)
class GroupShare:
    """Coverage of one group (deprivation decile or ward): people, covered people, share 0-1."""

    group: str | int | float
    population: float
    covered_population: float
    share: float
    share_with_recommended: float


@dataclass(frozen=True)
class DecileGap:
    """Least- minus most-deprived decile share (positive: deprived areas worse off)."""

    most_deprived_decile: str | int | float
    least_deprived_decile: str | int | float
    gap_share: float


@dataclass(frozen=True)
class Equity:
    """Coverage at the headline walk by deprivation decile and ward, now and with new sites.

    ``by_imd_decile`` is None without deciles (then both gaps are None too); ``by_ward``
    None without wards.
    """

    threshold_m: int
    by_imd_decile: tuple[GroupShare, ...] | None = None
    decile_gap: DecileGap | None = None
    decile_gap_with_recommended: DecileGap | None = None
    by_ward: tuple[GroupShare, ...] | None = None


@dataclass(frozen=True)
class StraightLine:
    """Coverage by straight-line distance beside the walking figure (approximate).

    Attributes
    ----------
    method
        How the distance was measured (text).
    coverage
        Share within each threshold in a straight line.
    overstatement
        Straight-line minus walking share.
    median_walk_to_straight_ratio
        Median walk over straight-line distance, or None.
    """

    method: str
    coverage: Shares
    overstatement: Shares
    median_walk_to_straight_ratio: float | None


@dataclass(frozen=True)
class TimeSummary:
    """Population-weighted time to the first defib of one scenario.

    Attributes
    ----------
    population
        People counted.
    median_s
        Median seconds to the first defib, or None when not reached.
    within_min_share
        Share reached within each number of minutes (text, ``"5"``).
    first_route_share
        Share for whom each route (``bystander``, ``fire``, ``ambulance``, ``none``) is first.
    draws
        Monte Carlo draws behind the figures (each draw is one arrest at every point); the
        figures above are pooled over people and draws.
    median_s_p10, median_s_p90
        10th and 90th percentiles across draws of the per-draw median, seconds.
    within_min_share_p10, within_min_share_p90
        10th and 90th percentiles across draws of the per-draw shares.
    p_defib_before_ambulance
        Population-weighted probability that a bystander or fire crew brings a defib
        before the ambulance.
    expected_min_saved
        Population-weighted mean minutes by which the first defib beats the ambulance.
    """

    population: float
    median_s: float | None
    within_min_share: Shares
    first_route_share: Shares
    draws: int = 1
    median_s_p10: float | None = None
    median_s_p90: float | None = None
    within_min_share_p10: Shares = field(default_factory=dict)
    within_min_share_p90: Shares = field(default_factory=dict)
    p_defib_before_ambulance: float | None = None
    expected_min_saved: float | None = None


@dataclass(frozen=True)
class TimeAssumptions:
    """The response assumptions of the time-to-defib analysis, seconds, and their sources."""

    walking_speed_m_s: float
    cabinet_s: float
    locked_cabinet_extra_s: float
    fire_turnout_s: float
    ambulance_s: float
    ambulance: str
    sources: Mapping[str, str]
    ambulance_p90_s: float | None = None
    recognition_s: float = 0.0
    second_bystander: float = 1.0
    walking_speed_sigma: float = 0.0
    fire_available: float = 1.0
    fire_turnout_on_call_s: float | None = None
    draws: int = 1
    seed: int = 0


@dataclass(frozen=True)
class TimeToDefib:
    """Minutes to the first defib by bystander fetch, fire co-responder or ambulance.

    Attributes
    ----------
    scenarios
        Per scenario (``"current"``, ``"current+fire"``...).
    per_point_scenario
        The scenario whose per-point times go into ``demand_coverage.csv``.
    co_responding
        ``"assessed"`` or ``"not assessed"``.
    assumptions
        The response assumptions.
    notes
        Why a part could not be assessed.
    """

    scenarios: Mapping[str, TimeSummary]
    per_point_scenario: str
    co_responding: str
    assumptions: TimeAssumptions
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Assumptions:
    """The study's availability and distance assumptions, as the outputs report them."""

    walking_speed_m_s: float
    unknown_hours: str
    school_hours: str
    school_term_weeks: int
    search_limit_m: float
    max_snap_m: float
    day: str = "Monday to Friday 09:00-17:00, mean of hourly coverage"
    night: str = "every day 00:00-06:00, mean of hourly coverage"


@dataclass(frozen=True)
class FinerDemand:
    """Coverage on finer demand points (e.g. postcodes) beside the area centroids."""

    method: str
    points: int
    areas: int
    assumption: str
    coverage: Shares
    area_centroid_coverage: Shares
    change: Shares


@dataclass(frozen=True)
class InputReport:
    """What happened to one input layer's rows.

    Attributes
    ----------
    file
        The file read (or the source's name).
    rows_read, rows_used, rows_rejected
        Row counts.
    rejected_reasons
        Rejected rows by reason.
    details
        The source's other facts in order, as JSON: for a file that carries people (demand;
        finer demand, once each area's residents are spread over its postcode points)
        ``population_in`` and ``population_used`` first (see :attr:`population_in`), then
        e.g. ``osm`` (what was downloaded).
    """

    file: str | None
    rows_read: int
    rows_used: int
    rows_rejected: int
    rejected_reasons: Mapping[str, int]
    details: Mapping[str, JSON]

    @property
    def population_in(self) -> float | None:
        """People on every row read, or None for a file without people.

        ``population_in - population_used`` is the people on the rejected rows.
        """
        return _people(self.details.get("population_in"))

    @property
    def population_used(self) -> float | None:
        """People on the rows used, or None for a file without people."""
        return _people(self.details.get("population_used"))


def _people(value: JSON | None) -> float | None:
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class ReachAreas:
    """The walkable reach areas the map draws, at the headline walk.

    Attributes
    ----------
    areas
        Label to area (current defibs; defibs usable at night, when some are not; with the
        recommended sites added, when there are any), in the network CRS.
    day_night
        The (day, night) labels for the map's day/night switch, or None.
    """

    areas: Mapping[str, gpd.GeoDataFrame]
    day_night: tuple[str, str] | None
