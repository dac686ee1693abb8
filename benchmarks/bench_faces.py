"""Time face detection, alignment and paste-back per photo size; video round trip in fps.

    .venv/bin/python benchmarks/bench_faces.py [--repeats 20]

A London Set face (shared data) is scaled into a photo of each size (0.3, 1 and 12 MP),
the face about a third of the photo's height. Times are medians over the repeats, one thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pixelfes.config import data_root
from pixelfes.faces import (
    FaceTracker,
    YuNetDetector,
    align,
    align_face,
    default_detector,
    paste_back,
)
from pixelfes.imageio import read_image

SIZES = {
    "0.3 MP (640x480)": (480, 640),
    "1 MP (1152x864)": (864, 1152),
    "12 MP (4000x3000)": (3000, 4000),
}


def make_photo(face: np.ndarray, h: int, w: int) -> np.ndarray:
    photo = np.empty((h, w, 3), np.uint8)
    photo[:] = (120, 130, 140)
    side = int(h * 0.6)
    f = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    y0, x0 = (h - side) // 2, (w - side) // 3
    photo[y0 : y0 + side, x0 : x0 + side] = f
    return photo


def median_ms(fn, repeats: int) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return 1000 * float(np.median(ts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    root = data_root()
    if root is None:
        sys.exit("needs the shared data (a real face): set PIXELFES_DATA")
    face = read_image(root / "london" / "neutral" / "001_03.jpg")
    print(f"# {os.cpu_count()} CPUs, OpenCV {cv2.__version__}, numpy {np.__version__}")
    print(
        "| photo | detect (default, max side 640) | align 128 | paste-back 128 | "
        "round trip | round trip fps |"
    )
    print("|---|---|---|---|---|---|")
    det = default_detector()
    for label, (h, w) in SIZES.items():
        photo = make_photo(face, h, w)
        faces = det.detect(photo)
        assert len(faces) == 1, (label, len(faces))
        (aligned,) = align(photo, landmarks=[faces[0].points])
        edited = 255 - aligned.crop
        t_det = median_ms(lambda p=photo: det.detect(p), args.repeats)
        t_al = median_ms(lambda p=photo, f=faces[0]: align_face(p, f, 128), args.repeats)
        t_pb = median_ms(lambda p=photo, a=aligned, e=edited: paste_back(p, a, e), args.repeats)
        total = t_det + t_al + t_pb
        print(
            f"| {label} | {t_det:.1f} ms | {t_al:.2f} ms | {t_pb:.2f} ms | {total:.1f} ms | "
            f"{1000 / total:.1f} |"
        )

    # Video: 640x480 frames, face moving; detection at 320 px every 5th frame, LK between.
    print()
    print("| video 640x480 (moving face) | ms per frame (mean) | fps |")
    print("|---|---|---|")
    h, w = 480, 640
    base = make_photo(face, h + 60, w + 60)
    frames = [
        np.ascontiguousarray(
            base[
                30 + (k % 20) - 10 : 30 + (k % 20) - 10 + h, 30 + k % 30 - 15 : 30 + k % 30 - 15 + w
            ]
        )
        for k in range(100)
    ]
    for every, max_side in ((1, 640), (1, 320), (5, 320)):
        tracker = FaceTracker(YuNetDetector(max_side=max_side), detect_every=every)
        tracker.update(frames[0])
        tracker.reset()
        t = time.perf_counter()
        for fr in frames:
            for f in tracker.update(fr):
                a = align_face(fr, f, 128)
                paste_back(fr, a, 255 - a.crop)
        ms = 1000 * (time.perf_counter() - t) / len(frames)
        print(
            f"| detect every {every} frame(s) at max side {max_side} + align + paste | "
            f"{ms:.1f} | {1000 / ms:.1f} |"
        )


if __name__ == "__main__":
    main()
