"""Geometry-aware synthesis: move the landmarks, warp the face, add the texture change.

A :class:`~pixelfes.models.GeometryModel` is fitted here from aligned pairs and applied to
crops (:func:`synthesize`) and to photos at their own resolution (:func:`edit_face`):

1. the 468 dense landmarks of the input crop (:mod:`pixelfes.faces.landmarks`);
2. the shape model predicts the target landmarks; ``intensity`` scales the displacement
   (fitted on the expression's own movement, without the pose change between the crops
   of a pair: :func:`pixelfes.faces.pose.without_pose`);
3. the photo is warped piecewise-affinely from the input shape to the predicted shape at
   full resolution, through the crop matrix; the mesh's ring lies well outside the crop,
   so the displacement fades to zero smoothly and the jaw may move below the crop;
4. the texture change is computed in the mean target shape's frame (every training pair
   warped there, so each pixel's ridge regression sees the same facial point), warped to
   the predicted shape, scaled by ``intensity`` and added under the feathered paste mask,
   as for plain Pixel-RR (with the model's ``detail`` > 0 the step acts on the frame's
   low band and the face's finer detail is left as it is);
5. where the predicted mouth opens wider than the input's, the interior comes from the
   mouth model: each pixel of the mouth frame (:mod:`pixelfes.faces.mouth`) regressed on
   the face's mean luma over the training targets' most opened mouths (teeth under the
   upper lip, the dark below), drawn into the predicted inner-lip polygon.

References
----------
.. [1] Liu, Shan, Zhang. "Expressive Expression Mapping with Ratio Images", SIGGRAPH 2001
   (geometric warping plus a per-pixel detail model).
.. [2] Cootes, Edwards, Taylor. "Active Appearance Models", ECCV 1998 (shape-free texture).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import cv2
import numpy as np

from pixelfes.colour import luma, to_unit
from pixelfes.data.splits import subject_kfold, subject_train_test_split
from pixelfes.exceptions import GeometryError
from pixelfes.faces.align import AlignedFace, paste_change
from pixelfes.faces.geometry import apply_affine, invert_affine
from pixelfes.faces.landmarks import INNER_LIPS, N_DENSE, dense_landmarks, mesh_priority
from pixelfes.faces.mouth import (
    canonical_polygon,
    face_mean,
    from_mouth_frame,
    polygon_area,
    polygon_mask,
    to_mouth_frame,
)
from pixelfes.faces.pose import in_input_pose, without_pose
from pixelfes.faces.warp import (
    RING_EXTENT,
    check_landmarks,
    check_mesh,
    mesh_maps,
    sparse_triangulation,
    warp_crop,
    with_ring,
)
from pixelfes.metrics import batch_psnr
from pixelfes.models import GeometryModel, PixelRidge, ShapeRidge
from pixelfes.models.geometry_model import N_RING
from pixelfes.training import TrainReport

__all__ = [
    "edit_face",
    "fit",
    "fit_mouth",
    "fit_texture",
    "frame_crops",
    "mesh_box",
    "synthesize",
    "texture_frames",
    "train_geometry",
]

#: Closest spacing of mesh vertices (fraction of the crop side): 3.8 px at 128, where a
#: Delaunay mesh over all 468 points has sliver triangles that flip with landmark noise.
MESH_SPACING = 0.03
#: Flipped triangles up to this area (fraction of the crop's area; 6.5 px^2 at 128, the
#: 95th percentile of real target faces' flips) are landmark noise, not a fold.
FOLD_TOLERANCE = 0.0004
#: Share of the face's mean chroma that tints an opened mouth's (grey) interior.
MOUTH_CHROMA = 0.5
#: Share of the training targets, the most opened mouths, the mouth model is fitted on.
MOUTH_SHARE = 0.25
#: Largest intensity gain. Matching the real displacements' mean length doubles the
#: predicted movement of sad, anger, disgust and fear (faces show them in different
#: directions; the prediction is their average); at 2x held-out PSNR falls and the wild
#: photos show slit eyes and over-opened mouths (docs/geometry.md, intensity calibration).
MAX_GAIN = 1.5
#: Fractions of the shape change tried, largest first, when a mesh would fold.
_BACKOFF = (1.0, 0.75, 0.5, 0.25)


def _luma(crops: np.ndarray) -> np.ndarray:
    """(N, S, S) float32 luma on [0, 1] of (N, S, S, 3) uint8 crops."""
    return luma(to_unit(crops))


def frame_crops(images: np.ndarray, shapes: np.ndarray, frame: np.ndarray, triangles) -> np.ndarray:
    """Warp each (S, S) image from its (P, 2) shape to the ``frame`` shape: (N, S, S)."""
    size = images.shape[1]
    dst = with_ring(frame, size)
    return np.stack(
        [
            warp_crop(img, with_ring(s, size), dst, triangles)
            for img, s in zip(images, shapes, strict=True)
        ]
    )


def fit(
    X: np.ndarray,
    T: np.ndarray,
    shapes_x: np.ndarray | None = None,
    shapes_t: np.ndarray | None = None,
    *,
    alpha: float = 0.4,
    shape_alpha: float = 10000.0,
    rank: int = 16,
    gain: float | None = None,
    subjects=None,
) -> GeometryModel:
    """Fit a geometry model on aligned pairs.

    Parameters
    ----------
    X, T : ndarray of shape (N, S, S, 3), uint8
        Aligned input and target crops.
    shapes_x, shapes_t : ndarray of shape (N, 468, 2), optional
        Their dense landmarks; computed with :func:`~pixelfes.faces.landmarks.dense_landmarks`
        when absent.
    alpha, shape_alpha, rank
        Texture ridge penalty, shape ridge penalty, shape model rank.
    gain : float, optional
        Intensity gain; by default the mean length of the real displacements over that of
        pooled subject-disjoint 5-fold predictions when ``subjects`` is given (else 1),
        clipped to [1, ``MAX_GAIN``].
    subjects : sequence of str, optional
        Subject of each pair, for the gain's held-out estimate.

    Returns
    -------
    GeometryModel
    """
    X, T = np.asarray(X), np.asarray(T)
    if X.shape != T.shape or X.ndim != 4 or X.shape[-1] != 3 or X.dtype != np.uint8:
        raise ValueError(
            f"X and T must be (N, S, S, 3) uint8 of one shape, got {X.shape} {T.shape}"
        )
    if shapes_x is None:
        shapes_x = np.stack([dense_landmarks(x) for x in X])
    if shapes_t is None:
        shapes_t = np.stack([dense_landmarks(t) for t in T])
    moved = without_pose(shapes_x, shapes_t)
    shape = ShapeRidge(alpha=shape_alpha, rank=rank).fit(shapes_x, moved)
    if gain is None:
        gain = _heldout_gain(shapes_x, moved, subjects, shape_alpha, rank)
    size = X.shape[1]
    mean_shape = shapes_t.mean(axis=0)
    triangles = sparse_triangulation(
        with_ring(mean_shape, size), MESH_SPACING * size, mesh_priority(), always=N_RING
    )
    luma_t = _luma(T)
    texture, face_luma = fit_texture(_luma(X), luma_t, shapes_x, shapes_t, mean_shape,
                                     triangles, alpha=alpha)  # fmt: skip
    mouth, polygon = fit_mouth(luma_t, shapes_t, alpha=alpha)
    return GeometryModel.from_parts(texture, shape, mean_shape, triangles, mouth, polygon,
                                    gain=gain, face_luma=face_luma)  # fmt: skip


def fit_texture(luma_x: np.ndarray, luma_t: np.ndarray, shapes_x: np.ndarray,
                shapes_t: np.ndarray, frame: np.ndarray, triangles,
                alpha: float = 0.4) -> tuple[PixelRidge, float]:  # fmt: skip
    """The texture model of :func:`fit`: (PixelRidge on (S, S, 1), mean face luma).

    Each (S, S) luma pair is warped to the ``frame`` shape and divided by its input face's
    mean luma relative to the mean over all inputs, then regressed per pixel (Eq. 3-6).
    The change it predicts scales with the face's brightness (as expression ratio images
    do, Liu, Shan & Zhang 2001), so a face darker or lighter than the training faces is
    not pulled towards their brightness.
    """
    frames_x, frames_t, face_luma = texture_frames(luma_x, luma_t, shapes_x, shapes_t, frame,
                                                   triangles)  # fmt: skip
    with warnings.catch_warnings():  # a dark face's frames exceed 1 once divided
        warnings.filterwarnings("ignore", r".*outside \[0, 1\]", UserWarning)
        texture = PixelRidge(alpha=alpha).fit(frames_x[..., None], frames_t[..., None])
    return texture, face_luma


def texture_frames(luma_x, luma_t, shapes_x, shapes_t, frame, triangles):
    """The (N, S, S) input and target frames :func:`fit_texture` regresses, each pair divided
    by its input face's mean luma over the mean of those, and that mean."""
    faces = np.array([face_mean(y, s) for y, s in zip(luma_x, shapes_x, strict=True)])
    ratio = (np.maximum(faces, 1e-3) / faces.mean()).astype(np.float32)[:, None, None]
    pairs = ((luma_x, shapes_x), (luma_t, shapes_t))
    return (*(frame_crops(y, s, frame, triangles) / ratio for y, s in pairs), float(faces.mean()))


