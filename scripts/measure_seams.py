"""Measure the seam an edit leaves at the face border, with and without the skin border mask.

For each photo: edit to ``--to`` with ``clean_border`` off (the fixed paste ellipse) and on
(:func:`pixelfes.faces.border.border_mask`), then print per case the median over faces of

- ``seam``: gradient energy of the change in the outer ring of the paste ellipse, relative to
  the photo's own there (:func:`pixelfes.faces.border.seam_energy`; 0 = untouched);
- ``kept``: the change inside the ring (the inner face) with the mask, as a fraction of the
  change without it (1 = the expression edit itself is untouched).

Cases: the shared wild photos with a human face, London neutral faces as they are, on
generated stripes, squeezed into a turned (3/4-like) face, and both
(:mod:`pixelfes.evaluation.hard_cases`).

    PIXELFES_DATA=/path/to/shared/data python scripts/measure_seams.py --london 10 \
        --figure docs/figures/border_turned.png
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from pixelfes.config import data_root
from pixelfes.editing import edit_image
from pixelfes.evaluation.hard_cases import busy_background, turned_face
from pixelfes.exceptions import NoFaceError
from pixelfes.faces import align
from pixelfes.faces.border import seam_energy, seam_ring
from pixelfes.imageio import read_image, write_image

WILD = ("astronaut.png", "grace_hopper.jpg", "lisa1.jpg", "zoom_30cm.jpg")
PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))


def measure(image: np.ndarray, to: str) -> list[tuple[float, float, float]]:
    """(seam without mask, seam with mask, kept) for each face of ``image``."""
    faces = align(image)
    plain = edit_image(image, to, clean_border=False).image
    clean = edit_image(image, to).image
    rows = []
    for face in faces:
        inner = ~seam_ring(image.shape, face)
        x0, y0, x1, y1 = (round(v) for v in _box(face, image.shape))
        inner[:y0], inner[y1:], inner[:, :x0], inner[:, x1:] = False, False, False, False
        change = np.abs(plain.astype(np.float32) - image)[inner].sum()
        kept = np.abs(clean.astype(np.float32) - image)[inner].sum() / max(change, 1e-9)
        rows.append((seam_energy(image, plain, face), seam_energy(image, clean, face), kept))
    return rows


def _box(face, shape):
    ring = seam_ring(shape, face)
    ys, xs = np.nonzero(ring)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def figure(image: np.ndarray, to: str, path: Path) -> None:
    """Face region of: the photo, the edit and its change (x4) with and without the mask."""
    face = align(image)[0]
    x0, y0, x1, y1 = _box(face, image.shape)
    pad = (x1 - x0) // 6
    x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
    x1, y1 = min(image.shape[1], x1 + pad), min(image.shape[0], y1 + pad)
    panels = [image[y0:y1, x0:x1]]
    for clean in (False, True):
        edited = edit_image(image, to, clean_border=clean).image
        change = np.clip(128 + 4 * (edited.astype(np.int16) - image), 0, 255).astype(np.uint8)
        panels += [edited[y0:y1, x0:x1], change[y0:y1, x0:x1]]
    gap = np.full((y1 - y0, 6, 3), 255, np.uint8)
    row = np.hstack([p for panel in panels for p in (panel, gap)][:-1])
    scale = 200 / row.shape[0]
    size = (round(row.shape[1] * scale), 200)
    write_image(path, cv2.resize(row, size, interpolation=cv2.INTER_AREA))
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--to", default="happy")
    parser.add_argument("--london", type=int, default=20, help="London faces per case")
    parser.add_argument(
        "--figure", type=Path, help="Also draw the bundled portrait, turned, edited both ways."
    )
    args = parser.parse_args()
    if args.figure is not None:
        portrait = read_image(PORTRAIT)
        figure(turned_face(portrait, align(portrait)[0]), args.to, args.figure)
    root = data_root()
    if root is None:
        raise SystemExit("set PIXELFES_DATA to the shared data folder")
    results: dict[str, list] = defaultdict(list)
    for name in WILD:
        results["wild photos"] += measure(read_image(root / "wild" / name), args.to)
    london = sorted((root / "london" / "neutral").glob("*.jpg"))
    for path in london[:: max(1, len(london) // args.london)][: args.london]:
        image = read_image(path)
        face = align(image, largest_only=True)[0]
        turned = turned_face(image, face)
        cases = {
            "London frontal": image,
            "London on stripes": busy_background(image),
            "London turned (3/4-like)": turned,
            "London turned, on stripes": busy_background(turned),
        }
        for case, picture in cases.items():
            try:
                results[case] += measure(picture, args.to)
            except NoFaceError:
                results[case + " (no face found)"].append((np.nan, np.nan, np.nan))
    print("| case | faces | seam, fixed ellipse | seam, skin mask | inner change kept |")
    print("|---|---|---|---|---|")
    for case, rows in results.items():
        values = np.array(rows, dtype=np.float64)
        med = np.nanmedian(values, axis=0) if np.isfinite(values).any() else [np.nan] * 3
        print(f"| {case} | {len(rows)} | {med[0]:.3f} | {med[1]:.3f} | {med[2]:.2f} |")


if __name__ == "__main__":
    main()
