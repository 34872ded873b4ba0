"""Derive the real data that defibmap ships from the shared reference data.

Run from the repository root::

    python scripts/derive_data.py --shared ../shared/data

It reads the public source files in the shared data folder and writes small, column- and
row-reduced copies into the repository:

* ``data/leeds/``    the Leeds inner north-east default study (OSM extract, LSOA demand,
  schools as existing defibs, candidate council buildings, police and fire stations,
  postcode centroids);
* ``data/coventry/`` the Coventry layers (fire stations, libraries, candidates, LSOA demand,
  wards, boundary);
* ``tests/data/its-example.osm.pbf`` a byte copy of a small PBF used by the tests;
* ``tests/data/trafford/`` gzip copies of Trafford's ONS population and IMD tables and its
  defibrillator register (whole files), and the Trafford postcode rows the register uses,
  so the reader tests on those real layouts run on any clone.

The output is deterministic: re-running it gives byte-identical files (rows sorted, fixed
float formatting, bz2 at a fixed level, one pinned coordinate transformation). Counts that
the documentation relies on are asserted, so a changed source fails loudly.

The police stations are the ones whose snap distance to the walking network of the extract is
within the 250 m limit; checking that builds the network with ``defibmap.network.walk``, so the
repository must be importable (it is put on ``sys.path`` below).
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import io
import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyproj
import shapely

REPO = Path(__file__).resolve().parents[1]

# The extract's bounds, as written in its <bounds> element (checked on read).
BOUNDS = {"minlat": 53.807, "minlon": -1.5535, "maxlat": 53.828, "maxlon": -1.4991}
MAX_SNAP_M = 250.0
FIRE_BUFFER_M = 5000.0

LEEDS_LSOAS = 32
LEEDS_POPULATION = 60_339
COVENTRY_LSOAS = 203
COVENTRY_POPULATION = 345_312
COVENTRY_LIBRARIES = 18
COVENTRY_WARDS = 18
COVENTRY_FIRE_STATIONS = 4
EXPECTED_LEEDS_LIBRARIES = {"Chapeltown Library", "Compton Road Library", "Oakwood Library"}
EXPECTED_POLICE = {"Inner North East", "Inner North West"}

# WGS84 <-> British National Grid pinned to the 7-parameter Helmert "OSGB36 to WGS 84 (6)"
# (EPSG:1314) that PROJ uses when the OSTN15 grid is absent. pyproj's default would switch to
# OSTN15 where that grid is installed, moving points by a metre or so and breaking the
# byte-for-byte reproducibility of the derived files.
_WGS84_TO_BNG = (
    "proj=pipeline step proj=unitconvert xy_in=deg xy_out=rad step proj=push v_3 "
    "step proj=cart ellps=WGS84 step inv proj=helmert x=446.448 y=-125.157 z=542.06 "
    "rx=0.15 ry=0.247 rz=0.842 s=-20.489 convention=position_vector "
    "step inv proj=cart ellps=airy step proj=pop v_3 "
    "step proj=tmerc lat_0=49 lon_0=-2 k=0.9996012717 x_0=400000 y_0=-100000 ellps=airy"
)
TRANSFORMER = pyproj.Transformer.from_pipeline(_WGS84_TO_BNG)
ArrayOrFloat = float | np.ndarray


def to_bng(lon: ArrayOrFloat, lat: ArrayOrFloat) -> tuple[ArrayOrFloat, ArrayOrFloat]:
    """Return easting, northing (EPSG:27700) for lon, lat (EPSG:4326)."""
    return TRANSFORMER.transform(lon, lat)


def to_lonlat(easting: ArrayOrFloat, northing: ArrayOrFloat) -> tuple[ArrayOrFloat, ArrayOrFloat]:
    """Return lon, lat (EPSG:4326) for easting, northing (EPSG:27700)."""
    return TRANSFORMER.transform(easting, northing, direction="INVERSE")


# --------------------------------------------------------------------------------------------
# formatting and writing
# --------------------------------------------------------------------------------------------


def fmt_deg(x: float) -> str:
    """Format a longitude or latitude (7 dp, about 1 cm, the precision OSM stores)."""
    return f"{float(x):.7f}"


def fmt_m(x: float) -> str:
    """Format an easting or northing in metres (2 dp)."""
    return f"{float(x):.2f}"


def slug(text: str) -> str:
    """Return a lower-case identifier made of letters, digits and underscores."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def clean_address(text: str) -> str:
    """Tidy an address: drop empty comma-separated parts and surrounding spaces."""
    parts = [p.strip() for p in text.split(",")]
    return ", ".join(p for p in parts if p)


