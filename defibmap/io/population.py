"""Residents by area: ONS Census 2021 tables, population-weighted centroids and IMD, joined.

Demand in defibmap is residents placed at the population-weighted centroid of their output
area (OA) or lower layer super output area (LSOA). ONS publishes the pieces separately, in
several layouts; this module reads each of them and joins them by area code:

* **population** (:func:`read_population`): the Census 2021 bulk CSV (``date``,
  ``geography``, ``geography code``, ``Residence type: Total; measures: Value``, ...), the
  "create a custom dataset"/API CSV (``Lower layer Super Output Areas Code``, ``Lower layer
  Super Output Areas``, ``Observation``, optionally with category columns, which are summed),
  and the mid-year estimates (``area_code``, ``sex``, ``all_ages``; ``Persons`` rows kept);
* **ages** (:func:`read_ages`): the mid-year estimates by single year of age (``0`` ...
  ``89``, ``90+``), for the expected cardiac arrests of :mod:`defibmap.analysis.risk`;
* **centroids** (:func:`read_centroids`): ONS population-weighted centroids (``LSOA21CD`` or
  ``OA21CD`` with ``x``/``y`` in British National Grid metres, or lon/lat), CSV or a point file;
* **IMD** (:func:`read_imd`): the English Indices of Deprivation 2019 (``LSOA code (2011)``,
  ``Index of Multiple Deprivation (IMD) Rank``/``Decile``), published for 2011 LSOAs; an
  LSOA 2011 to 2021 lookup (:func:`read_lookup`) carries a parent's values to the 2021 LSOAs
  it was split into.

:func:`join_population` joins them and reports every area that fails to join, so no resident
is dropped without being counted.

The readers live in :mod:`defibmap.io._population_readers` and are re-exported here; this module
joins what they read (:func:`join_population`, :class:`JoinReport`, :func:`demand_table`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from defibmap.io._population_readers import (
    ONS_CODE,
    area_level,
    read_ages,
    read_centroids,
    read_imd,
    read_lookup,
    read_population,
)

__all__ = [
    "ONS_CODE",
    "JoinReport",
    "demand_table",
    "join_population",
    "read_ages",
    "read_centroids",
    "read_imd",
    "read_lookup",
    "read_population",
]

logger = logging.getLogger(__name__)

#: Examples of how many codes to show in messages and reports.
_SHOW = 10


@dataclass
class JoinReport:
    """How the population, centroid and IMD files joined."""

    areas_joined: int
    population_total: float
    level: str
    missing_population: list[str] = field(default_factory=list)
    missing_centroid: list[str] = field(default_factory=list)
    population_without_centroid: float = 0.0
    missing_imd: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every area joined in every file."""
        return not (self.missing_population or self.missing_centroid or self.missing_imd)

    def as_dict(self) -> dict[str, Any]:
        """Return the report for ``summary.json`` (counts and the first few codes)."""
        return {
            "areas_joined": self.areas_joined,
            "population_total": self.population_total,
            "level": self.level,
            "centroids_without_population": len(self.missing_population),
            "population_without_centroid": len(self.missing_centroid),
            "people_without_centroid": self.population_without_centroid,
            "areas_without_imd": len(self.missing_imd),
            "examples": {
                "centroids_without_population": self.missing_population[:_SHOW],
                "population_without_centroid": self.missing_centroid[:_SHOW],
                "areas_without_imd": self.missing_imd[:_SHOW],
            },
        }


def join_population(
    centroids: gpd.GeoDataFrame,
    population: pd.DataFrame,
    *,
    imd: pd.DataFrame | None = None,
    imd_lookup: pd.Series | None = None,
) -> tuple[gpd.GeoDataFrame, JoinReport]:
    """Join residents to population-weighted centroids by area code, and attach IMD.

    Parameters
    ----------
    centroids
        From :func:`read_centroids` (the study's areas: only these are kept).
    population
        From :func:`read_population` (may cover more areas, e.g. all of England).
    imd
        From :func:`read_imd`; optional.
    imd_lookup
        Area code to IMD area code (e.g. LSOA 2021 to 2011, :func:`read_lookup`); codes not
        in it are looked up as they are.

    Returns
    -------
    tuple of (GeoDataFrame, JoinReport)
        Index ``area_code``; ``name``, ``population`` (people), ``imd_rank`` and
        ``imd_decile`` (NaN when unknown, absent without ``imd``), ``easting``, ``northing``,
        ``lon``, ``lat``; geometry in EPSG:27700. Areas with a centroid but no population
        row are left out; both directions are reported.
    """
    in_both = centroids.index.intersection(population.index)
    missing_population = sorted(set(centroids.index) - set(population.index))
    missing_centroid = sorted(set(population.index) - set(centroids.index))
    joined = centroids.loc[in_both].copy()
    joined["population"] = population.loc[in_both, "population"].to_numpy()
    if "name" not in joined.columns:
        names = population["name"] if "name" in population.columns else None
        joined["name"] = names.loc[in_both].to_numpy() if names is not None else joined.index
    missing_imd: list[str] = []
    if imd is not None:
        keys = pd.Series(joined.index, index=joined.index)
        if imd_lookup is not None:
            keys = keys.map(lambda c: imd_lookup.get(c, c))
        values = imd.reindex(keys.to_numpy())
        joined["imd_rank"] = values["imd_rank"].to_numpy()
        joined["imd_decile"] = values["imd_decile"].to_numpy()
        missing_imd = sorted(joined.index[values["imd_rank"].isna().to_numpy()])
    columns = ["name", "population"]
    columns += ["imd_rank", "imd_decile"] if imd is not None else []
    columns += ["easting", "northing", "lon", "lat", "geometry"]
    joined = gpd.GeoDataFrame(joined[columns], geometry="geometry", crs=centroids.crs)
    joined = joined.sort_index()
    report = JoinReport(
        areas_joined=len(joined),
        population_total=float(joined["population"].sum()),
        level=area_level(joined.index),
        missing_population=missing_population,
        missing_centroid=missing_centroid,
        population_without_centroid=float(population.loc[missing_centroid, "population"].sum()),
        missing_imd=missing_imd,
    )
    if missing_population or missing_imd:
        logger.warning(
            "population join: %d centroid(s) without population, %d area(s) without IMD",
            len(missing_population),
            len(missing_imd),
        )
    return joined, report


def demand_table(joined: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return a joined table in the shipped demand-file layout (``lsoa21_demand.csv``).

    Columns: ``area_code, name, population, imd_rank, imd_decile, easting, northing, lon,
    lat``, ready to write as a study's ``[demand] file``.
    """
    table = pd.DataFrame(joined.drop(columns=joined.geometry.name)).reset_index()
    wanted = ["area_code", "name", "population", "imd_rank", "imd_decile"]
    wanted += ["easting", "northing", "lon", "lat"]
    return table[[c for c in wanted if c in table.columns]]
