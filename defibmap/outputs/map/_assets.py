"""Inline the map's JavaScript and CSS so ``map.html`` works without internet.

Folium links Leaflet, jQuery (its popups use ``$``) and Leaflet's stylesheet from CDNs. Council
laptops are often offline or locked down, so :func:`inline_assets` swaps each of those
``<script src>`` and ``<link href>`` tags for the same file's text, read from the maintained
XStatic packages that ship it as data (``xstatic-leaflet``, ``xstatic-jquery``); the images
``leaflet.css`` refers to (layer-control icon, default marker) become ``data:`` URIs.
Bootstrap, Font Awesome, awesome-markers and the glyphicons are not needed by the map (it uses
circle markers and ``DivIcon`` badges only), so any link to them is dropped. Any other remote
script or stylesheet is an error: the page would silently break offline.
No third-party code lives in this repository; it is read from the installed packages.
"""

from __future__ import annotations

import base64
import functools
import importlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from defibmap._errors import DefibmapError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["asset_versions", "inline_assets"]

logger = logging.getLogger(__name__)

_SCRIPT_SRC = re.compile(
    r"<script\b[^>]*?\bsrc=\"(?P<url>https?://[^\"]+)\"[^>]*>\s*</script>", re.IGNORECASE
)
_STYLESHEET = re.compile(
    r"<link\b[^>]*?\bhref=\"(?P<url>https?://[^\"]+)\"[^>]*?/?>", re.IGNORECASE
)
_IMAGE_URL = re.compile(r"url\((['\"]?)images/(?P<name>[\w.-]+\.png)\1\)")
#: Assets folium adds that the map does not need (and that have no XStatic package here).
_NOT_NEEDED = re.compile(r"bootstrap|awesome|glyphicons|fontawesome", re.IGNORECASE)
_CLOSE_SCRIPT = re.compile(r"</(script)", re.IGNORECASE)
_CLOSE_STYLE = re.compile(r"</(style)", re.IGNORECASE)


@dataclass(frozen=True)
class _Asset:
    """A file shipped by an XStatic package: the module name and the file inside it."""

    module: str
    filename: str

    def folder(self) -> Path:
        return Path(getattr(_xstatic(self.module), "BASE_DIR", ""))

    def read(self) -> str:
        return (self.folder() / self.filename).read_text(encoding="utf-8")


_LEAFLET_JS = _Asset("leaflet", "leaflet.js")
_LEAFLET_CSS = _Asset("leaflet", "leaflet.css")
_JQUERY_JS = _Asset("jquery", "jquery.min.js")
#: Remote file name (the URL's last part) to the packaged file that replaces it.
_SCRIPTS = (
    (re.compile(r"^leaflet(?:-src)?\.js$"), _LEAFLET_JS),
    (re.compile(r"^jquery(?:-[\d.]+)?(?:\.min)?\.js$"), _JQUERY_JS),
)
_STYLES = ((re.compile(r"^leaflet\.css$"), _LEAFLET_CSS),)


def _xstatic(module: str) -> ModuleType:
    """Import ``xstatic.pkg.<module>``; a clear error when the package is not installed."""
    try:
        return importlib.import_module(f"xstatic.pkg.{module}")
    except ImportError as exc:
        msg = (
            f"the map needs the xstatic-{module.replace('_', '-')} package to work offline; "
            f"install it (pip install xstatic-{module.replace('_', '-')})"
        )
        raise DefibmapError(msg) from exc


def asset_versions() -> dict[str, str]:
    """Return the versions of the inlined libraries, e.g. ``{"Leaflet": "1.9.3", ...}``."""
    return {
        "Leaflet": str(getattr(_xstatic("leaflet"), "VERSION", "?")),
        "jQuery": str(getattr(_xstatic("jquery"), "VERSION", "?")),
    }


@functools.cache
def _script_tag(asset: _Asset) -> str:
    # "</script" inside the code would end the element early; "<\/" means the same to JS.
    code = _CLOSE_SCRIPT.sub(r"<\\/\1", asset.read()).replace("<!--", "<\\!--")
    return f"<script>/* {asset.filename} from xstatic-{asset.module} */\n{code}\n</script>"


@functools.cache
def _style_tag(asset: _Asset) -> str:
    folder = asset.folder()

    def data_uri(match: re.Match[str]) -> str:
        image = folder / "images" / match.group("name")
        encoded = base64.b64encode(image.read_bytes()).decode("ascii")
        return f'url("data:image/png;base64,{encoded}")'

    css = _IMAGE_URL.sub(data_uri, asset.read())
    css = _CLOSE_STYLE.sub(r"<\\/\1", css)
    return f"<style>/* {asset.filename} from xstatic-{asset.module} */\n{css}\n</style>"


def _replacement(url: str, table: tuple[tuple[re.Pattern[str], _Asset], ...], render: str) -> str:
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    for pattern, asset in table:
        if pattern.match(name):
            return _script_tag(asset) if render == "script" else _style_tag(asset)
    if _NOT_NEEDED.search(url):
        logger.debug("dropped %s: the map does not use it", url)
        return ""
    msg = (
        f"the map links {url}, which cannot be inlined from an installed package; "
        "the page would not work without internet"
    )
    raise DefibmapError(msg)


def inline_assets(page: str) -> str:
    """Replace the remote scripts and stylesheets of a rendered folium page by inline copies.

    Parameters
    ----------
    page : str
        The complete HTML of a folium map (``Map.get_root().render()``).

    Returns
    -------
    str
        The page with Leaflet, jQuery and Leaflet's CSS (with its images as ``data:`` URIs)
        inlined in place, in the same order, and links to unneeded assets removed. Tile URLs
        inside the JavaScript are left alone: tiles are the only thing allowed to be missing.

    Raises
    ------
    DefibmapError
        When the page links a remote script or stylesheet that no installed package supplies,
        or a needed XStatic package is missing.
    """
    page = _SCRIPT_SRC.sub(lambda m: _replacement(m.group("url"), _SCRIPTS, "script"), page)
    return _STYLESHEET.sub(lambda m: _replacement(m.group("url"), _STYLES, "style"), page)
