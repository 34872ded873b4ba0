"""Interactive folium map of a defib study, that works without internet.

:func:`study_map` is pure: GeoDataFrames in (any CRS, set on each frame), a :class:`folium.Map`
out. :func:`result_map` builds the same map from a :class:`~defibmap.study.pipeline.StudyResult`,
drawing the walkable reach areas and the wards the study computed and read
(``result.reach_areas``, ``result.wards``), the day and night defib layers and the walking
network; it computes nothing. :func:`write_map` is the one writer: it inlines
Leaflet, jQuery and Leaflet's CSS and images from the XStatic packages
(:mod:`defibmap.outputs.map._assets`), so only the background tiles need a network, and it replaces
the
file atomically.

Every string that comes from an input (names, ids, kinds, opening hours, sources, the title)
is passed through :func:`defibmap.outputs._html.esc` before it reaches the page.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element

from defibmap._errors import InputError
from defibmap._files import write_text_atomic
from defibmap.defaults import RESPONSE_WITHIN_MIN
from defibmap.outputs import tables
from defibmap.outputs._html import esc, text
from defibmap.outputs.map import _assets, _planner
from defibmap.outputs.map import _demand as demand_layers
from defibmap.outputs.map import _furniture as page
from defibmap.outputs.map import _layers as overlays
from defibmap.outputs.map import _legend as page_legend
from defibmap.outputs.map._demand import AGGREGATED_MARKERS, MAX_DEMAND_MARKERS
from defibmap.outputs.map._layers import WGS84
from defibmap.study.compare import planner as study_planner

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from branca.element import Figure
    from numpy.typing import NDArray

    from defibmap.study.compare import Planner
    from defibmap.study.pipeline import StudyResult

__all__ = [
    "AGGREGATED_MARKERS",
    "MAX_DEMAND_MARKERS",
    "MAX_NETWORK_EDGES",
    "MapLayers",
    "MapOptions",
    "result_map",
    "study_map",
    "write_map",
]

logger = logging.getLogger(__name__)

#: Assets folium links that the map needs; write_map inlines them. Everything else is dropped.
_KEEP_JS = ("leaflet", "jquery")
_KEEP_CSS = ("leaflet_css",)
#: The walking network is drawn when it has at most this many edges (about 60 bytes each).
MAX_NETWORK_EDGES = 60_000
#: The page can place a cabinet anywhere (a walking search in the page) when the network has
#: at most this many nodes: about 50 bytes of page each.
MAX_STREET_NODES = 50_000
#: The what-if planner is embedded when the catchments hold at most this many (site, demand
#: point) pairs: about 12 bytes of page each. A city of 20,000 residents and 900 sites
#: holds about 80,000 (3.5 MB page in all); a region beyond the limit gets the map without
#: the planner rather than a page too large to open.
MAX_PLANNER_PAIRS = 1_000_000
#: The residents layer's name (tests and the layer list find it by this).
RESIDENTS = "Residents by walk to nearest defib"


@dataclass(frozen=True, eq=False)
class MapLayers:
    """What the study map draws. Frames in any CRS, set on each frame.

    Attributes
    ----------
    demand : geopandas.GeoDataFrame
        Demand points indexed by ``demand_id``: ``population`` (people), ``walk_m`` (metres to
        the nearest defib; NaN when none is within the search limit), ``covered`` (bool at the
        largest threshold; derived from ``walk_m`` if absent), optional ``nearest_defib_id`` and
        ``name``. Any CRS, set on the frame; projected (metres) for the aggregation grid.
    defibs : geopandas.GeoDataFrame
        Sites counted as defibs, indexed by ``site_id``: ``name``, ``layer``, optional
        ``availability`` (``"24/7"``, ``"limited hours"``, else unknown) and ``opening_hours``.
        When some defib is not usable at night they are drawn in a day layer and a night layer
        with a day/night switch.
    stations : geopandas.GeoDataFrame
        Stations: ``name``, ``layer`` (a station kind of :mod:`defibmap.layers`: fire or
        police stations), ``outside_defib`` (bool). May be empty.
    candidates : geopandas.GeoDataFrame
        Every candidate council building, indexed by ``site_id``: ``name``, optional ``kind``.
    recommendations : pandas.DataFrame
        Ranked picks: ``rank``, ``site_id``, ``name``, ``added_population`` (people),
        ``cumulative_population_covered`` (people), ``cumulative_coverage_share`` (0-1),
        ``method``. Every ``site_id`` must be in ``candidates``.
    reach_areas : mapping of str to geopandas.GeoDataFrame, optional
        Polygons per label (e.g. ``"Within 500 m walk of a defib"``), drawn filled; the first
        is shown, the others start hidden. See :func:`defibmap.analysis.reach_areas.reach_polygons`.
    night_reach : tuple of (str, str), optional
        Labels in ``reach_areas`` of the day and the night reach: the day/night switch swaps
        them together with the defib layers.
    wards : geopandas.GeoDataFrame, optional
        Ward polygons with a ``name`` column, drawn as outlines.
    network_lines : geopandas.GeoSeries, optional
        Walking-network edges (projected CRS), drawn as thin grey lines: street context when
        the background tiles cannot load.
    planner : Planner, optional
        Every site's catchment and hours (:func:`defibmap.study.compare.planner`) for the
        same demand, in the same order: with it the page recolours residents by period and
        measures any plan (the what-if panel); without it residents keep one colouring.
    """

    demand: gpd.GeoDataFrame
    defibs: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    recommendations: pd.DataFrame
    reach_areas: Mapping[str, gpd.GeoDataFrame] | None = None
    night_reach: tuple[str, str] | None = None
    wards: gpd.GeoDataFrame | None = None
    network_lines: gpd.GeoSeries | None = None
    planner: Planner | None = None
    streets: _planner.Streets | None = None


@dataclass(frozen=True, eq=False)
class MapOptions:
    """How the study map is labelled and drawn.

    Attributes
    ----------
    title : str
        Study title, shown in a block at the top and as the page title.
    thresholds_m : sequence of float
        Walking thresholds in metres; the largest is the headline.
    sources : sequence of mapping
        Data sources, each with ``layer``, ``name``, ``licence`` and ``date``, for the footer.
    synthetic : bool, default False
        Mark the map as synthetic demonstration data (title and a banner).
    unknown_usable_at_night : bool, default True
        Whether a defib with unknown hours counts as usable at night (the study's assumption;
        :func:`defibmap.analysis.availability.site_availability` defaults to usable).
    max_demand_markers : int, default MAX_DEMAND_MARKERS
        With more demand points than this, both demand layers are summed onto a square grid
        (per walking band) of at most :data:`AGGREGATED_MARKERS` markers each. Each marker costs
        about 0.5 ms and 0.6 kB of HTML.
    extra_layers : sequence of folium.FeatureGroup, default ()
        Further overlays (for example minutes to the first defib), added before the layer
        control so that it lists them.
    headline : sequence of (str, str, float), default ()
        Headline figures shown under the title: a key (``available``, ``night``,
        ``any_time``: the planner updates these), a plain label and a share (0-1) each.
    extra_legend : mapping of str to str, default {}
        Legend section (escaped HTML) of each further layer, by layer name.
    report_link : str, optional
        Address of the report, linked from the headline panel.
    """

    title: str
    thresholds_m: Sequence[float]
    sources: Sequence[Mapping[str, str]]
    synthetic: bool = False
    unknown_usable_at_night: bool = True
    max_demand_markers: int = MAX_DEMAND_MARKERS
    extra_layers: Sequence[folium.FeatureGroup] = ()
    headline: Sequence[tuple[str, str, float]] = ()
    extra_legend: Mapping[str, str] = field(default_factory=dict)
    report_link: str | None = None


def study_map(layers: MapLayers, options: MapOptions) -> folium.Map:
    """Build the interactive study map.

    Parameters
    ----------
    layers : MapLayers
        The frames to draw: demand, defibs, stations, candidates, recommendations and the
        optional reach areas, wards, walking network and planner.
    options : MapOptions
        The title, thresholds, sources and drawing options.

    Returns
    -------
    folium.Map
        The map, in EPSG:4326, fitted to the demand and sites with room for its panels. It
        links Leaflet and jQuery only (no Bootstrap, Font Awesome or awesome-markers);
        :func:`write_map` inlines them.

    Raises
    ------
    InputError
        When a frame has no CRS, a required column is missing, ``thresholds_m`` is empty or
        not positive, or a recommended ``site_id`` is not among the candidates.
    """
    thresholds = _thresholds(options.thresholds_m)
    _check_layers(layers)
    headline_m = float(thresholds[-1])
    shown_title = options.title
    if options.synthetic and "synthetic" not in options.title.lower():
        shown_title = f"{options.title} (synthetic demonstration data)"
    m = _empty_map(shown_title)
    plan = layers.planner
    index = {s: i for i, s in enumerate(plan.site_ids)} if plan is not None else {}

    colours, band_labels = _bands(thresholds)
    defibs84 = overlays.to_wgs84(layers.defibs, "defibs")
    stations84 = overlays.to_wgs84(layers.stations, "stations")
    candidates84 = overlays.to_wgs84(layers.candidates, "candidates")
    network = None
    if layers.network_lines is not None:
        network = overlays.network_layer(layers.network_lines)
        network.add_to(m)
    reach_groups, ward_groups = overlays.polygon_layers(layers.reach_areas or {}, layers.wards)
    aggregated = len(layers.demand) > options.max_demand_markers
    drawn_in_page = plan is not None and not aggregated
    if drawn_in_page:
        residents = folium.FeatureGroup(name=RESIDENTS)
        demand_groups: Sequence[folium.FeatureGroup] = [residents]
    else:
        demand_groups = _demand_groups(
            layers,
            thresholds,
            band_colours=colours,
            band_labels=band_labels,
            aggregated=aggregated,
        )
        residents = demand_groups[0]
    defibs = overlays.defib_layer(
        defibs84, unknown_usable=options.unknown_usable_at_night, index=index
    )
    stations = overlays.station_layers(stations84, index)
    ranked, others = overlays.candidate_layers(
        candidates84, layers.recommendations, headline_m=headline_m, index=index
    )
    for group in (
        *reach_groups.values(),
        *ward_groups,
        *demand_groups,
        # drawn in this order, the later on top: an upgrade option sits on its defib
        others,
        defibs,
        *stations,
        ranked,
    ):
        group.add_to(m)
    for layer in options.extra_layers:
        layer.add_to(m)
    frames = [overlays.to_wgs84(layers.demand, "demand"), defibs84, stations84, candidates84]
    m.fit_bounds(_bounds(frames), max_zoom=17)
    # collapsed: an open list of a dozen layers would cover a laptop's map
    folium.LayerControl(collapsed=True).add_to(m)

    groups = _Groups(
        residents=residents,
        defibs=defibs,
        ranked=ranked,
        others=others,
        stations=stations,
        reach=reach_groups,
        wards=ward_groups,
        network=network,
        in_page=drawn_in_page,
    )
    _add_page(m, layers, options, groups, thresholds=thresholds, shown_title=shown_title)
    return m


@dataclass(frozen=True, eq=False)
class _Groups:
    """The map's layers the legend explains and the page script drives."""

    residents: folium.FeatureGroup
    defibs: folium.FeatureGroup
    ranked: folium.FeatureGroup
    others: folium.FeatureGroup
    stations: Sequence[folium.FeatureGroup]
    reach: Mapping[str, folium.FeatureGroup]
    wards: Sequence[folium.FeatureGroup]
    network: folium.FeatureGroup | None
    in_page: bool  # residents drawn by the page script (recoloured by period and plan)


