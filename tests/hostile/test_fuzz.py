"""Property-based fuzzing (Hypothesis) of image headers, model files and the app's form fields.

Every generated input must be answered by a result or by the project's own error, within
the memory cap of ``conftest.py``: never another exception, a hang, a NaN or a 500. The
example counts add up to 2,000 per run (derandomized, so CI is reproducible); set
``PIXELFES_FUZZ_EXAMPLES`` to a multiplier and ``PIXELFES_FUZZ_RANDOM=1`` to explore more.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from urllib.parse import urlencode

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from hostile.webclient import post
from pixelfes.app.server import BackgroundServer, create_app
from pixelfes.exceptions import ImageError, ModelFileError
from pixelfes.imageio import read_image
from pixelfes.models import PixelKernelRidge, PixelRidge, load

SCALE = float(os.environ.get("PIXELFES_FUZZ_EXAMPLES", "1"))
MAX_PIXELS = 1_000_000


def fuzz_settings(examples: int):
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        database=None,
        derandomize=os.environ.get("PIXELFES_FUZZ_RANDOM") != "1",
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def _seed_images() -> list[bytes]:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    seeds = []
    for fmt, image, options in [
        ("PNG", rgb, {}),
        ("PNG", rgb.convert("P"), {"transparency": 0}),
        ("PNG", rgb.convert("I;16"), {}),
        ("JPEG", rgb, {"quality": 80}),
        ("JPEG", rgb.convert("CMYK"), {}),
        ("BMP", rgb, {}),
        ("GIF", rgb.convert("P"), {}),
        ("TIFF", rgb, {}),
        ("TIFF", rgb, {"compression": "tiff_deflate"}),
        ("WEBP", rgb, {"quality": 80}),
        ("PPM", rgb, {}),
        ("ICO", rgb, {}),
    ]:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
        seeds.append(buffer.getvalue())
    return seeds


SEED_IMAGES = _seed_images()
BIG = st.sampled_from([0, 1, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF, 40000, 100000])


@st.composite
def mutated(draw, seeds: list[bytes], header_bytes: int = 96):
    """A seed file with a few header edits: bytes, 16/32-bit fields (often sizes), cuts."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["byte", "u16", "u32", "cut", "insert"]))
        at = draw(st.integers(0, max(0, min(len(data), header_bytes) - 1)))
        if edit == "byte" and data:
            data[at] = draw(st.integers(0, 255))
        elif edit in ("u16", "u32") and at + 4 <= len(data):
            order = draw(st.sampled_from("<>"))
            fmt = order + ("H" if edit == "u16" else "I")
            value = draw(BIG) & (0xFFFF if edit == "u16" else 0xFFFFFFFF)
            struct.pack_into(fmt, data, at, value)
        elif edit == "cut":
            data = data[: draw(st.integers(0, len(data)))]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@fuzz_settings(1000)
@given(mutated(SEED_IMAGES))
def test_fuzzed_image_headers_read_or_give_an_image_error(data):
    try:
        image = read_image(data, max_pixels=MAX_PIXELS)
    except ImageError:
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[0] * image.shape[1] <= MAX_PIXELS


def _seed_models() -> list[bytes]:
    import tempfile
    from pathlib import Path

    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (3, 6, 6, 3), dtype=np.uint8)
    T = rng.integers(0, 256, (3, 6, 6, 3), dtype=np.uint8)
    models = [PixelRidge().fit(X, T), PixelKernelRidge(sigma=0.3).fit(X, T)]
    models.append(models[0].to_lookup_table())
    seeds = []
    with tempfile.TemporaryDirectory() as folder:
        for model in models:
            path = Path(folder) / "seed.npz"
            model.save(path)
            seeds.append(path.read_bytes())
    return seeds


SEED_MODELS = _seed_models()


@st.composite
def fuzzed_npy_header(draw):
    """A .npy member with a hostile header: odd dtypes, huge or many dimensions, junk."""
    descr = draw(st.sampled_from(["<f4", "<f8", ">f4", "|u1", "|O", "<c16", "<U8", "V8"]))
    dims = draw(st.lists(st.sampled_from([0, 1, 6, 36, 256, 65536, 2**31, 2**40]), max_size=9))
    shape = "(" + "".join(f"{d}, " for d in dims) + ")"
    text = f"{{'descr': '{descr}', 'fortran_order': {draw(st.booleans())}, 'shape': {shape}, }}"
    text = draw(st.sampled_from([text, text[: len(text) // 2], "[" * 50 + text]))
    version = draw(st.sampled_from([1, 2, 3, 9]))
    size = struct.pack("<H" if version == 1 else "<I", len(text) + 1)
    body = draw(st.binary(max_size=64))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text.encode() + b"\n" + body


@st.composite
def hostile_model(draw):
    seed = draw(st.sampled_from(SEED_MODELS))
    if draw(st.booleans()):
        return draw(mutated([seed], header_bytes=len(seed)))
    with zipfile.ZipFile(io.BytesIO(seed)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    target = draw(st.sampled_from(sorted(members)))
    members[target] = draw(fuzzed_npy_header())
    out = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, raw in members.items():
            archive.writestr(name, raw)
    return out.getvalue()


@fuzz_settings(600)
@given(hostile_model())
def test_fuzzed_model_files_load_or_give_a_model_file_error(tmp_path, data):
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(data)
    try:
        model = load(path)
    except ModelFileError:
        return
    shape = model.image_shape_
    assert max(shape) <= 4096
    probe = np.zeros((1, *shape), np.uint8)
    try:
        predicted = model.predict(probe)
    except ValueError as error:
        assert "non-finite" in str(error)
        return
    assert np.isfinite(predicted).all()


@pytest.fixture(scope="module")
def form_server():
    from types import SimpleNamespace

    def editor(image, to="happy", intensity=1.0, **_):
        return SimpleNamespace(image=image, faces=[])

    with BackgroundServer(create_app(editor, max_upload_bytes=64_000, max_pixels=MAX_PIXELS)) as s:
        yield s


TEXT = st.text(max_size=12) | st.sampled_from(
    ["happy", "sad", "nan", "inf", "-0", "1e309", "0.5", "1.5", "1.50001", "../x", "\x00"]
)


@fuzz_settings(400)
@given(
    query=st.dictionaries(st.sampled_from(["to", "intensity", "x"]), TEXT, max_size=3),
    content_type=st.sampled_from(
        ["image/png", "application/octet-stream", "text/plain", "image/", "IMAGE/PNG; x=1", ""]
    ),
    extra=st.dictionaries(
        st.sampled_from(["Origin", "Sec-Fetch-Site", "Content-Encoding", "Transfer-Encoding"]),
        st.sampled_from(["same-origin", "cross-site", "none", "null", "gzip", "http://x"]),
        max_size=2,
    ),
    body=st.one_of(st.binary(max_size=256), mutated(SEED_IMAGES)),
)
def test_fuzzed_form_fields_never_give_a_server_error(
    form_server, query, content_type, extra, body
):
    headers = {"Content-Type": content_type, **extra}
    if headers.get("Transfer-Encoding") is not None:
        headers.pop("Transfer-Encoding")  # http.client frames the body itself
    status, _, _ = post(form_server.url, body, headers=headers, query=urlencode(query), timeout=30)
    assert status in (200, 400, 403, 408, 413, 415, 422, 503), status
