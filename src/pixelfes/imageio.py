"""Reading and writing photos safely: EXIF orientation, odd modes, size limit, atomic writes.

``read_image`` always returns an (H, W, 3) uint8 RGB array:

* EXIF orientation is applied (the array looks the way viewers show the photo);
* grayscale (L, I;16, I, F) becomes three equal channels; 16-bit data is scaled to 8 bit
  by ``round(v / 257)`` (so 65535 -> 255), 32-bit int/float by their full range;
* images with transparency (RGBA, LA, palette with transparency) are composited on white;
* CMYK (and YCbCr, LAB...) JPEG/TIFF are converted to RGB by Pillow;
* images with more than ``max_pixels`` pixels are refused from their header, before any
  pixel is decoded (decompression-bomb guard) with :class:`ImageTooLargeError`;
* only the formats in :data:`READ_FORMATS` are opened: Pillow decodes some others (ICO,
  ICNS...) inside ``Image.open``, before any size could be checked;
* anything Pillow cannot identify or decode (including a malformed or oversized chunk,
  whatever Pillow raises for it) raises :class:`ImageError` naming the file.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pixelfes.atomic import atomic_open
from pixelfes.exceptions import ImageError, ImageTooLargeError

__all__ = ["DEFAULT_MAX_PIXELS", "READ_FORMATS", "read_image", "read_metadata", "write_image"]

DEFAULT_MAX_PIXELS = 50_000_000
#: Pillow formats read_image opens; each reads only its header in ``Image.open``.
READ_FORMATS = ("JPEG", "PNG", "BMP", "DIB", "WEBP", "TIFF", "GIF", "PPM")
#: formats whose writer takes ``exif`` / ``icc_profile``.
_METADATA_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "TIFF"})


def _name(source) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return str(source)


def _to_rgb8(im: Image.Image, name: str) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        arr = np.asarray(im).astype(np.float32)
        return _gray_to_rgb(np.rint(arr / 257.0))
    if mode == "I":
        # 16-bit grayscale PNG/TIFF may open as 32-bit "I"; treat 0..65535 as 16 bit,
        # anything else by its own range.
        arr = np.asarray(im).astype(np.float32)
        lo, hi = float(arr.min(initial=0)), float(arr.max(initial=0))
        if lo < 0 or hi > 65535:
            arr = (arr - lo) / max(hi - lo, 1.0) * 65535.0
        return _gray_to_rgb(np.rint(arr / 257.0))
    if mode == "F":
        arr = np.asarray(im).astype(np.float32)
        arr = np.nan_to_num(arr)
        hi = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
        return _gray_to_rgb(np.rint(np.clip(arr / hi, 0, 1) * 255.0))
    if (
        mode in ("RGBA", "LA", "PA", "RGBa", "La")
        or (mode == "P" and "transparency" in im.info)
        or (mode in ("RGB", "L") and "transparency" in im.info)
    ):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if mode == "RGB":
        return np.asarray(im)
    if mode == "L":
        return _gray_to_rgb(np.asarray(im))
    try:
        return np.asarray(im.convert("RGB"))
    except (ValueError, OSError) as exc:
        raise ImageError(f"cannot convert image mode {mode!r} of {name} to RGB: {exc}") from exc


def _gray_to_rgb(arr: np.ndarray) -> np.ndarray:
    g = np.clip(arr, 0, 255).astype(np.uint8)
    return np.repeat(g[:, :, None], 3, axis=2)


def read_image(path_or_bytes, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read a photo as an (H, W, 3) uint8 RGB array (see the module docstring)."""
    name = _name(path_or_bytes)
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        fp = io.BytesIO(bytes(path_or_bytes))
    else:
        path = Path(path_or_bytes)
        try:
            is_file = path.is_file()
        except OSError as exc:
            raise ImageError(f"cannot read image {name}: {exc.strerror or exc}") from None
        if not is_file:
            raise ImageError(f"cannot read image {name}: no such file")
        fp = path
    # Pillow's global limit (Image.MAX_IMAGE_PIXELS) is left alone: changing it per call
    # would race between threads. Our limit, checked from the header below, is the lower
    # one by default; a larger max_pixels still meets Pillow's own bomb error here.
    try:
        im = Image.open(fp, formats=READ_FORMATS)
    except UnidentifiedImageError as exc:
        raise ImageError(
            f"{name} is not an image in a supported format ({', '.join(READ_FORMATS)})"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"{name} is over Pillow's decompression-bomb limit: {exc}"
        ) from exc
    except MemoryError:
        raise
    except Exception as exc:  # malformed headers raise many kinds of errors
        raise ImageError(f"cannot read image {name}: {exc}") from exc
    with im:
        w, h = im.size
        if max_pixels is not None and w * h > max_pixels:
            raise ImageTooLargeError(
                f"{name} has {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,}"
            )
        try:
            im.load()
            im = ImageOps.exif_transpose(im)
            arr = _to_rgb8(im, name)
        except ImageError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # malformed data raises many kinds of errors
            raise ImageError(f"cannot decode image {name}: {exc}") from exc
    return np.ascontiguousarray(arr, dtype=np.uint8)


