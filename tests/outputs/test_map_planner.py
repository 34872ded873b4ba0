"""The map's what-if planner data, checked without a browser.

:func:`defibmap.study.compare.planner` measures every site's catchment and hours once;
:func:`~defibmap.study.compare.planner_figures` (the arithmetic the page repeats in
JavaScript) must give what :func:`defibmap.compare` gives by searching the network again, for
any plan: adding candidates, taking defibs away, both.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from defibmap.outputs.map._planner import json_for_script
from defibmap.study.compare import compare, planner, planner_figures


@pytest.fixture(scope="module")
def demo():
    import defibmap

    return defibmap.run_study("demo-town")


def _active(plan, ids):
    active = np.zeros(len(plan.site_ids), dtype=bool)
    active[: plan.n_current] = True
    where = {s: i for i, s in enumerate(plan.site_ids)}
    for s in ids:
        if s.startswith("-"):
            active[where[s[1:]]] = False
        else:
            active[where[s]] = True
    return active


def test_planner_figures_equal_compare(demo) -> None:
    plan = planner(demo)
    ranked = list(demo.recommendations.sort_values("rank")["site_id"].astype(str))
    others = [s for s in plan.site_ids[plan.n_current :] if s not in ranked]
    defibs = list(plan.site_ids[: plan.n_current])
    plans = {
        "today": [],
        "recommended": ranked,
        "without #1": ranked[1:],
        "another": [others[0]],
        "five others": others[:5],
        "two defibs away": [f"-{defibs[0]}", f"-{defibs[1]}"],
        "mixed": [*ranked[:2], f"-{defibs[2]}"],
    }
    table = compare(demo, plans)
    for name, ids in plans.items():
        shown = planner_figures(plan, _active(plan, ids))
        expected = table.loc[name, ["available", "night", "any_time"]].to_numpy(dtype=float)
        np.testing.assert_allclose(shown, expected, rtol=0, atol=1e-12, err_msg=name)
    # the empty plan is the study's own figures (summary.json)
    key = str(round(demo.config.headline_threshold_m))
    today = planner_figures(plan, _active(plan, []))
    assert today[0] == pytest.approx(demo.coverage_available[key], abs=1e-12)
    assert today[1] == pytest.approx(demo.coverage_night[key], abs=1e-12)
    assert today[2] == pytest.approx(demo.coverage[key], abs=1e-12)


def test_slots_cover_the_year_and_pairs_are_within_the_walk(demo) -> None:
    plan = planner(demo)
    assert plan.slot_hours.sum() == 52 * 168
    assert plan.slot_usable.shape == (len(plan.site_ids), len(plan.slot_hours))
    assert (plan.pair_walk_m <= plan.threshold_m).all()
    assert len(set(plan.site_ids)) == len(plan.site_ids)


def test_json_in_a_script_cannot_end_it() -> None:
    text = json_for_script({"name": "</script><img src=x onerror=alert(1)>&amp;"})
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert json.loads(text)["name"] == "</script><img src=x onerror=alert(1)>&amp;"
