"""The Excel workbook ``recommendations.xlsx``, in the order a board reads it.

- **Summary**: the headline figures in words and numbers (year-round, at night, any time;
  what the recommended sites add), the top sites with a one-line reason each, the data dates
  and the caveats.
- **Ranked sites**: plain names (never a machine id), address, postcode and ward when the
  input has them, people newly within reach year-round, at night and any time, cumulative
  figures, cost when given, whether the site is also in the best set of that size, why.
- **Coverage**: the three coverage figures for every walk.
- **By deprivation decile**, **By deprivation quintile** and **By ward**, when present.
- **Scenarios** (plain names; no stations scenario in a study without stations),
  **Coverage curve**, **Fewest sites for a target**, **Survival ranking** (expected survivors
  added, beside the coverage ranking, when the two orders differ), **Time to first defib**
  (with the walk that beats the ambulance per area).
- **Method and sources**: method, assumptions, the data sources and the notes.

Every data block is an Excel table with an autofilter under a bold frozen header; every
sheet prints landscape, one page wide, with its header row repeated. A new sheet is one
function added to :data:`SHEETS`. With ``--sensitivity N`` a **Sensitivity** sheet gives each
option's draws in the top k, whether it is stable, the verdict and the 10th-90th percentile
of each headline figure.

Shares are stored as numbers 0-1 shown as percentages; people as whole numbers with
thousands separators. Text from input files that starts with ``=``, ``+``, ``-``, ``@``, tab or
carriage return is prefixed with ``'`` and stored as text, so no spreadsheet runs it as a
formula. The file is written to a temporary file beside ``path`` and moved into place.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableStyleInfo

from defibmap._files import atomic_path
from defibmap.analysis import survival as _survival
from defibmap.defaults import SMALL_GROUP_SHARE
from defibmap.outputs import _sensitivity as _sens_tables
from defibmap.outputs import tables as _tables
from defibmap.study.parts import BEATS_AMBULANCE_DEFINITION

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from openpyxl.worksheet.worksheet import Worksheet

    from defibmap.study.pipeline import StudyResult

__all__ = ["write_workbook"]

logger = logging.getLogger(__name__)

PERCENT = "0.0%"
PEOPLE = "#,##0"
_MAX_WIDTH = 60
_HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
_TABLE_STYLE = "TableStyleLight9"
#: How many of the ranked sites the Summary sheet lists with their reason.
SUMMARY_SITES = 5
SYNTHETIC = "SYNTHETIC DEMONSTRATION DATA"


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
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = _tables.escape_control(f"defibmap: {result.config.name}")[:255]
    wb.properties.creator = "defibmap"
    for add in SHEETS:
        add(wb, result)
    for ws in wb.worksheets:
        _print_setup(ws)
    return _save(wb, Path(path))


def _summary_sheet(wb: Workbook, result: StudyResult) -> None:
    """Add "Summary": the headline in words and numbers, the top sites and why, dates, caveats."""
    ws = wb.create_sheet("Summary")
    config = result.config
    ws.append([_cell_value(f"Defibrillator walking reach: {config.name}")])
    ws["A1"].font = Font(bold=True, size=14)
    if config.synthetic:
        ws.append([f"{SYNTHETIC}: not a real place; no figure here describes real people."])
        ws.cell(ws.max_row, 1).font = Font(bold=True, color="B2182B")
    if config.description:
        ws.append([_cell_value(_tables.neutralise_text(config.description))])
    _heading(ws, "Headline figures", ["Figure", "Value", "What it means"])
    for label, value, kind, meaning in _tables.headline_lines(result):
        ws.append([label, value, meaning])
        ws.cell(ws.max_row, 2).number_format = {
            "share": PERCENT,
            "people": PEOPLE,
            "signed people": "+#,##0;-#,##0;0",
        }[kind]
    board = _tables.neutralise_formulas(_tables.ranked_board(result))
    if len(board):
        _heading(
            ws,
            f"Top recommendations (of {len(board)})",
            ["Rank", "Site", "Why"],
        )
        for row in board.head(SUMMARY_SITES).itertuples(index=False):
            ws.append([_cell_value(row.rank), _cell_value(row.name), _cell_value(row.why)])
    _heading(ws, "Data and dates", ["Input", "Source (date)", ""])
    for layer, source in _tables.data_dates(result):
        ws.append([_cell_value(layer), _cell_value(_tables.neutralise_text(source))])
    caveats = [
        (
            "Year-round is the headline: an indoor defib counts only in the hours its "
            "building is open. Any time is the optimistic bound."
        ),
        *[str(n) for n in result.notes],
    ]
    _heading(ws, "Caveats", ["Caveat", "", ""])
    for note in caveats:
        ws.append([_cell_value(_tables.neutralise_text(note))])
    widths = {"A": 46, "B": 40, "C": 70}
    for column, width in widths.items():
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def _heading(ws: Worksheet, title: str, headers: list[str]) -> None:
    """Append a blank row, a bold block title and the block's column headers."""
    ws.append([])
    ws.append([title])
    ws.cell(ws.max_row, 1).font = Font(bold=True, size=12)
    ws.append(headers)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        if cell.value:
            cell.fill = _HEADER_FILL


