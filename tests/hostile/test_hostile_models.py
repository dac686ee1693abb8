"""Findings of the hostile-input campaign on model files, each as a regression test."""

from __future__ import annotations

import os
import struct
import threading
import zipfile

import numpy as np
import pytest

from pixelfes.exceptions import ModelFileError
from pixelfes.models import PixelKernelRidge, PixelRidge, load


def _fitted(tmp_path, cls=PixelRidge, **params):
    X = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), np.uint8)
    path = tmp_path / "good.npz"
    cls(**params).fit(X, X).save(path)
    return path


def _rewrite(source, target, replace: dict[str, bytes], compression=zipfile.ZIP_STORED):
    """Copy a model archive, replacing the raw bytes of some members."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", compression) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info)))
    return target


def _npy(header: str, data: bytes = b"", version: int = 1) -> bytes:
    text = header.encode("latin-1")
    size = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text + data


def test_good_model_still_loads(tmp_path):
    model = load(_fitted(tmp_path))
    assert model.coef_.shape == (8, 8, 1)


def test_npy_declaring_64_gb_is_refused_before_allocation(tmp_path, memory_cap):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4096, 4096, 1024), }\n"
    path = _rewrite(_fitted(tmp_path), tmp_path / "huge.npz", {"coef_.npy": _npy(header)})
    with pytest.raises(ModelFileError, match=r"huge\.npz"):
        load(path)


def test_shape_outside_the_family_is_refused_before_reading(tmp_path):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 8, 2), }\n"
    data = np.zeros((8, 8, 2), np.float32).tobytes()
    path = _rewrite(_fitted(tmp_path), tmp_path / "shape.npz", {"coef_.npy": _npy(header, data)})
    with pytest.raises(ModelFileError, match="coef_ has shape"):
        load(path)


@pytest.mark.parametrize("depth", [1000, 30000])
def test_deeply_nested_npy_header_is_refused(tmp_path, depth):
    nested = "[" * depth + "]" * depth
    header = "{'descr': " + nested + ", 'fortran_order': False, 'shape': (1,)}"
    raw = _npy(header, version=2)
    path = _rewrite(_fitted(tmp_path), tmp_path / "nested.npz", {"coef_.npy": raw})
    with pytest.raises(ModelFileError, match=r"malformed|oversized"):
        load(path)


def test_corrupt_npy_header_is_refused(tmp_path):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 8, \"\"\" }\n"
    path = _rewrite(_fitted(tmp_path), tmp_path / "token.npz", {"coef_.npy": _npy(header)})
    with pytest.raises(ModelFileError, match="malformed"):
        load(path)


def test_deeply_nested_json_header_is_refused(tmp_path):
    text = ("[" * 100_000 + "]" * 100_000).encode()
    raw = _npy(f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({len(text)},), }}\n", text)
    path = _rewrite(_fitted(tmp_path), tmp_path / "json.npz", {"header.npy": raw})
    with pytest.raises(ModelFileError, match="not JSON"):
        load(path)


def test_zip_bomb_is_refused_from_declared_sizes(tmp_path, memory_cap):
    # A member that inflates to 1.2 GB from about 1 MB: refused from the directory's sizes.
    path = tmp_path / "bomb.npz"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (300000000,), }\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("coef_.npy", "w", force_zip64=True) as member:
            member.write(_npy(header))
            block = bytes(1 << 24)
            for _ in range(1_200_000_000 // len(block) + 1):
                member.write(block)
        archive.writestr("header.npy", zipfile.ZipFile(_fitted(tmp_path)).read("header.npy"))
    assert path.stat().st_size < 10_000_000
    with pytest.raises(ModelFileError, match="over the limit"):
        load(path)


def test_member_inflating_past_its_declared_size_is_refused(tmp_path):
    good = _fitted(tmp_path)
    size = len(zipfile.ZipFile(good).read("coef_.npy"))
    path = _rewrite(good, tmp_path / "lying.npz", {}, zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    # Halve coef_.npy's size in the central directory; its data still inflates to the full size.
    entry = data.find(b"PK\x01\x02")
    while data[entry + 46 : entry + 55] != b"coef_.npy":
        entry = data.find(b"PK\x01\x02", entry + 4)
    assert struct.unpack_from("<I", data, entry + 24)[0] == size
    struct.pack_into("<I", data, entry + 24, size // 2)
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        load(path)


def test_fifo_named_like_a_model_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "x.npz"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def attempt():
        try:
            load(fifo)
            outcome.append(None)
        except BaseException as error:  # recorded for the assertion
            outcome.append(error)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout=5)
    if thread.is_alive():  # unblock the reader before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("loading a FIFO hung")
    assert isinstance(outcome[0], ModelFileError) and "regular file" in str(outcome[0])


@pytest.mark.parametrize("sigma", [1e-300, 1e-30, 1e300])
def test_sigma_out_of_range_is_refused_at_fit(sigma):
    X = np.zeros((2, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="sigma must be between"):
        PixelKernelRidge(sigma=sigma).fit(X, X)


@pytest.mark.parametrize("sigma", [1e-300, 1e-30])
def test_sigma_out_of_range_is_refused_at_load(tmp_path, sigma):
    good = _fitted(tmp_path, PixelKernelRidge, sigma=0.5)
    with zipfile.ZipFile(good) as archive:
        raw = archive.read("header.npy")
    text = raw[raw.index(b"{", 10) :].split(b"\n", 1)[1]
    text = text.replace(b'"sigma": 0.5', f'"sigma": {sigma!r}'.encode())
    header = _npy(f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({len(text)},), }}\n", text)
    path = _rewrite(good, tmp_path / "sigma.npz", {"header.npy": header})
    with pytest.raises(ModelFileError, match="sigma"):
        load(path)


def test_predict_never_returns_nan_pixels():
    X = np.random.default_rng(1).integers(0, 256, (3, 4, 4), np.uint8)
    model = PixelRidge().fit(X, X)
    model.coef_ = np.full_like(model.coef_, np.inf)
    with pytest.raises(ValueError, match="non-finite"):
        model.predict(X)