def fit_mouth(
    luma_targets: np.ndarray, shapes_t: np.ndarray, alpha: float = 0.4
) -> tuple[PixelRidge, np.ndarray]:
    """The mouth model of :func:`fit`: (PixelRidge on (H, W, 1), canonical polygon (K, 2)).

    The ``MOUTH_SHARE`` of (N, S, S) luma targets with the widest inner-lip openings are
    sampled onto the mouth frame; each frame pixel is regressed (Eq. 3-6) on the face's
    mean luma, so the interior follows the light and the skin of the face it goes into.
    """
    lips = np.asarray(shapes_t, np.float64)[:, list(INNER_LIPS)]
    areas = np.array([polygon_area(p) for p in lips])
    n_open = max(1, int(np.ceil(MOUTH_SHARE * len(lips))))
    opened = np.argsort(areas, kind="stable")[-n_open:]
    canonical = canonical_polygon(lips[opened])
    frames = np.stack([to_mouth_frame(luma_targets[i], lips[i], canonical) for i in opened])
    faces = np.array([face_mean(luma_targets[i], shapes_t[i]) for i in opened], np.float32)
    features = np.broadcast_to(faces[:, None, None, None], (*frames.shape, 1))
    return PixelRidge(alpha=alpha).fit(features, frames[..., None]), canonical


