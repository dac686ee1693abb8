"""PSNR, SSIM, sharpness and mean_ci against values known in closed form or from scikit-image."""

from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelfes.evaluation import metrics
from pixelfes.evaluation.metrics import (
    batch_psnr,
    batch_sharpness,
    batch_ssim,
    mean_ci,
    psnr,
    sharpness,
    ssim,
)

needs_skimage = pytest.mark.skipif(
    importlib.util.find_spec("skimage") is None,
    reason="scikit-image not installed (pip install scikit-image==0.26.0, the 'eval' extra)",
)


def _image(seed: int = 0, shape: tuple[int, ...] = (48, 40, 3)) -> np.ndarray:
    return np.random.default_rng(seed).random(shape)


def test_psnr_of_a_constant_offset_is_exactly_20_db() -> None:
    a = np.full((16, 16, 3), 0.3)
    assert psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-9)
    assert psnr(a, a + 0.01) == pytest.approx(40.0, abs=1e-9)


def test_psnr_of_uint8_uses_the_float_scale() -> None:
    a = np.full((8, 8), 100, dtype=np.uint8)
    b = a + np.uint8(51)  # 51 / 255 = 0.2 -> 20 log10(1 / 0.2)
    assert psnr(a, b) == pytest.approx(20 * np.log10(5.0), abs=1e-9)


def test_identical_images_give_inf_psnr_and_ssim_one() -> None:
    a = _image()
    assert psnr(a, a) == float("inf")
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert sharpness(a, a) == pytest.approx(1.0)


def test_psnr_matches_data_range() -> None:
    a, b = _image(1), _image(2)
    assert psnr(a * 255, b * 255, data_range=255.0) == pytest.approx(psnr(a, b), abs=1e-9)


def _skimage_ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage import metrics as skm

    return float(
        skm.structural_similarity(
            a,
            b,
            data_range=1.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            channel_axis=-1 if a.ndim == 3 else None,
        )
    )


@needs_skimage
@pytest.mark.parametrize("shape", [(64, 48, 3), (33, 40), (20, 20, 1)])
def test_ssim_matches_scikit_image(shape: tuple[int, ...]) -> None:
    a = _image(3, shape)
    b = np.clip(a + np.random.default_rng(4).normal(0, 0.1, shape), 0, 1)
    ours = ssim(a, b)
    ref = _skimage_ssim(a[..., 0] if shape[-1] == 1 else a, b[..., 0] if shape[-1] == 1 else b)
    assert ours == pytest.approx(ref, abs=1e-9)


@needs_skimage
@settings(max_examples=25, deadline=None)
@given(
    st.integers(11, 40),
    st.integers(11, 40),
    st.floats(0.0, 0.5),
    st.integers(0, 2**32 - 1),
)
def test_ssim_matches_scikit_image_on_random_images(h: int, w: int, noise: float, seed: int):
    rng = np.random.default_rng(seed)
    a = rng.random((h, w, 3))
    b = np.clip(a + rng.normal(0, noise + 1e-3, a.shape), 0, 1)
    assert ssim(a, b) == pytest.approx(_skimage_ssim(a, b), abs=1e-9)


def test_ssim_falls_with_noise() -> None:
    a = cv2.GaussianBlur(_image(5, (64, 64, 3)), (0, 0), 2)
    rng = np.random.default_rng(6)
    scores = [ssim(a, np.clip(a + rng.normal(0, s, a.shape), 0, 1)) for s in (0.01, 0.05, 0.2)]
    assert scores[0] > scores[1] > scores[2]


def test_sharpness_of_a_blurred_image_is_below_one() -> None:
    target = _image(7, (64, 64, 3))
    blurred = cv2.GaussianBlur(target, (0, 0), 1.5)
    assert sharpness(blurred, target) < 0.2
    assert sharpness(target, blurred) > 5
    flat = np.full((8, 8), 0.5)
    assert sharpness(flat, flat) == 1.0
    assert sharpness(target[:8, :8, 0], flat) == float("inf")


