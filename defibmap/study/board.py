"""The analysis a board needs, on top of the headline coverage.

Opening hours (day and night), the three named scenarios side by side, the fewest sites for a
target share (location set covering), the coverage curve, equity by deprivation decile and
ward, and the straight-line comparison. Pure: data in, typed parts
(:mod:`defibmap.study.parts`) and frames out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap import layers as layer_kinds
from defibmap._errors import ConfigError
from defibmap.analysis import availability as av
from defibmap.analysis import equity, optimise, reach
from defibmap.analysis.scenarios import YearCoverage, week_coverage, year_coverage
from defibmap.defaults import SMALL_GROUP_SHARE
from defibmap.io.hours import HOURS_PER_WEEK
from defibmap.network.snapping import Snapped
from defibmap.study import names
from defibmap.study.parts import (
    EQUITY_BASES,
    BasisEquity,
    CoverTarget,
    DecileGap,
    Equity,
    GroupShare,
    Scenario,
    SetCovering,
    StraightLine,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd
    import scipy.sparse as sp
    from numpy.typing import NDArray

    from defibmap.config.study_file import StudyConfig
    from defibmap.network.walk import Network

SCENARIO_NAMES = ("current", "current+stations", "current+stations+recommended")


@dataclass(frozen=True)
class SiteSet:
    """Defib sites of a scenario with their weekly usability."""

    ids: NDArray[np.object_]
    snapped: Snapped
    term: NDArray[np.bool_]  # (n, 168) in a school-term week
    holiday: NDArray[np.bool_]  # (n, 168) in a school-holiday week
    term_unknown_off: NDArray[np.bool_]  # term week with unknown hours read as unavailable

    def __len__(self) -> int:
        """Return the number of sites."""
        return int(self.ids.shape[0])

    def plus(self, other: SiteSet) -> SiteSet:
        """Return the union of two site sets (sites already present are not repeated)."""
        new = ~np.isin(other.ids, self.ids)
        return SiteSet(
            ids=np.concatenate([self.ids, other.ids[new]]),
            snapped=Snapped.concat([self.snapped, other.snapped.subset(new)]),
            term=np.vstack([self.term, other.term[new]]),
            holiday=np.vstack([self.holiday, other.holiday[new]]),
            term_unknown_off=np.vstack([self.term_unknown_off, other.term_unknown_off[new]]),
        )


def _text(frame: pd.DataFrame, column: str) -> list[str | None]:
    if column not in frame.columns:
        return [None] * len(frame)
    values = frame[column].astype(object).where(frame[column].notna(), None)
    return [None if v is None or str(v).strip() in {"", "nan"} else str(v) for v in values]


def _fixed_availability(layer: str | None) -> str | None:
    """Return the availability a layer kind fixes for its sites (a station's "24/7") or None."""
    known = {k.name: k for k in layer_kinds.all_kinds()}
    if layer is None or layer not in known:
        return None
    return known[layer].default_availability


def not_ready(defibs: pd.DataFrame) -> NDArray[np.bool_]:
    """Return True for each defib its register judges not ready (``ready`` is False).

    A defib with no ``ready`` value (no register, or nothing said of it) is not removed:
    unknown readiness counts as ready (:mod:`defibmap.io.readiness`).
    """
    if "ready" not in defibs.columns:
        return np.zeros(len(defibs), dtype=bool)
    ready = defibs["ready"].astype("boolean")
    return np.asarray((~ready).fillna(value=False).to_numpy(dtype=bool), dtype=bool)


def _outside(defibs: pd.DataFrame) -> list[bool | None]:
    """Each defib's own ``outside_defib`` value (None where the row gives none)."""
    if "outside_defib" not in defibs.columns:
        return [None] * len(defibs)
    flags = defibs["outside_defib"].astype("boolean")
    return [None if pd.isna(v) else bool(v) for v in flags.astype(object)]


def defib_availability(
    defibs: gpd.GeoDataFrame, config: StudyConfig, *, ignore_readiness: bool = False
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_], list[str]]:
    """Term-week, holiday-week and unknown-as-unavailable usability, and a label per defib.

    Stations counted as defibs (a ``layer`` whose kind has a fixed availability, "24/7")
    are outside cabinets. A defib whose row says ``outside_defib`` yes is 24/7 whatever its
    hours; one that says no is usable in its opening hours even if its ``location`` text says
    outside; without a value the ``location`` text (OSM's ``defibrillator:location``) decides.
    A school's defib is usable in school hours in term time and not at all in school
    holidays, unless it hangs outside. A defib its register judges not ready (``ready`` is
    False, :func:`not_ready`) is usable at no hour, in term, holiday and strict alike, unless
    ``ignore_readiness`` (what maintenance alone would win back). The label says the hours
    only. An ``availability`` column of a user's file is not read
    (:mod:`defibmap.study.names` reports it): only the layer kind fixes it.
    """
    n = len(defibs)
    term = np.ones((n, HOURS_PER_WEEK), dtype=bool)
    holiday = np.ones((n, HOURS_PER_WEEK), dtype=bool)
    strict = np.ones((n, HOURS_PER_WEEK), dtype=bool)
    labels: list[str] = []
    hours = _text(defibs, "opening_hours")
    where_loc = _text(defibs, "location")
    kinds = _text(defibs, "kind")
    outside = _outside(defibs)
    fixed = [_fixed_availability(layer) for layer in _text(defibs, "layer")]
    rows = defibs["source_row"].to_numpy() if "source_row" in defibs.columns else np.zeros(n)
    for i in range(n):  # one parse per site (hundreds), not per demand point
        if fixed[i] == "24/7" or outside[i] is True:
            labels.append("24/7")
            continue
        where = f"defibs row {rows[i]}, column 'opening_hours'"
        common = {
            # an explicit "no" wins over the location text; a blank leaves it to decide
            "location": None if outside[i] is False else where_loc[i],
            "kind": kinds[i],
            "school_hours": config.school_hours,
            "school_term_weeks": config.school_term_weeks,
            "where": where,
        }
        found = av.site_availability(hours[i], unknown_hours=config.unknown_hours, **common)  # type: ignore[arg-type]
        off = av.site_availability(hours[i], unknown_hours="unavailable", **common)  # type: ignore[arg-type]
        term[i] = found.term
        strict[i] = off.term
        # the same reading as av.site_availability: trimmed, any case
        is_school = (kinds[i] or "").strip().lower() == "school"
        holiday[i] = found.term if not is_school or found.label == "24/7" else False
        labels.append(found.label)
    if not ignore_readiness:
        off_all = not_ready(defibs)
        term[off_all] = False
        holiday[off_all] = False
        strict[off_all] = False
    return term, holiday, strict, labels


