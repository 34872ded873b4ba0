"""Availability patterns over a typical year, and the spatiotemporal covering model.

A site (an existing defib, a candidate building, an upgrade) is usable in some hours of the
week only, and a school's hours differ between term and holiday weeks. The year is cut into
336 slots, the 168 hours of a term week and the 168 of a holiday week, each weighted by its
share of the year (a term-week hour ``term_weeks / 52 / 168``, a holiday-week hour
``(52 - term_weeks) / 52 / 168``, so the weights sum to 1). Slots in which exactly the same
sites are usable are merged, their weights summed: a study typically has 2-5 such
*patterns*.

The spatiotemporal maximal covering problem (Sun, Demirtas, Brooks, Morrison & Chan,
"Overcoming Spatial and Temporal Barriers to Public Access Defibrillators Via Optimization",
Journal of the American College of Cardiology, 2016, 68(8):836-845) is then an ordinary
weighted maximal covering problem on expanded demand rows, one per demand point and pattern,
weighted by the point's weight times the pattern's share of the year: a candidate covers row
``(i, p)`` when it lies within the walk of point ``i`` and is usable in pattern ``p``; the row
is already covered when an existing defib usable in ``p`` lies within the walk.
:func:`defibmap.analysis.optimise.greedy` and :func:`~defibmap.analysis.optimise.mclp` solve it
unchanged (they merge identical rows, so the
model stays small).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp

from defibmap.analysis.availability import NIGHT_HOURS
from defibmap.io.hours import HOURS_PER_WEEK

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "OBJECTIVES",
    "Expanded",
    "Objective",
    "Patterns",
    "Week",
    "expand",
    "patterns",
]

#: What a ranking maximises: the year-round available coverage (weight x share of the year
#: within the walk of a usable defib), the coverage at night (00:00-06:00, sites usable
#: through the whole window in term and holiday weeks) or the coverage at any time (every
#: defib usable at every hour).
Objective = Literal["available", "night", "any"]
OBJECTIVES: tuple[str, ...] = ("available", "night", "any")

_WEEKS_PER_YEAR = 52


@dataclass(frozen=True)
class Week:
    """Usability of sites in each hour of a term week and of a holiday week.

    Attributes
    ----------
    term, holiday
        ``(n_sites, 168)`` booleans: usable in that hour (0 = Monday 00:00-01:00).
    """

    term: NDArray[np.bool_]
    holiday: NDArray[np.bool_]

    @staticmethod
    def always(n: int) -> Week:
        """Return ``n`` sites usable at every hour (24/7 outside cabinets)."""
        ones = np.ones((n, HOURS_PER_WEEK), dtype=bool)
        return Week(ones, ones.copy())

    def __len__(self) -> int:
        """Return the number of sites."""
        return int(self.term.shape[0])

    def then(self, other: Week) -> Week:
        """Return these sites followed by ``other``'s."""
        return Week(np.vstack([self.term, other.term]), np.vstack([self.holiday, other.holiday]))


@dataclass(frozen=True)
class Patterns:
    """The distinct availability patterns of a set of sites and their shares of the year.

    Attributes
    ----------
    usable
        ``(n_sites, n_patterns)`` booleans: the site is usable in the pattern.
    share
        ``n_patterns`` weights: each pattern's share of the counted time (sum 1).
    """

    usable: NDArray[np.bool_]
    share: NDArray[np.float64]


def _merge(slots: NDArray[np.bool_], weight: NDArray[np.float64]) -> Patterns:
    """Merge slots (columns) with identical site usability; drop zero-weight slots."""
    keep = weight > 0
    slots, weight = slots[:, keep], weight[keep]
    if slots.shape[1] == 0:
        return Patterns(np.zeros((slots.shape[0], 0), dtype=bool), np.zeros(0))
    columns, inverse = np.unique(slots.T, axis=0, return_inverse=True)
    share = np.bincount(inverse.ravel(), weights=weight, minlength=columns.shape[0])
    return Patterns(np.ascontiguousarray(columns.T, dtype=bool), share.astype(np.float64))


