"""Faces: landmark backends, alignment to a template crop, paste-back, video smoothing.

>>> from pixelfes.faces import align, paste_back
>>> faces = align(photo)                     # list[AlignedFace], 128 x 128 crops
>>> out = paste_back(photo, faces[0], edited_crop)
"""

from __future__ import annotations

from pixelfes.faces.align import (
    AlignedFace,
    SkippedFace,
    SmallFaceWarning,
    align,
    align_face,
    face_mask,
    paste_back,
    paste_box,
    paste_change,
)
from pixelfes.faces.detectors import (
    HaarONetDetector,
    MTCNNDetector,
    ONetRefiner,
    StaticLandmarks,
    YuNetDetector,
    default_detector,
)
from pixelfes.faces.geometry import (
    TEMPLATE_FRACTIONS,
    apply_affine,
    fit_similarity,
    invert_affine,
    template_points,
)
from pixelfes.faces.tracking import FaceTracker, LandmarkSmoother
from pixelfes.faces.types import POINT_NAMES, FaceLandmarks, LandmarkDetector

__all__ = [
    "POINT_NAMES",
    "TEMPLATE_FRACTIONS",
    "AlignedFace",
    "FaceLandmarks",
    "FaceTracker",
    "HaarONetDetector",
    "LandmarkDetector",
    "LandmarkSmoother",
    "MTCNNDetector",
    "ONetRefiner",
    "SkippedFace",
    "SmallFaceWarning",
    "StaticLandmarks",
    "YuNetDetector",
    "align",
    "align_face",
    "apply_affine",
    "default_detector",
    "face_mask",
    "fit_similarity",
    "invert_affine",
    "paste_back",
    "paste_box",
    "paste_change",
    "template_points",
]
