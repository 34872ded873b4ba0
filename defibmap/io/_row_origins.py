"""Where each row of a layer came from: its file and row, for ``rejected.csv``.

A section's OpenStreetMap features and register rows are read through a CSV the study writes
in its cache folder (:mod:`defibmap.study._layer_sources`). Its row numbers mean nothing to the
user, so each row carries its origin (the register's file and row, or OpenStreetMap) and
rejections are reported against that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pathlib import Path

    import geopandas as gpd

    from defibmap.io import sites


def mark_register_rows(merged: pd.DataFrame, register: pd.DataFrame, file: str) -> None:
    """Give merged rows (and those set aside) the file and row they came from.

    ``origin`` is the register's file name, ``OpenStreetMap + <file>`` for a defib in both,
    or ``OpenStreetMap``; ``origin_row`` the row in the register file (empty for OSM), so
    ``rejected.csv`` points at the register's own rows, not at the generated CSV's.
    """
    rows = dict(
        zip(register["site_id"].astype(str), register["source_row"].astype(int), strict=True)
    )

    def row_of(site_id: str) -> int | None:
        return rows.get(site_id, rows.get(site_id.removeprefix("register_")))

    reg_ids = merged["register_id"].astype(str) if "register_id" in merged else None
    if reg_ids is None or not len(merged):
        merged["origin"] = "OpenStreetMap"
        merged["origin_row"] = ""
    else:
        source = merged["source"].astype(str)
        merged["origin"] = np.where(
            source.eq("register"),
            file,
            np.where(source.eq("osm+register"), f"OpenStreetMap + {file}", "OpenStreetMap"),
        )
        merged["origin_row"] = [
            "" if (r := rows.get(i)) is None else str(r) for i in reg_ids.to_numpy()
        ]
    for row in merged.attrs["excluded"]:
        found = row_of(str(row["site_id"]))
        row["origin"] = "OpenStreetMap" if found is None else file
        row["origin_row"] = "" if found is None else str(found)


def generated(path: Path | None) -> dict[str, tuple[str, int | None]]:
    """Return, by id, the file and row each row of a generated layer CSV came from."""
    if path is None:
        return {}
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "origin" not in frame.columns:
        return dict.fromkeys(frame["site_id"], ("OpenStreetMap", None))
    return {
        i: (o or "OpenStreetMap", int(r) if r else None)
        for i, o, r in frame[["site_id", "origin", "origin_row"]].to_numpy()
    }


def renumber(
    gdf: gpd.GeoDataFrame, report: sites.LayerReport, where: dict[str, tuple[str, int | None]]
) -> None:
    """Renumber generated rows by the register row they came from (0 for OpenStreetMap).

    The generated CSV is the study's own working copy: its row numbers mean nothing to the
    user, so rejections and later ones (snap limit, islands) point at the source instead.
    """
    if not where:
        return
    rows = {i: r or 0 for i, (_, r) in where.items()}
    report.origins = {i: o for i, (o, _) in where.items()}
    report.rejected = [(i, rows.get(i, r), why) for i, r, why in report.rejected]
    gdf["source_row"] = [rows.get(str(i), 0) for i in gdf.index]