def train_geometry(
    X: np.ndarray,
    T: np.ndarray,
    subjects,
    *,
    alpha: float = 0.4,
    shape_alpha: float = 10000.0,
    rank: int = 16,
    gain: float | None = None,
    test_size: float = 0.2,
    seed: int = 0,
) -> TrainReport:
    """Score a geometry model on held-out subjects (PSNR at intensity 1), then fit it on all.

    The counterpart of :func:`pixelfes.training.train` for ``pixelfes train --geometry``;
    landmarks are computed once for every crop.
    """
    subjects = list(subjects)
    if len(set(subjects)) < 2:
        raise ValueError(f"training needs pairs from at least 2 subjects, got {len(set(subjects))}")
    shapes_x = np.stack([dense_landmarks(x) for x in X])
    shapes_t = np.stack([dense_landmarks(t) for t in T])
    train, test = subject_train_test_split(subjects, test_size=test_size, seed=seed)
    options = {"alpha": alpha, "shape_alpha": shape_alpha, "rank": rank, "gain": gain}
    part = fit(X[train], T[train], shapes_x[train], shapes_t[train],
               subjects=[subjects[i] for i in train], **options)  # fmt: skip
    # Against the targets in their inputs' pose: expressions, not crop alignments.
    targets = in_input_pose(T[test], shapes_x[test], shapes_t[test])
    scores = batch_psnr(synthesize(part, X[test], 1.0, shapes=shapes_x[test]), targets)
    identity = batch_psnr(X[test], targets)
    start = time.perf_counter()
    model = fit(X, T, shapes_x, shapes_t, subjects=subjects, **options)
    return TrainReport(
        model=model,
        family="geometry",
        params={"alpha": float(alpha), "shape_alpha": model.shape_alpha, "gain": model.gain_},
        n_pairs=len(X),
        n_subjects=len(set(subjects)),
        fit_seconds=time.perf_counter() - start,
        heldout_psnr=float(np.mean(scores)),
        heldout_identity_psnr=float(np.mean(identity)),
        n_heldout_subjects=len({subjects[i] for i in test}),
    )


