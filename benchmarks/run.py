"""defibmap side by side with the tools a council analyst would otherwise use, in one run.

    python benchmarks/run.py --quick     # a few minutes on 2 cores: smaller graphs
    python benchmarks/run.py             # the full sizes of issue 8 (about half an hour)
    python benchmarks/run.py --only coverage pairs

Comparisons (each side runs in its own subprocess, so each side's peak memory is its own):

- coverage: walk to the nearest defib, defibmap vs osmnx + networkx
  (``nx.multi_source_dijkstra_path_length`` with a cutoff on the network with every snapped
  point inserted as a node, built outside the timer, as osmnx's documentation routes) and vs
  pandana (contraction hierarchies; its preprocessing is reported, not timed);
- candidate coverage sets: defibmap's bounded per-site searches vs the straightforward scipy
  way (``dijkstra(indices=block, limit=...)`` per block of sites);
- exact maximal covering: defibmap vs ``spopt.locate.MCLP`` with its default CBC, and vs
  HiGHS on the plain full model (what ``optimise.mclp`` did before it reduced the problem);
- a 25,000 x 200,000 maximal covering instance (defibmap alone: spopt needs a dense matrix),
  proven optimal or with its proven gap;
- study start-up: loading the cached network vs rebuilding it from the OpenStreetMap file;
- scale: the whole analysis on a region-sized network, stage by stage.

Every comparison asserts both sides give the same answer (same walks and covered points, same
pairs, same objective, same network) before it reports a ratio. Times are the best of
``repeat`` runs of the timed step only; peak RSS is the subprocess's high-water mark
(``VmHWM``), and ``step_peak_rss_mb`` the mark reset just before the timed step (Linux).
Results go to ``benchmarks/results/latest.json`` (and the table to standard output).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

# --------------------------------------------------------------------------------------------
# what to run
# --------------------------------------------------------------------------------------------

LEEDS = {"graph": "leeds"}


def grid(nodes: int) -> dict:
    return {"graph": "grid", "nodes": nodes}


def plan(*, quick: bool) -> list[dict]:
    """Every comparison: its kind, inputs, sides, repeats and target ratio."""
    city = grid(150_000)
    region = grid(400_000 if quick else 1_500_000)
    region_label = "400k-node grid (quick)" if quick else "1.5M-node grid (region)"
    out: list[dict] = []
    # issue 18, target 1: snapping (defibmap's segment grid vs shapely's STRtree and osmnx)
    n_pts = 50_000 if quick else 100_000
    snap = {"kind": "snap", **city, "points": n_pts, "repeat": 2 if quick else 3}
    label = f"snap {n_pts // 1000}k points, 150k-node grid"
    out += [
        {
            **snap,
            "name": f"{label}, 250 m limit",
            "max_snap_m": 250.0,
            "sides": ["defibmap", "shapely"],
            "target": 3.0,
        },
        {
            # osmnx builds its GeoDataFrame and tree inside nearest_edges: once is enough
            **snap,
            "name": f"{label}, 250 m limit",
            "max_snap_m": 250.0,
            "sides": ["defibmap", "osmnx"],
            "repeat": 1,
        },
        {
            # ratio = time at 250 m / time at 5 km: at least 1 / 1.2 (5 km at most 20 % slower)
            **snap,
            "name": f"{label}, 5 km limit vs 250 m",
            "max_snap_m": 5000.0,
            "sides": ["defibmap", "defibmap@250"],
            "target": 1.0 / 1.2,
        },
        {
            **snap,
            "name": f"{label}, 1e9 m limit vs 250 m",
            "max_snap_m": 1e9,
            "sides": ["defibmap", "defibmap@250"],
        },
    ]
    # target 2: loading the saved region network (mapped arrays vs the earlier form)
    out.append(
        {
            "kind": "load",
            **region,
            "name": f"load the saved network, {region_label}",
            "sides": ["defibmap", "format-1"],
            "repeat": 3,
            "budget_s": 1.0,
        }
    )
    cov = {"kind": "coverage", "sides": ["defibmap", "networkx"], "limit_m": 2000.0}
    # pandana's contraction-hierarchy preprocessing took about 5 minutes on the 150k city
    # graph with its 20k demand points inserted, and nearest_pois searches from every node:
    # the city only in the full run, never the region
    with_pandana = ["defibmap", "networkx", "pandana"]
    out += [
        {
            **cov,
            **LEEDS,
            "name": "coverage, Leeds extract (real OSM, postcodes, schools)",
            "repeat": 5,
            "sides": with_pandana,
        },
        {
            **cov,
            **city,
            "name": "coverage, 150k-node grid (city)",
            "demand": 20_000,
            "defibs": 300,
            "repeat": 3,
            "target": 20.0,
            "target_sides": ["networkx"],
            "sides": cov["sides"] if quick else with_pandana,
        },
    ]
    out.append(
        {
            **cov,
            **region,
            "name": f"coverage, {region_label}",
            "demand": 60_000 if quick else 200_000,
            "defibs": 1_000 if quick else 3_000,
            "repeat": 1,
        }
    )
    pairs = {"kind": "pairs", "sides": ["defibmap", "scipy"], "threshold_m": 500.0}
    out += [
        {
            **pairs,
            **city,
            "name": "candidate sets 600 x 20,000, 150k-node grid",
            "candidates": 600,
            "demand": 20_000,
            "repeat": 3,
            "target": 20.0,
            "sides": ["defibmap", "scipy", "networkx"],
        },
        {
            **pairs,
            **region,
            "name": f"candidate sets {'5,000 x 50,000' if quick else '25,000 x 200,000'}, "
            f"{region_label}",
            "candidates": 5_000 if quick else 25_000,
            "demand": 50_000 if quick else 200_000,
            "repeat": 1,
            "target": 10.0,
        },
    ]
    mclp = {"kind": "mclp", "sides": ["defibmap", "spopt"], "threshold_m": 500.0, **city}
    # quick: spopt (CBC) on 600 x 20,000 took 1-3 minutes alone; 300 x 10,000 is a tenth
    sizes = (
        [(100, 5_000, 5), (300, 10_000, 10)]
        if quick
        else [(100, 5_000, 5), (300, 10_000, 10), (600, 20_000, 10), (600, 20_000, 50)]
    )
    out += [
        {
            **mclp,
            "name": f"exact MCLP {c} x {d:,}, k={k}",
            "candidates": c,
            "demand": d,
            "k": k,
            "repeat": 1,
            "target": 20.0,
        }
        for c, d, k in sizes
    ]
    # optimise.mclp (merging, Lagrangian bound, fixing, HiGHS on the candidates left)
    # against HiGHS on the plain full model (optimise.mclp before it), where both finish
    out += [
        {
            **mclp,
            "sides": ["defibmap", "highs-full"],
            "candidates": c,
            "demand": d,
            "k": k,
            "repeat": 1,
            "name": f"exact MCLP {c} x {d:,}, k={k}",
        }
        for c, d, k in sizes[-2:]
    ]
    big = (5_000, 50_000) if quick else (25_000, 200_000)
    out += [
        {
            "kind": "mclp",
            "sides": ["defibmap"],
            "threshold_m": 500.0,
            **region,
            "name": f"exact MCLP {big[0]:,} x {big[1]:,}, k={k} (alone)",
            "candidates": big[0],
            "demand": big[1],
            "k": k,
            "repeat": 1,
            "time_limit_s": 120.0,
            "with_greedy": True,
            "budget_s": 120.0,
            "gap_budget": 0.005,
            # HiGHS on the full model once overran its 120 s time limit by minutes here
            "child_timeout_s": 240.0,
        }
        # k = 500 (2 % of the candidates) only at full size: at 5,000 x 50,000 the same k
        # covers nearly everything, the LP bound is weak and HiGHS uses its whole time limit
        for k in ((50,) if quick else (50, 500))
    ]
    # issue 18, target 5: high k. The 5,000 x 50,000 instance on the 400k-node grid with
    # k = 500 (greedy, 1-swap local search, Lagrangian bound and fixing, HiGHS); the proven
    # gap is reported whether or not it reaches 1 %
    high_k_limit = 30.0 if quick else 120.0
    out.append(
        {
            "kind": "mclp",
            "sides": ["defibmap"],
            "threshold_m": 500.0,
            **grid(400_000),
            "name": f"exact MCLP 5,000 x 50,000, k=500 (alone, {high_k_limit:.0f} s limit)",
            "candidates": 5_000,
            "demand": 50_000,
            "k": 500,
            "repeat": 1,
            "time_limit_s": high_k_limit,
            "with_greedy": True,
            "budget_s": 120.0,
            "gap_budget": 0.01,
            "child_timeout_s": 2 * high_k_limit + 120.0,
        }
    )
    out += [
        {
            "kind": "startup",
            "graph": g,
            "sides": ["cached", "rebuild"],
            "repeat": 3,
            "name": f"study start-up, {label}: cached network load",
            "target": 20.0,
        }
        for g, label in (("leeds", "Leeds extract"), ("demo-town", "demo town"))
    ]
    out.append(
        {
            "kind": "scale",
            **region,
            "sides": ["defibmap"],
            "repeat": 1,
            "name": f"scale: whole analysis on the {region_label}",
            "demand": 60_000 if quick else 300_000,
            "defibs": 1_000 if quick else 3_000,
            "candidates": 1_000 if quick else 2_500,
            "k": 50,
            "budget_s": 60.0,
            "memory_budget_mb": 6_000.0,
        }
    )
    return out


# --------------------------------------------------------------------------------------------
# the child: time one side
# --------------------------------------------------------------------------------------------


def _reset_peak() -> bool:
    """Reset this process's peak-RSS mark (Linux ``clear_refs``); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def child(spec: dict, side: str, cache: str | None, out: Path) -> None:
    import cases

    cache_path = Path(cache) if cache else None
    started = time.perf_counter()
    result: dict = {"side": side}
    setup_peak = None
    if spec["kind"] == "scale":
        stages: dict = {}
        summary = cases.scale_run(spec, cache_path, stages)
        result.update(
            time_s=summary.pop("analysis_after_load_s"),
            stages=stages,
            sizes=summary,
            setup_s=0.0,
        )
        answer = None
    else:
        builder = {
            "coverage": cases.coverage_side,
            "pairs": cases.pairs_side,
            "mclp": cases.mclp_side,
            "startup": cases.startup_side,
            "snap": cases.snap_side,
            "load": cases.load_side,
        }[spec["kind"]]
        sizes, run = builder(side, spec, cache_path)
        result["setup_s"] = time.perf_counter() - started
        setup_peak = _peak_mb()
        reset = _reset_peak()
        times = []
        answer = None
        for _ in range(int(spec.get("repeat", 1))):
            t0 = time.perf_counter()
            answer = run()
            times.append(time.perf_counter() - t0)
        result.update(time_s=min(times), times_s=times, sizes=sizes)
        if reset:
            result["step_peak_rss_mb"] = _peak_mb()
        if spec["kind"] == "startup":
            answer = cases.network_answer(answer)
        if spec["kind"] == "load":
            answer = cases.loaded_answer(answer)
    # VmHWM belongs to this process image (getrusage's ru_maxrss also carries the parent's
    # size across fork and exec, so it is only the fallback); the mark was reset before the
    # timed step, so the process peak is the larger of the setup's and the step's
    end = _peak_mb()
    if end is not None:
        result["peak_rss_mb"] = max(end, setup_peak or 0.0)
    else:
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with (out / "answer.pkl").open("wb") as fh:
        pickle.dump(answer, fh)
    (out / "result.json").write_text(json.dumps(result, default=float))


