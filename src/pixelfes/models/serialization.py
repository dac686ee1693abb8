"""Model files: a versioned ``.npz`` that is read without unpickling anything.

Layout (format version 1): a zip archive written by ``numpy.savez`` holding

* ``header``: uint8 array, the UTF-8 bytes of a JSON object with the keys
  ``format`` (always ``"pixelfes-model"``), ``format_version`` (int), ``class``,
  ``params`` (constructor hyper-parameters), ``image_shape`` ([H, W, C]),
  ``intensity_scale``, ``storage_dtype`` ("float32" or "float16"), ``arrays`` (names of
  the fitted arrays), ``attributes`` (other fitted values), ``metadata`` (free-form
  JSON) and ``pixelfes_version``;
* one array per fitted attribute, named as the attribute (e.g. ``coef_``): floats in the
  storage dtype, except the small integers a class names in ``_integer_arrays`` (e.g. the
  offsets of a flow model), stored exactly as int8.

The model classes are found by name in the registry (:mod:`pixelfes.models._registry`);
this module imports no model. Files are written atomically (temporary file in the same
folder, then ``os.replace``) and read with ``allow_pickle=False``; anything unexpected
raises ``ModelFileError``.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pixelfes.atomic import atomic_open
from pixelfes.exceptions import InvalidInputError, ModelFileError
from pixelfes.models._registry import MODEL_CLASSES
from pixelfes.models._safe_npz import SafeArchive
from pixelfes.models._validation import INTENSITY_SCALE

if TYPE_CHECKING:
    from pixelfes.models.base import BaseImageModel

FORMAT = "pixelfes-model"
FORMAT_VERSION = 1
STORAGE_DTYPES = ("float32", "float16")


def save_model(
    model: BaseImageModel,
    path: str | os.PathLike[str],
    metadata: dict[str, Any] | None = None,
    dtype: str = "float32",
) -> None:
    """Write a fitted model to ``path`` atomically (see the module docstring)."""
    from pixelfes import __version__

    if dtype not in STORAGE_DTYPES:
        raise InvalidInputError(f"dtype must be one of {STORAGE_DTYPES}; got {dtype!r}")
    arrays = {
        name: _stored(getattr(model, name), name, _storage(model, name, dtype))
        for name in model._array_names
    }
    params = {name: getattr(model, name) for name in model._param_names}
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(model).__name__,
        "params": {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()},
        "image_shape": list(model.image_shape_),
        "intensity_scale": INTENSITY_SCALE,
        "storage_dtype": dtype,
        "arrays": list(arrays),
        "attributes": {name: getattr(model, name) for name in model._extra_names},
        "metadata": {} if metadata is None else metadata,
        "pixelfes_version": __version__,
    }
    try:
        encoded = json.dumps(header, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"metadata must be JSON-serialisable: {error}") from None
    arrays["header"] = np.frombuffer(encoded, dtype=np.uint8)
    _write_atomically(Path(path), arrays)


def _storage(model: BaseImageModel, name: str, dtype: str) -> str:
    return "int8" if name in model._integer_arrays else dtype


def _stored(array: np.ndarray, name: str, dtype: str) -> np.ndarray:
    if dtype == "int8":
        if not (np.all(array == np.rint(array)) and np.abs(array).max(initial=0) <= 127):
            raise InvalidInputError(f"{name} must hold integers in [-127, 127] to save")
        return np.asarray(array).astype(np.int8)
    out = array.astype(dtype)
    if not np.isfinite(out).all():
        raise InvalidInputError(
            f"{name} does not fit in {dtype} (values overflow); save as float32"
        )
    return out


def _write_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_open(path) as handle:
        np.savez(handle, allow_pickle=False, **arrays)


def load(path: str | os.PathLike[str]) -> BaseImageModel:
    """Read a model written by ``model.save(path)``.

    Parameters
    ----------
    path : str or path-like
        A pixelfes model file.

    Returns
    -------
    model
        The fitted model (PixelRidge, PixelKernelRidge, MaskedRidge, GlobalRidge or
        PixelLookupTable), its ``metadata_`` holding the saved metadata.

    Raises
    ------
    ModelFileError
        If the file is missing, corrupt, truncated, not a pixelfes model, or written by
        a newer format version. The message names the file.
    """
    name = os.fspath(path)
    archive = SafeArchive(name)  # bounded: sizes and shapes checked before data is read
    try:
        with archive:
            return _build(archive, name)
    except ModelFileError:
        raise
    except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"{name}: corrupt or truncated model file ({error})") from None


def _read_header(archive: SafeArchive, name: str) -> dict[str, Any]:
    if "header" not in archive.files:
        raise ModelFileError(f"{name}: not a pixelfes model file (no header)")
    raw = archive["header"]
    if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{name}: not a pixelfes model file (malformed header)")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{name}: corrupt model header (not JSON)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{name}: not a pixelfes model file (format tag missing)")
    version = header.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{name}: invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name}: written with model format version {version}, this pixelfes reads "
            f"up to version {FORMAT_VERSION}; upgrade pixelfes"
        )
    return header


def _build(archive: SafeArchive, name: str) -> BaseImageModel:
    header = _read_header(archive, name)
    cls = MODEL_CLASSES.get(header.get("class"))  # type: ignore[arg-type]
    if cls is None:
        raise ModelFileError(f"{name}: unknown model class {header.get('class')!r}")
    params = header.get("params")
    if not isinstance(params, dict):
        raise ModelFileError(f"{name}: hyper-parameters do not match {cls.__name__}")
    if set(params) != set(cls._param_names):
        raise ModelFileError(
            f"{name}: hyper-parameters {sorted(params)} do not match {cls.__name__}'s "
            f"{sorted(cls._param_names)} (a file from another version of pixelfes: retrain it)"
        )
    model = cls(**params)
    model._check_hyper_parameters()
    shape = header.get("image_shape")
    if not (isinstance(shape, list) and len(shape) == 3):
        raise ModelFileError(f"{name}: invalid image_shape {shape!r}")
    if not all(isinstance(d, int) and d > 0 for d in shape):
        raise ModelFileError(f"{name}: invalid image_shape {shape!r}")
    model.image_shape_ = tuple(shape)  # type: ignore[assignment]
    archive.check_shapes(model)
    for array_name in cls._array_names:
        if array_name not in archive.files:
            raise ModelFileError(f"{name}: array {array_name} is missing")
        array = archive[array_name]
        if array_name in cls._integer_arrays:
            if not isinstance(array, np.ndarray) or array.dtype != np.int8:
                raise ModelFileError(f"{name}: array {array_name} is not an int8 array")
            setattr(model, array_name, array)
            continue
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            raise ModelFileError(f"{name}: array {array_name} is not a float array")
        if not np.isfinite(array).all():
            raise ModelFileError(f"{name}: array {array_name} is not finite floats")
        setattr(model, array_name, array.astype(np.float32))
    attributes = header.get("attributes") or {}
    for attribute in cls._extra_names:
        setattr(model, attribute, attributes.get(attribute))
    model._check_arrays()
    metadata = header.get("metadata")
    model.metadata_ = metadata if isinstance(metadata, dict) else {}
    return model