def _legend(
    layers: MapLayers, options: MapOptions, groups: _Groups, thresholds: NDArray[np.float64]
) -> tuple[list[tuple[int, str]], list[folium.FeatureGroup]]:
    """Return the legend sections and the layers they belong to."""
    legend_layers: list[folium.FeatureGroup] = []

    def on(group: folium.FeatureGroup | None) -> int:
        if group is None:
            return -1
        legend_layers.append(group)
        return len(legend_layers) - 1

    colours, band_labels = _bands(thresholds)
    sections = page_legend.sections(
        residents=(on(groups.residents), colours, band_labels, groups.in_page),
        defibs=(
            on(groups.defibs),
            sorted(set(overlays.availability_of(overlays.to_wgs84(layers.defibs, "defibs")))),
        ),
        candidates=(
            on(groups.ranked) if len(layers.recommendations) else -1,
            on(groups.others) if len(layers.candidates) > len(layers.recommendations) else -1,
        ),
        stations=[(on(g), g.layer_name) for g in groups.stations],
        reach=[(on(g), label, i) for i, (label, g) in enumerate(groups.reach.items())],
        outlines=(on(groups.wards[0]) if groups.wards else -1, on(groups.network)),
        extra=[(on(g), options.extra_legend.get(g.layer_name, "")) for g in options.extra_layers],
    )
    return sections, legend_layers


