"""A study's demand weight: residents, expected cardiac arrests a year, or past incidents.

``[demand] weight`` chooses what the ranking maximises per demand point
(:func:`demand_weight`) and what the summary reports beside residents (``summary.json``
``demand_weight``; ``demand_coverage.csv`` ``expected_arrests`` or ``incidents``,
``incidents_day`` and ``incidents_night``):

* ``residents``: the demand's population;
* ``expected_arrests``: the demand's residents split by age as in the ONS mid-year estimates
  of its area (``[demand] ages_file``, joined on the demand id, which must be the area code),
  times the incidence of each age band (``incidence_file``), times the rate ratio of the
  area's IMD quintile (``deprivation_ratio_file``, optional);
* ``incidents``: the ``[incidents]`` layer's past arrests, each at its nearest demand point
  (``method = "points"``) or spread by a Gaussian kernel (``"kernel"``, ``bandwidth_m``), by
  day (06:00-24:00) and at night (00:00-06:00) apart.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap import layers as layer_kinds
from defibmap._errors import ConfigError, InputError
from defibmap.analysis import risk
from defibmap.io.population import read_ages
from defibmap.io.risk_tables import read_incidence_rates, read_rate_ratios
from defibmap.study.names import DEFAULT_DECILE_COLUMN

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd
    from numpy.typing import NDArray

    from defibmap.config.study_file import StudyConfig

__all__ = ["demand_weight", "weight_columns", "with_coverage"]

logger = logging.getLogger(__name__)

_UNITS = {
    "residents": "residents",
    "expected_arrests": "expected cardiac arrests a year",
    "incidents": "past cardiac arrests",
}
#: Day-first layouts tried after ISO 8601 (the layouts UK spreadsheets write).
_UK_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")
_SHOW = 5


def demand_weight(
    config: StudyConfig, demand: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | None
) -> risk.DemandWeight:
    """Return each demand point's weight under ``[demand] weight``.

    Parameters
    ----------
    config
        The study.
    demand
        The demand points used (index: demand id; ``population``; geometry in the network's
        projected CRS).
    incidents
        The ``[incidents]`` layer as read, in the same CRS, or None.

    Raises
    ------
    InputError
        A demand id missing from the age table, a bad date-time, a missing IMD decile.
    """
    basis = config.demand_weight.basis
    population = demand["population"].to_numpy(dtype=np.float64)
    if basis == "expected_arrests":
        return _expected_arrests(config, demand, population)
    if basis == "incidents":
        if incidents is None:  # pragma: no cover - the study reader requires the section
            msg = "[demand] weight = 'incidents' needs an [incidents] layer"
            raise ConfigError(msg)
        return _incidents(config, demand, incidents)
    return risk.DemandWeight(basis=basis, unit=_UNITS[basis], per_point=population)


def _expected_arrests(
    config: StudyConfig, demand: gpd.GeoDataFrame, population: NDArray[np.float64]
) -> risk.DemandWeight:
    """Residents by age band (the age table's shares x the demand's residents) x rates."""
    chosen = config.demand_weight
    assert chosen.ages_file is not None  # noqa: S101 - the study reader requires both
    assert chosen.incidence_file is not None  # noqa: S101
    ages = read_ages(chosen.ages_file)
    rates = read_incidence_rates(chosen.incidence_file)
    ids = pd.Index(demand.index.astype(str).str.strip().str.upper())
    missing = ids.difference(ages.index)
    if len(missing):
        msg = (
            f"{chosen.ages_file}: no row for {len(missing)} demand point(s) "
            f"({', '.join(missing[:_SHOW])}); the demand ids must be the area codes of the "
            "age table (LSOA or OA codes)"
        )
        raise InputError(msg)
    counts = ages.reindex(ids).to_numpy(dtype=np.float64)
    try:
        banded = risk.band_people(counts, int(ages.attrs["open_from"]), rates.spans)
    except ValueError as exc:
        msg = f"{chosen.incidence_file}: {exc} (ages in {chosen.ages_file})"
        raise InputError(msg) from exc
    # the age table's shares carried to the demand's own residents, so the arrests and the
    # residents the summary reports count the same people (the age table may be another year)
    totals = banded.sum(axis=1, keepdims=True)
    shares = np.divide(banded, totals, out=np.zeros_like(banded), where=totals > 0)
    ratio = None
    source = {"ages_file": ages.attrs["file"], "incidence": rates.source}
    source["incidence_file"] = rates.file
    if chosen.deprivation_ratio_file is not None:
        ratios = read_rate_ratios(chosen.deprivation_ratio_file)
        ratio = _quintile_ratio(config, demand, ratios.by_quintile)
        source.update(deprivation_ratio_file=ratios.file, deprivation_ratio=ratios.source)
    values = risk.expected_arrests(shares * population[:, None], rates.rates, rate_ratio=ratio)
    return risk.DemandWeight(
        basis="expected_arrests",
        unit=_UNITS["expected_arrests"],
        per_point=values,
        source=source,
        details={
            "age_bands": len(rates.bands),
            "areas_without_ages": int((totals[:, 0] <= 0).sum()),
        },
    )


def _quintile_ratio(
    config: StudyConfig, demand: gpd.GeoDataFrame, by_quintile: Mapping[int, float]
) -> NDArray[np.float64]:
    """Return each demand point's rate ratio from its IMD decile's quintile."""
    column = config.imd_column or DEFAULT_DECILE_COLUMN
    if column not in demand.columns:
        msg = (
            f"[demand] deprivation_ratio_file needs an IMD decile column in the demand "
            f"({column!r}; name it with [demand] imd_decile)"
        )
        raise ConfigError(msg)
    decile = pd.to_numeric(demand[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(decile)
    if bad.any():
        where = demand.index[bad][:_SHOW]
        msg = (
            f"[demand] column {column!r}: no IMD decile for demand point(s) "
            f"{', '.join(map(str, where))}; the deprivation ratios need one for every point"
        )
        raise InputError(msg)
    quintile = risk.imd_quintile(decile).astype(int)
    return np.array([by_quintile[q] for q in quintile], dtype=np.float64)


def _hours(incidents: gpd.GeoDataFrame, column: str, file: str) -> NDArray[np.int64]:
    """Return the hour of the day (0-23) of each incident; a bad date-time is an error."""
    if column not in incidents.columns:
        msg = (
            f"{file}: no date-time column {column!r} (name it with [incidents] datetime); "
            f"columns are {[c for c in incidents.columns if c != 'geometry']}"
        )
        raise InputError(msg)
    text = incidents[column].astype(str).str.strip()
    when = pd.to_datetime(text, format="ISO8601", errors="coerce")
    for layout in _UK_FORMATS:
        gap = when.isna()
        if not gap.any():
            break
        when = when.where(~gap, pd.to_datetime(text[gap], format=layout, errors="coerce"))
    bad = when.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = incidents["source_row"].iloc[i] if "source_row" in incidents.columns else i + 2
        msg = (
            f"{file}: row {row}, column {column!r}: expected a date and time such as "
            f"'2024-03-01 14:05' or '01/03/2024 14:05', got {incidents[column].iloc[i]!r}"
        )
        raise InputError(msg)
    return pd.DatetimeIndex(when).hour.to_numpy(dtype=np.int64)


def _incidents(
    config: StudyConfig, demand: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame
) -> risk.DemandWeight:
    """Place the past arrests on the demand points, by day and at night apart."""
    chosen = config.demand_weight
    layer = config.layers.get(layer_kinds.INCIDENTS)
    file = str(layer.file) if layer is not None and layer.file is not None else "[incidents]"
    night = risk.is_night(_hours(incidents, chosen.datetime_column, file))
    points = np.column_stack([incidents.geometry.x, incidents.geometry.y])
    targets = np.column_stack([demand.geometry.x, demand.geometry.y])
    details: dict[str, float | int | str | Mapping[str, int]] = {
        "method": chosen.incidents_method,
        "incidents": len(incidents),
        "day_incidents": int((~night).sum()),
        "night_incidents": int(night.sum()),
    }
    if chosen.incidents_method == "kernel":
        bandwidth = float(chosen.bandwidth_m or 0.0)
        day = risk.kernel_density(points[~night], targets, bandwidth)
        at_night = risk.kernel_density(points[night], targets, bandwidth)
        details["bandwidth_m"] = bandwidth
    else:
        day, _ = risk.nearest_counts(points[~night], targets)
        at_night, _ = risk.nearest_counts(points[night], targets)
        _, distance = risk.nearest_counts(points, targets)
        details["farthest_from_demand_m"] = (
            round(float(distance.max()), 1) if len(distance) else 0.0
        )
    kind_column = chosen.location_type_column
    if kind_column is not None:
        if kind_column not in incidents.columns:
            msg = f"{file}: no location-type column {kind_column!r} ([incidents] location_type)"
            raise InputError(msg)
        kinds = incidents[kind_column].fillna("").astype(str).str.strip().replace("", "unknown")
        details["location_types"] = dict(sorted(Counter(kinds).items()))
    return risk.DemandWeight(
        basis="incidents",
        unit=_UNITS["incidents"],
        per_point=day + at_night,
        day=day,
        night=at_night,
        source={"incidents_file": Path(file).name},
        details=details,
    )


def with_coverage(weight: risk.DemandWeight, demand: pd.DataFrame) -> risk.DemandWeight:
    """Return the weight with the totals within the headline walk, per kind of coverage.

    ``any_time`` counts every defib at every hour (the demand's ``covered``); ``available``
    and ``night`` are added when the demand carries ``covered_available_share`` (the share of
    the year's hours a usable defib is in reach) or ``covered_night``.
    """
    covered: dict[str, float] = {
        "any_time": float(np.sum(weight.per_point * demand["covered"].to_numpy(dtype=bool)))
    }
    if "covered_available_share" in demand.columns:
        share = demand["covered_available_share"].to_numpy(dtype=np.float64)
        covered["available"] = float(np.sum(weight.per_point * np.nan_to_num(share)))
    if "covered_night" in demand.columns:
        covered["night"] = float(
            np.sum(weight.per_point * demand["covered_night"].to_numpy(dtype=bool))
        )
        if weight.night is not None:
            covered["night_incidents_night"] = float(
                np.sum(weight.night * demand["covered_night"].to_numpy(dtype=bool))
            )
    if weight.day is not None and weight.night is not None:
        at = demand["covered"].to_numpy(dtype=bool)
        covered["day_incidents_any_time"] = float(np.sum(weight.day * at))
        covered["night_incidents_any_time"] = float(np.sum(weight.night * at))
    return replace(weight, covered=covered)


def weight_columns(weight: risk.DemandWeight) -> dict[str, NDArray[np.float64]]:
    """Return the per-point columns ``demand_coverage.csv`` gains for the weight.

    ``expected_arrests``, or ``incidents``, ``incidents_day`` and ``incidents_night``; none
    for residents.
    """
    if weight.basis == "expected_arrests":
        return {"expected_arrests": weight.per_point}
    if weight.basis == "incidents" and weight.day is not None and weight.night is not None:
        return {
            "incidents": weight.per_point,
            "incidents_day": weight.day,
            "incidents_night": weight.night,
        }
    return {}
