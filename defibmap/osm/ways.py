"""Read local OpenStreetMap files with pyosmium and keep only the ways osmnx would walk.

``osmnx.graph_from_xml`` keeps every way in a file (building outlines, railways, fences) and
reads XML only. This module reads ``.osm``, ``.osm.bz2``, ``.osm.gz`` and ``.osm.pbf`` with
pyosmium, applies osmnx's own Overpass filter for the network type (parsed from
``osmnx._overpass._get_network_filter``, so the rules are osmnx's, not ours), splits ways at
nodes missing from a clipped extract, and writes a small OSM XML file for osmnx to read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from defibmap._errors import NetworkError
from defibmap.osm._file import check_osm_file, osm_read_errors

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

_CLAUSE = re.compile(r'\["([^"]+)"(?:(!?~)"([^"]*)")?\]')


@dataclass(frozen=True)
class _Rule:
    key: str
    op: str  # "exists", "~" or "!~"
    pattern: re.Pattern[str] | None

    def passes(self, tags: Mapping[str, str]) -> bool:
        value = tags.get(self.key)
        if self.pattern is None:  # only an "exists" rule has no pattern
            return value is not None
        if self.op == "~":
            return value is not None and self.pattern.search(value) is not None
        # Overpass "!~": the key is absent, or its value does not match (unanchored search)
        return value is None or self.pattern.search(value) is None


def way_rules(network_type: str = "walk") -> list[_Rule]:
    """Parse osmnx's Overpass way filter for ``network_type`` into rules applied locally."""
    from osmnx import _overpass

    text = _overpass._get_network_filter(network_type)  # noqa: SLF001 - osmnx's own rules
    rules = []
    for key, op, pattern in _CLAUSE.findall(text):
        if not op:
            rules.append(_Rule(key, "exists", None))
        else:
            rules.append(_Rule(key, op, re.compile(pattern)))
    if not rules:  # pragma: no cover - guards against an osmnx change
        msg = f"could not parse osmnx's {network_type!r} filter: {text!r}"
        raise RuntimeError(msg)
    return rules


def way_passes(tags: Mapping[str, str], rules: list[_Rule]) -> bool:
    """Return True when a way with these tags belongs to the network."""
    return all(rule.passes(tags) for rule in rules)


def _pieces(
    ways: list[tuple[int, list[int], dict[str, str]]], coords: dict[int, tuple[float, float]]
) -> tuple[list[tuple[int, list[int], dict[str, str]]], set[int]]:
    """Split ways at nodes absent from ``coords`` into runs of at least two present nodes.

    A way kept whole keeps its id; the pieces of a split way get new negative ids (-1, -2, ...
    over all ways) so osmnx keeps each of them. Returns the pieces and the nodes they use.
    """
    next_id = -1
    used: set[int] = set()
    pieces: list[tuple[int, list[int], dict[str, str]]] = []
    for way_id, refs, tags in ways:
        runs: list[list[int]] = [[]]
        for ref in refs:
            if ref in coords:
                runs[-1].append(ref)
            elif runs[-1]:
                runs.append([])
        runs = [r for r in runs if len(r) >= 2]
        for i, run in enumerate(runs):
            piece_id = way_id if len(runs) == 1 and i == 0 and len(run) == len(refs) else None
            if piece_id is None:
                piece_id = next_id
                next_id -= 1
            pieces.append((piece_id, run, tags))
            used.update(run)
    return pieces, used


def write_filtered_xml(src: Path, dst: Path, *, network_type: str = "walk") -> int:
    """Write the ways of ``src`` that pass osmnx's filter, and their nodes, to OSM XML ``dst``.

    Ways that reference nodes absent from the file (a clipped regional extract) are split at
    the gap into pieces of at least two present nodes; pieces get new negative way ids so
    osmnx keeps each of them.

    Returns
    -------
    int
        The number of ways written.

    Raises
    ------
    NetworkError
        When ``src`` is not a readable OpenStreetMap file of the format its name says, or is
        damaged or cut short (see :mod:`defibmap.osm._file`).
    """
    check_osm_file(src, error=NetworkError)
    rules = way_rules(network_type)
    with osm_read_errors(src, error=NetworkError):
        ways, coords = _read_ways(src, rules)
    pieces, used = _pieces(ways, coords)
    written = 0
    with dst.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
        for node_id in sorted(used):
            lon, lat = coords[node_id]
            out.write(f'<node id="{node_id}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
        for piece_id, run, tags in pieces:
            out.write(f'<way id="{piece_id}">\n')
            out.writelines(f'<nd ref="{ref}"/>\n' for ref in run)
            out.writelines(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>\n" for k, v in tags.items())
            out.write("</way>\n")
            written += 1
        out.write("</osm>\n")
    return written


def _read_ways(
    src: Path, rules: list[_Rule]
) -> tuple[list[tuple[int, list[int], dict[str, str]]], dict[int, tuple[float, float]]]:
    """Return the ways of ``src`` passing ``rules`` and the coordinates of their nodes."""
    import osmium

    ways: list[tuple[int, list[int], dict[str, str]]] = []
    needed: set[int] = set()
    for way in osmium.FileProcessor(str(src), osmium.osm.WAY):
        if not isinstance(way, osmium.osm.Way):  # pragma: no cover - filtered to ways
            continue
        tags = {t.k: t.v for t in way.tags}
        if not way_passes(tags, rules):
            continue
        refs = [n.ref for n in way.nodes]
        ways.append((way.id, refs, tags))
        needed.update(refs)
    coords: dict[int, tuple[float, float]] = {}
    for node in osmium.FileProcessor(str(src), osmium.osm.NODE):
        if not isinstance(node, osmium.osm.Node):  # pragma: no cover - filtered to nodes
            continue
        if node.id in needed and node.location.valid():
            coords[node.id] = (node.location.lon, node.location.lat)
    return ways, coords
