"""How often the cat-face detector finds the CC0 cat, and how close its eyes are.

The one cat photo available offline (scikit-image's "chelsea", in the shared data's
``wild/``) is shrunk and pasted onto a noisy grey backdrop at several sizes, positions and
mirrorings; each scene counts as found when a detection's eyes are within a quarter of the
inter-ocular distance of the hand-marked eyes, and every other detection counts as false.

    PIXELFES_DATA=/path/to/shared/data python scripts/measure_cat.py
"""

from __future__ import annotations

import cv2
import numpy as np

from pixelfes.config import data_root
from pixelfes.faces.cat import CatFaceDetector
from pixelfes.imageio import read_image

EYES = np.array([[172.0, 112.0], [318.0, 137.0]])  # hand-marked on chelsea_cat.png


def main() -> None:
    root = data_root()
    if root is None:
        raise SystemExit("set PIXELFES_DATA to the shared data folder")
    cat = read_image(root / "wild" / "chelsea_cat.png")
    detector = CatFaceDetector()
    rng = np.random.default_rng(0)
    print("| cat width in a 640x480 scene | scenes | found | eye error / IOD (median) | false |")
    print("|---|---|---|---|---|")
    for scale in (0.3, 0.45, 0.6, 0.8, 1.0, 1.3):
        small = cv2.resize(cat, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found, errors, false = 0, [], 0
        scenes = 0
        for mirror in (False, True):
            for _ in range(4):
                picture = small[:, ::-1] if mirror else small
                eyes = EYES * scale
                if mirror:
                    eyes = np.array([[small.shape[1] - 1 - x, y] for x, y in eyes[::-1]])
                scene = np.clip(90 + rng.normal(0, 12, (480, 640, 3)), 0, 255).astype(np.uint8)
                h, w = picture.shape[:2]
                x0 = int(rng.integers(0, max(1, 640 - w))) if w < 640 else 0
                y0 = int(rng.integers(0, max(1, 480 - h))) if h < 480 else 0
                crop = picture[: 480 - y0, : 640 - x0]
                scene[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
                eyes = eyes + np.array([x0, y0], np.float64)
                iod = np.hypot(*(eyes[1] - eyes[0]))
                scenes += 1
                hits = [
                    np.hypot(*(f.points[:2] - eyes).T).max() / iod for f in detector.detect(scene)
                ]
                good = [e for e in hits if e < 0.25]
                found += bool(good)
                errors += good[:1]
                false += len(hits) - len(good[:1])
        med = f"{np.median(errors):.2f}" if errors else "-"
        print(f"| {round(451 * scale)} px | {scenes} | {found} | {med} | {false} |")


if __name__ == "__main__":
    main()
