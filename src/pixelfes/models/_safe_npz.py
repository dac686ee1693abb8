"""Bounded reading of model archives: no file, header or array is trusted before it is sized.

``numpy.load`` on a hostile ``.npz`` can hang on a FIFO, recurse on a nested ``.npy``
header, allocate whatever size a header declares, or inflate a member without bound. This
module reads the same files with every size checked first:

* only a regular file is opened (non-blocking, so a FIFO cannot hang the open), of at most
  :data:`MAX_MODEL_BYTES`;
* the zip's entry count is read from its end record before the directory is parsed;
* each ``.npy`` header is matched by a strict pattern (no evaluation of any kind), of at
  most :data:`MAX_NPY_HEADER` bytes, with a float, int8 (small integers such as a flow
  model's offsets) or, for the header, uint8 dtype;
* the declared shapes are checked against what the model family allows
  (:meth:`SafeArchive.check_shapes`) before any array data is read, and the data is read
  in bounded chunks into an array of exactly the declared size.

Everything unexpected raises :class:`~pixelfes.exceptions.ModelFileError`.
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import zipfile
from typing import Any

import numpy as np

from pixelfes.exceptions import ModelFileError

#: Largest model file, and largest total of its inflated arrays (a 256x256 colour Pixel-KR
#: with 400 training pairs takes about 630 MB).
MAX_MODEL_BYTES = 1 << 30
#: Largest JSON header (hyper-parameters, attributes and free-form metadata).
MAX_HEADER_BYTES = 1 << 20
MAX_NPY_HEADER = 4096
MAX_MEMBERS = 64
#: Largest model image side and allowed channel counts.
MAX_SIDE = 4096
CHANNELS = (1, 3)
_FLOATS = frozenset({"f2", "f4", "f8"})
_NPY = re.compile(
    r"\{\s*'descr':\s*'(?P<order>[<>|=])(?P<kind>[a-z]\d{1,2})',\s*"
    r"'fortran_order':\s*(?P<fortran>True|False),\s*"
    r"'shape':\s*\((?P<shape>(?:\s*\d{1,12}\s*,)*\s*(?:\d{1,12})?\s*)\),?\s*\}\s*"
)
_CHUNK = 1 << 20


class SafeArchive:
    """A model ``.npz`` opened for bounded reading; ``files`` and ``archive[name]`` as numpy's.

    Use as a context manager. ``archive["header"]`` reads the JSON header (uint8);
    other names are float arrays, readable after :meth:`check_shapes`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.name = os.fspath(path)
        self._handle = _open_regular(self.name)
        try:
            _check_entry_count(self._handle, self.name)
            self._zip = zipfile.ZipFile(self._handle)
            self._members = {
                info.filename[: -len(".npy")]: info
                for info in self._zip.infolist()
                if info.filename.endswith(".npy")
            }
            total = sum(info.file_size for info in self._members.values())
            if total > MAX_MODEL_BYTES:
                raise ModelFileError(
                    f"{self.name}: declares {total:,} bytes of arrays, over the limit of "
                    f"{MAX_MODEL_BYTES:,}"
                )
        except ModelFileError:
            self._handle.close()
            raise
        except Exception as error:  # zipfile raises many kinds on a malformed directory
            self._handle.close()
            raise ModelFileError(f"{self.name}: not a pixelfes model file ({error})") from None
        self._checked: dict[str, tuple[np.dtype, tuple[int, ...], bool, int]] = {}

    @property
    def files(self) -> list[str]:
        return list(self._members)

    def __enter__(self) -> SafeArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()
        self._handle.close()

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self._get(key)
        except (ModelFileError, MemoryError):
            raise
        except Exception as error:  # zlib.error, BadZipFile, NotImplementedError (method)...
            raise ModelFileError(f"{self.name}: corrupt array {key} ({error})") from None

    def _get(self, key: str) -> np.ndarray:
        if key == "header":
            dtype, shape, fortran, offset = self._declared(key, MAX_HEADER_BYTES)
            if dtype != np.uint8 or len(shape) != 1:
                raise ModelFileError(f"{self.name}: malformed header")
            return self._read(key, dtype, shape, fortran, offset)
        if key not in self._checked:
            raise ModelFileError(f"{self.name}: array {key} read before its shape was checked")
        return self._read(key, *self._checked[key])

    def check_shapes(self, model: Any) -> None:
        """Check every fitted array's declared dtype and shape against ``model``'s family.

        ``model`` has its hyper-parameters and ``image_shape_`` set from the header. Its
        ``_check_arrays`` runs on zero-cost stand-ins of the declared shapes, so no data
        is read until every shape is known to be right.
        """
        height, width, channels = model.image_shape_
        if not (height <= MAX_SIDE and width <= MAX_SIDE and channels in CHANNELS):
            raise ModelFileError(
                f"{self.name}: image_shape {list(model.image_shape_)} is outside what a model "
                f"may have (sides up to {MAX_SIDE}, {' or '.join(map(str, CHANNELS))} channels)"
            )
        stand_in_dtype = np.dtype(getattr(model, "dtype", "float32"))
        declared = {}
        for array_name in type(model)._array_names:
            if array_name not in self._members:
                raise ModelFileError(f"{self.name}: array {array_name} is missing")
            dtype, shape, fortran, offset = self._declared_or_error(array_name)
            if array_name in getattr(model, "_integer_arrays", ()):
                if dtype.kind + str(dtype.itemsize) != "i1":
                    raise ModelFileError(f"{self.name}: array {array_name} is not an int8 array")
            elif dtype.kind + str(dtype.itemsize) not in _FLOATS:
                raise ModelFileError(f"{self.name}: array {array_name} is not a float array")
            declared[array_name] = (dtype, shape, fortran, offset)
            stand_in = np.broadcast_to(np.zeros((), stand_in_dtype), shape)
            setattr(model, array_name, stand_in)
        try:
            model._check_arrays()
        except (ValueError, TypeError, IndexError) as error:
            raise ModelFileError(f"{self.name}: {error}") from None
        finally:
            for array_name in declared:
                setattr(model, array_name, None)
        self._checked = declared

    def _declared_or_error(self, key: str) -> tuple[np.dtype, tuple[int, ...], bool, int]:
        try:
            return self._declared(key, MAX_MODEL_BYTES)
        except (ModelFileError, MemoryError):
            raise
        except Exception as error:
            raise ModelFileError(f"{self.name}: corrupt array {key} ({error})") from None

    def _declared(self, key: str, limit: int) -> tuple[np.dtype, tuple[int, ...], bool, int]:
        """Dtype, shape, Fortran order and data offset of a member, from its .npy header."""
        if key not in self._members:
            raise ModelFileError(f"{self.name}: array {key} is missing")
        info = self._members[key]
        with self._zip.open(info) as member:
            prefix = member.read(12)
            if len(prefix) < 10 or prefix[:6] != b"\x93NUMPY" or prefix[6] not in (1, 2, 3):
                raise ModelFileError(f"{self.name}: array {key} is not a .npy array")
            if prefix[6] == 1:
                length, start = struct.unpack("<H", prefix[8:10])[0], 10
            else:
                length, start = struct.unpack("<I", prefix[8:12])[0], 12
            if length > MAX_NPY_HEADER:
                raise ModelFileError(f"{self.name}: array {key} has an oversized .npy header")
            text = (prefix[start:] + member.read(length - (len(prefix) - start)))[:length]
        match = _NPY.fullmatch(text.decode("latin-1"))
        if match is None:
            raise ModelFileError(f"{self.name}: array {key} has a malformed .npy header")
        order = "<" if match["order"] in "|=" else match["order"]
        kind = match["kind"]
        if kind not in _FLOATS and kind not in ("u1", "i1"):
            raise ModelFileError(f"{self.name}: array {key} has unsupported dtype {kind!r}")
        dtype = np.dtype(order + kind)
        shape = tuple(int(d) for d in match["shape"].split(",") if d.strip())
        if len(shape) > 8:
            raise ModelFileError(f"{self.name}: array {key} has {len(shape)} dimensions")
        nbytes = dtype.itemsize
        for dim in shape:
            nbytes *= dim
        offset = start + length
        if nbytes > limit or info.file_size != offset + nbytes:
            raise ModelFileError(
                f"{self.name}: array {key} declares shape {shape} ({nbytes:,} bytes) in a "
                f"member of {info.file_size:,} bytes (limit {limit:,})"
            )
        return dtype, shape, match["fortran"] == "True", offset

    def _read(
        self, key: str, dtype: np.dtype, shape: tuple[int, ...], fortran: bool, offset: int
    ) -> np.ndarray:
        out = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
        view = memoryview(out.reshape(-1, order="A").view(np.uint8))
        with self._zip.open(self._members[key]) as member:
            member.read(offset)
            filled = 0
            while filled < len(view):
                got = member.readinto(view[filled : filled + _CHUNK])
                if not got:
                    raise ModelFileError(f"{self.name}: array {key} is truncated")
                filled += got
            if member.read(1):
                raise ModelFileError(f"{self.name}: array {key} has trailing data")
        return out.astype(dtype.newbyteorder("="), copy=False)


def _open_regular(name: str) -> io.BufferedReader:
    """Open ``name`` for reading only if it is a regular file of a model's size."""
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ModelFileError(f"{name}: no such model file") from None
    except OSError as error:
        raise ModelFileError(f"{name}: cannot open model file ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(f"{name}: not a regular file, so not a model file")
        if info.st_size > MAX_MODEL_BYTES:
            raise ModelFileError(
                f"{name}: {info.st_size:,} bytes, over the model file limit of {MAX_MODEL_BYTES:,}"
            )
    except BaseException:
        os.close(fd)
        raise
    return open(fd, "rb")


def _check_entry_count(handle: io.BufferedReader, name: str) -> None:
    """Refuse a zip whose end record declares more members than a model has."""
    size = handle.seek(0, os.SEEK_END)
    tail_size = min(size, 22 + 0xFFFF)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    handle.seek(0)
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 > len(tail):
        raise ModelFileError(f"{name}: not a pixelfes model file (not a zip archive)")
    (entries,) = struct.unpack("<H", tail[end + 10 : end + 12])
    if entries > MAX_MEMBERS:
        raise ModelFileError(f"{name}: {entries} members, more than a model file has")
