"""Findings of the hostile-input campaign on the web app, each as a regression test."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from hostile.make import ico_holding, png_bytes
from hostile.webclient import error_message, png, post, slow_post
from pixelfes.app.server import BackgroundServer, create_app

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))


def fake_edit(image, to="happy", intensity=1.0, **_):
    from types import SimpleNamespace

    return SimpleNamespace(image=image, faces=[(0, 0, 1, 1)])


@pytest.fixture(scope="module")
def real_server():
    with BackgroundServer(create_app()) as running:
        yield running


def test_thin_image_upload_is_refused_with_bounded_memory(real_server, memory_cap):
    status, _, body = post(real_server.url, png_bytes(40000, 4))
    assert status == 422 and "too thin" in error_message(body)


def test_tiny_upload_of_a_huge_image_is_refused_before_decoding(real_server, memory_cap):
    data = png_bytes(10000, 10000)
    assert len(data) < 200_000
    status, _, body = post(real_server.url, data)
    assert status == 413 and "too many pixels" in error_message(body)


def test_tiny_upload_of_an_image_just_under_the_limit_stays_within_memory(real_server, memory_cap):
    # 23 MP of black in a 25 KB PNG: decoded and searched for faces within the 2 GiB cap.
    data = png_bytes(4800, 4800)
    assert len(data) < 100_000
    status, _, body = post(real_server.url, data)
    assert status == 422 and "No face" in error_message(body)


def test_ico_upload_is_not_decoded(real_server, memory_cap):
    status, _, _ = post(real_server.url, ico_holding(png_bytes(10000, 10000)))
    assert status == 400


def test_real_edit_still_answers(real_server):
    status, headers, body = post(real_server.url, PORTRAIT.read_bytes(), query="to=sad")
    assert status == 200 and headers["x-pixelfes-faces"] == "1" and body[:4] == b"\x89PNG"


def test_slow_uploads_do_not_take_edit_slots():
    # Two slowloris clients used to hold both edit slots: the upload is now read first.
    entered = threading.Event()

    def editor(image, **kwargs):
        entered.set()
        return fake_edit(image, **kwargs)

    app = create_app(editor, max_concurrent=1, read_timeout=6.0)
    with BackgroundServer(app) as running, ThreadPoolExecutor(2) as pool:
        slow = [pool.submit(slow_post, running.url, b"x" * 1000, pause=0.05) for _ in range(2)]
        time.sleep(0.3)
        status, _, _ = post(running.url, png(np.zeros((8, 8, 3), np.uint8)))
        # Served while both slow uploads are still being read (they end in 408 later).
        assert status == 200 and not any(future.done() for future in slow)
        assert [future.result(timeout=60) for future in slow] == [408, 408]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_cross_site_requests_are_refused(headers):
    calls = []
    app = create_app(lambda image, **k: calls.append(1) or fake_edit(image))
    with BackgroundServer(app) as running:
        status, _, body = post(running.url, png(np.zeros((8, 8, 3), np.uint8)), headers=headers)
    assert status == 403 and "Cross-site" in error_message(body)
    assert calls == []


@pytest.mark.parametrize(
    "kind",
    ["text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", ""],
)
def test_form_encodings_are_refused(kind):
    with BackgroundServer(create_app(fake_edit)) as running:
        status, _, _ = post(
            running.url, png(np.zeros((8, 8, 3), np.uint8)), headers={"Content-Type": kind}
        )
    assert status == 415


def test_same_origin_request_is_served():
    with BackgroundServer(create_app(fake_edit)) as running:
        host = running.url.split("//")[1]
        headers = {
            "Origin": running.url,
            "Sec-Fetch-Site": "same-origin",
            "Content-Type": "image/png",
        }
        assert host in running.url
        status, _, _ = post(running.url, png(np.zeros((8, 8, 3), np.uint8)), headers=headers)
    assert status == 200


@pytest.mark.parametrize("size", [1_500_000, 5_000_000])
def test_over_limit_upload_gets_413_not_a_reset(size):
    app = create_app(fake_edit, max_upload_bytes=1_000_000)
    with BackgroundServer(app) as running:
        status, _, body = post(running.url, b"\0" * size)
    assert status == 413 and "too large" in error_message(body)


def test_refusal_before_reading_a_large_body_is_readable_not_a_reset():
    with BackgroundServer(create_app(fake_edit)) as running:
        body = b"\0" * 5_000_000
        status, _, _ = post(running.url, body, headers={"Origin": "http://attacker.example"})
        assert status == 403
        assert post(running.url, body, headers={"Content-Type": "text/plain"})[0] == 415
