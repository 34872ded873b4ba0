"""Write a study's outputs: summary, tables and map, atomically.

Every output is first written in full to a hidden staging folder beside the output folder,
which is then exchanged with the output folder in one atomic step, so a failed or killed run
never leaves a half-written file or a mix of two runs, and earlier outputs stay readable.
Text cells from input files that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import ctypes
import errno
import glob
import json
import logging
import math
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from defibmap._errors import DefibmapError
from defibmap.outputs.summary import summary as build_summary
from defibmap.outputs.tables import neutralise_formulas

if TYPE_CHECKING:
    from defibmap.study.pipeline import StudyResult

logger = logging.getLogger(__name__)

DEMAND_COLUMNS = [
    "demand_id",
    "population",
    "lon",
    "lat",
    "snap_m",
    "walk_m",
    "nearest_defib_id",
    "covered",
]


def demand_table(result: StudyResult) -> pd.DataFrame:
    """One row per demand point used, in the ``demand_coverage.csv`` shape."""
    demand = result.demand
    table = pd.DataFrame(
        {
            "demand_id": demand.index.astype(str),
            "population": demand["population"].to_numpy(),
            "lon": demand["lon"].round(7).to_numpy(),
            "lat": demand["lat"].round(7).to_numpy(),
            "snap_m": demand["snap_m"].round(2).to_numpy(),
            "walk_m": demand["walk_m"].round(2).to_numpy(),
            "nearest_defib_id": demand["nearest_defib_id"].to_numpy(),
            "covered": demand["covered"].to_numpy(),
        }
    )
    extras = (
        ("retrieval_s", 1),
        ("straight_m", 2),
        ("walk_fetch_s", 1),
        ("fire_drive_m", 1),
        ("fire_drive_s", 1),
        ("time_to_defib_s", 1),
        ("first_route", None),
    )
    for extra, digits in extras:
        if extra in demand.columns:
            values = demand[extra]
            table[extra] = (values.round(digits) if digits is not None else values).to_numpy()
    return table


def scenarios_table(result: StudyResult) -> pd.DataFrame:
    """Tabulate coverage any time, by day and at night, per scenario and threshold."""
    rows = [
        {
            "scenario": name,
            "threshold_m": int(key),
            "sites": data.sites,
            "any_time_share": data.any_time[key],
            "day_share": data.day[key],
            "night_share": data.night[key],
            "day_annual_average_share": data.day_annual_average[key],
            "night_annual_average_share": data.night_annual_average[key],
            "day_share_unknown_hours_unavailable": data.unknown_day[key],
            "night_share_unknown_hours_unavailable": data.unknown_night[key],
        }
        for name, data in result.scenarios.items()
        for key in data.any_time
    ]
    return pd.DataFrame(rows)


def _json_default(value: object) -> Any:  # noqa: ANN401 - JSON values
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    msg = f"not JSON serialisable: {type(value).__name__}"
    raise TypeError(msg)


def _clean_json(value: Any) -> Any:  # noqa: ANN401 - JSON values
    """Replace NaN/inf (not valid JSON) with None, recursively."""
    if isinstance(value, dict):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    return value


#: Every name :func:`write_outputs` may put in an output folder (``figures`` is a folder).
OUTPUT_NAMES = frozenset(
    {
        "summary.json",
        "demand_coverage.csv",
        "recommendations.csv",
        "rejected.csv",
        "scenarios.csv",
        "coverage_curve.csv",
        "recommendations.xlsx",
        "report.html",
        "map.html",
        "figures",
    }
)
#: Hidden names earlier versions of :func:`write_outputs` left inside an output folder.
_OLD_LEFTOVERS = (".defibmap-", ".figures-old", ".map.html.")
_STAGING_TAG = ".defibmap-"


def write_outputs(result: StudyResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the study outputs into ``out_dir``, all at once.

    The outputs are ``summary.json``, ``demand_coverage.csv``, ``recommendations.csv``,
    ``rejected.csv``, ``scenarios.csv``, ``coverage_curve.csv``, ``recommendations.xlsx``,
    ``report.html`` with its ``figures/`` and ``map.html`` (which works offline).

    Everything is written into a hidden staging folder beside ``out_dir`` (same filesystem)
    and then exchanged with ``out_dir`` in one atomic step (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``; a plain rename when ``out_dir`` does not exist yet). A run killed at
    any instant therefore leaves either the complete earlier outputs or the complete new ones,
    never a mix, and never a missing file. Where the exchange is not available the old folder
    is renamed aside first; a kill between the two renames leaves the earlier outputs in the
    hidden ``.<name>.defibmap-old-*`` folder beside it, and the next run puts them back before
    it starts. Staging folders a killed run left behind are removed by the next run.

    Parameters
    ----------
    result : StudyResult
        A finished study.
    out_dir : str or pathlib.Path
        The output folder. A symbolic link is followed (the folder it names is written). It
        must be new, empty or hold only earlier defibmap outputs: the whole folder is replaced.

    Returns
    -------
    dict
        Output name to its final path.

    Raises
    ------
    DefibmapError
        When ``out_dir`` holds files defibmap did not write, or is not a folder.
    """
    out_dir = _absolute(out_dir)
    check_output_folder(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _recover(out_dir)
    staging = out_dir.parent / f".{out_dir.name}{_STAGING_TAG}{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        names = _write_all(result, staging)
        _swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written = {name: out_dir / name for name in names}
    logger.info("wrote %d outputs to %s", len(written), out_dir)
    return written


def _write_all(result: StudyResult, folder: Path) -> list[str]:
    """Write every output into the empty ``folder``; return their names."""
    from defibmap.outputs.map.render import result_map, write_map
    from defibmap.outputs.report import write_report
    from defibmap.outputs.workbook import write_workbook

    neutralise_formulas(demand_table(result)).to_csv(folder / "demand_coverage.csv", index=False)
    neutralise_formulas(result.recommendations).to_csv(folder / "recommendations.csv", index=False)
    neutralise_formulas(result.rejected).to_csv(folder / "rejected.csv", index=False)
    names = ["demand_coverage.csv", "recommendations.csv", "rejected.csv"]
    if result.scenarios:
        scenarios_table(result).to_csv(folder / "scenarios.csv", index=False)
        names.append("scenarios.csv")
    if result.curve is not None:
        result.curve.to_csv(folder / "coverage_curve.csv", index=False)
        names.append("coverage_curve.csv")
    write_map(result_map(result), folder / "map.html")
    write_workbook(result, folder / "recommendations.xlsx")
    (folder / "figures").mkdir()
    write_report(
        result, folder / "report.html", map_href="map.html", figures_dir=folder / "figures"
    )
    summary = _clean_json(build_summary(result))
    (folder / "summary.json").write_text(
        json.dumps(summary, indent=2, default=_json_default, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return [*names, "recommendations.xlsx", "report.html", "map.html", "figures", "summary.json"]


def _absolute(out_dir: str | Path) -> Path:
    """Return the output folder as an absolute path, following a symbolic link to its folder."""
    path = Path(os.path.abspath(Path(out_dir).expanduser()))  # noqa: PTH100 - keep links
    return path.resolve() if path.is_symlink() else path


def check_output_folder(out_dir: str | Path) -> None:
    """Refuse an output folder that cannot be replaced whole.

    Raises
    ------
    DefibmapError
        When the folder is a file, holds files defibmap did not write, or is (or holds) the
        working folder.
    """
    out_dir = _absolute(out_dir)
    cwd = Path.cwd()
    if out_dir == cwd or out_dir in cwd.parents:
        msg = f"output folder {out_dir} is the working folder (or holds it); give a folder below it"
        raise DefibmapError(msg)
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        msg = f"output folder {out_dir} is a file, not a folder"
        raise DefibmapError(msg)
    foreign = sorted(
        p.name
        for p in out_dir.iterdir()
        if p.name not in OUTPUT_NAMES and not p.name.startswith(_OLD_LEFTOVERS)
    )
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        msg = (
            f"output folder {out_dir} holds files defibmap did not write ({shown}); the whole "
            "folder is replaced by each run, so give an empty folder or an earlier defibmap "
            "output folder"
        )
        raise DefibmapError(msg)


def _recover(out_dir: Path) -> None:
    """Put back outputs a killed fallback swap left aside; remove dead runs' staging folders."""
    prefix = f".{out_dir.name}{_STAGING_TAG}"
    for path in sorted(out_dir.parent.glob(f"{glob.escape(prefix)}*")):
        tail = path.name[len(prefix) :]
        if tail.startswith("old-"):
            if not out_dir.exists():
                path.rename(out_dir)
                logger.warning("restored the earlier outputs of an interrupted run: %s", out_dir)
            else:
                shutil.rmtree(path, ignore_errors=True)
            continue
        pid = tail.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Make ``staging`` the output folder; the earlier outputs end up in ``staging``."""
    if not out_dir.exists():
        staging.rename(out_dir)
        staging.mkdir()  # so the caller's clean-up has the same thing to remove
        return
    try:
        _exchange(staging, out_dir)
    except OSError as exc:
        logger.info("atomic folder exchange unavailable (%s); renaming aside", exc)
        aside = staging.with_name(f".{out_dir.name}{_STAGING_TAG}old-{secrets.token_hex(4)}")
        out_dir.rename(aside)
        staging.rename(out_dir)
        aside.rename(staging)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); OSError elsewhere."""
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, "renameat2 is Linux only")
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "this C library has no renameat2")
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes.append(ctypes.c_uint)
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(a), None, str(b))


