"""The sections of the HTML report, each an HTML fragment.

Headline cards, day and night, equity, ranked sites, set covering, time to the first defib,
and the method and sources. Every text from an input file goes through
:func:`defibmap.outputs._html.esc`; :mod:`defibmap.outputs.report` puts the fragments on one page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap.outputs import tables as _tables
from defibmap.outputs._html import esc, text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from defibmap.study.pipeline import StudyResult


def pct(value: object) -> str:
    number = float(value) if isinstance(value, int | float | np.number) else float("nan")
    return f"{number:.1%}" if np.isfinite(number) else "\u2014"


def people(value: object) -> str:
    number = float(value) if isinstance(value, int | float | np.number) else float("nan")
    return f"{number:,.0f}" if np.isfinite(number) else "\u2014"


def html_table(
    frame: pd.DataFrame, columns: Mapping[str, tuple[str, Callable[[object], str] | None]]
) -> str:
    """Return an HTML table of ``frame``'s listed columns; text cells escaped, numbers formatted."""
    present = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{esc(columns[c][0])}</th>" for c in present)
    body = []
    for row in frame[present].itertuples(index=False):
        cells = []
        for column, value in zip(present, row, strict=True):
            fmt = columns[column][1]
            if fmt is None:
                cells.append(f"<td>{text(value)}</td>")
            else:
                cells.append(f'<td class="n">{esc(fmt(value))}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def headline(result: StudyResult) -> str:
    total = result.population_total
    headline = round(max(result.config.thresholds_m))
    share_now = result.coverage.get(str(headline), float("nan"))
    ranking = result.ranking
    greedy = float(ranking.greedy_population_added)
    optimal = float(ranking.optimal_population_added)
    gap = optimal - greedy
    k = ranking.new_sites
    cards = [
        (people(total), f"residents in {len(result.demand):,} demand points"),
        (pct(share_now), f"within {headline} m walk of a defib (every defib counted usable)"),
        (f"+{people(greedy)}", f"people brought within reach by the {k} ranked sites"),
        (people(optimal), f"the exact optimum for {k} sites (gap {people(gap)})"),
    ]
    scenarios = _tables.scenarios(result)
    if scenarios is not None:
        now = scenarios[
            (scenarios["scenario"] == "current") & (scenarios["threshold_m"] == headline)
        ]
        if len(now):
            cards.insert(2, (pct(now["night_share"].iloc[0]), "covered at night (00:00-06:00)"))
    html_cards = "".join(
        f"<div class='card'><b>{esc(v)}</b><span>{esc(s)}</span></div>" for v, s in cards
    )
    cover = [
        {"threshold": f"{int(key)} m", "share": share, "people": share * total}
        for key, share in result.coverage.items()
    ]
    table = html_table(
        pd.DataFrame(cover),
        {
            "threshold": ("One-way walk", None),
            "share": ("Share of residents within it", pct),
            "people": ("Residents", people),
        },
    )
    rejected = sum(r.rows_rejected for r in result.input_reports.values())
    note = (
        f"<p>{rejected:,} input rows were set aside (listed with reasons in rejected.csv).</p>"
        if rejected
        else ""
    )
    return f"<h2>Headline numbers</h2><div class='cards'>{html_cards}</div>{table}{note}"


def day_night(result: StudyResult, shown: Mapping[str, str], headline: int) -> str:
    scenarios = _tables.scenarios(result)
    if scenarios is None:
        return ""
    rows = scenarios[scenarios["threshold_m"] == headline]
    table = html_table(
        rows,
        {
            "label": ("Scenario", None),
            "sites": ("Defib sites", people),
            "any_time_share": ("Any time", pct),
            "day_share": ("Day (term)", pct),
            "night_share": ("Night (term)", pct),
            "day_year_share": ("Day (year)", pct),
            "night_year_share": ("Night (year)", pct),
        },
    )
    return (
        f"<h2>Day and night</h2><p>Share of residents within {headline} m walk of a defib "
        "that is usable at that time.</p>"
        f"{table}{shown.get('day_night', '')}{shown.get('week_profile', '')}"
    )


def equity(result: StudyResult, shown: Mapping[str, str], headline: int) -> str:
    deciles = _tables.deciles(result)
    wards = _tables.wards(result)
    if deciles is None and wards is None:
        return ""
    columns: dict[str, tuple[str, Callable[[object], str] | None]] = {
        "population": ("Residents", people),
        "covered_population": (f"Within {headline} m", people),
        "share": ("Share now", pct),
        "share_with_recommended": ("With recommended sites", pct),
    }
    parts = ["<h2>Who is covered</h2>"]
    if deciles is not None:
        gap = _tables.decile_gap(result)
        after = _tables.decile_gap(result, with_recommended=True)
        if gap is not None:
            parts.append(
                "<p>Gap between the least and the most deprived decile: "
                f"<b>{gap * 100:+.1f} percentage points</b>"
                + (f" ({after * 100:+.1f} with the recommended sites)" if after is not None else "")
                + "; positive means deprived neighbourhoods are worse served.</p>"
            )
        parts.append(shown.get("equity_by_decile", ""))
        parts.append(html_table(deciles, {"imd_decile": ("IMD decile", str), **columns}))
    if wards is not None:
        parts.append("<h3>By ward</h3>")
        parts.append(html_table(wards, {"ward": ("Ward", None), **columns}))
    return "".join(parts)


def ranked(result: StudyResult) -> str:
    rank_m = result.ranking.threshold_m
    table = html_table(
        _tables.ranked(result),
        {
            "rank": ("Rank", str),
            "name": ("Site", None),
            "kind": ("Kind", None),
            "site_id": ("Id", None),
            "added_population": (f"People newly within {rank_m} m", people),
            "cumulative_population_covered": ("Cumulative people", people),
            "cumulative_coverage_share": ("Cumulative share", pct),
            "in_optimal_set": ("In exact optimum", lambda v: "yes" if v else "no"),
        },
    )
    return (
        "<h2>Ranked sites</h2><p>Each site is a new 24/7 outside cabinet on a council "
        "building, added in greedy order: each brings the most people newly within reach "
        f"given the ones above it.</p>{table}"
    )


def set_covering(result: StudyResult) -> str:
    found = result.set_covering
    if found is None or not found.targets:
        return ""
    names = {}
    if "name" in result.candidates.columns:
        names = {str(k): str(v) for k, v in result.candidates["name"].items()}
    rows = []
    for target, data in found.targets.items():
        ids = [str(s) for s in data.site_ids]
        rows.append(
            {
                "target": pct(float(target)),
                "sites": str(data.sites) if data.reachable else "not reachable",
                "names": ", ".join(names.get(s, s) for s in ids) or "\u2014",
                "share": data.covered_share if data.reachable else data.max_share,
            }
        )
    of = "residents any site could reach" if found.of == "reachable" else "all residents"
    table = html_table(
        pd.DataFrame(rows),
        {
            "target": ("Target share", None),
            "sites": ("Fewest new sites", None),
            "names": ("Sites", None),
            "share": ("Share reached", pct),
        },
    )
    return f"<h2>Fewest sites for a target</h2><p>Share of {esc(of)}.</p>{table}"


def time_to_defib(result: StudyResult) -> str:
    """Return the minutes-to-first-defib section (bystander, fire, ambulance), or ''."""
    frame = _tables.time_to_defib(result)
    if frame is None:
        return ""
    frame["scenario"] = frame["scenario"].map(_tables.scenario_label).fillna(frame["scenario"])
    frame["median_range"] = [
        "-" if lo is None or hi is None or lo != lo or hi != hi else f"{lo:.1f}-{hi:.1f} min"  # noqa: PLR0124
        for lo, hi in zip(frame["median_min_p10"], frame["median_min_p90"], strict=True)
    ]
    table = html_table(
        frame,
        {
            "scenario": ("Scenario", None),
            "median_min": ("Median minutes", lambda v: f"{v:.1f}" if v == v else "-"),  # noqa: PLR0124
            "median_range": ("10th-90th percentile across draws", None),
            "within_3_min_share": ("Within 3 min", pct),
            "within_5_min_share": ("Within 5 min", pct),
            "within_8_min_share": ("Within 8 min", pct),
            "p_defib_before_ambulance": ("Defib before the ambulance", pct),
            "bystander_first_share": ("Bystander first", pct),
            "fire_first_share": ("Fire crew first", pct),
            "ambulance_first_share": ("Ambulance first", pct),
        },
    )
    items = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in _tables.time_assumptions(result)
    )
    draws = int(frame["draws"].max()) if len(frame) else 0
    return (
        "<h2>Minutes to the first defibrillator</h2><p>Survival falls by roughly a tenth for "
        "every minute without defibrillation. The smallest of three routes: a bystander "
        "fetches the nearest defib (walk there and back), a fire crew co-responds, or the "
        "ambulance arrives. Response times vary from call to call, so each figure is over "
        f"{draws} random draws (each draw is one arrest at every resident's home): the median "
        "is over residents and draws, with the range of the median across draws beside it. "
        "Shares are of residents, rounded down, so 100 % means every resident in every draw."
        f"</p>{table}<table>{items}</table>"
    )


def method(result: StudyResult) -> str:
    facts = _tables.method(result)
    items = "".join(
        f"<tr><th>{text(item)}</th><td>{text(value)}</td></tr>"
        for item, value in facts.itertuples(index=False)
    )
    notes = "".join(f"<li>{text(note)}</li>" for note in result.notes)
    sources = html_table(
        _tables.sources(result),
        {
            "layer": ("Layer", None),
            "name": ("Source", None),
            "licence": ("Licence", None),
            "date": ("Date", None),
            "file": ("File", None),
        },
    )
    return (
        f"<h2>Method and assumptions</h2><table>{items}</table>"
        + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "")
        + f"<h2>Data sources</h2>{sources}"
    )