def _bands(thresholds: NDArray[np.float64]) -> tuple[list[str], list[str]]:
    """Return the residents' walking-band colours and labels (then over the walk, and none)."""
    colours = demand_layers.band_colours(len(thresholds))
    headline = overlays.fmt_m(float(thresholds[-1]))
    labels = [f"within {overlays.fmt_m(t)} m" for t in thresholds] + [
        f"over {headline} m",
        "no defib within search limit",
    ]
    return colours, labels


def _add_page(
    m: folium.Map,
    layers: MapLayers,
    options: MapOptions,
    groups: _Groups,
    *,
    thresholds: NDArray[np.float64],
    shown_title: str,
) -> None:
    """Add the page's style and script: panels, legend, period switch and planner."""
    plan = layers.planner
    sections, legend_layers = _legend(layers, options, groups, thresholds)
    period_list = _planner.periods(plan) if plan is not None else []
    headline_html = page.headline_panel(
        shown_title=shown_title,
        synthetic=options.synthetic,
        walk_m=overlays.fmt_m(float(thresholds[-1])),
        figures=options.headline,
        plan=plan is not None,
        period_labels=[(str(p["key"]), str(p["label"])) for p in period_list],
        report_link=options.report_link,
    )
    names = _site_names(layers)
    demand84 = overlays.to_wgs84(layers.demand, "demand")
    frames = [
        demand84,
        overlays.to_wgs84(layers.defibs, "defibs"),
        overlays.to_wgs84(layers.stations, "stations"),
        overlays.to_wgs84(layers.candidates, "candidates"),
    ]
    panels = _planner.Panels(
        headline=headline_html,
        sources=page.sources_panel(options.sources),
        planner=(
            page.planner_panel(_plan_groups(plan, layers, names), place=layers.streets is not None)
            if plan
            else None
        ),
        legend=sections,
        bounds=_bounds(frames),
    )
    data = _planner.payload(
        plan,
        names=names,
        recommended=list(layers.recommendations.sort_values("rank")["site_id"].astype(str)),
        thresholds=thresholds,
        band_colours=_bands(thresholds)[0][: len(thresholds)],
        residents=_residents(layers.demand, demand84) if groups.in_page else None,
        panels=panels,
        streets=layers.streets,
    )
    reach_pairs = []
    night = layers.night_reach
    if plan is not None and night is not None and all(x in groups.reach for x in night):
        reach_pairs.append((groups.reach[night[0]].get_name(), groups.reach[night[1]].get_name()))
    cast("Figure", m.get_root()).header.add_child(Element(page.PAGE_CSS), name="defibmap_css")
    m.add_child(
        _planner.PageScript(
            data,
            map_name=m.get_name(),
            residents_name=groups.residents.get_name() if groups.in_page else None,
            legend_layers=[g.get_name() for g in legend_layers],
            reach_pairs=reach_pairs,
        )
    )


