"""The saved network: load gives back the arrays of the build, mapped from the file.

The file form is uncompressed ``.npy`` members aligned in an ``.npz``; a load maps them rather
than reading and deriving them again. These tests compare the loaded arrays with the built
network's (and with numpy's own reading of the file), check they are memory-mapped, that
snapping on the loaded network gives the same answer, that a file of the earlier compressed
form still loads and that a damaged file is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from defibmap._errors import NetworkError
from defibmap.network import _base, snap_points
from defibmap.network import walk as nw
from defibmap.synthetic import random_points, street_grid_network

if TYPE_CHECKING:
    from pathlib import Path

ARRAYS = (
    "node_x",
    "node_y",
    "node_ids",
    "edge_u",
    "edge_v",
    "edge_length_m",
    "edge_coords",
    "edge_coord_offsets",
)


@pytest.fixture(scope="module")
def grid():
    return street_grid_network(3_000, seed=5, spacing_m=25.0)


def _mapped(array: np.ndarray) -> bool:
    base = array
    while base is not None:
        if isinstance(base, np.memmap):
            return True
        base = base.base
    return False


def test_load_returns_the_built_arrays_mapped(grid, tmp_path: Path):
    path = tmp_path / "net.npz"
    nw.save(grid, path)
    loaded = nw.load(path)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(grid, name), err_msg=name)
    # the adjacency is the build's, entry for entry
    diff = loaded.adjacency - grid.adjacency
    assert diff.nnz == 0 or np.abs(diff.data).max() == 0
    np.testing.assert_array_equal(loaded.adjacency.indptr, grid.adjacency.indptr)
    np.testing.assert_array_equal(loaded.adjacency.indices, grid.adjacency.indices)
    assert loaded.crs == grid.crs
    assert loaded.source == grid.source
    # large arrays come straight from the file
    assert _mapped(loaded.edge_coords)
    assert _mapped(loaded.adjacency.data)
    # still an ordinary .npz: numpy reads the same numbers
    with np.load(path) as data:
        np.testing.assert_array_equal(data["edge_u"], grid.edge_u)
        np.testing.assert_array_equal(data["node_x"], grid.node_x)
    # geometry rebuilt on demand equals the built one
    for e in (0, 7, grid.n_edges - 1):
        assert loaded.edge_geometry[e].equals(grid.edge_geometry[e])


def test_snapping_on_the_loaded_network_is_unchanged(grid, tmp_path: Path):
    path = tmp_path / "net.npz"
    nw.save(grid, path)
    loaded = nw.load(path)
    x, y = random_points(grid, 500, seed=2)
    a = snap_points(grid, x, y)
    b = snap_points(loaded, x, y)
    np.testing.assert_array_equal(a.edge, b.edge)
    np.testing.assert_array_equal(a.snap_m, b.snap_m)
    np.testing.assert_array_equal(a.to_u_m, b.to_u_m)


def test_earlier_compressed_form_still_loads(grid, tmp_path: Path):
    path = tmp_path / "old.npz"
    _base.write_network(path, grid, {"format": np.array(_base.CACHE_FORMAT)})
    loaded = nw.load(path)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(grid, name), err_msg=name)


def test_damaged_file_is_refused(grid, tmp_path: Path):
    path = tmp_path / "net.npz"
    nw.save(grid, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(NetworkError, match="damaged"):
        nw.load(path)