_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)\s*([0-9O][A-Z]{2})\b")


def clean_postcode(text: str) -> str:
    """Return a postcode as ``OUTWARD INWARD``; a letter O typed for a zero is corrected."""
    m = _POSTCODE.match(text.strip().upper())
    if not m:
        return text.strip().upper()
    inward = m.group(2)
    if inward[0] == "O":
        inward = "0" + inward[1:]
    return f"{m.group(1)} {inward}"


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write rows (already strings) as a UTF-8 CSV with ``\\n`` line endings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))
    print(f"  {path.relative_to(path.parents[2])}: {len(rows)} rows")


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a CSV with a header row into dicts of strings."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def in_bounds(lon: float, lat: float) -> bool:
    """Return whether a lon/lat lies inside the extract's bounds (edges included)."""
    return (
        BOUNDS["minlon"] <= lon <= BOUNDS["maxlon"] and BOUNDS["minlat"] <= lat <= BOUNDS["maxlat"]
    )


# --------------------------------------------------------------------------------------------
# OSM XML
# --------------------------------------------------------------------------------------------


@dataclass
class OsmFeature:
    """A tagged OSM node or way reduced to one point."""

    kind: str  # "node" or "way"
    osm_id: int
    tags: dict[str, str]
    lon: float
    lat: float

    @property
    def site_id(self) -> str:
        """Return ``osm_node_<id>`` or ``osm_way_<id>``."""
        return f"osm_{self.kind}_{self.osm_id}"


@dataclass
class OsmData:
    """What the derivation needs of an OSM XML file."""

    bounds: dict[str, float]
    nodes: dict[int, tuple[float, float]] = field(default_factory=dict)
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)
    ways: dict[int, tuple[list[int], dict[str, str]]] = field(default_factory=dict)
    relation_tags: dict[int, dict[str, str]] = field(default_factory=dict)


def read_osm(path: Path) -> OsmData:
    """Read nodes, ways and relation tags from an OSM XML file."""
    root = ET.parse(path).getroot()
    b = root.find("bounds")
    if b is None:
        msg = f"{path}: no <bounds> element"
        raise ValueError(msg)
    data = OsmData(bounds={k: float(b.attrib[k]) for k in BOUNDS})
    for el in root:
        tags = {t.attrib["k"]: t.attrib["v"] for t in el.iter("tag")}
        osm_id = int(el.attrib.get("id", 0))
        if el.tag == "node":
            data.nodes[osm_id] = (float(el.attrib["lon"]), float(el.attrib["lat"]))
            if tags:
                data.node_tags[osm_id] = tags
        elif el.tag == "way":
            refs = [int(nd.attrib["ref"]) for nd in el.iter("nd")]
            data.ways[osm_id] = (refs, tags)
        elif el.tag == "relation" and tags:
            data.relation_tags[osm_id] = tags
    return data


def way_point(refs: list[int], nodes: dict[int, tuple[float, float]]) -> tuple[float, float]:
    """Return the lon/lat of a way's centroid, computed in British National Grid.

    A closed way is taken as a polygon (area centroid), an open way as a line. Nodes missing
    from a clipped extract are skipped.
    """
    present = [nodes[r] for r in refs if r in nodes]
    if not present:
        msg = "way has none of its nodes in the extract"
        raise ValueError(msg)
    lon = np.array([p[0] for p in present])
    lat = np.array([p[1] for p in present])
    x, y = to_bng(lon, lat)
    xy = np.column_stack([x, y])
    closed = refs[0] == refs[-1] and all(r in nodes for r in refs)
    if closed and len(refs) >= 4:
        geom = shapely.Polygon(xy)
    elif len(present) >= 2:
        geom = shapely.LineString(xy)
    else:
        geom = shapely.Point(xy[0])
    c = geom.centroid
    out_lon, out_lat = to_lonlat(c.x, c.y)
    return float(out_lon), float(out_lat)


