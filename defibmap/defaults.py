"""Every default a study uses, each with its source or marked as an assumption.

A study file can change most of these (``docs/study-file.md``). Each constant has a one-line
source here; the full reference (authors, title, journal, year) and how defibmap uses it is in
``docs/references.md`` under the constant's name, and ``tests/test_references.py`` fails when a
name in ``__all__`` has no entry there. Distances are metres, times seconds unless the name
says otherwise.
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
    "DAY_WINDOW_H",
    "DEFAULT_BUFFER_M",
    "DEFAULT_DRIVE_LIMIT_S",
    "DEFAULT_FALLBACK_KPH",
    "DEFAULT_MAX_DAYS_UNCHECKED",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_NEW_SITES",
    "DEFAULT_REGISTER_WITHIN_M",
    "DEFAULT_SAME_SITE_M",
    "DEFAULT_SCHOOL_HOURS",
    "DEFAULT_SCHOOL_TERM_WEEKS",
    "DEFAULT_SPEEDS_KPH",
    "DEFAULT_TARGETS",
    "DEFAULT_THRESHOLDS_M",
    "DEPRIVATION_WEIGHT_MAX",
    "FIRE_AVAILABLE",
    "FIRE_TURNOUT_ON_CALL_S",
    "FIRE_TURNOUT_S",
    "FIRST_RESPONDER_ACCEPT",
    "FIRST_RESPONDER_ALERT_M",
    "FIRST_RESPONDER_DEFIB",
    "FIRST_RESPONDER_SPEED_M_S",
    "LOCKED_CABINET_EXTRA_S",
    "NIGHT_WINDOW_H",
    "OVERPASS_WALK_MB_PER_KM2",
    "RECOGNITION_S",
    "RESPONSE_DRAWS",
    "RESPONSE_SEED",
    "RESPONSE_WITHIN_MIN",
    "SECOND_BYSTANDER",
    "SENSITIVITY_AMBULANCE_FACTOR",
    "SENSITIVITY_DEMAND_WEIGHT_CV",
    "SENSITIVITY_DRAWS",
    "SENSITIVITY_SECOND_BYSTANDER",
    "SENSITIVITY_SEED",
    "SENSITIVITY_STABLE_SHARE",
    "SENSITIVITY_THRESHOLD_FACTOR",
    "SENSITIVITY_UNKNOWN_HOURS",
    "SENSITIVITY_WALKING_SPEED_M_S",
    "SMALL_GROUP_SHARE",
    "SURVIVAL_MODEL",
    "WALKING_SPEED_M_S",
    "WALKING_SPEED_SIGMA",
]

# --- Walking reach -------------------------------------------------------------------------

#: Walking distances reported at once, metres: 100, 200 and 500 m. Source: Deakin, Anfield &
#: Hodgetts, Heart 2018 (share of arrests within 100 m and 500 m of an AED); 200 m is an
#: assumption between the two.
DEFAULT_THRESHOLDS_M = (100.0, 200.0, 500.0)
#: Brisk walking speed of a bystander fetching a defib, m/s (4 mph). Source: Deakin CD,
#: Anfield S, Hodgetts GA, Heart 2018;104(16):1339-1343.
WALKING_SPEED_M_S = 1.79
#: A point farther than this from every walkable edge is refused, not snapped, metres.
#: Assumption: a generous limit for a building set back from a street.
DEFAULT_MAX_SNAP_M = 250.0
#: Distance the OpenStreetMap search area reaches beyond a boundary, metres (people near the
#: edge walk to defibs beyond it). Assumption: at least the longest walk searched.
DEFAULT_BUFFER_M = 2000.0
#: Size of a walking-network download per square kilometre of search area, megabytes, for
#: the offline message's estimate only. Measured: the shipped inner-Leeds OpenStreetMap
#: extract (2014) holds 0.76 MB of walkable ways and their nodes as Overpass JSON on 8.4 km².
OVERPASS_WALK_MB_PER_KM2 = 0.09
#: A register defib and an OpenStreetMap defib this close are one device, metres.
#: Assumption: the spread of geocoded and mapped positions of one building.
DEFAULT_REGISTER_WITHIN_M = 25.0
#: A layer file's row and an OpenStreetMap feature of the same layer this close are one site,
#: metres (postcode-placed rows against building centroids). Assumption.
DEFAULT_SAME_SITE_M = 50.0
#: Days since a register's last recorded check after which a defib counts as not ready.
#: Assumption: The Circuit (British Heart Foundation, the national defibrillator network) sends
#: its guardians regular reminders to check a device and record it, but publishes no interval
#: after which a record is stale; 90 days (a quarter) is a stated choice: confirm locally.
DEFAULT_MAX_DAYS_UNCHECKED = 90

# --- When a defib is usable ------------------------------------------------------------------

#: Default school hours in term time. Assumption informed by the DfE defibrillators-for-schools
#: programme (every state-funded school in England had a defib by July 2023; most indoors).
DEFAULT_SCHOOL_HOURS = "Mo-Fr 08:00-16:00"
#: School term weeks a year. Source: 195 days a maintained school is open to teachers
#: (190 teaching days + 5 training days; School Teachers' Pay and Conditions Document) = 39 weeks.
DEFAULT_SCHOOL_TERM_WEEKS = 39
#: Night window, hours of every day ``[start, end)``: 00:00-06:00. Assumption (a definition):
#: the hours when few buildings are open; compare Deakin et al., Heart 2018 (34.3 % of AEDs
#: available at night).
NIGHT_WINDOW_H = (0, 6)
#: Daytime window, hours of Monday to Friday ``[start, end)``: 09:00-17:00. Assumption (a
#: definition): office hours.
DAY_WINDOW_H = (9, 17)

# --- Ranking and demand ----------------------------------------------------------------------

#: New sites the ranking picks when a study does not say. Assumption: a short list a board
#: can act on.
DEFAULT_NEW_SITES = 3
#: Coverage targets (shares 0-1) the "fewest sites for a target" table answers. Assumption:
#: round planning targets, not a published standard.
DEFAULT_TARGETS = (0.5, 0.75, 0.9)
#: Weight of IMD decile 1 under ``weight = "deprivation"`` (decile 10 weighs 1, linear between).
#: Assumption, not a measured rate ratio: OHCA incidence is higher in deprived areas (Brown
#: et al., Eur Heart J Qual Care Clin Outcomes 2019) but no published ratio is used here.
DEPRIVATION_WEIGHT_MAX = 2.0

# --- Time to the first defib ----------------------------------------------------------------

#: Seconds to open an unlocked cabinet and take the defib out. Assumption, not a measured
#: figure: confirm locally.
CABINET_S = 30.0
#: Extra seconds at a locked cabinet while the caller gets the access code from the 999 call
#: handler. Assumption, not a measured figure: confirm with the ambulance service.
LOCKED_CABINET_EXTRA_S = 60.0
#: Fire crew turnout, seconds from the call to the appliance leaving the station. Assumption
#: for wholetime crews: confirm with the fire and rescue service (retained crews take longer).
FIRE_TURNOUT_S = 120.0
#: Ambulance response, seconds: the Category 1 mean response standard of 7 minutes. Source:
#: NHS England, Ambulance Response Programme standards, July 2017. A published standard,
#: never tuned to a study; achieved mean times are often longer.
AMBULANCE_S = 420.0
#: Ambulance turnout when drives from ambulance bases are given, seconds from the call to the
#: vehicle moving. Assumption: crews are often already mobile, so a drive from the base is a
#: conservative stand-in; confirm with the ambulance service.
AMBULANCE_TURNOUT_S = 60.0
#: Minutes within which the share of people a defib reaches is reported (and the map's bands).
#: Source for 8: the former Department of Health Category A standard (75 % of calls within
#: 8 minutes, replaced in 2017); 3 and 5: assumption, the early minutes in which a shock does
#: most good (survival falls several points a minute: Larsen et al., Ann Emerg Med 1993).
RESPONSE_WITHIN_MIN = (3, 5, 8)

#: A deprivation decile holding less of the study's population than this share (0-1) is
#: flagged beside the equity figures: its coverage share rests on few people. Assumption (half
#: the 10 % an even spread over ten deciles gives), not a published threshold.
SMALL_GROUP_SHARE = 0.05

#: Default speed (km/h) per OSM ``highway`` type for ways without a usable ``maxspeed``.
#: Assumption: UK urban limits, not a published table: motorway 60 mph (96), trunk 40 mph
#: (64), primary and secondary 30 mph (48), tertiary 25 mph (40, a mix of 20 and 30 mph zones),
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
#: Speed (km/h) for a road type neither tagged with ``maxspeed`` nor in
#: :data:`DEFAULT_SPEEDS_KPH`. Assumption: 20 mph, the residential speed.
DEFAULT_FALLBACK_KPH = 32.0
#: Default search limit of a drive, seconds; farther patients count as unreachable by that
#: route. Assumption: an hour, far beyond any response standard.
DEFAULT_DRIVE_LIMIT_S = 3600.0

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

# --- Community first responders ([first_responders]) ---------------------------------------

#: Probability that the nearest alerted volunteer accepts and sets off. Assumption: recent
#: studies of app-alerted volunteer responders report response rates of 17 % to 47 %
#: (Khalemsky M et al., "Predictive Dispatch of Volunteer First Responders: Algorithm
#: Development and Validation", JMIR mHealth uHealth 2023;11:e41551); 0.3 lies in that range.
#: Confirm with the ambulance service's scheme.
FIRST_RESPONDER_ACCEPT = 0.3
#: Probability that the volunteer who sets off brings a defib. Assumption: ambulance trusts'
#: Community First Responder schemes equip their responders with one; set it lower for an
#: app's lay volunteers, who may only do CPR.
FIRST_RESPONDER_DEFIB = 1.0
#: Travelling speed of an alerted volunteer, m/s, by any mode, over the walking-network
#: distance. Source: median 2.3 m/s of dispatched lay responders in Jonsson M, Berglund E,
#: Djarv T, et al., Resuscitation 2020;151:197-204.
FIRST_RESPONDER_SPEED_M_S = 2.3
#: Farthest volunteer alerted, metres of walk. Source: Andelius L et al., "Smartphone
#: Activation of Citizen Responders to Facilitate Defibrillation in Out-of-Hospital Cardiac
#: Arrest", J Am Coll Cardiol 2020;76(1):43-53 (responders within 1.8 km were alerted).
FIRST_RESPONDER_ALERT_M = 1800.0

# --- Sensitivity and rank stability (defibmap.analysis.sensitivity) ---

#: Draws when a study has a ``[sensitivity]`` section without ``draws``. Assumption: enough
#: for a 10th-90th percentile interval and top-k shares to about +/- 3 points.
SENSITIVITY_DRAWS = 200
#: Seed of the sensitivity draws (same seed, same counts). Assumption: any fixed number.
SENSITIVITY_SEED = 20_161_016
#: Share (0-1) of draws an option must be in the top k to count as stable. Assumption: a
#: stated choice (9 draws in 10), not a published threshold.
SENSITIVITY_STABLE_SHARE = 0.9
#: Range of the bystander's walking speed, m/s. Assumption informed by Jonsson et al.,
#: Resuscitation 2020;151:197-204 (lay responders: lower quartile 1.4 m/s, median 2.3 m/s).
SENSITIVITY_WALKING_SPEED_M_S = (1.4, 2.3)
#: Range of the factor on the walking thresholds. Assumption: +/- 20 % around the study's.
SENSITIVITY_THRESHOLD_FACTOR = (0.8, 1.2)
#: Range of the probability that a defib of unknown hours is usable in them. Assumption:
#: nothing is known, so anything from none to all.
SENSITIVITY_UNKNOWN_HOURS = (0.0, 1.0)
#: Range of the second-bystander probability. Assumption: around SECOND_BYSTANDER (0.5).
SENSITIVITY_SECOND_BYSTANDER = (0.25, 0.75)
#: Range of the factor on every ambulance time. Assumption: from a little faster than the
#: standard to half as slow again (achieved Category 1 means have been longer than 7 min).
SENSITIVITY_AMBULANCE_FACTOR = (0.9, 1.5)
#: Coefficient of variation of each demand point's weight factor. Assumption: a 20 %
#: spread on small-area counts and rates.
SENSITIVITY_DEMAND_WEIGHT_CV = 0.2

# --- Expected survival (defibmap.analysis.survival) ---

#: Survival to hospital discharge against the minutes from collapse to CPR, to the first
#: shock and to advanced care: ``intercept - cpr_per_min * t_cpr - defib_per_min * t_defib -
#: acls_per_min * t_acls`` (shares 0-1, clipped to 0-1). Source: Larsen MP, Eisenberg MS,
#: Cummins RO, Hallstrom AP, "Predicting survival from out-of-hospital cardiac arrest: a
#: graphic model", Ann Emerg Med 1993 (King County, Washington, 1976-1991: 1,667 witnessed
#: arrests in ventricular fibrillation, with heart disease, before EMS arrival). An
#: illustration only: fitted on witnessed VF arrests of another country and era, it
#: overstates survival for all arrests today and says nothing of neurological outcome.
SURVIVAL_MODEL: Mapping[str, float] = MappingProxyType(
    {"intercept": 0.67, "cpr_per_min": 0.023, "defib_per_min": 0.011, "acls_per_min": 0.021}
)
