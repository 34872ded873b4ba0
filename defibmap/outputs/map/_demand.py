"""The demand layers of the study map: residents coloured by walk to the nearest defib.

Private to :mod:`defibmap.outputs.map.render`. Large demand layers are summed onto a square grid
per walking
band, so the page stays small and fast while the people in each band stay exact.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.colormap import LinearColormap

from defibmap.outputs._html import esc, text
from defibmap.outputs.map._layers import WGS84, column, xy

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

MAX_DEMAND_MARKERS = 20_000
#: Aggregated demand layers are coarsened until they hold at most this many markers each.
AGGREGATED_MARKERS = 5_000
#: Smallest aggregation cell, metres; doubled until the marker count fits.
_MIN_CELL_M = 50.0
BAND_RAMP = ("#00441b", "#238b45", "#66c2a4")  # ColorBrewer BuGn, dark = nearest
OVER_COLOUR = "#d55e00"
NONE_COLOUR = "#7f2704"
UNCOVERED_COLOUR = "#e7298a"


def band_colours(n_thresholds: int) -> list[str]:
    """Green-to-yellow colours for the ``n`` threshold bands, then over-limit and none."""
    ramp = LinearColormap(list(BAND_RAMP), vmin=0.0, vmax=1.0)
    steps = np.linspace(0.0, 1.0, n_thresholds) if n_thresholds > 1 else np.zeros(1)
    return [ramp.rgb_hex_str(float(s)) for s in steps] + [OVER_COLOUR, NONE_COLOUR]


def walk_bands(walk_m: NDArray[np.float64], thresholds_m: NDArray[np.float64]) -> NDArray[np.intp]:
    """Band index per point: ``i`` if walk <= threshold i, ``n`` if over all, ``n + 1`` if NaN."""
    band = np.searchsorted(thresholds_m, walk_m, side="left")
    band[np.isnan(walk_m)] = len(thresholds_m) + 1
    return band


def aggregate(points: pd.DataFrame, max_points: int) -> tuple[pd.DataFrame, float]:
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


def demand_layer(
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
    group = folium.FeatureGroup(name=esc(layer_name), show=not ring)
    if frame.empty:
        return group
    if aggregated and not frame.crs.is_projected:
        frame = frame.to_crs(frame.estimate_utm_crs())  # the grid is in metres
    x, y = xy(frame)
    population = frame["population"].to_numpy(dtype=float)
    walk_m = frame["walk_m"].to_numpy(dtype=float)
    points = pd.DataFrame(
        {"x": x, "y": y, "population": population, "walk_m": walk_m, "band": frame["band"]}
    )
    cell_m = 0.0
    if aggregated:
        points, cell_m = aggregate(points, AGGREGATED_MARKERS)
        logger.info(
            "%s: %d points drawn as %d cells of %g m", layer_name, len(frame), len(points), cell_m
        )
    lonlat = gpd.GeoSeries(gpd.points_from_xy(points["x"], points["y"]), crs=frame.crs).to_crs(
        WGS84
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
        names = column(frame, "name").to_numpy(dtype=object)
        nearest = column(frame, "nearest_defib_id").to_numpy(dtype=object)
        ids = frame.index.to_numpy(dtype=object)
        for i in range(len(points)):
            head = text(names[i], str(ids[i]))
            walk = (
                f"{walk_m[i]:,.0f} m ({band_labels[bands[i]]})"
                if not np.isnan(walk_m[i])
                else "no defib within the search limit"
            )
            near = "\u2014"
            if text(nearest[i]):
                key = str(nearest[i])
                near = esc(defib_names.get(key, key))
            tips.append(
                f"<b>{head}</b> ({esc(ids[i])})<br>Residents: {pop[i]:,.0f}<br>"
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
                color=UNCOVERED_COLOUR,
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
