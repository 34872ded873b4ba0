"""The HTML report ``report.html``: one self-contained page that leads with the answer.

In the order a board reads: the headline numbers, the ranked sites with a static map of the
gaps (drawn from the study's own data, no tiles), then day and night, who is covered
(deprivation and wards), the coverage curve, the fewest sites for a target, the minutes to
the first defib, and the method and sources. A section is one function in
:data:`SECTIONS`; a study without a layer (no stations, no deciles, no times) gets no
section or row for it.

Figures (:mod:`defibmap.outputs.plots`) are embedded as base64 PNG, each with one caption
under it, so the page is a single file that opens offline; they are also saved as PNG files
when ``figures_dir`` is given. The page reads on a phone (narrow columns, wide tables scroll
sideways in their own box) and prints (no link colours, figures kept whole). Every piece of
text from an input file goes through :func:`defibmap.outputs._html.esc`, and a
Content-Security-Policy forbids scripts and remote content altogether, as a second line of
defence.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from defibmap._files import write_bytes_atomic
from defibmap.outputs import _report_sections as sections
from defibmap.outputs import plots
from defibmap.outputs import tables as _tables
from defibmap.outputs._html import esc
from defibmap.study.result import tool_version

if TYPE_CHECKING:
    from collections.abc import Mapping

    from defibmap.study.pipeline import StudyResult

__all__ = ["write_report"]

logger = logging.getLogger(__name__)

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'"
_CSS = """
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
margin:0 auto;max-width:1000px;padding:0 16px 40px;overflow-wrap:break-word}
h1{font-size:26px;margin:24px 0 4px}h2{font-size:20px;margin:32px 0 8px;
border-bottom:2px solid #dde5f0;padding-bottom:4px}
.lede{color:#555;margin-top:0}
.banner{background:#b2182b;color:#fff;font-weight:bold;padding:8px 12px;margin-top:12px;
letter-spacing:.03em}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{flex:1 1 160px;background:#f4f7fb;border-radius:6px;padding:10px 14px}
.card b{display:block;font-size:24px}.card span{color:#555;font-size:13px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%;margin:8px 0 16px}
table{border-collapse:collapse;margin:0;font-size:14px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}
th{background:#dde5f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:16px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:13px}
.maplink{display:inline-block;background:#08519c;color:#fff;padding:8px 14px;
border-radius:4px;text-decoration:none;font-weight:bold}
.ranked td:last-child{min-width:18em}
.answer{font-size:17px;background:#eef4ea;border-left:4px solid #009E73;padding:8px 12px}
footer{margin-top:40px;color:#777;font-size:12px}
@media (max-width:600px){body{font-size:14px;padding:0 10px 24px}h1{font-size:21px}
.card b{font-size:20px}th,td{padding:3px 6px}}
@media print{body{max-width:none;padding:0;font-size:11pt}.maplink{color:#000;
background:none;border:1px solid #000}.scroll{overflow:visible}
figure,table,.cards{break-inside:avoid}h2{break-after:avoid}
.banner,.card,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _figure(plot: plots.Plot, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(plot.title)}">'
        f"<figcaption>{esc(plot.caption)}</figcaption></figure>"
    )


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
    figures = _figures(result)
    pngs = {plot.name: plot.png() for plot in figures}
    page = _page(result, figures, pngs, map_href=map_href)
    path = Path(path)
    written: dict[str, Path] = {}
    if figures_dir is not None:
        folder = Path(figures_dir)
        for name, png in pngs.items():
            target = folder / f"{name}.png"
            write_bytes_atomic(target, png)
            written[target.name] = target
    write_bytes_atomic(path, page.encode("utf-8"))
    written["report.html"] = path
    logger.info("wrote report to %s", path)
    return written


def _figures(result: StudyResult) -> list[plots.Plot]:
    headline = float(max(result.config.thresholds_m))
    rank_m = float(result.ranking.threshold_m)
    out = [
        plots.site_map(sections.map_layers(result)),
        plots.coverage_curve(
            _tables.curve(result),
            population_total=result.population_total,
            threshold_m=rank_m,
        ),
    ]
    scenarios = _tables.scenarios_present(result)
    if scenarios is not None:
        out.append(plots.day_night(scenarios, threshold_m=headline))
        hourly = _tables.hourly(result, str(round(headline)))
        if len(result.stations) == 0:
            hourly.pop("current+stations", None)
        if hourly:
            labels = {k: _tables.plain_scenario_label(result, k) for k in hourly}
            out.append(plots.week_profile(hourly, threshold_m=headline, labels=labels))
    deciles = _tables.deciles(result)
    if deciles is not None:
        out.append(plots.equity_by_decile(deciles, threshold_m=headline))
    return out


def _page(
    result: StudyResult,
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
    ]
    parts += [section(result, shown, headline) for section in SECTIONS]
    parts.append(
        f"<footer>Made with defibmap {esc(tool_version())}. Walking distances "
        "along the OpenStreetMap walking network.</footer></body></html>"
    )
    return "\n".join(p for p in parts if p)


#: The report's sections in reading order: the answer first, the method last. Each takes
#: the result, the figures' HTML by name and the headline walk (metres) and returns an HTML
#: fragment, or "" when the study lacks what it shows. A new section is one entry here.
SECTIONS: tuple[sections.Section, ...] = (
    sections.headline_section,
    sections.ranked_section,
    sections.sensitivity_section,
    sections.day_night,
    sections.equity,
    sections.curve_section,
    sections.set_covering_section,
    sections.time_section,
    sections.method_section,
)
