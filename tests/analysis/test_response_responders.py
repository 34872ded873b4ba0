"""Community first responders in the time to the first defib: closed forms and the no-op case.

The nearest volunteer accepts the alert (and brings a defib) with probability
``responder_accept`` and arrives ``recognition_s + walk / speed`` after the call. Checked by
hand: with acceptance 1 and a fixed speed the time is the distance over the speed; with
acceptance 0 every draw equals the run without volunteers; with acceptance p the volunteer
is first in a share p of the draws (binomial bounds).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from defibmap.analysis import response_draws as rd
from defibmap.network import walk as nw
from defibmap.network.snapping import snap_points
from defibmap.study import timing


def _assume(**kw: object) -> rd.DrawAssumptions:
    base: dict[str, object] = {
        "ambulance": rd.Lognormal.from_mean_p90(86_400.0, 86_400.0),
        "walking_speed": rd.Lognormal.from_median_sigma(1.79, 0.0),
        "recognition_s": 0.0,
        "second_bystander": 0.0,
        "fire_available": 1.0,
        "cabinet_s": 30.0,
        "locked_cabinet_extra_s": 60.0,
        "draws": 40,
        "seed": 3,
    }
    base.update(kw)
    return rd.DrawAssumptions(**base)  # type: ignore[arg-type]


def _inputs(n: int, responder_s: np.ndarray | None, walk: np.ndarray | None = None):
    walk_m = np.full(n, np.nan) if walk is None else walk
    return rd.ScenarioInputs(walk_m, np.zeros(n, bool), np.ones(n), responder_s=responder_s)


@pytest.mark.parametrize("recognition_s", [0.0, 45.0])
def test_acceptance_one_and_a_fixed_speed_give_distance_over_speed(recognition_s):
    walk_m = np.array([0.0, 120.0, 460.0, 1800.0])
    speed = 2.0  # m/s
    drawn = rd.draw_scenarios(
        {"s": _inputs(4, walk_m / speed)},
        assumptions=_assume(responder_accept=1.0, recognition_s=recognition_s),
    )["s"]
    # by hand: 0 / 2, 120 / 2, 460 / 2 and 1800 / 2 seconds, after the recognition
    expected = recognition_s + np.array([0.0, 60.0, 230.0, 900.0])
    for d in range(drawn.times.shape[1]):
        np.testing.assert_array_equal(drawn.times[:, d], expected)
    assert list(rd.per_point_route(drawn)) == ["first_responder"] * 4
    figures = rd.population_figures(drawn, np.ones(4))
    assert figures.first_route_share["first_responder"] == 1.0
    assert figures.p_defib_before_ambulance == 1.0


def test_a_point_with_no_volunteer_in_reach_never_gets_one():
    drawn = rd.draw_scenarios(
        {"s": _inputs(2, np.array([np.nan, 100.0]))},
        assumptions=_assume(responder_accept=1.0),
    )["s"]
    assert (drawn.times[0] == 86_400.0).all()  # the ambulance, by hand
    assert (drawn.times[1] == 100.0).all()


def test_acceptance_zero_equals_the_run_without_volunteers():
    rng = np.random.default_rng(11)
    n = 60
    walk = rng.uniform(0.0, 700.0, n)
    walk[::7] = np.nan
    fire = rng.uniform(200.0, 500.0, n)
    spread = _assume(
        ambulance=rd.Lognormal.from_mean_p90(420.0, 900.0),
        walking_speed=rd.Lognormal.from_median_sigma(1.79, 0.7782),
        recognition_s=60.0,
        second_bystander=0.5,
        fire_available=0.9,
        draws=300,
    )
    volunteers = rng.uniform(10.0, 400.0, n)

    def scenario(responder_s):
        return {
            "now": _inputs(n, responder_s, walk),
            "now+fire": rd.ScenarioInputs(
                walk, np.zeros(n, bool), np.ones(n), fire, responder_s=responder_s
            ),
        }

    without = rd.draw_scenarios(scenario(None), assumptions=spread)
    with_none_accepting = rd.draw_scenarios(
        scenario(volunteers), assumptions=replace(spread, responder_accept=0.0)
    )
    people = rng.integers(1, 500, n).astype(float)
    for name, old in without.items():
        new = with_none_accepting[name]
        np.testing.assert_array_equal(new.times, old.times)
        np.testing.assert_array_equal(new.route, old.route)
        np.testing.assert_array_equal(new.ambulance, old.ambulance)
        a, b = rd.population_figures(old, people), rd.population_figures(new, people)
        assert b.median_s == a.median_s
        assert b.within_min_share == a.within_min_share
        assert b.p_defib_before_ambulance == a.p_defib_before_ambulance
        assert b.first_route_share == {**a.first_route_share, "first_responder": 0.0}


def test_acceptance_share_is_the_share_of_draws_the_volunteer_comes_first():
    n, draws, accept = 50, 2_000, 0.3
    drawn = rd.draw_scenarios(
        {"s": _inputs(n, np.full(n, 60.0))},
        assumptions=_assume(
            ambulance=rd.Lognormal.from_mean_p90(420.0, 420.0),
            responder_accept=accept,
            draws=draws,
        ),
    )["s"]
    first = (drawn.route == 3).mean()
    # binomial: 100,000 independent draws, standard error sqrt(0.3 * 0.7 / 1e5) ~ 0.00145
    assert abs(first - accept) < 5 * np.sqrt(accept * (1 - accept) / (n * draws))
    figures = rd.population_figures(drawn, np.ones(n))
    assert figures.p_defib_before_ambulance == pytest.approx(first)
    # each draw is 60 s (the volunteer) or 420 s (the ambulance), nothing else
    assert set(np.unique(drawn.times)) == {60.0, 420.0}
    # the same seed gives the same draws
    again = rd.draw_scenarios(
        {"s": _inputs(n, np.full(n, 60.0))},
        assumptions=_assume(
            ambulance=rd.Lognormal.from_mean_p90(420.0, 420.0),
            responder_accept=accept,
            draws=draws,
        ),
    )["s"]
    np.testing.assert_array_equal(again.times, drawn.times)


def test_responder_walks_by_hand_on_a_line():
    # 0 (0,0) -- 1 (100,0) -- 2 (200,0) -- 3 (200,100); a volunteer at (20, 0)
    net = nw.from_arrays(
        node_x=np.array([0.0, 100.0, 200.0, 200.0]),
        node_y=np.array([0.0, 0.0, 0.0, 100.0]),
        edge_u=np.array([0, 1, 2]),
        edge_v=np.array([1, 2, 3]),
    )
    volunteer = snap_points(net, np.array([20.0]), np.array([0.0]))
    demand = snap_points(net, np.array([150.0, 200.0, 0.0]), np.array([0.0, 60.0, 0.0]))
    walk = timing.responder_walks(net, demand, volunteer, alert_m=200.0)
    # by hand: 150 - 20 = 130 m; 180 + 60 = 240 m is beyond the 200 m alert; 20 m
    np.testing.assert_allclose(walk, [130.0, np.nan, 20.0])
    nobody = snap_points(net, np.array([]), np.array([]))
    assert np.isnan(timing.responder_walks(net, demand, nobody, alert_m=200.0)).all()