def _ranked_sheet(wb: Workbook, result: StudyResult) -> None:
    """Add "Ranked sites": plain names, people gained on the three bases, why, the best set."""
    rank_m = result.ranking.threshold_m
    columns: dict[str, tuple[str, str | None]] = {
        "rank": ("Rank", "0"),
        "name": ("Name", None),
        "kind": ("Kind", None),
        "option": ("Option", None),
        "address": ("Address", None),
        "postcode": ("Postcode", None),
        "ward": ("Ward", None),
        "added_people_available": (
            f"People newly within {rank_m} m walk, year-round (x share of the year)",
            PEOPLE,
        ),
        "added_night": (f"People newly within {rank_m} m at night (24/7)", PEOPLE),
        "added_population": (f"People newly within {rank_m} m walk", PEOPLE),
        "cumulative_people_available": ("Cumulative people covered, year-round", PEOPLE),
        "cumulative_night": ("Cumulative people covered at night", PEOPLE),
        "cumulative_population_covered": ("Cumulative people covered", PEOPLE),
        "cumulative_coverage_share": ("Cumulative coverage share", PERCENT),
        "cost": ("Cost", "#,##0"),
        "cumulative_cost": ("Cumulative cost", "#,##0"),
        "in_best_set": ("Also in the best set of this size", None),
        "why": ("Why", None),
        "site_id": ("Site id (for the study file)", None),
        "lon": ("Longitude", "0.000000"),
        "lat": ("Latitude", "0.000000"),
    }
    ws = _sheet(wb, "Ranked sites", _tables.ranked_board(result), columns)
    why = _header_index(ws, "Why")
    if why:
        ws.column_dimensions[get_column_letter(why)].width = _MAX_WIDTH
        for (cell,) in ws.iter_rows(min_row=2, min_col=why, max_col=why):
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _header_index(ws: Worksheet, header: str) -> int:
    """Return the 1-based column of ``header`` in row 1, or 0."""
    for cell in ws[1]:
        if cell.value == header:
            return int(cell.column)
    return 0


def _coverage_sheet(wb: Workbook, result: StudyResult) -> None:
    """Add "Coverage": the three coverage figures per walk, shares and people."""
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
    _sheet(wb, "Coverage", _tables.coverage_bases(result), columns)


def _equity_sheets(wb: Workbook, result: StudyResult) -> None:
    """Add the deprivation decile and quintile sheets and the ward sheet, when present."""
    headline = round(max(result.config.thresholds_m))
    group_columns: dict[str, tuple[str, str | None]] = {
        "population": ("Residents", PEOPLE),
        "covered_population": (f"Residents within {headline} m walk, any time", PEOPLE),
        "share": ("Share covered now, any time", PERCENT),
        "share_with_recommended": ("Share covered with recommended sites, any time", PERCENT),
    }
    deciles = _tables.deciles(result)
    if deciles is not None:
        _decile_sheet(wb, result, deciles, group_columns)
        quintiles = _tables.equity_by_quintile(result)
        if quintiles is not None:
            columns = {
                "imd_quintile": ("IMD quintile (1 = most deprived)", "0"),
                **_basis_columns(headline),
            }
            _sheet(wb, "By deprivation quintile", quintiles, columns)
    wards = _tables.wards(result)
    if wards is not None:
        columns = {"ward": ("Ward", None), **group_columns}
        _sheet(wb, "By ward", wards, columns)


def _scenarios_sheet(wb: Workbook, result: StudyResult) -> None:
    """Add "Scenarios": the three coverage figures and day/night per scenario, plain names."""
    scenarios = _tables.scenarios_present(result)
    if scenarios is None:
        return
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
    _sheet(wb, "Scenarios", scenarios, columns)


def _curve_sheet(wb: Workbook, result: StudyResult) -> None:
    """Add "Coverage curve": people covered against the number of new sites."""
    rank_m = result.ranking.threshold_m
    columns = {
        "k": ("New sites", "0"),
        "greedy_population": (f"People within {rank_m} m, ranked list (site by site)", PEOPLE),
        "optimal_population": (f"People within {rank_m} m, best set of that size", PEOPLE),
    }
    _sheet(wb, "Coverage curve", _tables.curve(result), columns)


