"""Online OpenStreetMap downloads through osmnx: a cache folder per query, retries, clear errors.

osmnx caches every Overpass and Nominatim response as a JSON file named by a hash of the
request in ``osmnx.settings.cache_folder`` (default ``./cache``, the current directory).
defibmap gives each query (a layer, its tags, its area, the endpoints) a folder of its own,
``<cache_dir>/osmnx/<key>/``, with ``<key>.json`` beside it recording the query, the date and
whether the download completed, so that

* a re-run reads the responses from disk and makes no request (it works offline);
* ``refresh=True`` moves that query's folder aside, downloads afresh, and puts the old
  responses back if the new download fails;
* nothing lands in the current directory.

Before a download that needs the network, the endpoints are probed (a name lookup, then a GET
of their status page with a short timeout), so a refused connection, a failed name lookup or a
timeout ends at once with :class:`~defibmap.NetworkError` naming the layer and how to give it
as a file instead. (osmnx would otherwise pause 60 s when the Overpass status page cannot be
reached, and try Google's DNS-over-HTTPS when a name does not resolve.) HTTP 500, 502 and 503
answers are retried with exponential back-off; osmnx itself pauses and retries 429 and 504.
Proxies from ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` are honoured: requests reads them and
nothing here turns that off.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from defibmap._errors import NetworkError
from defibmap._files import write_text_atomic

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Attempts after the first for HTTP 500/502/503 answers.
RETRIES = 3
#: First back-off pause, seconds; doubled after each failed attempt (2, 4, 8 s).
BACKOFF_S = 2.0
#: Longest wait for an endpoint's status page before a download, seconds.
PROBE_TIMEOUT_S = 10.0
#: HTTP statuses worth retrying (server trouble that usually passes).
RETRY_STATUSES = frozenset({500, 502, 503})
_CACHE_FORMAT = 1
_STATUS = re.compile(r"responded: (\d{3})")
_SERVICE_NAMES = {"overpass": "Overpass API", "nominatim": "Nominatim geocoder"}


def default_cache_dir() -> Path:
    """Return the per-user cache folder: ``$DEFIBMAP_CACHE_DIR``, else the XDG cache folder.

    Same rule as :func:`defibmap.study.pipeline.cache_dir` for a study without ``cache_dir``:
    ``$DEFIBMAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/defibmap``, else ``~/.cache/defibmap``;
    never the current directory.
    """
    env = os.environ.get("DEFIBMAP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "defibmap"


def query_key(query: Mapping[str, Any]) -> str:
    """Return a stable 24-hex-digit hash of a query (a JSON-serialisable mapping)."""
    text = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(f"defibmap-osm-v{_CACHE_FORMAT}:{text}".encode())
    return digest.hexdigest()[:24]


def endpoints() -> dict[str, str]:
    """Return the Overpass and Nominatim base URLs osmnx is set to use."""
    import osmnx as ox

    return {
        "overpass": str(ox.settings.overpass_url).rstrip("/"),
        "nominatim": str(ox.settings.nominatim_url).rstrip("/"),
    }


def is_cached(query: Mapping[str, Any], cache_dir: Path) -> bool:
    """Return True when every response of ``query`` completed and is on disk."""
    key = query_key(query)
    meta = cache_dir / "osmnx" / f"{key}.json"
    folder = cache_dir / "osmnx" / key
    if not (meta.is_file() and folder.is_dir()):
        return False
    try:
        return bool(json.loads(meta.read_text(encoding="utf-8")).get("complete"))
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def osmnx_settings(cache_folder: Path) -> Iterator[None]:
    """Point osmnx's response cache at ``cache_folder`` for the duration; restore afterwards."""
    import osmnx as ox

    saved = (ox.settings.cache_folder, ox.settings.use_cache)
    ox.settings.cache_folder = str(cache_folder)
    ox.settings.use_cache = True
    try:
        yield
    finally:
        ox.settings.cache_folder, ox.settings.use_cache = saved


def _uses_proxy(url: str) -> bool:
    """Return True when requests would send ``url`` through a proxy from the environment."""
    import requests

    proxies = requests.utils.get_environ_proxies(url)  # {} when NO_PROXY covers the host
    return bool(requests.utils.select_proxy(url, proxies))


def probe(url: str, *, what: str, layer: str, hint: str, timeout_s: float) -> None:
    """Check that an endpoint answers; raise :class:`NetworkError` at once when it does not.

    Parameters
    ----------
    url
        The endpoint's base URL; ``<url>/status`` is fetched.
    what
        The service's name for the message (``"Overpass API"``, ``"Nominatim"``).
    layer
        The layer that needs it, for the message.
    hint
        How to give the layer as a file instead.
    timeout_s
        Longest wait for an answer, seconds.
    """
    import requests

    parts = urlsplit(url)
    host = parts.hostname or ""
    if not _uses_proxy(url):  # behind a proxy the proxy looks names up
        try:
            socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
        except OSError as exc:
            msg = (
                f"could not fetch {layer}: the name {host!r} of the {what} ({url}) could not "
                f"be looked up ({exc}); are you offline?"
            )
            raise NetworkError(f"{msg} {hint}".strip()) from exc
    import osmnx as ox

    try:
        requests.get(
            f"{url.rstrip('/')}/status",
            timeout=timeout_s,
            headers={"User-Agent": ox.settings.http_user_agent},
            **ox.settings.requests_kwargs,
        )
    except requests.exceptions.Timeout as exc:
        msg = f"could not fetch {layer}: the {what} ({url}) did not answer within {timeout_s:g} s"
        raise NetworkError(f"{msg}. {hint}".strip()) from exc
    except requests.exceptions.RequestException as exc:
        msg = f"could not fetch {layer}: cannot connect to the {what} ({url}): {root_cause(exc)}"
        raise NetworkError(f"{msg}. {hint}".strip()) from exc