def always(ids: NDArray[np.object_], snapped: Snapped) -> SiteSet:
    """Return a set of 24/7 outside cabinets."""
    ones = np.ones((len(ids), HOURS_PER_WEEK), dtype=bool)
    return SiteSet(ids, snapped, ones, ones, ones)


def scenario_summary(
    network: Network,
    demand: Snapped,
    population: NDArray[np.float64],
    sites: SiteSet,
    config: StudyConfig,
    *,
    day_demand: tuple[Snapped, NDArray[np.float64]] | None = None,
    year: YearCoverage | None = None,
) -> Scenario:
    """Coverage of one scenario at every threshold: any time, available, night, the profile.

    ``day_demand`` (snapped points and their people) replaces the residents for the day
    figures, since people are not at home by day (e.g. ONS workplace population). ``year`` is
    the scenario's year-round available and night coverage when already measured.
    """
    t = config.thresholds_m
    if year is None:
        year = site_year_coverage(network, demand, population, sites, config)
    limit = reach.search_limit_m(t)
    walk = reach.nearest_facility(network, demand, sites.snapped, limit_m=limit).walk_m
    term = week_coverage(network, demand, population, sites.snapped, sites.term, thresholds_m=t)
    hol = week_coverage(network, demand, population, sites.snapped, sites.holiday, thresholds_m=t)
    off = week_coverage(
        network, demand, population, sites.snapped, sites.term_unknown_off, thresholds_m=t
    )
    weight = config.school_term_weeks / 52.0
    day_term, day_hol = term, hol
    if day_demand is not None:
        d_snap, d_pop = day_demand
        day_term = week_coverage(network, d_snap, d_pop, sites.snapped, sites.term, thresholds_m=t)
        day_hol = week_coverage(
            network, d_snap, d_pop, sites.snapped, sites.holiday, thresholds_m=t
        )
    day: dict[str, float] = {}
    night: dict[str, float] = {}
    day_year: dict[str, float] = {}
    night_year: dict[str, float] = {}
    unknown_day: dict[str, float] = {}
    unknown_night: dict[str, float] = {}
    hourly_term: dict[str, tuple[float, ...]] = {}
    for key, hourly in term.hourly.items():
        annual = weight * hourly + (1 - weight) * hol.hourly[key]
        day_annual = weight * day_term.hourly[key] + (1 - weight) * day_hol.hourly[key]
        day[key] = av.mean_share(day_term.hourly[key], av.DAY_HOURS)
        night[key] = av.mean_share(hourly, av.NIGHT_HOURS)
        day_year[key] = av.mean_share(day_annual, av.DAY_HOURS)
        night_year[key] = av.mean_share(annual, av.NIGHT_HOURS)
        unknown_day[key] = av.mean_share(off.hourly[key], av.DAY_HOURS)
        unknown_night[key] = av.mean_share(off.hourly[key], av.NIGHT_HOURS)
        hourly_term[key] = tuple(round(float(v), 6) for v in hourly)
    return Scenario(
        sites=len(sites),
        any_time=reach.coverage_shares(walk, population, t),
        day=day,
        night=night,
        day_annual_average=day_year,
        night_annual_average=night_year,
        unknown_day=unknown_day,
        unknown_night=unknown_night,
        hourly_term_time=hourly_term,
        day_demand="own day-time layer" if day_demand is not None else "residents",
        available=year.available,
        night_24_7=year.night,
    )


