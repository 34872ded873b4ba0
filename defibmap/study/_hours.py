"""Opening hours as written in the input files, read before the analysis.

People write hours in many ways ("24 hours", "Mon-Fri 9am-5pm"); each layer's
``opening_hours`` column is read into OpenStreetMap syntax once, here
(:func:`defibmap.io.hours.normalise_hours`). A cell that cannot be read never stops the run:
the row is kept with its hours unknown (the study's ``unknown_hours`` choice decides whether
such a defib counts as usable) and listed in ``warnings.csv``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from defibmap.io.hours import normalise_hours

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd

    from defibmap.io.sites import LayerReport

#: The columns of ``warnings.csv``.
WARNING_COLUMNS = ("layer", "id", "file", "row", "column", "text", "warning")
#: What the warning says, with an example of what is read.
NOT_UNDERSTOOD = (
    "opening hours not understood, read as unknown; write e.g. 'Mo-Fr 09:00-17:00', "
    "'Mon-Fri 9am-5pm', '24/7' or 'school hours'"
)


def read_hours(
    layers: Mapping[str, gpd.GeoDataFrame],
    reports: Mapping[str, LayerReport],
    *,
    school_hours: str,
) -> tuple[dict[str, gpd.GeoDataFrame], pd.DataFrame]:
    """Read every layer's ``opening_hours`` into OpenStreetMap syntax.

    Parameters
    ----------
    layers
        The input layers as read, by section.
    reports
        Their input reports (for the file each row came from).
    school_hours
        The study's school hours, for cells that say "school hours".

    Returns
    -------
    tuple of (dict, pandas.DataFrame)
        The layers with ``opening_hours`` in OpenStreetMap syntax (empty where unknown; the
        frames given are not changed), and one ``warnings.csv`` row per cell not understood.
    """
    out = dict(layers)
    warnings: list[dict[str, object]] = []
    for name, gdf in layers.items():
        if "opening_hours" not in gdf.columns or gdf.empty:
            continue
        texts = gdf["opening_hours"].astype(object).where(gdf["opening_hours"].notna(), "")
        texts = texts.map(lambda v: str(v).strip())
        read = {t: (normalise_hours(t, school_hours=school_hours) if t else "") for t in set(texts)}
        osm = texts.map(read)
        lost = osm.isna()
        report = reports.get(name)
        rows = gdf["source_row"] if "source_row" in gdf.columns else pd.Series(0, index=gdf.index)
        for site_id in gdf.index[lost.to_numpy()]:
            file = report.origins.get(str(site_id), report.file) if report is not None else ""
            warnings.append(
                {
                    "layer": name,
                    "id": str(site_id),
                    "file": file,
                    "row": int(rows[site_id]) or None,
                    "column": "opening_hours",
                    "text": texts[site_id],
                    "warning": NOT_UNDERSTOOD,
                }
            )
        out[name] = gdf.assign(opening_hours=osm.fillna(""))
    frame = pd.DataFrame(warnings, columns=list(WARNING_COLUMNS)).astype({"row": "Int64"})
    return out, frame
