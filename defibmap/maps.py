r"""Interactive folium map of a defib study.

:func:`study_map` is pure: GeoDataFrames in (any projected CRS, set on each frame), a
:class:`folium.Map` out. :func:`write_map` is the one writer; it replaces the file atomically.

Every string that comes from an input (names, ids, kinds, opening hours, sources, the title) is
passed through :func:`_esc` before it reaches the page. :func:`html.escape` alone is not enough
here: folium puts popup and tooltip HTML inside JavaScript template literals (where backtick,
``$`` and ``\`` are live) and branca re-parses rendered output as a Jinja template (where ``{``
and ``}`` are live), so those characters are replaced by numeric character references too.
"""

from __future__ import annotations

import html
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.colormap import LinearColormap
from branca.element import MacroElement
from jinja2 import Template

from defibmap._errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from branca.element import Figure
    from numpy.typing import NDArray

__all__ = ["AGGREGATED_MARKERS", "MAX_DEMAND_MARKERS", "study_map", "write_map"]

logger = logging.getLogger(__name__)

#: Above this many demand points the demand layers are aggregated onto a square grid.
MAX_DEMAND_MARKERS = 20_000
#: Aggregated demand layers are coarsened until they hold at most this many markers each.
AGGREGATED_MARKERS = 5_000
#: Smallest aggregation cell, metres; doubled until the marker count fits.
_MIN_CELL_M = 50.0
_WGS84 = "EPSG:4326"
_SYNTHETIC_BANNER = "SYNTHETIC DEMONSTRATION DATA \u2014 not a real place"
_AVAILABILITY = ("24/7", "limited hours", "unknown")
_AVAILABILITY_COLOUR = {"24/7": "#08519c", "limited hours": "#41b6c4", "unknown": "#807dba"}
_AVAILABILITY_LAYER = {
    "24/7": "Defibrillators: 24/7",
    "limited hours": "Defibrillators: limited hours",
    "unknown": "Defibrillators: availability unknown",
}
_BAND_RAMP = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b")
_OVER_COLOUR = "#fc8d59"
_NONE_COLOUR = "#b2182b"
_UNCOVERED_COLOUR = "#e7298a"
_STATION_STYLE = {
    "fire_stations": ("F", "#cb181d", "Fire station"),
    "police_stations": ("P", "#253494", "Police station"),
}
_RANK_COLOUR = "#ff7f00"
_CANDIDATE_COLOUR = "#969696"
_REACH_COLOURS = ("#3182bd", "#31a354", "#756bb1", "#e6550d")
_NOT_JS_SAFE = str.maketrans(
    {"`": "&#96;", "$": "&#36;", "\\": "&#92;", "{": "&#123;", "}": "&#125;"}
)
_BLOCK_CSS = (
    "position:fixed;z-index:1000;background:rgba(255,255,255,0.92);padding:6px 10px;"
    "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,0.4);font:12px/1.4 sans-serif;"
)


class _HtmlBlock(MacroElement):
    """A fixed block of page HTML (legend, title, footer); ``block`` must be escaped already."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.block }}{% endmacro %}")

    def __init__(self, block: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "DefibmapHtmlBlock"
        self.block = block


def _esc(value: object) -> str:
    """Escape ``value`` for HTML, JavaScript template literals and branca's Jinja re-parse."""
    return html.escape(str(value), quote=True).translate(_NOT_JS_SAFE)


def _text(value: object, fallback: str = "") -> str:
    """Escaped text of ``value``, or ``fallback`` (escaped) when it is missing."""
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    return _esc(fallback if missing or value is pd.NA else value)