def osm_features(data: OsmData, key: str, value: str) -> list[OsmFeature]:
    """Return every node and way tagged ``key=value``, sorted by kind and id."""
    for rid, tags in data.relation_tags.items():
        if tags.get(key) == value:
            msg = f"relation {rid} is tagged {key}={value}: not handled"
            raise ValueError(msg)
    out = [
        OsmFeature("node", nid, tags, *data.nodes[nid])
        for nid, tags in data.node_tags.items()
        if tags.get(key) == value
    ]
    out += [
        OsmFeature("way", wid, tags, *way_point(refs, data.nodes))
        for wid, (refs, tags) in data.ways.items()
        if tags.get(key) == value
    ]
    return sorted(out, key=lambda f: (f.kind, f.osm_id))


# --------------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------------

LSOA_HEADER = [
    "lsoa21cd",
    "lsoa21nm",
    "population",
    "imd_rank",
    "imd_decile",
    "easting",
    "northing",
    "lon",
    "lat",
]
STATION_HEADER = ["site_id", "name", "address", "postcode", "easting", "northing", "lon", "lat"]
CANDIDATE_HEADER = ["site_id", "name", "kind", "lon", "lat", "source"]


def lsoa_rows(rows: list[dict[str, str]]) -> list[list[str]]:
    """Reduce LSOA source rows to the demand columns, sorted by LSOA code."""
    out = []
    for r in sorted(rows, key=lambda r: r["LSOA21CD"]):
        pop = float(r["pop_census2021"])
        if pop != int(pop):
            msg = f"{r['LSOA21CD']}: population {pop} is not a whole number"
            raise ValueError(msg)
        out.append(
            [
                r["LSOA21CD"],
                r["LSOA21NM"],
                str(int(pop)),
                str(int(float(r["IMD19_rank"]))),
                str(int(float(r["IMD19_decile"]))),
                fmt_m(float(r["pwc_easting"])),
                fmt_m(float(r["pwc_northing"])),
                fmt_deg(float(r["lon"])),
                fmt_deg(float(r["lat"])),
            ]
        )
    return out


def fire_station_row(r: dict[str, str]) -> list[str]:
    """Reduce a Home Office fire station row ("Can - Canley" names lose the prefix)."""
    name = r["STATION_NAME"].strip()
    if " - " in name:
        name = name.split(" - ", 1)[1].strip()
    return [
        f"fire_{slug(name)}",
        name,
        clean_address(r["STATION_ADDRESS"]),
        clean_postcode(r["STATION_POSTCODE"]),
        fmt_m(float(r["STATION_EASTING"])),
        fmt_m(float(r["STATION_NORTHING"])),
        fmt_deg(float(r["lon"])),
        fmt_deg(float(r["lat"])),
    ]


def library_id(name: str) -> str:
    """Return ``library_<slug>`` without a trailing "library"."""
    return "library_" + slug(re.sub(r"\s+library$", "", name.strip(), flags=re.IGNORECASE))


def round_coords(obj: object, ndigits: int = 6) -> object:
    """Round every float in nested GeoJSON coordinate lists."""
    if isinstance(obj, list):
        return [round_coords(o, ndigits) for o in obj]
    if isinstance(obj, float):
        return round(obj, ndigits)
    return obj


