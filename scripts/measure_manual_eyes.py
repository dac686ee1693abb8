"""How far a crop aligned from hand-given eyes (and mouth) is from the detector's crop.

For each London neutral face, the manual eye centres (and mouth corners' mean) of its
``.tem`` template go to :func:`pixelfes.faces.manual.landmarks_from_eyes`; the crop is
compared with the one the default detector's five points give, as the mean distance in
crop pixels (128 px crops) between where the two alignments put the same photo point.

    PIXELFES_DATA=/path/to/shared/data python scripts/measure_manual_eyes.py
"""

from __future__ import annotations

import numpy as np

from pixelfes.config import data_root
from pixelfes.faces import align, apply_affine
from pixelfes.faces.manual import landmarks_from_eyes
from pixelfes.imageio import read_image


def tem_points(path) -> np.ndarray:
    """Eye centres and mouth corners (4, 2) of a London ``.tem`` file (points 0, 1, 87, 93)."""
    lines = path.read_text().split("\n")
    n = int(lines[0])
    tem = np.array([[float(v) for v in ln.split()[:2]] for ln in lines[1 : n + 1]])
    return tem[[0, 1, 87, 93]]


def displacement(a, b) -> float:
    yy, xx = np.mgrid[0 : a.size : 4, 0 : a.size : 4]
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float64)
    return float(np.hypot(*(apply_affine(b.matrix, apply_affine(a.inverse, grid)) - grid).T).mean())


def main() -> None:
    root = data_root()
    if root is None:
        raise SystemExit("set PIXELFES_DATA to the shared data folder")
    eyes_only, with_mouth = [], []
    for path in sorted((root / "london" / "neutral").glob("*.jpg")):
        image = read_image(path)
        manual = tem_points(path.with_suffix(".tem"))
        detected = align(image, largest_only=True)[0]
        by_eyes = align(image, landmarks=landmarks_from_eyes(manual[:2].ravel()))[0]
        mouth = manual[2:].mean(axis=0)
        by_both = align(image, landmarks=landmarks_from_eyes(manual[:2].ravel(), mouth))[0]
        eyes_only.append(displacement(detected, by_eyes))
        with_mouth.append(displacement(detected, by_both))
    print(f"{len(eyes_only)} London faces, mean crop displacement vs the detector (px of 128):")
    for name, values in [("--eyes", eyes_only), ("--eyes --mouth", with_mouth)]:
        v = np.array(values)
        print(
            f"  {name:15s} median {np.median(v):.2f}  90th pct {np.percentile(v, 90):.2f}  "
            f"max {v.max():.2f}  within 2 px: {np.mean(v <= 2):.0%}"
        )


if __name__ == "__main__":
    main()
