"""`pixelfes train` end to end on a small folder of real pairs, and its usage errors."""

import shutil

import pytest
from click.testing import CliRunner

import pixelfes
from pixelfes.cli import main
from pixelfes.training import cross_validate

N_SUBJECTS = 12


@pytest.fixture(scope="module")
def pair_folder(shared_data, tmp_path_factory):
    """A folder in the generic input/ + target/ layout with the first London pairs."""
    folder = tmp_path_factory.mktemp("pairs")
    neutral = sorted((shared_data / "london" / "neutral").glob("*_03.jpg"))[:N_SUBJECTS]
    for index, path in enumerate(neutral):
        smile = shared_data / "london" / "smiling" / path.name.replace("_03", "_08")
        for side, source in (("input", path), ("target", smile)):
            (folder / side).mkdir(exist_ok=True)
            shutil.copy(source, folder / side / f"person{index:02d}.jpg")
    return folder


def invoke(*args):
    return CliRunner().invoke(main, ["train", *map(str, args)], catch_exceptions=False)


@pytest.mark.data
@pytest.mark.slow
def test_train_with_cv_writes_a_loadable_model(pair_folder, tmp_path):
    out = tmp_path / "happy.npz"
    result = invoke("--data", pair_folder, "--to", "happy", "--cv", "--size", "64", "-o", out)
    assert result.exit_code == 0, result.output
    assert f"pairs {N_SUBJECTS}, subjects {N_SUBJECTS}" in result.output
    assert "held-out PSNR" in result.output
    model = pixelfes.load_model(out)
    assert model.image_shape_ == (64, 64, 3)
    assert model.metadata_["cv_scores"] and model.metadata_["n_pairs"] == N_SUBJECTS
    chosen = f"alpha={model.alpha:g}"
    assert chosen in model.metadata_["cv_scores"]


@pytest.mark.data
@pytest.mark.slow
def test_train_kernel_model_with_sigma(pair_folder, tmp_path):
    out = tmp_path / "kr.npz"
    result = invoke(
        "--data", pair_folder, "--family", "pixel-kr", "--sigma", "0.5", "--size", "32", "-o", out
    )
    assert result.exit_code == 0, result.output
    assert pixelfes.load_model(out).sigma == 0.5


def test_usage_errors(tmp_path):
    result = CliRunner().invoke(
        main, ["train", "--data", "london", "-o", tmp_path / "m.npz", "--sigma", "2"]
    )
    assert result.exit_code == 2 and "--sigma applies only to --family pixel-kr" in result.output
    result = CliRunner().invoke(main, ["train", "--data", str(tmp_path), "-o", tmp_path / "m.npz"])
    assert result.exit_code == 2 and str(tmp_path) in result.output


def test_cross_validation_prefers_what_scores_best():
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.random((30, 8, 8, 1))
    T = np.clip(0.8 * X + 0.1 + rng.normal(0, 0.01, X.shape), 0, 1)
    subjects = [f"s{i}" for i in range(30)]
    best, scores = cross_validate("pixel-rr", X, T, subjects, grid={"alpha": (0.01, 100.0)})
    assert best == {"alpha": 0.01}
    assert scores["alpha=0.01"] > scores["alpha=100"] + 3


@pytest.mark.data
@pytest.mark.slow
def test_train_flow_model_then_edit_and_export(pair_folder, tmp_path):
    from importlib import resources

    out = tmp_path / "flow.npz"
    result = invoke("--data", pair_folder, "--family", "flow-rr", "--size", "64", "-o", out)
    assert result.exit_code == 0, result.output
    assert "flow-rr(alpha=0.4, radius=6, smooth=" in result.output
    model = pixelfes.load_model(out)
    assert type(model).__name__ == "FlowPixelRidge" and model.image_shape_ == (64, 64, 3)
    assert model.offsets_.dtype.name == "int8" and model.metadata_["n_pairs"] == N_SUBJECTS
    portrait = resources.files("pixelfes").joinpath("assets", "astronaut.jpg")
    edited = tmp_path / "edited.png"
    result = invoke_cli("edit", portrait, "--model", out, "--intensity", "0.7", "-o", edited)
    assert result.exit_code == 0 and edited.exists(), result.output
    pytest.importorskip("onnx", reason="ONNX export needs the export extra")
    result = invoke_cli("export", out, "-o", tmp_path / "flow.onnx")
    assert result.exit_code == 0 and (tmp_path / "flow.onnx").exists(), result.output


def invoke_cli(*args):
    return CliRunner().invoke(main, [*map(str, args)], catch_exceptions=False)
