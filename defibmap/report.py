"""Write a study's outputs: summary, tables and map, atomically.

Every output is first written in full to a hidden temporary folder beside the output folder
and only then moved into place file by file with ``os.replace`` (atomic on one filesystem),
so a failed or killed run never leaves a half-written file and earlier outputs stay readable.
Text cells from input files that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from defibmap.study import StudyResult

logger = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
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
        ("retrieval_s", 1),
        ("straight_m", 2),
        ("walk_fetch_s", 1),
        ("fire_drive_m", 1),
        ("fire_drive_s", 1),
        ("time_to_defib_s", 1),
        ("first_route", None),
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
            "sites": data["sites"],
            "any_time_share": data["any"][key],
            "day_share": data["day"][key],
            "night_share": data["night"][key],
            "day_annual_average_share": data["day_annual_average"][key],
            "night_annual_average_share": data["night_annual_average"][key],
            "day_share_unknown_hours_unavailable": data["unknown_hours_unavailable"]["day"][key],
            "night_share_unknown_hours_unavailable": data["unknown_hours_unavailable"]["night"][
                key
            ],
        }
        for name, data in result.extras.get("scenarios", {}).items()
        for key in data["any"]
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
    """Write the study outputs into ``out_dir`` atomically.

    The outputs are ``summary.json``, ``demand_coverage.csv``, ``recommendations.csv``,
    ``rejected.csv``, ``scenarios.csv``, ``coverage_curve.csv``, ``recommendations.xlsx``,
    ``report.html`` with its ``figures/`` and ``map.html`` (which works offline).

    Returns
    -------
    dict
        Output name to its final path.
    """
    from defibmap.html_report import write_report
    from defibmap.maps import result_map, write_map
    from defibmap.workbook import write_workbook

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".defibmap-", dir=out_dir))
    try:
        summary = _clean_json(result.summary())
        (staging / "summary.json").write_text(
            json.dumps(summary, indent=2, default=_json_default, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        neutralise_formulas(demand_table(result)).to_csv(
            staging / "demand_coverage.csv", index=False
        )
        neutralise_formulas(result.recommendations).to_csv(
            staging / "recommendations.csv", index=False
        )
        neutralise_formulas(result.rejected).to_csv(staging / "rejected.csv", index=False)
        tables = ["summary.json", "demand_coverage.csv", "recommendations.csv", "rejected.csv"]
        if result.extras.get("scenarios"):
            scenarios_table(result).to_csv(staging / "scenarios.csv", index=False)
            tables.append("scenarios.csv")
        if result.curve is not None:
            result.curve.to_csv(staging / "coverage_curve.csv", index=False)
            tables.append("coverage_curve.csv")
        write_map(result_map(result), staging / "map.html")
        write_workbook(result, staging / "recommendations.xlsx")
        (staging / "figures").mkdir()
        write_report(
            result, staging / "report.html", map_href="map.html", figures_dir=staging / "figures"
        )
        tables += ["recommendations.xlsx", "report.html", "map.html"]
        written: dict[str, Path] = {}
        # everything is complete in the staging folder; now move it into place
        old_figures = out_dir / ".figures-old"
        shutil.rmtree(old_figures, ignore_errors=True)
        if (out_dir / "figures").exists():
            (out_dir / "figures").replace(old_figures)
        (staging / "figures").replace(out_dir / "figures")
        shutil.rmtree(old_figures, ignore_errors=True)
        written["figures"] = out_dir / "figures"
        for name in tables:
            target = out_dir / name
            (staging / name).replace(target)
            written[name] = target
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


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
    lines.append(
        f"Population: {result.population_total:,.0f} in {len(result.demand):,} demand points; "
        f"{len(result.defibs):,} existing defibs; {len(result.candidates):,} candidates"
    )
    cover = ", ".join(f"{k} m: {v:.1%}" for k, v in result.coverage.items())
    lines.append(f"Within a walk of a defib (every defib counted available): {cover}")
    ranking = result.ranking
    lines.append(
        f"Ranking ({ranking['new_sites']} new sites within {ranking['threshold_m']} m): greedy "
        f"adds {ranking['greedy_population_added']:,.0f} people, optimum "
        f"{ranking['optimal_population_added']:,.0f}"
    )
    lines.extend(
        f"  {row.rank}. {row.name} (+{row.added_population:,.0f})"
        for row in result.recommendations.itertuples()
    )
    timing = result.extras.get("time_to_defib", {}).get("scenarios", {})
    if timing:
        parts = [
            f"{name}: {data['median_s'] / 60:.1f} min"
            for name, data in timing.items()
            if data.get("median_s") is not None
        ]
        lines.append("Time to first defib, population median: " + "; ".join(parts))
    lines.extend(f"Note: {note}" for note in result.notes)
    lines.append("Data sources:")
    lines.extend(
        f"  - {s['layer']}: {s['name']}"
        + (f" ({s['licence']})" if s.get("licence") else "")
        + (f", {s['date']}" if s.get("date") else "")
        for s in result.sources
    )
    rejected = sum(v["rows_rejected"] for v in result.inputs.values())
    if rejected:
        lines.append(f"Rejected rows: {rejected} (see rejected.csv)")
    return "\n".join(lines)