def site_year_coverage(
    network: Network,
    demand: Snapped,
    population: NDArray[np.float64],
    sites: SiteSet,
    config: StudyConfig,
) -> YearCoverage:
    """Year-round available and night (24/7) coverage of a set of sites, at every threshold."""
    return year_coverage(
        network,
        demand,
        population,
        sites.snapped,
        (sites.term, sites.holiday),
        term_weeks=config.school_term_weeks,
        thresholds_m=config.thresholds_m,
    )


def named_scenario(ids: tuple[str, ...], pools: list[SiteSet], name: str) -> SiteSet:
    """Build a study-defined scenario: the listed sites, with their own hours, any layer."""
    chosen: list[SiteSet] = []
    found: set[str] = set()
    for pool in pools:
        mask = np.isin(pool.ids.astype(str), np.array(ids, dtype=str))
        found.update(pool.ids[mask].astype(str))
        chosen.append(
            SiteSet(
                pool.ids[mask],
                pool.snapped.subset(mask),
                pool.term[mask],
                pool.holiday[mask],
                pool.term_unknown_off[mask],
            )
        )
    missing = sorted(set(ids) - found)
    if missing:
        msg = f"[scenarios.{name}] lists unknown or unusable site ids: {missing}"
        raise ConfigError(msg)
    out = chosen[0]
    for part in chosen[1:]:
        out = out.plus(part)
    return out


def set_covering(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    already: NDArray[np.bool_],
    candidate_ids: NDArray[np.object_],
    config: StudyConfig,
) -> SetCovering:
    """Fewest candidate buildings for each target share, solved exactly.

    A target is a share of everyone (``targets_of = "all"``, the default: the whole demand
    weight, residents or what the ranking counts) or of those any site could reach
    (``"reachable"``). A target no set of candidates reaches is reported unreachable with
    ``max_share``, the best share possible with every candidate.
    """
    total = float(weights.sum())
    base = float(weights[already].sum())
    all_sites = optimise.covered_weight(
        cover, weights, np.arange(cover.shape[0]), already_covered=already
    )
    reachable = base + all_sites
    # "total" is the old name of "all": every resident (or the whole demand weight) counts
    of = "reachable" if config.targets_of == "reachable" else "all"
    denominator = reachable if of == "reachable" else total
    best = reachable / denominator if denominator else 0.0
    targets: dict[str, CoverTarget] = {}
    for share in config.targets:
        goal = share * denominator
        res = optimise.set_cover(cover, weights, max(goal - base, 0.0), already_covered=already)
        if not res.reachable or res.sites is None:
            targets[f"{share:g}"] = CoverTarget(reachable=False, max_share=best)
            continue
        targets[f"{share:g}"] = CoverTarget(
            reachable=True,
            sites=len(res.sites),
            site_ids=tuple(sorted(str(s) for s in candidate_ids[res.sites])),
            covered_share=(base + res.covered) / denominator if denominator else 0.0,
            max_share=best,
        )
    return SetCovering(
        of=of,
        threshold_m=round(config.rank_threshold_m),
        population_total=total,
        population_reachable=reachable,
        population_covered_before=base,
        targets=targets,
        max_share=best,
    )


def curve_table(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    population: NDArray[np.float64],
    already: NDArray[np.bool_],
    k_max: int,
) -> pd.DataFrame:
    """Covered population as new sites are added: greedy order and exact optimum per k.

    When the ranking weights demand by deprivation the curve still counts people, so the
    population figures are recomputed from the chosen sites.
    """
    rows = []
    base = float(population[already].sum())
    total = float(population.sum())
    steps = optimise.greedy(cover, weights, k_max, already_covered=already)
    chosen: list[int] = []
    for k in range(min(k_max, cover.shape[0]) + 1):
        if k:
            chosen.append(steps[k - 1].site)
        exact = optimise.mclp(cover, weights, k, already_covered=already) if k else None
        greedy_pop = base + optimise.covered_weight(
            cover, population, np.array(chosen, dtype=np.int64), already_covered=already
        )
        optimal_pop = base + (
            optimise.covered_weight(cover, population, exact.sites, already_covered=already)
            if exact is not None
            else 0.0
        )
        rows.append(
            {
                "k": k,
                "greedy_population_covered": greedy_pop,
                "optimal_population_covered": optimal_pop,
                "greedy_share": greedy_pop / total if total else 0.0,
                "optimal_share": optimal_pop / total if total else 0.0,
            }
        )
    return pd.DataFrame(rows)


def _groups(
    groups: pd.Series[float] | pd.Series[str],
    population: NDArray[np.float64],
    covered_now: NDArray[np.bool_] | NDArray[np.float64],
    covered_after: NDArray[np.bool_] | NDArray[np.float64],
    name: str,
) -> tuple[GroupShare, ...]:
    """Coverage by group now, with the share once the recommended sites are added.

    ``covered_now`` and ``covered_after`` are per point: covered or not, or the covered
    share 0-1 (of the year's hours).
    """
    now = equity.coverage_by_group(groups, population, covered_now, name=name)
    after = equity.coverage_by_group(groups, population, covered_after, name=name)
    return tuple(
        GroupShare(
            group=row[name],
            population=float(row["population"]),
            covered_population=float(row["covered_population"]),
            share=float(row["share"]),
            share_with_recommended=float(later["share"]),
            covered_population_with_recommended=float(later["covered_population"]),
        )
        for row, later in zip(now, after, strict=True)
    )


def _gap(rows: tuple[GroupShare, ...], *, after: bool) -> DecileGap | None:
    """Least- minus most-deprived decile share (now, or with the recommended sites).

    The two deciles' people are kept beside the gap: a decile of few people makes it fragile.
    """
    shares = [
        {"imd_decile": r.group, "share": r.share_with_recommended if after else r.share}
        for r in rows
    ]
    found = equity.decile_gap(shares)
    if found is None:
        return None
    people = {r.group: r.population for r in rows}
    return DecileGap(
        most_deprived_decile=found["most_deprived_decile"],
        least_deprived_decile=found["least_deprived_decile"],
        gap_share=float(found["gap_share"]),
        most_deprived_population=people[found["most_deprived_decile"]],
        least_deprived_population=people[found["least_deprived_decile"]],
    )


def _slope(rows: tuple[GroupShare, ...], *, after: bool) -> float | None:
    """Slope index of inequality over groups ordered from the most deprived, points."""
    ordered = sorted(rows, key=lambda r: float(r.group))
    shares = np.array([r.share_with_recommended if after else r.share for r in ordered])
    people = np.array([r.population for r in ordered], dtype=np.float64)
    return equity.slope_index(shares, people)


def coverage_bases(
    demand: gpd.GeoDataFrame,
    covered_after_any: NDArray[np.bool_],
    year_after: YearCoverage,
    threshold_key: str,
) -> tuple[dict[str, NDArray[np.float64]], dict[str, NDArray[np.float64]], str]:
    """Each point's covered share on each basis, now and with the recommended sites.

    Parameters
    ----------
    demand
        The demand with ``covered`` (any time), ``covered_night`` and
        ``covered_available_share`` at the headline walk.
    covered_after_any
        Covered at any time with the recommended sites.
    year_after
        Year-round available and night coverage with the recommended sites.
    threshold_key
        The headline walk, metres, as text (``"500"``).

    Returns
    -------
    tuple of (dict, dict, str)
        Now and after, keyed ``"night"``, ``"available"``, ``"any"``: 0-1 per point; and how
        night and year-round coverage were measured.
    """
    now = {
        "any": demand["covered"].to_numpy(dtype=np.float64),
        "night": demand["covered_night"].to_numpy(dtype=np.float64),
        "available": demand["covered_available_share"].to_numpy(dtype=np.float64),
    }
    after = {
        "any": np.asarray(covered_after_any, dtype=np.float64),
        "night": year_after.point_night[threshold_key].astype(np.float64),
        "available": year_after.point_share[threshold_key],
    }
    measured = "from each point's hours of usable defibs over a typical year"
    return {k: now[k] for k in EQUITY_BASES}, {k: after[k] for k in EQUITY_BASES}, measured


def _ward_names(
    demand: gpd.GeoDataFrame, config: StudyConfig, wards: gpd.GeoDataFrame | None
) -> pd.Series[str] | None:
    """Return each resident's ward: the demand's ward column, else the ward polygon it lies in."""
    ward_col = config.ward_column or ("ward" if "ward" in demand.columns else None)
    if ward_col is not None and ward_col in demand.columns:
        names: pd.Series[str] = demand[ward_col].astype(str)
        return names
    if wards is None:
        return None
    import geopandas as gpd_

    joined = gpd_.sjoin(
        demand[["geometry"]], wards[["ward", "geometry"]], how="left", predicate="within"
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    found: pd.Series[str] = joined["ward"].reindex(demand.index)
    return found


def _basis_equity(
    demand: gpd.GeoDataFrame,
    deciles: pd.Series[float],
    now: NDArray[np.float64],
    after: NDArray[np.float64],
) -> BasisEquity:
    """Deciles, quintiles, slope index and need on one coverage basis."""
    population = demand["population"].to_numpy(dtype=np.float64)
    by_decile = _groups(deciles, population, now, after, "imd_decile")
    quintiles = equity.quintile_of_decile(deciles)
    need = None
    if "expected_arrests" in demand.columns:
        arrests = pd.to_numeric(demand["expected_arrests"], errors="coerce")
        need = _groups(deciles, arrests.fillna(0.0).to_numpy(np.float64), now, after, "imd_decile")
    return BasisEquity(
        by_imd_decile=by_decile,
        by_imd_quintile=_groups(quintiles, population, now, after, "imd_quintile"),
        slope_index=_slope(by_decile, after=False),
        slope_index_with_recommended=_slope(by_decile, after=True),
        need_by_imd_decile=need,
    )


def _small_deciles(rows: tuple[GroupShare, ...]) -> tuple[tuple[GroupShare, ...], list[str]]:
    """Return the deciles holding few of the people, and a note for each."""
    people = np.array([r.population for r in rows], dtype=np.float64)
    small = equity.small_groups(people)
    total = float(people.sum())
    found = tuple(r for r, s in zip(rows, small, strict=True) if s)
    notes = [
        f"IMD decile {r.group} holds {r.population:,.0f} people "
        f"({100 * r.population / total:.1f} % of those with a decile, under "
        f"{100 * SMALL_GROUP_SHARE:g} %): its coverage share rests on few people."
        for r in found
    ]
    return found, notes


def equity_tables(
    demand: gpd.GeoDataFrame,
    covered_now: Mapping[str, NDArray[np.float64]],
    covered_after: Mapping[str, NDArray[np.float64]],
    config: StudyConfig,
    wards: gpd.GeoDataFrame | None,
    *,
    bases_measured: str = "",
) -> Equity:
    """Coverage by IMD decile, quintile and ward, now and with the recommended sites.

    Parameters
    ----------
    demand
        The demand points: ``population``, the IMD decile column when there is one, and
        ``expected_arrests`` when the demand carries them.
    covered_now, covered_after
        Each point's covered share (0-1, or 0/1) today and with the recommended sites, keyed
        by basis (:data:`~defibmap.study.parts.EQUITY_BASES`: ``"night"``, ``"available"``,
        ``"any"``). ``by_imd_decile``, the gaps and the wards count ``"any"``.
    config
        The study: the headline walk, the decile and ward columns.
    wards
        Ward polygons, or None.
    bases_measured
        How the night and year-round coverage were measured, for the summary.
    """
    population = demand["population"].to_numpy(dtype=np.float64)
    any_now, any_after = covered_now["any"], covered_after["any"]
    by_decile = gap_now = gap_after = by_ward = None
    by_basis: dict[str, BasisEquity] = {}
    small: tuple[GroupShare, ...] = ()
    notes: list[str] = []
    decile_col = names.decile_column(config, demand)  # values checked when loaded
    if decile_col is not None:
        deciles = pd.to_numeric(demand[decile_col], errors="coerce")
        by_decile = _groups(deciles, population, any_now, any_after, "imd_decile")
        gap_now = _gap(by_decile, after=False)
        gap_after = _gap(by_decile, after=True)
        by_basis = {
            basis: _basis_equity(demand, deciles, covered_now[basis], covered_after[basis])
            for basis in EQUITY_BASES
        }
        small, notes = _small_deciles(by_decile)
    ward_names = _ward_names(demand, config, wards)
    if ward_names is not None:
        by_ward = _groups(ward_names, population, any_now, any_after, "ward")
    return Equity(
        threshold_m=round(config.headline_threshold_m),
        by_imd_decile=by_decile,
        decile_gap=gap_now,
        decile_gap_with_recommended=gap_after,
        by_ward=by_ward,
        by_basis=by_basis,
        small_deciles=small,
        notes=tuple(notes),
        bases_measured=bases_measured,
    )


def straight_line(
    demand: gpd.GeoDataFrame,
    defibs: gpd.GeoDataFrame,
    walk_m: NDArray[np.float64],
    config: StudyConfig,
) -> tuple[StraightLine, NDArray[np.float64]]:
    """Coverage by straight-line distance beside the walking figure (approximate).

    Returns
    -------
    tuple of (StraightLine, ndarray)
        The comparison, and each demand point's straight-line distance to the nearest
        defib, metres.
    """
    population = demand["population"].to_numpy(dtype=np.float64)
    crow = reach.straight_line_nearest(
        demand.geometry.x.to_numpy(),
        demand.geometry.y.to_numpy(),
        defibs.geometry.x.to_numpy(),
        defibs.geometry.y.to_numpy(),
    )
    crow_cov = reach.coverage_shares(crow, population, config.thresholds_m)
    walk_cov = reach.coverage_shares(walk_m, population, config.thresholds_m)
    ratio = walk_m / np.where(crow > 0, crow, np.nan)
    line = StraightLine(
        method="straight line (crow flies) from each demand point to the nearest defib; "
        "approximate, overstates walking reach",
        coverage=crow_cov,
        overstatement={k: crow_cov[k] - walk_cov[k] for k in crow_cov},
        median_walk_to_straight_ratio=float(np.nanmedian(ratio))
        if np.isfinite(ratio).any()
        else None,
    )
    return line, crow
