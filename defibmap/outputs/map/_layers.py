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
RANK_COLOUR = "#ff7f00"
CANDIDATE_COLOUR = "#969696"
REACH_COLOURS = ("#3182bd", "#31a354", "#756bb1", "#e6550d")


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


def defib_layers(
    defibs84: gpd.GeoDataFrame, *, unknown_usable: bool
) -> tuple[list[folium.FeatureGroup], tuple[folium.FeatureGroup, folium.FeatureGroup] | None]:
    """Draw defibs coloured by availability, in a day layer and a night layer when they differ.

    Returns the layers and, when some defib is not usable at night, the (day, night) pair for
    the day/night switch; the night layer holds only defibs usable at night and starts hidden.
    """
    availability = column(defibs84, "availability", "unknown").astype(str).str.strip().str.lower()
    availability = availability.where(availability.isin(AVAILABILITY), "unknown")
    at_night = night_usable(availability, unknown_usable=unknown_usable)
    split = not at_night.all()
    night_label = "24/7" + (" and unknown hours" if unknown_usable else "")
    day = folium.FeatureGroup(
        name="Defibrillators by day (every defib)" if split else "Defibrillators"
    )
    night = folium.FeatureGroup(name=f"Defibrillators at night ({night_label} only)", show=False)
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
        for group in (day, night) if split and at_night[i] else (day,):
            folium.CircleMarker(
                location=(float(lat[i]), float(lon[i])),
                radius=6,
                color="#fff",
                weight=2,
                fill=True,
                fill_color=AVAILABILITY_COLOUR[avail],
                fill_opacity=1.0,
                tooltip=folium.Tooltip(f"{name} ({esc(avail)})"),
                popup=folium.Popup(popup, max_width=300),
            ).add_to(group)
    if split:
        return [day, night], (day, night)
    return [day], None


def station_layers(stations84: gpd.GeoDataFrame) -> list[folium.FeatureGroup]:
    """Draw stations as lettered badges; a gold edge marks an outside defib.

    Each station kind of :mod:`defibmap.layers` with a map style (fire and police stations)
    is one layer of the map; a station of another layer is logged and not drawn.
    """
    styles = station_styles()
    groups = {k: folium.FeatureGroup(name=f"{v.label}s") for k, v in styles.items()}
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
            icon=badge(letter, colour, round_=False, border=border),
            tooltip=folium.Tooltip(f"{kind}: {name}"),
            popup=folium.Popup(
                f"<b>{name}</b><br>{kind} ({esc(site_id)})<br>"
                f"In this study it {says} an outside 24/7 defib.",
                max_width=300,
            ),
        ).add_to(groups[layer])
    return list(groups.values())


def candidate_layers(
    candidates84: gpd.GeoDataFrame, recommendations: pd.DataFrame, *, headline_m: float
) -> list[folium.FeatureGroup]:
    """Draw ranked picks as numbered badges and the other candidates as small grey circles."""
    ranked = folium.FeatureGroup(name="Recommended new defib sites (ranked)")
    others = folium.FeatureGroup(name="Other candidate council buildings", show=False)
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
            icon=badge(rank, RANK_COLOUR, round_=True),
            tooltip=folium.Tooltip(f"#{rank} {name}"),
            popup=folium.Popup(popup, max_width=320),
        ).add_to(ranked)
    picked = set(recs["site_id"].astype(str))
    for i, site_id in enumerate(candidates84.index):
        if str(site_id) in picked:
            continue
        name, kind = text(names.iloc[i], str(site_id)), text(kinds.iloc[i])
        folium.CircleMarker(
            location=(float(lat[i]), float(lon[i])),
            radius=4,
            color=CANDIDATE_COLOUR,
            weight=1,
            fill=True,
            fill_opacity=0.8,
            tooltip=folium.Tooltip(f"{name}{f' ({kind})' if kind else ''}: not recommended"),
        ).add_to(others)
    return [ranked, others]
