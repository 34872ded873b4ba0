"""Finer demand: spread each area's residents over postcode points inside it.

A 1,500-person LSOA centroid is a crude stand-in for a 500 m question. Each area's population
is spread equally over the postcode unit centroids assigned to it (OS Code-Point Open 2014
carries no household counts, so equal shares are the stated assumption). A postcode is
assigned to its area by an area boundary file when one is given, otherwise to the nearest
population-weighted centroid among *all* areas (so postcodes of neighbouring areas outside
the study are not pulled in). Areas with no postcode keep their centroid. The total is
preserved exactly: finer points redistribute the population and never add to it.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

Assignment = Literal["nearest_centroid", "boundary"]


def spread_to_points(
    areas: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    method: Assignment = "nearest_centroid",
    all_centroids: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Spread area populations over finer points.

    Parameters
    ----------
    areas
        Study areas (index: area code) with ``population`` and point geometry (the
        population-weighted centroid) in a projected CRS; other columns (IMD decile, ward)
        are copied to their points.
    points
        Candidate finer points (index: e.g. postcode) in the same CRS.
    method
        ``"nearest_centroid"``: each point joins the nearest centroid of ``all_centroids``
        (default: the study areas themselves). ``"boundary"``: each point joins the area
        polygon of ``boundaries`` (index: area code) that contains it.
    all_centroids
        Centroids of every area around the study (index: area code), for the nearest rule.
    boundaries
        Area polygons (index: area code), for the boundary rule.

    Returns
    -------
    GeoDataFrame
        Index ``demand_id`` (the point id, or the area code for an area kept whole);
        ``population`` (people, float), ``area_id`` and the areas' other columns.
    """
    if method == "boundary":
        if boundaries is None:
            msg = "the boundary assignment needs an area boundary file"
            raise ValueError(msg)
        joined = gpd.sjoin(points, boundaries[["geometry"]], how="inner", predicate="within")
        area_of = joined["index_right"].astype(str)
    else:
        ref = all_centroids if all_centroids is not None else areas
        tree = cKDTree(np.column_stack([ref.geometry.x, ref.geometry.y]))
        _, nearest = tree.query(np.column_stack([points.geometry.x, points.geometry.y]))
        area_of = pd.Series(ref.index.to_numpy(dtype=str)[nearest], index=points.index)
    area_of = area_of[area_of.isin(areas.index.astype(str))]
    counts = area_of.value_counts()
    finer = points.loc[area_of.index, ["geometry"]].copy()
    finer["area_id"] = area_of.to_numpy()
    pop = areas["population"].astype(float)
    pop.index = pop.index.astype(str)
    finer["population"] = pop.loc[finer["area_id"]].to_numpy() / counts.loc[
        finer["area_id"]
    ].to_numpy(dtype=float)
    whole = areas[~areas.index.astype(str).isin(counts.index)].copy()
    whole["area_id"] = whole.index.astype(str)
    extra = [c for c in areas.columns if c not in ("geometry", "population")]
    lookup = areas[extra].copy()
    lookup.index = lookup.index.astype(str)
    for column in extra:
        finer[column] = lookup.loc[finer["area_id"], column].to_numpy()
    out = pd.concat([finer, whole[finer.columns]])
    out.index = pd.Index(out.index.astype(str), name="demand_id")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=areas.crs)