def read_metadata(path) -> dict[str, bytes]:
    """The EXIF and ICC profile of an image file, to keep them in an edited copy.

    Returns a dict with ``"exif"`` (orientation reset to 1, since :func:`read_image`
    returns the pixels upright) and ``"icc_profile"``, each only when present.
    """
    try:
        with Image.open(path, formats=READ_FORMATS) as im:
            found: dict[str, bytes] = {}
            icc = im.info.get("icc_profile")
            if isinstance(icc, bytes) and icc:
                found["icc_profile"] = icc
            exif = im.getexif()
            if len(exif):
                if exif.get(_ORIENTATION, 1) != 1:
                    exif[_ORIENTATION] = 1
                found["exif"] = exif.tobytes()
            return found
    except MemoryError:
        raise
    except Exception:  # metadata is kept when it can be read, never at the cost of the edit
        return {}


_ORIENTATION = 0x0112


def write_image(
    path,
    array: np.ndarray,
    *,
    overwrite: bool = True,
    quality: int = 95,
    metadata: dict[str, bytes] | None = None,
    like=None,
) -> Path:
    """Write a uint8 (H, W), (H, W, 3) or (H, W, 4) array atomically; format from suffix.

    Writes to a temporary file in the same folder, then ``os.replace`` s it onto ``path``,
    so readers never see a half-written file. With ``overwrite=False`` an existing
    ``path`` raises :class:`FileExistsError`. ``metadata`` (from :func:`read_metadata`)
    is written where the format can hold it (JPEG, PNG, WebP, TIFF); ``like`` names a
    file whose mode and owner the output takes (see :func:`pixelfes.atomic.atomic_path`).
    Returns the path.
    """
    path = Path(path)
    arr = np.asarray(array)
    if arr.dtype != np.uint8:
        raise ImageError(f"write_image needs a uint8 array, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ImageError(f"write_image needs (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists (overwrite=False)")
    fmt = image_format(path)
    im = Image.fromarray(np.ascontiguousarray(arr))
    if fmt == "JPEG" and im.mode == "RGBA":
        im = im.convert("RGB")
    kwargs: dict = {"quality": int(quality)} if fmt in ("JPEG", "WEBP") else {}
    if metadata and fmt in _METADATA_FORMATS:
        kwargs.update({k: v for k, v in metadata.items() if k in ("exif", "icc_profile")})
    with atomic_open(path, overwrite=overwrite, like=like) as handle:
        im.save(handle, format=fmt, **kwargs)
    return path


def image_format(path) -> str:
    """The Pillow format an output named ``path`` is written in; ImageError if none."""
    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise ImageError(f"cannot tell the image format from the name {path}")
    return fmt