# --------------------------------------------------------------------------------------------
# the parent: run the sides, compare, report
# --------------------------------------------------------------------------------------------


def run_side(spec: dict, side: str, cache: Path | None, workdir: Path) -> tuple[dict, object]:
    out = workdir / f"{side}"
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        json.dumps(spec),
        side,
        str(cache or ""),
        str(out),
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    timeout = spec.get("child_timeout_s")
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        msg = f"{spec['name']} / {side}: no answer within {timeout:.0f} s (process stopped)"
        raise RuntimeError(msg) from None
    if proc.returncode != 0:
        msg = f"{spec['name']} / {side} failed:\n{proc.stderr[-3000:]}"
        raise RuntimeError(msg)
    result = json.loads((out / "result.json").read_text())
    result["wall_s"] = time.perf_counter() - start
    with (out / "answer.pkl").open("rb") as fh:
        answer = pickle.load(fh)
    return result, answer


def compare(kind: str, ours, theirs, side: str) -> dict:
    import cases

    if kind == "coverage":
        # pandana keeps distances in single precision
        return cases.compare_walks(ours, theirs, atol=0.05 if side == "pandana" else 0.01)
    if kind == "pairs":
        return cases.compare_pairs(ours, theirs)
    if kind == "mclp":
        return cases.compare_mclp(ours, theirs)
    if kind == "startup":
        return cases.compare_networks(ours, theirs)
    if kind == "snap":
        return cases.compare_snaps(ours, theirs)
    if kind == "load":
        return cases.compare_loaded(ours, theirs)
    raise ValueError(kind)


