"""Merging a defibrillator register with OpenStreetMap defibs, each site counted once.

:func:`merge_defibs` joins a register (:func:`defibmap.io.registers.read_register`) to OSM defibs
(:func:`defibmap.osm.features.osm_layer`): a register row and an OSM defib within
``within_m`` metres (compared in British National Grid) are the same site, matched one to one
nearest first; the register's access, lock and hours win, the OSM id is kept.
:class:`MergeReport` counts what was matched, added and excluded.

Private to the package: :mod:`defibmap.io.registers` re-exports both names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# logged as defibmap.io.registers, the public home of merge_defibs, so log output is unchanged
logger = logging.getLogger("defibmap.io.registers")

#: Columns a matched register row gives its OSM defib when it has a value: use and readiness.
_FROM_REGISTER = (
    "access",
    "locked",
    "opening_hours",
    "hours_text",
    "location",
    "status",
    "pads_expiry",
    "battery_expiry",
    "last_checked",
)


@dataclass
class MergeReport:
    """How a register and the OSM defibs were merged."""

    within_m: float
    osm_rows: int
    register_rows: int
    matched: int
    osm_only: int
    register_only: int
    register_without_coordinates: int
    excluded: int
    pairs: list[tuple[str, str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the report for ``summary.json``."""
        gaps = [d for *_, d in self.pairs]
        return {
            "within_m": self.within_m,
            "osm_rows": self.osm_rows,
            "register_rows": self.register_rows,
            "matched": self.matched,
            "osm_only": self.osm_only,
            "register_only": self.register_only,
            "register_without_coordinates": self.register_without_coordinates,
            "excluded": self.excluded,
            "max_match_m": max(gaps) if gaps else None,
        }


def _bng_xy(frame: pd.DataFrame) -> np.ndarray:
    from pyproj import Transformer

    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon, lat)
    return np.column_stack([x, y])


def _nearest_pairs(
    osm_xy: np.ndarray, reg_xy: np.ndarray, within_m: float
) -> list[tuple[int, int, float]]:
    """Pair OSM and register points closer than ``within_m`` metres, nearest first, one to one.

    Points with a NaN coordinate take no part. Returns ``(osm row, register row, metres)``.
    """
    from scipy.spatial import cKDTree

    osm_pos = np.flatnonzero(np.isfinite(osm_xy).all(axis=1))
    reg_pos = np.flatnonzero(np.isfinite(reg_xy).all(axis=1))
    pairs: list[tuple[int, int, float]] = []
    if osm_pos.size and reg_pos.size:
        near = cKDTree(osm_xy[osm_pos]).sparse_distance_matrix(
            cKDTree(reg_xy[reg_pos]), within_m, output_type="ndarray"
        )
        near.sort(order=["v", "i", "j"])
        used_osm: set[int] = set()
        used_reg: set[int] = set()
        for i, j, d in near.tolist():
            if i not in used_osm and j not in used_reg:
                used_osm.add(i)
                used_reg.add(j)
                pairs.append((int(osm_pos[i]), int(reg_pos[j]), float(d)))
    return pairs


def merge_defibs(
    osm: pd.DataFrame, register: pd.DataFrame, *, within_m: float = 25.0
) -> tuple[pd.DataFrame, MergeReport]:
    """Merge register defibs into OSM defibs, each site counted once.

    Parameters
    ----------
    osm
        From :func:`defibmap.osm.features.osm_layer` (``site_id``, ``lon``, ``lat``, ...).
    register
        From :func:`defibmap.io.registers.read_register`.
    within_m
        A register row and an OSM defib closer than this (metres, British National Grid) are
        the same site; pairs are taken nearest first, one to one.

    Returns
    -------
    tuple of (DataFrame, MergeReport)
        One row per site: matched sites keep the OSM ``site_id`` and name (the register's
        when OSM has none) and take the register's ``access``, ``locked``,
        ``opening_hours``, ``hours_text``, ``location`` and readiness (``status``,
        ``pads_expiry``, ``battery_expiry``, ``last_checked``) where it gives them; ``source``
        is ``osm``, ``register`` or ``osm+register``; ``register_id`` and ``match_m`` name
        the pair. Sites the merged data mark ``access=private|no`` are moved to
        ``attrs["excluded"]`` (with OSM's own exclusions), as are register rows without
        coordinates (reason ``no coordinates``; the register's ``attrs["unplaced"]`` says
        which of them had a postcode the lookup did not hold).
    """
    osm_xy = _bng_xy(osm)
    reg_xy = _bng_xy(register)
    placed = np.isfinite(reg_xy).all(axis=1)
    osm_ok = np.isfinite(osm_xy).all(axis=1)
    reg_pos = np.flatnonzero(placed)
    pairs = _nearest_pairs(osm_xy, reg_xy, within_m)
    merged = osm.copy().reset_index(drop=True)
    for column in ("address", "postcode", "notes"):
        if column not in merged.columns:
            merged[column] = ""
    merged["source"] = "osm"
    merged["register_id"] = ""
    merged["match_m"] = np.nan
    for o, r, d in pairs:
        row = register.iloc[r]
        for column in _FROM_REGISTER:
            if column in row.index and str(row[column]):
                merged.loc[o, column] = row[column]
        if not str(merged.loc[o, "name"]):
            merged.loc[o, "name"] = row["name"]
        for column in ("address", "postcode", "notes"):
            merged.loc[o, column] = row[column]
        merged.loc[o, ["source", "register_id", "match_m"]] = ["osm+register", row["site_id"], d]
    matched_reg = {r for _, r, _ in pairs}
    extra = register.iloc[[int(r) for r in reg_pos if r not in matched_reg]].copy()
    extra["source"] = "register"
    extra["register_id"] = extra["site_id"]
    extra["match_m"] = np.nan
    clash = extra["site_id"].isin(set(merged["site_id"]))
    extra.loc[clash, "site_id"] = "register_" + extra.loc[clash, "site_id"].astype(str)
    extra = extra.drop(
        columns=["easting", "northing", "source_row", "access_text"], errors="ignore"
    )
    merged = pd.concat([merged, extra], ignore_index=True)
    texts = [c for c in merged.columns if c not in ("lon", "lat", "match_m")]
    merged[texts] = merged[texts].fillna("")
    access = merged["access"].fillna("").astype(str).str.lower()
    drop = access.isin(["private", "no"]).to_numpy()
    excluded = list(osm.attrs.get("excluded", []))
    excluded += [
        {"site_id": s, "name": n, "lon": x, "lat": y, "reason": f"access={a}"}
        for s, n, x, y, a in merged.loc[
            drop, ["site_id", "name", "lon", "lat", "access"]
        ].to_numpy()
    ]
    excluded += [
        {"site_id": s, "name": n, "lon": np.nan, "lat": np.nan, "reason": "no coordinates"}
        for s, n in register.loc[~placed, ["site_id", "name"]].to_numpy()
    ]
    merged = merged.loc[~drop].reset_index(drop=True)
    merged.attrs = {"excluded": excluded}
    report = MergeReport(
        within_m=within_m,
        osm_rows=len(osm),
        register_rows=len(register),
        matched=len(pairs),
        osm_only=int(osm_ok.sum()) - len(pairs),
        register_only=len(extra),
        register_without_coordinates=int((~placed).sum()),
        excluded=int(drop.sum()),
        pairs=[
            (str(osm.iloc[o]["site_id"]), str(register.iloc[r]["site_id"]), d) for o, r, d in pairs
        ],
    )
    logger.info("merged register: %s", report.as_dict())
    return merged, report