def _heldout_gain(shapes_x, shapes_t, subjects, shape_alpha: float, rank: int) -> float:
    """Mean length of the real displacements over that of subject-disjoint k-fold
    predictions pooled, clipped to [1, MAX_GAIN] (1 without subjects)."""
    if subjects is None or len(set(subjects)) < 2:
        return 1.0
    predicted = np.empty_like(shapes_x)
    for train, test in subject_kfold(list(subjects), k=min(5, len(set(subjects))), seed=0):
        fold = ShapeRidge(alpha=shape_alpha, rank=rank).fit(shapes_x[train], shapes_t[train])
        predicted[test] = fold.displacement(shapes_x[test])
    real = np.linalg.norm(shapes_t - shapes_x, axis=-1).mean()
    gain = real / max(float(np.linalg.norm(predicted, axis=-1).mean()), 1e-9)
    return float(np.clip(gain, 1.0, MAX_GAIN))


def _target_shape(model: GeometryModel, shape: np.ndarray, intensity) -> np.ndarray:
    """Predicted shape at ``intensity``, backed off (with a warning) if its mesh would fold.

    ``intensity``: one number, or an (S, S) map read at each input landmark (region doses).
    """
    size = model.image_shape_[0]
    reference = with_ring(model.mean_shape_, size)
    dose = np.asarray(intensity, np.float64)
    if dose.ndim:
        ix = np.clip(np.rint(shape).astype(int), 0, size - 1)
        dose = dose[ix[:, 1], ix[:, 0]]
    for fraction in _BACKOFF:
        target = model.target_shape(shape, dose * fraction)[0]
        try:
            check_mesh(
                with_ring(target, size), model.triangles, reference, FOLD_TOLERANCE * size**2
            )
        except GeometryError:
            continue
        if fraction < 1.0:
            warnings.warn(
                f"the predicted shape folds the mesh at intensity {float(np.max(dose)):g}; "
                f"using {fraction:.0%} of the shape change",
                stacklevel=3,
            )
        return target
    raise GeometryError("the predicted face shape folds the mesh even at a quarter of the change")


@dataclass(frozen=True)
class _Plan:
    """One face's edit at crop resolution (all on [0, 1]).

    ``field``: (G, G, 2) offsets from output to source crop coordinates on the grid that
    covers the mesh's square (the crop and ``margin`` pixels around it); ``warped``: the
    crop warped to the target shape; ``change``: the texture change to add to it;
    ``interior``: the opened mouth's values and weight, or None.
    """

    field: np.ndarray
    margin: int
    warped: np.ndarray
    change: np.ndarray
    interior: tuple[np.ndarray, np.ndarray] | None


