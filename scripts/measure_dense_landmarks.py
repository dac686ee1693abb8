"""Accuracy of the dense landmarks (face mesh on the aligned crop) on London's manual points.

    python scripts/measure_dense_landmarks.py [--pads 0,0.1,0.15,0.2,0.35]

Each London neutral photo is aligned as the pipeline does (YuNet + O-net, 128 px crop);
the face mesh runs on the crop padded by each border fraction, and its points are mapped
back to the photo. Ground truth, from the 189-point manual templates (0-based, as in
scripts/compare_landmarks.py): eye centres = points 0 and 1, nose tip = mean of 54, 55, 60,
mouth corners = 87 and 93. Mesh: eye centre = mean of the eye contour, nose tip = point 1,
mouth corners = 61 and 291. Error: mean distance in % of the manual inter-ocular distance;
the detector's own five points are the reference row.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import pixelfes.faces.landmarks as mesh
from pixelfes.config import data_root
from pixelfes.faces import align, apply_affine
from pixelfes.imageio import read_image

NOSE_TIP, MOUTH_CORNERS = 1, (61, 291)


def manual_five(path) -> np.ndarray:
    points = np.loadtxt(path, skiprows=1, max_rows=189)
    nose = points[[54, 55, 60]].mean(axis=0)
    return np.stack([points[0], points[1], nose, points[87], points[93]])


def mesh_five(points: np.ndarray) -> np.ndarray:
    eyes = mesh.eye_centres(points)
    return np.stack([eyes[0], eyes[1], points[NOSE_TIP], *points[list(MOUTH_CORNERS)]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pads", default="0,0.1,0.15,0.2,0.35")
    args = parser.parse_args()
    pads = [float(p) for p in args.pads.split(",")]
    templates = sorted((data_root() / "london" / "neutral").glob("*.tem"))
    errors: dict[str, list[np.ndarray]] = {"detector (5 points)": []}
    times = []
    for tem in templates:
        truth = manual_five(tem)
        iod = np.hypot(*(truth[1] - truth[0]))
        face = align(read_image(tem.with_suffix(".jpg")), largest_only=True)[0]
        errors["detector (5 points)"].append(np.hypot(*(face.landmarks - truth).T) / iod)
        for pad in pads:
            mesh.PAD = pad
            start = time.perf_counter()
            points = mesh.dense_landmarks(face.crop)
            times.append(time.perf_counter() - start)
            found = apply_affine(face.inverse, mesh_five(points))
            errors.setdefault(f"face mesh, pad {pad:g}", []).append(
                np.hypot(*(found - truth).T) / iod
            )
    print(f"London neutral, {len(templates)} faces; error in % of the inter-ocular distance\n")
    print("| landmarks | eyes | nose tip | mouth corners | all five |")
    print("|---|---:|---:|---:|---:|")
    for name, rows in errors.items():
        e = 100 * np.array(rows)
        print(f"| {name} | {e[:, :2].mean():.2f} | {e[:, 2].mean():.2f} | "
              f"{e[:, 3:].mean():.2f} | {e.mean():.2f} |")  # fmt: skip
    print(f"\nface mesh: {1000 * np.median(times):.1f} ms per crop (median)")


if __name__ == "__main__":
    main()
