"""Findings of the hostile-input campaign on images, each as a regression test."""

from __future__ import annotations

import os

import numpy as np
import pytest

from hostile.make import ico_holding, png_bytes, png_declaring, png_with_chunk
from pixelfes.atomic import TEMP_PREFIX, atomic_path
from pixelfes.exceptions import ImageError, ImageTooLargeError
from pixelfes.faces.detectors import YuNetDetector
from pixelfes.imageio import read_image, write_image


@pytest.mark.parametrize("shape", [(4, 40000), (40000, 4), (3, 300), (2000, 30)])
def test_thin_image_is_refused_clearly_with_bounded_work(shape):
    from pixelfes.editing import edit_image

    image = read_image(png_bytes(shape[1], shape[0]))
    with pytest.raises(ImageError, match="too thin to hold a face"):
        edit_image(image)


def test_detector_pads_the_shrunk_image_not_the_full_one():
    # Detectors are public: a thin image there must cost no more than the detector input.
    detector = YuNetDetector(max_side=320)
    assert detector.detect(np.zeros((4, 40000, 3), np.uint8)) == []
    assert detector.detect(np.zeros((40000, 4), np.uint8)) == []


def test_ico_is_not_decoded_before_the_size_check():
    # Pillow decodes ICO frames inside Image.open: a 2 KB file held a 100 MP frame.
    data = ico_holding(png_bytes(10000, 10000))
    assert len(data) < 200_000
    with pytest.raises(ImageError, match="supported format"):
        read_image(data, max_pixels=1000)


@pytest.mark.parametrize("side", [8_000, 100_000])
def test_declared_size_is_checked_before_decoding(side):
    with pytest.raises(ImageTooLargeError, match="limit"):
        read_image(png_declaring(side, side))


def test_huge_ztxt_chunk_is_an_image_error():
    import zlib

    data = png_with_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"a" * 20_000_000))
    with pytest.raises(ImageError, match="too large"):
        read_image(data)


def test_output_name_longer_than_the_file_system_allows(tmp_path):
    target = tmp_path / ("x" * 300 + ".png")
    with pytest.raises(OSError, match="allows 255"):
        write_image(target, np.zeros((4, 4, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_long_legal_output_name_is_written(tmp_path):
    # The temporary file's name used to be longer than the output's: 240 characters failed.
    target = tmp_path / ("y" * 251 + ".png")
    write_image(target, np.zeros((4, 4, 3), np.uint8))
    assert read_image(target).shape == (4, 4, 3)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_temporary_names_carry_no_image_suffix(tmp_path):
    with atomic_path(tmp_path / "photo.jpg") as tmp:
        assert tmp.name.startswith(TEMP_PREFIX)
        assert tmp.suffix == ".tmp" and len(tmp.name) < 32


def test_exif_and_icc_survive_a_write(tmp_path):
    from PIL import Image

    from pixelfes.imageio import read_metadata

    source = tmp_path / "in.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Maker"
    icc = b"fake-icc-profile" * 4
    Image.new("RGB", (8, 4)).save(source, exif=exif.tobytes(), icc_profile=icc)
    metadata = read_metadata(source)
    write_image(tmp_path / "out.jpg", read_image(source), metadata=metadata)
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.info["icc_profile"] == icc
        assert out.getexif()[0x010F] == "Maker"
        assert out.getexif()[0x0112] == 1  # pixels are written upright
        assert out.size == (4, 8)


def test_read_image_of_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="no such file"):
        read_image(fifo)
