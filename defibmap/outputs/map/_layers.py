"""Layers of the study map: demand, defibs, stations, candidates, reach areas, wards, streets.

Private to :mod:`defibmap.outputs.map.render`. Each builder takes frames already in EPSG:4326 (or
projected,
for the demand grid) and returns folium feature groups; every input string is escaped with
:func:`defibmap.outputs._html.esc` before it reaches the page.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from defibmap import layers as layer_kinds
from defibmap._errors import InputError
from defibmap.outputs._html import esc, text

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import NDArray

    from defibmap.layers import MapStyle

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
AVAILABILITY = ("24/7", "limited hours", "unknown")
AVAILABILITY_COLOUR = {"24/7": "#08519c", "limited hours": "#41b6c4", "unknown": "#807dba"}
#: Recommended sites and other candidates: Okabe & Ito's blue (used for nothing else).
RANK_COLOUR = "#0072b2"
CANDIDATE_COLOUR = "#0072b2"
CANDIDATE_PX = 14
#: Reach areas, drawn lightly filled: Tol's muted scheme (colour-blind safe), apart from the
#: resident and site colours.
REACH_COLOURS = ("#88ccee", "#332288", "#117733", "#999933")


def station_styles() -> dict[str, MapStyle]:
    """Return the map style of each station layer, in registry order (:mod:`defibmap.layers`)."""
    return {
        k.name: k.map_style
        for k in layer_kinds.by_role(layer_kinds.Role.STATION)
        if k.map_style is not None
    }


def column(frame: pd.DataFrame, name: str, default: object = None) -> pd.Series[Any]:
    """``frame[name]``, or a Series of ``default`` on the same index when the column is absent."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index, dtype=object)


