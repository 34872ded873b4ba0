"""Who is covered: coverage by deprivation decile and by ward, and the gap between deciles.

The briefing asks about health inequalities, so the gap in coverage between the most and the
least deprived deciles (IMD 2019: decile 1 is the most deprived tenth of England's areas) is a
headline number. It is reported as least-deprived share minus most-deprived share: a positive
gap means deprived neighbourhoods are worse served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from defibmap.defaults import DEPRIVATION_WEIGHT_MAX

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
    covered: NDArray[np.bool_],
    *,
    name: str,
) -> list[GroupRow]:
    """Tabulate population, covered population and covered share by group (e.g. decile)."""
    frame = pd.DataFrame(
        {
            name: groups.to_numpy(),
            "population": np.asarray(population, dtype=np.float64),
            "covered_population": np.where(covered, population, 0.0),
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
