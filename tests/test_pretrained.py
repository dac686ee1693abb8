"""The bundled models: they load, their cards say what they must, their scores re-evaluate."""

import numpy as np
import pytest

import pixelfes
from pixelfes.data import find_pairs, load_pairs
from pixelfes.pretrained import bundled_models
from pixelfes.training import train

MODELS = bundled_models()


def test_all_expressions_are_bundled_and_small():
    targets = {(m.source, m.target) for m in MODELS}
    expected = {("neutral", e) for e in ("happy", "sad", "surprise", "anger", "disgust", "fear")}
    assert targets == expected | {("happy", "neutral")}
    assert sum(m.path.stat().st_size for m in MODELS) < 2 * 1024 * 1024


@pytest.mark.parametrize("bundled", MODELS, ids=lambda m: m.name)
def test_loads_and_card_matches_metadata(bundled):
    model = pixelfes.load_model(bundled.path)
    meta = model.metadata_
    assert model.image_shape_ == (128, 128, 3) and model.n_parameters == 32_768
    assert (meta["source_expression"], meta["target_expression"]) == (
        bundled.source,
        bundled.target,
    )
    card = bundled.card()
    assert f"{meta['heldout_psnr']:.2f} dB" in card
    assert f"alpha={model.alpha:g}" in card
    research_only = set(meta["datasets"]) != {"london"}
    assert ("Research use only" in card) == research_only
    assert ("CC BY 4.0" in card) == (not research_only)


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("bundled", MODELS, ids=lambda m: m.name)
def test_card_scores_match_a_re_evaluation(shared_data, bundled):
    model = pixelfes.load_model(bundled.path)
    meta = model.metadata_
    pairs = find_pairs(meta["datasets"], bundled.source, bundled.target, root=shared_data)
    aligned = load_pairs(pairs, size=128)
    assert len(aligned) == meta["n_pairs"]
    report = train(
        "pixel-rr",
        aligned.X,
        aligned.T,
        aligned.subjects,
        params={"alpha": model.alpha},
        seed=meta["split_seed"],
    )
    assert report.heldout_psnr == pytest.approx(meta["heldout_psnr"], abs=0.01)
    assert report.heldout_identity_psnr == pytest.approx(meta["heldout_identity_psnr"], abs=0.01)
    # The bundled parameters are the refit on all pairs, stored as float16.
    probe = aligned.X[:4]
    np.testing.assert_allclose(model.predict(probe), report.model.predict(probe), atol=2e-2)
