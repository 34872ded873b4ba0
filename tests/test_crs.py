"""The study CRS: chosen for the points, and refused when its metres are not ground metres."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defibmap._crs import check_scale, projected_crs_for
from defibmap._errors import ConfigError

LEEDS_LON = np.array([-1.56, -1.50])
LEEDS_LAT = np.array([53.80, 53.84])


@pytest.mark.parametrize("crs", ["EPSG:27700", "EPSG:32630"])
def test_conformal_local_crs_is_accepted(crs: str) -> None:
    check_scale(crs, LEEDS_LON, LEEDS_LAT)


def test_web_mercator_is_refused_with_its_stretch() -> None:
    # Web Mercator's scale factor is 1 / cos(latitude) on the sphere: worked out by hand at
    # the study's southern and northern edges, the larger (north) is the worst.
    worst = 1 / math.cos(math.radians(LEEDS_LAT.max()))
    with pytest.raises(ConfigError) as caught:
        check_scale("EPSG:3857", LEEDS_LON, LEEDS_LAT)
    message = str(caught.value)
    assert message.startswith("[network] crs = 'EPSG:3857' does not keep distances true")
    assert f"scale factor is {worst:.3f}" in message
    assert f"{worst - 1:.0%} too long" in message


@pytest.mark.parametrize(
    ("crs", "reason"),
    [
        ("EPSG:4326", "is not projected"),
        ("EPSG:2263", "not metres"),  # New York Long Island, US survey feet
        ("EPSG:999999", "not a coordinate reference system pyproj knows"),
        ("metres please", "not a coordinate reference system pyproj knows"),
    ],
)
def test_unusable_crs_is_refused_with_the_reason(crs: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        check_scale(crs, LEEDS_LON, LEEDS_LAT)


def test_utm_zone_far_from_the_study_is_refused() -> None:
    # UTM zone 33 N (central meridian 15 E) is about 16.5 degrees of longitude from Leeds; on
    # the sphere a transverse Mercator scale is 1 / sqrt(1 - B^2), B = cos(lat) sin(dlon), times
    # UTM's 0.9996: about 1.014 there, beyond the 1 % allowed.
    b = math.cos(math.radians(53.80)) * math.sin(math.radians(15 + 1.56))
    assert 0.9996 / math.sqrt(1 - b * b) > 1.01
    with pytest.raises(ConfigError, match="does not keep distances true"):
        check_scale("EPSG:32633", LEEDS_LON, LEEDS_LAT)


def test_chosen_crs_passes_its_own_check() -> None:
    for lon, lat in [(LEEDS_LON, LEEDS_LAT), (np.array([2.30, 2.40]), np.array([48.8, 48.9]))]:
        check_scale(projected_crs_for(lon, lat), lon, lat)


def test_a_study_with_web_mercator_stops_before_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    from defibmap import load_study, run_study
    from defibmap.study import stages

    def no_network(*_args: object, **_kwargs: object) -> None:
        pytest.fail("the network was built for a CRS that stretches distances")

    monkeypatch.setattr(stages, "build_network", no_network)
    config = load_study("demo-town")
    config = dataclasses.replace(
        config, network=dataclasses.replace(config.network, crs="EPSG:3857")
    )
    with pytest.raises(ConfigError, match=r"\[network\] crs = 'EPSG:3857' does not keep"):
        run_study(config)
