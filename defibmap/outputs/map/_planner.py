"""The study map's panels and what-if planner: the page payload and the element that runs it.

Private to :mod:`defibmap.outputs.map.render`. :func:`payload` packs what the page script
(:data:`defibmap.outputs.map._script.PAGE_JS`) needs: the catchments of every site as
(site, demand point, walking band) triples sorted by demand point, each site's usability as
a bitset over the year's slots (:class:`defibmap.study.compare.Planner`), the residents to
draw and the panels' HTML. Every text in it is escaped in Python
(:func:`defibmap.outputs._html.esc`) and the JSON is written so that it cannot close its
``<script>`` element.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from branca.element import MacroElement
from jinja2 import Template

from defibmap.outputs.map._script import PAGE_JS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import NDArray

    from defibmap.study.compare import Planner

#: Resident colours that are not walking bands: newly within the walk with the plan, no
#: longer within it, and over it. Okabe & Ito, "Color universal design" (2008): yellow,
#: reddish purple and vermillion, told apart with every common colour-vision deficiency.
ADDED_COLOUR = "#f0e442"
LOST_COLOUR = "#cc79a7"
OVER_COLOUR = "#d55e00"


def json_for_script(value: object) -> str:
    """JSON that is safe inside ``<script>``: no ``<``, ``>`` or ``&`` left to end it."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass(frozen=True)
class Residents:
    """Residents the page draws (one marker each): position, radius and tooltip title."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    radius: NDArray[np.float64]
    labels: Sequence[str]


@dataclass(frozen=True)
class Streets:
    """The walking network as the page needs it to place a cabinet: nodes and a CSR graph.

    Attributes
    ----------
    lat, lon
        Each node's position, degrees (WGS84).
    indptr, indices, length_m
        The network's adjacency (CSR): node ``u``'s neighbours are
        ``indices[indptr[u]:indptr[u + 1]]``, each ``length_m`` metres away.
    """

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]
    length_m: NDArray[np.float64]


@dataclass(frozen=True)
class Panels:
    """The HTML (escaped) of the panels and the legend, and the bounds the view fits.

    ``bounds`` is ``[[south, west], [north, east]]`` in degrees: the content the page fits
    the view to, with room for the panels.
    """

    headline: str
    sources: str
    planner: str | None
    legend: Sequence[tuple[int, str]]
    bounds: Sequence[Sequence[float]]


def _bits(usable: NDArray[np.bool_]) -> tuple[list[int], int]:
    """Pack ``(n_sites, n_slots)`` booleans into 32-bit words, site by site."""
    n_sites, n_slots = usable.shape
    words = max(1, -(-n_slots // 32))
    packed = np.zeros((n_sites, words), dtype=np.uint64)
    for j in range(n_slots):
        packed[:, j // 32] |= usable[:, j].astype(np.uint64) << np.uint64(j % 32)
    return [int(v) for v in packed.ravel()], words


def periods(plan: Planner) -> list[dict[str, object]]:
    """Return the period switch: day (term and school holidays when they differ) and night."""
    schools = bool((plan.day_term != plan.day_holiday).any())
    out: list[dict[str, object]] = [
        {
            "key": "day",
            "label": "Day (school term)" if schools else "Day",
            "usable": plan.day_term.astype(int).tolist(),
            "night": False,
        }
    ]
    if schools:
        out.append(
            {
                "key": "holiday",
                "label": "Day (school holidays)",
                "usable": plan.day_holiday.astype(int).tolist(),
                "night": False,
            }
        )
    out.append(
        {"key": "night", "label": "Night", "usable": plan.night.astype(int).tolist(), "night": True}
    )
    return out


def payload(
    plan: Planner | None,
    *,
    names: Mapping[str, str],
    recommended: Sequence[str],
    thresholds: NDArray[np.float64],
    band_colours: Sequence[str],
    residents: Residents | None,
    panels: Panels,
    streets: Streets | None = None,
) -> dict[str, object]:
    """Everything the page script reads, as JSON-ready values (texts escaped already).

    Without a planner (a map drawn from frames alone) the page has its panels only: no
    period switch, no plan, residents drawn by folium.
    """
    if plan is None:
        return {
            "planner": False,
            "pop": [],
            "pairs": {"ptr": [0], "site": [], "band": [], "walk": []},
            "slotHours": [],
            "sites": {
                "id": [],
                "name": [],
                "kind": [],
                "recommended": [],
                "night": [],
                "words": [],
                "nWords": 1,
                "nCurrent": 0,
            },
            "initial": [],
            "periods": [],
            "bandColours": list(band_colours),
            "colours": {"added": ADDED_COLOUR, "lost": LOST_COLOUR, "over": OVER_COLOUR},
            "panels": {"headline": panels.headline, "sources": panels.sources, "planner": None},
            "legend": [{"layer": layer, "html": html} for layer, html in panels.legend],
            "bounds": [list(map(float, b)) for b in panels.bounds],
            "demand": None,
            "headlineM": f"{float(thresholds[-1]):g}",
        }
    n_demand = len(plan.population)
    order = np.lexsort((plan.pair_site, plan.pair_demand))
    demand = plan.pair_demand[order]
    ptr = np.r_[0, np.cumsum(np.bincount(demand, minlength=n_demand))]
    band = np.searchsorted(thresholds, plan.pair_walk_m[order], side="left")
    words, n_words = _bits(plan.slot_usable)
    picked = set(recommended)
    index = {s: i for i, s in enumerate(plan.site_ids)}
    data: dict[str, object] = {
        "planner": True,
        "thresholds": [float(t) for t in thresholds],
        "streets": None if streets is None else _streets(plan, streets),
        "headlineM": f"{plan.threshold_m:g}",
        "pop": [float(p) for p in plan.population],
        "pairs": {
            "ptr": ptr.astype(int).tolist(),
            "site": plan.pair_site[order].astype(int).tolist(),
            "band": band.astype(int).tolist(),
            "walk": np.round(plan.pair_walk_m[order], 1).tolist(),
        },
        "slotHours": plan.slot_hours.astype(int).tolist(),
        "sites": {
            "id": list(plan.site_ids),
            "name": [names.get(s, s) for s in plan.site_ids],
            "kind": ["defib"] * plan.n_current + ["option"] * (len(plan.site_ids) - plan.n_current),
            "recommended": [int(s in picked) for s in plan.site_ids],
            "night": plan.night.astype(int).tolist(),
            "words": words,
            "nWords": n_words,
            "nCurrent": plan.n_current,
        },
        "initial": [index[s] for s in recommended if s in index],
        "periods": periods(plan),
        "bandColours": list(band_colours),
        "colours": {"added": ADDED_COLOUR, "lost": LOST_COLOUR, "over": OVER_COLOUR},
        "panels": {
            "headline": panels.headline,
            "sources": panels.sources,
            "planner": panels.planner,
        },
        "legend": [{"layer": layer, "html": html} for layer, html in panels.legend],
        "bounds": [list(map(float, b)) for b in panels.bounds],
        "demand": None,
    }
    if residents is not None:
        data["demand"] = {
            "lat": np.round(residents.lat, 6).tolist(),
            "lon": np.round(residents.lon, 6).tolist(),
            "r": np.round(residents.radius, 1).tolist(),
            "label": list(residents.labels),
        }
    return data


def _streets(plan: Planner, streets: Streets) -> dict[str, object]:
    """Return the network and each demand point's two nodes, for a cabinet placed in the page."""
    ok = plan.demand_u >= 0
    return {
        "lat": np.round(streets.lat, 6).tolist(),
        "lon": np.round(streets.lon, 6).tolist(),
        "ptr": streets.indptr.astype(int).tolist(),
        "idx": streets.indices.astype(int).tolist(),
        "len": np.round(streets.length_m, 1).tolist(),
        "du": np.where(ok, plan.demand_u, -1).astype(int).tolist(),
        "dv": np.where(ok, plan.demand_v, -1).astype(int).tolist(),
        "dtu": np.round(np.where(ok, plan.demand_to_u_m, 0.0), 1).tolist(),
        "dtv": np.round(np.where(ok, plan.demand_to_v_m, 0.0), 1).tolist(),
    }


