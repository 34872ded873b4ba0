"""Numbers written as text: which mark is the decimal point, which the thousands separator.

``2,057`` is two thousand and fifty-seven in a British file and two point nought five seven in
much of Europe; ``2.057`` the other way round. A column's own cells usually settle it: ``1,5``
or ``53,8123`` can only have a decimal comma, ``1,234,567`` or ``1,234.5`` only a thousands
comma. When they do not, a comma-delimited file is read the British way (a decimal comma would
have to be quoted in every cell), and a semicolon-delimited file, written where either
convention is usual, is refused for that column with examples, rather than guessed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap._errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["parse_text"]

_SIGN = r"[+-]?"
#: Cells that say the decimal mark is '.': a dot not followed by exactly three digits, a dot
#: after four or more digits, or a comma-grouped number with a dot after it.
_DOT_DECIMAL = re.compile(
    rf"{_SIGN}(\d*\.(\d{{1,2}}|\d{{4,}})|\d{{4,}}\.\d+|\d{{1,3}}(,\d{{3}})+\.\d+|\d{{1,3}}(,\d{{3}}){{2,}})"
)
#: Cells that say the decimal mark is ',': the mirror image.
_COMMA_DECIMAL = re.compile(
    rf"{_SIGN}(\d*,(\d{{1,2}}|\d{{4,}})|\d{{4,}},\d+|\d{{1,3}}(\.\d{{3}})+,\d+|\d{{1,3}}(\.\d{{3}}){{2,}})"
)
#: Cells that read as either: one group of three digits after a single mark.
_AMBIGUOUS = re.compile(rf"{_SIGN}\d{{1,3}}[.,]\d{{3}}")


def _decimal_mark(cells: pd.Series, *, semicolon_file: bool, where: str) -> str:
    """Return ``"."`` or ``","``, or raise when the column does not say and a guess would do."""
    dot = cells.str.fullmatch(_DOT_DECIMAL).fillna(value=False).astype(bool)
    comma = cells.str.fullmatch(_COMMA_DECIMAL).fillna(value=False).astype(bool)
    if dot.any() and comma.any():
        msg = (
            f"{where} mixes number styles: {cells[dot].iloc[0]!r} has a decimal point but "
            f"{cells[comma].iloc[0]!r} a decimal comma; write every number the same way"
        )
        raise InputError(msg)
    if dot.any():
        return "."
    if comma.any():
        return ","
    ambiguous = cells.str.fullmatch(_AMBIGUOUS).fillna(value=False).astype(bool)
    marks = {c for cell in cells[ambiguous] for c in cell if c in ".,"}
    if ambiguous.any() and (semicolon_file or len(marks) > 1):
        shown = ", ".join(repr(c) for c in pd.unique(cells[ambiguous])[:3])
        msg = (
            f"{where} holds numbers such as {shown} that read two ways (is the mark a decimal "
            "point or a thousands separator?); write them without thousands separators and "
            "with '.' as the decimal mark"
        )
        raise InputError(msg)
    # A comma-delimited file: '1,234' can only be a quoted thousands comma.
    return "."


def parse_text(
    text: NDArray[np.object_], *, semicolon_file: bool, where: str
) -> NDArray[np.float64]:
    """Parse text cells as numbers by the column's own decimal mark (NaN where not a number).

    Parameters
    ----------
    text
        The column's text cells.
    semicolon_file
        Whether the file is semicolon-delimited (where a decimal comma is common).
    where
        File and column, for messages.

    Raises
    ------
    InputError
        When the column mixes a decimal point and a decimal comma, or holds only numbers that
        read two ways in a file where both conventions are usual.
    """
    cells = pd.Series(text, dtype=object).astype(str).str.strip().str.replace("\u2212", "-")
    if not semicolon_file and not cells.str.contains(",", regex=False).any():
        # The common case, fast: a comma-delimited file with no commas in the column.
        return np.array(pd.to_numeric(cells, errors="coerce"), dtype=np.float64)
    mark = _decimal_mark(cells, semicolon_file=semicolon_file, where=where)
    thousands = "," if mark == "." else "."
    grouped = re.compile(rf"{_SIGN}\d{{1,3}}(\{thousands}\d{{3}})+(\{mark}\d+)?")
    is_grouped = cells.str.fullmatch(grouped).fillna(value=False).astype(bool)
    cells = cells.where(~is_grouped, cells.str.replace(thousands, "", regex=False))
    if mark == ",":
        cells = cells.str.replace(",", ".", regex=False)
    return np.array(pd.to_numeric(cells, errors="coerce"), dtype=np.float64)
