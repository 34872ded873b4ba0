"""The Excel workbook ``recommendations.xlsx``: ranked sites, scenarios, equity, method.

Sheets, each with a bold frozen header row and fitted column widths:

- **Ranked sites**: the greedy order, people each site newly brings within reach, cumulative
  coverage, and whether the site is in the exact optimum.
- **Scenarios** (when the study computed them): coverage any time, by day and at night for
  each scenario and threshold; otherwise **Coverage**, the headline shares.
- **Coverage curve**: people covered against the number of new sites, greedy and optimal.
- **Sensitivity** (with ``--sensitivity N``): each option's draws in the top k, whether it
  is stable, the verdict, and the 10th-90th percentile of each headline figure.
- **By deprivation decile** and **By ward**, when the study has them.
- **Method and sources**: method, thresholds, limits, walking speed, assumptions, the data
  sources with licence and date, and the study's notes.

Shares are stored as numbers 0-1 shown as percentages; people as whole numbers with
thousands separators. Text from input files that starts with ``=``, ``+``, ``-``, ``@``, tab or
carriage return is prefixed with ``'`` and stored as text, so no spreadsheet runs it as a
formula. The file is written to a temporary file beside ``path`` and moved into place.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from defibmap._files import atomic_path
from defibmap.defaults import SMALL_GROUP_SHARE
from defibmap.outputs import _sensitivity as _sens_tables
from defibmap.outputs import tables as _tables

if TYPE_CHECKING:
    from collections.abc import Mapping

    from openpyxl.worksheet.worksheet import Worksheet

    from defibmap.study.pipeline import StudyResult

__all__ = ["write_workbook"]

logger = logging.getLogger(__name__)

PERCENT = "0.0%"
PEOPLE = "#,##0"
_MAX_WIDTH = 60
_HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")


def write_workbook(result: StudyResult, path: str | Path) -> Path:
    """Write the study's Excel workbook at ``path``, atomically.

    Parameters
    ----------
    result : StudyResult
        A finished study (:func:`defibmap.run_study`).
    path : str or pathlib.Path
        Destination ``.xlsx`` file; its folder must exist.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    headline = round(max(result.config.thresholds_m))
    rank_m = result.ranking.threshold_m
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = _tables.escape_control(f"defibmap: {result.config.name}")[:255]
    wb.properties.creator = "defibmap"

    ranked = _tables.ranked(result)
    columns = {
        "rank": ("Rank", "0"),
        "site_id": ("Site id", None),
        "name": ("Name", None),
        "kind": ("Kind", None),
        "option": ("Option", None),
        "added_population": (f"People newly within {rank_m} m walk", PEOPLE),
        "added_people_available": (
            f"People newly within {rank_m} m of a usable defib (x share of the year)",
            PEOPLE,
        ),
        "cost": ("Cost", "#,##0"),
        "cumulative_cost": ("Cumulative cost", "#,##0"),
        "cumulative_population_covered": ("Cumulative people covered", PEOPLE),
        "cumulative_coverage_share": ("Cumulative coverage share", PERCENT),
        "in_optimal_set": ("In the exact optimum", None),
        "method": ("Method", None),
        "lon": ("Longitude", "0.000000"),
        "lat": ("Latitude", "0.000000"),
    }
    neutralise_formulas = _tables.neutralise_formulas
    _sheet(wb, "Ranked sites", ranked, columns, neutralise_formulas)

    labels = _tables.COVERAGE_BASES
    columns = {
        "threshold_m": ("Walk (m)", "0"),
        "available": (labels["available"], PERCENT),
        "night": (labels["night"], PERCENT),
        "any_time": (labels["any_time"], PERCENT),
        "available_people": ("Residents, year-round (people-hours share x residents)", PEOPLE),
        "night_people": ("Residents within reach at night", PEOPLE),
        "any_time_people": ("Residents within reach any time", PEOPLE),
    }
    _sheet(wb, "Coverage", _tables.coverage_bases(result), columns, neutralise_formulas)

    timing = _tables.time_to_defib(result)
    if timing is not None:
        timing["scenario"] = (
            timing["scenario"].map(_tables.scenario_label).fillna(timing["scenario"])
        )
        _sheet(
            wb,
            "Time to first defib",
            timing,
            {
                "scenario": ("Scenario", None),
                "median_min": ("Median minutes to a defib", "0.0"),
                "median_min_p10": ("Median, 10th percentile across draws", "0.0"),
                "median_min_p90": ("Median, 90th percentile across draws", "0.0"),
                "within_3_min_share": ("Within 3 min", PERCENT),
                "within_5_min_share": ("Within 5 min", PERCENT),
                "within_5_min_share_p10": ("Within 5 min, 10th percentile", PERCENT),
                "within_5_min_share_p90": ("Within 5 min, 90th percentile", PERCENT),
                "within_8_min_share": ("Within 8 min", PERCENT),
                "p_defib_before_ambulance": ("Defib arrives before the ambulance", PERCENT),
                "expected_min_saved": ("Minutes saved on average", "0.00"),
                "bystander_first_share": ("Bystander fetch first", PERCENT),
                "fire_first_share": ("Fire co-responder first", PERCENT),
                "ambulance_first_share": ("Ambulance first", PERCENT),
                "draws": ("Draws", "0"),
            },
            neutralise_formulas,
        )

    scenarios = _tables.scenarios(result)
    if scenarios is not None:
        columns = {
            "label": ("Scenario", None),
            "sites": ("Defib sites", PEOPLE),
            "threshold_m": ("Walk (m)", "0"),
            "available_share": ("Year-round available", PERCENT),
            "night_24_7_share": ("All night (24/7)", PERCENT),
            "any_time_share": ("Any time (every defib usable)", PERCENT),
            "day_share": ("Day, term time", PERCENT),
            "night_share": ("Night, term time", PERCENT),
            "day_year_share": ("Day, year average", PERCENT),
            "night_year_share": ("Night, year average", PERCENT),
        }
        _sheet(wb, "Scenarios", scenarios, columns, neutralise_formulas)

    columns = {
        "k": ("New sites", "0"),
        "greedy_population": (f"People within {rank_m} m, greedy order", PEOPLE),
        "optimal_population": (f"People within {rank_m} m, exact optimum", PEOPLE),
    }
    _sheet(wb, "Coverage curve", _tables.curve(result), columns, neutralise_formulas)

    _set_covering_sheet(wb, result, neutralise_formulas)
    _sensitivity_sheet(wb, result, neutralise_formulas)
    group_columns: dict[str, tuple[str, str | None]] = {
        "population": ("Residents", PEOPLE),
        "covered_population": (f"Residents within {headline} m walk, any time", PEOPLE),
        "share": ("Share covered now, any time", PERCENT),
        "share_with_recommended": ("Share covered with recommended sites, any time", PERCENT),
    }
    deciles = _tables.deciles(result)
    if deciles is not None:
        _decile_sheet(wb, result, deciles, group_columns, neutralise_formulas)
        quintiles = _tables.equity_by_quintile(result)
        if quintiles is not None:
            columns = {
                "imd_quintile": ("IMD quintile (1 = most deprived)", "0"),
                **_basis_columns(headline),
            }
            _sheet(wb, "By deprivation quintile", quintiles, columns, neutralise_formulas)
    wards = _tables.wards(result)
    if wards is not None:
        columns = {"ward": ("Ward", None), **group_columns}
        _sheet(wb, "By ward", wards, columns, neutralise_formulas)

    _method_sheet(wb, result, neutralise_formulas)
    return _save(wb, Path(path))


