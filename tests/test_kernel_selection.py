"""Pixel-KR cross-validation from fold statistics equals refitting on every fold."""

from __future__ import annotations

import numpy as np
import pytest

from pixelfes.data.splits import subject_kfold
from pixelfes.kernel_selection import cross_validate_kernel
from pixelfes.metrics import batch_psnr
from pixelfes.models import PixelKernelRidge
from pixelfes.training import cross_validate


def pairs(n=36, seed=0, channels=3):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, 6, 5, channels), dtype=np.uint8)
    T = np.clip(0.7 * X + rng.normal(30, 20, X.shape), 0, 255).astype(np.uint8)
    subjects = [f"s{i // 3}" for i in range(n)]  # three pairs per subject
    return X, T, subjects


@pytest.mark.parametrize("small_chunks", [False, True])
@pytest.mark.parametrize("channels", ["shared", "independent"])
def test_fold_statistics_equal_refitting(monkeypatch, channels, small_chunks):
    if small_chunks:  # chunks of locations and of held-out images smaller than the data
        from pixelfes import kernel_selection
        from pixelfes.models import kernel_levels

        monkeypatch.setattr(kernel_levels, "_LOCATIONS_PER_CHUNK", 7)
        monkeypatch.setattr(kernel_selection, "_VALUES_PER_CHUNK", 50)
    X, T, subjects = pairs()
    alphas, sigmas = (0.04, 0.4), (0.1, 1.0)
    fast = cross_validate_kernel(
        X, T, subjects, alphas=alphas, sigmas=sigmas, channels=channels, k=4, seed=1
    )
    folds = subject_kfold(subjects, k=4, seed=1)
    for alpha in alphas:
        for sigma in sigmas:
            scores = []
            for train, test in folds:
                model = PixelKernelRidge(alpha=alpha, sigma=sigma, channels=channels)
                scores.append(batch_psnr(model.fit(X[train], T[train]).predict(X[test]), T[test]))
            slow = float(np.mean(np.concatenate(scores)))
            assert fast[f"alpha={alpha:g},sigma={sigma:g}"] == pytest.approx(slow, abs=1e-4)


def test_training_cross_validate_uses_it_and_picks_the_best():
    X, T, subjects = pairs(seed=2)
    grid = {"alpha": (0.04, 4.0), "sigma": (0.05, 10.0)}
    steps = []
    best, scores = cross_validate(
        "pixel-kr", X, T, subjects, grid=grid, k=3, on_step=lambda: steps.append(1)
    )
    assert len(steps) == 3 * 2  # folds x sigmas: one Gram build serves both alphas
    assert set(scores) == {f"alpha={a:g},sigma={s:g}" for a in (0.04, 4.0) for s in (0.05, 10.0)}
    assert scores[f"alpha={best['alpha']:g},sigma={best['sigma']:g}"] >= max(scores.values()) - 0.01
    # sigma = 10 is nearly constant over [0, 1]: it cannot follow T's slope in X
    assert best["sigma"] == 0.05
    assert scores["alpha=0.04,sigma=0.05"] > scores["alpha=0.04,sigma=10"] + 1


def test_refuses_float_inputs():
    X, T, subjects = pairs()
    with pytest.raises(ValueError, match="uint8"):
        cross_validate_kernel(X / 255.0, T, subjects)


def test_evaluation_method_chooses_on_training_subjects_only():
    from pixelfes.evaluation.catalog import standard_methods
    from pixelfes.evaluation.methods import CrossValidatedKernelRidge
    from pixelfes.kernel_selection import KERNEL_GRID

    X, T, subjects = pairs(n=30, seed=5)
    method = CrossValidatedKernelRidge(k=3)
    method.fit(X, T, groups=subjects)
    assert method.sigma in KERNEL_GRID["sigma"] and method.alpha in KERNEL_GRID["alpha"]
    assert method.n_train_ == 30  # no cap on the training pairs
    out = method.predict(X[:2])
    assert out.shape == X[:2].shape and out.dtype == np.float32
    ids = [m.id for m in standard_methods("happy")]
    assert "pixel_kr_cv" in ids
    assert "pixel_kr_cv" not in [m.id for m in standard_methods("happy", quick=True)]


def test_training_cross_validate_scores_the_fixed_channel_mode():
    """``fixed`` hyper-parameters (here Pixel-KR's channel mode) are those of every
    candidate: the search scores the model that train() then fits."""
    X, T, subjects = pairs(seed=3)
    grid = {"alpha": (0.04,), "sigma": (0.3,)}
    _, scores = cross_validate(
        "pixel-kr", X, T, subjects, grid=grid, k=3, fixed={"channels": "independent"}
    )
    direct = cross_validate_kernel(
        X, T, subjects, alphas=(0.04,), sigmas=(0.3,), channels="independent", k=3
    )
    shared = cross_validate_kernel(X, T, subjects, alphas=(0.04,), sigmas=(0.3,), k=3)
    assert scores["alpha=0.04,sigma=0.3"] == direct["alpha=0.04,sigma=0.3"]
    assert scores["alpha=0.04,sigma=0.3"] != shared["alpha=0.04,sigma=0.3"]
    # the refitting path (float inputs) merges them into every candidate too
    _, slow = cross_validate(
        "pixel-kr", X / 255.0, T, subjects, grid=grid, k=3, fixed={"channels": "independent"}
    )
    assert slow["alpha=0.04,sigma=0.3"] == pytest.approx(direct["alpha=0.04,sigma=0.3"], abs=1e-3)