def _bounds(frames: Sequence[gpd.GeoDataFrame]) -> list[list[float]]:
    """Return the frames' bounds, [[south, west], [north, east]]; Great Britain if all empty."""
    bounds = np.vstack([f.total_bounds for f in frames if not f.empty] or [[-6, 50, 2, 58]])
    west, south = bounds[:, 0].min(), bounds[:, 1].min()
    east, north = bounds[:, 2].max(), bounds[:, 3].max()
    return [[float(south), float(west)], [float(north), float(east)]]


def _site_names(layers: MapLayers) -> dict[str, str]:
    """Each site's shown name (escaped), by id: defibs, candidates and stations."""
    names: dict[str, str] = {}
    for frame in (layers.stations, layers.candidates, layers.defibs):
        values = overlays.column(frame, "name")
        for site_id, value in zip(frame.index, values, strict=True):
            names[str(site_id)] = text(value, str(site_id))
    return names


def _plan_groups(
    plan: Planner, layers: MapLayers, names: Mapping[str, str]
) -> list[tuple[str, list[tuple[int, str, str]]]]:
    """Return the planner's lists: recommended, other candidates, stations, today's defibs."""
    index = {s: i for i, s in enumerate(plan.site_ids)}
    ranked = list(layers.recommendations.sort_values("rank")["site_id"].astype(str))
    stations = set(layers.stations.index.astype(str))

    def entry(site_id: str, prefix: str = "") -> tuple[int, str, str]:
        return index[site_id], site_id, prefix + names.get(site_id, esc(site_id))

    options = [s for s in plan.site_ids[plan.n_current :] if s not in set(ranked)]
    return [
        (
            "Recommended sites",
            [entry(s, f"#{r} ") for r, s in enumerate(ranked, start=1) if s in index],
        ),
        ("Other candidates", [entry(s) for s in options if s not in stations]),
        ("Stations (an outside 24/7 defib)", [entry(s) for s in options if s in stations]),
        (
            "Today's defibs (untick: removed or locked)",
            [entry(s) for s in plan.site_ids[: plan.n_current]],
        ),
    ]


