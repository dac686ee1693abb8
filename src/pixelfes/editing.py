"""Change the expression of every face in a photo: align, synthesize, blend, paste back.

This is the main job of pixelfes in one call: :func:`edit` takes an RGB photo and returns
the same photo, the same size, with the chosen expression on each face.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pixelfes.colour import luma as bt601_luma
from pixelfes.colour import to_unit
from pixelfes.exceptions import GeometryError, InvalidImageError, InvalidInputError
from pixelfes.photometric import match_to, unmatch
from pixelfes.pretrained import bundled_models, find_bundled

MAX_INTENSITY = 1.5
#: Wider (or taller) than this many times the other side, an image cannot hold a face.
MAX_ASPECT_RATIO = 20


@dataclass(frozen=True)
class EditResult:
    """An edited photo and the faces that were edited.

    Attributes
    ----------
    image : ndarray of shape (H, W, 3), uint8
        The photo with every edited face pasted back; pixels away from faces are unchanged.
    faces : list of (x0, y0, x1, y1)
        For each edited face, the box in photo pixels outside which nothing changed.
    """

    image: np.ndarray
    faces: list[tuple[int, int, int, int]]


def available_expressions() -> list[str]:
    """Return the expressions the bundled models can produce, sorted."""
    return sorted({model.target for model in bundled_models()})


#: The bundled variant each expression picks first when it exists and can run: geometry
#: models where they beat plain Pixel-RR on held-out faces and data sets (docs/geometry.md).
PREFERRED_VARIANT = {
    expression: "geometry"
    for expression in ("happy", "surprise", "sad", "anger", "disgust", "fear")
}


def load_model(name_or_path: str | Path) -> Any:
    """Load a bundled model by expression or name, or a model file by path.

    Parameters
    ----------
    name_or_path : str or path
        An expression (``"happy"`` picks the neutral-to-happy model, its geometry variant
        when one is bundled and the face mesh is installed; ``"neutral"`` the
        happy-to-neutral one), a bundled model name such as ``"neutral-to-sad"`` or
        ``"neutral-to-happy"`` (the plain Pixel-RR model), or the path of a file written
        by ``model.save``.

    Returns
    -------
    model
        A fitted pixelfes model that the caller owns: bundled models are read once and
        copied on every call, so changing one caller's model never alters another's.
    """
    bundled = _preferred(str(name_or_path)) or find_bundled(str(name_or_path))
    if bundled is not None:
        return copy.deepcopy(_load_cached(str(bundled.path)))
    path = Path(name_or_path)
    if path.suffix == ".npz" or path.exists():
        from pixelfes.models import load

        return load(path)
    raise InvalidInputError(
        f"unknown model {str(name_or_path)!r}: give an expression "
        f"({', '.join(available_expressions())}), a bundled model name "
        f"({', '.join(m.name for m in bundled_models())}) or a model file path"
    )


def _preferred(name: str):
    """The preferred variant of a bare expression's model, when bundled and runnable."""
    if name not in available_expressions() or name not in PREFERRED_VARIANT:
        return None
    variant = find_bundled(f"{name}-{PREFERRED_VARIANT[name]}")
    if variant is None or not _mesh_installed():
        return None
    return variant


@lru_cache(maxsize=1)
def _mesh_installed() -> bool:
    """Whether geometry models can run; if not, say once what falls back and how to fix it."""
    from pixelfes.exceptions import MissingDependencyError
    from pixelfes.faces.landmarks import require_dense_landmarks

    try:
        require_dense_landmarks()
    except MissingDependencyError as error:
        warnings.warn(f"using the plain Pixel-RR models: {error}", stacklevel=4)
        return False
    return True


@lru_cache(maxsize=16)
def _load_cached(path: str) -> Any:
    """The bundled model at ``path``, read once; its arrays are read-only (never handed out)."""
    from pixelfes.models import load

    model = load(path)
    for name in model._array_names:
        getattr(model, name).setflags(write=False)
    return model