def format_summary(result: StudyResult) -> str:
    """Return a short plain-text summary for the command line, naming the data sources."""
    lines = []
    title = result.config.name
    if result.config.synthetic:
        title += " — SYNTHETIC DEMONSTRATION DATA"
    lines.append(f"Study: {title}")
    lines.append(
        f"Network: {result.network.n_nodes:,} nodes, {result.network.n_edges:,} edges "
        f"({result.network.source}, {result.network.crs})"
    )
    lines.append(
        f"Population: {result.population_total:,.0f} in {len(result.demand):,} demand points; "
        f"{len(result.defibs):,} existing defibs; {len(result.candidates):,} candidates"
    )
    cover = ", ".join(f"{k} m: {v:.1%}" for k, v in result.coverage.items())
    lines.append(f"Within a walk of a defib (every defib counted available): {cover}")
    ranking = result.ranking
    lines.append(
        f"Ranking ({ranking.new_sites} new sites within {ranking.threshold_m} m): greedy "
        f"adds {ranking.greedy_population_added:,.0f} people, optimum "
        f"{ranking.optimal_population_added:,.0f}"
    )
    lines.extend(
        f"  {row.rank}. {row.name} (+{row.added_population:,.0f})"
        for row in result.recommendations.itertuples()
    )
    timing = result.time_to_defib.scenarios if result.time_to_defib is not None else {}
    if timing:
        parts = [
            f"{name}: {data.median_s / 60:.1f} min"
            for name, data in timing.items()
            if data.median_s is not None
        ]
        lines.append("Time to first defib, population median: " + "; ".join(parts))
    lines.extend(f"Note: {note}" for note in result.notes)
    lines.append("Data sources:")
    lines.extend(
        f"  - {s['layer']}: {s['name']}"
        + (f" ({s['licence']})" if s.get("licence") else "")
        + (f", {s['date']}" if s.get("date") else "")
        for s in result.sources
    )
    rejected = sum(r.rows_rejected for r in result.input_reports.values())
    if rejected:
        lines.append(f"Rejected rows: {rejected} (see rejected.csv)")
    return "\n".join(lines)
