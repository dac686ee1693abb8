"""Face regions in the aligned frame (mouth, eyes, brows, rest) and per-region intensity.

The regions are smooth masks over the five-point template (:data:`TEMPLATE_FRACTIONS`), so
they sit on the same facial features in every aligned crop. Each mask is exactly 1 over its
feature's core, falls off with a smoothstep and is exactly 0 beyond; ``rest`` is what the
others leave, so the four masks sum to 1 at every pixel. A per-pixel intensity is then
``sum(mask[r] * dose[r])``: a region dosed 0 gets intensity exactly 0 over its core, and the
edit leaves those crop pixels bit-identical.

>>> doses = parse_regions("mouth=1.2,eyes=0.4")
>>> weights = intensity_map(128, doses, default=1.0)   # (128, 128) float32
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from pixelfes.exceptions import InvalidInputError

__all__ = ["REGIONS", "intensity_map", "parse_regions", "region_masks"]

#: Region names, the last one being everything the others do not cover.
REGIONS = ("mouth", "eyes", "brows", "rest")

# Ellipses in crop fractions: (centre x, centre y, half width, half height). The eye line is
# at 0.40 and the mouth corners at 0.36/0.64, 0.786 (pixelfes.faces.geometry); the brows sit
# about a quarter of the inter-ocular distance above the eyes.
_ELLIPSES = {
    "mouth": [(0.500, 0.795, 0.200, 0.105)],
    "eyes": [(0.325, 0.405, 0.105, 0.058), (0.675, 0.405, 0.105, 0.058)],
    "brows": [(0.315, 0.305, 0.125, 0.05), (0.685, 0.305, 0.125, 0.05)],
}
_CORE = 0.35  # the mask is 1 inside this fraction of each ellipse's radius


def _ellipse(size: int, cx: float, cy: float, ax: float, ay: float) -> np.ndarray:
    s = float(size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    r = np.hypot((xx - (cx * s - 0.5)) / (ax * s), (yy - (cy * s - 0.5)) / (ay * s))
    t = np.clip((1.0 - r) / (1.0 - _CORE), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@lru_cache(maxsize=8)
def _masks(size: int) -> tuple[np.ndarray, ...]:
    named = [np.maximum.reduce([_ellipse(size, *e) for e in _ELLIPSES[n]]) for n in REGIONS[:-1]]
    total = np.sum(named, axis=0)
    scale = np.where(total > 1.0, 1.0 / np.maximum(total, 1e-12), 1.0)
    named = [m * scale for m in named]
    rest = np.clip(1.0 - np.sum(named, axis=0), 0.0, 1.0)
    out = []
    for mask in [*named, rest]:
        mask = mask.astype(np.float32)
        mask.setflags(write=False)
        out.append(mask)
    return tuple(out)


def region_masks(size: int = 128) -> dict[str, np.ndarray]:
    """The four region masks of an ``size`` x ``size`` aligned crop.

    Returns
    -------
    dict of str to ndarray of shape (S, S), float32 in [0, 1]
        Keyed by :data:`REGIONS`; the masks sum to 1 at every pixel.
    """
    if int(size) < 8:
        raise InvalidInputError(f"size must be >= 8, got {size}")
    return dict(zip(REGIONS, _masks(int(size)), strict=True))


def intensity_map(
    size: int, regions: Mapping[str, float], default: float = 1.0, maximum: float = 1.5
) -> np.ndarray:
    """Per-pixel intensity of an aligned crop from per-region doses.

    Parameters
    ----------
    size : int
        Crop side S.
    regions : mapping of str to float
        Dose per region name (:data:`REGIONS`); regions not named get ``default``.
    default : float
        The global intensity, for the regions not named.
    maximum : float
        Largest dose allowed.

    Returns
    -------
    ndarray of shape (S, S), float32
    """
    doses = _check_doses(regions, maximum)
    _check_dose("intensity", default, maximum)
    masks = region_masks(size)
    out = np.zeros((int(size), int(size)), np.float32)
    for name in REGIONS:
        out += masks[name] * np.float32(doses.get(name, default))
    return out


def parse_regions(text: str) -> dict[str, float]:
    """Parse ``"mouth=1.2,eyes=0.4"`` into ``{"mouth": 1.2, "eyes": 0.4}``."""
    doses: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in str(text).split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidInputError(
                f"region dose {item!r} must look like name=value, e.g. mouth=1.2"
            )
        try:
            doses[name.strip()] = float(value)
        except ValueError:
            raise InvalidInputError(f"region dose {item!r}: {value!r} is not a number") from None
    return _check_doses(doses, np.inf)


def _check_doses(regions: Mapping[str, float], maximum: float) -> dict[str, float]:
    doses = {}
    for name, value in dict(regions).items():
        if name not in REGIONS:
            raise InvalidInputError(f"unknown region {name!r}: choose from {', '.join(REGIONS)}")
        doses[name] = _check_dose(name, value, maximum)
    return doses


def _check_dose(name: str, value: float, maximum: float) -> float:
    value = float(value)
    if not 0.0 <= value <= maximum:
        raise InvalidInputError(f"{name} intensity must be in [0, {maximum:g}], got {value:g}")
    return value
