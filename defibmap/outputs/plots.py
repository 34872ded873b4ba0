"""Figures for the report: coverage curve, day against night, the week, deprivation.

Every function takes plain tables (see :mod:`defibmap.outputs.tables`) and returns a :class:`Plot`:
a
matplotlib figure drawn with the Agg canvas (no display, no pyplot state), with a title, axis
labels with units and a one-line caption, kept as text: the report prints it under the image
(the image itself does not repeat it). :func:`site_map` draws the study area without tiles.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import pandas as pd
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MapLayers",
    "Plot",
    "coverage_curve",
    "day_night",
    "equity_by_decile",
    "site_map",
    "week_profile",
]

_SIZE_IN = (7.0, 4.2)
_DPI = 110
_GREEDY, _OPTIMAL = "#ff7f00", "#3182bd"
_ANY, _DAY, _NIGHT = "#969696", "#fdae61", "#2c3e73"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Plot:
    """One report figure.

    Attributes
    ----------
    name
        File stem, e.g. ``"coverage_curve"`` (saved as ``coverage_curve.png``).
    title
        The figure's title.
    caption
        One line saying what the figure shows and how to read it.
    figure
        The matplotlib figure.
    """

    name: str
    title: str
    caption: str
    figure: Figure

    def png(self) -> bytes:
        """Return the figure as PNG bytes (no timestamp: the same figure gives the same bytes)."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
        return buffer.getvalue()


def _plain(label: str) -> str:
    """Text matplotlib shows as written (``$`` would start mathtext)."""
    return label.replace("$", r"\$")


