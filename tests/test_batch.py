"""``defibmap batch`` on a local Dask cluster equals running the studies one by one."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defibmap import batch
from defibmap._errors import ConfigError
from defibmap.cli import main

REPO = Path(__file__).resolve().parents[1]
STUDIES = REPO / "data" / "studies"


def wide_demo_town(tmp_path: Path) -> Path:
    """A copy of the demo town study with other thresholds, its paths made absolute."""
    text = (STUDIES / "demo-town.toml").read_text(encoding="utf-8")
    text = text.replace('"../demo-town/', f'"{(REPO / "data" / "demo-town").as_posix()}/')
    text = text.replace("thresholds_m = [100, 200, 500]", "thresholds_m = [150, 300, 600]")
    text = text.replace("new_sites = 5", "new_sites = 2")
    text = text.replace(
        'name = "Demoton (synthetic demonstration town)"', 'name = "Demoton, wider walks"'
    )
    assert "150, 300, 600" in text
    assert "new_sites = 2" in text
    path = tmp_path / "studies" / "demo-town-wide.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    return path


def sequential(studies: list[str | Path], out: Path) -> None:
    from defibmap.outputs.write import write_outputs
    from defibmap.study.pipeline import load_study, run_study

    for study in studies:
        write_outputs(run_study(load_study(study)), out / batch.study_slug(study))


def same_outputs(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert "summary.json" in names
    assert "map.html" in names
    for name in names:
        if name == "summary.json":
            left = json.loads((a / name).read_text(encoding="utf-8"))
            right = json.loads((b / name).read_text(encoding="utf-8"))
            assert left == right
        elif name.endswith(".csv"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
        # map.html carries folium's random element ids; its data come from the tables above


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip(
        "dask.distributed", reason='needs Dask distributed: pip install "defibmap[dask]"'
    )
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",  # scheduler and workers listen on this machine only
        dashboard_address=":0",  # any free port: 8787 may be taken by another cluster
    ) as local:
        yield local


@pytest.mark.slow
def test_batch_on_two_workers_equals_sequential_runs(cluster, tmp_path):
    wide = wide_demo_town(tmp_path)
    studies: list[str | Path] = ["leeds", "demo-town", wide]
    out = tmp_path / "batch"
    code = main(
        [
            "batch",
            *(str(s) for s in studies),
            "--scheduler",
            cluster.scheduler_address,
            "--out",
            str(out),
        ]
    )
    assert code == 0
    seq = tmp_path / "sequential"
    sequential(studies, seq)
    for slug in ("leeds", "demo-town", "demo-town-wide"):
        same_outputs(out / slug, seq / slug)
    table = pd.read_csv(out / batch.SUMMARY_FILE, keep_default_na=False, na_values=[""])
    assert list(table["study"]) == ["leeds", "demo-town", "demo-town-wide"]
    assert [c for c in table.columns if c.startswith("coverage_")] == [
        "coverage_100m",
        "coverage_150m",
        "coverage_200m",
        "coverage_300m",
        "coverage_500m",
        "coverage_600m",
    ]
    for row in table.itertuples():
        summary = json.loads((seq / row.study / "summary.json").read_text(encoding="utf-8"))
        assert row.name == summary["study"]
        assert row.population == pytest.approx(summary["population_total"])
        for key, share in summary["coverage"].items():
            assert getattr(row, f"coverage_{key}m") == pytest.approx(share)
        ranking = summary["ranking"]
        assert row.greedy_added == pytest.approx(ranking["greedy_population_added"])
        assert row.optimal_added == pytest.approx(ranking["optimal_population_added"])
        assert row.new_sites == ranking["new_sites"]
    assert table.loc[2, "new_sites"] == 2
    assert pd.isna(table.loc[2, "coverage_500m"])
    assert table["error"].isna().all()


def test_a_failed_study_is_reported_and_the_others_run(cluster, tmp_path):
    from dask.distributed import Client

    broken = tmp_path / "broken.toml"
    broken.write_text('[study]\nname = "x"\n[network]\nosm_file = "missing.osm"\n')
    with Client(cluster) as client:
        done = batch.run_batch(["demo-town", broken], tmp_path / "out", client=client)
    assert done.failed == ["broken"]
    row = done.summary.set_index("study").loc["broken"]
    assert "ConfigError" in row["error"]
    assert "missing.osm" in row["error"]
    assert (tmp_path / "out" / "demo-town" / "summary.json").is_file()


def test_a_measured_batch_adds_each_task_s_time_memory_and_worker(cluster, tmp_path):
    from dask.distributed import Client

    wide = wide_demo_town(tmp_path)
    with Client(cluster) as client:
        done = batch.run_batch(["demo-town", wide], tmp_path / "out", client=client, measure=True)
        pids = set(client.run(os.getpid).values())
    table = done.summary
    assert list(table.columns[-3:]) == list(batch.MEASURE_COLUMNS)
    assert set(table["worker_pid"]) <= pids  # each task ran in a worker process, not here
    assert os.getpid() not in set(table["worker_pid"])
    assert (table["task_s"] > 0).all()
    # a worker process with numpy, pandas and a study loaded holds well over 50 MB
    assert (table["task_peak_rss_mb"] > 50).all()
    written = pd.read_csv(done.summary_path)
    assert list(written.columns[-3:]) == list(batch.MEASURE_COLUMNS)


def test_the_peak_memory_mark_is_reset_as_a_task_starts():
    if not batch._reset_peak_rss():
        pytest.skip("this system cannot reset the peak memory mark (Linux clear_refs)")
    big = np.ones(40_000_000)  # 320 MB, touched
    big[::512] += 1.0
    del big
    before = batch._peak_rss_mb()
    assert batch._reset_peak_rss()
    after = batch._peak_rss_mb()
    assert after < before - 200  # the 320 MB array no longer counts


def test_two_studies_may_not_share_an_output_folder(tmp_path):
    other = tmp_path / "leeds.toml"
    other.write_text("")
    with pytest.raises(ConfigError, match="both write to leeds/"):
        batch.run_batch(["leeds", other], tmp_path / "out")


def test_batch_help_works_without_dask(monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "dask" or m.startswith(("dask.", "distributed"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert 'pip install "defibmap[dask]"' in text
    assert "--scheduler ADDRESS" in text
    assert "--measure" in text
    code = main(["batch", "demo-town"])
    assert code == 1
    err = capsys.readouterr().err
    assert 'pip install "defibmap[dask]"' in err
