import numpy as np

from pixelfes.faces import face_mask
from pixelfes.photometric import face_statistics, match_to, pooled_statistics, unmatch


def test_match_then_unmatch_is_the_identity():
    rng = np.random.default_rng(0)
    crops = rng.uniform(0.3, 0.7, (4, 32, 32, 3)).astype(np.float32)
    mean, std = np.array([0.5, 0.4, 0.35]), np.array([0.1, 0.12, 0.09])
    matched, face_mean, face_std = match_to(crops, mean, std, face_mask(crops.shape[1]))
    np.testing.assert_allclose(unmatch(matched, mean, std, face_mean, face_std), crops, atol=1e-5)


def test_matched_faces_have_the_target_statistics_inside_the_mask():
    rng = np.random.default_rng(1)
    crops = rng.integers(60, 200, (3, 64, 64, 3), dtype=np.uint8)
    mean, std = np.array([0.55, 0.45, 0.4]), np.array([0.08, 0.07, 0.06])
    matched, _, _ = match_to(crops, mean, std, face_mask(crops.shape[1]))
    got_mean, got_std = face_statistics(matched, face_mask(64))
    np.testing.assert_allclose(got_mean, np.broadcast_to(mean, (3, 3)), atol=1e-4)
    np.testing.assert_allclose(got_std, np.broadcast_to(std, (3, 3)), atol=1e-4)


def test_pooled_statistics_use_the_face_mask_only():
    crops = np.zeros((2, 64, 64, 3), np.uint8)
    crops[:, face_mask(64) > 0.5] = 255
    mean, std = pooled_statistics(crops, face_mask(64))
    np.testing.assert_allclose(mean, 1.0)
    np.testing.assert_allclose(std, 1e-3)  # floored, so matching never divides by zero
