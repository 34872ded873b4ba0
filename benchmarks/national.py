"""A national run on Dask distributed: synthetic authorities clipped from one national extract.

    python benchmarks/national.py                       # 30 authorities x 5,000 nodes
    python benchmarks/national.py --quick               # 30 authorities x 2,000 nodes
    python benchmarks/national.py --authorities 2 --nodes 150000 --workers 1   # full-size tasks
    python benchmarks/national.py --table-from atlas/out > national_table.csv  # real batch

What it does, in the order a real national atlas would:

1. **A national extract.** One synthetic street grid (``defibmap.synthetic.street_grid_network``,
   25 m spacing, a railway across the middle) big enough for a k x k layout of authority tiles,
   written as one OpenStreetMap PBF file with pyosmium (every street segment a
   ``highway=residential`` way; coordinates in the North Sea, so never a real place).
2. **Authority boundaries** (GeoJSON, one polygon per authority, like the ONS local authority
   district boundaries) and **a clip per authority** the way ``osmium extract --strategy
   complete_ways --polygon <authority>.geojson england-latest.osm.pbf`` makes one: every way
   with at least one node inside the polygon is kept whole, with all its nodes (so streets
   that cross the boundary are not cut). Done here with pyosmium (the osmium command-line
   tool is not installed on this machine); ``docs/scale.md`` gives the real commands.
3. **Per-authority layers and a study file**: demand points (people 1-50 each, an IMD decile
   that falls across the authority), existing defibs with four kinds of hours (24/7, office,
   school, shop), candidate sites; about 20,000 demand points, 300 defibs and 600 candidates
   per 150,000 nodes, scaled with the node count. All labelled synthetic.
4. **The runs**: the studies one after another in this process (``batch.run_one``, what
   ``defibmap run`` does), then through a real Dask distributed scheduler (``dask scheduler``
   and ``dask worker`` subprocesses on 127.0.0.1, one thread per worker process) with 1 and
   2 workers via :func:`defibmap.batch.run_batch` (what ``defibmap batch --scheduler`` does).
   Each authority's network is first built from its clipped PBF and cached (timed apart, as
   a national atlas builds them once per OpenStreetMap release); every run then loads it from
   the cache. Every Dask run's ``summary.json`` and CSV outputs must equal the
   sequential run's, byte for byte for the CSVs, before any figure is reported.
5. **What is reported**: tasks per minute, each task's time and peak memory
   (``batch --measure``: the worker's ``VmHWM``, reset as the task starts), scheduler
   overhead (the run's wall time minus the busiest worker's time in tasks, and the round trip
   of 200 empty tasks), and the national summary table (``results/national_table.csv``).

Results go to ``benchmarks/results/national.json`` (``national_quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from defibmap import batch
from defibmap.synthetic import street_grid_network

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: Grid spacing (m): 150k nodes cover 94 km², about a city's walking network.
SPACING_M = 25.0
#: Where the synthetic nation sits: the North Sea, east of Norfolk (never a real place).
LON0, LAT0 = 2.2, 53.4
#: Metres per degree at LAT0 (a local equirectangular projection is enough for synthetic data).
M_PER_DEG_LAT = 111_200.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))
#: Weekly hours of the existing defibs, with how often each occurs.
HOURS = (
    ("24/7", 0.45),
    ("Mo-Fr 09:00-17:00", 0.2),
    ("Mo-Fr 08:00-16:00", 0.2),
    ("Mo-Sa 07:00-22:00", 0.15),
)


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return LON0 + x / M_PER_DEG_LON, LAT0 + y / M_PER_DEG_LAT


# ---------------------------------------------------------------- 1. the national extract
def national_extract(
    folder: Path, n_auth: int, nodes: int, seed: int
) -> tuple[Path, list[dict[str, object]]]:
    """Write the national PBF and the authority polygons; return the PBF and the authorities."""
    import osmium

    k = math.ceil(math.sqrt(n_auth))
    net = street_grid_network(nodes * k * k, seed=seed, spacing_m=SPACING_M)
    lon, lat = _lonlat(net.node_x, net.node_y)
    pbf = folder / "national.osm.pbf"
    pbf.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(pbf))
    try:
        for i in range(lon.size):
            writer.add_node(osmium.osm.mutable.Node(id=i + 1, location=(lon[i], lat[i])))
        tags = {"highway": "residential"}
        for j, (u, v) in enumerate(zip(net.edge_u.tolist(), net.edge_v.tolist(), strict=True)):
            writer.add_way(osmium.osm.mutable.Way(id=j + 1, nodes=[u + 1, v + 1], tags=tags))
    finally:
        writer.close()
    x0, x1 = float(net.node_x.min()), float(net.node_x.max()) + 1.0
    y0, y1 = float(net.node_y.min()), float(net.node_y.max()) + 1.0
    authorities = []
    for a in range(n_auth):
        col, row = a % k, a // k
        ax0, ax1 = x0 + (x1 - x0) * col / k, x0 + (x1 - x0) * (col + 1) / k
        ay0, ay1 = y0 + (y1 - y0) * row / k, y0 + (y1 - y0) * (row + 1) / k
        (lo0, lo1), (la0, la1) = _lonlat(np.array([ax0, ax1]), np.array([ay0, ay1]))
        ring = [[lo0, la0], [lo1, la0], [lo1, la1], [lo0, la1], [lo0, la0]]
        authorities.append(
            {"code": f"S{a + 1:07d}", "name": f"Synthetic authority {a + 1:02d}", "ring": ring}
        )
    features = [
        {
            "type": "Feature",
            "properties": {"LAD_CODE": a["code"], "LAD_NAME": a["name"]},
            "geometry": {"type": "Polygon", "coordinates": [a["ring"]]},
        }
        for a in authorities
    ]
    (folder / "authorities.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    return pbf, authorities


# ---------------------------------------------------------------- 2. the clip per authority
def clip(pbf: Path, authorities: list[dict[str, object]], folder: Path) -> dict[str, Path]:
    """Cut one PBF per authority with osmium's ``complete_ways`` rule (see the module doc)."""
    import osmium
    import shapely

    ids, lons, lats = [], [], []
    way_ids, way_len, refs, way_tags = [], [], [], []
    for obj in osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY):
        if isinstance(obj, osmium.osm.Node):
            ids.append(obj.id)
            lons.append(obj.location.lon)
            lats.append(obj.location.lat)
        else:
            nodes = [n.ref for n in obj.nodes]
            way_ids.append(obj.id)
            way_len.append(len(nodes))
            refs.extend(nodes)
            way_tags.append(dict(obj.tags))
    node_id = np.asarray(ids, dtype=np.int64)
    lon, lat = np.asarray(lons), np.asarray(lats)
    index = np.full(int(node_id.max()) + 1, -1, dtype=np.int64)
    index[node_id] = np.arange(node_id.size)
    ref_pos = index[np.asarray(refs, dtype=np.int64)]
    way_of_ref = np.repeat(np.arange(len(way_ids)), way_len)
    out = {}
    for a in authorities:
        polygon = shapely.Polygon(a["ring"])  # type: ignore[arg-type]
        inside = shapely.contains_xy(polygon, lon, lat)
        ways = np.unique(way_of_ref[inside[ref_pos]])  # a node inside keeps the whole way
        keep_ref = np.isin(way_of_ref, ways)
        nodes = np.unique(ref_pos[keep_ref])
        path = folder / f"{a['code']}.osm.pbf"
        path.unlink(missing_ok=True)
        writer = osmium.SimpleWriter(str(path))
        try:
            for i in nodes.tolist():
                writer.add_node(
                    osmium.osm.mutable.Node(id=int(node_id[i]), location=(lon[i], lat[i]))
                )
            starts = np.r_[0, np.cumsum(way_len)]
            for w in ways.tolist():
                members = node_id[ref_pos[starts[w] : starts[w + 1]]].tolist()
                writer.add_way(
                    osmium.osm.mutable.Way(id=way_ids[w], nodes=members, tags=way_tags[w])
                )
        finally:
            writer.close()
        a["nodes_inside"] = int(inside.sum())
        a["nodes_in_extract"] = int(nodes.size)
        a["ways_in_extract"] = int(ways.size)
        out[str(a["code"])] = path
    return out


