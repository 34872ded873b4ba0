"""Demand by cardiac-arrest risk end to end on Trafford's real ONS tables.

The demand is Trafford's 139 LSOAs at their population-weighted centroids (Census 2021
residents, IMD 2019 deciles); the ages are ONS's mid-2024 single-year-of-age table; the
walking network is a hand-made tree joining the centroids (their minimum spanning tree), so
every walk can be measured here independently with scipy. The rate tables are made-up round
numbers for the test, not published figures. The expected arrests, the summary totals and
the ranking's choice are each recomputed from the raw files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
from scipy.spatial.distance import pdist, squareform

import defibmap
from defibmap.network import walk
from defibmap.outputs.write import format_summary, write_outputs

LSOAS = "lsoa21_trafford_pop2021_pwc_imd2019.csv"
AGES = "population_mid_year_2024_mid-year_2024_population_estimates_lsoa.csv"
#: test-only bands and rates per 100,000 a year, and rate ratios by IMD quintile
BANDS = ((0, 15, 3.0), (16, 44, 10.0), (45, 64, 60.0), (65, 79, 250.0), (80, None, 700.0))
RATIOS = {1: 1.6, 2: 1.3, 3: 1.1, 4: 1.0, 5: 0.9}
RANK_M = 1500.0
#: the LSOAs (by position in the sorted demand) holding today's defibs and the candidates
DEFIB_AT = (0, 50, 100)
CANDIDATE_AT = (10, 30, 60, 80, 120, 135)


@pytest.fixture(scope="module")
def place(trafford: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The study folder: demand, network, defibs, candidates and the rate tables."""
    folder = tmp_path_factory.mktemp("trafford-risk")
    lsoas = pd.read_csv(trafford / LSOAS).sort_values("LSOA21CD").reset_index(drop=True)
    lsoas.to_csv(folder / "demand.csv", index=False)
    xy = lsoas[["pwc_easting", "pwc_northing"]].to_numpy(float)
    tree = coo_matrix(minimum_spanning_tree(squareform(pdist(xy))))
    net = walk.from_arrays(node_x=xy[:, 0], node_y=xy[:, 1], edge_u=tree.row, edge_v=tree.col)
    walk.save(net, folder / "net.npz")
    length = np.hypot(*(xy[tree.row] - xy[tree.col]).T)
    graph = coo_matrix((length, (tree.row, tree.col)), shape=(len(xy), len(xy)))
    walks = dijkstra(graph, directed=False)  # metres between every pair of centroids

    def sites(at: tuple[int, ...], prefix: str) -> str:
        rows = [f"{prefix}{i},{xy[i, 0]:.4f},{xy[i, 1]:.4f}" for i in at]
        return "id,easting,northing\n" + "\n".join(rows) + "\n"

    (folder / "defibs.csv").write_text(sites(DEFIB_AT, "d"))
    (folder / "candidates.csv").write_text(sites(CANDIDATE_AT, "c"))
    rates = "".join(f"{lo},{'' if hi is None else hi},{r}\n" for lo, hi, r in BANDS)
    (folder / "rates.csv").write_text(
        "# source: test-only rates, not a published table\n"
        "age_from,age_to,rate_per_100000\n" + rates
    )
    (folder / "ratios.csv").write_text(
        "# source: test-only ratios\nimd_quintile,rate_ratio\n"
        + "".join(f"{q},{r}\n" for q, r in RATIOS.items())
    )
    return {"folder": folder, "lsoas": lsoas, "walks": walks, "ages": trafford / AGES}


def _study(place: dict[str, object], demand: str, extra: str = "") -> Path:
    folder = place["folder"]
    assert isinstance(folder, Path)
    text = (
        '[study]\nname = "Trafford risk"\n[network]\ngraph_file = "net.npz"\n'
        '[demand]\nfile = "demand.csv"\nid = "LSOA21CD"\nname = "LSOA21NM"\n'
        'easting = "pwc_easting"\nnorthing = "pwc_northing"\npopulation = "pop_census2021"\n'
        f'imd_decile = "IMD19_decile"\n{demand}\n'
        '[defibs]\nfile = "defibs.csv"\nid = "id"\n'
        '[candidates]\nfile = "candidates.csv"\nid = "id"\n'
        f"[coverage]\nthresholds_m = [500, {RANK_M:g}]\n[ranking]\nnew_sites = 1\n{extra}"
    )
    path = folder / "study.toml"
    path.write_text(text)
    return path


