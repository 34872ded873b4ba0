"""Write a study's outputs: summary, tables, workbook, report and map, atomically.

The folder is replaced whole, and only when defibmap wrote everything in it
(:mod:`defibmap.outputs.folder`), so a failed or killed run never leaves a half-written file
or a mix of two runs, and a user's own files are never touched. Text cells from input files
that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import json
import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from defibmap.outputs import folder, tables
from defibmap.outputs.tables import neutralise_formulas

if TYPE_CHECKING:
    from pathlib import Path

    from defibmap.study.pipeline import StudyResult

logger = logging.getLogger(__name__)

DEMAND_COLUMNS = [
    "demand_id",
    "population",
    "lon",
    "lat",
    "snap_m",
    "walk_m",
    "nearest_defib_id",
    "covered",
]


def demand_table(result: StudyResult) -> pd.DataFrame:
    """One row per demand point used, in the ``demand_coverage.csv`` shape."""
    demand = result.demand
    table = pd.DataFrame(
        {
            "demand_id": demand.index.astype(str),
            "population": demand["population"].to_numpy(),
            "lon": demand["lon"].round(7).to_numpy(),
            "lat": demand["lat"].round(7).to_numpy(),
            "snap_m": demand["snap_m"].round(2).to_numpy(),
            "walk_m": demand["walk_m"].round(2).to_numpy(),
            "nearest_defib_id": demand["nearest_defib_id"].to_numpy(),
            "covered": demand["covered"].to_numpy(),
        }
    )
    extras = (
        ("covered_available_share", 4),
        ("covered_night", None),
        ("retrieval_s", 1),
        ("straight_m", 2),
        ("walk_fetch_s", 1),
        ("fire_drive_m", 1),
        ("fire_drive_s", 1),
        ("time_to_defib_s", 1),
        ("first_route", None),
        ("expected_arrests", 5),
        ("incidents", 4),
        ("incidents_day", 4),
        ("incidents_night", 4),
        ("time_to_defib_p90_s", 1),
        ("p_defib_before_ambulance", 4),
        ("expected_min_saved", 3),
        ("time_to_defib_with_recommended_s", 1),
        ("p_defib_before_ambulance_with_recommended", 4),
    )
    for extra, digits in extras:
        if extra in demand.columns:
            values = demand[extra]
            table[extra] = (values.round(digits) if digits is not None else values).to_numpy()
    return table


def scenarios_table(result: StudyResult) -> pd.DataFrame:
    """Tabulate coverage any time, by day and at night, per scenario and threshold."""
    rows = [
        {
            "scenario": name,
            "threshold_m": int(key),
            "sites": data.sites,
            "any_time_share": data.any_time[key],
            "available_share": data.available.get(key, float("nan")),
            "night_24_7_share": data.night_24_7.get(key, float("nan")),
            "day_share": data.day[key],
            "night_share": data.night[key],
            "day_annual_average_share": data.day_annual_average[key],
            "night_annual_average_share": data.night_annual_average[key],
            "day_share_unknown_hours_unavailable": data.unknown_day[key],
            "night_share_unknown_hours_unavailable": data.unknown_night[key],
        }
        for name, data in result.scenarios.items()
        for key in data.any_time
    ]
    return pd.DataFrame(rows)


def _json_default(value: object) -> Any:  # noqa: ANN401 - JSON values
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    msg = f"not JSON serialisable: {type(value).__name__}"
    raise TypeError(msg)


def _clean_json(value: Any) -> Any:  # noqa: ANN401 - JSON values
    """Replace NaN/inf (not valid JSON) with None, recursively."""
    if isinstance(value, dict):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    return value


def write_outputs(result: StudyResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the study outputs into ``out_dir``, all at once.

    The outputs are ``summary.json``, ``demand_coverage.csv``, ``recommendations.csv``,
    ``rejected.csv``, ``warnings.csv``, ``scenarios.csv``, ``coverage_curve.csv``,
    ``recommendations.xlsx``, ``report.html`` with its ``figures/``, ``map.html`` (which works
    offline), and the GIS files ``defibmap.gpkg`` and ``recommendations.geojson``
    (:mod:`defibmap.outputs.gis`).

    Everything is written into a hidden staging folder beside ``out_dir`` (same filesystem)
    and then exchanged with ``out_dir`` in one atomic step (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``; a plain rename when ``out_dir`` does not exist yet). A run killed at
    any instant therefore leaves either the complete earlier outputs or the complete new ones,
    never a mix, and never a missing file. Where the exchange is not available the old folder
    is renamed aside first; a kill between the two renames leaves the earlier outputs in the
    hidden ``.<name>.defibmap-old-*`` folder beside it, and the next run puts them back before
    it starts. Staging folders a killed run left behind are removed by the next run.

    Parameters
    ----------
    result : StudyResult
        A finished study.
    out_dir : str or pathlib.Path
        The output folder. A symbolic link is followed (the folder it names is written). It
        must be new, empty or hold only earlier defibmap outputs: the whole folder is replaced.

    Returns
    -------
    dict
        Output name to its final path.

    Raises
    ------
    DefibmapError
        When ``out_dir`` holds files defibmap did not write, or is not a folder.
    """
    out_dir = folder.absolute(out_dir)
    names = folder.replace_folder(out_dir, lambda staging: _write_all(result, staging))
    written = {name: out_dir / name for name in names}
    logger.info("wrote %d outputs to %s", len(written), out_dir)
    return written


