"""The bundled models: they load, their cards say what they must, their scores re-evaluate."""

from pathlib import Path

import numpy as np
import pytest

import pixelfes
from bundled_cards import check_card
from pixelfes.bundled import fit_bundled, heldout_psnr
from pixelfes.data import find_pairs, load_pairs
from pixelfes.pretrained import bundled_models

MODELS = [m for m in bundled_models() if m.variant != "geometry"]  # see test_geometry_bundled


def test_all_expressions_are_bundled_and_small():
    targets = {(m.source, m.target) for m in MODELS}
    expected = {("neutral", e) for e in ("happy", "sad", "surprise", "anger", "disgust", "fear")}
    assert targets == expected | {("happy", "neutral")}
    assert sum(m.path.stat().st_size for m in MODELS) < 2 * 1024 * 1024


@pytest.mark.parametrize("bundled", MODELS, ids=lambda m: m.name)
def test_loads_and_card_matches_metadata(bundled):
    model = pixelfes.load_model(bundled.path)
    meta = model.metadata_
    assert model.image_shape_ == (128, 128, 1) and model.n_parameters == 32_768
    card = check_card(bundled, model)
    assert f"alpha={meta['alpha']:g}" in card
    assert f"strength {meta['consistency_strength']:g}" in card
    assert ("CC BY 4.0" in card) == ("london" in meta["datasets"])
    if set(meta["datasets"]) != {"london"}:
        assert "research use only" in card.lower() and "commercial" in card


def test_default_happy_model_and_its_cc_by_variant():
    default = pixelfes.load_model(bundled_models_by_name()["neutral-to-happy"].path)
    clean = pixelfes.load_model(bundled_models_by_name()["neutral-to-happy-ccby"].path)
    assert set(default.metadata_["datasets"]) == {"london", "ckplus", "taiwanese"}
    assert clean.metadata_["datasets"] == ["london"]
    from pixelfes.pretrained import find_bundled

    assert find_bundled("happy").name == "neutral-to-happy"
    assert pixelfes.editing.available_expressions() == sorted(
        ["happy", "sad", "surprise", "anger", "disgust", "fear", "neutral"]
    )


def bundled_models_by_name():
    return {m.name: m for m in MODELS}


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("bundled", MODELS, ids=lambda m: m.name)
def test_card_scores_match_a_re_evaluation(shared_data, bundled):
    model = pixelfes.load_model(bundled.path)
    meta = model.metadata_
    pairs = find_pairs(meta["datasets"], bundled.source, bundled.target, root=shared_data)
    aligned = load_pairs(pairs, size=128)
    assert len(aligned) == meta["n_pairs"]
    psnr, floor, n_held = heldout_psnr(
        aligned.X,
        aligned.T,
        list(aligned.subjects),
        meta["alpha"],
        meta["consistency_strength"],
        seed=meta["split_seed"],
    )
    assert psnr == pytest.approx(meta["heldout_psnr"], abs=0.01)
    assert floor == pytest.approx(meta["heldout_identity_psnr"], abs=0.01)
    assert n_held == meta["heldout_subjects"]
    # The bundled parameters are the recipe refitted on all pairs, stored as float16.
    refit = fit_bundled(aligned.X, aligned.T, meta["alpha"], meta["consistency_strength"])
    probe = aligned.X[:4, ..., :1]
    np.testing.assert_allclose(model.predict(probe), refit.predict(probe), atol=2e-2)


SCORES = Path(__file__).resolve().parents[1] / "docs" / "results" / "lodo_scores.csv.gz"


@pytest.mark.skipif(not SCORES.is_file(), reason="no stored leave-one-dataset-out scores")
@pytest.mark.parametrize("bundled", [m for m in MODELS if m.source == "neutral" and not m.variant])
def test_card_quotes_the_stored_leave_one_dataset_out_scores(bundled):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_pretrained", SCORES.parents[2] / "scripts" / "build_pretrained.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = module.lodo_lines(SCORES, bundled.target)
    assert len(lines) >= 4  # header, rule, and one row per held-out set (two or more)
    card = bundled.card()
    for line in lines:
        assert line in card
