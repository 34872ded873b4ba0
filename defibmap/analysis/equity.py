"""Who is covered: coverage by deprivation decile and by ward, and the gap between deciles.

The briefing asks about health inequalities, so the gap in coverage between the most and the
least deprived deciles (IMD 2019: decile 1 is the most deprived tenth of England's areas) is a
headline number. It is reported as least-deprived share minus most-deprived share: a positive
gap means deprived neighbourhoods are worse served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Deprivation weighting: decile 1 (most deprived) counts 2x, decile 10 counts 1x, linear.
DEPRIVATION_WEIGHT_MAX = 2.0


def deprivation_weights(
    population: NDArray[np.float64], imd_decile: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Demand weights that favour deprived areas: population x (1 + (10 - decile) / 9).

    Decile 1 (most deprived) weighs twice its population, decile 10 its population; a
    missing decile weighs its population (no boost, no penalty).
    """
    decile = np.asarray(imd_decile, dtype=np.float64)
    boost = np.where(
        np.isfinite(decile),
        1.0 + (DEPRIVATION_WEIGHT_MAX - 1.0) * (10.0 - np.clip(decile, 1, 10)) / 9.0,
        1.0,
    )
    return np.asarray(population, dtype=np.float64) * boost


def coverage_by_group(
    groups: pd.Series, population: NDArray[np.float64], covered: NDArray[np.bool_], *, name: str
) -> list[dict[str, Any]]:
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
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items()} for row in table.reset_index().to_dict("records")
    ]
    for row in rows:
        key = row[name]
        if isinstance(key, float | np.floating) and float(key).is_integer():
            row[name] = int(key)
    return rows


def decile_gap(by_decile: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Least-deprived share minus most-deprived share, over the deciles present."""
    if not by_decile:
        return None
    rows = sorted(by_decile, key=lambda r: r["imd_decile"])
    most, least = rows[0], rows[-1]
    return {
        "most_deprived_decile": most["imd_decile"],
        "least_deprived_decile": least["imd_decile"],
        "gap_share": float(least["share"] - most["share"]),
    }