def test_batch_helpers_return_one_value_per_image() -> None:
    a = _image(8, (4, 24, 24, 3))
    b = np.clip(a + 0.05, 0, 1)
    for func, single in ((batch_psnr, psnr), (batch_ssim, ssim), (batch_sharpness, sharpness)):
        values = func(a, b)
        assert values.shape == (4,)
        assert values[2] == pytest.approx(single(a[2], b[2]))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (np.zeros((8, 8, 3)), np.zeros((8, 9, 3))),
        (np.zeros((8, 8, 2)), np.zeros((8, 8, 2))),
        (np.zeros((2, 8, 8, 3)), np.zeros((2, 8, 8, 3))),
        (np.zeros(8), np.zeros(8)),
    ],
)
def test_single_image_metrics_reject_wrong_shapes(a: np.ndarray, b: np.ndarray) -> None:
    with pytest.raises(ValueError):
        psnr(a, b)


def test_batch_metrics_reject_wrong_shapes_and_dtypes() -> None:
    with pytest.raises(ValueError):
        batch_psnr(np.zeros((2, 8, 8, 3)), np.zeros((3, 8, 8, 3)))
    with pytest.raises(ValueError):
        batch_psnr(np.zeros((2, 8, 8, 5)), np.zeros((2, 8, 8, 5)))
    with pytest.raises(ValueError):
        psnr(np.zeros((8, 8), dtype=np.int32), np.zeros((8, 8), dtype=np.int32))
    with pytest.raises(ValueError):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))  # smaller than the 11x11 window


def test_mean_ci_contains_the_mean_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(9)
    widths = []
    for n in (20, 100, 500):
        values = rng.normal(1.0, 0.5, n)
        for method in ("bootstrap", "t"):
            ci = mean_ci(values, method=method)
            assert ci.low < ci.mean < ci.high
            assert ci.n_groups == n
        ci = mean_ci(values)
        assert ci.mean == pytest.approx(values.mean())
        widths.append(ci.high - ci.low)
    assert widths[0] > widths[1] > widths[2]
    # about 2 * 1.96 * sigma / sqrt(n) for the largest n
    assert widths[2] == pytest.approx(2 * 1.96 * 0.5 / np.sqrt(500), rel=0.2)


def test_mean_ci_is_deterministic_and_groups_by_subject() -> None:
    rng = np.random.default_rng(10)
    subject_effect = np.repeat(rng.normal(0, 1, 10), 20)
    values = subject_effect + rng.normal(0, 0.1, 200)
    groups = np.repeat(np.arange(10), 20)
    assert mean_ci(values, groups=groups) == mean_ci(values, groups=groups)
    grouped = mean_ci(values, groups=groups)
    naive = mean_ci(values)
    assert grouped.n_groups == 10
    # 20 correlated images per subject carry far less information than 200 independent ones
    assert grouped.high - grouped.low > 2 * (naive.high - naive.low)
    t_grouped = mean_ci(values, groups=groups, method="t")
    assert t_grouped.low < t_grouped.mean < t_grouped.high


def test_mean_ci_edge_cases() -> None:
    assert mean_ci(np.array([2.0])) == metrics.ConfidenceInterval(2.0, 2.0, 2.0, 0.95, 1)
    with pytest.raises(ValueError):
        mean_ci(np.array([]))
    with pytest.raises(ValueError):
        mean_ci(np.array([1.0, np.inf]))
    with pytest.raises(ValueError):
        mean_ci(np.array([1.0, 2.0]), level=1.5)
    with pytest.raises(ValueError):
        mean_ci(np.array([1.0, 2.0]), groups=np.array([1]))
    with pytest.raises(ValueError):
        mean_ci(np.array([1.0, 2.0]), method="jackknife")


def test_package_exports_resolve_lazily() -> None:
    import pixelfes.evaluation as ev

    for name in ev.__all__:
        assert getattr(ev, name) is not None
    assert ev.psnr is psnr
    assert "mean_ci" in dir(ev)
    with pytest.raises(AttributeError):
        _ = ev.not_a_metric