def synthesize(
    model: Any,
    crops: np.ndarray,
    intensity: float = 1.0,
    *,
    match_colours: bool = False,
    luma: bool = True,
) -> np.ndarray:
    """Apply a model to aligned crops and blend with the input by ``intensity``.

    ``output = input + intensity * (model(input) - input)``, computed in [0, 1] floats.
    A flow model (:class:`~pixelfes.models.FlowPixelRidge`) first samples the input at
    ``p + intensity * d(p)`` and then applies the same blend to its per-pixel part, so
    intensity scales both the movement and the texture change.

    Two optional steps adapt the model to faces unlike its training faces:

    - ``match_colours`` (off by default: it lowered held-out PSNR by 0.3-0.4 dB on
      cross-dataset pairs): when the model's metadata holds its training faces' colour
      statistics (``input_mean``/``input_std``), each face is matched to them before
      synthesis and mapped back to its own colours afterwards (:mod:`pixelfes.photometric`).
    - ``luma``: for models whose channels share parameters (grayscale models and
      ``channels="shared"``), the model maps the face's luma (ITU-R BT.601) and the
      change is added equally to R, G and B, which leaves the chroma untouched: the
      expression changes, the skin tone does not drift towards the training faces'.

    Parameters
    ----------
    model : fitted pixelfes model
        Predicts crops of the same shape as its training images.
    crops : ndarray of shape (N, S, S, C), uint8
        Aligned faces.
    intensity : float or ndarray of shape (S, S)
        0 keeps the input, 1 is the model's output, up to 1.5 exaggerates it; an array
        gives each crop pixel its own (:func:`pixelfes.faces.regions.intensity_map`).
    match_colours : bool
        Match each face to the model's training colour statistics when it has them.
    luma : bool
        Synthesize the luma only, for models that share parameters across channels.

    Returns
    -------
    ndarray of shape (N, S, S, C), float32, clipped to [0, 1]
    """
    _check_intensity(intensity)
    if _is_geometric(model):
        from pixelfes.geometric import synthesize as synthesize_geometric

        return synthesize_geometric(model, crops, np.asarray(intensity, np.float32))
    source = to_unit(crops)
    if not np.any(intensity):
        return source
    if _is_flow(model):  # move the pixels a fraction `intensity` of the way, then retexture
        source, model = model.warp(source, np.asarray(intensity, np.float32)), model.texture()
    stats = _colour_statistics(model) if match_colours else None
    if luma and source.shape[-1] == 3 and _shares_channels(model):
        y = bt601_luma(source)
        grey = np.repeat(y[..., None], 3, axis=-1)
        change = (_predict(model, grey, stats).mean(axis=-1) - y)[..., None]
    else:
        change = _predict(model, source, stats) - source
    weight = np.asarray(intensity, np.float32)
    blended = source + (weight if weight.ndim == 0 else weight[..., None]) * change
    return np.clip(blended, 0.0, 1.0, out=blended)


