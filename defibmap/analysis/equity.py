"""Who is covered: coverage by deprivation decile, quintile and ward, and its gradient.

IMD 2019 decile 1 is the most deprived tenth of England's areas. The headline measure is the
slope index of inequality (SII; Mackenbach JP, Kunst AE, "Measuring the magnitude of
socio-economic inequalities in health: an overview of available measures illustrated with two
examples from Europe", Soc Sci Med 1997;44(6):757-771): the slope of a population-weighted
least-squares line through each decile's coverage share against its relative rank. Every
decile counts by its people, so a small extreme decile cannot swing it the way it swings the
bare gap between the most and the least deprived decile present (:func:`decile_gap`, kept for
comparison). Positive values mean the least deprived are better covered.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from defibmap.defaults import DEPRIVATION_WEIGHT_MAX, SMALL_GROUP_SHARE

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: One group's row: its key (under the group column's name), ``population``,
#: ``covered_population`` and ``share`` (0-1); keys are ints when whole (deciles).
GroupRow: TypeAlias = dict[str, float | int | str]
#: The gap between the least and most deprived deciles' covered shares, and which deciles.
DecileGap: TypeAlias = dict[str, float | int | str]


def deprivation_weights(
    population: NDArray[np.float64], imd_decile: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Demand weights that favour deprived areas: population x (1 + (10 - decile) / 9).

    Decile 1 (most deprived) weighs twice its population, decile 10 its population; a
    missing decile weighs its population (no boost, no penalty). The factor 2 is
    :data:`defibmap.defaults.DEPRIVATION_WEIGHT_MAX`, an assumption (docs/references.md).
    """
    decile = np.asarray(imd_decile, dtype=np.float64)
    boost = np.where(
        np.isfinite(decile),
        1.0 + (DEPRIVATION_WEIGHT_MAX - 1.0) * (10.0 - np.clip(decile, 1, 10)) / 9.0,
        1.0,
    )
    return np.asarray(population, dtype=np.float64) * boost


def coverage_by_group(
    groups: pd.Series[float] | pd.Series[str],
    population: NDArray[np.float64],
    covered: NDArray[np.bool_] | NDArray[np.float64],
    *,
    name: str,
) -> list[GroupRow]:
    """Tabulate population, covered population and covered share by group (e.g. decile).

    Parameters
    ----------
    groups
        Each demand point's group; points without one (NaN) are left out.
    population
        People (or any demand weight) at each point.
    covered
        Whether each point is covered (bool), or the share 0-1 of the point's people (or of
        the year's hours) that is covered: the point counts ``population x share``.
    name
        The group column's name in the rows returned.
    """
    people = np.asarray(population, dtype=np.float64)
    frame = pd.DataFrame(
        {
            name: groups.to_numpy(),
            "population": people,
            "covered_population": people * np.asarray(covered, dtype=np.float64),
        }
    ).dropna(subset=[name])
    table = frame.groupby(name, sort=True)[["population", "covered_population"]].sum()
    table["share"] = np.where(
        table["population"] > 0, table["covered_population"] / table["population"], 0.0
    )
    rows: list[GroupRow] = [
        {str(k): v for k, v in row.items()} for row in table.reset_index().to_dict("records")
    ]
    for row in rows:
        key = row[name]
        if isinstance(key, float | np.floating) and float(key).is_integer():
            row[name] = int(key)
    return rows


def decile_gap(by_decile: list[GroupRow]) -> DecileGap | None:
    """Least-deprived share minus most-deprived share, over the deciles present."""
    if not by_decile:
        return None
    rows = sorted(by_decile, key=lambda r: float(r["imd_decile"]))
    most, least = rows[0], rows[-1]
    return {
        "most_deprived_decile": most["imd_decile"],
        "least_deprived_decile": least["imd_decile"],
        "gap_share": float(least["share"]) - float(most["share"]),
    }


def quintile_of_decile(decile: pd.Series[float]) -> pd.Series[float]:
    """Return the IMD quintile of each decile: deciles 1-2 are quintile 1 ... 9-10 quintile 5."""
    quintile: pd.Series[float] = np.ceil(pd.to_numeric(decile, errors="coerce") / 2.0)
    return quintile


def relative_rank(population: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each group's relative rank: the midpoint of its cumulative population share (0-1).

    Groups are given in order from the most deprived; the first group's rank is half its own
    share, the last's one minus half its own share.
    """
    people = np.asarray(population, dtype=np.float64)
    share = people / people.sum()
    rank: NDArray[np.float64] = np.cumsum(share) - share / 2.0
    return rank


def slope_index(shares: NDArray[np.float64], population: NDArray[np.float64]) -> float | None:
    """Slope index of inequality of a coverage share across ordered groups, percentage points.

    Parameters
    ----------
    shares
        Each group's covered share (0-1), groups ordered from the most deprived.
    population
        People in each group (the regression weights and the ranks).

    Returns
    -------
    float or None
        The slope ``b`` of the population-weighted least-squares line ``100 x share = a + b x
        rank`` over the relative ranks (:func:`relative_rank`): the covered share, in
        percentage points, of the least deprived end (rank 1) minus the most deprived end
        (rank 0). Positive: the least deprived are better covered. None with fewer than two
        groups holding people.
    """
    people = np.asarray(population, dtype=np.float64)
    keep = people > 0
    if int(keep.sum()) < 2:
        return None
    w = people[keep] / people[keep].sum()
    x = relative_rank(people[keep])
    y = 100.0 * np.asarray(shares, dtype=np.float64)[keep]
    x_mean = float(w @ x)
    y_mean = float(w @ y)
    spread = float(w @ (x - x_mean) ** 2)
    return float(w @ ((x - x_mean) * (y - y_mean))) / spread


def small_groups(
    population: NDArray[np.float64], *, below: float = SMALL_GROUP_SHARE
) -> NDArray[np.bool_]:
    """Whether each group holds less than ``below`` (0-1) of the total population."""
    people = np.asarray(population, dtype=np.float64)
    total = float(people.sum())
    if total <= 0 or not math.isfinite(total):
        return np.zeros(people.shape, dtype=bool)
    small: NDArray[np.bool_] = people / total < below
    return small
