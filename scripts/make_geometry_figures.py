"""Figures of geometry-aware editing beside plain Pixel-RR (docs/figures/geometry_*.jpg).

    python scripts/make_geometry_figures.py [--wild-only]

* ``geometry_london.jpg``: London faces (CC BY 4.0) never seen in training: input, plain
  Pixel-RR, geometry model, real smile; both models fitted on CK+ and the Taiwanese set
  (leave-one-dataset-out), applied to the aligned crops.
* ``geometry_wild.jpg``: the wild photos and the bundled portrait through the bundled
  models at intensity 1, whole-photo pipeline: input, then plain Pixel-RR
  (``neutral-to-happy``) and geometry (``happy-geometry``) for happy and surprise (a
  face-sized window of the edited photo); ``geometry_wild_other.jpg`` the same for sad,
  anger, disgust and fear.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from pixelfes import geometric
from pixelfes.colour import to_gray
from pixelfes.config import data_root
from pixelfes.data import find_pairs, load_pairs
from pixelfes.editing import edit_image, load_model
from pixelfes.editing import synthesize as plain_synthesize
from pixelfes.faces import align
from pixelfes.imageio import read_image, write_image
from pixelfes.models import PixelRidge

OUT = Path("docs/figures")
LONDON_FACES = 6
WILD = ("grace_hopper.jpg", "lisa1.jpg", "zoom_30cm.jpg")


def _u8(images: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(images) * 255), 0, 255).astype(np.uint8)


def london_figure() -> np.ndarray:
    train = load_pairs(find_pairs(["ckplus", "taiwanese"], "neutral", "happy"), 128)
    test = load_pairs(find_pairs("london", "neutral", "happy"), 128)
    geometry = geometric.fit(train.X, train.T, subjects=train.subjects)
    plain = PixelRidge(alpha=0.4).fit(to_gray(train.X), to_gray(train.T))  # one luma model
    pick = np.linspace(0, len(test) - 1, LONDON_FACES).astype(int)
    X, T = test.X[pick], test.T[pick]
    columns = [X, _u8(plain_synthesize(plain, X)), _u8(geometric.synthesize(geometry, X)), T]
    rows = [np.concatenate([c[i] for c in columns], axis=1) for i in range(len(X))]
    return np.concatenate(rows, axis=0)


def _window(photo: np.ndarray, face) -> np.ndarray:
    """A 192 x 192 window around the face, taken through the face's crop matrix."""
    m = np.array(face.matrix) * 1.5
    m[:, 2] += 32
    return cv2.warpAffine(photo, m, (256, 256), flags=cv2.INTER_AREA)[32:224, 32:224]


def wild_figure(expressions: tuple[str, ...]) -> np.ndarray:
    paths = [data_root() / "wild" / name for name in WILD]
    paths.append(Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg"))))
    names = [n for e in expressions for n in (f"neutral-to-{e}", f"{e}-geometry")]
    models = [load_model(n) for n in names]
    rows = []
    for path in paths:
        photo = read_image(path)
        face = align(photo, largest_only=True)[0]
        edits = [edit_image(photo, model=m, largest_only=True).image for m in models]
        rows.append(np.concatenate([_window(p, face) for p in (photo, *edits)], axis=1))
    return np.concatenate(rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wild-only", action="store_true", help="skip the London figure")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    figures = {
        "geometry_wild.jpg": lambda: wild_figure(("happy", "surprise")),
        "geometry_wild_other.jpg": lambda: wild_figure(("sad", "anger", "disgust", "fear")),
    }
    if not args.wild_only:
        figures["geometry_london.jpg"] = london_figure
    for name, draw in figures.items():
        write_image(OUT / name, draw(), quality=90)
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