def _predict(
    model: Any, source: np.ndarray, stats: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray:
    """The model's prediction for [0, 1] crops, through the colour match when given stats."""
    if stats is None:
        return np.asarray(_predict_matching_channels(model, source), np.float32)
    from pixelfes.faces import face_mask

    matched, face_mean, face_std = match_to(source, *stats, face_mask(source.shape[1]))
    predicted = _predict_matching_channels(model, matched)
    return unmatch(np.asarray(predicted, np.float32), *stats, face_mean, face_std)


def _is_geometric(model: Any) -> bool:
    """Whether ``model`` moves landmarks (a GeometryModel) rather than mapping pixels."""
    from pixelfes.models import GeometryModel

    return isinstance(model, GeometryModel)


def _is_flow(model: Any) -> bool:
    """Whether ``model`` reads each pixel at a learned offset (a FlowPixelRidge)."""
    from pixelfes.models import FlowPixelRidge

    return isinstance(model, FlowPixelRidge)


def _shares_channels(model: Any) -> bool:
    return model.image_shape_[-1] == 1 or getattr(model, "channels", None) == "shared"


def edit_image(
    image: np.ndarray,
    to: str = "happy",
    intensity: float = 1.0,
    *,
    model: Any = None,
    largest_only: bool = False,
    landmarks: Any = None,
    source: str | None = None,
    face: int | None = None,
    box: Any = None,
    eyes: Any = None,
    mouth: Any = None,
    detector: Any = None,
    regions: dict[str, float] | None = None,
    clean_border: bool = True,
) -> EditResult:
    """Edit the expression of the faces in a photo.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3) or (H, W), uint8
        RGB or grayscale photo (see :func:`pixelfes.imageio.read_image`); grayscale is
        edited as RGB.
    to : str
        Target expression; ignored when ``model`` is given.
    intensity : float
        Blend between input (0) and full synthesis (1); up to 1.5.
    model : fitted model or str or path, optional
        Overrides the bundled model chosen by ``to``.
    largest_only : bool
        Edit only the largest face.
    landmarks : optional
        Use these faces instead of detecting them: :class:`pixelfes.faces.FaceLandmarks`,
        a (5, 2) array of points or a list of either (see :func:`pixelfes.faces.align`).
    source : str, optional
        Name of the photo, used in error messages.
    face : int, optional
        Edit only this face: its index left to right (see :func:`pixelfes.faces.detect_faces`).
    box : (x, y, w, h), optional
        Edit only the face inside this box of photo pixels.
    eyes : (x1, y1, x2, y2), optional
        Edit the face with these eye centres, without detection (paintings, animals);
        ``mouth`` (x, y) optionally gives the mouth centre (see
        :func:`pixelfes.faces.manual.landmarks_from_eyes`).
    mouth : (x, y), optional
        Mouth centre, with ``eyes``.
    detector : str or detector, optional
        ``"face"`` (default), ``"cat"`` (OpenCV's cat-face cascades) or any object with
        ``detect(image)``.
    regions : dict of str to float, optional
        Intensity per region (``mouth``, ``eyes``, ``brows``, ``rest``); regions not named
        get ``intensity`` (see :mod:`pixelfes.faces.regions`). For a geometry model a
        region's dose scales the movement of the landmarks that start in it and the
        texture change where it lands.
    clean_border : bool
        Fade the edit out where the border of the aligned crop covers background, hair or
        beard rather than the face's skin (:func:`pixelfes.faces.border.border_mask`).
        Per-pixel models only: a geometry model's warp fades out at its mesh's ring.

    Returns
    -------
    EditResult

    Raises
    ------
    NoFaceError
        When no face is found.
    ValueError
        For an unknown expression, an intensity outside [0, 1.5] or a wrong image shape.
    """
    from pixelfes.faces import align
    from pixelfes.faces.regions import intensity_map
    from pixelfes.faces.select import choose_landmarks, detector_by_name

    _check_intensity(intensity)
    image = _as_rgb(image)
    _check_aspect_ratio(image, source)
    fallback = None
    if model is None:
        model, fallback = _default_models(to, detector)
    elif isinstance(model, str | Path):
        model = load_model(model)
    size = int(model.image_shape_[0])
    found = detector_by_name(detector)
    chosen = choose_landmarks(
        image, face=face, box=box, eyes=eyes, mouth=mouth, detector=found, source=source
    )
    if chosen is not None:
        if landmarks is not None:
            raise InvalidInputError("give landmarks or a face choice (face, box, eyes), not both")
        landmarks = chosen
    faces = align(
        image,
        size=size,
        largest_only=largest_only,
        detector=found,
        landmarks=landmarks,
        source=source,
    )
    weight = intensity if regions is None else intensity_map(size, regions, intensity)
    if not _is_geometric(model):
        return _edit_pixels(image, image, faces, model, weight, clean_border)
    from pixelfes.geometric import edit_face, mesh_box

    edited, boxes = image, []
    for aligned in faces:
        try:
            edited = edit_face(edited, aligned, model, weight)
            box = mesh_box(image.shape, aligned)
        except GeometryError as error:
            if fallback is None:
                raise
            warnings.warn(f"{error}: this face gets the plain Pixel-RR model", stacklevel=2)
            plain = _edit_pixels(image, edited, [aligned], fallback, weight, clean_border)
            edited, box = plain.image, (plain.faces or [None])[0]
        if box is not None:
            boxes.append(box)
    return EditResult(image=edited, faces=boxes)


def _default_models(to: str, detector: Any) -> tuple[Any, Any]:
    """The model an expression picks and, for a geometry model, the plain one behind it.

    Faces the face mesh cannot follow (a cat, a mesh that would fold) get the plain model.
    """
    model = load_model(to)
    if not _is_geometric(model):
        return model, None
    plain = find_bundled(to)
    if plain is None:
        return model, None
    plain_model = load_model(plain.name)
    if _is_geometric(plain_model) or plain_model.image_shape_[:2] != model.image_shape_[:2]:
        return model, None
    if isinstance(detector, str) and detector == "cat":
        return plain_model, None
    return model, plain_model


def _edit_pixels(
    image: np.ndarray, edited: np.ndarray, faces: list, model: Any, weight, clean_border: bool
) -> EditResult:
    """Per-pixel edit of ``faces`` pasted into ``edited``; boxes measured on ``image``."""
    from pixelfes.faces import paste_box, paste_change
    from pixelfes.faces.border import border_mask

    crops = np.stack([aligned.crop for aligned in faces])
    changes = synthesize(model, crops, weight) - to_unit(crops)
    if clean_border:
        changes *= np.stack([border_mask(crop) for crop in crops])[..., None]
    for aligned, change in zip(faces, changes, strict=True):
        edited = paste_change(edited, aligned, change)
    boxes = [pasted for aligned in faces if (pasted := paste_box(image, aligned)) is not None]
    return EditResult(image=edited, faces=boxes)


def edit(image: np.ndarray, to: str = "happy", intensity: float = 1.0, **kwargs: Any) -> np.ndarray:
    """Return ``image`` with the faces' expression changed to ``to``.

    A shortcut for ``edit_image(...).image``; see :func:`edit_image` for the arguments.

    Examples
    --------
    >>> from pixelfes.imageio import read_image
    >>> happy = edit(read_image("portrait.jpg"), to="happy")  # doctest: +SKIP
    """
    return edit_image(image, to, intensity, **kwargs).image


def _colour_statistics(model: Any) -> tuple[np.ndarray, np.ndarray] | None:
    metadata = getattr(model, "metadata_", {})
    if "input_mean" not in metadata or "input_std" not in metadata:
        return None
    mean = np.asarray(metadata["input_mean"], np.float32)
    std = np.asarray(metadata["input_std"], np.float32)
    return (mean, std) if mean.shape == std.shape == (model.image_shape_[-1],) else None


def _predict_matching_channels(model: Any, crops: np.ndarray) -> np.ndarray:
    """Predict colour crops with a grayscale model by treating each channel as an image.

    A per-pixel model maps each intensity on its own, so applying a grayscale model to
    R, G and B separately is exactly a colour model whose channels share parameters.
    """
    if model.image_shape_[-1] == 1 and crops.shape[-1] != 1:
        n, h, w, c = crops.shape
        planes = crops.transpose(0, 3, 1, 2).reshape(n * c, h, w, 1)
        return model.predict(planes).reshape(n, c, h, w).transpose(0, 2, 3, 1)
    return model.predict(crops)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InvalidInputError(f"image must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidInputError(f"image must have shape (H, W, 3) or (H, W), got {image.shape}")
    return image


def _check_aspect_ratio(image: np.ndarray, source: str | None) -> None:
    height, width = image.shape[:2]
    if max(height, width) > MAX_ASPECT_RATIO * max(1, min(height, width)):
        raise InvalidImageError(
            f"{source or 'the image'} is {width}x{height} pixels: an aspect ratio over "
            f"{MAX_ASPECT_RATIO}:1 is too thin to hold a face"
        )


def _check_intensity(intensity: float | np.ndarray) -> None:
    values = np.asarray(intensity, np.float64)
    if values.size == 0 or not (0.0 <= values.min() and values.max() <= MAX_INTENSITY):
        shown = intensity if values.ndim == 0 else f"values {values.min():g} to {values.max():g}"
        raise InvalidInputError(f"intensity must be in [0, {MAX_INTENSITY}], got {shown}")
