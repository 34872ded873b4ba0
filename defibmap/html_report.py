"""The HTML report ``report.html``: one self-contained page a board can read.

Headline numbers, the coverage curve, day against night, coverage by deprivation decile and
ward, the ranked sites, a link to the interactive map, the assumptions and the data sources.
Figures (:mod:`defibmap.plots`) are embedded as base64 PNG, so the page is a single file that
opens offline; they are also saved as PNG files when ``figures_dir`` is given. Every piece of
text from an input file goes through :func:`defibmap._html.esc`, and a Content-Security-Policy
forbids scripts and remote content altogether, as a second line of defence.
"""

from __future__ import annotations

import base64
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from defibmap import _tables, plots
from defibmap._html import esc, text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from defibmap.study import StudyResult

__all__ = ["write_report"]

logger = logging.getLogger(__name__)

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'"
_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
margin:0 auto;max-width:1000px;padding:0 20px 40px}
h1{font-size:26px;margin:24px 0 4px}h2{font-size:20px;margin:32px 0 8px;
border-bottom:2px solid #dde5f0;padding-bottom:4px}
.lede{color:#555;margin-top:0}
.banner{background:#b2182b;color:#fff;font-weight:bold;padding:8px 12px;margin-top:12px;
letter-spacing:.03em}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{flex:1 1 160px;background:#f4f7fb;border-radius:6px;padding:10px 14px}
.card b{display:block;font-size:24px}.card span{color:#555;font-size:13px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:14px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}
th{background:#dde5f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:16px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:13px}
.maplink{display:inline-block;background:#08519c;color:#fff;padding:8px 14px;
border-radius:4px;text-decoration:none;font-weight:bold}
footer{margin-top:40px;color:#777;font-size:12px}
"""


def _pct(value: object) -> str:
    number = float(value) if isinstance(value, int | float | np.number) else float("nan")
    return f"{number:.1%}" if np.isfinite(number) else "\u2014"


def _people(value: object) -> str:
    number = float(value) if isinstance(value, int | float | np.number) else float("nan")
    return f"{number:,.0f}" if np.isfinite(number) else "\u2014"


def _table(
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


def _figure(plot: plots.Plot, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(plot.title)}">'
        f"<figcaption>{esc(plot.caption)}</figcaption></figure>"
    )


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        tmp.chmod(path.stat().st_mode & 0o777 if path.exists() else 0o644)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_report(
    result: StudyResult,
    path: str | Path,
    *,
    map_href: str = "map.html",
    figures_dir: str | Path | None = None,
) -> dict[str, Path]:
    """Write the study's HTML report at ``path``, atomically.

    Parameters
    ----------
    result : StudyResult
        A finished study (:func:`defibmap.run_study`).
    path : str or pathlib.Path
        Destination HTML file; its folder must exist.
    map_href : str, default "map.html"
        Link to the interactive map, relative to the report.
    figures_dir : str or pathlib.Path, optional
        Folder (must exist) where every figure is also saved as ``<name>.png``.

    Returns
    -------
    dict of str to pathlib.Path
        ``"report.html"`` (whatever the file's name) and each figure's PNG file name, to the
        paths written.
    """
    summary = result.summary()
    figures = _figures(result, summary)
    pngs = {plot.name: plot.png() for plot in figures}
    page = _page(result, summary, figures, pngs, map_href=map_href)
    path = Path(path)
    written: dict[str, Path] = {}
    if figures_dir is not None:
        folder = Path(figures_dir)
        for name, png in pngs.items():
            target = folder / f"{name}.png"
            _atomic_write(target, png)
            written[target.name] = target
    _atomic_write(path, page.encode("utf-8"))
    written["report.html"] = path
    logger.info("wrote report to %s", path)
    return written


def _figures(result: StudyResult, summary: dict[str, Any]) -> list[plots.Plot]:
    headline = float(max(result.config.thresholds_m))
    rank_m = float(result.ranking.get("threshold_m", headline))
    out = [
        plots.coverage_curve(
            _tables.curve(result, summary),
            population_total=result.population_total,
            threshold_m=rank_m,
        )
    ]
    scenarios = _tables.scenarios(summary)
    if scenarios is not None:
        out.append(plots.day_night(scenarios, threshold_m=headline))
        hourly = _tables.hourly(summary, str(round(headline)))
        if hourly:
            labels = {k: _tables.scenario_label(k) for k in hourly}
            out.append(plots.week_profile(hourly, threshold_m=headline, labels=labels))
    deciles = _tables.deciles(summary)
    if deciles is not None:
        out.append(plots.equity_by_decile(deciles, threshold_m=headline))
    return out


def _page(
    result: StudyResult,
    summary: dict[str, Any],
    figures: list[plots.Plot],
    pngs: Mapping[str, bytes],
    *,
    map_href: str,
) -> str:
    config = result.config
    headline = round(max(config.thresholds_m))
    shown = {plot.name: _figure(plot, pngs[plot.name]) for plot in figures}
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Defibrillator walking reach: {esc(config.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    if config.synthetic:
        parts.append(
            '<div class="banner">SYNTHETIC DEMONSTRATION DATA \u2014 not a real place; '
            "no figure here describes real people.</div>"
        )
    parts += [
        f"<h1>Defibrillator walking reach: {esc(config.name)}</h1>",
        f'<p class="lede">{esc(config.description)}</p>' if config.description else "",
        (
            f'<p><a class="maplink" href="{esc(map_href)}">Open the interactive map</a> '
            "(works offline; only the background tiles need internet)</p>"
        ),
        _headline(result, summary),
        "<h2>Coverage as new sites are added</h2>",
        shown["coverage_curve"],
    ]
    parts.append(_day_night(summary, shown, headline))
    parts.append(_equity(summary, shown, headline))
    parts.append(_ranked(result))
    parts.append(_set_covering(result, summary))
    parts.append(_time_to_defib(summary))
    parts.append(_method(result, summary))
    parts.append(
        f"<footer>Made with defibmap {esc(summary.get('version', ''))}. Walking distances "
        "along the OpenStreetMap walking network.</footer></body></html>"
    )
    return "\n".join(p for p in parts if p)


def _headline(result: StudyResult, summary: dict[str, Any]) -> str:
    total = result.population_total
    headline = round(max(result.config.thresholds_m))
    share_now = result.coverage.get(str(headline), float("nan"))
    ranking = result.ranking
    greedy = float(ranking.get("greedy_population_added", float("nan")))
    optimal = float(ranking.get("optimal_population_added", float("nan")))
    gap = float(ranking.get("gap_population", optimal - greedy))
    k = ranking.get("new_sites", result.config.new_sites)
    cards = [
        (_people(total), f"residents in {len(result.demand):,} demand points"),
        (_pct(share_now), f"within {headline} m walk of a defib (every defib counted usable)"),
        (f"+{_people(greedy)}", f"people brought within reach by the {k} ranked sites"),
        (_people(optimal), f"the exact optimum for {k} sites (gap {_people(gap)})"),
    ]
    scenarios = _tables.scenarios(summary)
    if scenarios is not None:
        now = scenarios[
            (scenarios["scenario"] == "current") & (scenarios["threshold_m"] == headline)
        ]
        if len(now):
            cards.insert(2, (_pct(now["night_share"].iloc[0]), "covered at night (00:00-06:00)"))
    html_cards = "".join(
        f"<div class='card'><b>{esc(v)}</b><span>{esc(s)}</span></div>" for v, s in cards
    )
    cover = [
        {"threshold": f"{int(key)} m", "share": share, "people": share * total}
        for key, share in result.coverage.items()
    ]
    table = _table(
        pd.DataFrame(cover),
        {
            "threshold": ("One-way walk", None),
            "share": ("Share of residents within it", _pct),
            "people": ("Residents", _people),
        },
    )
    rejected = sum(int(v.get("rows_rejected", 0)) for v in result.inputs.values())
    note = (
        f"<p>{rejected:,} input rows were set aside (listed with reasons in rejected.csv).</p>"
        if rejected
        else ""
    )
    return f"<h2>Headline numbers</h2><div class='cards'>{html_cards}</div>{table}{note}"


def _day_night(summary: dict[str, Any], shown: Mapping[str, str], headline: int) -> str:
    scenarios = _tables.scenarios(summary)
    if scenarios is None:
        return ""
    rows = scenarios[scenarios["threshold_m"] == headline]
    table = _table(
        rows,
        {
            "label": ("Scenario", None),
            "sites": ("Defib sites", _people),
            "any_time_share": ("Any time", _pct),
            "day_share": ("Day (term)", _pct),
            "night_share": ("Night (term)", _pct),
            "day_year_share": ("Day (year)", _pct),
            "night_year_share": ("Night (year)", _pct),
        },
    )
    return (
        f"<h2>Day and night</h2><p>Share of residents within {headline} m walk of a defib "
        "that is usable at that time.</p>"
        f"{table}{shown.get('day_night', '')}{shown.get('week_profile', '')}"
    )


def _equity(summary: dict[str, Any], shown: Mapping[str, str], headline: int) -> str:
    deciles = _tables.deciles(summary)
    wards = _tables.wards(summary)
    if deciles is None and wards is None:
        return ""
    columns: dict[str, tuple[str, Callable[[object], str] | None]] = {
        "population": ("Residents", _people),
        "covered_population": (f"Within {headline} m", _people),
        "share": ("Share now", _pct),
        "share_with_recommended": ("With recommended sites", _pct),
    }
    parts = ["<h2>Who is covered</h2>"]
    if deciles is not None:
        gap = _tables.decile_gap(summary)
        after = _tables.decile_gap(summary, with_recommended=True)
        if gap is not None:
            parts.append(
                "<p>Gap between the least and the most deprived decile: "
                f"<b>{gap * 100:+.1f} percentage points</b>"
                + (f" ({after * 100:+.1f} with the recommended sites)" if after is not None else "")
                + "; positive means deprived neighbourhoods are worse served.</p>"
            )
        parts.append(shown.get("equity_by_decile", ""))
        parts.append(_table(deciles, {"imd_decile": ("IMD decile", str), **columns}))
    if wards is not None:
        parts.append("<h3>By ward</h3>")
        parts.append(_table(wards, {"ward": ("Ward", None), **columns}))
    return "".join(parts)


def _ranked(result: StudyResult) -> str:
    rank_m = result.ranking.get("threshold_m", round(max(result.config.thresholds_m)))
    table = _table(
        _tables.ranked(result),
        {
            "rank": ("Rank", str),
            "name": ("Site", None),
            "kind": ("Kind", None),
            "site_id": ("Id", None),
            "added_population": (f"People newly within {rank_m} m", _people),
            "cumulative_population_covered": ("Cumulative people", _people),
            "cumulative_coverage_share": ("Cumulative share", _pct),
            "in_optimal_set": ("In exact optimum", lambda v: "yes" if v else "no"),
        },
    )
    return (
        "<h2>Ranked sites</h2><p>Each site is a new 24/7 outside cabinet on a council "
        "building, added in greedy order: each brings the most people newly within reach "
        f"given the ones above it.</p>{table}"
    )


def _set_covering(result: StudyResult, summary: dict[str, Any]) -> str:
    found = summary.get("set_covering")
    if not isinstance(found, dict) or not found.get("targets"):
        return ""
    names = {}
    if "name" in result.candidates.columns:
        names = {str(k): str(v) for k, v in result.candidates["name"].items()}
    rows = []
    for target, data in found["targets"].items():
        ids = [str(s) for s in data.get("site_ids", [])]
        rows.append(
            {
                "target": _pct(float(target)),
                "sites": str(data["sites"]) if data.get("reachable") else "not reachable",
                "names": ", ".join(names.get(s, s) for s in ids) or "\u2014",
                "share": data.get("covered_share", data.get("max_share")),
            }
        )
    of = "residents any site could reach" if found.get("of") == "reachable" else "all residents"
    table = _table(
        pd.DataFrame(rows),
        {
            "target": ("Target share", None),
            "sites": ("Fewest new sites", None),
            "names": ("Sites", None),
            "share": ("Share reached", _pct),
        },
    )
    return f"<h2>Fewest sites for a target</h2><p>Share of {esc(of)}.</p>{table}"


def _time_to_defib(summary: dict[str, Any]) -> str:
    """Return the minutes-to-first-defib section (bystander, fire, ambulance), or ''."""
    frame = _tables.time_to_defib(summary)
    if frame is None:
        return ""
    frame["scenario"] = frame["scenario"].map(_tables.scenario_label).fillna(frame["scenario"])
    table = _table(
        frame,
        {
            "scenario": ("Scenario", None),
            "median_min": ("Median minutes", lambda v: f"{v:.1f}" if v == v else "-"),  # noqa: PLR0124
            "within_3_min_share": ("Within 3 min", _pct),
            "within_5_min_share": ("Within 5 min", _pct),
            "within_8_min_share": ("Within 8 min", _pct),
            "bystander_first_share": ("Bystander first", _pct),
            "fire_first_share": ("Fire crew first", _pct),
            "ambulance_first_share": ("Ambulance first", _pct),
        },
    )
    items = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in _tables.time_assumptions(summary)
    )
    return (
        "<h2>Minutes to the first defibrillator</h2><p>Survival falls by roughly a tenth for "
        "every minute without defibrillation. The smallest of three routes: a bystander "
        "fetches the nearest defib (walk there and back), a fire crew co-responds, or the "
        f"ambulance arrives. Shares are of residents.</p>{table}<table>{items}</table>"
    )


def _method(result: StudyResult, summary: dict[str, Any]) -> str:
    facts = _tables.method(result, summary)
    items = "".join(
        f"<tr><th>{text(item)}</th><td>{text(value)}</td></tr>"
        for item, value in facts.itertuples(index=False)
    )
    notes = "".join(f"<li>{text(note)}</li>" for note in result.notes)
    sources = _table(
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
