"""Reader-facing tables of a study result, shared by the Excel workbook and the HTML report.

Each function takes a :class:`~defibmap.study.pipeline.StudyResult` (or its ``summary()`` dict) and
returns a small :class:`pandas.DataFrame` with plain column names, or ``None`` when the study
has no such data (no scenarios, no deprivation deciles, no wards). Shares stay 0-1, people
stay floats; formatting is the writer's job. Scenario and curve entries are read in both
``summary.json`` shapes defibmap has written (``any``/``day``/``night`` per threshold, or
``any_time``/``term_time``), so the outputs never depend on one of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from defibmap.analysis import reach
from defibmap.defaults import WALKING_SPEED_M_S

if TYPE_CHECKING:
    from defibmap.study.pipeline import StudyResult

SCENARIO_LABELS = {
    "current": "Current defibs",
    "current+stations": "Current + 24/7 defibs at fire and police stations",
    "current+stations+recommended": "Current + stations + recommended sites",
}


def scenario_label(name: str) -> str:
    """Readable name of a scenario key (unknown keys are returned as they are)."""
    return SCENARIO_LABELS.get(name, name)


def _share(data: dict[str, Any], *path: str) -> float:
    value: Any = data
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return float("nan")
        value = value[key]
    return float(value) if value is not None else float("nan")


def scenarios(summary: dict[str, Any]) -> pd.DataFrame | None:
    """One row per scenario and threshold: coverage any time, by day and at night.

    Columns: ``scenario`` (key), ``label``, ``sites``, ``threshold_m``, ``any_time_share``,
    ``day_share``, ``night_share`` (term-time week), ``day_year_share``, ``night_year_share``
    (average over the year, school holidays included). Missing figures are NaN.
    """
    found = summary.get("scenarios")
    if not isinstance(found, dict) or not found:
        return None
    rows = [
        _scenario_row(str(name), data, key)
        for name, data in found.items()
        for key in (data.get("any") or data.get("any_time") or {})
    ]
    return pd.DataFrame(rows) if rows else None


def _scenario_row(name: str, data: dict[str, Any], key: str) -> dict[str, Any]:
    any_time = data.get("any") or data.get("any_time") or {}
    return {
        "scenario": name,
        "label": scenario_label(name),
        "sites": int(data.get("sites", 0)),
        "threshold_m": int(float(key)),
        "any_time_share": _share(any_time, key),
        "day_share": _first(_share(data, "day", key), _share(data, "term_time", key, "day")),
        "night_share": _first(_share(data, "night", key), _share(data, "term_time", key, "night")),
        "day_year_share": _first(
            _share(data, "day_annual_average", key), _share(data, "annual_average", key, "day")
        ),
        "night_year_share": _first(
            _share(data, "night_annual_average", key),
            _share(data, "annual_average", key, "night"),
        ),
    }


def _first(*values: float) -> float:
    return next((v for v in values if not np.isnan(v)), float("nan"))


def hourly(summary: dict[str, Any], threshold_key: str) -> dict[str, list[float]]:
    """Term-time coverage share for each of the 168 hours of the week, per scenario."""
    out = {}
    for name, data in (summary.get("scenarios") or {}).items():
        values = (data.get("hourly_term_time") or {}).get(threshold_key)
        if values is not None and len(values) == 168:
            out[str(name)] = [float(v) for v in values]
    return out


def curve(result: StudyResult, summary: dict[str, Any]) -> pd.DataFrame:
    """People covered (ranking threshold) against the number of new sites, k = 0, 1, ...

    Columns ``k``, ``greedy_population`` and ``optimal_population`` (NaN where the exact
    optimum was not solved for that k). From the summary's coverage curve when present, else
    from the ranked table (greedy order) and the optimum for the full set only.
    """
    rows = summary.get("coverage_curve") or summary.get("curve")
    if rows:
        frame = pd.DataFrame(rows)
        out = pd.DataFrame({"k": frame["k"].astype(int)})
        for kind in ("greedy", "optimal"):
            found = [c for c in (f"{kind}_population", f"{kind}_population_covered") if c in frame]
            out[f"{kind}_population"] = (
                pd.to_numeric(frame[found[0]], errors="coerce") if found else np.nan
            )
        return out
    ranking = result.ranking
    base = float(ranking.get("population_covered_before", 0.0))
    recs = result.recommendations.sort_values("rank")
    greedy_pop = np.concatenate(
        [[base], recs["cumulative_population_covered"].to_numpy(dtype=float)]
    )
    optimal_pop = np.full(greedy_pop.size, np.nan)
    optimal_pop[0] = base
    if "optimal_population_added" in ranking and greedy_pop.size > 1:
        optimal_pop[-1] = base + float(ranking["optimal_population_added"])
    return pd.DataFrame(
        {
            "k": np.arange(greedy_pop.size),
            "greedy_population": greedy_pop,
            "optimal_population": optimal_pop,
        }
    )


def _group_table(rows: object, key: str) -> pd.DataFrame | None:
    if not isinstance(rows, list) or not rows:
        return None
    frame = pd.DataFrame(rows)
    if key not in frame.columns or "population" not in frame.columns:
        return None
    if "covered_population" not in frame.columns:
        frame["covered_population"] = frame["population"] * frame["share"]
    columns = [key, "population", "covered_population", "share"]
    if "share_with_recommended" in frame.columns:
        columns.append("share_with_recommended")
    return frame[columns]


def deciles(summary: dict[str, Any]) -> pd.DataFrame | None:
    """Coverage by IMD decile (1 = most deprived): population, covered, share (0-1)."""
    table = _group_table((summary.get("equity") or {}).get("by_imd_decile"), "imd_decile")
    return table.sort_values("imd_decile") if table is not None else None


def wards(summary: dict[str, Any]) -> pd.DataFrame | None:
    """Coverage by ward: ``ward``, population, covered population, share (0-1)."""
    return _group_table((summary.get("equity") or {}).get("by_ward"), "ward")


def decile_gap(summary: dict[str, Any], *, with_recommended: bool = False) -> float | None:
    """Least-deprived minus most-deprived decile share (positive: deprived areas worse off)."""
    equity = summary.get("equity") or {}
    if not with_recommended and isinstance(equity.get("gap_most_least_deprived"), int | float):
        return float(equity["gap_most_least_deprived"])
    gap = equity.get("decile_gap_with_recommended" if with_recommended else "decile_gap")
    if isinstance(gap, dict) and gap.get("gap_share") is not None:
        return float(gap["gap_share"])
    return None


def walking_speed_m_s(result: StudyResult) -> float:
    """Return the study's walking speed, metres per second (default ``WALKING_SPEED_M_S``)."""
    return float(getattr(result.config, "walking_speed_m_s", WALKING_SPEED_M_S))