def write_geojson(path: Path, src: Path, keep: list[str], sort_key: str) -> int:
    """Copy a GeoJSON FeatureCollection keeping only ``keep`` properties, coordinates at 6 dp."""
    data = json.loads(src.read_text(encoding="utf-8"))
    feats = []
    for f in sorted(data["features"], key=lambda f: f["properties"][sort_key]):
        geom = f["geometry"]
        feats.append(
            {
                "type": "Feature",
                "properties": {k: f["properties"][k] for k in keep},
                "geometry": {
                    "type": geom["type"],
                    "coordinates": round_coords(geom["coordinates"]),
                },
            }
        )
    out = {"type": "FeatureCollection", "features": feats}
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(out, separators=(",", ":"), ensure_ascii=False) + "\n"
    path.write_bytes(text.encode("utf-8"))
    print(f"  {path.relative_to(path.parents[2])}: {len(feats)} features")
    return len(feats)


# --------------------------------------------------------------------------------------------
# Leeds
# --------------------------------------------------------------------------------------------


def derive_leeds(shared: Path, out: Path) -> dict[str, int]:
    """Write ``data/leeds/*`` and ``tests/data/its-example.osm.pbf``; return counts."""
    src = shared / "leeds"
    dst = out / "data" / "leeds"
    dst.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    osm_bz2, osm = _leeds_osm(src, dst)
    counts["lsoas"] = _leeds_lsoas(src, dst)
    counts["schools"] = _leeds_schools(osm, dst)
    counts.update(_leeds_candidates(src, dst, osm))
    counts["police_stations"] = _leeds_police(src, dst, osm_bz2)
    counts["fire_stations"] = _leeds_fire(src, dst)
    counts["postcodes"] = _leeds_postcodes(shared, dst)
    counts["lsoa_centroids_all"] = _leeds_all_centroids(src, dst)

    # the small PBF fixture, byte for byte
    pbf = out / "tests" / "data" / "its-example.osm.pbf"
    pbf.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "its-example.osm.pbf", pbf)
    print(f"  tests/data/{pbf.name}: {pbf.stat().st_size} bytes")
    return counts


def _leeds_osm(src: Path, dst: Path) -> tuple[Path, OsmData]:
    """The OSM extract, whole, bz2-compressed (bz2 output is deterministic)."""
    osm_path = src / "leeds_osm_tutorial_map.osm"
    osm_bz2 = dst / "leeds_inner_ne.osm.bz2"
    osm_bz2.write_bytes(bz2.compress(osm_path.read_bytes(), compresslevel=9))
    print(f"  data/leeds/{osm_bz2.name}: {osm_bz2.stat().st_size} bytes")
    osm = read_osm(osm_path)
    if osm.bounds != BOUNDS:
        msg = f"extract bounds {osm.bounds} differ from the expected {BOUNDS}"
        raise ValueError(msg)
    return osm_bz2, osm


def _leeds_lsoas(src: Path, dst: Path) -> int:
    """LSOA demand, population-weighted centroids inside the extract's bounds."""
    lsoas = [
        r
        for r in read_csv(src / "lsoa21_leeds_pop2021_pwc_imd2019.csv")
        if in_bounds(float(r["lon"]), float(r["lat"]))
    ]
    rows = lsoa_rows(lsoas)
    total = sum(int(r[2]) for r in rows)
    assert len(rows) == LEEDS_LSOAS, len(rows)
    assert total == LEEDS_POPULATION, total
    write_csv(dst / "lsoa21_demand.csv", LSOA_HEADER, rows)
    return len(rows)


def _leeds_schools(osm: OsmData, dst: Path) -> int:
    """Schools as existing (indoor) defibs."""
    schools = osm_features(osm, "amenity", "school")
    rows = [
        [
            s.site_id,
            s.tags.get("name", ""),
            fmt_deg(s.lon),
            fmt_deg(s.lat),
            "school",
            s.tags.get("opening_hours", ""),
            "indoor",
        ]
        for s in schools
    ]
    write_csv(
        dst / "schools.csv",
        ["site_id", "name", "lon", "lat", "kind", "opening_hours", "location"],
        rows,
    )
    return len(rows)