def to_wgs84(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if frame.empty:  # an empty layer may come without CRS or even a geometry column
        return gpd.GeoDataFrame(index=frame.index, geometry=[], crs=WGS84)
    if frame.crs is None:
        msg = f"{what}: the GeoDataFrame has no CRS; set it (e.g. EPSG:27700) before mapping"
        raise InputError(msg)
    return frame.to_crs(WGS84)


def xy(frame: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    geom = frame.geometry
    if len(geom) and not (geom.geom_type == "Point").all():
        geom = geom.representative_point()
    return np.asarray(geom.x, dtype=float), np.asarray(geom.y, dtype=float)


def fmt_m(value: float) -> str:
    return f"{value:g}"


def badge(
    label: str, colour: str, *, round_: bool, border: str = "2px solid #fff", extra: str = ""
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
        class_name="defibmap-badge" + extra,
    )


def rounded(geometry: gpd.GeoSeries, decimals: int) -> gpd.GeoSeries:
    """Round coordinates (degrees) to ``decimals`` places: 5 is about 1 m, 6 about 0.1 m.

    Keeps the page small; the JSON of an unrounded coordinate is twice as long.
    """
    values = shapely.transform(np.asarray(geometry.values), lambda c: np.round(c, decimals))
    return gpd.GeoSeries(values, index=geometry.index, crs=geometry.crs)


def polygon_layers(
    reach_areas: Mapping[str, gpd.GeoDataFrame], wards: gpd.GeoDataFrame | None
) -> tuple[dict[str, folium.FeatureGroup], list[folium.FeatureGroup]]:
    """Build filled reach-area layers (the first one shown) and a ward-outline layer.

    Returns the reach layers by label and the ward layer (an empty list without wards). Only
    geometry goes to the page, so nothing from the input frames' other columns leaks out.
    """
    reach: dict[str, folium.FeatureGroup] = {}
    for i, (label, area) in enumerate(reach_areas.items()):
        colour = REACH_COLOURS[i % len(REACH_COLOURS)]
        area84 = to_wgs84(area, label)
        geoms = np.asarray(area84.geometry.values)
        area84 = area84[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        group = folium.FeatureGroup(name=esc(label), show=i == 0)
        if not area84.empty:
            shapes = gpd.GeoDataFrame(geometry=rounded(area84.geometry, 6).reset_index(drop=True))
            style = {"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.15}
            folium.GeoJson(shapes, style_function=lambda _f, s=style: s, interactive=False).add_to(
                group
            )
        reach[label] = group
    ward_groups = []
    if wards is not None and not wards.empty:
        wards84 = to_wgs84(wards, "wards")
        names = [text(v, "ward") for v in column(wards84, "name")]
        shapes = gpd.GeoDataFrame(
            {"name": names}, geometry=rounded(wards84.geometry, 5).to_numpy(), crs=WGS84
        )
        group = folium.FeatureGroup(name="Wards")
        style = {"color": "#444", "weight": 1.5, "fill": False, "dashArray": "4 3"}
        folium.GeoJson(
            shapes,
            style_function=lambda _f: style,
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(group)
        ward_groups.append(group)
    return reach, ward_groups


def network_layer(lines: gpd.GeoSeries) -> folium.FeatureGroup:
    """Draw the walking network as thin grey lines: street context when tiles cannot load.

    ``lines`` are edge geometries in a projected CRS (metres); they are simplified by 1 m and
    drawn as one non-interactive feature.
    """
    group = folium.FeatureGroup(name="Walking network (paths and streets)")
    if lines.empty:
        return group
    if lines.crs is None:
        msg = "network lines: the GeoSeries has no CRS; set it before mapping"
        raise InputError(msg)
    merged = shapely.multilinestrings(shapely.simplify(np.asarray(lines.values), 1.0))
    line84 = rounded(gpd.GeoSeries([merged], crs=lines.crs).to_crs(WGS84), 5)
    style = {"color": "#636363", "weight": 1, "opacity": 0.55}
    folium.GeoJson(
        gpd.GeoDataFrame(geometry=line84), style_function=lambda _f: style, interactive=False
    ).add_to(group)
    return group


def night_usable(availability: pd.Series[Any], *, unknown_usable: bool) -> NDArray[np.bool_]:
    """Return True where a defib is usable at night: 24/7, or unknown hours if assumed usable."""
    label = availability.to_numpy(dtype=str)
    return np.asarray((label == "24/7") | ((label == "unknown") & unknown_usable), dtype=bool)


#: Defib symbols by availability: the glyph, fill and text colour. Told apart by the glyph
#: as well as the colour, so they read in grey print and with any colour vision.
DEFIB_SYMBOL = {
    "24/7": ("24", "#000000", "#ffffff"),
    "limited hours": ("h", "#ffffff", "#000000"),
    "unknown": ("?", "#8c8c8c", "#ffffff"),
}
DEFIB_PX = 22


def symbol_html(glyph: str, fill: str, ink: str, *, px: int, round_: bool = False) -> str:
    """Return a map symbol's HTML: a square (or disc) with a glyph; the legend draws it too."""
    shape = "50%" if round_ else "4px"
    edge = "#000" if fill.lower() in {"#ffffff", "#fff"} else "#fff"
    return (
        f'<div class="defibmap-sym" style="width:{px}px;height:{px}px;background:{fill};'
        f'color:{ink};border:2px solid {edge};border-radius:{shape};">{glyph}</div>'
    )


def site_class(index: Mapping[str, int], site_id: object) -> str:
    """Return the CSS class the planner styles a site's marker by (empty without an index)."""
    i = index.get(str(site_id))
    return f" defibmap-s{i}" if i is not None else ""


def icon(html: str, px: int, class_name: str) -> folium.DivIcon:
    return folium.DivIcon(
        html=html, icon_size=(px, px), icon_anchor=(px // 2, px // 2), class_name=class_name
    )


def availability_of(defibs84: gpd.GeoDataFrame) -> pd.Series[Any]:
    """Each defib's availability label, one of :data:`AVAILABILITY`."""
    availability = column(defibs84, "availability", "unknown").astype(str).str.strip().str.lower()
    return availability.where(availability.isin(AVAILABILITY), "unknown")


def defib_layer(
    defibs84: gpd.GeoDataFrame, *, unknown_usable: bool, index: Mapping[str, int]
) -> folium.FeatureGroup:
    """Draw today's defibs as marker icons, a symbol per availability.

    The page script fades the defibs not usable in the chosen period, or taken away in the
    plan (by the ``defibmap-s<i>`` class of each icon).
    """
    availability = availability_of(defibs84)
    at_night = night_usable(availability, unknown_usable=unknown_usable)
    group = folium.FeatureGroup(name="Defibrillators")
    lon, lat = xy(defibs84)
    names, layers = column(defibs84, "name"), column(defibs84, "layer")
    hours = column(defibs84, "opening_hours")
    for i, site_id in enumerate(defibs84.index):
        avail = str(availability.iloc[i])
        name = text(names.iloc[i], str(site_id))
        popup = (
            f"<b>{name}</b><br>Defibrillator ({esc(site_id)})<br>Layer: {text(layers.iloc[i])}"
            f"<br>Availability: {esc(avail)}"
            f"<br>Usable at night: {'yes' if at_night[i] else 'no'}"
        )
        if text(hours.iloc[i]):
            popup += f"<br>Opening hours: {text(hours.iloc[i])}"
        glyph, fill, ink = DEFIB_SYMBOL[avail]
        folium.Marker(
            location=(float(lat[i]), float(lon[i])),
            icon=icon(
                symbol_html(glyph, fill, ink, px=DEFIB_PX),
                DEFIB_PX,
                "defibmap-icon defibmap-defib" + site_class(index, site_id),
            ),
            tooltip=folium.Tooltip(f"Defibrillator: {name} ({esc(avail)})"),
            popup=folium.Popup(popup, max_width=300),
        ).add_to(group)
    return group


def station_layers(
    stations84: gpd.GeoDataFrame, index: Mapping[str, int] | None = None
) -> list[folium.FeatureGroup]:
    """Draw stations as lettered badges; a gold edge marks an outside defib.

    Each station kind of :mod:`defibmap.layers` with a map style (fire and police stations)
    is one layer of the map; a station of another layer is logged and not drawn.
    """
    styles = station_styles()
    present = set(column(stations84, "layer").astype(str))
    # a layer only for the station kinds the study has: no empty entries in list or legend
    groups = {k: folium.FeatureGroup(name=f"{v.label}s") for k, v in styles.items() if k in present}
    lon, lat = xy(stations84)
    outside = column(stations84, "outside_defib", default=False).fillna(value=False)
    names, layers = column(stations84, "name"), column(stations84, "layer")
    for i, site_id in enumerate(stations84.index):
        layer = str(layers.iloc[i])
        if layer not in styles:
            logger.warning("station %s has layer %r; not drawn", site_id, layer)
            continue
        letter, colour, kind = styles[layer].letter, styles[layer].colour, styles[layer].label
        has_defib = bool(outside.iloc[i])
        name = text(names.iloc[i], str(site_id))
        says = "carries" if has_defib else "does not carry"
        border = "3px solid #ffd700" if has_defib else "2px solid #fff"
        folium.Marker(
            location=(float(lat[i]), float(lon[i])),
            icon=badge(
                letter,
                colour,
                round_=False,
                border=border,
                extra=" defibmap-station" + site_class(index or {}, site_id),
            ),
            tooltip=folium.Tooltip(f"{kind}: {name}"),
            popup=folium.Popup(
                f"<b>{name}</b><br>{kind} ({esc(site_id)})<br>"
                f"In this study it {says} an outside 24/7 defib.",
                max_width=300,
            ),
        ).add_to(groups[layer])
    return list(groups.values())


def candidate_layers(
    candidates84: gpd.GeoDataFrame,
    recommendations: pd.DataFrame,
    *,
    headline_m: float,
    index: Mapping[str, int] | None = None,
) -> list[folium.FeatureGroup]:
    """Draw ranked picks as numbered badges and the other candidates as small grey circles."""
    ranked = folium.FeatureGroup(name="Recommended new defib sites (ranked)")
    others = folium.FeatureGroup(name="Other candidate council buildings")
    lon, lat = xy(candidates84)
    position = {str(k): i for i, k in enumerate(candidates84.index)}
    names, kinds = column(candidates84, "name"), column(candidates84, "kind")
    recs = recommendations.sort_values("rank")
    rec_names, methods = column(recs, "name"), column(recs, "method")
    ranks = recs["rank"].to_numpy(dtype=int)
    added = recs["added_population"].to_numpy(dtype=float)
    cumulative = recs["cumulative_population_covered"].to_numpy(dtype=float)
    shares = recs["cumulative_coverage_share"].to_numpy(dtype=float) * 100.0
    options = recs.get("option", pd.Series("new cabinet", index=recs.index)).astype(str)
    year_round = (
        recs["added_people_available"].to_numpy(dtype=float)
        if "added_people_available" in recs.columns
        else np.full(len(recs), np.nan)
    )
    for j, site_id in enumerate(recs["site_id"].astype(str)):
        i = position[site_id]
        rank = esc(int(ranks[j]))
        name = text(rec_names.iloc[j], text(names.iloc[i], site_id))
        kind = text(kinds.iloc[i])
        option = options.iloc[j]
        what = (
            "Move this defib to an outside 24/7 cabinet."
            if option == "upgrade to outside 24/7"
            else "New 24/7 outside cabinet assumed."
        )
        year = (
            f"Year-round gain (people x share of the year): {year_round[j]:,.0f}<br>"
            if np.isfinite(year_round[j])
            else ""
        )
        popup = (
            f"<b>#{rank} {name}</b>{f' ({kind})' if kind else ''}<br>Rank: {rank}<br>"
            f"{year}"
            f"People newly within {fmt_m(headline_m)} m walk (any time): {added[j]:,.0f}<br>"
            f"Cumulative people covered (any time): {cumulative[j]:,.0f}<br>"
            f"Cumulative coverage share (any time): {shares[j]:.1f}%<br>"
            f"Method: {text(methods.iloc[j])}<br><i>{esc(what)}</i>"
        )
        folium.Marker(
            location=(float(lat[i]), float(lon[i])),
            icon=badge(rank, RANK_COLOUR, round_=True, extra=site_class(index or {}, site_id)),
            tooltip=folium.Tooltip(f"#{rank} {name}"),
            popup=folium.Popup(popup, max_width=320),
        ).add_to(ranked)
    picked = set(recs["site_id"].astype(str))
    for i, site_id in enumerate(candidates84.index):
        if str(site_id) in picked:
            continue
        name, kind = text(names.iloc[i], str(site_id)), text(kinds.iloc[i])
        folium.Marker(
            location=(float(lat[i]), float(lon[i])),
            icon=icon(
                symbol_html("", "#ffffff", CANDIDATE_COLOUR, px=CANDIDATE_PX).replace(
                    "border:2px solid #000", f"border:3px solid {CANDIDATE_COLOUR}"
                ),
                CANDIDATE_PX,
                "defibmap-icon defibmap-candidate" + site_class(index or {}, site_id),
            ),
            tooltip=folium.Tooltip(f"{name}{f' ({kind})' if kind else ''}: not recommended"),
        ).add_to(others)
    return [ranked, others]