# ---------------------------------------------------------------- 3. layers and study files
def _points_near(rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, n: int) -> tuple:
    """``n`` points within 40 m of random nodes of an authority."""
    pick = rng.integers(0, lon.size, n)
    r, t = 40.0 * np.sqrt(rng.random(n)), 2 * np.pi * rng.random(n)
    return lon[pick] + r * np.cos(t) / M_PER_DEG_LON, lat[pick] + r * np.sin(t) / M_PER_DEG_LAT


def study_files(
    authorities: list[dict[str, object]], extracts: dict[str, Path], folder: Path, nodes: int
) -> list[Path]:
    """Write each authority's demand, defibs, candidates and study file; return the studies."""
    import osmium

    n_demand, n_defibs, n_cand = (
        max(m, round(nodes * f)) for m, f in ((200, 2 / 15), (10, 1 / 500), (20, 1 / 250))
    )
    studies = []
    for i, a in enumerate(authorities):
        code = str(a["code"])
        rng = np.random.default_rng(1000 + i)
        lon = np.array(
            [n.location.lon for n in osmium.FileProcessor(str(extracts[code]), osmium.osm.NODE)]
        )
        lat = np.array(
            [n.location.lat for n in osmium.FileProcessor(str(extracts[code]), osmium.osm.NODE)]
        )
        ring = np.asarray(a["ring"])
        inside = (lon >= ring[:, 0].min()) & (lon <= ring[:, 0].max())
        inside &= (lat >= ring[:, 1].min()) & (lat <= ring[:, 1].max())
        lon, lat = lon[inside], lat[inside]
        d_lon, d_lat = _points_near(rng, lon, lat, n_demand)
        # deprivation falls from west to east, with noise: equity differs by authority
        west = (d_lon - d_lon.min()) / max(float(np.ptp(d_lon)), 1e-12)
        decile = np.clip(np.ceil(10 * (0.7 * west + 0.3 * rng.random(n_demand))), 1, 10)
        sub = folder / code
        sub.mkdir(exist_ok=True)
        pd.DataFrame(
            {
                "demand_id": [f"{code}-d{j:05d}" for j in range(n_demand)],
                "population": rng.integers(1, 51, n_demand),
                "imd_decile": decile.astype(int),
                "lon": d_lon.round(7),
                "lat": d_lat.round(7),
            }
        ).to_csv(sub / "demand.csv", index=False)
        f_lon, f_lat = _points_near(rng, lon, lat, n_defibs)
        kinds = rng.choice(len(HOURS), n_defibs, p=[h[1] for h in HOURS])
        pd.DataFrame(
            {
                "site_id": [f"{code}-f{j:04d}" for j in range(n_defibs)],
                "opening_hours": [HOURS[k][0] for k in kinds],
                "location": np.where(kinds == 0, "outdoor", "indoor"),
                "locked": "no",
                "lon": f_lon.round(7),
                "lat": f_lat.round(7),
            }
        ).to_csv(sub / "defibs.csv", index=False)
        c_lon, c_lat = _points_near(rng, lon, lat, n_cand)
        pd.DataFrame(
            {
                "site_id": [f"{code}-c{j:04d}" for j in range(n_cand)],
                "name": [f"Candidate {j} (synthetic)" for j in range(n_cand)],
                "lon": c_lon.round(7),
                "lat": c_lat.round(7),
            }
        ).to_csv(sub / "candidates.csv", index=False)
        label = 'source = "synthetic"\nlicence = "synthetic (defibmap, MIT)"\ndate = "generated"'
        study = folder / f"{code}.toml"
        study.write_text(
            f"""[study]
name = "{a["name"]} (synthetic)"
synthetic = true

[network]
osm_file = "{extracts[code].name}"
{label}
max_snap_m = 250
cache_dir = "cache"

[demand]
file = "{code}/demand.csv"
id = "demand_id"
population = "population"
{label}

[defibs]
file = "{code}/defibs.csv"
id = "site_id"
{label}

[candidates]
file = "{code}/candidates.csv"
id = "site_id"

[coverage]
thresholds_m = [100, 200, 500]

[ranking]
new_sites = 10
threshold_m = 500
""",
            encoding="utf-8",
        )
        studies.append(study)
    return studies


