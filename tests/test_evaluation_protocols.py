"""Evaluation methods, protocols and report writing (synthetic data; one shared-data run)."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest

from pixelfes.evaluation import report
from pixelfes.evaluation.catalog import standard_methods
from pixelfes.evaluation.methods import (
    CompiledKernelRidge,
    IdentityMethod,
    LumaKernelRidge,
    MeanDifference,
    Method,
    luma,
)
from pixelfes.evaluation.protocols import REAL_TARGET, PairSet, Scorer, first_per_subject, run_kfold


def synthetic_pairs(n_subjects: int = 8, per_subject: int = 2, size: int = 16, channels: int = 3):
    """Targets = a fixed per-pixel affine map of the inputs plus a little noise."""
    rng = np.random.default_rng(0)
    n = n_subjects * per_subject
    X = rng.integers(30, 220, size=(n, size, size, channels), dtype=np.uint8)
    gain = np.linspace(0.8, 1.1, size * size).reshape(size, size, 1)
    T = np.clip(X * gain + 12 + rng.normal(0, 2, X.shape), 0, 255).astype(np.uint8)
    subjects = [f"s{i // per_subject}" for i in range(n)]
    names = [f"img{i}.png" for i in range(n)]
    return PairSet(X, T, subjects, names, "synthetic", "happy")


def test_identity_method_returns_the_inputs():
    data = synthetic_pairs()
    out = IdentityMethod().fit(data.X, data.T).predict(data.X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(np.rint(out * 255).astype(np.uint8), data.X)
    assert IdentityMethod().fit(data.X, data.T).n_parameters == 0


def test_mean_difference_equals_closed_form():
    data = synthetic_pairs()
    method = MeanDifference().fit(data.X, data.T)
    x, t = data.X / 255.0, data.T / 255.0
    expected = x[:3] + (t - x).mean(axis=0)
    np.testing.assert_allclose(method.predict(data.X[:3]), expected, atol=1e-5)
    assert method.n_parameters == 16 * 16 * 3


@pytest.mark.parametrize("channels", [1, 3])
def test_every_method_predicts_the_input_shape(channels):
    data = synthetic_pairs(channels=channels)
    methods = standard_methods("happy", kr_max_train=10)
    assert len({m.id for m in methods}) == len(methods)
    for method in methods:
        out = method.fit(data.X, data.T, groups=data.subjects).predict(data.X[:5])
        assert isinstance(method, Method)  # after fit: n_parameters needs a fitted method
        assert out.shape == data.X[:5].shape, method.id
        assert np.isfinite(out).all(), method.id
        assert method.n_parameters >= 0


def test_kernel_ridge_lookup_table_reuses_the_fit_and_matches():
    data = synthetic_pairs()
    kernel = LumaKernelRidge(sigma=0.5)
    compiled = CompiledKernelRidge(kernel)
    kernel.fit(data.X, data.T)
    fitted = kernel.model_
    compiled.fit(data.X, data.T)
    assert kernel.model_ is fitted  # same pairs: the kernel solve was not repeated
    np.testing.assert_allclose(compiled.predict(data.X), kernel.predict(data.X), atol=1e-4)
    # one dual coefficient per location and luma level seen (the grouped 8-bit fit): at
    # most N H W, fewer where pairs share a level
    assert kernel.n_parameters == levels_seen(data.X) <= len(data) * 16 * 16
    assert compiled.n_parameters == 256 * 16 * 16
    compiled.fit(data.X[:6], data.T[:6])  # other pairs: refits the source
    assert kernel.model_ is not fitted and kernel.n_parameters == levels_seen(data.X[:6])


def levels_seen(X):
    values = luma(X).reshape(len(X), -1).T
    return sum(len(np.unique(row)) for row in values)


def test_kernel_ridge_changes_colour_faces_by_their_luma_only():
    data = synthetic_pairs()
    kernel = LumaKernelRidge(sigma=0.3).fit(data.X, data.T)
    change = kernel.predict(data.X[:4]) - data.X[:4] / np.float32(255)
    np.testing.assert_allclose(change[..., 0], change[..., 2], atol=1e-6)
    assert np.abs(change).max() > 0.01  # it does change the face


def test_kernel_ridge_training_cap():
    data = synthetic_pairs()
    kernel = LumaKernelRidge(sigma=1.0, max_train=5).fit(data.X, data.T)
    assert kernel.n_train_ == 5 and kernel.n_parameters <= 5 * 16 * 16


class RecordingMethod:
    """Records which subjects it was trained on (to check the folds)."""

    id = "recorder"

    def __init__(self, lookup):
        self.lookup = lookup
        self.seen: list[set[str]] = []

    def fit(self, X, T, groups=None):
        self.seen.append({self.lookup[x.tobytes()] for x in X})
        return self

    def predict(self, X):
        return X.astype(np.float32) / 255

    @property
    def n_parameters(self):
        return 0


def test_kfold_is_subject_disjoint_and_scores_every_pair_once():
    data = synthetic_pairs(n_subjects=10, per_subject=3)
    recorder = RecordingMethod({x.tobytes(): s for x, s in zip(data.X, data.subjects, strict=True)})
    results = run_kfold([recorder, MeanDifference()], data, Scorer(learned=False), k=5)
    rows = [r for r in results.records if r["method"] == "recorder"]
    assert sorted(r["index"] for r in rows) == list(range(len(data)))
    assert len(recorder.seen) == 5
    for fold, trained_on in enumerate(recorder.seen):
        tested = {r["subject"] for r in rows if r["fold"] == fold}
        assert tested and not (tested & trained_on)
        assert trained_on | tested == set(data.subjects)
    assert {r["method"] for r in results.records} == {REAL_TARGET, "recorder", "mean_difference"}
    assert len(results.timings) == 10


def test_first_per_subject_picks_one_image_per_subject():
    mask = first_per_subject(["b", "a", "b", "c", "a"], limit=2)
    assert mask.tolist() == [True, True, False, False, False]
    assert first_per_subject(["b", "a", "b"], None).sum() == 2


def test_report_tables_and_csv(tmp_path):
    data = synthetic_pairs()
    methods = [IdentityMethod(), MeanDifference(), LumaKernelRidge(sigma=1.0, id="pixel_kr")]
    results = run_kfold(methods, data, Scorer(learned=False), k=2)
    table = report.metrics_table(results.records, [m.id for m in methods], lambda r: True)
    for name in ("identity", "mean difference", "Pixel-KR"):  # ids shown by their labels
        assert f"| {name} |" in table
    assert table.count("\n") == 1 + len(methods)
    path = tmp_path / "per_image.csv.gz"
    n = report.write_csv(path, results.records, report.RECORD_COLUMNS)
    again = tmp_path / "again.csv.gz"
    report.write_csv(again, results.records, report.RECORD_COLUMNS)
    assert again.read_bytes() == path.read_bytes()  # deterministic bytes
    with gzip.open(path, "rt") as handle:
        rows = list(csv.DictReader(handle))
    assert n == len(rows) == len(data) * (len(methods) + 1)  # + the real-target rows
    assert {r["method"] for r in rows} == {REAL_TARGET, *(m.id for m in methods)}
    identity_psnr = [float(r["psnr"]) for r in rows if r["method"] == "identity"]
    assert len(identity_psnr) == len(data)


def test_line_plot_and_png(tmp_path):
    image = report.line_plot(
        [0.1, 1, 10], [("a", [1.0, 2.0, 1.5], (200, 0, 0))], hlines=[("ref", 1.2, (0, 0, 0))]
    )
    assert image.shape == (300, 560, 3) and image.dtype == np.uint8
    assert (image[..., 0] > 150).any() & (image[..., 1] < 60).any()  # the red series is drawn
    report.write_figure(tmp_path / "plot.png", image)
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
@pytest.mark.data
def test_quick_evaluation_end_to_end(shared_data: Path, tmp_path):
    pytest.importorskip("ai_edge_litert", reason="pip install 'pixelfes[eval]'")
    from click.testing import CliRunner

    from pixelfes.cli.evaluate import evaluate

    result = CliRunner().invoke(
        evaluate,
        ["--quick", "--protocol", "paper", "--data-root", str(shared_data), "-o", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "results-paper.md").read_text()
    for name in ("identity", "mean difference", "Pixel-RR", "Pixel-KR", "Pixel-KR (lookup table)"):
        assert f"| {name} |" in text
    assert "chelsea_cat.png" in text  # the cat has no human face: reported as skipped
    assert (tmp_path / "figures" / "results_qualitative.jpg").stat().st_size > 10_000
    assert (tmp_path / "figures" / "results_sigma_sweep.png").stat().st_size > 10_000
    with gzip.open(tmp_path / "results" / "per_image.csv.gz", "rt") as handle:
        rows = list(csv.DictReader(handle))
    within = [r for r in rows if r["protocol"] == "within" and r["method"] == "pixel_rr"]
    assert len(within) == 40  # every London pair of the quick subset scored once
    assert {r["protocol"] for r in rows} == {"within", "wild"}
