"""Measure whether a plain model keeps a face's own look: irises, skin and lip colour.

    OMP_NUM_THREADS=1 python scripts/measure_colour.py [--data-root PATH]

Models: the bundled recipe (:func:`pixelfes.bundled.fit_bundled`) for neutral->happy
fitted on CK+ and Taiwanese (London held out), at the alphas and consistency strengths of
:data:`CONFIGS`. Each
grey-level change is carried into RGB two ways: ``add`` (the same change on R, G and B,
what the photo pipeline does) and ``scale`` (R, G, B multiplied by new luma / old luma,
which keeps the chromaticity).

Printed (markdown):

1. On the 102 London faces (held out, colour): chroma error in the lip region against
   the real smiling photo (mean |Cb| + |Cr| difference, 0-255 scale, BT.601 YCbCr), and
   the same for the whole face; the unedited input is the floor.
2. On the wild selfie ``lisa1.jpg``: mean luma of the irises, mean chroma of the cheeks
   and the mouth's mean RGB before and after, and the luma change of the band above
   the brows (the "ghost brow").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pixelfes.bundled import fit_bundled
from pixelfes.editing import synthesize
from pixelfes.evaluation import lodo
from pixelfes.evaluation.protocols import load_set
from pixelfes.evaluation.report import markdown_table
from pixelfes.faces.geometry import template_points

#: (alpha, strength, how the luma change goes into RGB); the first is the shipped happy recipe.
CONFIGS = (
    (4.0, 0.0, "add"),
    (4.0, 0.0, "scale"),
    (0.4, 0.0, "add"),
    (0.4, 0.25, "add"),
    (0.4, 1.0, "add"),
    (0.4, 1.0, "scale"),
    (0.4, 2.0, "add"),
)
SIZE = 128


def regions(size: int = SIZE) -> dict[str, np.ndarray]:
    """Boolean masks of the aligned crop's irises, cheeks, lips and the band above the brows."""
    pts = template_points(size)
    yy, xx = np.mgrid[:size, :size]
    iod = pts[1, 0] - pts[0, 0]
    iris = np.zeros((size, size), bool)
    for x, y in pts[:2]:
        iris |= (xx - x) ** 2 + (yy - y) ** 2 <= (0.11 * iod) ** 2
    mouth_y = pts[3, 1]
    lips = (xx >= pts[3, 0]) & (xx <= pts[4, 0]) & (np.abs(yy - mouth_y) <= 0.14 * iod)
    cheeks = np.zeros((size, size), bool)
    for x, _ in pts[:2]:
        cheeks |= (np.abs(xx - x) <= 0.15 * iod) & (np.abs(yy - (pts[2, 1] - 2)) <= 0.15 * iod)
    brow = (yy >= pts[0, 1] - 0.42 * iod) & (yy <= pts[0, 1] - 0.25 * iod)
    brow &= (xx >= pts[0, 0] - 0.3 * iod) & (xx <= pts[1, 0] + 0.3 * iod)
    return {"iris": iris, "lips": lips, "cheeks": cheeks, "brow band": brow}


def ycbcr(rgb: np.ndarray) -> np.ndarray:
    """BT.601 YCbCr of [0, 1] RGB, on the 0-255 scale."""
    m = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
    return 255.0 * rgb @ m.T


def carry(model, crops: np.ndarray, how: str) -> np.ndarray:
    """The model's luma change carried into RGB by ``add`` or ``scale``."""
    added = synthesize(model, crops, 1.0, luma=True)
    if how == "add":
        return added
    x = crops.astype(np.float32) / 255.0
    y_old = x @ np.array([0.299, 0.587, 0.114], np.float32)
    y_new = added @ np.array([0.299, 0.587, 0.114], np.float32)
    ratio = np.clip(y_new / np.maximum(y_old, 1 / 255), 0.0, 4.0)
    return np.clip(x * ratio[..., None], 0.0, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path)
    args = parser.parse_args()
    from pixelfes.config import data_root
    from pixelfes.faces import align, face_mask
    from pixelfes.imageio import read_image

    root = args.data_root or data_root()
    sets = {d: load_set(d, "happy", root=root) for d in lodo.DATASETS}
    split = lodo.splits("happy", sets)[0]
    assert split.held_out == "london"
    masks = regions()
    face = np.asarray(face_mask(SIZE)).reshape(SIZE, SIZE) > 0.5
    test = split.test
    target = ycbcr(test.T / 255.0)
    lisa = align(read_image(root / "wild" / "lisa1.jpg"), SIZE, largest_only=True)[0].crop
    lisa = lisa[None]

    def chroma_error(out: np.ndarray, mask: np.ndarray) -> float:
        diff = np.abs(ycbcr(out)[..., 1:] - target[..., 1:])[:, mask]
        return float(diff.sum(axis=-1).mean())

    def look(out: np.ndarray) -> list[str]:
        yc = ycbcr(out)[0]
        iris = yc[masks["iris"], 0].mean()
        cheek = yc[masks["cheeks"], 1:].mean(axis=0)
        mouth = 255 * out[0][masks["lips"]].mean(axis=0)
        brow = (
            yc[masks["brow band"], 0].mean() - ycbcr(lisa / 255.0)[0][masks["brow band"], 0].mean()
        )
        return [
            f"{iris:.1f}",
            f"({cheek[0]:.1f}, {cheek[1]:.1f})",
            "({:.0f}, {:.0f}, {:.0f})".format(*mouth),
            f"{brow:+.1f}",
        ]

    inputs = test.X / 255.0
    rows = [
        [
            "input (floor)",
            "–",
            f"{chroma_error(inputs, masks['lips']):.2f}",
            f"{chroma_error(inputs, face):.2f}",
            *look(lisa / 255.0),
        ]
    ]
    for alpha, strength, how in CONFIGS:
        model = fit_bundled(split.train.X, split.train.T, alpha=alpha, strength=strength)
        out = carry(model, test.X, how)
        rows.append(
            [
                f"alpha {alpha:g}, strength {strength:g}",
                how,
                f"{chroma_error(out, masks['lips']):.2f}",
                f"{chroma_error(out, face):.2f}",
                *look(carry(model, lisa, how)),
            ]
        )
    header = [
        "model (happy, London held out)",
        "luma change into RGB",
        "London lip chroma error",
        "London face chroma error",
        "lisa1 iris luma",
        "lisa1 cheek (Cb, Cr)",
        "lisa1 mouth RGB",
        "lisa1 brow band luma change",
    ]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