def network_cache(spec: dict, workdir: Path) -> Path:
    """Save the network once (in a subprocess, not timed) so every side loads the same one."""
    key = spec["graph"] if spec["graph"] != "grid" else f"grid-{spec['nodes']}"
    if spec["kind"] == "startup":
        return workdir / f"startup-{key}.npz"  # the cached side writes it, untimed
    path = workdir / f"{key}.npz"
    if not path.exists():
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--make-cache",
            json.dumps(spec),
            str(path),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
    return path


def make_cache(spec: dict, path: Path) -> None:
    import cases

    from defibmap.network import walk

    walk.save(cases.load_network(spec), path)


def run_case(spec: dict, shared: Path, workdir: Path, log) -> list[dict]:
    cache = network_cache(spec, shared)
    base = spec["sides"][0]
    log(f"- {spec['name']}: {base}")
    ours, ours_answer = run_side(spec, base, cache, workdir)
    rows = []
    if len(spec["sides"]) == 1:
        row = {
            "comparison": spec["name"],
            "kind": spec["kind"],
            "sizes": ours["sizes"],
            "defibmap": ours,
            "other_side": None,
            "ratio": None,
            "same_answer": None,
        }
        budget = spec.get("budget_s")
        if budget is not None:
            row["budget_s"] = budget
            row["within_budget"] = ours["time_s"] <= budget
        if spec.get("memory_budget_mb") is not None:
            row["memory_budget_mb"] = spec["memory_budget_mb"]
            row["within_memory_budget"] = ours["peak_rss_mb"] <= spec["memory_budget_mb"]
        if spec["kind"] == "mclp":
            row["answer"] = ours_answer
            row["within_budget"] = ours["time_s"] <= spec["budget_s"] and (
                ours_answer["optimal"] or ours_answer["mip_gap"] < spec["gap_budget"]
            )
        return [row]
    for other in spec["sides"][1:]:
        log(f"- {spec['name']}: {other}")
        try:
            theirs, theirs_answer = run_side(spec, other, cache, workdir)
        except RuntimeError as exc:
            if other == "pandana":
                rows.append(
                    {
                        "comparison": f"{spec['name']} vs {other}",
                        "kind": spec["kind"],
                        "other_side": other,
                        "skipped": str(exc).splitlines()[-1],
                    }
                )
                continue
            raise
        check = compare(spec["kind"], ours_answer, theirs_answer, other)
        ratio = theirs["time_s"] / ours["time_s"]
        row = {
            "comparison": f"{spec['name']} vs {other}",
            "kind": spec["kind"],
            "sizes": {**theirs.get("sizes", {}), **ours["sizes"]},
            "defibmap": ours,
            "other_side": other,
            "other": theirs,
            "ratio": ratio,
            "same_answer": True,
            "check": check,
        }
        if "target" in spec and other in spec.get("target_sides", spec["sides"][1:]):
            row["target"] = spec["target"]
            row["meets_target"] = ratio >= spec["target"]
        if spec.get("budget_s") is not None:
            row["budget_s"] = spec["budget_s"]
            row["within_budget"] = ours["time_s"] <= spec["budget_s"]
        rows.append(row)
    return rows