def _figure(title: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=_SIZE_IN, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(_plain(title), fontsize=11, loc="left")
    # the caption is not drawn: the report prints it once, under the image, as text
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def coverage_curve(curve: pd.DataFrame, *, population_total: float, threshold_m: float) -> Plot:
    """Residents within ``threshold_m`` walk against the number of new sites.

    Parameters
    ----------
    curve : pandas.DataFrame
        Columns ``k``, ``greedy_population`` and ``optimal_population`` (people; NaN where the
        optimum is unknown).
    population_total : float
        Residents in the study, people (for the share axis on the right).
    threshold_m : float
        The walk the ranking maximises coverage within, metres.

    Returns
    -------
    Plot
    """
    title = f"Residents within {threshold_m:g} m walk of a defib as new sites are added"
    caption = (
        "Greedy: the ranked list, site by site. Optimal: the best set of that size "
        "(exact maximal covering). Where they meet, the list is as good as it gets."
    )
    fig, ax = _figure(title)
    k = curve["k"].to_numpy(dtype=float)
    greedy = curve["greedy_population"].to_numpy(dtype=float)
    optimal = curve["optimal_population"].to_numpy(dtype=float)
    ax.plot(k, greedy, marker="o", color=_GREEDY, label="greedy order (ranked list)")
    known = ~np.isnan(optimal)
    if known.any():
        ax.plot(
            k[known],
            optimal[known],
            marker="s",
            markerfacecolor="none",
            linestyle="--",
            color=_OPTIMAL,
            label="exact optimum for that many sites",
        )
    ax.set_xlabel("New 24/7 defib sites (count)")
    ax.set_ylabel(f"Residents within {threshold_m:g} m (people)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    if population_total > 0:
        share = ax.secondary_yaxis(
            "right",
            functions=(_scaled(1.0 / population_total), _scaled(population_total)),
        )
        share.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        share.set_ylabel("Share of residents (%)")
    ax.legend(frameon=False, fontsize=9)
    return Plot("coverage_curve", title, caption, fig)


def _scaled(factor: float) -> Callable[[ArrayLike], NDArray[np.float64]]:
    def scale(values: ArrayLike) -> NDArray[np.float64]:
        return np.asarray(values, dtype=np.float64) * factor

    return scale


def day_night(scenarios: pd.DataFrame, *, threshold_m: float) -> Plot:
    """Coverage any time, by day and at night for each scenario, as grouped bars.

    Parameters
    ----------
    scenarios : pandas.DataFrame
        Rows of :func:`defibmap.outputs.tables.scenarios`: ``label``, ``threshold_m``,
        ``any_time_share``, ``day_share``, ``night_share`` (0-1).
    threshold_m : float
        Which threshold to show, metres.

    Returns
    -------
    Plot
    """
    rows = scenarios[scenarios["threshold_m"] == round(threshold_m)]
    title = f"Residents within {threshold_m:g} m walk of a usable defib: day and night"
    caption = (
        "Day: Mon-Fri 09:00-17:00, night: 00:00-06:00, school term week. A defib indoors "
        "counts only while its building is open."
    )
    fig, ax = _figure(title)
    x = np.arange(len(rows))
    width = 0.27
    series = (
        ("any_time_share", "any time (every defib usable)", _ANY),
        ("day_share", "by day", _DAY),
        ("night_share", "at night", _NIGHT),
    )
    for i, (column, label, colour) in enumerate(series):
        values = rows[column].to_numpy(dtype=float)
        bars = ax.bar(x + (i - 1) * width, np.nan_to_num(values), width, label=label, color=colour)
        ax.bar_label(
            bars, labels=[f"{v:.0%}" if np.isfinite(v) else "" for v in values], fontsize=7
        )
    ax.set_xticks(x, [_plain(_wrap(str(v))) for v in rows["label"]], fontsize=8)
    ax.set_xlabel("Scenario")
    ax.set_ylabel("Residents covered (%)")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.set_ylim(0, max(1.0, float(np.nanmax(rows[[s[0] for s in series]].to_numpy()))) * 1.08)
    ax.legend(frameon=False, fontsize=8, ncols=3, loc="upper left")
    return Plot("day_night", title, caption, fig)


def _wrap(label: str, width: int = 22) -> str:
    words, lines, line = label.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines)


def week_profile(
    hourly: Mapping[str, Sequence[float]], *, threshold_m: float, labels: Mapping[str, str]
) -> Plot:
    """Coverage for every hour of a school-term week, one line per scenario.

    Parameters
    ----------
    hourly : mapping of str to sequence of float
        Scenario key to 168 shares (0-1), hour 0 = Monday 00:00-01:00.
    threshold_m : float
        The threshold the shares are for, metres.
    labels : mapping of str to str
        Readable scenario names by key.

    Returns
    -------
    Plot
    """
    title = f"Residents within {threshold_m:g} m walk of a usable defib, hour by hour"
    caption = (
        "A school-term week from Monday 00:00; dips are nights and weekends, when indoor "
        "defibs are locked away."
    )
    fig, ax = _figure(title)
    hours = np.arange(168)
    colours = (_ANY, _GREEDY, _OPTIMAL, _NIGHT, _DAY)
    for i, (key, values) in enumerate(hourly.items()):
        ax.step(
            hours,
            np.asarray(values, dtype=float),
            where="post",
            color=colours[i % len(colours)],
            label=_plain(labels.get(key, key)),
            linewidth=1.4,
        )
    ax.set_xticks(np.arange(0, 168, 24), list(_DAYS))
    ax.set_xlim(0, 168)
    ax.set_xlabel("Hour of the week (day starts at 00:00)")
    ax.set_ylabel("Residents covered (%)")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + 0.3 * (high - low))  # headroom for the legend
    ax.legend(fontsize=7, loc="upper right", framealpha=0.9)
    return Plot("week_profile", title, caption, fig)


