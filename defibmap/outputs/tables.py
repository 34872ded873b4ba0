"""Reader-facing tables of a study result, shared by the Excel workbook and the HTML report.

Each function takes a :class:`~defibmap.study.pipeline.StudyResult` and returns a small
:class:`pandas.DataFrame` with plain column names, or ``None`` when the study has no such
data (no scenarios, no deprivation deciles, no wards). The tables read the result's typed
parts (:mod:`defibmap.study.parts`), never ``summary.json``. Shares stay 0-1, people stay
floats; formatting is the writer's job.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap.defaults import WALKING_SPEED_M_S

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from defibmap.study.parts import BasisEquity, GroupShare, Scenario
    from defibmap.study.pipeline import StudyResult

SCENARIO_LABELS = {
    "current": "Current defibs",
    "current+stations": "Current + 24/7 defibs at fire and police stations",
    "current+stations+recommended": "Current + stations + recommended sites",
}


#: The three coverage figures every output shows side by side, with their plain labels: the
#: year-round available share is the headline, the any-time share the optimistic bound.
COVERAGE_BASES = {
    "available": "Year-round: a defib usable at that hour (typical year, the headline)",
    "night": "At night: a defib usable all night, 00:00-06:00 (24/7)",
    "any_time": "Any time (optimistic: every defib counted usable at every hour)",
}
#: Short labels of the three figures, for a line of text or a narrow column.
COVERAGE_SHORT = {"available": "year-round", "night": "at night (24/7)", "any_time": "any time"}


def coverage_bases(result: StudyResult) -> pd.DataFrame:
    """One row per threshold: the share (0-1) and people covered on each of the three bases.

    Columns: ``threshold_m``, then ``available``, ``night`` and ``any_time`` shares and
    ``available_people``, ``night_people``, ``any_time_people``. A result without the
    year-round and night figures (built by hand) has NaN there.
    """
    total = result.population_total
    rows = []
    for key, any_time in result.coverage.items():
        shares = {
            "available": float(result.coverage_available.get(key, np.nan)),
            "night": float(result.coverage_night.get(key, np.nan)),
            "any_time": float(any_time),
        }
        row: dict[str, float | int] = {"threshold_m": int(float(key)), **shares}
        row.update({f"{base}_people": share * total for base, share in shares.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def scenario_label(name: str) -> str:
    """Readable name of a scenario key (unknown keys are returned as they are).

    A time-to-defib scenario with fire co-responders (``current+fire``) reads as its base
    scenario's name ``+ fire co-responders``.
    """
    if name not in SCENARIO_LABELS and name.endswith("+fire"):
        base = name.removesuffix("+fire")
        if base in SCENARIO_LABELS:
            return f"{SCENARIO_LABELS[base]} + fire co-responders"
    return SCENARIO_LABELS.get(name, name)


def scenarios(result: StudyResult) -> pd.DataFrame | None:
    """One row per scenario and threshold: coverage any time, by day and at night.

    Columns: ``scenario`` (key), ``label``, ``sites``, ``threshold_m``, ``any_time_share``,
    ``day_share``, ``night_share`` (term-time week), ``day_year_share``, ``night_year_share``
    (average over the year, school holidays included).
    """
    rows = [
        _scenario_row(str(name), data, key)
        for name, data in result.scenarios.items()
        for key in data.any_time
    ]
    return pd.DataFrame(rows) if rows else None


def _scenario_row(name: str, data: Scenario, key: str) -> dict[str, str | int | float]:
    return {
        "scenario": name,
        "label": scenario_label(name),
        "sites": int(data.sites),
        "threshold_m": int(float(key)),
        "any_time_share": float(data.any_time[key]),
        "available_share": float(data.available.get(key, np.nan)),
        "night_24_7_share": float(data.night_24_7.get(key, np.nan)),
        "day_share": float(data.day[key]),
        "night_share": float(data.night[key]),
        "day_year_share": float(data.day_annual_average[key]),
        "night_year_share": float(data.night_annual_average[key]),
    }


def hourly(result: StudyResult, threshold_key: str) -> dict[str, list[float]]:
    """Term-time coverage share for each of the 168 hours of the week, per scenario."""
    out = {}
    for name, data in result.scenarios.items():
        values = data.hourly_term_time.get(threshold_key)
        if values is not None and len(values) == 168:
            out[str(name)] = [float(v) for v in values]
    return out


def curve(result: StudyResult) -> pd.DataFrame:
    """People covered (ranking threshold) against the number of new sites, k = 0, 1, ...

    Columns ``k``, ``greedy_population`` and ``optimal_population`` (NaN where the exact
    optimum was not solved for that k). From the study's coverage curve when present, else
    from the ranked table (greedy order) and the optimum for the full set only.
    """
    frame = result.curve
    if frame is not None and len(frame):
        out = pd.DataFrame({"k": frame["k"].astype(int)})
        for kind in ("greedy", "optimal"):
            out[f"{kind}_population"] = pd.to_numeric(
                frame[f"{kind}_population_covered"], errors="coerce"
            )
        return out
    ranking = result.ranking
    base = float(ranking.population_covered_before)
    recs = result.recommendations.sort_values("rank")
    greedy_pop = np.concatenate(
        [[base], recs["cumulative_population_covered"].to_numpy(dtype=float)]
    )
    optimal_pop = np.full(greedy_pop.size, np.nan)
    optimal_pop[0] = base
    if greedy_pop.size > 1:
        optimal_pop[-1] = base + float(ranking.optimal_population_added)
    return pd.DataFrame(
        {
            "k": np.arange(greedy_pop.size),
            "greedy_population": greedy_pop,
            "optimal_population": optimal_pop,
        }
    )


def _group_table(rows: tuple[GroupShare, ...] | None, key: str) -> pd.DataFrame | None:
    if not rows:
        return None
    return pd.DataFrame(
        {
            key: [r.group for r in rows],
            "population": [r.population for r in rows],
            "covered_population": [r.covered_population for r in rows],
            "share": [r.share for r in rows],
            "share_with_recommended": [r.share_with_recommended for r in rows],
            "covered_population_with_recommended": [
                r.covered_population_with_recommended for r in rows
            ],
        }
    )


def deciles(result: StudyResult) -> pd.DataFrame | None:
    """Coverage by IMD decile (1 = most deprived): population, covered, share (0-1)."""
    found = result.equity
    table = _group_table(found.by_imd_decile if found else None, "imd_decile")
    return table.sort_values("imd_decile") if table is not None else None


def wards(result: StudyResult) -> pd.DataFrame | None:
    """Coverage by ward: ``ward``, population, covered population, share (0-1)."""
    found = result.equity
    return _group_table(found.by_ward if found else None, "ward")


def decile_gap(result: StudyResult, *, with_recommended: bool = False) -> float | None:
    """Least-deprived minus most-deprived decile share (positive: deprived areas worse off)."""
    found = result.equity
    if found is None:
        return None
    gap = found.decile_gap_with_recommended if with_recommended else found.decile_gap
    return None if gap is None else float(gap.gap_share)


#: Plain labels of the coverage bases equity is measured on (``summary.json``'s keys).
BASIS_LABELS = {
    "night": "At night / 24/7",
    "available": "Year-round available",
    "any": "Any time (optimistic bound)",
}


def decile_gap_people(result: StudyResult) -> tuple[str, float, str, float] | None:
    """Return the two deciles the gap compares and their people: (most, people, least, people)."""
    found = result.equity
    gap = found.decile_gap if found is not None else None
    if gap is None or gap.most_deprived_population is None:
        return None
    return (
        str(gap.most_deprived_decile),
        float(gap.most_deprived_population),
        str(gap.least_deprived_decile),
        float(gap.least_deprived_population or 0.0),
    )


def slope_indexes(result: StudyResult) -> pd.DataFrame | None:
    """Return the slope index of inequality per coverage basis, percentage points.

    Columns: ``basis`` (key), ``label``, ``slope_index`` and ``slope_index_with_recommended``
    (positive: the least deprived better covered); the headline basis (night) first. None
    without deciles.
    """
    found = result.equity
    if found is None or not found.by_basis:
        return None
    rows = [
        {
            "basis": key,
            "label": BASIS_LABELS.get(key, key),
            "slope_index": data.slope_index,
            "slope_index_with_recommended": data.slope_index_with_recommended,
        }
        for key, data in found.by_basis.items()
    ]
    return pd.DataFrame(rows)


def _basis_columns(
    table: pd.DataFrame, by_basis: dict[str, tuple[GroupShare, ...]], key: str
) -> pd.DataFrame:
    """Add ``<basis>_covered``, ``<basis>_share`` and ``<basis>_share_with_recommended``."""
    for basis, rows in by_basis.items():
        found = {r.group: r for r in rows}
        groups = table[key]
        table[f"{basis}_covered"] = [found[g].covered_population for g in groups]
        table[f"{basis}_share"] = [found[g].share for g in groups]
        table[f"{basis}_share_with_recommended"] = [found[g].share_with_recommended for g in groups]
    return table


def _by_basis(result: StudyResult, part: str, key: str) -> pd.DataFrame | None:
    found = result.equity
    if found is None or not found.by_basis:
        return None
    bases: dict[str, BasisEquity] = dict(found.by_basis)
    first = next(iter(bases.values()))
    rows: tuple[GroupShare, ...] = getattr(first, part)
    table = pd.DataFrame({key: [r.group for r in rows], "population": [r.population for r in rows]})
    total = float(table["population"].sum())
    table["population_share"] = table["population"] / total if total else 0.0
    return _basis_columns(table, {b: getattr(v, part) for b, v in bases.items()}, key)


def equity_by_decile(result: StudyResult) -> pd.DataFrame | None:
    """Coverage by IMD decile on each basis, with the people in each.

    Columns: ``imd_decile``, ``population``, ``population_share`` (0-1 of the people with a
    decile), ``small`` (under the small-group share), and per basis (``night``,
    ``available``, ``any``) ``<basis>_covered`` (people, or people x share of hours),
    ``<basis>_share`` and ``<basis>_share_with_recommended`` (0-1); with expected arrests,
    ``expected_arrests`` and ``<basis>_arrests_share``. None without deciles.
    """
    table = _by_basis(result, "by_imd_decile", "imd_decile")
    if table is None or result.equity is None:
        return None
    small = {r.group for r in result.equity.small_deciles}
    table["small"] = table["imd_decile"].isin(small)
    for basis, data in result.equity.by_basis.items():
        if data.need_by_imd_decile is None:
            continue
        need = {r.group: r for r in data.need_by_imd_decile}
        table["expected_arrests"] = [need[g].population for g in table["imd_decile"]]
        table[f"{basis}_arrests_share"] = [need[g].share for g in table["imd_decile"]]
    return table.sort_values("imd_decile").reset_index(drop=True)


def equity_by_quintile(result: StudyResult) -> pd.DataFrame | None:
    """Coverage by IMD quintile (1 = most deprived) on each basis, as :func:`equity_by_decile`."""
    table = _by_basis(result, "by_imd_quintile", "imd_quintile")
    return None if table is None else table.sort_values("imd_quintile").reset_index(drop=True)


def walking_speed_m_s(result: StudyResult) -> float:
    """Return the study's walking speed, metres per second (default ``WALKING_SPEED_M_S``)."""
    return float(getattr(result.config, "walking_speed_m_s", WALKING_SPEED_M_S))