def _basis_columns(headline: int) -> dict[str, tuple[str, str | None]]:
    """Return a deprivation table's columns on the three coverage bases, with the people."""
    columns: dict[str, tuple[str, str | None]] = {
        "population": ("Residents", PEOPLE),
        "population_share": ("Share of residents", PERCENT),
    }
    for basis, label in _tables.BASIS_LABELS.items():
        columns[f"{basis}_covered"] = (f"Residents within {headline} m, {label.lower()}", PEOPLE)
        columns[f"{basis}_share"] = (f"Share covered, {label.lower()}", PERCENT)
        columns[f"{basis}_share_with_recommended"] = (
            f"{label}, with recommended sites",
            PERCENT,
        )
    return columns


def _decile_sheet(
    wb: Workbook,
    result: StudyResult,
    deciles: pd.DataFrame,
    group_columns: Mapping[str, tuple[str, str | None]],
    neutralise: Any,  # noqa: ANN401 - defibmap.outputs.tables.neutralise_formulas
) -> None:
    """Add "By deprivation decile": people and coverage per basis, the slope index, the gap."""
    headline = result.equity.threshold_m if result.equity is not None else 0
    wide = _tables.equity_by_decile(result)
    decile = {"imd_decile": ("IMD decile (1 = most deprived)", "0")}
    if wide is None:  # no per-basis figures: the any-time table as before
        ws = _sheet(wb, "By deprivation decile", deciles, {**decile, **group_columns}, neutralise)
    else:
        wide["small"] = wide["small"].map(lambda v: "few residents" if v else "")
        columns = {
            **decile,
            **_basis_columns(headline),
            "small": (f"Under {100 * SMALL_GROUP_SHARE:g} % of residents", None),
            "expected_arrests": ("Expected cardiac arrests a year", "0.0"),
            "night_arrests_share": ("Arrests covered at night / 24/7", PERCENT),
            "available_arrests_share": ("Arrests covered, year-round available", PERCENT),
            "any_arrests_share": ("Arrests covered, any time", PERCENT),
        }
        ws = _sheet(wb, "By deprivation decile", wide, columns, neutralise)
    ws.append([])
    slopes = _tables.slope_indexes(result)
    rows: list[tuple[str, object, str | None]] = []
    if slopes is not None:
        for row in slopes.itertuples(index=False):
            name = f"Slope index of inequality, {str(row.label).lower()} (percentage points)"
            rows.append((name, row.slope_index, "0.0"))
            rows.append(
                (f"{name}, with recommended sites", row.slope_index_with_recommended, "0.0")
            )
        rows.append(
            (
                "Positive: the least deprived are better covered; negative: the most deprived",
                None,
                None,
            )
        )
    rows += [
        ("Gap now: least minus most deprived decile share", _tables.decile_gap(result), PERCENT),
        (
            "Gap with recommended sites",
            _tables.decile_gap(result, with_recommended=True),
            PERCENT,
        ),
    ]
    counts = _tables.decile_gap_people(result)
    if counts is not None:
        most, most_people, least, least_people = counts
        rows.append((f"Residents in decile {most} (gap, any time)", most_people, PEOPLE))
        rows.append((f"Residents in decile {least} (gap, any time)", least_people, PEOPLE))
    notes = result.equity.notes if result.equity is not None else ()
    for label, value, fmt in rows:
        if value is None and fmt is not None:
            continue
        ws.append([label] if value is None else [label, value])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        if fmt is not None:
            ws.cell(ws.max_row, 2).number_format = fmt
    for note in notes:  # built by the study from decile numbers, never from an input's text
        ws.append([note])
    _finish(ws)


