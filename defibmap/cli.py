"""The ``defibmap`` command line.

``defibmap run`` runs the embedded default study (real Leeds data, offline);
``defibmap run NAME`` a shipped study by name; ``defibmap run --config STUDY.toml`` any study.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
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
    run.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    sub.add_parser("studies", help="list the shipped studies")
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
    return parser


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """Turn SIGTERM into SystemExit, so clean-up (staging folders) runs before the exit."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    if __name__ == "__main__" or argv is None:  # the program itself, not a library call
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "studies":
            from defibmap._resources import shipped_studies

            sys.stdout.write("\n".join(shipped_studies()) + "\n")
            return 0
        if args.command == "batch":
            from defibmap.batch import run_batch

            done = run_batch(
                args.studies,
                args.out,
                scheduler=args.scheduler,
                n_workers=args.workers,
                progress=True,
            )
            sys.stdout.write(done.summary.to_string(index=False) + "\n")
            sys.stdout.write(f"Summary in {done.summary_path}\n")
            return 1 if done.failed else 0
        return _run(args)
    except DefibmapError as exc:
        sys.stderr.write(f"defibmap: error: {exc}\n")
        return 1
    return 0


#: What each output is, for the end-of-run list.
_DESCRIBE = {
    "map.html": "interactive map (works offline)",
    "report.html": "report with figures",
    "recommendations.xlsx": "Excel workbook: ranked sites, scenarios, method",
    "recommendations.csv": "ranked candidate buildings",
    "scenarios.csv": "coverage by scenario and time of day",
    "coverage_curve.csv": "coverage against number of new cabinets",
    "demand_coverage.csv": "walk to the nearest defib, per demand point",
    "rejected.csv": "input rows not used, with the reason",
    "summary.json": "every headline figure, machine-readable",
    "figures": "the report's figures as PNG",
}


def _run(args: argparse.Namespace) -> int:
    """``defibmap run``: run one study, write its outputs, print where they are."""
    from defibmap import _progress
    from defibmap.outputs.write import check_output_folder, format_summary, write_outputs
    from defibmap.study.pipeline import load_study, run_study

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
        config = load_study(args.config if args.config is not None else args.study)
        slug = (args.config.stem if args.config is not None else args.study) or "leeds"
        out = args.out if args.out is not None else Path("outputs") / slug
        check_output_folder(out)  # before the work, not after it
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