def _leeds_candidates(src: Path, dst: Path, osm: OsmData) -> dict[str, int]:
    """Candidates, open council libraries in the bounds and OSM community centres."""
    libs = [
        r
        for r in read_csv(src / "libraries_leeds_librarieshacked2023_geocoded.csv")
        if not r["closed"].strip()
        and r["lon"].strip()
        and in_bounds(float(r["lon"]), float(r["lat"]))
    ]
    names = {r["name"].strip() for r in libs}
    assert names == EXPECTED_LEEDS_LIBRARIES, names
    rows = [
        [
            library_id(r["name"]),
            r["name"].strip(),
            "library",
            fmt_deg(float(r["lon"])),
            fmt_deg(float(r["lat"])),
            "LibrariesHacked 2023",
        ]
        for r in sorted(libs, key=lambda r: library_id(r["name"]))
    ]
    centres = osm_features(osm, "amenity", "community_centre")
    rows += [
        [
            c.site_id,
            c.tags.get("name", ""),
            "community_centre",
            fmt_deg(c.lon),
            fmt_deg(c.lat),
            "OpenStreetMap",
        ]
        for c in centres
    ]
    write_csv(dst / "candidates.csv", CANDIDATE_HEADER, rows)
    return {"candidates": len(rows), "community_centres": len(centres)}


def _leeds_police(src: Path, dst: Path, osm_bz2: Path) -> int:
    """Police stations within the snap limit of the extract's walking network."""
    police = [
        r
        for r in read_csv(src / "police_west_yorkshire_leeds_openregister.csv")
        if r["easting"].strip()
    ]
    snap = snap_distances(
        osm_bz2,
        np.array([float(r["easting"]) for r in police]),
        np.array([float(r["northing"]) for r in police]),
    )
    for r, d in sorted(zip(police, snap, strict=True), key=lambda t: t[1])[:4]:
        print(f"    police {r['station_name']}: snap {d:.1f} m")
    kept = [r for r, d in zip(police, snap, strict=True) if d <= MAX_SNAP_M]
    assert {r["station_name"] for r in kept} == EXPECTED_POLICE, [r["station_name"] for r in kept]
    rows = [
        [
            f"police_{slug(r['neighbourhood_id'])}",
            r["station_name"].strip(),
            clean_address(r["address"]),
            clean_postcode(r["postcode"]),
            fmt_m(float(r["easting"])),
            fmt_m(float(r["northing"])),
            fmt_deg(float(r["lon"])),
            fmt_deg(float(r["lat"])),
        ]
        for r in sorted(kept, key=lambda r: r["neighbourhood_id"])
    ]
    write_csv(dst / "police_stations.csv", STATION_HEADER, rows)
    return len(rows)


def _leeds_fire(src: Path, dst: Path) -> int:
    """Fire stations within 5 km of the extract's bounds (all lie off its network)."""
    bbox = shapely.segmentize(
        shapely.box(BOUNDS["minlon"], BOUNDS["minlat"], BOUNDS["maxlon"], BOUNDS["maxlat"]),
        0.0005,
    )
    ring = np.asarray(bbox.exterior.coords)
    bx, by = to_bng(ring[:, 0], ring[:, 1])
    area = shapely.Polygon(np.column_stack([bx, by]))
    fire = read_csv(src / "fire_stations_west_yorkshire.csv")
    fx = np.array([float(r["STATION_EASTING"]) for r in fire])
    fy = np.array([float(r["STATION_NORTHING"]) for r in fire])
    dist = shapely.distance(area, shapely.points(fx, fy))
    kept_fire = [r for r, d in zip(fire, dist, strict=True) if d <= FIRE_BUFFER_M]
    for r, d in zip(fire, dist, strict=True):
        if d <= FIRE_BUFFER_M:
            print(f"    fire {r['STATION_NAME'].strip()}: {d:.0f} m outside the bounds")
    rows = sorted((fire_station_row(r) for r in kept_fire), key=lambda r: r[0])
    write_csv(dst / "fire_stations.csv", STATION_HEADER, rows)
    return len(rows)