def root_cause(exc: BaseException) -> str:
    """Return the innermost error text of a chained exception (``[Errno 111] Connection ...``).

    requests wraps urllib3's error, which wraps the socket's: the innermost says what happened.
    """
    current = exc
    for _ in range(10):
        reason = getattr(current, "reason", None)
        nested = next(
            (
                e
                for e in (
                    reason,
                    current.__cause__,
                    current.__context__,
                    *getattr(current, "args", ())[:1],
                )
                if isinstance(e, BaseException)
            ),
            None,
        )
        if nested is None:
            break
        current = nested
    return str(current)


def _status_of(exc: BaseException) -> int | None:
    match = _STATUS.search(str(exc))
    return int(match.group(1)) if match else None


def _attempts(
    download: Callable[[], T], *, layer: str, hint: str, retries: int, backoff_s: float
) -> T:
    """Run ``download``, retrying HTTP 500/502/503 with back-off; translate network errors."""
    import requests
    from osmnx import _errors as ox_errors

    attempt = 0
    while True:
        try:
            return download()
        except requests.exceptions.Timeout as exc:
            msg = (
                f"could not fetch {layer}: the server did not answer in time "
                f"({root_cause(exc)}). {hint}"
            )
            raise NetworkError(msg) from exc
        except requests.exceptions.RequestException as exc:
            msg = f"could not fetch {layer}: {root_cause(exc)}. {hint}"
            raise NetworkError(msg) from exc
        except ox_errors.InsufficientResponseError as exc:
            msg = f"could not fetch {layer}: the server's answer holds nothing usable ({exc})"
            raise NetworkError(msg) from exc
        except ox_errors.ResponseStatusCodeError as exc:
            status = _status_of(exc)
            if status not in RETRY_STATUSES or attempt >= retries:
                tried = f" after {attempt + 1} attempts" if attempt else ""
                msg = f"could not fetch {layer}: the server answered HTTP {status}{tried}. {hint}"
                raise NetworkError(msg) from exc
            pause_s = backoff_s * 2**attempt
            logger.warning(
                "%s: HTTP %s from the server; retrying in %.1f s", layer, status, pause_s
            )
            time.sleep(pause_s)
            attempt += 1


def _write_meta(path: Path, query: Mapping[str, Any], *, layer: str, complete: bool) -> None:
    import osmnx as ox

    meta = {
        "query": query,
        "layer": layer,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "complete": complete,
        "osmnx": ox.__version__,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(meta, indent=2, sort_keys=True, default=str))


def fetch(
    download: Callable[[], T],
    *,
    layer: str,
    query: Mapping[str, Any],
    hint: str,
    cache_dir: Path | None = None,
    refresh: bool = False,
    services: Sequence[str] = ("overpass",),
) -> T:
    """Run an osmnx download with its own response cache, probing, retries and clear errors.

    Parameters
    ----------
    download
        A function calling osmnx (e.g. ``lambda: ox.features_from_polygon(poly, tags)``).
    layer
        What is being fetched, for messages (``"[defibs] defibrillators"``).
    query
        Everything that defines the download (tags, area, endpoints); its hash names the cache.
    hint
        How to give the layer as a file instead, appended to every error message.
    cache_dir
        defibmap's cache folder; default :func:`default_cache_dir`.
    refresh
        Download again even when the responses are cached.
    services
        The endpoints the download may need: ``"overpass"`` and/or ``"nominatim"``.

    Returns
    -------
    The value ``download`` returns.
    """
    base = (cache_dir or default_cache_dir()) / "osmnx"
    key = query_key(query)
    folder = base / key
    meta = base / f"{key}.json"
    cached = not refresh and is_cached(query, base.parent)
    stale: Path | None = None
    old_meta: bytes | None = None
    if cached:  # every response is on disk: osmnx reads them, no request, no probe
        with osmnx_settings(folder):
            return _attempts(download, layer=layer, hint=hint, retries=RETRIES, backoff_s=BACKOFF_S)
    if refresh and folder.exists():
        stale = base / f"{key}.stale"
        shutil.rmtree(stale, ignore_errors=True)
        folder.rename(stale)
        old_meta = meta.read_bytes() if meta.is_file() else None
    try:
        _write_meta(meta, query, layer=layer, complete=False)
        with osmnx_settings(folder):
            urls = endpoints()
            timeout_s = min(PROBE_TIMEOUT_S, _requests_timeout())
            for service in services:
                probe(
                    urls[service],
                    what=_SERVICE_NAMES[service],
                    layer=layer,
                    hint=hint,
                    timeout_s=timeout_s,
                )
            result = _attempts(
                download, layer=layer, hint=hint, retries=RETRIES, backoff_s=BACKOFF_S
            )
    except BaseException:
        if stale is not None:
            shutil.rmtree(folder, ignore_errors=True)
            stale.rename(folder)
            if old_meta is not None:
                meta.write_bytes(old_meta)
        raise
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)
    _write_meta(meta, query, layer=layer, complete=True)
    return result


def _requests_timeout() -> float:
    import osmnx as ox

    return float(ox.settings.requests_timeout)
