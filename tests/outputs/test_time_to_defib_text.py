"""What the user reads about the time to the first defib: ranges, and no false 100 %.

A share reached in most draws but not all must not read as 100 % in the table, the report
or the terminal; a share of 1 in every draw may. The median is given with its 10th-90th
percentile across draws.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from defibmap.outputs import _report_sections, tables
from defibmap.study.parts import TimeAssumptions, TimeSummary, TimeToDefib


def _result(share_8: float, p10_8: float) -> SimpleNamespace:
    summary = TimeSummary(
        population=100.0,
        median_s=258.0,
        within_min_share={"3": 0.34, "5": 0.572, "8": share_8},
        first_route_share={"bystander": 0.1, "fire": 0.0, "ambulance": 0.9, "none": 0.0},
        draws=1000,
        median_s_p10=246.0,
        median_s_p90=270.0,
        within_min_share_p10={"3": 0.32, "5": 0.552, "8": p10_8},
        within_min_share_p90={"3": 0.36, "5": 0.594, "8": 1.0},
        p_defib_before_ambulance=0.1,
        expected_min_saved=0.83,
    )
    assumptions = TimeAssumptions(
        walking_speed_m_s=1.79,
        cabinet_s=30.0,
        locked_cabinet_extra_s=60.0,
        fire_turnout_s=120.0,
        ambulance_s=420.0,
        ambulance="lognormal",
        sources={},
        draws=1000,
    )
    block = TimeToDefib(
        scenarios={"current": summary},
        per_point_scenario="current",
        co_responding="not assessed",
        assumptions=assumptions,
        notes=(),
    )
    return SimpleNamespace(time_to_defib=block)


def test_a_share_short_of_one_never_reads_as_100_percent():
    result = _result(0.99962, 0.998)
    frame = tables.time_to_defib(result)  # type: ignore[arg-type]
    assert frame is not None
    assert frame.loc[0, "within_8_min_share"] == pytest.approx(0.999)
    html = _report_sections.time_to_defib(result)  # type: ignore[arg-type]
    assert "100.0%" not in html
    assert "99.9%" in html
    assert "4.1-4.5 min" in html  # 246 s and 270 s across draws


def test_a_share_of_one_in_every_draw_reads_as_100_percent():
    result = _result(1.0, 1.0)
    html = _report_sections.time_to_defib(result)  # type: ignore[arg-type]
    assert "100.0%" in html


def test_terminal_line_gives_the_median_and_its_range_across_draws():
    lines = tables.time_headline(_result(0.9, 0.85))  # type: ignore[arg-type]
    assert lines == [
        (
            "Current defibs: median 4.3 min (10th-90th percentile across draws 4.1-4.5); "
            "57.2% within 5 min (55.2%-59.4%)"
        )
    ]


def test_fire_scenarios_read_as_their_base_plus_fire_co_responders():
    assert tables.scenario_label("current+fire") == "Current defibs + fire co-responders"
    assert tables.scenario_label("current") == "Current defibs"
    assert tables.scenario_label("my+fire") == "my+fire"  # unknown base: as it is