def _hand_arrests(place: dict[str, object]) -> np.ndarray:
    """Expected arrests per LSOA from the raw ONS table, worked without defibmap's readers."""
    lsoas = place["lsoas"]
    assert isinstance(lsoas, pd.DataFrame)
    raw = pd.read_csv(place["ages"])  # type: ignore[arg-type]
    persons = raw[raw["sex"] == "Persons"].set_index("area_code").loc[lsoas["LSOA21CD"]]
    single = {age: persons[str(age)] for age in range(90)} | {90: persons["90+"]}
    total = sum(single.values())
    arrests = 0.0
    for low, high, rate in BANDS:
        top = 90 if high is None else high
        band = sum(single[a] for a in range(low, top + 1))
        arrests = arrests + band / total * rate
    people = lsoas["pop_census2021"].to_numpy(float)
    quintile = np.ceil(lsoas["IMD19_decile"].to_numpy(float) / 2).astype(int)
    ratio = np.array([RATIOS[q] for q in quintile])
    return np.asarray(arrests, dtype=float) * people / 1e5 * ratio


def _best_single_site(place: dict[str, object], weights: np.ndarray) -> tuple[str, float]:
    """Brute force: the candidate adding the most weight within RANK_M of no defib yet."""
    walks = place["walks"]
    assert isinstance(walks, np.ndarray)
    already = (walks[list(DEFIB_AT)] <= RANK_M).any(axis=0)
    gains = {f"c{i}": float(weights[(walks[i] <= RANK_M) & ~already].sum()) for i in CANDIDATE_AT}
    best = max(gains, key=lambda k: gains[k])
    return best, gains[best]


def test_expected_arrests_run_end_to_end_on_traffords_ons_ages(place, tmp_path):
    demand = (
        'weight = "expected_arrests"\n'
        f'ages_file = "{place["ages"]}"\nincidence_file = "rates.csv"\n'
        'deprivation_ratio_file = "ratios.csv"\n'
    )
    result = defibmap.run_study(_study(place, demand))
    write_outputs(result, tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "demand_coverage.csv").set_index("demand_id")
    hand = _hand_arrests(place)
    lsoas = place["lsoas"]
    assert len(table) == len(lsoas) == 139
    got = table.loc[lsoas["LSOA21CD"], "expected_arrests"].to_numpy()
    np.testing.assert_allclose(got, hand, atol=6e-6)  # the CSV keeps 5 decimals
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    weight = summary["demand_weight"]
    assert weight["basis"] == "expected_arrests"
    assert weight["total"] == pytest.approx(hand.sum(), rel=1e-9)
    covered = table.loc[lsoas["LSOA21CD"], "covered"].to_numpy(bool)
    assert weight["covered"]["any_time"] == pytest.approx(hand[covered].sum(), rel=1e-9)
    assert weight["source"]["incidence"] == "test-only rates, not a published table"
    assert weight["source"]["deprivation_ratio"] == "test-only ratios"
    assert weight["age_bands"] == len(BANDS)
    # the terminal says it beside the residents, in the weight's own unit
    line = next(x for x in format_summary(result).splitlines() if x.startswith("Expected cardiac"))
    assert f"{weight['covered']['any_time']:,.1f} any time" in line
    assert f"(of {hand.sum():,.1f})" in line
    # the ranking maximises expected arrests, not residents
    best, gain = _best_single_site(place, hand)
    assert result.ranking.optimal_site_ids == (best,)
    assert result.ranking.optimal_objective == pytest.approx(gain, rel=1e-9)
    people = lsoas["pop_census2021"].to_numpy(float)
    assert gain != pytest.approx(_best_single_site(place, people)[1])


def _incidents(place: dict[str, object]) -> pd.DataFrame:
    """Thirty made-up incidents near six centroids, a third of them at night."""
    lsoas = place["lsoas"]
    assert isinstance(lsoas, pd.DataFrame)
    rng = np.random.default_rng(15)
    at = rng.choice([5, 10, 30, 31, 60, 61], size=30)
    xy = lsoas[["pwc_easting", "pwc_northing"]].to_numpy(float)[at] + rng.normal(0, 80, (30, 2))
    hours = np.array([2, 14, 20] * 10)  # 02:00 is night; 14:00 and 20:00 day
    when = [f"2024-03-{1 + i % 28:02d} {h:02d}:15" for i, h in enumerate(hours)]
    when[4] = "05/03/2024 14:15"  # a day-first date, as UK spreadsheets write it
    return pd.DataFrame(
        {
            "id": [f"i{i}" for i in range(30)],
            "easting": xy[:, 0],
            "northing": xy[:, 1],
            "when": when,
            "place": ["home", "public"] * 15,
        }
    )