# ---------------------------------------------------------------- 4. the runs
def _noop() -> int:
    return 0


def prepare_networks(studies: list[Path]) -> list[float]:
    """Build and cache each authority's walking network once; return the seconds each took.

    A national atlas builds its networks once per OpenStreetMap release and every later run
    loads them from the cache, so the timed runs below all start from a warm cache.
    """
    from defibmap.study.pipeline import build_network, load_study

    seconds = []
    for study in studies:
        start = time.perf_counter()
        build_network(load_study(study))
        seconds.append(time.perf_counter() - start)
    return seconds


def sequential(studies: list[Path], out: Path) -> tuple[pd.DataFrame, float]:
    start = time.perf_counter()
    rows = [
        batch.run_one(str(s), str(out / batch.study_slug(s)), batch.study_slug(s), measure=True)
        for s in studies
    ]
    return pd.DataFrame(rows), time.perf_counter() - start


def dask_run(studies: list[Path], out: Path, workers: int, folder: Path) -> dict[str, object]:
    """Start a scheduler and ``workers`` worker processes on 127.0.0.1; run the batch."""
    from dask.distributed import Client

    bin_dir = Path(sys.executable).parent
    scheduler_file = folder / f"scheduler-{workers}.json"
    scheduler_file.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)])}
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    sched = subprocess.Popen(
        [
            str(bin_dir / "dask"),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(logs / f"scheduler-{workers}.log").open("w"),
        env=env,
    )
    procs = [sched]
    try:
        for _ in range(200):
            if scheduler_file.exists() and scheduler_file.stat().st_size > 0:
                break
            time.sleep(0.1)
        worker = subprocess.Popen(
            [
                str(bin_dir / "dask"),
                "worker",
                "--scheduler-file",
                str(scheduler_file),
                "--nworkers",
                str(workers),
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--memory-limit",
                "0",
                "--local-directory",
                str(folder / "dask"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=(logs / f"worker-{workers}.log").open("w"),
            env=env,
        )
        procs.append(worker)
        with Client(scheduler_file=str(scheduler_file)) as client:
            client.wait_for_workers(workers, timeout=120)
            noop_n = 200
            t = time.perf_counter()
            client.gather([client.submit(_noop, pure=False) for _ in range(noop_n)])
            noop_ms = (time.perf_counter() - t) / noop_n * 1000
            address = client.scheduler.address
            t = time.perf_counter()
            result = batch.run_batch(studies, out, client=client, measure=True)
            wall = time.perf_counter() - t
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    frame = result.summary
    busiest = float(frame.groupby("worker_pid")["task_s"].sum().max())
    return {
        "workers": workers,
        "scheduler": address,
        "tasks": len(studies),
        "wall_s": wall,
        "tasks_per_minute": len(studies) / wall * 60,
        "task_s_median": float(frame["task_s"].median()),
        "task_s_max": float(frame["task_s"].max()),
        "task_peak_rss_mb_median": float(frame["task_peak_rss_mb"].median()),
        "task_peak_rss_mb_max": float(frame["task_peak_rss_mb"].max()),
        "busiest_worker_task_s": busiest,
        "scheduler_overhead_s": wall - busiest,
        "scheduler_overhead_share": (wall - busiest) / wall,
        "empty_task_round_trip_ms": noop_ms,
        "failed": result.failed,
        "summary": frame,
    }


def same_outputs(a: Path, b: Path) -> None:
    """Assert two study output folders hold the same summary.json and CSV files."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()), (a, b)
    for name in names:
        if name == "summary.json":
            left = json.loads((a / name).read_text(encoding="utf-8"))
            right = json.loads((b / name).read_text(encoding="utf-8"))
            assert left == right, a / name
        elif name.endswith(".csv"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), a / name


# ---------------------------------------------------------------- 5. the national table
def national_table(out: Path) -> pd.DataFrame:
    """One row per study folder of a batch output (``out/<slug>/summary.json``)."""
    rows = []
    for summary in sorted(out.glob("*/summary.json")):
        s = json.loads(summary.read_text(encoding="utf-8"))
        rows.append(table_row(summary.parent.name, s))
    return pd.DataFrame(rows)


def table_row(slug: str, s: dict) -> dict[str, object]:
    """Coverage, night coverage, equity and top picks of one study's summary.json.

    Coverage is at the ranking's walk (500 m by default): ``coverage`` (every defib counted
    at every hour), ``coverage_available`` (each defib in its hours, over a year) and
    ``coverage_night``; the equity columns are the slope index of inequality of night
    coverage across IMD deciles (percentage points) and the gap in coverage between the most
    and least deprived deciles; the top picks are the exact optimum's first three sites.
    """
    ranking = s.get("ranking", {})
    threshold = str(ranking.get("threshold_m", 500)).removesuffix(".0")
    equity = s.get("equity", {})
    return {
        "authority": slug,
        "name": s.get("study", slug),
        "synthetic": bool(s.get("synthetic", False)),
        "population": s.get("population_total"),
        f"coverage_{threshold}m": s.get("coverage", {}).get(threshold),
        f"coverage_available_{threshold}m": s.get("coverage_available", {}).get(threshold),
        f"coverage_night_{threshold}m": s.get("coverage_night", {}).get(threshold),
        "night_slope_index_pp": equity.get("slope_index", {}).get("night"),
        "decile_gap_share": equity.get("decile_gap", {}).get("gap_share"),
        "people_added_by_picks": ranking.get("optimal_population_added"),
        "top_picks": " ".join(ranking.get("optimal_site_ids", [])[:3]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--authorities", type=int, default=30)
    parser.add_argument("--nodes", type=int, help="nodes per authority")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/defibmap-national"))
    parser.add_argument(
        "--table-from",
        type=Path,
        metavar="OUT",
        help="only write the national table (CSV, standard output) from a batch output folder",
    )
    args = parser.parse_args()
    if args.table_from is not None:
        national_table(args.table_from).to_csv(sys.stdout, index=False)
        return
    nodes = args.nodes or (2_000 if args.quick else 5_000)
    folder = args.folder.resolve()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    pbf, authorities = national_extract(folder, args.authorities, nodes, seed=3)
    t1 = time.perf_counter()
    extracts = clip(pbf, authorities, folder)
    t2 = time.perf_counter()
    studies = study_files(authorities, extracts, folder, nodes)
    t3 = time.perf_counter()
    print(f"national PBF {t1 - t0:.1f} s, clip {t2 - t1:.1f} s, layers {t3 - t2:.1f} s", flush=True)
    runs = []
    build_s = prepare_networks(studies)
    print(f"networks built and cached: median {np.median(build_s):.1f} s each", flush=True)
    seq, seq_s = sequential(studies, folder / "out-sequential")
    print(f"sequential: {seq_s:.1f} s", flush=True)
    for w in args.workers:
        run = dask_run(studies, folder / f"out-dask-{w}", w, folder)
        assert not run["failed"], run["failed"]
        for study in studies:
            slug = batch.study_slug(study)
            same_outputs(folder / "out-sequential" / slug, folder / f"out-dask-{w}" / slug)
        frame = run.pop("summary")
        cols = [c for c in frame.columns if c not in batch.MEASURE_COLUMNS]
        pd.testing.assert_frame_equal(frame[cols], seq[cols], check_dtype=False)
        run["same_as_sequential"] = True
        runs.append(run)
        print(json.dumps(run), flush=True)
    table = national_table(folder / "out-sequential")
    name = "national_quick" if args.quick else "national"
    table.to_csv(HERE / "results" / f"{name}_table.csv", index=False)
    out = {
        "authorities": args.authorities,
        "nodes_per_authority": nodes,
        "authority_extracts": [
            {k: a[k] for k in ("code", "nodes_inside", "nodes_in_extract", "ways_in_extract")}
            for a in authorities
        ],
        "national_pbf_s": t1 - t0,
        "clip_s": t2 - t1,
        "layers_s": t3 - t2,
        "network_build_s": build_s,
        "sequential_s": seq_s,
        "sequential_task_s_median": float(seq["task_s"].median()),
        "sequential_task_peak_rss_mb_max": float(seq["task_peak_rss_mb"].max()),
        "runs": runs,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    (HERE / "results" / f"{name}.json").write_text(json.dumps(out, indent=1) + "\n", "utf-8")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
