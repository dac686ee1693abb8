"""What the geometry model's texture step buys from the judges, and what it costs the face.

    python scripts/texture_variants.py [EXPR ...] [--figure docs/figures/texture_variants.jpg]

The shared data come from ``PIXELFES_DATA`` (default ``../shared/data``).

On every leave-one-dataset-out split, a geometry model is fitted on the other sets
(:func:`pixelfes.geometric.fit`, intensity 1) and its texture step, Pixel-RR in the mean
target shape's frame on brightness-divided luma, is replaced on the same frames by

* ``warp only``: ``t = x``, no texture step (the moved landmarks and the mouth step alone);
* ``mean change``: ``t = x + b``, ``w`` held at 1 and ``b`` the mean change ``sum(t - x) /
  (n + alpha)`` (the paper's penalty on ``b``);
* ``detail kept``: the same fitted Pixel-RR applied to the frame's Gaussian low band, the
  input's finer detail ``x - low`` carried through unchanged, ``w low + b + (x - low)``: the
  model's ``detail`` hyper-parameter at ``KEEP_DETAIL`` (``pixelfes edit --keep-detail``);
* ``Pixel-RR``: ``t = w x + b`` at every frame pixel (Eq. 3-6), the model as bundled;
* ``two-band``: ``t = w_l low + w_h (x - low) + b`` at every pixel, fitted with the paper's
  penalty on all three coefficients (the weight of the finer detail learned from the pairs).

They are listed from the one that keeps most of the input's own pixels to the one that
keeps least.

Printed (markdown): the share of edits FER2013 / facex read as the expression; PSNR against
the real target in its input's pose; sharpness (output over real-target gradient energy,
1 = as sharp as the photo); old contours kept (the double-outline measure of results.md);
mean dlib distance to the unedited input (same person below 0.6). About 20 minutes.

``--figure PATH`` (instead of the table) draws public-domain photos (the bundled portraits
and the wild set) through each texture step of the happy and fear models fitted on their
bundled training sets (``scripts/build_geometry_models.py``): aligned crops, twice enlarged.
It then prints, for each bundled geometry model on the two bundled portraits, the share of
the crop's fine-detail energy (finer than a 1 px Gaussian, centre of the face) that an edit
keeps, by default and with ``detail=KEEP_DETAIL``.
"""

from __future__ import annotations

import argparse
import copy
import sys
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from pixelfes import geometric
from pixelfes.colour import luma, to_rgb, to_unit
from pixelfes.config import data_root
from pixelfes.data import find_pairs, load_pairs
from pixelfes.editing import load_model
from pixelfes.evaluation import lodo
from pixelfes.evaluation.judges import Judges
from pixelfes.evaluation.lodo_geometry import GeometryMethod, LandmarkCache
from pixelfes.evaluation.lodo_report import EXPRESSION_ORDER
from pixelfes.evaluation.pairs import load_sets
from pixelfes.evaluation.report import markdown_table
from pixelfes.faces import align
from pixelfes.faces.pose import in_input_pose
from pixelfes.imageio import read_image, write_image
from pixelfes.models import GeometryModel
from pixelfes.models.geometry_model import KEEP_DETAIL, low_band

sys.path.insert(0, str(Path(__file__).parent))
from build_geometry_models import DATASETS as BUNDLED
from build_geometry_models import SIZE

VARIANTS = ("warp only", "mean change", "detail kept", "Pixel-RR", "two-band")
COLUMNS = ["expression", "held out", "texture step", "FER2013 %", "facex %", "PSNR dB",
           "sharpness", "old contours kept", "identity distance"]  # fmt: skip


class TwoBand(GeometryModel):
    """The fitted model with ``w_l low + w_h high + b r``; ``high_coef`` (S, S) is ``w_h``
    (``coef_`` and ``intercept_`` are ``w_l`` and ``b``, ``detail`` the band split)."""

    high_coef: np.ndarray

    def texture_change(self, frames, face_luma):
        frames = np.asarray(frames, np.float32)
        high = frames - low_band(frames, self.detail)
        return super().texture_change(frames, face_luma) + (self.high_coef - 1) * high


def training_frames(model: GeometryModel, X: np.ndarray, T: np.ndarray, landmarks):
    """The training pairs' (N, S, S) frames as :func:`geometric.fit_texture` regresses them."""
    X3, T3 = to_rgb(X), to_rgb(T)
    lx, lt = (luma(to_unit(crops)) for crops in (X3, T3))
    frame = model.mean_shape_.astype(np.float64)
    return geometric.texture_frames(lx, lt, landmarks(X3), landmarks(T3), frame, model.triangles)[
        :2
    ]


def variants(model: GeometryModel, x: np.ndarray, t: np.ndarray) -> dict[str, GeometryModel]:
    """The texture steps on the same shape model, mesh, mouth and brightness."""
    ones = np.ones_like(model.coef_)
    warp = GeometryModel.__new__(GeometryModel)
    warp.__dict__.update(model.__dict__, coef_=ones, intercept_=np.zeros_like(ones))
    mean = GeometryModel.__new__(GeometryModel)
    change = ((t - x).sum(axis=0) / (len(x) + model.alpha)).astype(np.float32)
    mean.__dict__.update(model.__dict__, coef_=ones, intercept_=change[..., None])
    detail = copy.deepcopy(model).set_params(detail=KEEP_DETAIL)
    low = low_band(x, KEEP_DETAIL)
    features = np.stack([low, x - low, np.ones_like(x)], axis=-1).astype(np.float64)
    gram = np.einsum("nyxi,nyxj->yxij", features, features) + model.alpha * np.eye(3)
    theta = np.linalg.solve(gram, np.einsum("nyxi,nyx->yxi", features, t)[..., None])[..., 0]
    two = TwoBand.__new__(TwoBand)
    two.__dict__.update(model.__dict__, coef_=theta[..., :1].astype(np.float32),
                        intercept_=theta[..., 2:].astype(np.float32),
                        high_coef=theta[..., 1].astype(np.float32), detail=KEEP_DETAIL)  # fmt: skip
    return dict(zip(VARIANTS, (warp, mean, detail, model, two), strict=True))


