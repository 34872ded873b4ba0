"""The sections of the HTML report, each an HTML fragment.

Headline cards, day and night, equity, ranked sites, set covering, time to the first defib,
and the method and sources. Every text from an input file goes through
:func:`defibmap.outputs._html.esc`; :mod:`defibmap.outputs.report` puts the fragments on one page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap.analysis import survival as _survival
from defibmap.defaults import SMALL_GROUP_SHARE
from defibmap.outputs import _sensitivity as _sens_tables
from defibmap.outputs import plots
from defibmap.outputs import tables as _tables
from defibmap.outputs._html import esc, text
from defibmap.study.parts import BEATS_AMBULANCE_DEFINITION

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from defibmap.study.pipeline import StudyResult

    #: A report section: (result, figures' HTML by name, headline walk in metres) -> HTML
    #: or "" when the study lacks what it shows.
    Section = Callable[[StudyResult, Mapping[str, str], int], str]


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
    return (
        f"<div class='scroll'><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def headline(result: StudyResult) -> str:
    total = result.population_total
    headline = round(max(result.config.thresholds_m))
    bases = _tables.coverage_bases(result)
    now = bases[bases["threshold_m"] == headline].iloc[0] if len(bases) else None
    ranking = result.ranking
    greedy = float(ranking.greedy_population_added)
    optimal = float(ranking.optimal_population_added)
    gap = optimal - greedy
    k = ranking.new_sites
    cards = [(people(total), f"residents in {len(result.demand):,} demand points")]
    if now is not None and np.isfinite(now["available"]):
        cards += [
            (pct(now["available"]), f"within {headline} m walk of a usable defib, year-round"),
            (pct(now["night"]), f"within {headline} m of a defib usable all night (24/7)"),
            (pct(now["any_time"]), "any time: optimistic, every defib counted usable"),
        ]
    elif now is not None:
        cards.append(
            (pct(now["any_time"]), f"within {headline} m walk (every defib counted usable)")
        )
    weight = result.demand_weight
    if weight is not None and weight.basis != "residents" and weight.covered:
        share = weight.covered.get("available", weight.covered["any_time"]) / weight.total
        cards.append(
            (
                pct(share) if weight.total else "\u2014",
                (
                    f"of {weight.unit} ({weight.total:,.1f}) within {headline} m of a usable "
                    "defib, year-round"
                ),
            )
        )
    cards += [
        (f"+{people(greedy)}", f"people brought within reach by the {k} ranked sites"),
        (people(optimal), f"the exact optimum for {k} sites (gap {people(gap)})"),
    ]
    html_cards = "".join(
        f"<div class='card'><b>{esc(v)}</b><span>{esc(s)}</span></div>" for v, s in cards
    )
    labels = _tables.COVERAGE_BASES
    table = html_table(
        bases.assign(threshold=[f"{t} m" for t in bases["threshold_m"]]),
        {
            "threshold": ("One-way walk", None),
            "available": (labels["available"], pct),
            "night": (labels["night"], pct),
            "any_time": (labels["any_time"], pct),
            "available_people": ("Residents, year-round", people),
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
    scenarios = _tables.scenarios_present(result)
    if scenarios is None:
        return ""
    rows = scenarios[scenarios["threshold_m"] == headline]
    table = html_table(
        rows,
        {
            "label": ("Scenario", None),
            "sites": ("Defib sites", people),
            "available_share": ("Year-round available", pct),
            "night_24_7_share": ("All night (24/7)", pct),
            "any_time_share": ("Any time (optimistic)", pct),
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


def points(value: object) -> str:
    number = float(value) if isinstance(value, int | float | np.number) else float("nan")
    return f"{number:+.1f}" if np.isfinite(number) else "\u2014"


def _one_decimal(value: object) -> str:
    number = float(value) if isinstance(value, int | float | np.number) else float("nan")
    return f"{number:,.1f}" if np.isfinite(number) else "\u2014"


def _slope_paragraph(result: StudyResult) -> str:
    """Return the slope index of inequality on each basis, night (the headline) first."""
    slopes = _tables.slope_indexes(result)
    if slopes is None:
        return ""
    items = []
    for row in slopes.itertuples(index=False):
        after = (
            f" ({points(row.slope_index_with_recommended)} with the recommended sites)"
            if row.slope_index_with_recommended is not None
            else ""
        )
        items.append(f"<li>{esc(row.label)}: <b>{points(row.slope_index)} points</b>{after}</li>")
    found = result.equity
    measured = found.bases_measured if found is not None else ""
    return (
        "<p>Slope index of inequality: the difference in the share covered between the least "
        "and the most deprived end of the population, from a line fitted through every "
        "decile weighted by its residents (in percentage points; positive means the least "
        "deprived are better covered, negative the most deprived).</p>"
        f"<ul>{''.join(items)}</ul>"
        + (f"<p>Night and year-round figures: {esc(measured)}.</p>" if measured else "")
    )


def _decile_counts(result: StudyResult, headline: int) -> str:
    """Return the per-decile table with the residents in each, on the three bases."""
    table = _tables.equity_by_decile(result)
    if table is None:
        return ""
    small = f"under {100 * SMALL_GROUP_SHARE:g} %"
    table["small"] = table["small"].map(lambda v: small if v else "")
    columns: dict[str, tuple[str, Callable[[object], str] | None]] = {
        "imd_decile": ("IMD decile (1 = most deprived)", str),
        "population": ("Residents", people),
        "population_share": ("Share of residents", pct),
        "small": ("Few residents", None),
        "night_share": (f"Within {headline} m at night / 24/7", pct),
        "night_share_with_recommended": ("At night, with recommended sites", pct),
        "available_share": ("Year-round available", pct),
        "available_share_with_recommended": ("Year-round, with recommended sites", pct),
        "any_share": ("Any time (optimistic bound)", pct),
        "expected_arrests": ("Expected cardiac arrests a year", _one_decimal),
        "night_arrests_share": ("Arrests covered at night / 24/7", pct),
        "available_arrests_share": ("Arrests covered, year-round", pct),
    }
    notes = result.equity.notes if result.equity is not None else ()
    noted = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return html_table(table, columns) + (f"<ul>{noted}</ul>" if noted else "")


def _gap_paragraph(result: StudyResult) -> str:
    """Return the bare extreme-decile gap, any time, with the residents of both deciles."""
    gap = _tables.decile_gap(result)
    if gap is None:
        return ""
    after = _tables.decile_gap(result, with_recommended=True)
    counts = _tables.decile_gap_people(result)
    who = ""
    if counts is not None:
        most, most_people, least, least_people = counts
        who = (
            f" (decile {esc(most)}: {people(most_people)} residents; decile {esc(least)}: "
            f"{people(least_people)} residents)"
        )
    return (
        "<p>For comparison, the bare gap between the least and the most deprived decile "
        f"present{who}, any time: {gap * 100:+.1f} percentage points"
        + (f" ({after * 100:+.1f} with the recommended sites)" if after is not None else "")
        + ". It rests on two deciles only, so a decile of few residents can swing it.</p>"
    )


def equity(result: StudyResult, shown: Mapping[str, str], headline: int) -> str:
    deciles = _tables.deciles(result)
    wards = _tables.wards(result)
    if deciles is None and wards is None:
        return ""
    columns: dict[str, tuple[str, Callable[[object], str] | None]] = {
        "population": ("Residents", people),
        "covered_population": (f"Within {headline} m, any time", people),
        "share": ("Share now, any time", pct),
        "share_with_recommended": ("With recommended sites, any time", pct),
    }
    parts = ["<h2>Who is covered</h2>"]
    if deciles is not None:
        parts.append(_slope_paragraph(result))
        counts = _decile_counts(result, headline)
        parts.append(counts)
        quintiles = _tables.equity_by_quintile(result)
        if quintiles is not None:
            parts.append("<h3>By deprivation quintile</h3>")
            parts.append(
                html_table(
                    quintiles,
                    {
                        "imd_quintile": ("IMD quintile (1 = most deprived)", str),
                        "population": ("Residents", people),
                        "night_share": ("At night / 24/7", pct),
                        "available_share": ("Year-round available", pct),
                        "any_share": ("Any time (optimistic bound)", pct),
                    },
                )
            )
        parts.append(_gap_paragraph(result))
        parts.append(shown.get("equity_by_decile", ""))
        if not counts:  # no per-basis table: the any-time table is the only one
            parts.append(html_table(deciles, {"imd_decile": ("IMD decile", str), **columns}))
    if wards is not None:
        parts.append("<h3>By ward (any time)</h3>")
        parts.append(html_table(wards, {"ward": ("Ward", None), **columns}))
    return "".join(parts)


def ranked(result: StudyResult) -> str:
    """Return the ranked sites: plain names, people gained on the three bases, why."""
    rank_m = result.ranking.threshold_m
    board = _tables.ranked_board(result)
    table = html_table(
        board,
        {
            "rank": ("Rank", str),
            "name": ("Site", None),
            "kind": ("Kind", None),
            "option": ("Option", None),
            "address": ("Address", None),
            "postcode": ("Postcode", None),
            "ward": ("Ward", None),
            "added_people_available": (
                f"Year-round gain within {rank_m} m (people x share of the year)",
                people,
            ),
            "added_night": (f"People newly within {rank_m} m at night", people),
            "added_population": (f"People newly within {rank_m} m (any time)", people),
            "cost": ("Cost", people),
            "cumulative_coverage_share": ("Cumulative share (any time)", pct),
            "in_best_set": ("Also in the best set", None),
            "why": ("Why", None),
        },
    )
    objective = str(result.ranking.info().get("objective", "any"))
    counts = {
        "available": "the most year-round coverage: people newly within reach of a usable "
        "defib, times the share of the year it is usable",
        "night": "the most people newly within reach of a defib usable all night",
        "any": "the most people newly within reach, every defib counted usable at every hour",
        "survival": "the most expected survivors: the survival it adds, over the best of "
        "today's defibs, when a second bystander fetches it before the ambulance arrives",
    }.get(objective, objective)
    return (
        "<h2>Ranked sites</h2><p>Each option is a new 24/7 outside cabinet on a council "
        "building, or an existing indoor defib moved to an outside 24/7 cabinet, added in "
        f"order: each brings {counts}, given the ones above it. <i>Also in the best set</i>: "
        "the site is in the best set of this many sites, found exactly.</p>"
        f"<div class='ranked'>{table}</div>{survival_paragraph(result)}"
    )


def _names(result: StudyResult, ids: tuple[str, ...]) -> str:
    """Plain names of option ids, in order, joined (escaped)."""
    frame = result.candidates
    out = []
    for site in ids:
        value = frame["name"].get(site) if "name" in frame.columns else None
        out.append(esc(value if isinstance(value, str) and value else site))
    return ", ".join(out) if out else "none"


def survival_paragraph(result: StudyResult) -> str:
    """Return one paragraph on the ranking by expected survival (and whether it agrees), or ''."""
    surv = result.ranking.survival
    if surv is None:
        return ""
    same = tuple(surv.order) == tuple(surv.coverage_order)
    per_arrest = (
        f"together they add {surv.greedy_per_arrest_added * 100:.2f} percentage points of "
        f"survival per arrest (from {surv.survival_now:.1%} with today's defibs; "
        f"{surv.survival_ambulance_only:.1%} with the ambulance alone)"
    )
    if surv.survivors_per_year:
        per_arrest += f", about {surv.greedy_survivors_added:.2f} survivors a year"
    if result.ranking.objective == "survival":
        versus = (
            "The list above is in that order; by year-round coverage it would be "
            f"{_names(result, surv.coverage_order)}."
            if not same
            else "Ranking by year-round coverage gives the same order."
        )
    else:
        versus = (
            "It agrees with the list above."
            if same
            else "It differs from the list above (both are in the workbook's "
            "<i>Survival ranking</i> sheet)."
        )
    return (
        "<p><b>By expected survival</b> the order is "
        f"{_names(result, surv.order)}: {per_arrest}. {versus} "
        f"<i>{esc(_survival.CAVEAT)}</i></p>"
    )


def set_covering(result: StudyResult) -> str:
    found = result.set_covering
    if found is None or not found.targets:
        return ""
    names = {}
    if "name" in result.candidates.columns:
        names = {
            str(k): _tables.site_name(result, str(k), v)
            for k, v in result.candidates["name"].items()
        }
    rows = []
    for target, data in found.targets.items():
        ids = [str(s) for s in data.site_ids]
        rows.append(
            {
                "target": pct(float(target)),
                "sites": str(data.sites)
                if data.reachable
                else "not reachable with these candidates",
                "names": ", ".join(names.get(s, s) for s in ids) or "\u2014",
                "share": data.covered_share if data.reachable else data.max_share,
                "best": "" if data.reachable else "best possible",
            }
        )
    of = "residents any site could reach" if found.of == "reachable" else "all residents"
    if result.ranking.weight not in (None, "population"):
        of += f" (counted by the ranking's weight, {result.ranking.weight})"
    table = html_table(
        pd.DataFrame(rows),
        {
            "target": ("Target share", None),
            "sites": ("Fewest new sites", None),
            "names": ("Sites", None),
            "share": ("Share reached", pct),
            "best": ("", None),
        },
    )
    best = (
        f" With every candidate the most that can be reached is {pct(found.max_share)}."
        if found.max_share
        else ""
    )
    return (
        f"<h2>Fewest sites for a target</h2><p>Share of {esc(of)}, today's defibs "
        f"included.{best}</p>{table}"
    )


def _has_fire_stations(result: StudyResult) -> bool:
    """Return True when the study has fire stations (or does not say: a bare result)."""
    stations = getattr(result, "stations", None)
    if stations is None or "layer" not in stations.columns:
        return stations is None
    return bool((stations["layer"] == "fire_stations").any())


def time_to_defib(result: StudyResult) -> str:
    """Return the minutes-to-first-defib section (bystander, fire, ambulance), or ''."""
    frame = _tables.time_to_defib(result)
    if frame is None:
        return ""
    frame["scenario"] = [_tables.plain_scenario_label(result, str(s)) for s in frame["scenario"]]
    frame["median_range"] = [
        "-" if lo is None or hi is None or lo != lo or hi != hi else f"{lo:.1f}-{hi:.1f} min"  # noqa: PLR0124
        for lo, hi in zip(frame["median_min_p10"], frame["median_min_p90"], strict=True)
    ]
    has_fire = _has_fire_stations(result)
    if not has_fire:  # no column for a route the study does not have
        frame = frame.drop(columns=["fire_first_share"])
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
    # the walking speed is stated once, in the method, when it is the same speed
    block = result.time_to_defib
    same = (
        block is not None
        and hasattr(result, "config")
        and bool(
            np.isclose(
                float(block.assumptions.walking_speed_m_s), _tables.walking_speed_m_s(result)
            )
        )
    )
    items = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>"
        for k, v in _tables.time_assumptions(result)
        if not (same and k == "Bystander walking speed")
        and (has_fire or not k.startswith("Fire"))  # no fire rows without fire stations
    )
    draws = int(frame["draws"].max()) if len(frame) else 0
    routes = (
        "The smallest of three routes: a bystander fetches the nearest defib (walk there and "
        "back), a fire crew co-responds, or the ambulance arrives."
        if has_fire
        else "The sooner of two routes: a bystander fetches the nearest defib (walk there and "
        "back), or the ambulance arrives."
    )
    return (
        "<h2>Minutes to the first defibrillator</h2>"
        f"{beats_paragraph(result)}<p>Survival falls by roughly a tenth for "
        f"every minute without defibrillation. {routes} Response times vary from call to "
        "call, so each figure is over "
        f"{draws} random draws (each draw is one arrest at every resident's home): the median "
        "is over residents and draws, with the range of the median across draws beside it. "
        "Shares are of residents, rounded down, so 100 % means every resident in every draw."
        f"</p>{table}<div class='scroll'><table>{items}</table></div>"
    )


def beats_paragraph(result: StudyResult) -> str:
    """Return the walk that beats the ambulance per area, with its definition, or ''."""
    block = result.time_to_defib
    if block is None or not block.beats_ambulance:
        return ""
    parts = []
    for area, found in block.beats_ambulance.items():
        where = "" if area == "all" else f" in {esc(area)}"
        parts.append(
            f"<b>{found.walk_m:,.0f} m</b>{where} (ambulance mean "
            f"{found.ambulance_mean_s / 60:.1f} min)"
        )
    return (
        "<p><b>The walk that beats the ambulance:</b> "
        + "; ".join(parts)
        + f". Defined as {esc(BEATS_AMBULANCE_DEFINITION)}. A defib farther than this "
        "reaches the patient after the ambulance more often than not.</p>"
    )


def method(result: StudyResult) -> str:
    facts = _tables.method(result)
    items = "".join(
        f"<tr><th>{text(item)}</th><td>{text(value)}</td></tr>"
        for item, value in facts.itertuples(index=False)
        if item not in ("Study", "Description")  # the page's title and lede say them
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
        f"<h2>Method and assumptions</h2><div class='scroll'><table>{items}</table></div>"
        + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "")
        + f"<h2>Data sources</h2>{sources}"
    )


def _rank_text(value: object) -> str:
    return str(value) if isinstance(value, int | np.integer) else ""


def sensitivity_section(result: StudyResult, shown: Mapping[str, str], walk: int) -> str:
    """Return the "How stable are the picks?" section (a :data:`Section`)."""
    del shown, walk  # its own tables; no figure
    return sensitivity(result)


def sensitivity(result: StudyResult) -> str:
    """Return the "How stable are the picks?" section, or "" when the study drew nothing."""
    found = result.sensitivity
    picks_frame = _sens_tables.picks(result)
    bands = _sens_tables.intervals(result)
    if found is None or picks_frame is None or bands is None:
        return ""
    picks_table = html_table(
        picks_frame,
        {
            "rank": ("Study rank", _rank_text),
            "name": ("Site", None),
            "site_id": ("Id", None),
            "draws_in_top_k": (f"Draws in the top {found.k}", people),
            "share_in_top_k": ("Share of draws", pct),
            "stable": ("Stable", None),
        },
    )
    rows = []
    for row in bands.itertuples(index=False):
        fmt = pct if row.share else people
        rows.append(
            f'<tr><td>{esc(str(row.figure))}</td><td class="n">{esc(fmt(row.study))}</td>'
            f'<td class="n">{esc(fmt(row.p10))} \u2013 {esc(fmt(row.p90))}</td>'
            f'<td class="n">{esc(fmt(row.median))}</td></tr>'
        )
    band_table = (
        "<table><thead><tr><th>Figure</th><th>Study</th><th>10th\u201390th percentile</th>"
        f"<th>Median</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    ranges = "; ".join(
        f"{esc(_sens_tables.RANGE_LABELS.get(name, name))} "
        + (f"{v[0]:g}\u2013{v[1]:g}" if isinstance(v, tuple) else f"{v:g}")
        for name, v in found.ranges.items()
    )
    return (
        "<h2>How stable are the picks?</h2>"
        f"<p><b>{esc(found.verdict)}</b> Over {found.draws:,} draws of the assumptions "
        f"({ranges}), each pick's share of draws in which it is in the top {found.k}; a pick "
        f"is stable when it is there in at least {found.stable_share:.0%} of them. The walks "
        "were measured once and re-thresholded per draw (a threshold held as a fetch time: a "
        "faster walker goes farther).</p>"
        f"{picks_table}<p>Headline figures at the {found.headline_m:,.0f} m walk, as the "
        f"study found them and across the draws:</p>{band_table}"
    )


def map_layers(result: StudyResult) -> plots.MapLayers:
    """Return what the static map draws: streets, residents by reach, defibs, the picks."""
    network = result.network
    x = np.asarray(network.node_x, dtype=float)
    y = np.asarray(network.node_y, dtype=float)
    u = np.asarray(network.edge_u, dtype=np.int64)
    v = np.asarray(network.edge_v, dtype=np.int64)
    streets = np.stack([np.column_stack([x[u], y[u]]), np.column_stack([x[v], y[v]])], axis=1)
    demand = result.demand
    covered = demand["covered"].to_numpy(dtype=bool)
    night = (
        demand["covered_night"].to_numpy(dtype=bool)
        if "covered_night" in demand.columns
        else np.zeros(len(demand), dtype=bool)
    )
    reach = np.where(night, "night", np.where(covered, "hours", "none"))
    residents = pd.DataFrame(
        {
            "x": demand.geometry.x.to_numpy(dtype=float),
            "y": demand.geometry.y.to_numpy(dtype=float),
            "population": demand["population"].to_numpy(dtype=float),
            "reach": reach,
        }
    )
    defibs = result.defibs
    always = (
        (defibs["availability"].astype(str) == "24/7").to_numpy()
        if "availability" in defibs.columns
        else np.zeros(len(defibs), dtype=bool)
    )
    sites = pd.DataFrame(
        {
            "x": defibs.geometry.x.to_numpy(dtype=float),
            "y": defibs.geometry.y.to_numpy(dtype=float),
            "always": always,
        }
    )
    positions = {s: i for i, s in enumerate(result.candidates.index.astype(str))}
    recs = result.recommendations.sort_values("rank")
    rows = [positions[str(s)] for s in recs["site_id"] if str(s) in positions]
    ranks = [
        int(r) for s, r in zip(recs["site_id"], recs["rank"], strict=True) if str(s) in positions
    ]
    chosen = result.candidates.iloc[rows]
    picks = pd.DataFrame(
        {
            "x": chosen.geometry.x.to_numpy(dtype=float),
            "y": chosen.geometry.y.to_numpy(dtype=float),
            "rank": ranks,
        }
    )
    threshold = float(max(result.config.thresholds_m))
    return plots.MapLayers(streets, residents, sites, picks, threshold)


def headline_section(result: StudyResult, shown: Mapping[str, str], walk: int) -> str:
    """Return the answer in one sentence, then the headline cards and the coverage table."""
    del shown  # no figure: the numbers come first
    lines = _tables.headline_lines(result)
    values = {label: value for label, value, _kind, _meaning in lines}
    k = len(result.recommendations)
    year = values.get(f"Residents within {walk} m walk, year-round")
    night = values.get(f"Residents within {walk} m walk, at night (24/7)")
    added_night = values.get(f"Added by the {k} recommended sites, at night")
    answer = []
    if year is not None:
        answer.append(
            f"Today {pct(year)} of residents live within {walk} m walk of a defib "
            "usable at that hour (year-round)"
            + (f", and {pct(night)} of one usable all night." if night is not None else ".")
        )
    if k:
        board = _tables.ranked_board(result)
        rank_m = result.ranking.threshold_m
        gained = (
            f" would bring {people(added_night)} more residents within {rank_m} m of a defib "
            "usable all night"
            if added_night is not None
            else f" would bring {people(result.ranking.greedy_population_added)} more "
            f"residents within {rank_m} m"
        )
        after = float(board["cumulative_people_available"].iloc[-1]) / result.population_total
        raised = (
            f" and raise the year-round figure to {pct(after)}"
            if np.isfinite(after) and year is not None and rank_m == walk
            else ""
        )
        answer.append(
            f"The {k} recommended sites, led by {esc(board['name'].iloc[0])},{gained}{raised}."
        )
    # the sentence is built from numbers and the escaped site name only
    lead = f"<p class='answer'>{' '.join(answer)}</p>" if answer else ""
    return headline(result).replace("</h2>", "</h2>" + lead, 1)


def ranked_section(result: StudyResult, shown: Mapping[str, str], headline: int) -> str:
    """Return the ranked sites with the static map of the gaps under them."""
    del headline
    return ranked(result) + shown.get("site_map", "")


def curve_section(result: StudyResult, shown: Mapping[str, str], headline: int) -> str:
    """Return the coverage curve: people covered as sites are added, list and best set."""
    del result, headline
    figure = shown.get("coverage_curve", "")
    return f"<h2>Coverage as new sites are added</h2>{figure}" if figure else ""


def set_covering_section(result: StudyResult, shown: Mapping[str, str], headline: int) -> str:
    """Return the fewest sites for each target share, or ""."""
    del shown, headline
    return set_covering(result)


def time_section(result: StudyResult, shown: Mapping[str, str], headline: int) -> str:
    """Return the minutes to the first defib, or ""."""
    del shown, headline
    return time_to_defib(result)


def method_section(result: StudyResult, shown: Mapping[str, str], headline: int) -> str:
    """Return the method, assumptions, notes and data sources."""
    del shown, headline
    return method(result)
