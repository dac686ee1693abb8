"""Streaming training: chunks of pairs through the crop cache give the in-memory result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pixelfes.colour import to_gray
from pixelfes.data import find_pairs, load_pairs
from pixelfes.faces import face_mask
from pixelfes.imageio import write_image
from pixelfes.photometric import masked_sums, pooled_statistics, statistics_from_sums
from pixelfes.streaming import (
    TrainTask,
    accumulate,
    combine,
    streams,
    train_streaming,
)
from pixelfes.training import train
from synthetic_aligner import CentreCrop


@pytest.fixture(scope="module")
def pair_folder(tmp_path_factory) -> Path:
    """24 synthetic pairs (flat layout, 12 subjects with two expressions' worth each)."""
    folder = tmp_path_factory.mktemp("pairs") / "mine"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for subject in range(24):
        neutral = rng.integers(20, 220, (20, 20, 3)).astype(np.uint8)
        happy = np.clip(0.7 * neutral + 50 + rng.normal(0, 6, neutral.shape), 0, 255)
        write_image(folder / f"p{subject:02d}_neutral.png", neutral)
        write_image(folder / f"p{subject:02d}_happy.png", happy.astype(np.uint8))
    return folder


def _options(tmp_path: Path) -> dict:
    return {"aligner": CentreCrop(), "cache": tmp_path / "cache"}


@pytest.mark.parametrize("family", ["pixel-rr", "mr", "pixel-kr"])
@pytest.mark.parametrize("gray", [False, True])
def test_streamed_training_equals_in_memory_training(pair_folder, tmp_path, family, gray):
    pairs = find_pairs([str(pair_folder)], source="neutral", target="happy")
    streamed = train_streaming(
        family, pairs, size=16, gray=gray, seed=5, chunk_pairs=5, **_options(tmp_path)
    )
    aligned = load_pairs(pairs, 16, **_options(tmp_path))
    X, T = (to_gray(aligned.X), to_gray(aligned.T)) if gray else (aligned.X, aligned.T)
    reference = train(family, X, T, aligned.subjects, seed=5)
    got = streamed.report
    np.testing.assert_allclose(got.model.predict(X), reference.model.predict(X), atol=1e-6)
    assert got.heldout_psnr == pytest.approx(reference.heldout_psnr, abs=1e-9)
    assert got.heldout_identity_psnr == pytest.approx(reference.heldout_identity_psnr, abs=1e-9)
    assert (got.n_pairs, got.n_subjects, got.n_heldout_subjects) == (
        reference.n_pairs,
        reference.n_subjects,
        reference.n_heldout_subjects,
    )
    mean, std = pooled_statistics(X, face_mask(16))
    np.testing.assert_allclose(streamed.input_mean, mean, atol=1e-5)
    np.testing.assert_allclose(streamed.input_std, std, atol=1e-5)


def test_skipped_pairs_are_reported_and_left_out(pair_folder, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for path in pair_folder.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    write_image(folder / "p03_happy.png", np.zeros((20, 20, 3), np.uint8))  # no face
    pairs = find_pairs([str(folder)], source="neutral", target="happy")
    result = train_streaming("pixel-rr", pairs, size=16, chunk_pairs=7, **_options(tmp_path))
    assert [s.path.name for s in result.skipped] == ["p03_happy.png"]
    assert result.report.n_pairs == result.report.model.n_pairs_seen_ == 23


def test_sums_are_additive(pair_folder, tmp_path):
    pairs = find_pairs([str(pair_folder)], source="neutral", target="happy")
    subjects = frozenset(p.subject for p in pairs[:4])
    task = TrainTask("mr", {}, subjects, size=16, **_options(tmp_path))
    whole = accumulate(pairs, task)
    halves = combine(accumulate(pairs[:9], task), accumulate(pairs[9:], task))
    np.testing.assert_allclose(halves.fit.coef_, whole.fit.coef_, atol=1e-6)
    np.testing.assert_allclose(halves.heldout.coef_, whole.heldout.coef_, atol=1e-6)
    np.testing.assert_allclose(halves.colour, whole.colour)
    assert halves.n_pairs == whole.n_pairs == len(pairs)
    assert halves.heldout_subjects == subjects


def test_masked_sums_give_pooled_statistics():
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    mask = face_mask(32)
    mean, std = statistics_from_sums(masked_sums(crops[:5], mask) + masked_sums(crops[5:], mask))
    reference_mean, reference_std = pooled_statistics(crops, mask)
    np.testing.assert_allclose(mean, reference_mean, atol=1e-5)
    np.testing.assert_allclose(std, reference_std, atol=1e-5)


def test_only_families_with_partial_fit_stream(pair_folder):
    assert streams("pixel-rr") and streams("mr") and streams("pixel-kr")
    assert not streams("global-rr")
    pairs = find_pairs([str(pair_folder)], source="neutral", target="happy")
    with pytest.raises(ValueError, match="streamed statistics"):
        train_streaming("global-rr", pairs)