class PageScript(MacroElement):
    """The page script with its payload and the names of folium's layer variables."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(
        self,
        data: Mapping[str, object],
        *,
        map_name: str,
        residents_name: str | None,
        legend_layers: Sequence[str],
        reach_pairs: Sequence[tuple[str, str]],
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "DefibmapPage"
        pairs = "[" + ", ".join(f"[{d}, {n}]" for d, n in reach_pairs) + "]"
        # only folium's generated variable names (identifiers) and escaped JSON go in
        self.code = (
            PAGE_JS.replace("__MAP__", map_name)
            .replace("__RESIDENTS__", residents_name or "null")
            .replace("__LEGEND_LAYERS__", "[" + ", ".join(legend_layers) + "]")
            .replace("__REACH_PAIRS__", pairs)
            # last, so that no text in the payload is taken for a placeholder
            .replace("__PAYLOAD__", json_for_script(data))
        )


class PointsScript(MacroElement):
    """Circle markers with tooltips, drawn into the parent layer from one JSON payload.

    ``points`` holds ``lat``, ``lon`` (degrees), ``colour`` and ``tip`` (escaped HTML)
    lists of one length.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function () {"
        "  var group = {{ this._parent.get_name() }}, D = {{ this.data }};"
        "  for (var i = 0; i < D.lat.length; i += 1) {"
        "    L.circleMarker([D.lat[i], D.lon[i]], {radius: 4, weight: 0, color: D.colour[i],"
        "      fill: true, fillColor: D.colour[i], fillOpacity: 0.8})"
        "      .bindTooltip(D.tip[i]).addTo(group);"
        "  }"
        "})();"
        "{% endmacro %}"
    )

    def __init__(self, points: Mapping[str, object]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "DefibmapPoints"
        self.data = json_for_script(points)