def patterns(week: Week, objective: Objective, *, term_weeks: int) -> Patterns:
    """Return the availability patterns of ``week``'s sites for one objective.

    Parameters
    ----------
    week
        Every site of the model (existing defibs and options together: slots are merged on
        all of them).
    objective
        ``"available"``: the 336 slots of a term and a holiday week, weighted by their
        shares of the year; ``"night"``: one pattern, a site usable only if usable in every
        hour of 00:00-06:00 of every day of both weeks; ``"any"``: one pattern, every site
        usable.
    term_weeks
        School term weeks a year (0-52).

    Returns
    -------
    Patterns
    """
    n = len(week)
    if objective == "any":
        return Patterns(np.ones((n, 1), dtype=bool), np.ones(1))
    if objective == "night":
        night: NDArray[np.bool_] = np.all(week.term[:, NIGHT_HOURS], axis=1) & np.all(
            week.holiday[:, NIGHT_HOURS], axis=1
        )
        return Patterns(night[:, None], np.ones(1))
    term_share = term_weeks / _WEEKS_PER_YEAR / HOURS_PER_WEEK
    holiday_share = (_WEEKS_PER_YEAR - term_weeks) / _WEEKS_PER_YEAR / HOURS_PER_WEEK
    slots: NDArray[np.bool_] = np.hstack([week.term, week.holiday]).astype(bool)
    weight = np.r_[np.full(HOURS_PER_WEEK, term_share), np.full(HOURS_PER_WEEK, holiday_share)]
    return _merge(slots, weight)


@dataclass(frozen=True)
class Expanded:
    """The spatiotemporal covering model: demand rows x availability patterns.

    Attributes
    ----------
    cover
        Options x rows boolean matrix (row ``(i, p)`` at column ``p * n_demand + i``).
    weights
        Each row's weight: the demand point's weight times its pattern's share.
    already
        Rows already covered by a baseline site usable in the pattern.
    point
        The demand point of each row.
    share
        The share of the counted time of each row's pattern.
    patterns
        Number of availability patterns.
    """

    cover: sp.csr_matrix
    weights: NDArray[np.float64]
    already: NDArray[np.bool_]
    point: NDArray[np.int64]
    share: NDArray[np.float64]
    patterns: int

    def row_values(self, per_point: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return each row's ``per_point`` value times its pattern's share."""
        return np.asarray(per_point, dtype=np.float64)[self.point] * self.share


def expand(
    option_cover: sp.csr_matrix,
    baseline_cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    found: Patterns,
) -> Expanded:
    """Build the expanded model from spatial cover matrices and availability patterns.

    Parameters
    ----------
    option_cover
        Options x demand boolean matrix: option ``j`` within the walk of point ``i``.
    baseline_cover
        Baseline sites x demand boolean matrix, likewise.
    weights
        Each demand point's weight (people, or what the ranking counts).
    found
        Patterns of the baseline sites (first rows of ``found.usable``) then the options.

    Returns
    -------
    Expanded
        Every (point, pattern) row, zero-weight and covered rows included (the solvers drop
        them); rows ordered pattern by pattern.
    """
    n_base, n_demand = baseline_cover.shape
    n_opt = option_cover.shape[0]
    base_usable = found.usable[:n_base]
    opt_usable = found.usable[n_base : n_base + n_opt]
    base = sp.csr_matrix(baseline_cover, dtype=np.float64)
    opt = sp.csr_matrix(option_cover, dtype=np.float64)
    blocks = []
    already = []
    for p in range(found.share.size):
        blocks.append(sp.diags(opt_usable[:, p].astype(np.float64)) @ opt)
        already.append(np.asarray(base.T @ base_usable[:, p].astype(np.float64)).ravel() > 0)
    n_patterns = found.share.size
    cover = (
        sp.csr_matrix(sp.hstack(blocks, format="csr"), dtype=bool)
        if blocks
        else sp.csr_matrix((n_opt, 0), dtype=bool)
    )
    cover.eliminate_zeros()
    point = np.tile(np.arange(n_demand, dtype=np.int64), n_patterns)
    share = np.repeat(found.share, n_demand)
    w = np.asarray(weights, dtype=np.float64)[point] * share
    covered = np.concatenate(already) if already else np.zeros(0, dtype=bool)
    return Expanded(cover, w, covered, point, share, n_patterns)