def _leeds_postcodes(shared: Path, dst: Path) -> int:
    """Postcode centroids inside the bounds."""
    rows = []
    with (shared / "postcodes" / "codepoint_open_2014_ls.csv").open(newline="") as fh:
        pcs = list(csv.reader(fh))
    e = np.array([float(r[2]) for r in pcs])
    n = np.array([float(r[3]) for r in pcs])
    lon, lat = to_lonlat(e, n)
    inside = (
        (lon >= BOUNDS["minlon"])
        & (lon <= BOUNDS["maxlon"])
        & (lat >= BOUNDS["minlat"])
        & (lat <= BOUNDS["maxlat"])
    )
    rows = sorted(
        [clean_postcode(r[0]), str(int(float(r[2]))), str(int(float(r[3])))]
        for r, ok in zip(pcs, inside, strict=True)
        if ok
    )
    write_csv(dst / "postcodes_inner_ne.csv", ["postcode", "easting", "northing"], rows)
    return len(rows)


def _leeds_all_centroids(src: Path, dst: Path) -> int:
    """Every Leeds LSOA's population-weighted centroid (code and BNG only).

    Postcodes near the extract's edge are then assigned to their nearest centroid among *all*
    Leeds LSOAs, not pulled into the 32 study LSOAs.
    """
    # near the extract's edge are assigned to their nearest centroid among *all* Leeds LSOAs,
    # not pulled into the 32 study LSOAs
    all_lsoa = sorted(
        [r["LSOA21CD"], f"{float(r['pwc_easting']):.2f}", f"{float(r['pwc_northing']):.2f}"]
        for r in read_csv(src / "lsoa21_leeds_pop2021_pwc_imd2019.csv")
    )
    write_csv(dst / "lsoa21_centroids_all.csv", ["lsoa21cd", "easting", "northing"], all_lsoa)
    return len(all_lsoa)


