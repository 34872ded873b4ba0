"""Page furniture of the study map: the headline, legend, sources and planner panels.

Private to :mod:`defibmap.outputs.map.render`. Every panel is HTML built from text already
escaped with :func:`defibmap.outputs._html.esc`; the page script
(:mod:`defibmap.outputs.map._script`) puts each on the map as a Leaflet control.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from defibmap.outputs._html import esc, text
from defibmap.outputs.map import _assets

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_SYNTHETIC_BANNER = "SYNTHETIC DEMONSTRATION DATA \u2014 not a real place"

#: The page's own style: compact panels, readable on a laptop; printed, the markers and
#: swatches keep their colours and the controls a printout cannot use are left out.
PAGE_CSS = """<style>
.defibmap-panel{background:rgba(255,255,255,0.95);padding:6px 9px;font:12px/1.4 sans-serif;
  color:#222;max-width:320px;border-radius:4px;box-shadow:0 1px 5px rgba(0,0,0,0.4)}
.leaflet-control-layers{font:12px/1.5 sans-serif}
.defibmap-title .defibmap-name{font-size:14px;font-weight:bold;margin-bottom:2px}
.defibmap-headline{border-collapse:collapse;margin:2px 0}
.defibmap-headline th,.defibmap-headline td{padding:1px 4px;text-align:right;white-space:nowrap}
.defibmap-headline th:first-child,.defibmap-headline td:first-child{text-align:left;
  white-space:normal}
.defibmap-headline td.defibmap-figure{font-weight:bold}
.defibmap-daynight label{margin-right:8px;white-space:nowrap}
.defibmap-legend details,.defibmap-sources details,.defibmap-planner details{margin:0}
.defibmap-legend summary,.defibmap-sources summary,.defibmap-planner summary{cursor:pointer;
  font-weight:bold}
.defibmap-legend-body{max-height:55vh;overflow:auto}
.defibmap-legend-body b{display:block;margin-top:4px}
.defibmap-sources{max-width:360px;font-size:11px}
.defibmap-legend{max-width:270px}
.defibmap-plan-list{max-height:40vh;overflow:auto;margin:4px 0}
.defibmap-plan-list label{display:block;white-space:nowrap}
.defibmap-plan-list b{display:block;margin-top:4px}
.defibmap-plan-text{width:100%;font:11px monospace}
.defibmap-icon{background:none;border:none}
.defibmap-sym{box-sizing:border-box;display:flex;align-items:center;justify-content:center;
  font:bold 11px/1 sans-serif;box-shadow:0 0 3px #000}
.defibmap-swatch{display:inline-block;width:12px;height:12px;margin-right:6px;
  vertical-align:middle;box-sizing:border-box}
.defibmap-synthetic{background:#b2182b;color:#fff;font-weight:bold;padding:2px 6px;
  margin-bottom:4px}
@media print{
  *{-webkit-print-color-adjust:exact !important;print-color-adjust:exact !important}
  .leaflet-control-layers,.defibmap-planner,.leaflet-control-zoom{display:none !important}
  .defibmap-legend details>*{display:block}
}
</style>"""


def swatch(colour: str, label: str, *, round_: bool = True, outline: bool = False) -> str:
    """Return a legend row: a coloured square or disc and its (escaped) label."""
    fill = "transparent" if outline else colour
    shape = "50%" if round_ else "2px"
    return (
        f'<div><span class="defibmap-swatch" style="background:{fill};'
        f'border:2px solid {colour};border-radius:{shape};"></span>{label}</div>'
    )


def symbol_row(icon_html: str, label: str) -> str:
    """Return a legend row showing a marker symbol as drawn on the map."""
    return (
        '<div style="display:flex;align-items:center;gap:6px;margin:1px 0">'
        f"{icon_html}<span>{label}</span></div>"
    )


def _credit(source: Mapping[str, str]) -> str:
    """Return ``layer: name (licence, date)``, escaped, leaving out what is missing."""
    extra = ", ".join(t for t in (text(source.get("licence")), text(source.get("date"))) if t)
    head = f"{text(source.get('layer'))}: {text(source.get('name'))}"
    return f"{head} ({extra})" if extra else head


def sources_panel(sources: Sequence[Mapping[str, str]]) -> str:
    """Return the data sources and dates, folded into one line until opened."""
    data_credits = "; ".join(_credit(s) for s in sources)
    libraries = ", ".join(f"{k} {esc(v)}" for k, v in _assets.asset_versions().items())
    return (
        "<details><summary>Data sources and dates</summary>"
        f"{data_credits or 'none listed'}<br>"
        f"Works offline ({libraries} built in); only the background map tiles need internet."
        "</details>"
    )


def headline_panel(
    *,
    shown_title: str,
    synthetic: bool,
    walk_m: str,
    figures: Sequence[tuple[str, str, float]],
    plan: bool,
    period_labels: Sequence[tuple[str, str]],
    report_link: str | None,
) -> str:
    """Return the title, the coverage figures (today, and with the plan) and the period switch.

    ``figures`` holds a key (``available``, ``night``, ``any_time``), a plain label and
    today's share (0-1) per figure; ``period_labels`` a value and a label per period.
    """
    banner = f'<div class="defibmap-synthetic">{esc(_SYNTHETIC_BANNER)}</div>' if synthetic else ""
    plan_head = "<th>With plan</th>" if plan else ""
    rows = []
    for key, label, share in figures:
        plan_cell = (
            f'<td class="defibmap-figure" data-figure="{key}" data-when="plan"></td>'
            if plan
            else ""
        )
        rows.append(
            f"<tr><td>{esc(label)}</td>"
            f'<td class="defibmap-figure" data-figure="{key}" data-when="today" '
            f'data-value="{share!r}">{share:.1%}</td>{plan_cell}</tr>'
        )
    if plan:
        rows.append(
            f"<tr><td>People newly within {esc(walk_m)} m (any time / night)</td>"
            f'<td colspan="2" style="text-align:right">'
            f'<b data-figure="added_any_time" data-when="plan"></b> / '
            f'<b data-figure="added_night" data-when="plan"></b>'
            f'<span hidden data-figure="added_available" data-when="plan"></span></td></tr>'
        )
    table = (
        f'<table class="defibmap-headline"><tr><th>Within {esc(walk_m)} m walk</th>'
        f"<th>Today</th>{plan_head}</tr>{''.join(rows)}</table>"
        if rows
        else ""
    )
    plan_line = (
        '<div class="defibmap-plan-line">Plan: <span class="defibmap-plan-size"></span> '
        "(the recommended sites; change it under <i>What if?</i>)</div>"
        if plan
        else ""
    )
    radios = "".join(
        f'<label><input type="radio" name="defibmap-period" value="{esc(value)}" '
        f'data-period="{i}"{" checked" if i == 0 else ""}> {esc(label)}</label>'
        for i, (value, label) in enumerate(period_labels)
    )
    switch = (
        f'<div class="defibmap-daynight">Defibs usable: {radios}</div>' if period_labels else ""
    )
    link = (
        f'<div><a href="{esc(report_link)}">Full report</a></div>'
        if report_link is not None
        else ""
    )
    return (
        f'{banner}<div class="defibmap-name">{esc(shown_title)}</div>'
        f'<div class="defibmap-headline-box">{table}</div>{plan_line}{switch}{link}'
    )


def planner_panel(
    groups: Sequence[tuple[str, Sequence[tuple[int, str, str]]]], *, place: bool = False
) -> str:
    """Return the what-if list: per group (title; sites as index, id, escaped name) checkboxes."""
    parts = []
    for title, sites in groups:
        if not sites:
            continue
        parts.append(f"<b>{esc(title)}</b>")
        parts.extend(
            f'<label><input type="checkbox" class="defibmap-plan" data-i="{i}" '
            f'data-site="{esc(site_id)}"> {name}</label>'
            for i, site_id, name in sites
        )
    return (
        "<details><summary>What if? Plan your own</summary>"
        "<div>Tick a site to add it, untick a defib to take it away; the figures, residents "
        "and defibs follow.</div>"
        + (
            '<label><input type="checkbox" class="defibmap-place"> Click the map to place a '
            "24/7 cabinet at the nearest street corner</label>"
            if place
            else ""
        )
        + f'<div class="defibmap-plan-list">{"".join(parts)}</div>'
        '<button type="button" class="defibmap-copy">Copy this plan</button> '
        "<small>(site ids for <code>defibmap.compare</code>; a leading - takes a defib away)"
        "</small>"
        '<textarea class="defibmap-plan-text" rows="3" readonly hidden></textarea>'
        "</details>"
    )