def _set_covering_sheet(
    wb: Workbook,
    result: StudyResult,
    neutralise: Any,  # noqa: ANN401 - defibmap.outputs.tables.neutralise_formulas
) -> None:
    """Add "Fewest sites for a target": per target share the fewest new sites, or why none."""
    found = result.set_covering
    if found is None or not found.targets:
        return
    names: dict[str, str] = {}
    if "name" in result.candidates.columns:
        names = {str(k): str(v) for k, v in result.candidates["name"].items()}
    rows = [
        {
            "target": float(target),
            "sites": data.sites if data.reachable else "not reachable with these candidates",
            "names": ", ".join(names.get(s, s) for s in data.site_ids),
            "share": data.covered_share if data.reachable else data.max_share,
            "best": "" if data.reachable else "best possible with every candidate",
        }
        for target, data in found.targets.items()
    ]
    of = "residents any site could reach" if found.of == "reachable" else "all residents"
    columns = {
        "target": (f"Target share of {of}", PERCENT),
        "sites": ("Fewest new sites", "0"),
        "names": ("Sites", None),
        "share": ("Share reached", PERCENT),
        "best": ("", None),
    }
    _sheet(wb, "Fewest sites for a target", pd.DataFrame(rows), columns, neutralise)


def _sensitivity_sheet(
    wb: Workbook,
    result: StudyResult,
    neutralise: Any,  # noqa: ANN401 - defibmap.outputs.tables.neutralise_formulas
) -> None:
    """Add "Sensitivity": each option's draws in the top k, then the headline intervals."""
    found = result.sensitivity
    picks = _sens_tables.picks(result, most=10_000)
    bands = _sens_tables.intervals(result)
    if found is None or picks is None or bands is None:
        return
    columns = {
        "rank": ("Study rank", "0"),
        "site_id": ("Id", None),
        "name": ("Site", None),
        "draws_in_top_k": (f"Draws in the top {found.k} (of {found.draws:,})", PEOPLE),
        "share_in_top_k": ("Share of draws", PERCENT),
        "stable": (f"Stable (top {found.k} in >= {found.stable_share:.0%} of draws)", None),
    }
    picks = picks.assign(rank=picks["rank"].astype(object).where(picks["rank"].notna(), None))
    ws = _sheet(wb, "Sensitivity", picks, columns, neutralise)
    ws.append([])
    ws.append([found.verdict])
    ws.append(["Figure", "Study", "10th percentile", "Median", "90th percentile"])
    for row in bands.itertuples(index=False):
        ws.append([row.figure, row.study, row.p10, row.median, row.p90])
        for cell in ws[ws.max_row][1:]:
            cell.number_format = PERCENT if row.share else PEOPLE
    ws.append([])
    ws.append(["Range drawn from (uniform)", "low", "high"])
    for name, value in found.ranges.items():
        low, high = value if isinstance(value, tuple) else (value, value)
        ws.append([_sens_tables.RANGE_LABELS.get(name, name), low, high])
    ws.append(["seed", found.seed])