@pytest.mark.parametrize("method", ["points", "kernel"])
def test_incidents_run_end_to_end_by_day_and_night(place, tmp_path, method):
    incidents = _incidents(place)
    folder = place["folder"]
    incidents.to_csv(folder / "incidents.csv", index=False)  # type: ignore[operator]
    options = 'method = "kernel"\nbandwidth_m = 400\n' if method == "kernel" else ""
    extra = (
        '[incidents]\nfile = "incidents.csv"\nid = "id"\ndatetime = "when"\n'
        f'location_type = "place"\n{options}'
    )
    result = defibmap.run_study(_study(place, 'weight = "incidents"', extra))
    write_outputs(result, tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "demand_coverage.csv").set_index("demand_id")
    lsoas = place["lsoas"]
    demand_xy = lsoas[["pwc_easting", "pwc_northing"]].to_numpy(float)
    points = incidents[["easting", "northing"]].to_numpy(float)
    d2 = ((points[:, None, :] - demand_xy[None, :, :]) ** 2).sum(axis=2)
    if method == "points":
        share = (d2 == d2.min(axis=1, keepdims=True)).astype(float)
    else:
        kernel = np.exp(-(d2 - d2.min(axis=1, keepdims=True)) / (2 * 400.0**2))
        share = kernel / kernel.sum(axis=1, keepdims=True)
    night = incidents["when"].str[11:13].eq("02").to_numpy()
    hand = share.sum(axis=0)
    order = lsoas["LSOA21CD"]
    np.testing.assert_allclose(table.loc[order, "incidents"], hand, atol=6e-5)
    np.testing.assert_allclose(table.loc[order, "incidents_night"], share[night].sum(0), atol=6e-5)
    np.testing.assert_allclose(table.loc[order, "incidents_day"], share[~night].sum(0), atol=6e-5)
    weight = json.loads((tmp_path / "out" / "summary.json").read_text())["demand_weight"]
    assert weight["total"] == pytest.approx(30.0, rel=1e-12)
    assert (weight["incidents"], weight["day_incidents"], weight["night_incidents"]) == (30, 20, 10)
    assert weight["location_types"] == {"home": 15, "public": 15}
    assert weight["method"] == method
    best, gain = _best_single_site(place, hand)
    assert result.ranking.optimal_site_ids == (best,)
    assert result.ranking.optimal_objective == pytest.approx(gain, rel=1e-9)


def test_a_demand_id_missing_from_the_age_table_stops_the_run_naming_it(place, tmp_path):
    raw = pd.read_csv(place["ages"])
    raw[raw["area_code"] != "E01006074"].to_csv(tmp_path / "ages.csv", index=False)
    demand = (
        f'weight = "expected_arrests"\nages_file = "{tmp_path / "ages.csv"}"\n'
        'incidence_file = "rates.csv"\n'
    )
    with pytest.raises(
        defibmap.InputError, match=r"ages.csv: no row for 1 demand point\(s\) \(E01006074\)"
    ):
        defibmap.run_study(_study(place, demand))


def test_a_bad_incident_time_stops_the_run_naming_file_row_and_column(place):
    incidents = _incidents(place)
    incidents.loc[6, "when"] = "yesterday"
    folder = place["folder"]
    incidents.to_csv(folder / "bad-incidents.csv", index=False)
    extra = '[incidents]\nfile = "bad-incidents.csv"\nid = "id"\ndatetime = "when"\n'
    with pytest.raises(
        defibmap.InputError, match=r"bad-incidents.csv: row 8, column 'when': expected a date"
    ):
        defibmap.run_study(_study(place, 'weight = "incidents"', extra))
    extra = '[incidents]\nfile = "bad-incidents.csv"\nid = "id"\n'
    with pytest.raises(defibmap.InputError, match=r"no date-time column 'datetime'"):
        defibmap.run_study(_study(place, 'weight = "incidents"', extra))
