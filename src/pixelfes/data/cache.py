"""Load pairs as aligned crops, with a disk cache so that re-runs take seconds.

Every distinct image file is aligned once (the default aligner is
``pixelfes.faces.align(image, size, largest_only=True)``) and its crop is stored under
``cache_dir()/aligned/<aligner>/<size>/`` as a small ``.npz`` keyed by a hash of the file's
*content*, the aligner's identity and the crop size. Moving or touching the data keeps the
cache valid; editing an image, changing the aligner or the size misses it. Images with no
usable face are cached as such (with the reason) so they are not re-detected either.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import threading
import warnings
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from pixelfes.atomic import atomic_open
from pixelfes.config import cache_dir
from pixelfes.data.sources import Pair
from pixelfes.exceptions import DatasetError, ImageError, NoFaceError

__all__ = ["AlignedPairs", "Skipped", "default_aligner_id", "load_pairs"]

#: Bumped when the layout of a cache entry changes.
CACHE_FORMAT = 1

Aligner = Callable[[np.ndarray, int], Any]


@dataclass(frozen=True)
class Skipped:
    """A pair left out of an :class:`AlignedPairs`, with the file and the reason."""

    pair: Pair
    path: Path
    reason: str


@dataclass
class AlignedPairs:
    """Aligned crops of the pairs that could be loaded.

    ``X`` (inputs) and ``T`` (targets) are (N, S, S, 3) uint8; grayscale sources give three
    equal channels. ``subjects[i]`` and ``pairs[i]`` describe row ``i``. ``skipped`` lists
    the pairs left out (no face found, unreadable file). ``n_aligned``/``n_cached`` count
    the distinct images aligned in this call and those read from the cache.
    """

    X: np.ndarray
    T: np.ndarray
    subjects: list[str]
    pairs: list[Pair]
    skipped: list[Skipped] = field(default_factory=list)
    n_aligned: int = 0
    n_cached: int = 0

    def __len__(self) -> int:
        return len(self.pairs)


# -- aligners -------------------------------------------------------------------------


def default_aligner_id() -> str:
    """Identity of the default aligner: a hash of the ``pixelfes.faces`` code and backend.

    Any edit to the face detection/alignment/template code gives a new id, so stale crops
    are never reused (and a checkout under development re-aligns after such edits).
    """
    package = Path(importlib.import_module("pixelfes.faces").__file__).parent
    digest = hashlib.blake2b(digest_size=8)
    for source in sorted(package.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    for backend in ("yuface", "opencv-python-headless"):
        try:
            digest.update(f"{backend}={version(backend)}".encode())
        except PackageNotFoundError:
            pass
    return f"pixelfes.faces.align-largest-{digest.hexdigest()}"


def _default_aligner() -> Aligner:
    from pixelfes.faces import align, default_detector

    # Data sets keep detecting at 640 px (photos default to 320 px + a 640 px retry): the
    # bundled models and their card scores were made from these crops.
    detector = type(default_detector())(max_side=640)

    def aligner(image: np.ndarray, size: int) -> Any:
        return align(image, size=size, largest_only=True, detector=detector)

    return aligner


def _as_crop(result: Any, size: int) -> np.ndarray | None:
    """Coerce an aligner's answer (crop, AlignedFace, list of them, None) to a crop."""
    if isinstance(result, list | tuple):
        if not result:
            return None
        result = result[0]
    if result is None:
        return None
    crop = original = np.asarray(getattr(result, "crop", result))
    if crop.ndim == 2:
        crop = np.repeat(crop[:, :, None], 3, axis=2)
    if crop.shape == (size, size, 1):
        crop = np.repeat(crop, 3, axis=2)
    if crop.shape != (size, size, 3) or crop.dtype != np.uint8:
        raise DatasetError(
            f"aligner returned a {original.dtype} array of shape {original.shape}; expected uint8 "
            f"({size}, {size}, 3)"
        )
    return np.ascontiguousarray(crop)


# -- cache entries --------------------------------------------------------------------


def _entry_dir(root: Path, aligner_id: str, size: int) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", aligner_id)[:60]
    tag = hashlib.blake2b(aligner_id.encode(), digest_size=4).hexdigest()
    return root / "aligned" / f"{slug}-{tag}" / f"s{size}"


def _entry_key(content: bytes, aligner_id: str, size: int) -> str:
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{CACHE_FORMAT}|{aligner_id}|{size}|".encode())
    digest.update(content)
    return digest.hexdigest()


def _read_entry(path: Path, size: int) -> tuple[np.ndarray | None, str] | None:
    """(crop or None, reason) from a cache entry; None when absent or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as entry:
            found = bool(entry["found"])
            reason = str(entry["reason"])
            crop = entry["crop"] if found else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if crop is not None and (crop.shape != (size, size, 3) or crop.dtype != np.uint8):
        return None
    return crop, reason


def _write_entry(path: Path, crop: np.ndarray | None, reason: str, source: Path) -> None:
    """Write an entry atomically: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as handle:
        np.savez(
            handle,
            allow_pickle=False,
            found=np.array(crop is not None),
            crop=crop if crop is not None else np.zeros((0,), np.uint8),
            reason=np.array(reason),
            source=np.array(str(source)),
        )