def _time_sheet(wb: Workbook, result: StudyResult) -> None:
    """Add "Time to first defib": minutes by each route, per scenario (plain names)."""
    timing = _tables.time_to_defib(result)
    if timing is None:
        return
    timing["scenario"] = [_tables.plain_scenario_label(result, str(s)) for s in timing["scenario"]]
    ws = _sheet(
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
    )
    _beats_rows(ws, result)


def survival_comparison(result: StudyResult) -> pd.DataFrame | None:
    """Return the survival ranking beside the coverage ranking, row by row, or None.

    None when the study has no survival ranking; plain names (ids where a site has none).
    """
    surv = result.ranking.survival
    if surv is None:
        return None
    frame = result.candidates
    names = (
        frame["name"].astype(object).where(frame["name"].notna(), None)
        if "name" in frame.columns
        else pd.Series(dtype=object)
    )

    def name(site: str) -> str:
        value = names.get(site) if site in names.index else None
        return str(value) if isinstance(value, str) and value else site

    n = max(len(surv.order), len(surv.coverage_order))
    rows = []
    cumulative = 0.0
    for i in range(n):
        by_survival = surv.order[i] if i < len(surv.order) else None
        by_cover = surv.coverage_order[i] if i < len(surv.coverage_order) else None
        added = surv.added[i] if i < len(surv.added) else None
        cumulative += added or 0.0
        rows.append(
            {
                "rank": i + 1,
                "survival_site": None if by_survival is None else name(by_survival),
                "survivors_added": added,
                "survivors_cumulative": cumulative if added is not None else None,
                "coverage_site": None if by_cover is None else name(by_cover),
                "same": "yes" if by_survival == by_cover else "no",
                "survival_id": by_survival,
                "coverage_id": by_cover,
            }
        )
    return pd.DataFrame(rows)


def _survival_sheet(wb: Workbook, result: StudyResult) -> None:
    """Add "Survival ranking" beside the coverage ranking, when the two orders differ."""
    surv = result.ranking.survival
    table = survival_comparison(result)
    if surv is None or table is None or tuple(surv.order) == tuple(surv.coverage_order):
        return
    added = (
        "Expected survivors a year added"
        if surv.survivors_per_year
        else f"Survival added x {surv.weight_unit or 'people'}"
    )
    cover = {
        "night": "night coverage (the study's ranking)",
        "any": "coverage at any time (the study's ranking)",
        "available": "year-round coverage (the study's ranking)",
    }.get(result.ranking.objective, "year-round coverage")
    ws = _sheet(
        wb,
        "Survival ranking",
        table,
        {
            "rank": ("Rank", "0"),
            "survival_site": ("By expected survival", None),
            "survivors_added": (added, "0.00"),
            "survivors_cumulative": ("Cumulative", "0.00"),
            "coverage_site": (f"By {cover}", None),
            "same": ("Same site at this rank", None),
            "survival_id": ("Id (survival)", None),
            "coverage_id": ("Id (coverage)", None),
        },
    )
    ws.append([])
    rows = [
        ("Survival per arrest with the ambulance alone", surv.survival_ambulance_only, PERCENT),
        ("Survival per arrest with today's defibs", surv.survival_now, PERCENT),
        ("Added per arrest by the listed sites", surv.greedy_per_arrest_added, "0.000%"),
        ("Added per arrest by the best set", surv.optimal_per_arrest_added, "0.000%"),
        ("Best set proven optimal", "yes" if surv.optimal else "no", None),
    ]
    for label, value, fmt in rows:
        ws.append([label, value])
        if fmt:
            ws.cell(ws.max_row, 2).number_format = fmt
    ws.append([])
    ws.append([_survival.CAVEAT])


def _beats_rows(ws: Worksheet, result: StudyResult) -> None:
    """Append the walk that beats the ambulance per area, with its definition."""
    block = result.time_to_defib
    if block is None or not block.beats_ambulance:
        return
    ws.append([])
    ws.append(["Walk that beats the ambulance", "Metres", "Ambulance mean, min", "Share of draws"])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    for area, found in block.beats_ambulance.items():
        label = "Whole study area" if area == "all" else _tables.neutralise_text(str(area))
        ws.append([label, round(found.walk_m), found.ambulance_mean_s / 60.0, found.share])
        ws.cell(ws.max_row, 2).number_format = PEOPLE
        ws.cell(ws.max_row, 3).number_format = "0.0"
        ws.cell(ws.max_row, 4).number_format = PERCENT
    ws.append([f"Definition: {BEATS_AMBULANCE_DEFINITION}."])


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
) -> None:
    """Add "By deprivation decile": people and coverage per basis, the slope index, the gap."""
    headline = result.equity.threshold_m if result.equity is not None else 0
    wide = _tables.equity_by_decile(result)
    decile = {"imd_decile": ("IMD decile (1 = most deprived)", "0")}
    if wide is None:  # no per-basis figures: the any-time table as before
        ws = _sheet(wb, "By deprivation decile", deciles, {**decile, **group_columns})
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
        ws = _sheet(wb, "By deprivation decile", wide, columns)
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
) -> None:
    """Add "Fewest sites for a target": per target share the fewest new sites, or why none."""
    found = result.set_covering
    if found is None or not found.targets:
        return
    names: dict[str, str] = {}
    if "name" in result.candidates.columns:
        names = {
            str(k): _tables.site_name(result, str(k), v)
            for k, v in result.candidates["name"].items()
        }
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
        "best": ("Note", None),
    }
    _sheet(wb, "Fewest sites for a target", pd.DataFrame(rows), columns)


