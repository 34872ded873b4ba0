"""The projected CRS a study measures in: British National Grid in Great Britain, else UTM.

Distances in defibmap are metres in one projected CRS. Inside Great Britain's extent that is
British National Grid (EPSG:27700); elsewhere the UTM zone of the points' centre.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from defibmap._errors import ConfigError, NetworkError

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from pyproj import CRS

__all__ = ["MAX_SCALE_ERROR_SHARE", "check_projected", "check_scale", "projected_crs_for"]


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


#: Largest distance error a study CRS may have anywhere in the study area, as a share (1 %):
#: British National Grid stays within 0.08 % over Great Britain, a UTM zone within 0.1 %.
MAX_SCALE_ERROR_SHARE = 0.01


_ADVICE = (
    "use a conformal local CRS in metres (EPSG:27700 in Great Britain, else the local UTM "
    "zone), or leave crs out and defibmap chooses one"
)


def check_projected(crs: str, *, where: str = "[network] crs") -> CRS:
    """Return the CRS a study names, refused unless pyproj knows it, projected, in metres.

    Raises
    ------
    ConfigError
        Naming ``where`` (the study file and key), the CRS and what to use instead.
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_user_input(crs)
    except CRSError as exc:
        msg = f"{where} = {crs!r} is not a coordinate reference system pyproj knows; {_ADVICE}"
        raise ConfigError(msg) from exc
    if not parsed.is_projected:
        msg = f"{where} = {crs!r} is not projected (its units are degrees); {_ADVICE}"
        raise ConfigError(msg)
    units = {axis.unit_name for axis in parsed.axis_info}
    if not units <= {"metre", "meter"}:
        msg = f"{where} = {crs!r} measures in {', '.join(sorted(units))}, not metres; {_ADVICE}"
        raise ConfigError(msg)
    return parsed


def check_scale(
    crs: str,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    *,
    where: str = "[network] crs",
    max_error_share: float = MAX_SCALE_ERROR_SHARE,
) -> None:
    """Refuse a CRS whose metres are not ground metres over the study area.

    A CRS such as Web Mercator (EPSG:3857) is projected and in metres, but stretches
    distances by 1 / cos(latitude): about 1.69 times at Leeds, which would shrink every walk
    threshold by the same factor. The point scale factor (pyproj's ``Proj.get_factors``) is
    checked at the study's centre and at the corners of its extent.

    Parameters
    ----------
    crs
        The CRS as the study file gives it (``"EPSG:27700"``, a WKT or PROJ string).
    lon, lat
        WGS84 degrees of the study's points (any number; their extent is what matters).
    where
        The study-file key named in messages.
    max_error_share
        Largest accepted ``|scale - 1|``.

    Raises
    ------
    ConfigError
        When the CRS is unknown, not projected, not in metres, or its scale error anywhere in
        the study area is larger than ``max_error_share``.
    """
    from pyproj import Proj

    parsed = check_projected(crs, where=where)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return
    lon, lat = lon[ok], lat[ok]
    west, east, south, north = lon.min(), lon.max(), lat.min(), lat.max()
    probe_lon = np.array([(west + east) / 2, west, west, east, east])
    probe_lat = np.array([(south + north) / 2, south, north, south, north])
    factors = Proj(parsed).get_factors(probe_lon, probe_lat)
    scale = np.concatenate(
        [np.asarray(factors.meridional_scale), np.asarray(factors.parallel_scale)]
    )
    error = np.abs(scale - 1.0)
    if not np.all(np.isfinite(error)) or float(error.max()) > max_error_share:
        worst = float(scale[np.nanargmax(np.where(np.isfinite(error), error, np.inf))])
        msg = (
            f"{where} = {crs!r} does not keep distances true over the study area: its scale "
            f"factor is {worst:.3f} there, so every walk would be measured "
            f"{abs(worst - 1.0):.0%} {'too long' if worst > 1 else 'too short'}; {_ADVICE}"
        )
        raise ConfigError(msg)
