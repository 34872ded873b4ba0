"""The projected CRS a study measures in: British National Grid in Great Britain, else UTM.

Distances in defibmap are metres in one projected CRS. Inside Great Britain's extent that is
British National Grid (EPSG:27700); elsewhere the UTM zone of the points' centre.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from defibmap._errors import NetworkError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["projected_crs_for"]


def projected_crs_for(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> str:
    """Choose the projected CRS for points given in WGS84.

    British National Grid (EPSG:27700) when every point lies inside Great Britain's extent,
    otherwise the UTM zone of the points' centre (pyproj's UTM lookup).
    """
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    inside_gb = (lon >= -8.82) & (lon <= 1.92) & (lat >= 49.75) & (lat <= 60.9)
    if lon.size and bool(np.all(inside_gb)):
        return "EPSG:27700"
    if not lon.size:
        return "EPSG:27700"
    west, east = float(np.min(lon)), float(np.max(lon))
    south, north = float(np.min(lat)), float(np.max(lat))
    info = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(west, south, east, north),
    )
    if not info:
        msg = "no UTM zone covers the study area"
        raise NetworkError(msg)
    return f"{info[0].auth_name}:{info[0].code}"