def _sensitivity_sheet(wb: Workbook, result: StudyResult) -> None:
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
    ws = _sheet(wb, "Sensitivity", picks, columns)
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
) -> Worksheet:
    """Add a sheet holding ``frame``'s listed columns, with headers and number formats."""
    present = [c for c in columns if c in frame.columns]
    table = _tables.neutralise_formulas(frame[present].reset_index(drop=True))
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
    _add_table(ws, 1, len(present), len(table))
    _finish(ws)
    return ws


def _add_table(ws: Worksheet, header_row: int, n_columns: int, n_rows: int) -> None:
    """Make the block under ``header_row`` an Excel table with an autofilter (rows > 0).

    Excel refuses a table with an empty or repeated header, so those get a plain name.
    """
    if n_rows < 1 or n_columns < 1:
        return
    seen: set[str] = set()
    for j in range(1, n_columns + 1):
        cell = ws.cell(header_row, j)
        name = str(cell.value) if cell.value not in (None, "") else f"Column {j}"
        while name in seen:
            name += " "
        seen.add(name)
        cell.value = name
    ref = f"A{header_row}:{get_column_letter(n_columns)}{header_row + n_rows}"
    parent = ws.parent
    taken = {t for sheet in parent.worksheets for t in sheet.tables}
    stem = "".join(ch for ch in ws.title.title() if ch.isalnum()) or "Table"
    name, i = stem, 1
    while name in taken:
        i += 1
        name = f"{stem}{i}"
    table = Table(displayName=name, ref=ref, autoFilter=AutoFilter(ref=ref))
    table.tableStyleInfo = TableStyleInfo(name=_TABLE_STYLE, showRowStripes=True)
    ws.add_table(table)


def _print_setup(ws: Worksheet) -> None:
    """Landscape, one page wide (as many pages tall as needed), the header row repeated."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.gridLines = False
    if ws.title != "Summary":
        ws.print_title_rows = "1:1"


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


def _method_sheet(wb: Workbook, result: StudyResult) -> None:
    """Add the method, the data sources and the notes, as three tables on one sheet."""
    ws = wb.create_sheet("Method and sources")
    ws.append(["Item", "Value"])
    method = _tables.neutralise_formulas(_tables.method(result))
    for row in method.itertuples(index=False):
        ws.append([_cell_value(v) for v in row])
    _add_table(ws, 1, 2, len(method))
    ws.append([])
    ws.append(["Data source (layer)", "Source", "Licence", "Date", "File", "SHA-256"])
    heading_rows = [ws.max_row]
    sources = _tables.neutralise_formulas(_tables.sources(result))
    for row in sources.itertuples(index=False):
        ws.append([_cell_value(v) for v in row])
    _add_table(ws, heading_rows[-1], 6, len(sources))
    notes = _tables.neutralise_formulas(pd.DataFrame({"note": [str(n) for n in result.notes]}))
    if len(notes):
        ws.append([])
        ws.append(["Kind", "Notes and assumptions"])
        heading_rows.append(ws.max_row)
        for note in notes["note"]:
            ws.append(["Note", _cell_value(note)])
        _add_table(ws, heading_rows[-1], 2, len(notes))
    _finish(ws)
    for r in heading_rows:
        for cell in ws[r]:
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
    # the value column wraps at a readable width, so the sheet prints one page wide
    ws.column_dimensions["B"].width = _MAX_WIDTH
    for (cell,) in ws.iter_rows(min_col=2, max_col=2):
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _save(wb: Workbook, path: Path) -> Path:
    with atomic_path(path) as tmp:
        wb.save(tmp)
    logger.info("wrote workbook to %s", path)
    return path


#: The sheets in the order a board reads them; each adds its sheet(s) or nothing when the
#: study lacks the figures. A new sheet is one function and one entry here.
SHEETS: tuple[Callable[[Workbook, StudyResult], None], ...] = (
    _summary_sheet,
    _ranked_sheet,
    _coverage_sheet,
    _equity_sheets,
    _scenarios_sheet,
    _curve_sheet,
    _set_covering_sheet,
    _sensitivity_sheet,
    _survival_sheet,
    _time_sheet,
    _method_sheet,
)
