"""Saving and loading: round trips for every class and every kind of bad file."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pixelfes.exceptions import ModelFileError, NotFittedError
from pixelfes.models import (
    FORMAT_VERSION,
    FlowPixelRidge,
    GlobalRidge,
    MaskedRidge,
    PixelKernelRidge,
    PixelLookupTable,
    PixelRidge,
    load,
)

RNG = np.random.default_rng(0)
X = RNG.random((8, 6, 5, 3))
T = np.clip(0.8 * X + 0.1, 0, 1)
XU = (X * 255).astype(np.uint8)


def fitted_models() -> list:
    models = [
        PixelRidge(alpha=0.3).fit(X, T),
        PixelRidge(channels="independent").fit(X[..., 0], T[..., 0]),
        PixelKernelRidge(sigma=2.0).fit(X, T),
        MaskedRidge(radius=2).fit(X, T),
        FlowPixelRidge(radius=2).fit(X, np.roll(T, 1, axis=1)),
        GlobalRidge(alpha=1.0).fit(X, T),
    ]
    return [*models, models[2].to_lookup_table("float16")]


@pytest.mark.parametrize("model", fitted_models(), ids=lambda m: repr(m))
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_round_trip(tmp_path, model, dtype):
    path = tmp_path / "model.npz"
    model.save(path, metadata={"expression": "happy", "n": [1, 2]}, dtype=dtype)
    loaded = load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert loaded.image_shape_ == model.image_shape_
    assert loaded.metadata_ == {"expression": "happy", "n": [1, 2]}
    assert loaded.n_parameters == model.n_parameters
    inputs = XU if isinstance(model, PixelLookupTable) else X
    inputs = inputs[..., 0] if model.image_shape_[2] == 1 else inputs
    error = np.abs(loaded.predict(inputs) - model.predict(inputs)).max()
    if dtype == "float32":
        # Exact for float32 models; a float64 model (fitted on float64) is rounded to float32.
        exact = all(getattr(model, name).dtype != np.float64 for name in model._array_names)
        assert error == 0.0 if exact else error < 1e-6
    else:
        assert error < 5e-3
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left


def test_load_from_package_root(tmp_path):
    import pixelfes

    PixelRidge().fit(X, T).save(tmp_path / "m.npz")
    assert isinstance(pixelfes.load_model(tmp_path / "m.npz"), PixelRidge)
    with pytest.deprecated_call(match="pixelfes.load_model"):  # the former name, one release
        assert isinstance(pixelfes.load(tmp_path / "m.npz"), PixelRidge)


def test_save_refuses_unfitted_bad_dtype_and_metadata(tmp_path):
    with pytest.raises(NotFittedError):
        PixelRidge().save(tmp_path / "m.npz")
    model = PixelRidge().fit(X, T)
    with pytest.raises(ValueError, match="dtype"):
        model.save(tmp_path / "m.npz", dtype="float64")
    with pytest.raises(ValueError, match="JSON"):
        model.save(tmp_path / "m.npz", metadata={"bad": object()})
    assert list(tmp_path.iterdir()) == []


def rewrite_header(source: Path, target: Path, **changes) -> None:
    with np.load(source) as archive:
        arrays = {k: archive[k] for k in archive.files}
    header = json.loads(arrays["header"].tobytes())
    header.update(changes)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(target, **arrays)


@pytest.fixture
def saved(tmp_path) -> Path:
    path = tmp_path / "good.npz"
    PixelRidge().fit(X, T).save(path)
    return path


def test_truncated_file(saved, tmp_path):
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(ModelFileError, match=r"truncated\.npz"):
        load(bad)


def test_corrupt_bytes(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    data[40:200] = bytes(160)
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"corrupt\.npz"):
        load(bad)


def test_text_file(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, not a model\n")
    with pytest.raises(ModelFileError, match=r"notes\.txt"):
        load(bad)


def test_foreign_npz_and_npy(tmp_path):
    np.savez(tmp_path / "foreign.npz", weights=np.ones(3))
    with pytest.raises(ModelFileError, match=r"foreign\.npz.*no header"):
        load(tmp_path / "foreign.npz")
    np.save(tmp_path / "array.npy", np.ones(3))
    with pytest.raises(ModelFileError, match=r"array\.npy"):
        load(tmp_path / "array.npy")
    np.savez(tmp_path / "pickled.npz", header=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match=r"pickled\.npz"):
        load(tmp_path / "pickled.npz")


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match=r"absent\.npz"):
        load(tmp_path / "absent.npz")


def test_newer_version(saved, tmp_path):
    bad = tmp_path / "newer.npz"
    rewrite_header(saved, bad, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelFileError, match=r"newer\.npz.*upgrade"):
        load(bad)


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "other"},
        {"class": "Pickle"},
        {"params": {"alpha": 0.4}},
        {"params": {"alpha": -1.0, "channels": "shared"}},
        {"image_shape": [6, 5]},
        {"image_shape": [7, 5, 3]},
    ],
)
def test_inconsistent_header(saved, tmp_path, changes):
    bad = tmp_path / "inconsistent.npz"
    rewrite_header(saved, bad, **changes)
    with pytest.raises(ModelFileError, match=r"inconsistent\.npz"):
        load(bad)


def test_missing_or_non_finite_array(saved, tmp_path):
    with np.load(saved) as archive:
        arrays = {k: archive[k] for k in archive.files}
    np.savez(tmp_path / "missing.npz", header=arrays["header"], coef_=arrays["coef_"])
    with pytest.raises(ModelFileError, match="intercept_"):
        load(tmp_path / "missing.npz")
    arrays["coef_"] = np.full_like(arrays["coef_"], np.nan)
    np.savez(tmp_path / "nan.npz", **arrays)
    with pytest.raises(ModelFileError, match=r"nan\.npz"):
        load(tmp_path / "nan.npz")


def test_not_a_zip_member_layout(tmp_path):
    with zipfile.ZipFile(tmp_path / "zip.npz", "w") as archive:
        archive.writestr("header.npy", b"garbage")
    with pytest.raises(ModelFileError, match=r"zip\.npz"):
        load(tmp_path / "zip.npz")


def test_numpy_scalar_hyper_parameters_are_saved(tmp_path):
    model = PixelKernelRidge(alpha=np.float32(0.5), sigma=np.float64(2.0)).fit(X, T)
    model.save(tmp_path / "m.npz")
    assert load(tmp_path / "m.npz").get_params()["alpha"] == 0.5