def method(result: StudyResult, summary: dict[str, Any]) -> pd.DataFrame:
    """Return the method and assumptions as ``item`` / ``value`` rows of plain text."""
    config = result.config
    assumptions = summary.get("assumptions") or {}
    thresholds = [float(t) for t in config.thresholds_m]
    headline = max(thresholds)
    speed = walking_speed_m_s(result)
    limit = float(assumptions.get("search_limit_m", reach.search_limit_m(thresholds)))
    snap = float(assumptions.get("max_snap_m", config.network.max_snap_m))
    ranking = result.ranking
    fetch_s = 2.0 * headline / speed
    rows = [
        ("Study", config.name),
        ("Data", "SYNTHETIC DEMONSTRATION DATA" if config.synthetic else "real public data"),
        ("Description", config.description),
        (
            "Walking distance",
            (
                "along the OpenStreetMap walking network (footways, paths, steps, pedestrian "
                f"streets and walkable roads), undirected, metres, in {result.network.crs}"
            ),
        ),
        (
            "Coverage thresholds",
            ", ".join(f"{t:g} m" for t in thresholds) + f" one-way walk (headline {headline:g} m)",
        ),
        ("Search limit", f"{limit:g} m (farther defibs count as out of reach)"),
        (
            "Snap limit",
            f"{snap:g} m: points farther than this from a path are rejected and listed",
        ),
        (
            "Walking speed",
            (
                f"{speed:g} m/s (brisk, 4 mph; Deakin et al., Heart 2018): fetching a defib "
                f"{headline:g} m away and back takes {fetch_s / 60:.1f} minutes"
            ),
        ),
        ("Ranking", str(ranking.get("method", ""))),
        (
            "New sites ranked",
            (
                f"{ranking.get('new_sites', config.new_sites)} new 24/7 outside cabinets on "
                f"council buildings, within {ranking.get('threshold_m', headline)} m; "
                f"{ranking.get('candidates', len(result.candidates))} candidate buildings"
            ),
        ),
    ]
    labels = {
        "unknown_hours": "Defibs with unknown hours",
        "school_hours": "School hours (term time)",
        "school_term_weeks": "School term weeks a year",
        "day": "Day",
        "night": "Night",
    }
    readable = {"available": "assumed usable at all hours", "unavailable": "assumed never usable"}
    rows += [
        (label, readable.get(str(assumptions[key]), str(assumptions[key])))
        for key, label in labels.items()
        if key in assumptions
    ]
    rows.append(
        (
            "Network",
            (
                f"{result.network.n_nodes:,} nodes, {result.network.n_edges:,} edges "
                f"({result.network.source})"
            ),
        )
    )
    rows.append(
        ("Residents", f"{result.population_total:,.0f} in {len(result.demand):,} demand points")
    )
    return pd.DataFrame(rows, columns=["item", "value"])