# -- loading --------------------------------------------------------------------------


class _Loader:
    def __init__(self, aligner: Aligner, aligner_id: str, size: int, root: Path | None):
        self.aligner, self.size = aligner, size
        self.aligner_id = aligner_id
        self.folder = _entry_dir(root, aligner_id, size) if root is not None else None
        self.n_aligned = self.n_cached = 0
        self._lock = threading.Lock()
        self._warned = False

    def __call__(self, path: Path) -> tuple[np.ndarray | None, str]:
        from pixelfes.imageio import read_image

        try:
            content = path.read_bytes()
        except OSError as exc:
            return None, f"cannot read {path}: {exc.strerror or exc}"
        entry = None
        if self.folder is not None:
            entry = self.folder / f"{_entry_key(content, self.aligner_id, self.size)}.npz"
            cached = _read_entry(entry, self.size)
            if cached is not None:
                with self._lock:
                    self.n_cached += 1
                return cached
        try:
            image = read_image(content)
        except ImageError as exc:
            return None, f"unreadable image {path}: {exc}"
        try:
            crop = _as_crop(self.aligner(image, self.size), self.size)
            reason = "" if crop is not None else f"no face found in {path}"
        except NoFaceError as exc:
            crop, reason = None, f"no face found in {path}: {exc}"
        with self._lock:
            self.n_aligned += 1
        if entry is not None:
            try:
                _write_entry(entry, crop, reason, path)
            except OSError as exc:
                if not self._warned:
                    self._warned = True
                    warnings.warn(f"cannot write the crop cache: {exc}", stacklevel=4)
        return crop, reason


def load_pairs(
    pairs: Sequence[Pair],
    size: int = 128,
    *,
    aligner: Aligner | None = None,
    aligner_id: str | None = None,
    cache: bool | str | os.PathLike[str] = True,
    progress: bool = False,
    jobs: int = 1,
) -> AlignedPairs:
    """Read and align both images of every pair; skip (and report) those with no face.

    Parameters
    ----------
    pairs : sequence of Pair
        From :func:`pixelfes.data.find_pairs`.
    size : int
        Side S of the square template crop.
    aligner : callable, optional
        ``aligner(image, size)`` for an (H, W, 3) uint8 RGB image, returning an (S, S, 3)
        (or (S, S)) uint8 crop, an object with ``.crop``, a list of those (the first is
        used) or ``None``/``[]``/raising :class:`NoFaceError` when no face is found.
        Default: ``pixelfes.faces.align(image, size, largest_only=True)``.
    aligner_id : str, optional
        The aligner's identity in cache keys. Defaults to :func:`default_aligner_id` for
        the default aligner, else the aligner's ``cache_id`` attribute; a custom aligner
        without either needs it when ``cache`` is on (or stale crops could be reused).
    cache : bool or path
        ``True``: cache under ``cache_dir()``; a path: cache there; ``False``: no cache.
    progress : bool
        Show a progress bar (tqdm) over the distinct images.
    jobs : int
        Threads for aligning (the aligner must then be thread-safe).

    Returns
    -------
    AlignedPairs
    """
    pairs = list(pairs)
    if not pairs:
        raise DatasetError("no pairs to load")
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    if aligner is None:
        aligner = _default_aligner()
        aligner_id = aligner_id or default_aligner_id()
    aligner_id = aligner_id or getattr(aligner, "cache_id", None)
    root: Path | None = None
    if cache is not False:
        if not aligner_id:
            raise ValueError(
                "a custom aligner needs aligner_id= (or a cache_id attribute) to use the cache; "
                "or pass cache=False"
            )
        root = cache_dir() if cache is True else Path(cache).expanduser()
    loader = _Loader(aligner, str(aligner_id or ""), size, root)

    paths = list(dict.fromkeys(p for pair in pairs for p in (pair.input_path, pair.target_path)))
    if jobs > 1:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = pool.map(loader, paths)
            crops = dict(zip(paths, _progress(results, len(paths), progress), strict=True))
    else:
        crops = {p: loader(p) for p in _progress(paths, len(paths), progress)}

    kept, skipped = [], []
    for pair in pairs:
        missing = [p for p in (pair.input_path, pair.target_path) if crops[p][0] is None]
        if missing:
            skipped.append(Skipped(pair, missing[0], crops[missing[0]][1]))
        else:
            kept.append(pair)
    empty = np.zeros((0, size, size, 3), np.uint8)
    return AlignedPairs(
        X=np.stack([crops[p.input_path][0] for p in kept]) if kept else empty,
        T=np.stack([crops[p.target_path][0] for p in kept]) if kept else empty.copy(),
        subjects=[p.subject for p in kept],
        pairs=kept,
        skipped=skipped,
        n_aligned=loader.n_aligned,
        n_cached=loader.n_cached,
    )


def _progress(items, total: int, enabled: bool):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc="aligning", unit="img")