def _residents(demand: gpd.GeoDataFrame, demand84: gpd.GeoDataFrame) -> _planner.Residents:
    """Residents drawn by the page: position, radius by people, tooltip title (escaped)."""
    lon, lat = overlays.xy(demand84)
    pop = demand["population"].to_numpy(dtype=float)
    top = max(float(np.nanmax(pop)) if len(pop) else 1.0, 1.0)
    radius = 2.5 + 6.5 * np.sqrt(np.clip(np.nan_to_num(pop), 0.0, None) / top)
    names = overlays.column(demand, "name").to_numpy(dtype=object)
    ids = demand.index.to_numpy(dtype=object)
    labels = [f"{text(names[i], str(ids[i]))} ({esc(ids[i])})" for i in range(len(ids))]
    return _planner.Residents(lat=lat, lon=lon, radius=radius, labels=labels)


def _thresholds(thresholds_m: Sequence[float]) -> NDArray[np.float64]:
    """Return the walking thresholds sorted and unique; refuse none or a non-positive one."""
    thresholds = np.unique(np.asarray(list(thresholds_m), dtype=float))
    if thresholds.size == 0 or not (thresholds > 0).all():
        msg = (
            f"thresholds_m: expected one or more positive distances in metres, got {thresholds_m!r}"
        )
        raise InputError(msg)
    return thresholds


def _check_layers(layers: MapLayers) -> None:
    """Refuse demand without its columns or CRS, and a recommendation not among candidates."""
    demand = layers.demand
    for name in ("population", "walk_m"):
        if name not in demand.columns:
            msg = f"demand: column {name!r} is missing (columns: {list(demand.columns)})"
            raise InputError(msg)
    if not demand.empty and demand.crs is None:
        msg = "demand: the GeoDataFrame has no CRS; set it (e.g. EPSG:27700) before mapping"
        raise InputError(msg)
    recommended = set(layers.recommendations["site_id"].astype(str))
    missing = recommended - set(layers.candidates.index.astype(str))
    if missing:
        msg = f"recommendations: site_id(s) {sorted(missing)} are not in the candidates frame"
        raise InputError(msg)


def _empty_map(shown_title: str) -> folium.Map:
    """Return a map with OpenStreetMap tiles and the page title, linking Leaflet and jQuery."""
    m = folium.Map(tiles="OpenStreetMap", control_scale=True, prefer_canvas=True, zoom_snap=0.25)
    # Instance lists (the class defaults stay untouched): Leaflet and jQuery (popups use $),
    # nothing else; write_map inlines both from the XStatic packages.
    m.default_js = [(n, u) for n, u in m.default_js if n in _KEEP_JS]
    m.default_css = [(n, u) for n, u in m.default_css if n in _KEEP_CSS]
    cast("Figure", m.get_root()).title = esc(shown_title)
    return m