def machine() -> dict:
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        info["load_average_at_start"] = os.getloadavg()
    import numpy as np
    import scipy

    info["numpy"] = np.__version__
    info["scipy"] = scipy.__version__
    for name in ("numba", "networkx", "osmnx", "spopt", "pulp", "pandana"):
        try:
            module = __import__(name)
            info[name] = getattr(module, "__version__", "?")
        except Exception as exc:  # noqa: BLE001 - report whatever is missing
            info[name] = f"not available ({type(exc).__name__})"
    return info


def fmt_s(x) -> str:
    if x is None:
        return "-"
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def table(rows: list[dict]) -> str:
    head = (
        f"{'comparison':78s} {'defibmap':>10s} {'other':>10s} {'ratio':>8s} {'target':>7s} "
        f"{'same':>5s} {'RSS ours':>9s} {'RSS other':>9s}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        if r.get("skipped"):
            lines.append(f"{r['comparison'][:78]:78s} skipped: {r['skipped'][:60]}")
            continue
        ours = r["defibmap"]
        other = r.get("other") or {}
        ratio = f"{r['ratio']:.1f}x" if r.get("ratio") else "-"
        target = (
            f">={r['target']:.2g}x"
            if r.get("target")
            else (f"<{r['budget_s']:.0f} s" if r.get("budget_s") else "")
        )
        same = "yes" if r.get("same_answer") else ("-" if r.get("same_answer") is None else "NO")
        lines.append(
            f"{r['comparison'][:78]:78s} {fmt_s(ours['time_s']):>10s} "
            f"{fmt_s(other.get('time_s')):>10s} {ratio:>8s} {target:>7s} {same:>5s} "
            f"{ours['peak_rss_mb']:8.0f}M "
            + (f"{other['peak_rss_mb']:8.0f}M" if other else f"{'-':>9s}")
        )
        if r["kind"] == "scale":
            for stage, t in ours["stages"].items():
                lines.append(f"    {stage:74s} {fmt_s(t):>10s}")
            s = ours["sizes"]
            lines.append(
                f"    coverage {s['coverage_share']}, greedy +{s['greedy_added']:,.0f}, "
                f"MCLP +{s['optimal_added']:,.0f} "
                f"({s['mclp_status'][:40]}, gap {s['mclp_gap']:.4f})"
            )
        if r["kind"] == "mclp" and r.get("answer"):
            a = r["answer"]
            lines.append(
                f"    objective {a['objective']:,.0f}, upper bound {a['upper_bound']:,.0f}, "
                f"gap {a['mip_gap']:.4f}, status {a['status'][:70]}"
                f"; greedy {ours['sizes'].get('greedy_objective', float('nan')):,.0f} in "
                f"{fmt_s(ours['sizes'].get('greedy_s'))}, 1-swap "
                f"{ours['sizes'].get('swap_objective', float('nan')):,.0f} in "
                f"{fmt_s(ours['sizes'].get('swap_s'))}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller graphs, same comparisons")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="KIND",
        choices=["snap", "load", "coverage", "pairs", "mclp", "startup", "scale"],
        help="run only these kinds of comparison",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--make-cache", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_cache:
        make_cache(json.loads(args.make_cache[0]), Path(args.make_cache[1]))
        return
    if args.child:
        spec, side, cache, out = args.child
        child(json.loads(spec), side, cache or None, Path(out))
        return
    specs = [s for s in plan(quick=args.quick) if not args.only or s["kind"] in args.only]
    rows: list[dict] = []
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {msg}", file=sys.stderr, flush=True)

    info = machine()
    with tempfile.TemporaryDirectory(prefix="defibmap-bench-") as tmp:
        for i, spec in enumerate(specs):
            try:
                rows += run_case(spec, Path(tmp), Path(tmp) / f"case-{i}", log)
            except Exception as exc:  # noqa: BLE001 - report the failure, run the rest
                log(f"  FAILED: {exc}")
                rows.append(
                    {
                        "comparison": spec["name"],
                        "kind": spec["kind"],
                        "skipped": f"failed: {str(exc).strip().splitlines()[-1]}",
                    }
                )
    report = {
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "mode": "quick" if args.quick else "full",
        "machine": info,
        "total_wall_s": time.perf_counter() - started,
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
    print(table(rows))
    print(f"\nwrote {args.out} ({report['total_wall_s']:.0f} s)")


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    main()
