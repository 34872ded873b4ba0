"""A small Overpass- and Nominatim-compatible HTTP server for tests (127.0.0.1 only).

It answers the queries osmnx sends from a real OpenStreetMap extract (the shipped Leeds file,
optionally with hand-made extra files), parsed once with pyosmium:

* ``POST/GET <base>/api/interpreter`` with ``data=<Overpass QL>``: every ``node``/``way``/
  ``relation`` statement with a ``(poly:'lat lon ...')`` area and a tag filter
  (``["k"]``, ``["k"="v"]``, ``["k"!="v"]``, ``["k"~"re"]``, ``["k"!~"re"]``, either quote
  style) selects the matching elements with a node inside the polygon, then recurses down to
  their nodes and member ways, as ``(... ;>;)`` and ``(._;>;)`` do. The answer is Overpass
  JSON, ``{"elements": [...]}``.
* ``GET <base>/api/status``: the Overpass status text osmnx reads for free slots.
* ``GET <base>/nominatim/search?q=...``: one result with a polygon around the extract (or
  ``place_bounds``) for any query containing one of ``place_names``, none otherwise.
  ``<base>/nominatim/status`` answers OK.

Failure modes for the interpreter: ``server.script`` is a list of actions taken by the next
requests, one each (``500``, ``503``: an HTML error page with that status; ``"sleep"``: sleep
``server.sleep_s`` before answering). ``closed_port()`` gives a port nothing listens on.
Every request is counted in ``server.requests`` (method, path, Host header).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import osmium
import shapely

if TYPE_CHECKING:
    from pathlib import Path

_STATEMENT = re.compile(r"(node|way|relation)((?:\[[^\]]*\])*)\(poly:\s*(['\"])([^'\"]*)\3\)")
_CLAUSE = re.compile(
    r"\[\s*(['\"])(?P<key>.*?)\1\s*(?:(?P<op>!=|=|!~|~)\s*(['\"])(?P<value>.*?)\4\s*)?\]"
)

STATUS_TEXT = (
    "Connected as: 1\n"
    "Current time: 2026-01-01T00:00:00Z\n"
    "Announced endpoint: none\n"
    "Rate limit: 2\n"
    "2 slots available now.\n"
    "Currently running queries (pid, space limit, time limit, start time):\n"
)


@dataclass
class OsmData:
    """Nodes, ways and relations of the served extract, as plain Python data."""

    node_ids: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    node_tags: dict[int, dict[str, str]]
    ways: dict[int, tuple[list[int], dict[str, str]]]
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]]
    node_pos: dict[int, int] = field(default_factory=dict)

    @classmethod
    def read(cls, paths: list[Path]) -> OsmData:
        ids: list[int] = []
        lons: list[float] = []
        lats: list[float] = []
        node_tags: dict[int, dict[str, str]] = {}
        ways: dict[int, tuple[list[int], dict[str, str]]] = {}
        relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]] = {}
        for path in paths:
            for obj in osmium.FileProcessor(str(path)):
                tags = dict(obj.tags)
                if obj.is_node():
                    if not obj.location.valid():
                        continue
                    ids.append(obj.id)
                    lons.append(obj.location.lon)
                    lats.append(obj.location.lat)
                    if tags:
                        node_tags[obj.id] = tags
                elif obj.is_way():
                    ways[obj.id] = ([n.ref for n in obj.nodes], tags)
                elif obj.is_relation():
                    members = [(m.type, m.ref, m.role) for m in obj.members]
                    relations[obj.id] = (members, tags)
        data = cls(
            node_ids=np.asarray(ids, dtype=np.int64),
            node_lon=np.asarray(lons),
            node_lat=np.asarray(lats),
            node_tags=node_tags,
            ways=ways,
            relations=relations,
        )
        data.node_pos = {int(n): i for i, n in enumerate(data.node_ids)}
        return data

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (
            float(self.node_lon.min()),
            float(self.node_lat.min()),
            float(self.node_lon.max()),
            float(self.node_lat.max()),
        )


def _passes(tags: dict[str, str], clauses: list[tuple[str, str | None, str | None]]) -> bool:
    for key, op, value in clauses:
        have = tags.get(key)
        if op is None:
            ok = have is not None
        elif op == "=":
            ok = have == value
        elif op == "!=":
            ok = have != value
        elif op == "~":
            ok = have is not None and re.search(value or "", have) is not None
        else:  # "!~": absent, or the value does not match
            ok = have is None or re.search(value or "", have) is None
        if not ok:
            return False
    return True


def _poly(text: str) -> shapely.Polygon:
    numbers = [float(v) for v in text.split()]
    lat = numbers[0::2]
    lon = numbers[1::2]
    return shapely.Polygon(list(zip(lon, lat, strict=True)))


def answer_query(data: OsmData, query: str) -> dict[str, Any]:
    """Return the Overpass JSON for an osmnx query over ``data``."""
    nodes: set[int] = set()
    ways: set[int] = set()
    relations: set[int] = set()
    inside_cache: dict[str, set[int]] = {}
    for kind, filters, _, poly_text in _STATEMENT.findall(query):
        clauses = [
            (m.group("key"), m.group("op"), m.group("value")) for m in _CLAUSE.finditer(filters)
        ]
        if poly_text not in inside_cache:
            mask = shapely.contains_xy(_poly(poly_text), data.node_lon, data.node_lat)
            inside_cache[poly_text] = set(data.node_ids[mask].tolist())
        inside = inside_cache[poly_text]
        if kind == "node":
            nodes.update(n for n in inside if _passes(data.node_tags.get(n, {}), clauses))
        elif kind == "way":
            for way_id, (refs, tags) in data.ways.items():
                if _passes(tags, clauses) and any(r in inside for r in refs):
                    ways.add(way_id)
        else:
            for rel_id, (members, tags) in data.relations.items():
                if not _passes(tags, clauses):
                    continue
                member_nodes = [
                    r
                    for t, ref, _ in members
                    if t == "w" and ref in data.ways
                    for r in data.ways[ref][0]
                ]
                if any(r in inside for r in member_nodes):
                    relations.add(rel_id)
    # recurse down: relations to member ways and nodes, ways to their nodes
    for rel_id in relations:
        for t, ref, _ in data.relations[rel_id][0]:
            if t == "w" and ref in data.ways:
                ways.add(ref)
            elif t == "n" and ref in data.node_pos:
                nodes.add(ref)
    for way_id in ways:
        nodes.update(r for r in data.ways[way_id][0] if r in data.node_pos)
    elements: list[dict[str, Any]] = []
    for node_id in sorted(nodes):
        i = data.node_pos[node_id]
        element: dict[str, Any] = {
            "type": "node",
            "id": node_id,
            "lat": float(data.node_lat[i]),
            "lon": float(data.node_lon[i]),
        }
        if node_id in data.node_tags:
            element["tags"] = dict(data.node_tags[node_id])
        elements.append(element)
    for way_id in sorted(ways):
        refs, tags = data.ways[way_id]
        # a clipped extract: drop references to nodes the file does not hold
        present = [r for r in refs if r in data.node_pos]
        elements.append({"type": "way", "id": way_id, "nodes": present, "tags": dict(tags)})
    type_names = {"n": "node", "w": "way", "r": "relation"}
    for rel_id in sorted(relations):
        members, tags = data.relations[rel_id]
        elements.append(
            {
                "type": "relation",
                "id": rel_id,
                "members": [
                    {"type": type_names[t], "ref": ref, "role": role} for t, ref, role in members
                ],
                "tags": dict(tags),
            }
        )
    return {"version": 0.6, "generator": "defibmap fake Overpass", "elements": elements}


class FakeServer(ThreadingHTTPServer):
    """The server; see the module docstring."""

    daemon_threads = True

    def __init__(self, data: OsmData, *, place_names: tuple[str, ...] = ("leeds",)) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.data = data
        self.place_names = place_names
        self.place_bounds: tuple[float, float, float, float] | None = None
        self.script: list[int | str] = []
        self.sleep_s = 5.0
        self.requests: list[tuple[str, str, str]] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def overpass_url(self) -> str:
        return f"{self.base_url}/api"

    @property
    def nominatim_url(self) -> str:
        return f"{self.base_url}/nominatim/"

    def count(self, suffix: str) -> int:
        """Number of requests whose path ends with ``suffix``."""
        with self._lock:
            return sum(1 for _, path, _ in self.requests if path.endswith(suffix))

    def record(self, method: str, path: str, host: str) -> None:
        with self._lock:
            self.requests.append((method, path, host))

    def next_action(self) -> int | str | None:
        with self._lock:
            return self.script.pop(0) if self.script else None

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def place_result(self) -> list[dict[str, Any]]:
        west, south, east, north = self.place_bounds or self.data.bounds
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        return [
            {
                "place_id": 1,
                "licence": "Data (c) OpenStreetMap contributors, ODbL 1.0",
                "osm_type": "relation",
                "osm_id": 1,
                "boundingbox": [str(south), str(north), str(west), str(east)],
                "lat": str((south + north) / 2),
                "lon": str((west + east) / 2),
                "display_name": "Leeds inner north-east (test extract), England",
                "class": "boundary",
                "type": "administrative",
                "importance": 0.9,
                "geojson": {"type": "Polygon", "coordinates": [ring]},
            }
        ]


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keep the test output quiet."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def _json(self, payload: Any) -> None:
        self._send(200, json.dumps(payload).encode(), "application/json")

    def _route(self, method: str, params: dict[str, list[str]]) -> None:
        path = urlsplit(self.path).path
        self.server.record(method, path, self.headers.get("Host", ""))
        if path.endswith(("/api/status", "/nominatim/status")):
            self._send(200, STATUS_TEXT.encode(), "text/plain")
        elif path.endswith("/api/interpreter"):
            action = self.server.next_action()
            if isinstance(action, int):
                page = f"<html><body><p>Error {action}: try again later</p></body></html>"
                self._send(action, page.encode(), "text/html")
                return
            if action == "sleep":
                self.server.stop.wait(self.server.sleep_s)
            query = params.get("data", [""])[0]
            self._json(answer_query(self.server.data, query))
        elif path.endswith("/nominatim/search"):
            query = params.get("q", [""])[0].lower()
            hit = any(name in query for name in self.server.place_names)
            self._json(self.server.place_result() if hit else [])
        else:
            self._send(404, b"not found", "text/plain")

    def do_GET(self) -> None:
        self._route("GET", parse_qs(urlsplit(self.path).query))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        self._route("POST", parse_qs(body))


def closed_port() -> int:
    """Return a local port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
