"""The ``defibmap`` command line.

``defibmap run`` runs the embedded default study (real Leeds data, offline);
``defibmap run NAME`` a shipped study by name; ``defibmap run --config STUDY.toml`` any study.
"""

from __future__ import annotations

import argparse
import logging
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
    run.add_argument("--refresh", action="store_true", help="rebuild the network cache")
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
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
        from defibmap.report import format_summary, write_outputs
        from defibmap.study import load_study, run_study

        if args.config is not None and args.study is not None:
            sys.stderr.write("defibmap: give a study name or --config, not both\n")
            return 2
        config = load_study(args.config if args.config is not None else args.study)
        result = run_study(config, refresh=args.refresh)
        slug = (args.config.stem if args.config is not None else args.study) or "leeds"
        out = args.out if args.out is not None else Path("outputs") / slug
        written = write_outputs(result, out)
        sys.stdout.write(format_summary(result) + "\n")
        sys.stdout.write(f"Outputs in {out}: {', '.join(sorted(written))}\n")
    except DefibmapError as exc:
        sys.stderr.write(f"defibmap: error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