def _column(frame: pd.DataFrame, name: str, default: object = None) -> pd.Series[Any]:
    """``frame[name]``, or a Series of ``default`` on the same index when the column is absent."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index, dtype=object)


def _to_wgs84(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if frame.empty:  # an empty layer may come without CRS or even a geometry column
        return gpd.GeoDataFrame(index=frame.index, geometry=[], crs=_WGS84)
    if frame.crs is None:
        msg = f"{what}: the GeoDataFrame has no CRS; set it (e.g. EPSG:27700) before mapping"
        raise InputError(msg)
    return frame.to_crs(_WGS84)


def _xy(frame: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    geom = frame.geometry
    if len(geom) and not (geom.geom_type == "Point").all():
        geom = geom.representative_point()
    return np.asarray(geom.x, dtype=float), np.asarray(geom.y, dtype=float)


def _fmt_m(value: float) -> str:
    return f"{value:g}"


def _band_colours(n_thresholds: int) -> list[str]:
    """Green-to-yellow colours for the ``n`` threshold bands, then over-limit and none."""
    ramp = LinearColormap(list(_BAND_RAMP), vmin=0.0, vmax=1.0)
    steps = np.linspace(0.0, 1.0, n_thresholds) if n_thresholds > 1 else np.zeros(1)
    return [ramp.rgb_hex_str(float(s)) for s in steps] + [_OVER_COLOUR, _NONE_COLOUR]


def _walk_bands(walk_m: NDArray[np.float64], thresholds_m: NDArray[np.float64]) -> NDArray[np.intp]:
    """Band index per point: ``i`` if walk <= threshold i, ``n`` if over all, ``n + 1`` if NaN."""
    band = np.searchsorted(thresholds_m, walk_m, side="left")
    band[np.isnan(walk_m)] = len(thresholds_m) + 1
    return band


def _aggregate(points: pd.DataFrame, max_points: int) -> tuple[pd.DataFrame, float]:
    """Sum population per (grid cell, band) until at most ``max_points`` rows remain.

    ``points`` has columns x, y (metres), population, walk_m, band. Returns the aggregated
    frame (population-weighted x, y; population; walk_min_m; walk_max_m; band; n_points) and
    the cell size in metres. Grouping by band keeps the people in each band exact.
    """
    cell_m = _MIN_CELL_M
    weight = points["population"].clip(lower=0).to_numpy() + 1e-9
    work = points.assign(wx=points["x"] * weight, wy=points["y"] * weight, w=weight)
    while True:
        keys = [
            np.floor(work["x"].to_numpy() / cell_m),
            np.floor(work["y"].to_numpy() / cell_m),
            work["band"].to_numpy(),
        ]
        grouped = work.groupby(keys, sort=False).agg(
            wx=("wx", "sum"),
            wy=("wy", "sum"),
            w=("w", "sum"),
            population=("population", "sum"),
            walk_min_m=("walk_m", "min"),
            walk_max_m=("walk_m", "max"),
            band=("band", "first"),
            n_points=("band", "size"),
        )
        if len(grouped) <= max_points:
            break
        cell_m *= 2.0
    out = grouped.assign(x=grouped["wx"] / grouped["w"], y=grouped["wy"] / grouped["w"])
    return out.reset_index(drop=True), cell_m


def _demand_layer(
    frame: gpd.GeoDataFrame,
    *,
    layer_name: str,
    band_colours: Sequence[str],
    band_labels: Sequence[str],
    defib_names: Mapping[str, str],
    ring: bool,
    aggregated: bool,
) -> folium.FeatureGroup:
    """Draw ``frame`` (with a ``band`` column) as circle markers, grid-aggregated if asked."""
    group = folium.FeatureGroup(name=_esc(layer_name), show=not ring)
    if frame.empty:
        return group
    if aggregated and not frame.crs.is_projected:
        frame = frame.to_crs(frame.estimate_utm_crs())  # the grid is in metres
    x, y = _xy(frame)
    population = frame["population"].to_numpy(dtype=float)
    walk_m = frame["walk_m"].to_numpy(dtype=float)
    points = pd.DataFrame(
        {"x": x, "y": y, "population": population, "walk_m": walk_m, "band": frame["band"]}
    )
    cell_m = 0.0
    if aggregated:
        points, cell_m = _aggregate(points, AGGREGATED_MARKERS)
        logger.info(
            "%s: %d points drawn as %d cells of %g m", layer_name, len(frame), len(points), cell_m
        )
    lonlat = gpd.GeoSeries(gpd.points_from_xy(points["x"], points["y"]), crs=frame.crs).to_crs(
        _WGS84
    )
    lon, lat = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    pop = points["population"].to_numpy(dtype=float)
    top = max(float(np.nanmax(pop)), 1.0)
    radius = 3.0 + 9.0 * np.sqrt(np.clip(pop, 0.0, None) / top)
    bands = points["band"].to_numpy()
    tips: list[str] = []  # rings carry no tooltip: the demand marker underneath has it
    if aggregated and not ring:
        lo, hi, n = (points[c].to_numpy() for c in ("walk_min_m", "walk_max_m", "n_points"))
        tips = [
            f"{int(n[i]):,} points on a {cell_m:g} m grid<br>Residents: {pop[i]:,.0f}<br>"
            + (
                f"Walk to nearest defib: {lo[i]:,.0f}\u2013{hi[i]:,.0f} m"
                if not np.isnan(lo[i])
                else "No defib within the search limit"
            )
            for i in range(len(points))
        ]
    elif not ring:
        names = _column(frame, "name").to_numpy(dtype=object)
        nearest = _column(frame, "nearest_defib_id").to_numpy(dtype=object)
        ids = frame.index.to_numpy(dtype=object)
        for i in range(len(points)):
            head = _text(names[i], str(ids[i]))
            walk = (
                f"{walk_m[i]:,.0f} m ({band_labels[bands[i]]})"
                if not np.isnan(walk_m[i])
                else "no defib within the search limit"
            )
            near = "\u2014"
            if _text(nearest[i]):
                key = str(nearest[i])
                near = _esc(defib_names.get(key, key))
            tips.append(
                f"<b>{head}</b> ({_esc(ids[i])})<br>Residents: {pop[i]:,.0f}<br>"
                f"Walk to nearest defib: {walk}<br>Nearest defib: {near}"
            )
    # Rounding keeps the page small: 6 decimal places of a degree is ~0.1 m.
    lat, lon, radius = np.round(lat, 6), np.round(lon, 6), np.round(radius, 1)
    for i in range(len(points)):
        if ring:
            # Rings sit on top of the demand markers; non-interactive so hovers reach those.
            folium.CircleMarker(
                location=(float(lat[i]), float(lon[i])),
                radius=float(radius[i]) + 2.0,
                color=_UNCOVERED_COLOUR,
                weight=2,
                fill=False,
                interactive=False,
            ).add_to(group)
            continue
        folium.CircleMarker(
            location=(float(lat[i]), float(lon[i])),
            radius=float(radius[i]),
            color=band_colours[bands[i]],
            weight=1,
            fill=True,
            fill_color=band_colours[bands[i]],
            fill_opacity=0.75,
            tooltip=folium.Tooltip(tips[i]),
        ).add_to(group)
    return group


def _badge(
    label: str, colour: str, *, round_: bool, border: str = "2px solid #fff"
) -> folium.DivIcon:
    shape = "50%" if round_ else "3px"
    return folium.DivIcon(
        html=(
            '<div style="box-sizing:border-box;width:26px;height:26px;display:flex;'
            "align-items:center;justify-content:center;font:bold 12px/1 sans-serif;"
            f"background:{colour};color:#fff;border-radius:{shape};border:{border};"
            f'box-shadow:0 0 3px #000;">{label}</div>'
        ),
        icon_size=(26, 26),
        icon_anchor=(13, 13),
        class_name="defibmap-badge",
    )


def _swatch(colour: str, label: str, *, round_: bool = True, outline: bool = False) -> str:
    fill = "transparent" if outline else colour
    shape = "50%" if round_ else "2px"
    return (
        '<div><span style="display:inline-block;width:12px;height:12px;margin-right:6px;'
        f"vertical-align:middle;background:{fill};border:2px solid {colour};"
        f'border-radius:{shape};">'
        f"</span>{label}</div>"
    )


def study_map(
    *,
    title: str,
    demand: gpd.GeoDataFrame,
    defibs: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    recommendations: pd.DataFrame,
    thresholds_m: Sequence[float],
    sources: Sequence[Mapping[str, str]],
    synthetic: bool = False,
    reach_areas: Mapping[str, gpd.GeoDataFrame] | None = None,
    wards: gpd.GeoDataFrame | None = None,
    max_demand_markers: int = MAX_DEMAND_MARKERS,
) -> folium.Map:
    """Build the interactive study map.

    Parameters
    ----------
    title : str
        Study title, shown in a block at the top and as the page title.
    demand : geopandas.GeoDataFrame
        Demand points indexed by ``demand_id``: ``population`` (people), ``walk_m`` (metres to
        the nearest defib; NaN when none is within the search limit), ``covered`` (bool at the
        largest threshold; derived from ``walk_m`` if absent), optional ``nearest_defib_id`` and
        ``name``. Any CRS, set on the frame; projected (metres) for the aggregation grid.
    defibs : geopandas.GeoDataFrame
        Sites counted as defibs, indexed by ``site_id``: ``name``, ``layer``, optional
        ``availability`` (``"24/7"``, ``"limited hours"``, else unknown) and ``opening_hours``.
    stations : geopandas.GeoDataFrame
        Fire and police stations: ``name``, ``layer`` (``"fire_stations"`` or
        ``"police_stations"``), ``outside_defib`` (bool). May be empty.
    candidates : geopandas.GeoDataFrame
        Every candidate council building, indexed by ``site_id``: ``name``, optional ``kind``.
    recommendations : pandas.DataFrame
        Ranked picks: ``rank``, ``site_id``, ``name``, ``added_population`` (people),
        ``cumulative_population_covered`` (people), ``cumulative_coverage_share`` (0-1),
        ``method``. Every ``site_id`` must be in ``candidates``.
    thresholds_m : sequence of float
        Walking thresholds in metres; the largest is the headline.
    sources : sequence of mapping
        Data sources, each with ``layer``, ``name``, ``licence`` and ``date``, for the footer.
    synthetic : bool, default False
        Mark the map as synthetic demonstration data (title and a banner).
    reach_areas : mapping of str to geopandas.GeoDataFrame, optional
        Polygons per label (e.g. ``"Within 500 m walk of current defibs"``), drawn filled.
    wards : geopandas.GeoDataFrame, optional
        Ward polygons with a ``name`` column, drawn as outlines.
    max_demand_markers : int, default MAX_DEMAND_MARKERS
        With more demand points than this, both demand layers are summed onto a square grid
        (per walking band) of at most :data:`AGGREGATED_MARKERS` markers each. Each marker costs
        about 0.5 ms and 0.6 kB of HTML.

    Returns
    -------
    folium.Map
        The map, in EPSG:4326, fitted to the demand and sites; no awesome-markers assets.

    Raises
    ------
    InputError
        When a frame has no CRS, a required column is missing, ``thresholds_m`` is empty or
        not positive, or a recommended ``site_id`` is not among the candidates.
    """
    thresholds = np.unique(np.asarray(list(thresholds_m), dtype=float))
    if thresholds.size == 0 or not (thresholds > 0).all():
        msg = (
            f"thresholds_m: expected one or more positive distances in metres, got {thresholds_m!r}"
        )
        raise InputError(msg)
    headline_m = float(thresholds[-1])
    for column in ("population", "walk_m"):
        if column not in demand.columns:
            msg = f"demand: column {column!r} is missing (columns: {list(demand.columns)})"
            raise InputError(msg)
    if not demand.empty and demand.crs is None:
        msg = "demand: the GeoDataFrame has no CRS; set it (e.g. EPSG:27700) before mapping"
        raise InputError(msg)
    missing = set(recommendations["site_id"].astype(str)) - set(candidates.index.astype(str))
    if missing:
        msg = f"recommendations: site_id(s) {sorted(missing)} are not in the candidates frame"
        raise InputError(msg)

    shown_title = title
    if synthetic and "synthetic" not in title.lower():
        shown_title = f"{title} (synthetic demonstration data)"
    m = folium.Map(tiles="OpenStreetMap", control_scale=True, prefer_canvas=True)
    # Drop awesome-markers and glyphicons (instance lists; the class defaults stay untouched).
    m.default_js = [(n, u) for n, u in m.default_js if "awesome" not in n + u]
    m.default_css = [
        (n, u) for n, u in m.default_css if "awesome" not in n + u and "glyphicons" not in n + u
    ]
    cast("Figure", m.get_root()).title = _esc(shown_title)

    band_colours = _band_colours(len(thresholds))
    band_labels = [f"within {_fmt_m(t)} m" for t in thresholds] + [
        f"over {_fmt_m(headline_m)} m",
        "no defib within search limit",
    ]
    defibs84 = _to_wgs84(defibs, "defibs")
    stations84 = _to_wgs84(stations, "stations")
    candidates84 = _to_wgs84(candidates, "candidates")

    walk = demand["walk_m"].to_numpy(dtype=float)
    covered = (
        demand["covered"].fillna(value=False).to_numpy(dtype=bool)
        if "covered" in demand.columns
        else np.nan_to_num(walk, nan=np.inf) <= headline_m
    )
    with_band = demand.assign(band=_walk_bands(walk, thresholds))
    layer_kw: dict[str, Any] = {
        "band_colours": band_colours,
        "band_labels": band_labels,
        "defib_names": {str(k): str(v) for k, v in _column(defibs, "name").dropna().items()},
        # Decided once for the whole demand so both demand layers read the same way.
        "aggregated": len(demand) > max_demand_markers,
    }
    _demand_layer(
        with_band, layer_name="Residents by walk to nearest defib", ring=False, **layer_kw
    ).add_to(m)
    uncovered_name = f"Residents not within {_fmt_m(headline_m)} m walk"
    _demand_layer(with_band[~covered], layer_name=uncovered_name, ring=True, **layer_kw).add_to(m)
    for group in (
        *_polygon_layers(reach_areas or {}, wards),
        *_defib_layers(defibs84),
        *_station_layers(stations84),
        *_candidate_layers(candidates84, recommendations, headline_m=headline_m),
    ):
        group.add_to(m)

    frames = [_to_wgs84(demand, "demand"), defibs84, stations84, candidates84]
    bounds = np.vstack([f.total_bounds for f in frames if not f.empty] or [[-6, 50, 2, 58]])
    west, south = bounds[:, 0].min(), bounds[:, 1].min()
    east, north = bounds[:, 2].max(), bounds[:, 3].max()
    m.fit_bounds([[float(south), float(west)], [float(north), float(east)]], max_zoom=17)

    legend_bands = zip(band_colours, band_labels, strict=True)
    legend = [
        "<b>Walk to nearest defib</b>",
        *(_swatch(colour, _esc(label)) for colour, label in legend_bands),
        "<i>circle size: residents</i>",
        _swatch(_UNCOVERED_COLOUR, f"not within {_fmt_m(headline_m)} m (ring)", outline=True),
        "<b>Defibrillators</b>",
        *(_swatch(_AVAILABILITY_COLOUR[a], _esc(a)) for a in _AVAILABILITY),
        "<b>Sites</b>",
        *(
            _swatch(colour, f"{kind} ({letter})", round_=False)
            for letter, colour, kind in _STATION_STYLE.values()
        ),
        _swatch(
            "#ffd700", "gold edge: station carries an outside defib", round_=False, outline=True
        ),
        _swatch(_RANK_COLOUR, "recommended site (rank number)"),
        _swatch(_CANDIDATE_COLOUR, "other candidate building"),
        *(
            _swatch(_REACH_COLOURS[i % len(_REACH_COLOURS)], _esc(label), round_=False)
            for i, label in enumerate(reach_areas or {})
        ),
    ]
    banner = (
        '<div class="defibmap-synthetic" style="background:#b2182b;color:#fff;font-weight:bold;'
        f'padding:2px 6px;margin-bottom:4px;">{_esc(_SYNTHETIC_BANNER)}</div>'
        if synthetic
        else ""
    )
    data_credits = "; ".join(
        f"{_text(s.get('layer'))}: {_text(s.get('name'))} ({_text(s.get('licence'))}, "
        f"{_text(s.get('date'))})"
        for s in sources
    )
    legend_html = (
        f'<div class="defibmap-legend" style="{_BLOCK_CSS}bottom:30px;right:10px;">'
        f"{''.join(legend)}</div>"
    )
    title_html = (
        f'<div class="defibmap-title" style="{_BLOCK_CSS}top:10px;left:60px;max-width:50%;">'
        f'{banner}<div style="font-size:15px;font-weight:bold;">{_esc(shown_title)}</div></div>'
    )
    sources_html = (
        f'<div class="defibmap-sources" style="{_BLOCK_CSS}bottom:50px;left:10px;'
        f'max-width:45%;font-size:11px;">Data: {data_credits or "none listed"}</div>'
    )
    for block in (legend_html, title_html, sources_html):
        m.add_child(_HtmlBlock(block))
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _polygon_layers(
    reach_areas: Mapping[str, gpd.GeoDataFrame], wards: gpd.GeoDataFrame | None
) -> list[folium.FeatureGroup]:
    """Build filled reach-area layers and a ward-outline layer (geometry only, no properties)."""
    groups = []
    for i, (label, area) in enumerate(reach_areas.items()):
        colour = _REACH_COLOURS[i % len(_REACH_COLOURS)]
        shapes = gpd.GeoDataFrame(geometry=_to_wgs84(area, label).geometry.reset_index(drop=True))
        group = folium.FeatureGroup(name=_esc(label))
        if not shapes.empty:
            style = {"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.15}
            folium.GeoJson(shapes, style_function=lambda _f, s=style: s).add_to(group)
        groups.append(group)
    if wards is not None and not wards.empty:
        wards84 = _to_wgs84(wards, "wards")
        names = [_text(v, "ward") for v in _column(wards84, "name")]
        shapes = gpd.GeoDataFrame({"name": names}, geometry=wards84.geometry.to_numpy(), crs=_WGS84)
        group = folium.FeatureGroup(name="Wards")
        style = {"color": "#444", "weight": 1.5, "fill": False, "dashArray": "4 3"}
        folium.GeoJson(
            shapes,
            style_function=lambda _f: style,
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(group)
        groups.append(group)
    return groups


def _defib_layers(defibs84: gpd.GeoDataFrame) -> list[folium.FeatureGroup]:
    """Build one layer per availability class, so "24/7 only" is one click (the night view)."""
    availability = _column(defibs84, "availability", "unknown").astype(str).str.strip().str.lower()
    availability = availability.where(availability.isin(_AVAILABILITY), "unknown")
    groups = {a: folium.FeatureGroup(name=_AVAILABILITY_LAYER[a]) for a in _AVAILABILITY}
    lon, lat = _xy(defibs84)
    names, layers = _column(defibs84, "name"), _column(defibs84, "layer")
    hours = _column(defibs84, "opening_hours")
    for i, site_id in enumerate(defibs84.index):
        avail = str(availability.iloc[i])
        name = _text(names.iloc[i], str(site_id))
        popup = (
            f"<b>{name}</b><br>Defibrillator ({_esc(site_id)})<br>Layer: {_text(layers.iloc[i])}"
            f"<br>Availability: {_esc(avail)}"
        )
        if _text(hours.iloc[i]):
            popup += f"<br>Opening hours: {_text(hours.iloc[i])}"
        folium.CircleMarker(
            location=(float(lat[i]), float(lon[i])),
            radius=6,
            color="#fff",
            weight=2,
            fill=True,
            fill_color=_AVAILABILITY_COLOUR[avail],
            fill_opacity=1.0,
            tooltip=folium.Tooltip(f"{name} ({_esc(avail)})"),
            popup=folium.Popup(popup, max_width=300),
        ).add_to(groups[avail])
    return list(groups.values())


def _station_layers(stations84: gpd.GeoDataFrame) -> list[folium.FeatureGroup]:
    """Draw fire and police stations as lettered badges; a gold edge marks an outside defib."""
    groups = {k: folium.FeatureGroup(name=f"{v[2]}s") for k, v in _STATION_STYLE.items()}
    lon, lat = _xy(stations84)
    outside = _column(stations84, "outside_defib", default=False).fillna(value=False)
    names, layers = _column(stations84, "name"), _column(stations84, "layer")
    for i, site_id in enumerate(stations84.index):
        layer = str(layers.iloc[i])
        if layer not in _STATION_STYLE:
            logger.warning("station %s has layer %r; not drawn", site_id, layer)
            continue
        letter, colour, kind = _STATION_STYLE[layer]
        has_defib = bool(outside.iloc[i])
        name = _text(names.iloc[i], str(site_id))
        says = "carries" if has_defib else "does not carry"
        border = "3px solid #ffd700" if has_defib else "2px solid #fff"
        folium.Marker(
            location=(float(lat[i]), float(lon[i])),
            icon=_badge(letter, colour, round_=False, border=border),
            tooltip=folium.Tooltip(f"{kind}: {name}"),
            popup=folium.Popup(
                f"<b>{name}</b><br>{kind} ({_esc(site_id)})<br>"
                f"In this study it {says} an outside 24/7 defib.",
                max_width=300,
            ),
        ).add_to(groups[layer])
    return list(groups.values())


def _candidate_layers(
    candidates84: gpd.GeoDataFrame, recommendations: pd.DataFrame, *, headline_m: float
) -> list[folium.FeatureGroup]:
    """Draw ranked picks as numbered badges and the other candidates as small grey circles."""
    ranked = folium.FeatureGroup(name="Recommended new defib sites (ranked)")
    others = folium.FeatureGroup(name="Other candidate council buildings", show=False)
    lon, lat = _xy(candidates84)
    position = {str(k): i for i, k in enumerate(candidates84.index)}
    names, kinds = _column(candidates84, "name"), _column(candidates84, "kind")
    recs = recommendations.sort_values("rank")
    rec_names, methods = _column(recs, "name"), _column(recs, "method")
    ranks = recs["rank"].to_numpy(dtype=int)
    added = recs["added_population"].to_numpy(dtype=float)
    cumulative = recs["cumulative_population_covered"].to_numpy(dtype=float)
    shares = recs["cumulative_coverage_share"].to_numpy(dtype=float) * 100.0
    for j, site_id in enumerate(recs["site_id"].astype(str)):
        i = position[site_id]
        rank = _esc(int(ranks[j]))
        name = _text(rec_names.iloc[j], _text(names.iloc[i], site_id))
        kind = _text(kinds.iloc[i])
        popup = (
            f"<b>#{rank} {name}</b>{f' ({kind})' if kind else ''}<br>Rank: {rank}<br>"
            f"People newly within {_fmt_m(headline_m)} m walk: {added[j]:,.0f}<br>"
            f"Cumulative people covered: {cumulative[j]:,.0f}<br>"
            f"Cumulative coverage share: {shares[j]:.1f}%<br>"
            f"Method: {_text(methods.iloc[j])}<br><i>New 24/7 outside cabinet assumed.</i>"
        )
        folium.Marker(
            location=(float(lat[i]), float(lon[i])),
            icon=_badge(rank, _RANK_COLOUR, round_=True),
            tooltip=folium.Tooltip(f"#{rank} {name}"),
            popup=folium.Popup(popup, max_width=320),
        ).add_to(ranked)
    picked = set(recs["site_id"].astype(str))
    for i, site_id in enumerate(candidates84.index):
        if str(site_id) in picked:
            continue
        name, kind = _text(names.iloc[i], str(site_id)), _text(kinds.iloc[i])
        folium.CircleMarker(
            location=(float(lat[i]), float(lon[i])),
            radius=4,
            color=_CANDIDATE_COLOUR,
            weight=1,
            fill=True,
            fill_opacity=0.8,
            tooltip=folium.Tooltip(f"{name}{f' ({kind})' if kind else ''}: not recommended"),
        ).add_to(others)
    return [ranked, others]


def write_map(m: folium.Map, path: Path) -> None:
    """Save ``m`` as HTML at ``path``, atomically.

    The page is written to a temporary file in the same folder and moved over ``path`` with
    :func:`os.replace`, so a reader never sees a half-written map.

    Parameters
    ----------
    m : folium.Map
        The map from :func:`study_map`.
    path : pathlib.Path
        Destination HTML file; its folder must exist.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        m.save(str(tmp))
        # mkstemp makes the file private (0600); keep the old file's mode, or a readable 0644.
        tmp.chmod(path.stat().st_mode & 0o777 if path.exists() else 0o644)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("wrote map to %s", path)
