"""No state shared between callers: owned models, Pillow's global limit, the video detector."""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from pixelfes.editing import load_model


def test_two_load_model_calls_share_no_writeable_array() -> None:
    a, b = load_model("neutral-to-happy"), load_model("neutral-to-happy")
    assert a is not b
    for name in a._array_names:
        x, y = getattr(a, name), getattr(b, name)
        assert not (x.flags.writeable and np.shares_memory(x, y)), name
    crops = np.full((1, *a.image_shape_), 128, np.uint8)
    before = b.predict(crops)
    a.coef_ *= 0.0  # one caller changes its model in place...
    a.metadata_["note"] = "mine"
    c = load_model("neutral-to-happy")
    np.testing.assert_array_equal(b.predict(crops), before)  # ...no one else sees it
    np.testing.assert_array_equal(c.predict(crops), before)
    assert "note" not in c.metadata_


def test_read_image_leaves_pillows_global_limit_alone(tmp_path, monkeypatch) -> None:
    from pixelfes import imageio

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    limit = Image.MAX_IMAGE_PIXELS
    seen = []
    real_open = Image.open

    def recording_open(*args, **kwargs):
        seen.append(Image.MAX_IMAGE_PIXELS)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(imageio.Image, "open", recording_open)
    threads = [
        threading.Thread(target=imageio.read_image, args=(tmp_path / "a.png",)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [limit] * 4
    assert Image.MAX_IMAGE_PIXELS == limit


def test_a_bomb_over_pillows_limit_is_image_too_large(tmp_path, monkeypatch) -> None:
    import pytest

    from pixelfes.exceptions import ImageTooLargeError
    from pixelfes.imageio import read_image

    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "a.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1600 px > 2 x 100: Pillow refuses
    with pytest.raises(ImageTooLargeError, match="decompression-bomb"):
        read_image(tmp_path / "a.png", max_pixels=None)


def test_video_uses_the_pipelines_detector_choice(monkeypatch) -> None:
    import pixelfes.faces
    from pixelfes import video

    class Chosen:
        def __init__(self, *, max_side: int = 640) -> None:
            self.max_side = max_side

        def detect(self, image):
            return []

    monkeypatch.setattr(pixelfes.faces, "default_detector", lambda: Chosen())
    detector = video._video_detector()
    assert type(detector) is Chosen and detector.max_side == 320
