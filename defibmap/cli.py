"""The ``defibmap`` command line.

``defibmap run`` runs the embedded default study (real Leeds data, offline);
``defibmap run NAME`` a shipped study by name; ``defibmap run --config STUDY.toml`` any study.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
from pathlib import Path

from defibmap._errors import DefibmapError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="defibmap",
        description="Walking reach of public-access defibrillators and where new ones help most.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also log what each step did (not with -q)"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when something fails"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a study and write its outputs")
    run.add_argument(
        "study",
        nargs="?",
        help="name of a shipped study (default: the real-data Leeds study)",
    )
    run.add_argument("--config", type=Path, help="a study TOML file")
    run.add_argument("--out", type=Path, help="output folder (default: outputs/<study>)")
    run.add_argument(
        "--refresh", action="store_true", help="rebuild the network cache and re-download"
    )
    run.add_argument("--open", action="store_true", help="open the map in a web browser when done")
    run.add_argument(
        "-q", "--quiet", action="store_true", help="no progress messages (not with -v)"
    )
    run.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,  # keeps a -v given before the command
        help="also log what each step did (not with -q)",
    )
    run.add_argument(
        "--sensitivity",
        type=_draws,
        metavar="N",
        help="draw N times over the assumptions: how stable the picks and headline figures are",
    )
    sub.add_parser(
        "studies", help="list the shipped studies: what each is, synthetic, needs internet"
    )
    init = sub.add_parser(
        "init",
        help="copy a shipped study and its data (or a blank template) into a folder of yours",
        description=(
            "Copy a shipped study file and its data files into a folder of your own (default "
            "./NAME), with its paths rewritten so the copy finds its data; edit the copy and "
            "run it with: defibmap run --config DIR/NAME.toml. NAME 'blank' writes a commented "
            "template study instead. An existing folder that is not empty is never overwritten."
        ),
    )
    init.add_argument(
        "name", metavar="NAME", help="a shipped study (see: defibmap studies) or blank"
    )
    init.add_argument("folder", nargs="?", type=Path, metavar="DIR", help="default: ./NAME")
    batch = sub.add_parser(
        "batch",
        help="run many studies as tasks on Dask distributed",
        description=(
            "Run many studies (e.g. one per local authority) as tasks on Dask distributed, "
            "on a local cluster or a running scheduler; write each study's outputs to "
            "OUT/<study>/ and one table, OUT/batch_summary.csv. "
            'Needs the dask extra: pip install "defibmap[dask]".'
        ),
    )
    batch.add_argument("studies", nargs="+", metavar="STUDY", help="study files or names")
    batch.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler to use")
    batch.add_argument("--workers", type=int, metavar="N", help="local cluster worker processes")
    batch.add_argument(
        "--out", type=Path, default=Path("outputs"), help="output folder (default: outputs)"
    )
    batch.add_argument(
        "--measure",
        action="store_true",
        help="add each study's time, peak memory and worker to batch_summary.csv",
    )
    return parser


def _version() -> str:
    from defibmap import __version__

    return __version__


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """Turn SIGTERM into SystemExit, so clean-up (staging folders) runs before the exit."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.verbose and getattr(args, "quiet", False):
        # the two contradict each other; refusing beats guessing which one was meant
        parser.error("-q (quiet: no progress) and -v (verbose: more detail) contradict; give one")
    if __name__ == "__main__" or argv is None:  # the program itself, not a library call
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # -v: defibmap's own details, not every library's chatter
    logging.getLogger("defibmap").setLevel(logging.INFO if args.verbose else logging.NOTSET)
    try:
        return _dispatch(args)
    except (DefibmapError, KeyboardInterrupt, OSError) as exc:
        if args.debug:
            raise
        message, status = _failure(exc)
        sys.stderr.write(f"defibmap: {message}\n")
        return status


def _dispatch(args: argparse.Namespace) -> int:
    """Run the chosen command; return its exit status."""
    if args.command == "studies":
        sys.stdout.write(_studies_text())
        return 0
    if args.command == "init":
        return _init(args.name, args.folder)
    if args.command == "batch":
        from defibmap.batch import run_batch

        done = run_batch(
            args.studies,
            args.out,
            scheduler=args.scheduler,
            n_workers=args.workers,
            progress=True,
            measure=args.measure,
        )
        sys.stdout.write(done.summary.to_string(index=False) + "\n")
        sys.stdout.write(f"Summary in {done.summary_path}\n")
        return 1 if done.failed else 0
    return _run(args)


def _failure(exc: BaseException) -> tuple[str, int]:
    """Return the one line a user sees for a failure and the exit status (130 for Ctrl-C)."""
    if isinstance(exc, KeyboardInterrupt):
        # Staging folders are removed on the way out (finally blocks), so earlier outputs stand.
        return "interrupted; earlier outputs are unchanged", 130
    if isinstance(exc, DefibmapError):
        return f"error: {exc}", 1
    if isinstance(exc, OSError):
        return f"error: {_os_message(exc)}", 1
    return f"error: {exc}", 1


def _probe_writable(out: Path) -> None:
    """Fail in seconds, not after the analysis, when the output folder cannot be written.

    Writes and syncs a small hidden file where the staging folder will go (the nearest folder
    that exists on the way to ``out``), then removes it.

    Raises
    ------
    DefibmapError
        For a full disk, a read-only file system, a folder the user may not write, or a path
        through a file.
    """
    import os
    import tempfile

    where = Path(os.path.abspath(out)).parent  # noqa: PTH100 - keep symbolic links as given
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        if not where.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(where))
        with tempfile.NamedTemporaryFile(dir=where, prefix=".defibmap-probe-") as probe:
            probe.write(b"\0" * 65536)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        reason = exc.strerror or str(exc)
        msg = f"cannot write the outputs to {out} ({where}: {reason}); {_advice(exc)}"
        raise DefibmapError(msg) from exc