def _sheet(
    wb: Workbook,
    title: str,
    frame: pd.DataFrame,
    columns: Mapping[str, tuple[str, str | None]],
    neutralise: Any,  # noqa: ANN401 - defibmap.outputs.tables.neutralise_formulas
) -> Worksheet:
    """Add a sheet holding ``frame``'s listed columns, with headers and number formats."""
    present = [c for c in columns if c in frame.columns]
    table = neutralise(frame[present].reset_index(drop=True))
    ws = wb.create_sheet(title)
    ws.append([columns[c][0] for c in present])
    for row in table.itertuples(index=False):
        ws.append([_cell_value(v) for v in row])
    for j, column in enumerate(present, start=1):
        fmt = columns[column][1]
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                if isinstance(cell.value, int | float):
                    cell.number_format = fmt
    _finish(ws)
    return ws


def _cell_value(value: object) -> object:
    """Return a value openpyxl can store: numpy scalars unwrapped, NaN and NA as empty cells.

    Text is passed through :func:`~defibmap.outputs.tables.escape_control` again, so no cell
    reaches openpyxl with a control character whatever table it came from.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return _tables.escape_control(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _finish(ws: Worksheet) -> None:
    """Bold frozen header, every text cell stored as text, column widths fitted."""
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                # never a formula: values from inputs were prefixed with ' already
                cell.data_type = "s"
                if len(cell.value) > _MAX_WIDTH:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            shown = _shown_width(cell.value, cell.number_format)
            if cell.row == 1:
                shown = min(shown, 30)  # long headers wrap instead of widening the column
            widths[cell.column] = max(widths.get(cell.column, 0), shown)
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(width + 2, _MAX_WIDTH)


def _shown_width(value: object, number_format: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float):
        if number_format == PERCENT:
            return 7
        if number_format == PEOPLE:
            return len(f"{value:,.0f}")
        return len(f"{value:g}") + (4 if number_format.startswith("0.0") else 0)
    return max(len(line) for line in str(value).splitlines() or [""])


def _method_sheet(
    wb: Workbook,
    result: StudyResult,
    neutralise: Any,  # noqa: ANN401 - defibmap.outputs.tables.neutralise_formulas
) -> None:
    """Add the method, the data sources and the notes, as three blocks on one sheet."""
    ws = wb.create_sheet("Method and sources")
    ws.append(["Item", "Value"])
    for row in neutralise(_tables.method(result)).itertuples(index=False):
        ws.append([_cell_value(v) for v in row])
    ws.append([])
    ws.append(["Data source (layer)", "Source", "Licence", "Date", "File", "SHA-256"])
    heading_rows = [ws.max_row]
    sources = neutralise(_tables.sources(result))
    for row in sources.itertuples(index=False):
        ws.append([_cell_value(v) for v in row])
    notes = neutralise(pd.DataFrame({"note": [str(n) for n in result.notes]}))
    if len(notes):
        ws.append([])
        ws.append(["Notes and assumptions"])
        heading_rows.append(ws.max_row)
        for note in notes["note"]:
            ws.append(["Note", _cell_value(note)])
    _finish(ws)
    for r in heading_rows:
        for cell in ws[r]:
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
    for (cell,) in ws.iter_rows(min_col=2, max_col=2):
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _save(wb: Workbook, path: Path) -> Path:
    with atomic_path(path) as tmp:
        wb.save(tmp)
    logger.info("wrote workbook to %s", path)
    return path
