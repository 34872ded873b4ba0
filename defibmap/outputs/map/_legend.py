"""The study map's legend: one section per layer, built from what the study has.

Private to :mod:`defibmap.outputs.map.render`. Each section is escaped HTML tied to the
layer it explains (an index into the page's list of legend layers, ``-1`` for none); the
page shows the sections of the layers on the map only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from defibmap.outputs._html import esc
from defibmap.outputs.map import _layers as layers
from defibmap.outputs.map import _planner
from defibmap.outputs.map._furniture import swatch, symbol_row

if TYPE_CHECKING:
    from collections.abc import Sequence

_AVAILABILITY_WORDS = {
    "24/7": "defib usable 24/7",
    "limited hours": "defib with limited hours",
    "unknown": "defib, hours unknown",
}


def _residents(layer: int, colours: Sequence[str], labels: Sequence[str], *, planned: bool) -> str:
    n = len(colours) - 2  # the walking bands, then over the headline walk and none
    if planned:
        rows = [
            "<b>Residents: walk to the nearest defib usable then</b>",
            *(swatch(c, esc(label)) for c, label in zip(colours[:n], labels[:n], strict=True)),
            swatch(_planner.OVER_COLOUR, f"{esc(labels[n])} (or none)"),
            swatch(_planner.ADDED_COLOUR, "newly within reach with the plan"),
            swatch(_planner.LOST_COLOUR, "out of reach with the plan"),
        ]
    else:
        rows = [
            "<b>Residents: walk to the nearest defib</b>",
            *(swatch(c, esc(label)) for c, label in zip(colours, labels, strict=True)),
        ]
    rows.append("<div><i>circle size: residents</i></div>")
    return "".join(rows) if layer >= 0 else ""


def sections(
    *,
    residents: tuple[int, Sequence[str], Sequence[str], bool],
    defibs: tuple[int, Sequence[str]],
    candidates: tuple[int, int],
    stations: Sequence[tuple[int, str]],
    reach: Sequence[tuple[int, str, int]],
    outlines: tuple[int, int],
    extra: Sequence[tuple[int, str]],
) -> list[tuple[int, str]]:
    """Return ``(layer index, html)`` per legend section, in the order the legend shows them.

    ``candidates`` is the (recommended, other candidates) layers, ``outlines`` the (wards,
    walking network) layers. Layers the study lacks come with index ``-1`` and give no section.
    """
    ranked, others = candidates
    wards, network = outlines
    out: list[tuple[int, str]] = []
    layer, colours, labels, planned = residents
    if layer >= 0:
        out.append((layer, _residents(layer, colours, labels, planned=planned)))
    layer, present = defibs
    if layer >= 0 and present:
        rows = ["<b>Defibrillators</b>"]
        for avail in layers.AVAILABILITY:
            if avail in present:
                glyph, fill, ink = layers.DEFIB_SYMBOL[avail]
                rows.append(
                    symbol_row(
                        layers.symbol_html(glyph, fill, ink, px=20), _AVAILABILITY_WORDS[avail]
                    )
                )
        if planned:
            rows.append("<div><i>faded: not usable then, or taken away in the plan</i></div>")
        out.append((layer, "".join(rows)))
    if ranked >= 0:
        badge = layers.symbol_html("1", layers.RANK_COLOUR, "#ffffff", px=18, round_=True)
        out.append((ranked, symbol_row(badge, "recommended new defib site (rank)")))
    if others >= 0:
        box = layers.symbol_html("", "#ffffff", layers.CANDIDATE_COLOUR, px=12).replace(
            "border:2px solid #000", f"border:3px solid {layers.CANDIDATE_COLOUR}"
        )
        out.append((others, symbol_row(box, "other candidate building")))
    styles = layers.station_styles()
    for layer, name in stations:
        style = next((s for s in styles.values() if f"{s.label}s" == name), None)
        if style is None:
            continue
        mark = layers.symbol_html(style.letter, style.colour, "#ffffff", px=16)
        label = f"{esc(style.label)} ({esc(style.letter)})"
        out.append((layer, symbol_row(mark, label)))
    for layer, label, i in reach:
        colour = layers.REACH_COLOURS[i % len(layers.REACH_COLOURS)]
        out.append((layer, swatch(colour, esc(label), round_=False)))
    if wards >= 0:
        out.append((wards, swatch("#444444", "ward boundary", round_=False, outline=True)))
    if network >= 0:
        out.append(
            (
                network,
                (
                    '<div><span class="defibmap-swatch" style="height:2px;background:#636363">'
                    "</span>walking network</div>"
                ),
            )
        )
    out.extend((layer, html) for layer, html in extra if html)
    return out
