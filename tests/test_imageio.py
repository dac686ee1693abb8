"""read_image / write_image on awkward inputs (all generated here; no shared data needed)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from pixelfes.exceptions import ImageError, ImageTooLargeError
from pixelfes.imageio import read_image, write_image


def _png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def test_rgb_png_round_trip(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    p = write_image(tmp_path / "a.png", arr)
    out = read_image(p)
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    np.testing.assert_array_equal(out, arr)
    np.testing.assert_array_equal(read_image(p.read_bytes()), arr)


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = (255, 0, 0)  # left half red
    im = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored image must be rotated 90 degrees clockwise to display
    p = tmp_path / "rot.jpg"
    im.save(p, exif=exif.tobytes(), quality=95)
    out = read_image(p)
    assert out.shape == (40, 20, 3)
    # After a clockwise rotation the former left half is on top.
    assert out[5, 10, 0] > 200 and out[35, 10, 0] < 50


def test_grayscale_becomes_three_equal_channels():
    g = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = read_image(_png_bytes(Image.fromarray(g)))
    assert out.shape == (16, 16, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], g)


def test_rgba_is_composited_on_white():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[0, 0, 3] = 0  # fully transparent -> white
    rgba[1, 1, 3] = 255  # opaque -> its colour
    rgba[2, 2, 3] = 128
    out = read_image(_png_bytes(Image.fromarray(rgba)))
    assert tuple(out[0, 0]) == (255, 255, 255)
    assert tuple(out[1, 1]) == (200, 0, 0)
    assert 120 < out[2, 2, 1] < 135


def test_palette_image():
    im = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8)).convert("P")
    im.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    out = read_image(_png_bytes(im))
    assert tuple(out[0, 0]) == (10, 20, 30) and tuple(out[0, 1]) == (200, 100, 50)


def test_16bit_png_is_scaled_to_8bit():
    g16 = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    im = Image.fromarray(g16)
    data = _png_bytes(im)
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    out = read_image(data)
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 128, 255])


def test_cmyk_jpeg_is_converted(tmp_path):
    im = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    p = tmp_path / "cmyk.jpg"
    im.save(p, quality=95)
    assert Image.open(p).mode == "CMYK"
    out = read_image(p)
    assert out.shape == (16, 16, 3)
    r, g, b = out[8, 8].astype(int)
    assert r > 200 and g < 60 and b < 60


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (the pixel data is never needed)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding():
    # Over Pillow's own limit (its global is never changed): Pillow's header check names
    # the pixel count; below it, ours names the size (test_pixel_limit_is_configurable).
    with pytest.raises(ImageTooLargeError, match="10000000000 pixels"):
        read_image(_bomb_png(100_000, 100_000))
    with pytest.raises(ImageTooLargeError, match="8000x8000"):
        read_image(_bomb_png(8_000, 8_000), max_pixels=1_000_000)


def test_pixel_limit_is_configurable(tmp_path):
    p = write_image(tmp_path / "x.png", np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(ImageTooLargeError, match=r"x\.png"):
        read_image(p, max_pixels=9_999)
    assert read_image(p, max_pixels=10_000).shape == (100, 100, 3)


def test_not_an_image_names_the_file(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("hello, not a JPEG")
    with pytest.raises(ImageError, match=r"notes\.jpg"):
        read_image(p)
    with pytest.raises(ImageError, match=r"missing\.png"):
        read_image(tmp_path / "missing.png")


def test_truncated_image_raises_image_error(tmp_path):
    arr = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    p = write_image(tmp_path / "t.png", arr)
    cut = tmp_path / "cut.png"
    cut.write_bytes(p.read_bytes()[:200])
    with pytest.raises(ImageError, match=r"cut\.png"):
        read_image(cut)


def test_write_image_overwrite_guard_and_atomicity(tmp_path):
    p = tmp_path / "out.jpg"
    write_image(p, np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(FileExistsError):
        write_image(p, np.ones((8, 8, 3), np.uint8), overwrite=False)
    write_image(p, np.full((8, 8, 3), 255, np.uint8))
    assert read_image(p).min() > 250
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.jpg"]  # no temp files left


def test_write_image_failure_leaves_no_temp_file(tmp_path):
    with pytest.raises(ImageError):
        write_image(tmp_path / "bad.png", np.zeros((4, 4), np.float32))
    with pytest.raises(ImageError):
        write_image(tmp_path / "bad.unknownext", np.zeros((4, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []
