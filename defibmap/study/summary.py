"""The ``summary.json`` shape of a study result's parts, built in one place.

Each function turns one typed part of a :class:`~defibmap.study.result.StudyResult`
(:mod:`defibmap.study.parts`) into the plain JSON values ``summary.json`` holds;
:meth:`StudyResult.summary <defibmap.study.result.StudyResult.summary>` puts them together and
the writer, :func:`defibmap.outputs.write.write_outputs`, only cleans and dumps that. The
tables, the workbook and the report read the typed parts, never this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from defibmap.study.parts import BEATS_AMBULANCE_DEFINITION, EQUITY_HEADLINE_BASIS

if TYPE_CHECKING:
    from defibmap.analysis.ranking import Ranking
    from defibmap.analysis.risk import DemandWeight
    from defibmap.analysis.survival import SurvivalRanking
    from defibmap.network.faults import NetworkFaults
    from defibmap.study.parts import (
        JSON,
        Assumptions,
        BasisEquity,
        CoverTarget,
        DecileGap,
        Equity,
        FinerDemand,
        GroupShare,
        InputReport,
        Readiness,
        Scenario,
        Sensitivity,
        SetCovering,
        StraightLine,
        TimeToDefib,
    )


def ranking(found: Ranking) -> dict[str, JSON]:
    """Return ``summary.json``'s ``ranking``: the greedy and the optimal set's figures."""
    out: dict[str, JSON] = {
        "method": found.method,
        "new_sites": found.new_sites,
        "threshold_m": found.threshold_m,
        "candidates": found.candidates,
        "greedy_population_added": found.greedy_population_added,
        "optimal_population_added": found.optimal_population_added,
        "greedy_objective": found.greedy_objective,
        "optimal_objective": found.optimal_objective,
        "gap_objective": found.gap_objective,
        "gap_share": found.gap_share,
        "optimal_site_ids": list(found.optimal_site_ids),
        "solver_status": found.solver_status,
        "population_covered_before": found.population_covered_before,
    }
    out["objective"] = found.objective
    if found.survival is not None:
        out["survival"] = _survival(found.survival)
    out["patterns"] = found.patterns
    out["upgrades"] = found.upgrades
    out["budget"] = found.budget
    out["greedy_people_available_added"] = found.greedy_people_available_added
    out["optimal_people_available_added"] = found.optimal_people_available_added
    if found.greedy_cost is not None:
        out["greedy_cost"] = found.greedy_cost
        out["optimal_cost"] = found.optimal_cost
    if found.baseline is not None:
        out["baseline"] = found.baseline
    if found.weight is not None:
        out["weight"] = found.weight
    return out


def _survival(found: SurvivalRanking) -> dict[str, JSON]:
    """Return ``ranking.survival``: the options ranked by expected survivors added."""
    return {
        "method": found.method,
        "order": list(found.order),
        "added": list(found.added),
        "greedy_survivors_added": found.greedy_survivors_added,
        "optimal_survivors_added": found.optimal_survivors_added,
        "survivors_per_year": found.survivors_per_year,
        "greedy_survivors_added_per_year": found.greedy_survivors_added
        if found.survivors_per_year
        else None,
        "weight_unit": found.weight_unit,
        "weight_total": found.weight_total,
        "survival_per_arrest_ambulance_only": found.survival_ambulance_only,
        "survival_per_arrest_now": found.survival_now,
        "greedy_per_arrest_added": found.greedy_per_arrest_added,
        "optimal_per_arrest_added": found.optimal_per_arrest_added,
        "optimal_site_ids": list(found.optimal_site_ids),
        "optimal": found.optimal,
        "solver_status": found.solver_status,
        "limit_m": found.limit_m,
        "draws": found.draws,
        "coverage_order": list(found.coverage_order),
    }


def faults(found: NetworkFaults) -> dict[str, JSON]:
    """Return ``summary.json``'s ``network.faults``: the counts and one sentence per kind."""
    out: dict[str, JSON] = dict(found.as_dict())
    out["messages"] = found.messages()
    return out


def input_report(report: InputReport) -> dict[str, JSON]:
    """Return one layer's entry of ``summary.json``'s ``inputs``."""
    out: dict[str, JSON] = {
        "file": report.file,
        "rows_read": report.rows_read,
        "rows_used": report.rows_used,
        "rows_rejected": report.rows_rejected,
        "rejected_reasons": dict(report.rejected_reasons),
    }
    out.update(report.details)
    return out


def scenario(found: Scenario) -> dict[str, JSON]:
    """Return one scenario of ``summary.json``'s ``scenarios``."""
    return {
        "sites": found.sites,
        "any": dict(found.any_time),
        "available": dict(found.available),
        "night_24_7": dict(found.night_24_7),
        "day": dict(found.day),
        "night": dict(found.night),
        "day_annual_average": dict(found.day_annual_average),
        "night_annual_average": dict(found.night_annual_average),
        "unknown_hours_unavailable": {
            "day": dict(found.unknown_day),
            "night": dict(found.unknown_night),
        },
        "hourly_term_time": {k: list(v) for k, v in found.hourly_term_time.items()},
        "day_demand": found.day_demand,
    }


def _target(found: CoverTarget) -> dict[str, JSON]:
    if not found.reachable:
        return {"reachable": False, "max_share": found.max_share}
    return {
        "reachable": True,
        "sites": found.sites,
        "site_ids": list(found.site_ids),
        "covered_share": found.covered_share,
    }


def set_covering(found: SetCovering) -> dict[str, JSON]:
    """Return ``summary.json``'s ``set_covering``."""
    return {
        "of": found.of,
        "basis": found.basis,
        "threshold_m": found.threshold_m,
        "population_total": found.population_total,
        "population_reachable": found.population_reachable,
        "population_covered_before": found.population_covered_before,
        "targets": {share: _target(t) for share, t in found.targets.items()},
        "max_share": found.max_share,
    }


def _groups(rows: tuple[GroupShare, ...], key: str) -> list[JSON]:
    out: list[JSON] = []
    for r in rows:
        row: dict[str, JSON] = {
            key: r.group,
            "population": r.population,
            "covered_population": r.covered_population,
            "share": r.share,
            "share_with_recommended": r.share_with_recommended,
        }
        if r.covered_population_with_recommended is not None:
            row["covered_population_with_recommended"] = r.covered_population_with_recommended
        out.append(row)
    return out


def _gap(found: DecileGap | None) -> JSON:
    if found is None:
        return None
    out: dict[str, JSON] = {
        "most_deprived_decile": found.most_deprived_decile,
        "least_deprived_decile": found.least_deprived_decile,
        "gap_share": found.gap_share,
    }
    if found.most_deprived_population is not None:
        out["most_deprived_population"] = found.most_deprived_population
        out["least_deprived_population"] = found.least_deprived_population
    return out


def _basis(found: BasisEquity) -> dict[str, JSON]:
    out: dict[str, JSON] = {
        "by_imd_decile": _groups(found.by_imd_decile, "imd_decile"),
        "by_imd_quintile": _groups(found.by_imd_quintile, "imd_quintile"),
        "slope_index": found.slope_index,
        "slope_index_with_recommended": found.slope_index_with_recommended,
    }
    if found.need_by_imd_decile is not None:
        out["need_by_imd_decile"] = _groups(found.need_by_imd_decile, "imd_decile")
    return out


def equity(found: Equity) -> dict[str, JSON]:
    """Return ``summary.json``'s ``equity``: by decile and quintile per basis, and by ward.

    ``slope_index`` is ``{"night": ..., "available": ..., "any": ...}`` in percentage points,
    ``slope_index_headline`` names the headline basis; ``by_imd_decile`` and the gaps count
    any-time coverage, as before.
    """
    out: dict[str, JSON] = {"threshold_m": found.threshold_m}
    if found.by_imd_decile is not None:
        out["by_imd_decile"] = _groups(found.by_imd_decile, "imd_decile")
        out["decile_gap"] = _gap(found.decile_gap)
        out["decile_gap_with_recommended"] = _gap(found.decile_gap_with_recommended)
    if found.by_basis:
        out["slope_index"] = dict(found.slope_index)
        out["slope_index_with_recommended"] = {
            k: v.slope_index_with_recommended for k, v in found.by_basis.items()
        }
        out["slope_index_headline"] = EQUITY_HEADLINE_BASIS
        out["slope_index_unit"] = "percentage points"
        out["by_basis"] = {k: _basis(v) for k, v in found.by_basis.items()}
        out["small_deciles"] = _groups(found.small_deciles, "imd_decile")
        out["coverage_bases"] = found.bases_measured
    if found.notes:
        out["notes"] = list(found.notes)
    if found.by_ward is not None:
        out["by_ward"] = _groups(found.by_ward, "ward")
    return out


def straight_line(found: StraightLine) -> dict[str, JSON]:
    """Return ``summary.json``'s ``straight_line``."""
    return {
        "method": found.method,
        "coverage": dict(found.coverage),
        "overstatement": dict(found.overstatement),
        "median_walk_to_straight_ratio": found.median_walk_to_straight_ratio,
    }


