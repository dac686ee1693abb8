"""Draw the README gallery: wild photos and London faces in every expression, intensity steps.

    python scripts/make_gallery.py [--data-root PATH] [--out docs/figures]

Uses only public-domain / CC0 wild images and CC BY London faces (never CK+ or Taiwanese).
Each tile is a close-up of the first face of the full-resolution edited photo.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pixelfes.bundled import fit_bundled, recipe
from pixelfes.config import data_root
from pixelfes.data import find_pairs, load_pairs
from pixelfes.editing import available_expressions, edit_image, load_model
from pixelfes.exceptions import NoFaceError
from pixelfes.faces import align, paste_box
from pixelfes.figures import labelled_grid
from pixelfes.geometric import train_geometry
from pixelfes.imageio import read_image, write_image
from pixelfes.models import GeometryModel

WILD = ("astronaut.png", "grace_hopper.jpg", "lisa1.jpg", "zoom_30cm.jpg", "chelsea_cat.png")
LONDON = ("005", "021", "064", "120")
INTENSITIES = (0.0, 0.5, 1.0, 1.5)


def closeup(image: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.3) -> np.ndarray:
    x0, y0, x1, y1 = box
    pad = int(max(x1 - x0, y1 - y0) * margin)
    return image[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad]


def face_box(photo: np.ndarray) -> tuple[int, int, int, int]:
    """The pasted face's box (a geometry edit reports the larger box of its mesh)."""
    return paste_box(photo, align(photo, largest_only=True)[0])


def expression_rows(
    paths: list[Path], expressions: list[str], real: dict[Path, Path], models: dict | None = None
):
    rows, labels = [], []
    models = models or {}
    for path in paths:
        photo = read_image(path)
        try:
            results = [
                edit_image(photo, to=e, model=models.get(e), largest_only=True) for e in expressions
            ]
        except NoFaceError as error:
            print(f"skipped {path.name}: {error}")
            continue
        box = face_box(photo)
        row = [closeup(photo, box)]
        if real:
            target = real.get(path)
            row.append(closeup(read_image(target), box) if target else np.full((8, 8, 3), 255))
        rows.append(row + [closeup(r.image, box) for r in results])
        labels.append(path.stem[:12])
    return rows, labels


def held_out_happy(root: Path):
    """The default happy model refitted on all its pairs but the gallery's London subjects.

    That is the geometry model when the face mesh is installed (trained on London alone, as
    ``scripts/build_geometry_models.py`` does), else the plain recipe on London, CK+ and
    Taiwanese. The other expressions' models never saw London faces, so only this one needs
    refitting.
    """
    geometric = isinstance(load_model("happy"), GeometryModel)
    datasets = ["london"] if geometric else ["london", "ckplus", "taiwanese"]
    pairs = [
        p
        for p in find_pairs(datasets, "neutral", "happy", root=root)
        if not (p.dataset == "london" and p.subject.split(":")[-1] in LONDON)
    ]
    aligned = load_pairs(pairs, size=128)
    if geometric:
        return train_geometry(aligned.X, aligned.T, aligned.subjects, seed=0).model
    return fit_bundled(aligned.X, aligned.T, *recipe("happy"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    args = parser.parse_args()
    root = args.data_root or data_root()
    if root is None:
        raise SystemExit("shared data not found: pass --data-root or set PIXELFES_DATA")
    args.out.mkdir(parents=True, exist_ok=True)
    expressions = [e for e in available_expressions() if e != "neutral"]

    wild = [root / "wild" / name for name in WILD]
    rows, labels = expression_rows(wild, expressions, {})
    sheet = labelled_grid(rows, col_labels=["input", *expressions], row_labels=labels, cell=180)
    write_image(args.out / "gallery_wild.png", sheet)

    london = [root / "london" / "neutral" / f"{n}_03.jpg" for n in LONDON]
    real = {p: root / "london" / "smiling" / f"{p.stem[:3]}_08.jpg" for p in london}
    rows, labels = expression_rows(london, expressions, real, {"happy": held_out_happy(root)})
    sheet = labelled_grid(
        rows, col_labels=["input", "real smile", *expressions], row_labels=labels, cell=180
    )
    write_image(args.out / "gallery_london.png", sheet)

    rows, labels = [], []
    for path, expression in ((wild[1], "happy"), (wild[3], "surprise"), (wild[2], "sad")):
        photo = read_image(path)
        results = [edit_image(photo, to=expression, intensity=a) for a in INTENSITIES]
        rows.append([closeup(r.image, face_box(photo)) for r in results])
        labels.append(expression)
    sheet = labelled_grid(
        rows, col_labels=[f"intensity {a:g}" for a in INTENSITIES], row_labels=labels, cell=200
    )
    write_image(args.out / "gallery_intensity.png", sheet)
    print(f"wrote {args.out}/gallery_wild.png, gallery_london.png, gallery_intensity.png")


if __name__ == "__main__":
    main()
