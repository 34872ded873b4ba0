"""The sensitivity tables the report and the workbook both show (from the study's result).

``picks``: each option in the top k of any draw (the study's own picks first), its draws in
the top k, their share and whether it is stable; ``intervals``: each headline figure's study
value and its 10th, 50th and 90th percentile over the draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from defibmap.study.pipeline import StudyResult

__all__ = ["FIGURE_LABELS", "RANGE_LABELS", "intervals", "picks"]

#: Plain labels of the headline figures (``summary.json`` keys stay machine names).
FIGURE_LABELS = {
    "coverage_available": "Year-round available coverage, today's defibs",
    "coverage_night": "Night coverage (00:00-06:00), today's defibs",
    "coverage_any": "Any-time coverage, today's defibs",
    "objective": "Ranking objective of the best set",
}

#: Plain labels of the assumptions drawn.
RANGE_LABELS = {
    "walking_speed_m_s": "walking speed (m/s)",
    "threshold_factor": "factor on the walk",
    "unknown_hours": "chance a defib of unknown hours is usable",
    "second_bystander": "second-bystander chance",
    "ambulance_factor": "factor on ambulance times",
    "demand_weight_cv": "spread of demand weights (CV)",
}


def picks(result: StudyResult, *, most: int = 15) -> pd.DataFrame | None:
    """Return the options in the top k of any draw, the study's picks first (None: no draws)."""
    found = result.sensitivity
    if found is None:
        return None
    names: dict[str, str] = {}
    if "name" in result.candidates.columns:
        names = {str(k): str(v) for k, v in result.candidates["name"].items()}
    rank = {p: i + 1 for i, p in enumerate(found.picks)}
    rows = [
        {
            "rank": rank.get(site),
            "site_id": site,
            "name": names.get(site, ""),
            "draws_in_top_k": count,
            "share_in_top_k": count / found.draws if found.draws else 0.0,
            "stable": "yes" if count >= found.stable_share * found.draws else "no",
        }
        for site, count in found.top_k_count.items()
    ]
    frame = pd.DataFrame(
        rows, columns=["rank", "site_id", "name", "draws_in_top_k", "share_in_top_k", "stable"]
    )
    frame["rank"] = frame["rank"].astype("Int64")
    return frame.head(max(most, len(found.picks)))


def intervals(result: StudyResult) -> pd.DataFrame | None:
    """Return each headline figure: the study's value and its p10, median and p90 over draws."""
    found = result.sensitivity
    if found is None:
        return None
    key = str(round(result.config.headline_threshold_m))
    study = {
        "coverage_available": result.coverage_available.get(key),
        "coverage_night": result.coverage_night.get(key),
        "coverage_any": result.coverage.get(key),
        "objective": result.ranking.optimal_objective,
    }
    rows = [
        {
            "figure": FIGURE_LABELS.get(name, name),
            "study": study.get(name),
            "p10": band["p10"],
            "median": band["median"],
            "p90": band["p90"],
            "share": name != "objective",
        }
        for name, band in found.intervals.items()
    ]
    return pd.DataFrame(rows, columns=["figure", "study", "p10", "median", "p90", "share"])