def time_to_defib(found: TimeToDefib) -> dict[str, JSON]:
    """Return ``summary.json``'s ``time_to_defib``."""
    values = found.assumptions
    return {
        "scenarios": {
            name: {
                "population": s.population,
                "median_s": s.median_s,
                "within_min_share": dict(s.within_min_share),
                "first_route_share": dict(s.first_route_share),
                "draws": s.draws,
                "median_s_p10": s.median_s_p10,
                "median_s_p90": s.median_s_p90,
                "within_min_share_p10": dict(s.within_min_share_p10),
                "within_min_share_p90": dict(s.within_min_share_p90),
                "p_defib_before_ambulance": s.p_defib_before_ambulance,
                "expected_min_saved": s.expected_min_saved,
            }
            for name, s in found.scenarios.items()
        },
        "per_point_scenario": found.per_point_scenario,
        "co_responding": found.co_responding,
        "assumptions": {
            "walking_speed_m_s": values.walking_speed_m_s,
            "cabinet_s": values.cabinet_s,
            "locked_cabinet_extra_s": values.locked_cabinet_extra_s,
            "fire_turnout_s": values.fire_turnout_s,
            "ambulance_s": values.ambulance_s,
            "ambulance": values.ambulance,
            "ambulance_p90_s": values.ambulance_p90_s,
            "recognition_s": values.recognition_s,
            "second_bystander": values.second_bystander,
            "walking_speed_sigma": values.walking_speed_sigma,
            "fire_available": values.fire_available,
            "fire_turnout_on_call_s": values.fire_turnout_on_call_s,
            "draws": values.draws,
            "seed": values.seed,
            "sources": dict(values.sources),
        },
        "notes": list(found.notes),
        **_beats(found),
    }


def _beats(found: TimeToDefib) -> dict[str, JSON]:
    """Return the walk that beats the ambulance per area (new keys of ``time_to_defib``)."""
    if not found.beats_ambulance:
        return {}
    return {
        "beats_ambulance_m": {k: v.walk_m for k, v in found.beats_ambulance.items()},
        "beats_ambulance_share": {k: v.share for k, v in found.beats_ambulance.items()},
        "beats_ambulance_definition": BEATS_AMBULANCE_DEFINITION,
    }


def assumptions(found: Assumptions) -> dict[str, JSON]:
    """Return ``summary.json``'s ``assumptions``."""
    return {
        "walking_speed_m_s": found.walking_speed_m_s,
        "unknown_hours": found.unknown_hours,
        "school_hours": found.school_hours,
        "school_term_weeks": found.school_term_weeks,
        "day": found.day,
        "night": found.night,
        "search_limit_m": found.search_limit_m,
        "max_snap_m": found.max_snap_m,
    }


def finer_demand(found: FinerDemand) -> dict[str, JSON]:
    """Return ``summary.json``'s ``finer_demand``."""
    return {
        "method": found.method,
        "points": found.points,
        "areas": found.areas,
        "assumption": found.assumption,
        "coverage": dict(found.coverage),
        "area_centroid_coverage": dict(found.area_centroid_coverage),
        "change": dict(found.change),
    }


def demand_weight(found: DemandWeight) -> dict[str, JSON]:
    """Return ``summary.json``'s ``demand_weight``: what the ranking maximised, with its source.

    ``total`` over every demand point; ``covered`` within the headline walk of a defib
    (``any_time``, and ``available`` and ``night`` when the study measures them).
    """
    total = found.total
    covered = dict(found.covered or {})
    out: dict[str, JSON] = {
        "basis": found.basis,
        "unit": found.unit,
        "total": total,
        "covered": dict(covered),
        "covered_share": {
            k: (v / total if total > 0 else 0.0)
            for k, v in covered.items()
            if not k.startswith(("day_", "night_"))
        },
        "source": dict(found.source or {}),
    }
    for key, value in (found.details or {}).items():
        out[key] = dict(value) if isinstance(value, dict) else value
    return out


def readiness(found: Readiness) -> dict[str, JSON]:
    """Return ``summary.json``'s ``readiness``."""
    return {
        "as_of": found.as_of,
        "max_days_unchecked": found.max_days_unchecked,
        "judged": found.judged,
        "not_ready": len(found.not_ready_ids),
        "reasons": dict(found.reasons),
        "not_ready_ids": list(found.not_ready_ids),
        "coverage_lost_available": dict(found.coverage_lost_available),
        "coverage_lost_night": dict(found.coverage_lost_night),
    }


def sensitivity(found: Sensitivity) -> dict[str, JSON]:
    """Return ``summary.json``'s ``sensitivity``."""
    return {
        "draws": found.draws,
        "k": found.k,
        "seed": found.seed,
        "stable_share": found.stable_share,
        "top_k_count": dict(found.top_k_count),
        "optimal_count": dict(found.optimal_count),
        "picks": list(found.picks),
        "stable": list(found.stable),
        "verdict": found.verdict,
        "intervals": {name: dict(v) for name, v in found.intervals.items()},
        "ranges": {
            name: list(v) if isinstance(v, tuple) else v for name, v in found.ranges.items()
        },
        "headline_m": found.headline_m,
        "seconds": found.seconds,
    }
