"""Numbers written as text: the decimal mark is read from the column, never guessed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defibmap._errors import InputError
from defibmap.io._numbers import parse_text
from defibmap.io.sites import LayerSpec, load_layer


def _demand(tmp_path, text):
    path = tmp_path / "lsoa.csv"
    path.write_text(text, encoding="utf-8")
    spec = LayerSpec(file=path, layer="demand", id="id", population="population")
    return load_layer(spec, crs="EPSG:27700")


def test_semicolon_file_with_ambiguous_thousands_is_refused(tmp_path):
    # '2,057' is 2057 in Britain and 2.057 in much of Europe: a semicolon file could be either.
    text = "id;lon;lat;population\na;-1,52;53,82;2,057\nb;-1,51;53,81;1,934\n"
    with pytest.raises(InputError) as caught:
        _demand(tmp_path, text)
    message = str(caught.value)
    assert "lsoa.csv: column 'population' holds numbers such as '2,057', '1,934'" in message
    assert "read two ways" in message


def test_semicolon_file_with_european_thousands_is_refused(tmp_path):
    text = "id;lon;lat;population\na;-1.52;53.82;2.057\nb;-1.51;53.81;1.934\n"
    with pytest.raises(InputError, match=r"column 'population' holds numbers such as '2\.057'"):
        _demand(tmp_path, text)


def test_semicolon_file_whose_column_shows_its_decimal_comma_is_read(tmp_path):
    gdf, _ = _demand(tmp_path, "id;lon;lat;population\na;-1,52;53,82;2057\nb;-1,51;53,81;12,5\n")
    assert gdf["population"].tolist() == [2057.0, 12.5]


def test_comma_file_with_quoted_thousands_is_read_as_thousands(tmp_path):
    gdf, _ = _demand(tmp_path, 'id,lon,lat,population\na,-1.52,53.82,"2,057"\nb,-1.51,53.81,7\n')
    assert gdf["population"].tolist() == [2057.0, 7.0]


def test_mixed_decimal_marks_are_refused():
    with pytest.raises(InputError, match=r"mixes number styles: '1\.5' .* '2,25'"):
        parse_text(np.array(["1.5", "2,25"], dtype=object), semicolon_file=True, where="f: c")


@settings(deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=20),
    st.sampled_from([(",", "."), (".", ",")]),
)
def test_grouped_integers_read_back_when_the_column_shows_its_convention(values, marks):
    thousands, decimal = marks
    cells = [f"{v:,}".replace(",", thousands) for v in values]
    cells.append(f"0{decimal}5")  # one cell that says which mark is the decimal one
    parsed = parse_text(np.array(cells, dtype=object), semicolon_file=True, where="f: c")
    assert parsed.tolist() == [*map(float, values), 0.5]
