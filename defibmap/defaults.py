"""Every default a study uses, each with its source or marked as an assumption.

A study file can change each of these (``docs/study-file.md``); the sources are listed in
``docs/references.md``. Distances are metres, times seconds.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "AMBULANCE_MEAN_S",
    "AMBULANCE_P90_S",
    "AMBULANCE_S",
    "AMBULANCE_TURNOUT_S",
    "CABINET_S",
    "DEFAULT_BUFFER_M",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_REGISTER_WITHIN_M",
    "DEFAULT_SCHOOL_HOURS",
    "DEFAULT_SCHOOL_TERM_WEEKS",
    "DEFAULT_SPEEDS_KPH",
    "DEFAULT_THRESHOLDS_M",
    "FIRE_AVAILABLE",
    "FIRE_TURNOUT_ON_CALL_S",
    "FIRE_TURNOUT_S",
    "LOCKED_CABINET_EXTRA_S",
    "RECOGNITION_S",
    "RESPONSE_DRAWS",
    "RESPONSE_SEED",
    "SECOND_BYSTANDER",
    "WALKING_SPEED_M_S",
    "WALKING_SPEED_SIGMA",
]

#: Walking distances reported at once, metres: 100, 200 and 500 m.
DEFAULT_THRESHOLDS_M = (100.0, 200.0, 500.0)
#: A point farther than this from every walkable edge is refused, not snapped, metres.
DEFAULT_MAX_SNAP_M = 250.0
#: Distance the OpenStreetMap search area reaches beyond a boundary, metres (people near the
#: edge walk to defibs beyond it). At least the longest walk searched.
DEFAULT_BUFFER_M = 2000.0
#: A register defib and an OpenStreetMap defib this close are one device, metres.
DEFAULT_REGISTER_WITHIN_M = 25.0

#: Default school hours in term time (Department for Education defibrillators for schools,
#: 2022-23: most hang indoors, usable while the school is open).
DEFAULT_SCHOOL_HOURS = "Mo-Fr 08:00-16:00"
#: School term weeks a year (England: 190 school days = 38 weeks, plus staff days; 39 is the
#: usual contractual term-time year).
DEFAULT_SCHOOL_TERM_WEEKS = 39

#: Brisk walking speed of a bystander fetching a defib, m/s: 4 mph, as used by Deakin CD,
#: Anfield S, Hodgetts GA, "Underutilisation of public access defibrillation is related to
#: retrieval distance and time-dependent availability", Heart 2018;104(16):1339-1343.
WALKING_SPEED_M_S = 1.79
#: Seconds to open an unlocked cabinet and take the defib out. Assumption, not a measured
#: figure: confirm locally.
CABINET_S = 30.0
#: Extra seconds at a locked cabinet while the caller gets the access code from the 999 call
#: handler. Assumption, not a measured figure: confirm with the ambulance service.
LOCKED_CABINET_EXTRA_S = 60.0
#: Fire crew turnout, seconds from the call to the appliance leaving the station. Assumption
#: for wholetime crews: confirm with the fire and rescue service (retained crews take longer).
FIRE_TURNOUT_S = 120.0
#: Ambulance response, seconds: the NHS England Category 1 mean response standard of 7 minutes
#: (NHS England, Ambulance Response Programme, July 2017). A published standard, never tuned
#: to a study; achieved mean times are often longer.
AMBULANCE_S = 420.0
#: Ambulance turnout when drives from ambulance bases are given, seconds from the call to the
#: vehicle moving. Assumption: crews are often already mobile, so a drive from the base is a
#: conservative stand-in; confirm with the ambulance service.
AMBULANCE_TURNOUT_S = 60.0

#: Default speed (km/h) per OSM ``highway`` type for ways without a usable ``maxspeed``.
#: Assumed UK urban limits, not a published table: motorway 60 mph (96), trunk 40 mph (64),
#: primary and secondary 30 mph (48), tertiary 25 mph (40, a mix of 20 and 30 mph zones),
#: residential, unclassified and unknown roads 20 mph (32), living streets 10 mph (16).
#: ``service`` is listed for completeness: osmnx's ``"drive"`` filter drops service roads.
DEFAULT_SPEEDS_KPH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 96.0,
        "motorway_link": 64.0,
        "trunk": 64.0,
        "trunk_link": 48.0,
        "primary": 48.0,
        "primary_link": 40.0,
        "secondary": 48.0,
        "secondary_link": 40.0,
        "tertiary": 40.0,
        "tertiary_link": 32.0,
        "residential": 32.0,
        "unclassified": 32.0,
        "road": 32.0,
        "living_street": 16.0,
        "service": 16.0,
    }
)

# --- Time to the first defib as a distribution (defibmap.analysis.response_draws) ---

#: Ambulance Category 1 mean response, seconds: the NHS England standard of a 7-minute mean
#: (NHS England, Ambulance Response Programme, July 2017; the Handbook to the NHS Constitution).
#: Achieved means are published monthly in NHS England's Ambulance Quality Indicators and have
#: often been longer; a study should use its trust's figure.
AMBULANCE_MEAN_S = AMBULANCE_S
#: Ambulance Category 1 90th centile, seconds: the NHS England standard of 15 minutes for 9
#: calls in 10 (NHS England, Ambulance Response Programme, July 2017).
AMBULANCE_P90_S = 900.0
#: Seconds from the 999 call until the arrest is recognised and a bystander is sent for the
#: defib (or a fire crew alerted). Assumption: confirm with the ambulance service's call
#: audit. For comparison, a Swedish study of 2,631 suspected arrests (PubMed 36162614, 2022)
#: measured a median of 1.8 min from call to ambulance dispatch and 3.0 min from call to
#: volunteer-responder dispatch.
RECOGNITION_S = 60.0
#: Probability that a second person is there to fetch the defib while the first does CPR
#: (UK call handlers send one if they can). Assumption: no UK figure found; confirm locally.
SECOND_BYSTANDER = 0.5
#: Spread of the bystander's speed, the standard deviation of its logarithm, around the median
#: walking speed: log(4.0 / 1.4) / (2 x 0.6745), from the interquartile range 1.4-4.0 m/s of
#: dispatched lay responders' travelling speed (median 2.3 m/s) in Jonsson M, Berglund E,
#: Djarv T, et al., "A brisk walk - real-life travelling speed of lay responders in
#: out-of-hospital cardiac arrest", Resuscitation 2020;151:197-204. Their responders
#: travelled by any mode; the spread is used, the median stays the walking speed. 0 gives
#: the fixed speed.
WALKING_SPEED_SIGMA = 0.7782
#: Probability that the co-responding fire crew is free when called. Assumption: confirm with
#: the fire and rescue service (on-call appliance availability is often reported by them).
FIRE_AVAILABLE = 0.9
#: Turnout of an on-call (retained) crew, seconds from the alert to the appliance leaving:
#: on-call firefighters come from home or work to the station. Assumption (UK on-call
#: contracts commonly ask for about 5 minutes to reach the station): confirm with the fire
#: and rescue service. Wholetime crews use ``FIRE_TURNOUT_S``.
FIRE_TURNOUT_ON_CALL_S = 300.0
#: Monte Carlo draws of the time to the first defib, and their seed (same seed, same figures).
RESPONSE_DRAWS = 1000
RESPONSE_SEED = 20_170_701