def snap_distances(osm_file: Path, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the distance (m) from each BNG point to the nearest edge of the walking network."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from defibmap.network import walk as network  # needs the repository on sys.path

    net = network.from_osm_file(osm_file)
    if net.crs != "EPSG:27700":
        msg = f"network CRS is {net.crs}, expected EPSG:27700"
        raise ValueError(msg)
    idx, dist = net.edge_tree().query_nearest(shapely.points(x, y), return_distance=True)
    # query_nearest may return several equidistant edges for one point; they share a distance
    out = np.full(x.shape[0], np.inf)
    np.minimum.at(out, idx[0], dist)
    return out


# --------------------------------------------------------------------------------------------
# Coventry
# --------------------------------------------------------------------------------------------


def derive_coventry(shared: Path, out: Path) -> dict[str, int]:
    """Write ``data/coventry/*``; return counts."""
    src = shared / "coventry"
    dst = out / "data" / "coventry"
    dst.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    fire = read_csv(src / "fire_stations_coventry_wmfs.csv")
    rows = sorted((fire_station_row(r) for r in fire), key=lambda r: r[0])
    assert len(rows) == COVENTRY_FIRE_STATIONS, len(rows)
    write_csv(dst / "fire_stations.csv", STATION_HEADER, rows)
    counts["fire_stations"] = len(rows)

    libs = sorted(
        read_csv(src / "libraries_coventry_librarieshacked2023_geocoded.csv"),
        key=lambda r: library_id(r["name"]),
    )
    assert len(libs) == COVENTRY_LIBRARIES, len(libs)
    rows = [
        [
            library_id(r["name"]),
            r["name"].strip(),
            clean_address(f"{r['address1']}, {r['address2']}"),
            clean_postcode(r["postcode"]),
            r["closed"].strip(),
            fmt_m(float(r["easting"])),
            fmt_m(float(r["northing"])),
            fmt_deg(float(r["lon"])),
            fmt_deg(float(r["lat"])),
        ]
        for r in libs
    ]
    write_csv(
        dst / "libraries.csv",
        ["site_id", "name", "address", "postcode", "closed", *STATION_HEADER[4:]],
        rows,
    )
    counts["libraries"] = len(rows)
    rows = [
        [
            library_id(r["name"]),
            r["name"].strip(),
            "library",
            fmt_deg(float(r["lon"])),
            fmt_deg(float(r["lat"])),
            "LibrariesHacked 2023",
        ]
        for r in libs
        if not r["closed"].strip()
    ]
    write_csv(dst / "candidates.csv", CANDIDATE_HEADER, rows)
    counts["candidates"] = len(rows)

    rows = lsoa_rows(read_csv(src / "lsoa21_coventry_pop2021_pwc_imd2019.csv"))
    total = sum(int(r[2]) for r in rows)
    assert len(rows) == COVENTRY_LSOAS, len(rows)
    assert total == COVENTRY_POPULATION, total
    write_csv(dst / "lsoa21_demand.csv", LSOA_HEADER, rows)
    counts["lsoas"] = len(rows)

    n_wards = write_geojson(
        dst / "wards.geojson", src / "coventry_wards_WD23.geojson", ["WD23CD", "WD23NM"], "WD23CD"
    )
    assert n_wards == COVENTRY_WARDS, n_wards
    counts["wards"] = n_wards
    write_geojson(
        dst / "boundary.geojson",
        src / "coventry_lad22_boundary.geojson",
        ["LAD22NM"],
        "LAD22NM",
    )
    return counts


TRAFFORD_COPIES = (
    "population_mid_year_2024_mid-year_2024_population_estimates_lsoa.csv",
    "population_mid_year_2024_mid-year_2024_population_estimates_oa.csv",
    "lsoa21_trafford_pop2021_pwc_imd2019.csv",
    "defibrillators_trafford_defibrillators.csv",
)
TRAFFORD_POSTCODES = "spatial_postcodes_trafford_postcodes.csv"


def write_gzip(path: Path, data: bytes) -> None:
    """Write ``data`` gzip-compressed with no name or time in the header (byte-identical)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as fh,
    ):
        fh.write(data)


def derive_trafford_fixtures(shared: Path, out: Path) -> dict[str, int]:
    """Write ``tests/data/trafford/*.csv.gz``; return row counts."""
    src = shared / "trafford"
    dst = out / "tests" / "data" / "trafford"
    counts: dict[str, int] = {}
    for name in TRAFFORD_COPIES:
        data = (src / name).read_bytes()
        write_gzip(dst / f"{name}.gz", data)
        counts[name] = data.count(b"\n") - 1
    register = read_csv(src / "defibrillators_trafford_defibrillators.csv")
    wanted = {r["Postcode"].replace(" ", "").upper() for r in register}
    text = (src / TRAFFORD_POSTCODES).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    kept = [lines[0]] + [
        line for line in lines[1:] if line.split(",", 1)[0].replace(" ", "").upper() in wanted
    ]
    write_gzip(dst / f"{TRAFFORD_POSTCODES}.gz", "".join(kept).encode("utf-8"))
    counts[TRAFFORD_POSTCODES] = len(kept) - 1
    assert counts["defibrillators_trafford_defibrillators.csv"] == 185, counts
    for path in sorted(dst.iterdir()):
        print(f"  tests/data/trafford/{path.name}: {path.stat().st_size} bytes")
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=REPO.parent / "shared" / "data",
        help="the shared reference data folder (default: ../shared/data from the repo root)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO,
        help="where to write data/ and tests/data/ (default: the repository root)",
    )
    args = parser.parse_args(argv)
    shared = args.shared.resolve()
    if not (shared / "leeds").is_dir():
        parser.error(f"{shared} does not hold the shared data (no leeds/ folder)")
    out = args.out.resolve()
    print(f"deriving from {shared} into {out}")
    leeds = derive_leeds(shared, out)
    coventry = derive_coventry(shared, out)
    trafford = derive_trafford_fixtures(shared, out)
    print("leeds:", json.dumps(leeds, sort_keys=True))
    print("coventry:", json.dumps(coventry, sort_keys=True))
    print("trafford:", json.dumps(trafford, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
