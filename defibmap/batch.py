"""Run many studies (for example one per local authority) as tasks on Dask distributed.

Each study is one task. The client sends only the study's path (or shipped name) and its output
folder: the worker reads the study file, builds or loads its network from the cache, runs the
study and writes its outputs there (:func:`defibmap.outputs.write.write_outputs`), and sends back
one
summary row. The client collects the rows into ``batch_summary.csv``. A task does exactly what
``defibmap run`` does, so the outputs equal those of running the studies one by one.

Dask is an optional dependency: ``pip install "defibmap[dask]"``. The engine is Dask's own
scheduler, on a ``LocalCluster`` of worker processes by default, or any running cluster given
by its scheduler address; defibmap adds no scheduling of its own.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from defibmap._errors import ConfigError, DefibmapError
from defibmap._files import atomic_path

if TYPE_CHECKING:
    from collections.abc import Sequence

    from defibmap.study.pipeline import StudyResult

logger = logging.getLogger(__name__)

#: How to install the optional engine, quoted in every message about it.
INSTALL_HINT = 'pip install "defibmap[dask]"'
#: The summary table written beside the per-study folders.
SUMMARY_FILE = "batch_summary.csv"


class DaskMissingError(DefibmapError):
    """Dask distributed is not installed."""


@dataclass(frozen=True)
class BatchResult:
    """What a batch run produced.

    Attributes
    ----------
    summary
        One row per study, in the order given (see :func:`summary_row`); ``error`` is empty
        for studies that ran.
    summary_path
        Where ``batch_summary.csv`` was written.
    """

    summary: pd.DataFrame
    summary_path: Path

    @property
    def failed(self) -> list[str]:
        """Slugs of the studies that failed."""
        return [str(s) for s in self.summary.loc[self.summary["error"] != "", "study"]]


def study_slug(study: str | Path) -> str:
    """Return the folder name of a study's outputs: a shipped study's name or the file's stem.

    The same name ``defibmap run`` uses for its default output folder.
    """
    return Path(str(study)).stem if str(study).lower().endswith(".toml") else Path(study).name


def _task_argument(study: str | Path) -> str:
    """Return a study file as an absolute path (workers may run elsewhere), a name as is."""
    path = Path(study).expanduser()
    if path.suffix.lower() == ".toml" or path.exists():
        return str(path.resolve())
    return str(study)


def summary_row(result: StudyResult, *, study: str) -> dict[str, Any]:
    """One row of ``batch_summary.csv`` for a finished study.

    Columns: ``study`` (folder name), ``name``, ``population`` (people), ``coverage_<t>m``
    (share 0-1 within each threshold, every defib counted available), ``new_sites``,
    ``greedy_added`` and ``optimal_added`` (people newly within the ranking threshold),
    ``error`` (empty).
    """
    ranking = result.ranking
    row: dict[str, Any] = {
        "study": study,
        "name": result.config.name,
        "population": result.population_total,
    }
    for key, share in result.coverage.items():
        row[f"coverage_{key}m"] = share
    row["new_sites"] = int(ranking.new_sites)
    row["greedy_added"] = float(ranking.greedy_population_added)
    row["optimal_added"] = float(ranking.optimal_population_added)
    row["error"] = ""
    return row


#: Columns :func:`run_one` adds when asked to measure (``defibmap batch --measure``).
MEASURE_COLUMNS = ("task_s", "task_peak_rss_mb", "worker_pid")


def _reset_peak_rss() -> bool:
    """Reset this process's peak resident memory mark (Linux ``clear_refs``); False if not."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def _peak_rss_mb() -> float:
    """Return the peak resident memory of the process (Linux ``VmHWM``), MB; NaN if unknown."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")  # pragma: no cover - every Linux status has VmHWM


def run_one(study: str, out_dir: str, slug: str, *, measure: bool = False) -> dict[str, Any]:
    """Run one study and write its outputs: the task each Dask worker runs.

    Parameters
    ----------
    study
        A study file path (absolute) or a shipped study's name; read on the worker.
    out_dir
        Folder for this study's outputs.
    slug
        The study's name in the summary table.
    measure
        Add the task's wall time (``task_s``, seconds), the worker process's peak resident
        memory during the task (``task_peak_rss_mb``, MB; the mark is reset as the task
        starts on Linux, so with one thread per worker it is this task's peak, the worker's
        own imports included) and the worker's process id (``worker_pid``).

    Returns
    -------
    dict
        The study's :func:`summary_row`.
    """
    import time

    from defibmap.outputs.write import write_outputs
    from defibmap.study.pipeline import load_study, run_study

    reset = measure and _reset_peak_rss()
    start = time.perf_counter()
    result = run_study(load_study(study))
    write_outputs(result, out_dir)
    row = summary_row(result, study=slug)
    if measure:
        row["task_s"] = time.perf_counter() - start
        row["task_peak_rss_mb"] = _peak_rss_mb() if reset else float("nan")
        row["worker_pid"] = os.getpid()
    return row


def _client(scheduler: str | None, n_workers: int | None) -> tuple[Any, Any]:
    """Connect to a scheduler, or start a local cluster of single-threaded worker processes."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        msg = f"defibmap batch needs Dask distributed, which is not installed: {INSTALL_HINT}"
        raise DaskMissingError(msg) from exc
    if scheduler is not None:
        return Client(scheduler), None  # type: ignore[no-untyped-call]
    # one thread per worker: a study is CPU-bound Python and numpy, so processes scale and
    # threads would only contend for the GIL
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: 8787 may be taken by another cluster
    )
    return Client(cluster), cluster  # type: ignore[no-untyped-call]


