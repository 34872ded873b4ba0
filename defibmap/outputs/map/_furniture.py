"""Page furniture of the study map: title, legend, data sources and the day/night switch.

Private to :mod:`defibmap.outputs.map.render`. Every block is HTML built from text already
escaped with
:func:`defibmap.outputs._html.esc`; the switch's script names only folium's generated variables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from branca.element import MacroElement
from jinja2 import Template

from defibmap.outputs._html import esc, text
from defibmap.outputs.map import _assets
from defibmap.outputs.map import _demand as demand_layers
from defibmap.outputs.map import _layers as layers

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_SYNTHETIC_BANNER = "SYNTHETIC DEMONSTRATION DATA \u2014 not a real place"
_BLOCK_CSS = (
    "position:fixed;z-index:1000;background:rgba(255,255,255,0.92);padding:6px 10px;"
    "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,0.4);font:12px/1.4 sans-serif;"
)


class HtmlBlock(MacroElement):
    """A fixed block of page HTML (legend, title, footer); ``block`` must be escaped already."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.block }}{% endmacro %}")

    def __init__(self, block: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "DefibmapHtmlBlock"
        self.block = block


class DayNightSwitch(MacroElement):
    """The script behind the day/night radio buttons (drawn in the title block).

    Switching to night hides every visible day layer and shows its night partner (and back),
    so layers the user turned off stay off. The layer control follows on its own.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function () {"
        "  var map = {{ this.map_name }};"
        "  var pairs = [{% for d, n in this.pairs %}[{{ d }}, {{ n }}],{% endfor %}];"
        "  document.querySelectorAll('.defibmap-daynight input').forEach(function (box) {"
        "    box.addEventListener('change', function () {"
        "      var to = box.value === 'night' ? 1 : 0;"
        "      pairs.forEach(function (p) {"
        "        if (map.hasLayer(p[1 - to])) { map.removeLayer(p[1 - to]); map.addLayer(p[to]); }"
        "      });"
        "    });"
        "  });"
        "})();"
        "{% endmacro %}"
    )

    def __init__(self, map_name: str, pairs: Sequence[tuple[str, str]]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "DefibmapDayNight"
        self.map_name = map_name
        self.pairs = list(pairs)  # folium variable names: identifiers, never input text


def swatch(colour: str, label: str, *, round_: bool = True, outline: bool = False) -> str:
    fill = "transparent" if outline else colour
    shape = "50%" if round_ else "2px"
    return (
        '<div><span style="display:inline-block;width:12px;height:12px;margin-right:6px;'
        f"vertical-align:middle;background:{fill};border:2px solid {colour};"
        f'border-radius:{shape};">'
        f"</span>{label}</div>"
    )


def legend(
    colours: Sequence[str],
    band_labels: Sequence[str],
    headline_m: float,
    reach_labels: Sequence[str],
    day_night: object,
) -> list[str]:
    """Return the legend rows (HTML, escaped)."""
    ring = f"not within {layers.fmt_m(headline_m)} m (ring)"
    rows = [
        "<b>Walk to nearest defib</b>",
        *(swatch(c, esc(label)) for c, label in zip(colours, band_labels, strict=True)),
        "<div><i>circle size: residents</i></div>",
        swatch(demand_layers.UNCOVERED_COLOUR, ring, outline=True),
        "<b>Defibrillators</b>",
        *(swatch(layers.AVAILABILITY_COLOUR[a], esc(a)) for a in layers.AVAILABILITY),
    ]
    if day_night is not None:
        rows.append("<div><i>day or night: switch under the title</i></div>")
    rows += [
        "<b>Sites</b>",
        *(
            swatch(style.colour, f"{style.label} ({style.letter})", round_=False)
            for style in layers.station_styles().values()
        ),
        swatch(
            "#ffd700", "gold edge: station carries an outside defib", round_=False, outline=True
        ),
        swatch(layers.RANK_COLOUR, "recommended site (rank number)"),
        swatch(layers.CANDIDATE_COLOUR, "other candidate building"),
        *(
            swatch(layers.REACH_COLOURS[i % len(layers.REACH_COLOURS)], esc(label), round_=False)
            for i, label in enumerate(reach_labels)
        ),
    ]
    return rows


def _credit(source: Mapping[str, str]) -> str:
    """Return ``layer: name (licence, date)``, escaped, leaving out what is missing."""
    extra = ", ".join(t for t in (text(source.get("licence")), text(source.get("date"))) if t)
    head = f"{text(source.get('layer'))}: {text(source.get('name'))}"
    return f"{head} ({extra})" if extra else head


def blocks(
    *,
    shown_title: str,
    synthetic: bool,
    sources: Sequence[Mapping[str, str]],
    legend_rows: list[str],
    day_night_switch: bool,
    headline: Sequence[tuple[str, float]] = (),
) -> list[str]:
    """Legend, title (with headline figures, day/night buttons) and data-sources blocks (HTML).

    ``headline`` is a plain label and a share (0-1) per figure, shown under the title.
    """
    banner = (
        '<div class="defibmap-synthetic" style="background:#b2182b;color:#fff;font-weight:bold;'
        f'padding:2px 6px;margin-bottom:4px;">{esc(_SYNTHETIC_BANNER)}</div>'
        if synthetic
        else ""
    )
    data_credits = "; ".join(_credit(s) for s in sources)
    libraries = ", ".join(f"{k} {esc(v)}" for k, v in _assets.asset_versions().items())
    legend_html = (
        f'<div class="defibmap-legend" style="{_BLOCK_CSS}bottom:30px;right:10px;'
        f'max-height:70%;overflow:auto;">{"".join(legend_rows)}</div>'
        # folium sets 1rem on the map; the open layer list would cover a laptop screen
        "<style>.leaflet-control-layers{font:12px/1.5 sans-serif}</style>"
    )
    switch = (
        '<div class="defibmap-daynight" style="margin-top:4px;">Defibrillators usable: '
        '<label><input type="radio" name="defibmap-daynight" value="day" checked> by day'
        "</label> "
        '<label><input type="radio" name="defibmap-daynight" value="night"> at night</label>'
        "</div>"
        if day_night_switch
        else ""
    )
    figures = "".join(
        f'<div class="defibmap-figure"><b>{share:.1%}</b> {esc(label)}</div>'
        for label, share in headline
    )
    title_html = (
        f'<div class="defibmap-title" style="{_BLOCK_CSS}top:10px;left:60px;max-width:50%;">'
        f'{banner}<div style="font-size:15px;font-weight:bold;">{esc(shown_title)}</div>'
        f'<div class="defibmap-headline" style="font-size:12px;">{figures}</div>'
        f"{switch}</div>"
    )
    sources_html = (
        f'<div class="defibmap-sources" style="{_BLOCK_CSS}bottom:50px;left:10px;'
        'max-width:45%;max-height:40%;overflow:auto;font-size:11px;">'
        # open: every source and its date is on screen; one click folds it away
        '<details open><summary style="cursor:pointer;font-weight:bold;">'
        "Data sources and dates</summary>"
        f"{data_credits or 'none listed'}<br>"
        f"Works offline ({libraries} built in); only the background map tiles need internet."
        "</details></div>"
    )
    return [legend_html, title_html, sources_html]
