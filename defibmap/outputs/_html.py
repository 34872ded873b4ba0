r"""Escaping of input text for the HTML pages defibmap writes (the map and the report).

:func:`esc` is stronger than :func:`html.escape` on purpose. Folium puts popup and tooltip HTML
inside JavaScript template literals (where backtick, ``$`` and ``\`` are live) and branca
renders page pieces through Jinja templates (where ``{`` and ``}`` are live), so those
characters are replaced by numeric character references as well. In plain HTML the references
show as the same characters, so one helper serves every page. Control characters (a raw one is
an HTML parse error) are shown as the same visible escapes as in the workbook and the CSVs.
"""

from __future__ import annotations

import html
import math

import pandas as pd

from defibmap.outputs.tables import escape_control

__all__ = ["esc", "text"]

_NOT_JS_SAFE = str.maketrans(
    {"`": "&#96;", "$": "&#36;", "\\": "&#92;", "{": "&#123;", "}": "&#125;"}
)


def esc(value: object) -> str:
    """Escape ``value`` for HTML, JavaScript template literals and Jinja templates.

    Parameters
    ----------
    value : object
        Anything; it is converted with :class:`str` first.

    Returns
    -------
    str
        Text safe to place in HTML element content, a quoted attribute value, a JavaScript
        template literal or a Jinja template.
    """
    return html.escape(escape_control(str(value)), quote=True).translate(_NOT_JS_SAFE)


def text(value: object, fallback: str = "") -> str:
    """Return the escaped text of ``value``, or ``fallback`` (escaped) when it is missing.

    Parameters
    ----------
    value : object
        A cell value; ``None``, NaN and ``pandas.NA`` count as missing.
    fallback : str, default ""
        Text used when ``value`` is missing.

    Returns
    -------
    str
        Escaped text, as :func:`esc`.
    """
    missing = (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )
    return esc(fallback if missing else value)