def method(result: StudyResult) -> pd.DataFrame:
    """Return the method and assumptions as ``item`` / ``value`` rows of plain text."""
    config = result.config
    assumptions = result.assumptions
    thresholds = [float(t) for t in config.thresholds_m]
    headline = max(thresholds)
    speed = walking_speed_m_s(result)
    snap = float(assumptions.max_snap_m if assumptions else config.network.max_snap_m)
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
        ("Ranking", ranking.method),
        (
            "New sites ranked",
            (
                f"{ranking.new_sites} new 24/7 outside cabinets on "
                f"council buildings, within {ranking.threshold_m} m; "
                f"{ranking.candidates} candidate buildings"
            ),
        ),
    ]
    if assumptions is not None:
        limit = float(assumptions.search_limit_m)
        rows.insert(5, ("Search limit", f"{limit:g} m (farther defibs count as out of reach)"))
        readable = {
            "available": "assumed usable at all hours",
            "unavailable": "assumed never usable",
        }
        rows += [
            (
                "Defibs with unknown hours",
                readable.get(assumptions.unknown_hours, assumptions.unknown_hours),
            ),
            ("School hours (term time)", str(assumptions.school_hours)),
            ("School term weeks a year", str(assumptions.school_term_weeks)),
            ("Day", assumptions.day),
            ("Night", assumptions.night),
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


def _share_floor(value: float | None) -> float | None:
    """Return a share rounded down to 0.1 %, so no share under 1 ever shows as 100 %."""
    if value is None:
        return None
    # the 1e-9 keeps 0.572 (571.99999... after the product) from dropping to 0.571
    return math.floor(float(value) * 1000.0 + 1e-9) / 1000.0


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else float(seconds) / 60.0


def time_to_defib(result: StudyResult) -> pd.DataFrame | None:
    """Return one row per time-to-defib scenario, or None without the analysis.

    Columns: median minutes (over people and draws) with its 10th and 90th percentiles
    across draws, shares within 3/5/8 min (each with its 10th-90th percentile across draws),
    the probability that a defib comes before the ambulance, the mean minutes saved, and the
    share of people for whom each route comes first. Shares are rounded down to 0.1 %, so a
    share shows as 100 % only when it is 1 (true in every draw).
    """
    block = result.time_to_defib
    if block is None:
        return None
    rows = []
    for name, data in block.scenarios.items():
        row: dict[str, str | float | int | None] = {
            "scenario": name,
            "median_min": _minutes(data.median_s),
            "median_min_p10": _minutes(data.median_s_p10),
            "median_min_p90": _minutes(data.median_s_p90),
        }
        for minutes in ("3", "5", "8"):
            row[f"within_{minutes}_min_share"] = _share_floor(data.within_min_share.get(minutes))
            row[f"within_{minutes}_min_share_p10"] = _share_floor(
                data.within_min_share_p10.get(minutes)
            )
            row[f"within_{minutes}_min_share_p90"] = _share_floor(
                data.within_min_share_p90.get(minutes)
            )
        row["p_defib_before_ambulance"] = _share_floor(data.p_defib_before_ambulance)
        row["expected_min_saved"] = data.expected_min_saved
        row["bystander_first_share"] = data.first_route_share.get("bystander")
        row["fire_first_share"] = data.first_route_share.get("fire")
        row["ambulance_first_share"] = data.first_route_share.get("ambulance")
        row["draws"] = data.draws
        rows.append(row)
    return pd.DataFrame(rows) if rows else None


def time_headline(result: StudyResult) -> list[str]:
    """Return one plain sentence per scenario: median minutes and its range across draws.

    ``"current: median 4.3 min (10th-90th percentile across draws 4.1-4.5); 57.2 % within
    5 min (55.2-59.4 %)"``; a share shows as 100 % only when it is 1 in every draw.
    """
    frame = time_to_defib(result)
    if frame is None:
        return []
    lines = []
    for row in frame.to_dict("records"):
        label = scenario_label(str(row["scenario"])) or str(row["scenario"])
        median = row["median_min"]
        if median is None or median != median:  # noqa: PLR0124 - NaN
            text = f"{label}: median not reached"
        else:
            text = f"{label}: median {median:.1f} min"
            lo, hi = row["median_min_p10"], row["median_min_p90"]
            if lo is not None and hi is not None and lo == lo and hi == hi:  # noqa: PLR0124
                text += f" (10th-90th percentile across draws {lo:.1f}-{hi:.1f})"
        five = row["within_5_min_share"]
        if five is not None:
            text += f"; {five:.1%} within 5 min"
            lo5, hi5 = row["within_5_min_share_p10"], row["within_5_min_share_p90"]
            if lo5 is not None and hi5 is not None:
                text += f" ({lo5:.1%}-{hi5:.1%})"
        lines.append(text)
    return lines


def time_assumptions(result: StudyResult) -> list[tuple[str, str]]:
    """Return (assumption, value and source) pairs of the time-to-defib analysis."""
    block = result.time_to_defib
    if block is None:
        return []
    values = block.assumptions
    sources = values.sources
    return [
        (
            "Bystander walking speed",
            f"{values.walking_speed_m_s} m/s; {sources.get('walking_speed', '')}",
        ),
        ("Cabinet allowance", f"{values.cabinet_s} s; {sources.get('cabinet_s', '')}"),
        (
            "Locked cabinet, extra",
            f"{values.locked_cabinet_extra_s} s; {sources.get('locked_cabinet_extra_s', '')}",
        ),
        ("Fire turnout", f"{values.fire_turnout_s} s; {sources.get('fire_turnout_s', '')}"),
        (
            "Fire turnout, on-call crews",
            f"{values.fire_turnout_on_call_s} s; {sources.get('fire_turnout_on_call_s', '')}",
        ),
        (
            "Fire crew free to go",
            f"{values.fire_available:.0%} of calls; {sources.get('fire_available', '')}",
        ),
        ("Ambulance", f"{values.ambulance}; {sources.get('ambulance_s', '')}"),
        (
            "Recognising the arrest",
            (
                f"{values.recognition_s:g} s after the call before anyone is sent; "
                f"{sources.get('recognition_s', '')}"
            ),
        ),
        (
            "A second person can fetch the defib",
            f"{values.second_bystander:.0%} of arrests; {sources.get('second_bystander', '')}",
        ),
        (
            "Spread of walking speed",
            (
                f"{values.walking_speed_sigma:g} (log scale; 0 = one speed); "
                f"{sources.get('walking_speed_sigma', '')}"
            ),
        ),
        (
            "Draws",
            (
                f"{values.draws} random draws, seed {values.seed}: each draw is one arrest at "
                "every resident's home; the same seed gives the same figures"
            ),
        ),
        ("Driving speeds", str(sources.get("drive_speeds", ""))),
        ("Fire co-responding", block.co_responding),
    ]


#: A cell starting with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Control characters a spreadsheet cell cannot hold (openpyxl refuses them; Excel would
#: call the file damaged): C0 other than tab, newline and carriage return, and DEL.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape_control(text: str) -> str:
    r"""Return ``text`` with each control character written as a visible escape.

    ``"a\x0bb"`` (a vertical tab) becomes the seven characters ``a\x0bb`` with a real
    backslash, so the name stays readable and the character can be found in the input. Tab,
    newline and carriage return are kept.
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Make text cells safe to open in a spreadsheet: no formulas, no control characters.

    Control characters become visible escapes (:func:`escape_control`); then ``'`` is
    prefixed to text cells starting with ``= + - @``, tab or CR (no spreadsheet runs them).
    Only text columns are touched: numbers, including negative ones, stay numbers.
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            text = series.astype(object)
            is_str = text.map(lambda v: isinstance(v, str))
            control = is_str & text.map(lambda v: isinstance(v, str) and bool(_CONTROL.search(v)))
            if control.any():
                text = text.where(~control, text[control].map(escape_control))
                out[column] = text
            risky = is_str & text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
            if risky.any():
                out[column] = text.where(~risky, "'" + text.astype(str))
    return out


# --- Board-ready tables: plain names, reasons, the summary a board reads first -------------

#: A site name that is really a machine id: OpenStreetMap element ids, or one word in
#: lower case with underscores or dashes and no space (``library_compton_road``).
_MACHINE_ID = re.compile(r"^(osm_(node|way|relation)_\d+|[a-z0-9]+([_:-][a-z0-9]+)+|\d+)$")
#: A UK postcode (outward and inward code), as demand ids sometimes are.
_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$")
#: IMD deciles counted as "most deprived" in a site's reason (the most deprived fifth).
MOST_DEPRIVED_DECILES = (1, 2)


def is_machine_id(name: object) -> bool:
    """Return True when ``name`` is missing or reads like a machine id, not a place name."""
    if not isinstance(name, str) or not name.strip():
        return True
    return bool(_MACHINE_ID.match(name.strip()))


def plain_kind(kind: object) -> str:
    """Return a layer kind in words: ``community_centre`` -> ``community centre``."""
    return str(kind).replace("_", " ").strip() if isinstance(kind, str) and kind.strip() else ""


def plain_scenario_label(result: StudyResult, name: str) -> str:
    """Readable scenario name for this study: stations are named only when it has some.

    In a study without fire or police stations ``current+stations+recommended`` reads
    "Current + recommended sites" rather than naming stations it does not have.
    """
    stations = getattr(result, "stations", None)  # a bare result says nothing: keep the names
    if stations is not None and len(stations) == 0:
        fire = name.endswith("+fire")
        base = name.removesuffix("+fire") if fire else name
        bare = {
            "current+stations": "Current defibs",
            "current+stations+recommended": "Current + recommended sites",
        }.get(base)
        if bare is not None:
            return bare + (" + fire co-responders" if fire else "")
    label = scenario_label(name)
    if label == name and "+" in name:  # a key the labels do not know: say it in words
        label = " + ".join(part.replace("_", " ") for part in name.split("+")).capitalize()
    return label


def scenarios_present(result: StudyResult) -> pd.DataFrame | None:
    """:func:`scenarios` without the stations scenario when the study has no stations.

    Labels are the plain ones of :func:`plain_scenario_label`.
    """
    frame = scenarios(result)
    if frame is None:
        return None
    if len(result.stations) == 0:
        frame = frame[frame["scenario"] != "current+stations"]
    frame = frame.assign(label=[plain_scenario_label(result, s) for s in frame["scenario"]])
    return frame.reset_index(drop=True)


def _near(result: StudyResult, x: float, y: float) -> str:
    """Return "near <postcode>" of the nearest demand point when ids are postcodes, else ""."""
    demand = result.demand
    if not len(demand):
        return ""
    ids = demand.index.astype(str)
    dx = demand.geometry.x.to_numpy(dtype=float) - x
    dy = demand.geometry.y.to_numpy(dtype=float) - y
    nearest = str(ids[int(np.argmin(dx * dx + dy * dy))])
    return f"near {nearest}" if _POSTCODE.match(nearest) else ""


def _option_attribute(result: StudyResult, site_id: str, column: str) -> object:
    """Return ``column`` of the option ``site_id`` (an upgrade reads its defib's row)."""
    for frame, key in ((result.candidates, site_id), (result.defibs, site_id.split(":", 1)[-1])):
        if column in frame.columns and key in frame.index.astype(str):
            value = frame[column].to_numpy()[list(frame.index.astype(str)).index(key)]
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _wards_of(result: StudyResult, site_ids: list[str]) -> list[object]:
    """Return each option's ward: the ward outline it lies in, else its nearest resident's.

    None for every site when the study has neither ward outlines nor a ward column.
    """
    frame = result.candidates
    positions = {s: i for i, s in enumerate(frame.index.astype(str))}
    points = [frame.geometry.iloc[positions[s]] if s in positions else None for s in site_ids]
    wards = getattr(result, "wards", None)
    if wards is not None and len(wards) and "name" in wards.columns:
        out: list[object] = []
        for point in points:
            inside = [] if point is None else list(wards.loc[wards.contains(point), "name"])
            out.append(str(inside[0]) if inside else None)
        return out
    column = getattr(result.config, "ward_column", None) or "ward"
    demand = result.demand
    if column not in demand.columns or not len(demand):
        return [None] * len(site_ids)
    x = demand.geometry.x.to_numpy(dtype=float)
    y = demand.geometry.y.to_numpy(dtype=float)
    names = demand[column].to_numpy()
    return [
        None if p is None else str(names[int(np.argmin((x - p.x) ** 2 + (y - p.y) ** 2))])
        for p in points
    ]


def site_name(result: StudyResult, site_id: str, name: object) -> str:
    """Return a site's name as a reader knows it, never a machine id.

    A real name is kept; a missing one or an id reads as "Unnamed <kind>" with the nearest
    postcode when the demand ids are postcodes, else its position (WGS84, 5 decimals).
    """
    if not is_machine_id(name):
        return str(name)
    kind = plain_kind(_option_attribute(result, site_id, "kind")) or "site"
    where = ""
    positions = result.candidates.index.astype(str)
    if site_id in positions:
        row = result.candidates.iloc[list(positions).index(site_id)]
        where = _near(result, float(row.geometry.x), float(row.geometry.y))
        if not where and np.isfinite(float(row.get("lat", np.nan))):
            where = f"at {float(row['lat']):.5f}, {float(row['lon']):.5f}"
    return f"Unnamed {kind}" + (f" {where}" if where else "")


def _catchments(result: StudyResult, site_ids: list[str]) -> list[NDArray[np.bool_]]:
    """Return each option's catchment at the ranking walk (demand order), from ``cover``."""
    cover = result.ranking.cover.tocsr()
    positions = {s: i for i, s in enumerate(result.candidates.index.astype(str))}
    out = []
    for site in site_ids:
        i = positions.get(site)
        if i is None or i >= cover.shape[0]:
            out.append(np.zeros(len(result.demand), dtype=bool))
        else:
            out.append(np.asarray(cover[i].toarray()).ravel().astype(bool))
    return out


def night_comparable(result: StudyResult) -> bool:
    """Return True when the demand's ``covered_night`` is at the ranking walk (same metres)."""
    headline = round(max(float(t) for t in result.config.thresholds_m))
    return "covered_night" in result.demand.columns and result.ranking.threshold_m == headline


def _why(
    result: StudyResult, gained_night: NDArray[np.bool_] | None, gained_any: NDArray[np.bool_]
) -> str:
    """One line: who a site newly reaches, and how many of them are in deprived areas."""
    demand = result.demand
    population = demand["population"].to_numpy(dtype=float)
    rank_m = result.ranking.threshold_m
    if gained_night is not None:
        reached, when = gained_night, f"within {rank_m} m at night"
    else:
        reached, when = gained_any, f"within {rank_m} m"
    people = float(population[reached].sum())
    if people < 0.5:
        if gained_night is not None:
            return f"Its residents already have a defib usable all night within {rank_m} m"
        return f"Its residents already have a defib within {rank_m} m"
    line = f"{people:,.0f} residents it reaches have no defib {when} today"
    if "imd_decile" in demand.columns:
        decile = pd.to_numeric(demand["imd_decile"], errors="coerce").to_numpy(dtype=float)
        deprived = reached & np.isin(decile, MOST_DEPRIVED_DECILES)
        count = float(population[deprived].sum())
        first, last = MOST_DEPRIVED_DECILES[0], MOST_DEPRIVED_DECILES[-1]
        if count >= people - 0.5:
            line += f", all in IMD deciles {first}-{last} (most deprived)"
        elif count >= 0.5:
            line += f"; {count:,.0f} of them in IMD deciles {first}-{last} (most deprived)"
    return line


def ranked_board(result: StudyResult) -> pd.DataFrame:
    """Return the ranked sites as a board reads them: plain names, people gained, a reason.

    Columns: ``rank``, ``name`` (never a machine id), ``kind``, ``option``, ``address``,
    ``postcode``, ``ward`` (when the input has them), ``added_people_available`` (people x
    share of the year), ``added_night`` (people newly within the ranking walk of a defib usable
    all night: the picks are 24/7; NaN when the night figure is for another walk),
    ``added_population`` (any time), their ``cumulative_*`` totals (people covered with this
    site and the ones above it), ``cumulative_coverage_share``, ``cost`` and
    ``cumulative_cost`` when given, ``in_best_set`` ("yes"/"no"), ``why`` (one line), then
    ``site_id``, ``lon``, ``lat``.
    """
    recs = ranked(result)
    ids = [str(s) for s in recs["site_id"]]
    out = pd.DataFrame({"rank": recs["rank"].astype(int).to_numpy()})
    out["name"] = [site_name(result, s, n) for s, n in zip(ids, recs["name"], strict=True)]
    if "kind" in recs.columns:
        out["kind"] = [plain_kind(k) for k in recs["kind"]]
    if "option" in recs.columns:
        out["option"] = recs["option"].astype(str).to_numpy()
    for column in ("address", "postcode", "ward"):
        values = [_option_attribute(result, s, column) for s in ids]
        if column == "ward" and all(v is None for v in values):
            values = _wards_of(result, ids)
        if any(v is not None for v in values):
            out[column] = pd.Series(values, dtype=object).to_numpy()
    population = result.demand["population"].to_numpy(dtype=float)
    total = result.population_total
    headline = str(round(max(float(t) for t in result.config.thresholds_m)))
    catchments = _catchments(result, ids)
    night_ok = night_comparable(result)
    reached_night = result.demand["covered_night"].to_numpy(dtype=bool).copy() if night_ok else None
    reached_any = result.demand["covered"].to_numpy(dtype=bool).copy()
    nights, whys = [], []
    for catchment in catchments:
        gained_any = catchment & ~reached_any
        gained_night = None if reached_night is None else catchment & ~reached_night
        nights.append(np.nan if gained_night is None else float(population[gained_night].sum()))
        whys.append(_why(result, gained_night, gained_any))
        reached_any |= catchment
        if reached_night is not None:
            reached_night |= catchment
    if "added_people_available" in recs.columns:
        out["added_people_available"] = recs["added_people_available"].to_numpy(dtype=float)
    else:
        out["added_people_available"] = np.nan
    out["added_night"] = nights
    out["added_population"] = recs["added_population"].to_numpy(dtype=float)
    before_year = float(result.coverage_available.get(headline, np.nan)) * total
    before_night = float(result.coverage_night.get(headline, np.nan)) * total
    out["cumulative_people_available"] = before_year + out["added_people_available"].cumsum()
    out["cumulative_night"] = before_night + out["added_night"].cumsum()
    out["cumulative_population_covered"] = recs["cumulative_population_covered"].to_numpy()
    out["cumulative_coverage_share"] = recs["cumulative_coverage_share"].to_numpy()
    for column in ("cost", "cumulative_cost"):
        if column in recs.columns:
            out[column] = recs[column].to_numpy()
    best = recs["in_optimal_set"] if "in_optimal_set" in recs.columns else None
    if best is not None:
        out["in_best_set"] = ["yes" if bool(v) else "no" for v in best]
    out["why"] = whys
    out["site_id"] = ids
    out["lon"] = recs["lon"].to_numpy()
    out["lat"] = recs["lat"].to_numpy()
    return out


def data_dates(result: StudyResult) -> list[tuple[str, str]]:
    """Return (layer in words, "source, date") for every input, for a summary's data date."""
    rows = []
    for source in result.sources:
        layer = plain_kind(str(source.get("layer", ""))) or "input"
        name = str(source.get("name", "") or source.get("file", ""))
        date = str(source.get("date", "") or "date not given")
        rows.append((layer, f"{name} ({date})"))
    return rows


def headline_lines(result: StudyResult) -> list[tuple[str, float | None, str, str]]:
    """Return the headline figures as (label, value, format, meaning) rows.

    Formats: ``"share"`` (0-1), ``"people"``, ``"signed people"``. The three coverage figures
    at the headline walk, the residents, and what the recommended sites add year-round, at
    night and any time.
    """
    headline = round(max(float(t) for t in result.config.thresholds_m))
    bases = coverage_bases(result)
    row = bases[bases["threshold_m"] == headline]
    rows: list[tuple[str, float | None, str, str]] = []
    for base in ("available", "night", "any_time"):
        value = float(row[base].iloc[0]) if len(row) else float("nan")
        if np.isfinite(value):
            rows.append(
                (
                    f"Residents within {headline} m walk, {COVERAGE_SHORT[base]}",
                    value,
                    "share",
                    COVERAGE_BASES[base],
                )
            )
    rows.append(("Residents in the study", float(result.population_total), "people", ""))
    ranking = result.ranking
    board = ranked_board(result)
    k = len(board)
    rank_m = ranking.threshold_m
    rows.append(
        (
            f"Added by the {k} recommended sites, year-round",
            float(ranking.greedy_people_available_added),
            "signed people",
            f"people x share of the year newly within {rank_m} m of a usable defib",
        )
    )
    night = float(board["added_night"].sum()) if k else 0.0
    if night_comparable(result):
        rows.append(
            (
                f"Added by the {k} recommended sites, at night",
                night,
                "signed people",
                f"residents newly within {rank_m} m of a defib usable all night (24/7)",
            )
        )
    rows.append(
        (
            f"Added by the {k} recommended sites, any time",
            float(ranking.greedy_population_added),
            "signed people",
            f"residents newly within {rank_m} m of any defib",
        )
    )
    return rows


def neutralise_text(text: str) -> str:
    """Return one text cell made safe for a spreadsheet, as :func:`neutralise_formulas`."""
    safe = escape_control(text)
    return "'" + safe if safe.startswith(_FORMULA_START) else safe
