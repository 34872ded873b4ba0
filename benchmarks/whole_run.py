"""A whole ``defibmap run`` as a user starts it: wall time and time to the first progress line.

    python benchmarks/whole_run.py                 # the default Leeds study, 5 warm runs
    python benchmarks/whole_run.py --runs 3 demo-town

Each run is a fresh ``python -m defibmap.cli run STUDY --out DIR`` process, as typed at a
prompt. The first run fills the network cache and is not counted (``warm`` means the cached
network and compiled numba functions exist). Reported per run: the wall time from the start
of the process to its exit, the time until its first progress line reaches standard error
("Reading the study file"), and the progress lines' own elapsed times (so the stages can be
told apart: reading, the analysis, writing the outputs). Every run must exit 0 and write the
same ``summary.json`` (the answer is checked before any time is reported). Results go to
``benchmarks/results/whole_run.json``; best and median of the warm runs are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: A progress line: "[  12.3 s] message".
LINE = re.compile(r"^\[\s*([\d.]+) s\] (.*)$")


def one_run(study: str, out: Path) -> dict[str, object]:
    """Run the command once; return its wall time, first-line time and progress lines."""
    command = [sys.executable, "-m", "defibmap.cli", "run", study, "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    first_s = time.perf_counter() - start
    rest = proc.communicate()[1]
    wall_s = time.perf_counter() - start
    if proc.returncode != 0:
        msg = f"defibmap run {study} failed:\n{first}{rest}"
        raise SystemExit(msg)
    steps = [(float(m[1]), m[2]) for m in map(LINE.match, (first + rest).splitlines()) if m]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {"wall_s": wall_s, "first_line_s": first_s, "steps": steps, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", default="leeds")
    parser.add_argument("--runs", type=int, default=5, help="warm runs to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one_run(args.study, Path(tmp) / "cold")  # fills the caches; not counted
        runs = [one_run(args.study, Path(tmp) / f"run{i}") for i in range(args.runs)]
    answers = {json.dumps(r.pop("summary")["coverage"], sort_keys=True) for r in runs}
    assert len(answers) == 1, "the runs disagree on the coverage figures"
    walls = [float(r["wall_s"]) for r in runs]
    firsts = [float(r["first_line_s"]) for r in runs]
    report = {
        "study": args.study,
        "runs": runs,
        "wall_s_best": min(walls),
        "wall_s_median": statistics.median(walls),
        "first_line_s_best": min(firsts),
        "first_line_s_median": statistics.median(firsts),
        "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}",
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d"),
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "whole_run.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"defibmap run {args.study}, {args.runs} warm runs: wall best {min(walls):.2f} s, "
        f"median {statistics.median(walls):.2f} s (target < 4 s); first progress line best "
        f"{min(firsts):.2f} s, median {statistics.median(firsts):.2f} s (target < 0.5 s); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for elapsed, message in runs[0]["steps"]:  # type: ignore[union-attr]
        print(f"  [{elapsed:6.1f} s] {message}")


if __name__ == "__main__":
    main()