def equity_by_decile(deciles: pd.DataFrame, *, threshold_m: float) -> Plot:
    """Coverage by deprivation decile, now and with the recommended sites.

    Parameters
    ----------
    deciles : pandas.DataFrame
        Rows of :func:`defibmap.outputs.tables.deciles`: ``imd_decile``, ``share`` and optionally
        ``share_with_recommended`` (0-1).
    threshold_m : float
        The walk the shares are for, metres.

    Returns
    -------
    Plot
    """
    title = f"Residents within {threshold_m:g} m walk of a defib, by deprivation decile"
    caption = (
        "IMD 2019 deciles of the residents' neighbourhoods: 1 is the most deprived tenth of "
        "England, 10 the least. Deciles with no residents here are absent."
    )
    fig, ax = _figure(title)
    decile = deciles["imd_decile"].to_numpy(dtype=float)
    with_recs = "share_with_recommended" in deciles.columns
    width = 0.4 if with_recs else 0.7
    offset = width / 2 if with_recs else 0.0
    ax.bar(decile - offset, deciles["share"].to_numpy(dtype=float), width, label="now")
    if with_recs:
        ax.bar(
            decile + offset,
            deciles["share_with_recommended"].to_numpy(dtype=float),
            width,
            color=_GREEDY,
            label="with the recommended sites",
        )
        ax.legend(frameon=False, fontsize=8)
    ax.set_xticks(np.arange(1, 11))
    ax.set_xlim(0.4, 10.6)
    ax.set_xlabel("IMD decile (1 = most deprived)")
    ax.set_ylabel("Residents covered (%)")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.set_ylim(0, 1.0)
    return Plot("equity_by_decile", title, caption, fig)


#: Residents' colours on the static map, by what is within reach (Okabe-Ito palette, which
#: stays distinct for the common colour-vision deficiencies): a defib usable all night, one
#: usable only in some hours, none.
REACH_COLOURS = {"night": "#0072B2", "hours": "#56B4E9", "none": "#D55E00"}
_PICK = "#009E73"
_STREET = "#c8c8c8"
_MAP_SIZE_IN = (7.0, 7.0)


@dataclass(frozen=True)
class MapLayers:
    """What the static map draws, all in one projected CRS (metres).

    Attributes
    ----------
    streets
        Street segments, shape (n, 2, 2): each row two (x, y) ends.
    residents
        Columns ``x``, ``y``, ``population`` (people) and ``reach`` (``"night"``,
        ``"hours"`` or ``"none"``, keys of :data:`REACH_COLOURS`).
    defibs
        Columns ``x``, ``y`` and ``always`` (True: usable at every hour).
    picks
        Columns ``x``, ``y`` and ``rank`` (1 = first), the recommended sites.
    threshold_m
        The walk the residents' reach is measured within, metres.
    """

    streets: NDArray[np.float64]
    residents: pd.DataFrame
    defibs: pd.DataFrame
    picks: pd.DataFrame
    threshold_m: float