def _advice(exc: OSError) -> str:
    """Return what a user can do about a file-system fault."""
    return {
        errno.ENOSPC: "free some disk space or write elsewhere with --out",
        errno.EROFS: "the file system is read-only: write elsewhere with --out",
        errno.EACCES: "check the permissions, or write elsewhere with --out",
        errno.EPERM: "check the permissions, or write elsewhere with --out",
    }.get(
        exc.errno if exc.errno is not None else -1, "check the path, or write elsewhere with --out"
    )


def _os_message(exc: OSError) -> str:
    """Return one line for a file-system fault: the file, what went wrong, what to do."""
    where = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or str(exc)
    return f"{where}: {reason}; {_advice(exc)}"


#: What each output is, for the end-of-run list.
_DESCRIBE = {
    "map.html": "interactive map (works offline)",
    "report.html": "report with figures",
    "recommendations.xlsx": "Excel workbook: summary, ranked sites, coverage, equity, method",
    "recommendations.csv": "ranked candidate buildings",
    "scenarios.csv": "coverage by scenario and time of day",
    "coverage_curve.csv": "coverage against number of new cabinets",
    "demand_coverage.csv": "walk to the nearest defib, per demand point",
    "rejected.csv": "input rows not used, with the reason",
    "warnings.csv": "input cells kept but not understood (e.g. opening hours)",
    "summary.json": "every headline figure, machine-readable",
    "figures": "the report's figures as PNG",
    "defibmap.gpkg": "GIS layers for QGIS/ArcGIS (GeoPackage; British National Grid in GB)",
    "recommendations.geojson": "ranked sites as GIS points (GeoJSON, WGS84)",
}


def _studies_text() -> str:
    """Return ``defibmap studies``: each shipped study, what it is and what it needs."""
    from defibmap._resources import study_info

    blocks = []
    for info in study_info():
        tags = ["synthetic" if info.synthetic else "real data"]
        tags.append("needs internet the first time" if info.needs_internet else "offline")
        blocks.append(f"{info.name}  ({', '.join(tags)})\n  {info.title}")
        if info.description:
            blocks[-1] += f": {info.description}"
    text = "\n\n".join(blocks)
    return f"{text}\n\nRun one: defibmap run NAME. Copy one to edit: defibmap init NAME [DIR].\n"


def _init(name: str, folder: Path | None) -> int:
    """``defibmap init``: copy a shipped study (or the blank template) into a folder of yours."""
    from defibmap._resources import copy_study, write_blank_study

    target = folder if folder is not None else Path(name)
    if name == "blank":
        study = write_blank_study(target)
        sys.stdout.write(
            f"Wrote a template study: {study}\n"
            "Fill in the file names and columns, put your data beside it, then run:\n"
            f"  defibmap run --config {study}\n"
        )
        return 0
    from defibmap.config.study_file import read_study

    study, copied = copy_study(name, target)
    read_study(study)  # the copy finds every file it names, or says which it does not
    sys.stdout.write(
        f"Copied the study {name!r} to {study} with its {len(copied)} data files.\n"
        "Edit the copy (paths in it are relative to it), then run:\n"
        f"  defibmap run --config {study}\n"
    )
    return 0


def _draws(text: str) -> int:
    """Read ``--sensitivity N``: a whole number of draws, 0 to 100,000 (0: none)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 100_000:
        msg = f"expected a whole number of draws from 0 to 100000, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _run(args: argparse.Namespace) -> int:
    """``defibmap run``: run one study, write its outputs, print where they are."""
    from defibmap import _progress

    if args.config is not None and args.study is not None:
        sys.stderr.write("defibmap: give a study name or --config, not both\n")
        return 2
    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_progress.ElapsedFormatter())
        _progress.logger.addHandler(handler)
        _progress.logger.setLevel(logging.INFO)
        _progress.logger.propagate = False
    try:
        _progress.step("Reading the study file")
        # the heavy libraries load after the first line, so the user sees at once it started
        from defibmap.outputs.folder import check_output_folder
        from defibmap.outputs.write import format_summary, write_outputs
        from defibmap.study.pipeline import load_study, run_study
        from defibmap.study.sensitivity import with_draws

        config = load_study(args.config if args.config is not None else args.study)
        slug = (args.config.stem if args.config is not None else args.study) or "leeds"
        out = args.out if args.out is not None else Path("outputs") / slug
        check_output_folder(out)  # before the work, not after it
        _probe_writable(out)
        if args.sensitivity is not None:
            config = with_draws(config, args.sensitivity)
        _progress.step(f"Running the study {config.name!r}")
        result = run_study(config, refresh=args.refresh)
        _progress.step("Writing the map, workbook, report and tables")
        written = write_outputs(result, out)
        _progress.step("Done")
    finally:
        for old in list(_progress.logger.handlers):
            _progress.logger.removeHandler(old)
    sys.stdout.write(format_summary(result) + "\n\n")
    sys.stdout.write(f"Outputs written to {out}:\n")
    width = max(len(name) for name in written)
    for name in sorted(written, key=lambda n: list(_DESCRIBE).index(n) if n in _DESCRIBE else 99):
        sys.stdout.write(f"  {name:<{width}}  {_DESCRIBE.get(name, '')}\n".rstrip() + "\n")
    if args.open:
        import webbrowser

        page = written["map.html"].resolve().as_uri()
        if not webbrowser.open(page):
            sys.stderr.write(f"defibmap: no web browser found; open {page} yourself\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