def _write_all(result: StudyResult, folder: Path) -> list[str]:
    """Write every output into the empty ``folder``; return their names."""
    from defibmap.outputs.gis import write_gis
    from defibmap.outputs.map.render import result_map, write_map
    from defibmap.outputs.report import write_report
    from defibmap.outputs.workbook import write_workbook

    demand = demand_table(result)
    neutralise_formulas(demand).to_csv(folder / "demand_coverage.csv", index=False)
    neutralise_formulas(result.recommendations).to_csv(folder / "recommendations.csv", index=False)
    neutralise_formulas(result.rejected).to_csv(folder / "rejected.csv", index=False)
    names = ["demand_coverage.csv", "recommendations.csv", "rejected.csv"]
    if result.warnings is not None:
        neutralise_formulas(result.warnings).to_csv(folder / "warnings.csv", index=False)
        names.append("warnings.csv")
    if result.scenarios:
        scenarios_table(result).to_csv(folder / "scenarios.csv", index=False)
        names.append("scenarios.csv")
    if result.curve is not None:
        result.curve.to_csv(folder / "coverage_curve.csv", index=False)
        names.append("coverage_curve.csv")
    write_map(result_map(result), folder / "map.html")
    write_workbook(result, folder / "recommendations.xlsx")
    (folder / "figures").mkdir()
    write_report(
        result, folder / "report.html", map_href="map.html", figures_dir=folder / "figures"
    )
    summary = _clean_json(result.summary())
    (folder / "summary.json").write_text(
        json.dumps(summary, indent=2, default=_json_default, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    gis = write_gis(result, folder, demand_table=demand)
    return [
        *names,
        "recommendations.xlsx",
        "report.html",
        "map.html",
        "figures",
        "summary.json",
        *gis,
    ]


def _coverage_lines(result: StudyResult) -> list[str]:
    """Return the three coverage lines: year-round available (headline), night, any time."""
    table = tables.coverage_bases(result)
    if table.empty:
        return []
    head = table.iloc[-1]
    walk = int(head["threshold_m"])
    if not np.isfinite(head["available"]):  # a result built without availability
        cover = ", ".join(f"{r.threshold_m} m: {r.any_time:.1%}" for r in table.itertuples())
        return [f"Within a walk of a defib (every defib counted usable): {cover}"]
    lines = [
        (
            f"Within {walk} m walk of a usable defib: {head['available']:.1%} year-round "
            f"(headline); {head['night']:.1%} at night (24/7); {head['any_time']:.1%} any time "
            "(optimistic: every defib counted usable)"
        )
    ]
    if len(table) > 1:
        others = "; ".join(
            f"{r.threshold_m} m: {r.available:.1%} / {r.night:.1%} / {r.any_time:.1%}"
            for r in table.iloc[:-1].itertuples()
        )
        lines.append(f"  Shorter walks (year-round / at night / any time): {others}")
    return lines


def _weight_lines(result: StudyResult) -> list[str]:
    """Return the demand weight's coverage beside the residents' (risk or past incidents)."""
    weight = result.demand_weight
    if weight is None or weight.basis == "residents" or not weight.covered:
        return []
    walk = round(max(result.config.thresholds_m))
    covered = weight.covered
    parts = [
        f"{covered[key]:,.1f} {label}"
        for key, label in (
            ("available", "year-round"),
            ("night", "at night (24/7)"),
            ("any_time", "any time"),
        )
        if key in covered
    ]
    return [
        (
            f"{weight.unit.capitalize()} within {walk} m walk of a usable defib: "
            f"{'; '.join(parts)} (of {weight.total:,.1f})"
        )
    ]


def _readiness_lines(result: StudyResult) -> list[str]:
    """Return the defibs not ready and the coverage they would give back, when there are any."""
    found = result.readiness
    if found is None or not found.not_ready_ids:
        return []
    key = str(round(max(result.config.thresholds_m)))
    reasons = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in found.reasons.items() if n)
    return [
        (
            f"Not ready on {found.as_of}: {len(found.not_ready_ids)} defibs ({reasons}); ready "
            f"again they would add {found.coverage_lost_available.get(key, 0.0):.1%} year-round "
            f"and {found.coverage_lost_night.get(key, 0.0):.1%} at night within {key} m"
        )
    ]


#: What each ranking objective counts, in words.
_OBJECTIVE_WORDS = {
    "available": "year-round available coverage (people x share of the year)",
    "night": "coverage at night (24/7 defibs)",
    "any": "coverage any time (every defib counted usable)",
}


def _ranking_lines(result: StudyResult) -> list[str]:
    """Return the ranked options: what the ranking counts, then each pick with its gains."""
    ranking = result.ranking
    info = ranking.info()
    objective = str(info.get("objective", "any"))
    walk = ranking.threshold_m
    lines = [
        (
            f"Ranking ({ranking.new_sites} new sites within {walk} m, by "
            f"{_OBJECTIVE_WORDS.get(objective, objective)}): greedy adds "
            f"{ranking.greedy_objective:,.0f}, optimum {ranking.optimal_objective:,.0f}"
        )
    ]
    table = result.recommendations
    for row in table.itertuples():
        option = getattr(row, "option", "new cabinet")
        gains = f"+{row.added_population:,.0f} people within {walk} m any time"
        available = getattr(row, "added_people_available", None)
        if available is not None and np.isfinite(available):
            gains = f"+{available:,.0f} year-round, " + gains
        lines.append(f"  {row.rank}. {row.name} ({option}): {gains}")
    return lines


def _rejected_lines(result: StudyResult) -> list[str]:
    """Return the rejected-rows line and one line per layer and reason, most rows first."""
    rejected = sum(r.rows_rejected for r in result.input_reports.values())
    if not rejected:
        return []
    counts = [
        (count, layer.replace("_", " "), reason)
        for layer, report in result.input_reports.items()
        for reason, count in report.rejected_reasons.items()
        if count
    ]
    counts.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [
        f"Rejected rows: {rejected:,} (see rejected.csv)",
        *(f"  {count:,} {layer}: {reason}" for count, layer, reason in counts),
    ]


def format_summary(result: StudyResult) -> str:
    """Return a short plain-text summary for the command line, naming the data sources."""
    lines = []
    title = result.config.name
    if result.config.synthetic:
        title += " — SYNTHETIC DEMONSTRATION DATA"
    lines.append(f"Study: {title}")
    lines.append(
        f"Network: {result.network.n_nodes:,} nodes, {result.network.n_edges:,} edges "
        f"({result.network.source}, {result.network.crs})"
    )
    upgrades = int(result.candidates.index.astype(str).str.startswith("upgrade:").sum())
    options = f"{len(result.candidates) - upgrades:,} candidates"
    if upgrades:
        options += f" and {upgrades:,} defibs that could move to an outside 24/7 cabinet"
    lines.append(
        f"Population: {result.population_total:,.0f} in {len(result.demand):,} demand points; "
        f"{len(result.defibs):,} existing defibs; {options}"
    )
    lines.extend(_coverage_lines(result))
    lines.extend(_weight_lines(result))
    lines.extend(_readiness_lines(result))
    lines.extend(_ranking_lines(result))
    if result.sensitivity is not None:
        found = result.sensitivity
        lines.append(
            f"Sensitivity ({found.draws:,} draws over the assumptions): {found.verdict} "
            "(see the report's 'How stable are the picks?')"
        )
    timing = tables.time_headline(result)
    if timing:
        lines.append("Time to first defib, population median over draws:")
        lines.extend(f"  {line}" for line in timing)
    lines.extend(f"Note: {note}" for note in result.notes)
    lines.append("Data sources:")
    lines.extend(
        f"  - {s['layer']}: {s['name']}"
        + (f" ({s['licence']})" if s.get("licence") else "")
        + (f", {s['date']}" if s.get("date") else "")
        for s in result.sources
    )
    lines.extend(_rejected_lines(result))
    lost = sum(
        r.population_in - r.population_used
        for r in result.input_reports.values()
        if r.population_in is not None and r.population_used is not None
    )
    if lost >= 0.5:  # finer-demand shares are fractions: under half a person is rounding
        demand = result.input_reports.get("demand")
        read = demand.population_in if demand is not None else None
        of = f" of {read:,.0f} read" if read is not None else ""
        lines.append(f"Residents on rejected rows: {lost:,.0f}{of} (not counted in the figures)")
    return "\n".join(lines)
