"""Real targets moved onto their inputs' pose before the pixel measures (evaluation/pose.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pixelfes.evaluation import lodo
from pixelfes.evaluation.pose import targets_in_input_pose
from pixelfes.evaluation.protocols import PairSet
from pixelfes.faces.landmarks import N_DENSE, STABLE_POINTS
from pixelfes.faces.pose import pose_change

RNG = np.random.default_rng(5)
SIZE = 64


def _shift(images: np.ndarray, dx: float, dy: float, scale: float = 1.0) -> np.ndarray:
    m = np.array([[scale, 0.0, dx], [0.0, scale, dy]])
    out = [cv2.warpAffine(im, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR) for im in images]
    return np.stack(out).reshape(images.shape)


def test_pose_change_is_the_similarity_between_the_stable_points():
    reference = RNG.uniform(10, 54, (N_DENSE, 2))
    moved = reference * 0.93 + np.array([1.0, -2.0])
    moved[: N_DENSE // 2] += RNG.normal(0, 3, (N_DENSE // 2, 2))  # the expression
    moved[list(STABLE_POINTS)] = reference[list(STABLE_POINTS)] * 0.93 + np.array([1.0, -2.0])
    m = pose_change(moved, reference)
    np.testing.assert_allclose(m, [[1 / 0.93, 0, -1 / 0.93], [0, 1 / 0.93, 2 / 0.93]], atol=1e-9)


def test_a_target_shifted_in_its_crop_is_moved_back_onto_the_input():
    X = RNG.integers(0, 255, (2, SIZE, SIZE, 1), dtype=np.uint8)
    X = cv2.GaussianBlur(X[..., 0].transpose(1, 2, 0), (0, 0), 2).transpose(2, 0, 1)[..., None]
    T = _shift(X, 3.0, -2.0)  # the same face, 3 px right and 2 px up in its crop
    points = RNG.uniform(16, 48, (2, N_DENSE, 2))
    shapes = iter([points, points + np.array([3.0, -2.0])])  # inputs first, then targets
    back = targets_in_input_pose(X, T, lambda crops: next(shapes))
    assert back.shape == T.shape and back.dtype == np.uint8
    inner = (slice(None), slice(6, -6), slice(6, -6))
    assert np.abs(back[inner].astype(int) - X[inner]).max() <= 1
    assert np.abs(T[inner].astype(int) - X[inner]).mean() > 5
    with pytest.raises(ValueError, match="one shape"):
        targets_in_input_pose(X, T[:1], lambda crops: points)


class _Judges:
    def embed(self, X):
        return np.zeros((len(X), 128))

    def score(self, outputs, X, T, expression, input_vecs, target_vecs, is_target=False):
        return {"psnr": np.abs(to_float(outputs) - to_float(T)).mean(axis=(1, 2, 3))}


def to_float(images):
    images = np.asarray(images)
    return images / 255.0 if images.dtype == np.uint8 else images


def test_run_split_scores_and_shows_the_targets_it_is_given():
    X = RNG.integers(0, 255, (4, 8, 8, 1), dtype=np.uint8)
    sets = {
        d: PairSet(X, X, [f"{d}:{i}" for i in range(4)], [f"{i}.png" for i in range(4)], d, "happy")
        for d in ("london", "ckplus")
    }
    split = lodo.splits("happy", sets)[0]
    identity = lodo.LumaMethod(lodo.INPUT, lambda X, T: lambda y: y / np.float32(255))
    darker = (split.test.T // 2).astype(np.uint8)
    result = lodo.run_split(split, [identity], _Judges(), targets=darker)
    scores = {r["method"]: r["psnr"] for r in result.records if r["index"] == 0}
    assert scores[lodo.REAL_TARGET] == pytest.approx(0.0, abs=1e-6)  # the given target
    assert scores[lodo.INPUT] > 0.0  # the input is scored against it, not against T
    np.testing.assert_array_equal(result.examples["happy", "london"][lodo.REAL_TARGET],
                                  darker[np.unique(np.linspace(0, 3, 4).astype(int))])  # fmt: skip
    with pytest.raises(ValueError, match="targets have shape"):
        lodo.run_split(split, [identity], _Judges(), targets=darker[:2])