def _plan(model: GeometryModel, crop: np.ndarray, intensity, shape=None, mouth=True, target=None):
    """Landmarks, target shape, warp, texture change and mouth of one (S, S, 3) crop.

    ``intensity``: one number, or an (S, S) map of the crop (region doses) that scales each
    landmark's movement where it starts and the texture change where it lands.
    """
    size = model.image_shape_[0]
    if crop.shape != (size, size, 3):
        raise ValueError(f"crop has shape {crop.shape}, the model works on ({size}, {size}, 3)")
    source = dense_landmarks(crop) if shape is None else np.asarray(shape, np.float64)
    source = check_landmarks(source, size, "input landmarks")
    if len(source) != model.n_points:
        raise GeometryError(f"{len(source)} landmarks given, the model uses {model.n_points}")
    if target is None:
        target = _target_shape(model, source, intensity)
    else:
        target = source + intensity * (check_landmarks(target, size, "target landmarks") - source)
    triangles = model.triangles
    src, dst, frame_shape = (with_ring(s, size) for s in (source, target, model.mean_shape_))
    margin = int(np.ceil(RING_EXTENT * size))
    grid = size + 2 * margin
    map_x, map_y = mesh_maps(src, dst, triangles, (grid, grid), (-margin, -margin))
    inner = (slice(margin, margin + size),) * 2
    image = to_unit(crop)
    warped = cv2.remap(image, map_x[inner], map_y[inner], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    xs, ys = np.meshgrid(np.arange(-margin, size + margin, dtype=np.float32),
                         np.arange(-margin, size + margin, dtype=np.float32))  # fmt: skip
    field = np.stack([map_x - xs, map_y - ys], axis=-1)
    skin = face_mean(image, source)  # one face-oval mask: the texture's and the mouth's light
    brightness = float(luma(skin[None, None])[0, 0])
    frame = warp_crop(luma(image), src, frame_shape, triangles)
    texture = model.texture_change(frame[None], brightness)[0]
    moved = warp_crop(texture, frame_shape, dst, triangles)
    dose = np.asarray(intensity, np.float32)
    scale = dose if dose.ndim == 0 else dose[..., None]
    change = scale * np.repeat(moved[..., None], 3, axis=2)
    interior = None
    if mouth and model.n_points == N_DENSE:
        lips = list(INNER_LIPS)
        # Only the newly opened part: an input whose mouth is already open (teeth) keeps it.
        opened = 1.0 - polygon_area(source[lips]) / max(polygon_area(target[lips]), 1e-6)
        weight = polygon_mask(target[lips], size) * np.float32(np.clip(opened, 0.0, 1.0))
        if weight.any():
            inside = model.mouth_interior(brightness)
            values = from_mouth_frame(inside, model.mouth_polygon_, target[lips], size)
            tint = np.float32(MOUTH_CHROMA) * (skin - brightness)
            interior = (values[..., None] + tint, weight)
    return _Plan(field, margin, warped, change, interior)


def synthesize(
    model: GeometryModel,
    crops: np.ndarray,
    intensity: float = 1.0,
    shapes=None,
    mouth=True,
    targets=None,
) -> np.ndarray:
    """Edit aligned crops at crop resolution: (N, S, S, 3) uint8 -> float32 on [0, 1].

    ``shapes`` (N, 468, 2) skips the landmark step (e.g. the cached landmarks of a data
    set); ``mouth=False`` leaves out the inner-mouth step; ``targets`` (N, 468, 2) replaces
    the shape model's prediction (to measure what a perfect shape model would give).
    Intensity 0 returns the input.
    """
    crops = np.asarray(crops)
    out = to_unit(crops)
    if not np.any(intensity):
        return out
    for i, crop in enumerate(crops):
        shape = None if shapes is None else shapes[i]
        target = None if targets is None else targets[i]
        plan = _plan(model, crop, intensity, shape, mouth, target)
        edited = plan.warped + plan.change
        if plan.interior is not None:
            values, weight = plan.interior
            edited += weight[..., None] * (values - edited)
        out[i] = np.clip(edited, 0.0, 1.0)
    return out


def edit_face(
    image: np.ndarray, face: AlignedFace, model: GeometryModel, intensity=1.0
) -> np.ndarray:
    """Edit one aligned face of an (H, W, 3) uint8 photo at the photo's resolution.

    The geometric warp is computed on a grid of crop resolution covering the mesh (the crop
    and a margin of ``RING_EXTENT`` crop sides around it), mapped into the photo through the
    crop matrix and applied to the photo's own pixels; the texture change is then added
    under the feathered face mask (:func:`pixelfes.faces.paste_change`) and an opened
    mouth's interior replaces the pixels inside the lips. Intensity 0 returns a copy; an
    (S, S) intensity map of the crop doses regions (:func:`pixelfes.faces.regions.intensity_map`).
    """
    if not np.any(intensity):
        return np.array(image, copy=True)
    plan = _plan(model, face.crop, intensity)
    edited = paste_change(_warp_photo(image, face, plan), face, plan.change)
    if plan.interior is not None:
        edited = _replace(edited, face, *plan.interior)
    return edited


def _replace(image: np.ndarray, face: AlignedFace, values: np.ndarray, weight: np.ndarray):
    """Blend crop ``values`` (S, S, 3) on [0, 1] into the photo with crop weights (S, S)."""
    ys, xs = np.nonzero(weight > 0)
    box = _photo_box(image.shape, face, (xs.min() - 1, ys.min() - 1), (xs.max() + 1, ys.max() + 1))
    if box is None:
        return image
    x0, y0, x1, y1 = box
    m = np.array(face.matrix, np.float64)
    m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    size = (x1 - x0, y1 - y0)
    alpha = cv2.warpAffine(weight, m, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
    values = cv2.warpAffine(values * np.float32(255), m, size, flags=flags,
                            borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    out = image.copy()
    region = out[y0:y1, x0:x1].astype(np.float32)
    blended = region + alpha[..., None] * (values - region)
    out[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out


def mesh_box(image_shape: tuple[int, ...], face: AlignedFace) -> tuple[int, int, int, int] | None:
    """The photo box ``(x0, y0, x1, y1)`` under the mesh's square (the crop and a margin of
    ``RING_EXTENT`` crop sides): :func:`edit_face` changes no pixel outside it."""
    margin = int(np.ceil(RING_EXTENT * face.size))
    return _photo_box(image_shape, face, (-margin, -margin), (face.size + margin,) * 2)


def _photo_box(image_shape: tuple[int, ...], face: AlignedFace, low, high):
    """The photo box ``(x0, y0, x1, y1)`` covering the crop rectangle from ``low`` to
    ``high`` (crop pixels, x and y), clipped to the photo; None if nothing is left."""
    (lx, ly), (hx, hy) = low, high
    corners = apply_affine(invert_affine(face.matrix), [[lx, ly], [hx, ly], [lx, hy], [hx, hy]])
    size = image_shape[1::-1]  # (w, h)
    x0, y0 = (int(np.clip(np.floor(v), 0, m)) for v, m in zip(corners.min(0), size, strict=True))
    x1, y1 = (int(np.clip(np.ceil(v) + 1, 0, m)) for v, m in zip(corners.max(0), size, strict=True))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _warp_photo(image: np.ndarray, face: AlignedFace, plan: _Plan) -> np.ndarray:
    out = np.array(image, copy=True)
    box = mesh_box(image.shape, face)
    if box is None:
        return out
    x0, y0, x1, y1 = box
    # Region pixel (u, v) -> grid pixel: crop point M (u + x0, v + y0) shifted by the margin.
    m = np.array(face.matrix, np.float64)
    m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64) + plan.margin
    offsets = cv2.warpAffine(
        plan.field,
        m,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    # Crop-space offsets to photo-space offsets through the inverse's linear part.
    linear = invert_affine(face.matrix)[:, :2].astype(np.float32)
    photo_offsets = offsets @ linear.T
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    map_x = xs + photo_offsets[..., 0]
    map_y = ys + photo_offsets[..., 1]
    out[y0:y1, x0:x1] = cv2.remap(
        image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return out