def site_map(layers: MapLayers) -> Plot:
    """Draw the study area: streets, residents by reach, defibs and the recommended sites.

    No background tiles: the picture is drawn from the study's own data, so it prints and
    opens offline. Residents are dots sized by people; existing defibs are triangles (filled:
    usable at every hour; hollow: some hours only); recommended sites are numbered stars.

    Parameters
    ----------
    layers : MapLayers
        What to draw, in metres.

    Returns
    -------
    Plot
    """
    m = f"{layers.threshold_m:g} m"
    title = f"Where the gaps are: residents by walking reach of a defib ({m})"
    caption = (
        f"Each dot is a group of residents, sized by people: dark blue, a defib usable all "
        f"night within {m} walk; light blue, one usable only in some hours; red, none within "
        f"{m}. Triangles are today's defibs (filled: usable at every hour), numbered stars "
        "the recommended sites."
    )
    fig = Figure(figsize=_map_size(layers), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(_plain(title), fontsize=11, loc="left")
    if len(layers.streets):
        ax.add_collection(
            LineCollection(list(layers.streets), colors=_STREET, linewidths=0.4, zorder=1)
        )
    residents = layers.residents
    population = residents["population"].to_numpy(dtype=float)
    size = 4.0 + 60.0 * np.sqrt(population / max(float(np.nanmax(population, initial=0)), 1.0))
    handles = []
    labels = {
        "night": "residents: a defib usable all night",
        "hours": "residents: a defib in some hours only",
        "none": f"residents: no defib within {m}",
    }
    for reach, colour in REACH_COLOURS.items():
        pick = (residents["reach"] == reach).to_numpy()
        if not pick.any():
            continue  # the legend names only what the map shows
        ax.scatter(
            residents["x"].to_numpy()[pick],
            residents["y"].to_numpy()[pick],
            s=size[pick],
            color=colour,
            alpha=0.75,
            linewidths=0,
            zorder=2,
        )
        handles.append(_dot(colour, labels[reach]))
    defibs = layers.defibs
    if len(defibs):
        always = defibs["always"].to_numpy(dtype=bool)
        for filled, label in ((True, "defib usable at every hour"), (False, "defib, some hours")):
            pick = always == filled
            if not pick.any():
                continue
            ax.scatter(
                defibs["x"].to_numpy()[pick],
                defibs["y"].to_numpy()[pick],
                s=46,
                marker="^",
                facecolors="#222222" if filled else "white",
                edgecolors="#222222",
                linewidths=1.0,
                zorder=3,
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="^",
                    linestyle="",
                    markersize=7,
                    label=label,
                    markerfacecolor="#222222" if filled else "white",
                    markeredgecolor="#222222",
                )
            )
    picks = layers.picks
    if len(picks):
        ax.scatter(
            picks["x"],
            picks["y"],
            s=260,
            marker="*",
            color=_PICK,
            edgecolors="black",
            linewidths=0.8,
            zorder=4,
        )
        for x, y, rank in zip(picks["x"], picks["y"], picks["rank"], strict=True):
            ax.annotate(
                str(int(rank)),
                (float(x), float(y)),
                xytext=(7, 5),
                textcoords="offset points",
                fontsize=9,
                fontweight="bold",
                zorder=5,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": _PICK, "lw": 0.8},
            )
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                linestyle="",
                markersize=12,
                label="recommended site",
                markerfacecolor=_PICK,
                markeredgecolor="black",
            )
        )
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#dddddd")
    _scale_bar(ax)
    # below the map, so no key hides a resident or a site
    fig.legend(handles=handles, fontsize=8, loc="outside lower center", ncols=2, frameon=False)
    return Plot("site_map", title, caption, fig)


def _map_size(layers: MapLayers) -> tuple[float, float]:
    """Return the figure size, inches: 7 wide, as tall as the area's shape asks (3.5-9)."""
    xs = [layers.residents["x"].to_numpy(dtype=float), layers.picks["x"].to_numpy(dtype=float)]
    ys = [layers.residents["y"].to_numpy(dtype=float), layers.picks["y"].to_numpy(dtype=float)]
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    if len(layers.streets):
        x = np.concatenate([x, layers.streets[:, :, 0].ravel()])
        y = np.concatenate([y, layers.streets[:, :, 1].ravel()])
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if not x.size or np.ptp(x) <= 0:
        return _MAP_SIZE_IN
    ratio = float(np.ptp(y) / np.ptp(x))
    return (7.0, float(np.clip(7.0 * ratio + 1.4, 3.5, 9.0)))  # 1.4: title and key


def _dot(colour: str, label: str) -> Line2D:
    return Line2D(
        [],
        [],
        marker="o",
        linestyle="",
        markersize=6,
        label=label,
        markerfacecolor=colour,
        markeredgecolor=colour,
    )


def _scale_bar(ax: Axes) -> None:
    """Draw a scale bar of a round length, about a fifth of the map's width, bottom right."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width = x1 - x0
    if not np.isfinite(width) or width <= 0:
        return
    target = width / 5.0
    length = next((v for v in (5000, 2000, 1000, 500, 200, 100, 50) if v <= target), 50)
    right = x1 - 0.04 * width
    bottom = y0 + 0.04 * (y1 - y0)
    ax.plot([right - length, right], [bottom, bottom], color="black", linewidth=2, zorder=6)
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length} m"
    ax.annotate(
        text,
        (right - length / 2, bottom),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        fontsize=8,
        zorder=6,
    )
