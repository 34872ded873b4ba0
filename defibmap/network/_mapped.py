"""Arrays kept in one uncompressed ``.npz`` whose members are memory-mapped when read.

A compressed ``.npz`` has to be inflated and copied in full on every load (6.4 s for a
1.5-million-node region). Here every array is a stored (uncompressed) ``.npy`` member, its data
aligned to 64 bytes in the file, so :func:`read_arrays` maps each straight from the file
(``numpy.memmap``, copy-on-write): nothing is read until it is used. The file is still an
ordinary ``.npz`` (``numpy.load`` reads it) and is written atomically.
"""

from __future__ import annotations

import io
import struct
import zipfile
from typing import TYPE_CHECKING, Literal

import numpy as np

from defibmap._files import atomic_path

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from numpy.typing import NDArray

#: Alignment of every array's data in the file (bytes): numpy's own ``.npy`` header alignment.
_ALIGN = 64
#: The extra-field id zipalign uses for padding (a well-formed field any zip reader skips).
_PAD_ID = 0xD935
#: Arrays smaller than this are read into memory instead of mapped (bytes).
_MAP_MIN_BYTES = 1 << 16
_LOCAL_HEADER = 30
_ZIP64_EXTRA = 20


def write_arrays(path: Path, arrays: Mapping[str, NDArray[np.generic]]) -> None:
    """Write ``arrays`` to ``path`` as an uncompressed ``.npz`` with aligned members."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        atomic_path(path) as tmp,
        tmp.open("wb") as fh,
        zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf,
    ):
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
            data = buf.getvalue()
            member = f"{name}.npy"
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            # the local header is followed by the name, this padding field (4 bytes and the
            # pad) and, for a member over 2 GiB, zipfile's own zip64 field
            zip64 = _ZIP64_EXTRA if len(data) * 1.05 > zipfile.ZIP64_LIMIT else 0
            start = fh.tell() + _LOCAL_HEADER + len(member.encode()) + 4 + zip64
            pad = -start % _ALIGN
            info.extra = struct.pack("<HH", _PAD_ID, pad) + bytes(pad)
            zf.writestr(info, data)


def read_arrays(path: Path) -> dict[str, NDArray[np.generic]]:
    """Return the arrays of a file written by :func:`write_arrays`, large ones mapped.

    Raises
    ------
    ValueError
        When a member is compressed, is not an ``.npy`` array or holds Python objects.
    """
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    out: dict[str, NDArray[np.generic]] = {}
    with path.open("rb") as fh:
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                msg = f"member {info.filename} is not a stored .npy array"
                raise ValueError(msg)
            fh.seek(info.header_offset)
            local = fh.read(_LOCAL_HEADER)
            if local[:4] != b"PK\x03\x04":
                msg = f"member {info.filename} has no local header"
                raise ValueError(msg)
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            fh.seek(info.header_offset + _LOCAL_HEADER + name_len + extra_len)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            if dtype.hasobject:
                msg = f"member {info.filename} holds Python objects"
                raise ValueError(msg)
            offset = fh.tell()
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if offset + size > info.header_offset + _LOCAL_HEADER + name_len + extra_len + (
                info.file_size
            ):
                msg = f"member {info.filename} is shorter than its array"
                raise ValueError(msg)
            order: Literal["C", "F"] = "F" if fortran else "C"
            if size < _MAP_MIN_BYTES:
                raw = fh.read(size)
                array = np.reshape(np.frombuffer(raw, dtype=dtype), shape, order=order).copy()
            else:
                mapped = np.memmap(
                    path, dtype=dtype, mode="c", offset=offset, shape=tuple(shape), order=order
                )
                array = np.asarray(mapped)
            out[info.filename[:-4]] = array
    return out