def rows(expressions, judges: Judges) -> list[list[str]]:
    landmarks = LandmarkCache()
    table = []
    for expression in expressions:
        sets = load_sets(lodo.DATASETS, expression)
        for split in lodo.splits(expression, sets, 2):
            train, test = split.train, split.test
            method = GeometryMethod(fallback=None, landmarks=landmarks)
            method.fit(train.X, train.T, list(train.subjects))
            x, t = training_frames(method.model_, train.X, train.T, landmarks)
            rgb_x = to_rgb(test.X)
            targets = in_input_pose(test.T, landmarks(rgb_x), landmarks(to_rgb(test.T)))
            inputs_e, targets_e = judges.embed(test.X), judges.embed(targets)
            for name, model in variants(method.model_, x, t).items():
                method.model_ = model
                out = method.predict(test.X)
                s = judges.score(out, test.X, targets, expression, inputs_e, targets_e)
                distance = np.linalg.norm(judges.embed(out) - inputs_e, axis=1).mean()
                means = [np.nanmean(s[key]) for key in ("psnr", "sharpness", "old_contours")]
                table.append([expression, split.held_out, name,
                              f"{100 * np.nanmean(s['fer_hit']):.0f}",
                              f"{100 * np.nanmean(s['facex_hit']):.0f}",
                              *(f"{m:.2f}" for m in means), f"{distance:.3f}"])  # fmt: skip
                print(" | ".join(table[-1]), flush=True)
    return table


def figure(path: Path) -> None:
    """Photos (rows) through each texture step of the happy and fear models (columns)."""
    photos = [Path(str(resources.files("pixelfes").joinpath("assets", name)))
              for name in ("astronaut.jpg", "grace_hopper.jpg")]  # fmt: skip
    photos += [data_root() / "wild" / name for name in ("lisa1.jpg", "zoom_30cm.jpg")]
    crops = np.stack([align(read_image(p), largest_only=True)[0].crop for p in photos])
    landmarks = LandmarkCache()
    columns = [crops.astype(np.float32) / 255]
    for expression in ("happy", "fear"):
        pairs = load_pairs(find_pairs(list(BUNDLED[expression]), "neutral", expression), SIZE)
        method = GeometryMethod(fallback=None, landmarks=landmarks)
        method.fit(pairs.X, pairs.T, list(pairs.subjects))
        x, t = training_frames(method.model_, pairs.X, pairs.T, landmarks)
        for model in variants(method.model_, x, t).values():
            method.model_ = model
            columns.append(method.predict(crops))
    grid = np.concatenate([np.concatenate(list(c), axis=0) for c in columns], axis=1)
    grid = np.clip(np.rint(grid * 255), 0, 255).astype(np.uint8)
    write_image(path, cv2.resize(grid, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    print(f"wrote {path}: input, then {', '.join(VARIANTS)} for happy and fear")
    print(markdown_table(["portrait", *EXPRESSION_ORDER], detail_kept(crops[:2], photos[:2])))


def fine_energy(crops: np.ndarray) -> np.ndarray:
    """Mean energy of each (N, S, S, 3) crop's detail finer than a 1 px Gaussian, over the
    centre of the face (the middle half of the crop's height, 5/8 of its width)."""
    side = crops.shape[1]
    centre = (slice(side // 4, 3 * side // 4), slice(3 * side // 16, 13 * side // 16))
    unit = np.asarray(crops, np.float32) / (255 if crops.dtype == np.uint8 else 1)
    fine = [(c - cv2.GaussianBlur(c, (0, 0), 1.0))[centre] for c in unit]
    return np.array([float(np.mean(f**2)) for f in fine])


def detail_kept(crops: np.ndarray, photos: list[Path]) -> list[list[str]]:
    """Fine-detail energy of each bundled geometry model's edit over the input's."""
    before = fine_energy(crops)
    shares = {}
    for expression in EXPRESSION_ORDER:
        model = load_model(f"{expression}-geometry")
        default = fine_energy(geometric.synthesize(model, crops)) / before
        model.set_params(detail=KEEP_DETAIL)
        kept = fine_energy(geometric.synthesize(model, crops)) / before
        shares[expression] = [f"{d:.2f} / {k:.2f}" for d, k in zip(default, kept, strict=True)]
    return [[p.stem, *(shares[e][i] for e in EXPRESSION_ORDER)] for i, p in enumerate(photos)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expressions", nargs="*", default=list(EXPRESSION_ORDER))
    parser.add_argument("--figure", type=Path, help="draw the figure to this path instead")
    args = parser.parse_args()
    if args.figure:
        figure(args.figure)
        return
    judges = Judges(identity=True, lpips=False)
    print(markdown_table(COLUMNS, rows(args.expressions, judges)))


if __name__ == "__main__":
    main()