def _demand_groups(
    layers: MapLayers,
    thresholds: NDArray[np.float64],
    *,
    band_colours: Sequence[str],
    band_labels: Sequence[str],
    aggregated: bool,
) -> tuple[folium.FeatureGroup, folium.FeatureGroup]:
    """Every resident by walking band, and the residents not within the headline walk."""
    demand = layers.demand
    band = demand_layers.walk_bands(demand["walk_m"].to_numpy(dtype=float), thresholds)
    # Without the study's covered column, the residents within the headline walk are the
    # bands up to the largest threshold (over it and NaN walks are the last two bands).
    covered = (
        demand["covered"].fillna(value=False).to_numpy(dtype=bool)
        if "covered" in demand.columns
        else band < len(thresholds)
    )
    with_band = demand.assign(band=band)
    names = overlays.column(layers.defibs, "name").dropna()
    defib_names = {str(k): str(v) for k, v in names.items()}
    headline = overlays.fmt_m(float(thresholds[-1]))
    everyone = demand_layers.demand_layer(
        with_band,
        layer_name="Residents by walk to nearest defib",
        band_colours=band_colours,
        band_labels=band_labels,
        defib_names=defib_names,
        ring=False,
        aggregated=aggregated,
    )
    not_within = demand_layers.demand_layer(
        with_band[~covered],
        layer_name=f"Residents not within {headline} m walk",
        band_colours=band_colours,
        band_labels=band_labels,
        defib_names=defib_names,
        ring=True,
        # Decided once for the whole demand so both demand layers read the same way.
        aggregated=aggregated,
    )
    return everyone, not_within


def write_map(m: folium.Map, path: Path) -> None:
    """Save ``m`` as one self-contained HTML file at ``path``, atomically.

    Leaflet, jQuery and Leaflet's CSS and images are inlined from the installed XStatic
    packages, so the page draws every layer without internet (only the background tiles are
    fetched online). The page is written to a temporary file in the same folder and moved over
    ``path`` with :func:`os.replace`, so a reader never sees a half-written map.

    Parameters
    ----------
    m : folium.Map
        The map from :func:`study_map` or :func:`result_map`.
    path : pathlib.Path
        Destination HTML file; its folder must exist.

    Raises
    ------
    DefibmapError
        When the page links a remote script or stylesheet no installed package supplies.
    """
    path = Path(path)
    html = _assets.inline_assets(cast("Figure", m.get_root()).render())
    write_text_atomic(path, html)
    logger.info("wrote map to %s", path)


def result_map(result: StudyResult, *, reach: bool = True) -> folium.Map:
    """Build the study map of a finished study, with reach areas and the day/night switch.

    Parameters
    ----------
    result : StudyResult
        A finished study (:func:`defibmap.run_study`).
    reach : bool, default True
        Draw the walkable reach areas (computed with the study, ``result.reach_areas``).

    Returns
    -------
    folium.Map
        As :func:`study_map`, with the walking network drawn when it has at most
        :data:`MAX_NETWORK_EDGES` edges, and the study's wards when it has a ward file.
    """
    unknown_usable = getattr(result.config, "unknown_hours", "available") == "available"
    found = result.reach_areas if reach else None
    reach_areas = dict(found.areas) if found is not None else {}
    night_reach = found.day_night if found is not None else None
    network = result.network
    lines = None
    if network.n_edges <= MAX_NETWORK_EDGES:
        lines = gpd.GeoSeries(network.edge_geometry, crs=network.crs)
    catchments = study_planner(result)
    plan = catchments if len(catchments.pair_site) <= MAX_PLANNER_PAIRS else None
    if plan is None:
        logger.info("map: %d catchment pairs; the planner is left out", len(catchments.pair_site))
    layers = MapLayers(
        demand=result.demand,
        defibs=result.defibs,
        stations=result.stations,
        candidates=result.candidates,
        recommendations=result.recommendations,
        reach_areas=reach_areas,
        night_reach=night_reach,
        wards=result.wards,
        network_lines=lines,
        planner=plan,
        streets=_streets(result) if plan is not None else None,
    )
    time_layer = _time_layer(result.demand)
    options = MapOptions(
        title=result.config.name,
        thresholds_m=result.config.thresholds_m,
        sources=result.sources,
        synthetic=result.config.synthetic,
        unknown_usable_at_night=unknown_usable,
        extra_layers=[time_layer] if time_layer is not None else [],
        extra_legend={TIME_LAYER: _time_legend()},
        headline=_headline(result),
        report_link="report.html",
    )
    return study_map(layers, options)


