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
    available
        Year-round available coverage: the people-hours share within each threshold of a
        defib usable in that hour, over a typical year (term and holiday weeks).
    night_24_7
        Share of residents within each threshold of a defib usable through the whole
        00:00-06:00 window every day (in practice 24/7 or outside).
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
    available: Shares = field(default_factory=dict)
    night_24_7: Shares = field(default_factory=dict)


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
        The targets' denominator: ``"all"`` (every resident, or the ranking's whole demand
        weight; the default) or ``"reachable"`` (those within reach of a defib today or of
        some candidate).
    threshold_m
        The ranking walk, metres.
    population_total, population_reachable, population_covered_before
        People (or weights) in the study, within reach of any candidate, covered today.
    targets
        Per target share (text, ``"0.9"``).
    max_share
        The best share any set of candidates reaches (with today's defibs), 0-1 of ``of``.
    """

    of: str
    threshold_m: int
    population_total: float
    population_reachable: float
    population_covered_before: float
    targets: Mapping[str, CoverTarget]
    basis: str = "any"
    max_share: float = 0.0


@dataclass(frozen=True)
class GroupShare:
    """Coverage of one group (deprivation decile or quintile, or ward).

    ``population`` people (or expected arrests, for a table of need), ``covered_population``
    of them covered, ``share`` (0-1) covered; the same with the recommended sites added.
    """

    group: str | int | float
    population: float
    covered_population: float
    share: float
    share_with_recommended: float
    covered_population_with_recommended: float | None = None


@dataclass(frozen=True)
class DecileGap:
    """Least- minus most-deprived decile share (positive: deprived areas worse off).

    The two deciles compared are those present; ``*_population`` are their people, since a
    decile of few people makes the gap fragile.
    """

    most_deprived_decile: str | int | float
    least_deprived_decile: str | int | float
    gap_share: float
    most_deprived_population: float | None = None
    least_deprived_population: float | None = None


#: The coverage bases equity is measured on: a defib usable through the night (00:00-06:00,
#: in practice 24/7); the share of a typical year's hours a defib is usable; any time.
EQUITY_BASES = ("night", "available", "any")
#: The basis of the headline slope index of inequality.
EQUITY_HEADLINE_BASIS = "night"


@dataclass(frozen=True)
class BasisEquity:
    """Equity on one coverage basis (``"night"``, ``"available"`` or ``"any"``).

    Attributes
    ----------
    by_imd_decile, by_imd_quintile
        Coverage by IMD decile and quintile (1 = most deprived), with the people in each.
    slope_index, slope_index_with_recommended
        Slope index of inequality, percentage points (positive: the least deprived better
        covered), now and with the recommended sites; None with fewer than two deciles.
    need_by_imd_decile
        Expected cardiac arrests a year by decile and the share of them covered, when the
        demand carries them; else None.
    """

    by_imd_decile: tuple[GroupShare, ...]
    by_imd_quintile: tuple[GroupShare, ...]
    slope_index: float | None
    slope_index_with_recommended: float | None
    need_by_imd_decile: tuple[GroupShare, ...] | None = None


@dataclass(frozen=True)
class Equity:
    """Coverage at the headline walk by deprivation decile and ward, now and with new sites.

    ``by_imd_decile``, the gaps and ``by_ward`` count a defib usable at any time (as before);
    ``by_basis`` holds the deciles, quintiles and slope index on each basis of
    :data:`EQUITY_BASES`, the night one the headline. ``by_imd_decile`` is None without
    deciles (then both gaps are None and ``by_basis`` is empty); ``by_ward`` None without
    wards. ``small_deciles`` are the deciles holding under
    :data:`~defibmap.defaults.SMALL_GROUP_SHARE` of the people; ``notes`` say so in words,
    and say how the night and year-round coverage were measured (``bases_measured``).
    """

    threshold_m: int
    by_imd_decile: tuple[GroupShare, ...] | None = None
    decile_gap: DecileGap | None = None
    decile_gap_with_recommended: DecileGap | None = None
    by_ward: tuple[GroupShare, ...] | None = None
    by_basis: Mapping[str, BasisEquity] = field(default_factory=dict)
    small_deciles: tuple[GroupShare, ...] = ()
    notes: tuple[str, ...] = ()
    bases_measured: str = ""

    @property
    def slope_index(self) -> dict[str, float | None]:
        """Slope index of inequality per basis, percentage points (empty without deciles)."""
        return {k: v.slope_index for k, v in self.by_basis.items()}


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
    beats_ambulance
        Per ambulance area (``"all"`` with one area-wide distribution), the walk that beats
        the ambulance (:data:`BEATS_AMBULANCE_DEFINITION`); empty when not measured.
    """

    scenarios: Mapping[str, TimeSummary]
    per_point_scenario: str
    co_responding: str
    assumptions: TimeAssumptions
    notes: tuple[str, ...]
    beats_ambulance: Mapping[str, BeatsAmbulance] = field(default_factory=dict)


#: What :attr:`TimeToDefib.beats_ambulance` measures, as the outputs say it.
BEATS_AMBULANCE_DEFINITION = (
    "the longest one-way walk at which a second bystander's fetch (recognition, the walk "
    "there and back at the drawn walking speed, opening the cabinet) reaches the patient "
    "before the ambulance in at least half of the draws of the time model; given that a "
    "second person goes and the cabinet is unlocked and usable"
)


@dataclass(frozen=True)
class BeatsAmbulance:
    """The walk that beats the ambulance in one area.

    Attributes
    ----------
    walk_m
        The walk, metres (0 when even a walk of 0 m does not beat it in half the draws).
    share
        The share (0-1) of draws the fetch at that walk beats the ambulance.
    ambulance_mean_s
        The area's mean ambulance response, seconds.
    """

    walk_m: float
    share: float
    ambulance_mean_s: float


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


@dataclass(frozen=True)
class Readiness:
    """How the defibs' readiness was judged, what it removed and the coverage that cost.

    Attributes
    ----------
    as_of
        ISO date the pad and battery expiry and the last check were judged on.
    max_days_unchecked
        Days after a last check at which a defib counts as not ready.
    judged
        Defibs with any readiness value (status, expiry or check dates).
    not_ready_ids
        Defibs usable at no hour because they are not ready.
    reasons
        Defibs per reason (``status``, ``pads_expired``, ``battery_expired``,
        ``not_checked``; one defib may have several).
    coverage_lost_available, coverage_lost_night
        Year-round available and night coverage (shares 0-1, per threshold) the not-ready
        defibs would add if they were ready: what maintenance alone would win back.
    """

    as_of: str
    max_days_unchecked: int
    judged: int
    not_ready_ids: tuple[str, ...]
    reasons: Mapping[str, int]
    coverage_lost_available: Shares
    coverage_lost_night: Shares


@dataclass(frozen=True)
class Sensitivity:
    """How stable the ranking and the headline figures are when the assumptions vary.

    Attributes
    ----------
    draws
        Number of draws.
    k
        Size of the top counted (the greedy list's first ``k``).
    seed
        The random seed (same seed, same counts).
    stable_share
        Share (0-1) of the draws an option must be in the top ``k`` to count as stable.
    top_k_count
        ``{option id: draws in which it is in the top k}`` (values sum to draws x k).
    optimal_count
        ``{option id: draws in which it is in the exact optimum}`` (empty without exact).
    picks
        The study's own top ``k`` (its greedy list), in rank order.
    stable
        Whether each of ``picks`` is stable.
    verdict
        One line on the picks ("The first two picks are stable; the third is not.").
    intervals
        ``{figure: {"p10", "median", "p90"}}`` over the draws: ``coverage_available``,
        ``coverage_night``, ``coverage_any`` (shares 0-1 of residents at the headline walk)
        and ``objective`` (the ranking's objective).
    ranges
        The range each assumption was drawn from (``[low, high]``; ``demand_weight_cv`` a
        number).
    headline_m
        The headline walk the coverage figures are at, metres (before each draw's factor).
    seconds
        Time the draws took, seconds.
    """

    draws: int
    k: int
    seed: int
    stable_share: float
    top_k_count: Mapping[str, int]
    optimal_count: Mapping[str, int]
    picks: tuple[str, ...]
    stable: tuple[bool, ...]
    verdict: str
    intervals: Mapping[str, Mapping[str, float]]
    ranges: Mapping[str, tuple[float, float] | float]
    headline_m: float
    seconds: float