def sources(result: StudyResult) -> pd.DataFrame:
    """Return the data sources: layer, name, licence, date, file, SHA-256."""
    columns = ["layer", "name", "licence", "date", "file", "sha256"]
    return pd.DataFrame(
        [{c: str(s.get(c, "") or "") for c in columns} for s in result.sources], columns=columns
    )


def ranked(result: StudyResult) -> pd.DataFrame:
    """Return the ranked sites with the candidate's kind (when known) beside its name."""
    recs = result.recommendations.sort_values("rank").reset_index(drop=True)
    if "kind" in result.candidates.columns and "kind" not in recs.columns:
        kinds = pd.Series(
            result.candidates["kind"].to_numpy(), index=result.candidates.index.astype(str)
        )
        recs.insert(3, "kind", recs["site_id"].astype(str).map(kinds).to_numpy())
    return recs


def time_to_defib(summary: dict[str, Any]) -> pd.DataFrame | None:
    """Return one row per time-to-defib scenario, or None without the analysis.

    Columns: median minutes, shares within 3/5/8 min, and the share of people for whom each
    route comes first.
    """
    block = summary.get("time_to_defib") or {}
    rows = []
    for name, data in (block.get("scenarios") or {}).items():
        median = data.get("median_s")
        within = data.get("within_min_share", {})
        first = data.get("first_route_share", {})
        rows.append(
            {
                "scenario": name,
                "median_min": None if median is None else float(median) / 60.0,
                "within_3_min_share": within.get("3"),
                "within_5_min_share": within.get("5"),
                "within_8_min_share": within.get("8"),
                "bystander_first_share": first.get("bystander"),
                "fire_first_share": first.get("fire"),
                "ambulance_first_share": first.get("ambulance"),
            }
        )
    return pd.DataFrame(rows) if rows else None


def time_assumptions(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (assumption, value and source) pairs of the time-to-defib analysis."""
    block = summary.get("time_to_defib") or {}
    values = block.get("assumptions") or {}
    sources = values.get("sources", {})
    pairs = [
        (
            "Bystander walking speed",
            f"{values.get('walking_speed_m_s')} m/s; {sources.get('walking_speed', '')}",
        ),
        ("Cabinet allowance", f"{values.get('cabinet_s')} s; {sources.get('cabinet_s', '')}"),
        (
            "Locked cabinet, extra",
            (
                f"{values.get('locked_cabinet_extra_s')} s; "
                f"{sources.get('locked_cabinet_extra_s', '')}"
            ),
        ),
        ("Fire turnout", f"{values.get('fire_turnout_s')} s; {sources.get('fire_turnout_s', '')}"),
        ("Ambulance", f"{values.get('ambulance')}; {sources.get('ambulance_s', '')}"),
        ("Driving speeds", str(sources.get("drive_speeds", ""))),
        ("Fire co-responding", str(block.get("co_responding", ""))),
    ]
    return [(k, v) for k, v in pairs if values]


#: A cell starting with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells starting with ``= + - @``, tab or CR (no spreadsheet runs them).

    Only text columns are touched: numbers, including negative ones, stay numbers.
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            text = series.astype(object)
            is_str = text.map(lambda v: isinstance(v, str))
            risky = is_str & text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
            if risky.any():
                out[column] = text.where(~risky, "'" + text.astype(str))
    return out