def _streets(result: StudyResult) -> _planner.Streets | None:
    """Return the walking network for the page's placed cabinets, when small enough to embed."""
    network = result.network
    if network.n_nodes > MAX_STREET_NODES:
        return None
    nodes = gpd.GeoSeries(
        gpd.points_from_xy(network.node_x, network.node_y), crs=network.crs
    ).to_crs(WGS84)
    adjacency = network.adjacency
    return _planner.Streets(
        lat=nodes.y.to_numpy(dtype=float),
        lon=nodes.x.to_numpy(dtype=float),
        indptr=np.asarray(adjacency.indptr, dtype=np.int64),
        indices=np.asarray(adjacency.indices, dtype=np.int64),
        length_m=np.asarray(adjacency.data, dtype=np.float64),
    )


def _headline(result: StudyResult) -> list[tuple[str, str, float]]:
    """Return the three coverage figures at the headline walk, year-round first."""
    bases = tables.coverage_bases(result)
    if bases.empty:
        return []
    now = bases.iloc[-1]
    walk = int(now["threshold_m"])
    del walk  # the panel's head names the walk
    figures = [
        ("available", "Year-round (a usable defib)", float(now["available"])),
        ("night", "At night (24/7 defibs)", float(now["night"])),
        ("any_time", "Any time (every defib counted)", float(now["any_time"])),
    ]
    return [(key, label, share) for key, label, share in figures if np.isfinite(share)]


#: Minutes to the first defib drawn in these bands: the response time bands
#: (:data:`defibmap.defaults.RESPONSE_WITHIN_MIN`; sources in docs/references.md).
TIME_BANDS_MIN = tuple(float(m) for m in RESPONSE_WITHIN_MIN)
#: Sequential magma steps (colour-blind safe), apart from the walking bands' greens.
_TIME_COLOURS = ("#fcfdbf", "#fc8961", "#b73779", "#51127c")
TIME_LAYER = "Minutes to the first defibrillator"


def _time_legend() -> str:
    """Return the minutes layer's legend section."""
    edges = [f"{m:g}" for m in TIME_BANDS_MIN]
    labels = [f"within {edges[0]} min"]
    labels += [f"{a}\u2013{b} min" for a, b in itertools.pairwise(edges)]
    labels.append(f"over {edges[-1]} min, or no route")
    rows = [page.swatch(c, esc(label)) for c, label in zip(_TIME_COLOURS, labels, strict=False)]
    return "<b>Minutes to the first defib</b>" + "".join(rows)


def _time_layer(demand: gpd.GeoDataFrame) -> folium.FeatureGroup | None:
    """Residents coloured by minutes until a defib reaches them, and by which route."""
    if "time_to_defib_s" not in demand.columns or len(demand) > MAX_DEMAND_MARKERS:
        return None
    group = folium.FeatureGroup(name=TIME_LAYER, show=False)
    wgs = demand.geometry.to_crs(WGS84)
    minutes = demand["time_to_defib_s"].to_numpy(dtype=float) / 60.0
    band = np.searchsorted(np.asarray(TIME_BANDS_MIN), np.nan_to_num(minutes, nan=1e9))
    routes = demand.get("first_route", pd.Series("", index=demand.index)).astype(str)
    labels = [
        f"{minutes[i]:.1f} min to the first defib ({esc(routes.iloc[i])})"
        if np.isfinite(minutes[i])
        else "no route reaches this point"
        for i in range(len(minutes))
    ]
    # drawn by a few lines of page script from one JSON array: a folium marker each costs
    # about 1 ms to write, most of the map's writing time
    group.add_child(
        _planner.PointsScript(
            {
                "lat": np.round(wgs.y.to_numpy(dtype=float), 6).tolist(),
                "lon": np.round(wgs.x.to_numpy(dtype=float), 6).tolist(),
                "colour": [_TIME_COLOURS[int(b)] for b in band],
                "tip": labels,
            }
        )
    )
    return group