def _write_summary(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def run_batch(
    studies: Sequence[str | Path],
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    client: Any = None,  # noqa: ANN401 - a dask.distributed.Client, an optional dependency
    progress: bool = False,
    measure: bool = False,
) -> BatchResult:
    """Run studies as Dask tasks; write each one's outputs and ``batch_summary.csv``.

    Parameters
    ----------
    studies
        Study files or shipped study names. Their output folders are ``out_dir/<slug>``
        (:func:`study_slug`), so two studies may not share a slug.
    out_dir
        Folder for the per-study folders and ``batch_summary.csv``.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); default a local cluster.
    n_workers
        Worker processes of the local cluster (default: Dask's choice, one per core).
    client
        An existing ``dask.distributed.Client`` to use instead (left open).
    progress
        Show a progress bar (tqdm, on standard error).
    measure
        Add each task's time, peak memory and worker (:data:`MEASURE_COLUMNS`, see
        :func:`run_one`) to the summary, after the usual columns.

    Returns
    -------
    BatchResult
        A study that fails is reported in the ``error`` column, not raised; the others run.

    Raises
    ------
    DaskMissingError
        Dask distributed is not installed.
    ConfigError
        No studies, or two studies with the same slug.
    """
    if not studies:
        msg = "defibmap batch needs at least one study"
        raise ConfigError(msg)
    slugs = [study_slug(s) for s in studies]
    seen: dict[str, str] = {}
    for slug, study in zip(slugs, studies, strict=True):
        if slug in seen:
            msg = (
                f"studies {seen[slug]!r} and {str(study)!r} would both write to {slug}/; "
                "give the study files different names"
            )
            raise ConfigError(msg)
        seen[slug] = str(study)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    own_cluster = None
    if own_client:
        client, own_cluster = _client(scheduler, n_workers)
    try:
        rows = _gather(client, studies, slugs, out, progress=progress, measure=measure)
    finally:
        if own_client:
            client.close()
        if own_cluster is not None:
            own_cluster.close()
    frame = pd.DataFrame(rows)
    cover_cols = sorted(
        (c for c in frame.columns if c.startswith("coverage_")),
        key=lambda c: float(c.removeprefix("coverage_").removesuffix("m")),
    )
    leading = ["study", "name", "population"]
    trailing = ["new_sites", "greedy_added", "optimal_added", "error"]
    measured = list(MEASURE_COLUMNS) if measure else []
    frame = frame.reindex(columns=[*leading, *cover_cols, *trailing, *measured])
    frame["error"] = frame["error"].fillna("")
    path = out / SUMMARY_FILE
    _write_summary(frame, path)
    return BatchResult(summary=frame, summary_path=path)


def _gather(
    client: Any,  # noqa: ANN401 - dask.distributed.Client
    studies: Sequence[str | Path],
    slugs: list[str],
    out: Path,
    *,
    progress: bool,
    measure: bool = False,
) -> list[dict[str, Any]]:
    """Submit one task per study and collect the rows in the order given."""
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    futures = [
        client.submit(
            run_one,
            _task_argument(study),
            str(out / slug),
            slug,
            measure=measure,
            key=f"defibmap-study-{slug}-{os.getpid()}-{i}",
            pure=False,
        )
        for i, (study, slug) in enumerate(zip(studies, slugs, strict=True))
    ]
    position = {future.key: i for i, future in enumerate(futures)}
    rows: list[dict[str, Any]] = [{} for _ in futures]
    bar = tqdm(total=len(futures), desc="studies", unit="study", disable=not progress)
    try:
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            i = position[future.key]
            try:
                rows[i] = future.result()
            except Exception as exc:  # noqa: BLE001 - one failed study must not sink the batch
                logger.error("study %s failed: %s", slugs[i], exc)  # noqa: TRY400
                rows[i] = {"study": slugs[i], "error": f"{type(exc).__name__}: {exc}"}
            bar.update(1)
    finally:
        bar.close()
    return rows
