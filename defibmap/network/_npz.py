"""Networks on disk: arrays in a compressed ``.npz``, edge geometries as WKB, written atomically.

Shared by the walking (:mod:`defibmap.network._arrays`) and driving
(:mod:`defibmap.network._drive_arrays`) network caches. No pickle: files are read with
``allow_pickle=False``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from defibmap._files import atomic_path

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from numpy.typing import NDArray


def pack_wkb(geometry: NDArray[np.object_]) -> dict[str, NDArray[Any]]:
    """Return the ``wkb`` bytes and ``wkb_offsets`` arrays that store ``geometry``."""
    wkb = shapely.to_wkb(geometry)
    offsets = np.cumsum([0, *(len(b) for b in wkb)]).astype(np.int64)
    return {"wkb": np.frombuffer(b"".join(wkb), dtype=np.uint8), "wkb_offsets": offsets}


def unpack_wkb(data: Mapping[str, NDArray[Any]]) -> NDArray[np.object_]:
    """Return the geometries stored by :func:`pack_wkb` in an open ``.npz``."""
    offsets = data["wkb_offsets"]
    blob = data["wkb"].tobytes()
    wkb = [blob[offsets[i] : offsets[i + 1]] for i in range(offsets.size - 1)]
    return np.asarray(shapely.from_wkb(np.asarray(wkb, dtype=object)), dtype=object)


def write_atomic(path: Path, arrays: dict[str, Any]) -> None:
    """Write ``arrays`` to ``path`` as a compressed ``.npz``, all or nothing.

    The file is written under a unique temporary name in the same folder and renamed over
    ``path``, so a reader (or a second writer) never sees half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
