"""The web app's HTTP API, against a real uvicorn server on loopback, with a fake editor."""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

NO_EXTRA = "the web app's extra is not installed: pip install -e '.[app]'"
pytest.importorskip("starlette", reason=NO_EXTRA)
pytest.importorskip("uvicorn", reason=NO_EXTRA)

from PIL import Image  # noqa: E402

from pixelfes.app import create_app  # noqa: E402
from pixelfes.app.server import BackgroundServer  # noqa: E402
from pixelfes.exceptions import NoFaceError  # noqa: E402


def fake_edit(image: np.ndarray, to: str = "happy", intensity: float = 1.0, **_: object):
    """Stand-in editor: an image with no vertical variation (flat, or a horizontal gradient)
    has no face; otherwise the central box is darkened."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
        raise TypeError("the editor must receive an (H, W, 3) uint8 array")
    if (image == image[:1]).all():
        raise NoFaceError("no face")
    height, width = image.shape[:2]
    box = (width // 4, height // 4, 3 * width // 4, 3 * height // 4)
    out = image.copy()
    region = out[box[1] : box[3], box[0] : box[2]].astype(np.float32)
    out[box[1] : box[3], box[0] : box[2]] = (region * (1 - 0.3 * intensity)).astype(np.uint8)
    return SimpleNamespace(image=out, faces=[box])


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def textured(height: int = 96, width: int = 128) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def post(url: str, data: bytes | Iterator[bytes], headers: dict[str, str] | None = None):
    """POST and return (status, headers, body) whatever the status."""
    headers = {"Content-Type": "application/octet-stream", **(headers or {})}
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def error_message(body: bytes) -> str:
    return json.loads(body)["error"]


@pytest.fixture
def server():
    with BackgroundServer(create_app(fake_edit)) as running:
        yield running


def test_page_and_static_files_are_served_with_a_strict_policy(server):
    with urllib.request.urlopen(server.url + "/", timeout=10) as response:
        html = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "/static/app.js" in html
    assert "http://" not in html and "https://" not in html, "the page must load nothing remote"
    for name in ("app.js", "app.css", "favicon.svg"):
        with urllib.request.urlopen(f"{server.url}/static/{name}", timeout=10) as response:
            assert response.status == 200
            assert b"https://" not in response.read()


def test_config_lists_expressions_and_limits(server):
    with urllib.request.urlopen(server.url + "/api/config", timeout=10) as response:
        config = json.loads(response.read())
    assert config["default_expression"] == "happy"
    assert "neutral" not in config["expressions"]
    assert config["intensity"] == {"min": 0.0, "max": 1.5, "default": 1.0}
    assert config["max_upload_bytes"] == 20 * 1024 * 1024


def test_upload_returns_png_of_the_same_size_with_faces(server):
    image = textured()
    status, headers, body = post(
        server.url + "/api/edit?to=happy&intensity=1.0",
        png_bytes(image),
        {"Content-Type": "image/png"},
    )
    assert status == 200, body
    assert headers["Content-Type"] == "image/png"
    assert headers["X-Pixelfes-Faces"] == "1"
    ((x0, y0, x1, y1),) = json.loads(headers["X-Pixelfes-Boxes"])
    result = np.asarray(Image.open(io.BytesIO(body)))
    assert result.shape == image.shape and result.dtype == np.uint8
    assert not np.array_equal(result[y0:y1, x0:x1], image[y0:y1, x0:x1])
    outside = np.ones(image.shape[:2], dtype=bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(result[outside], image[outside])


def test_intensity_defaults_to_one_and_reaches_the_editor():
    seen = []

    def recording(image, to="happy", intensity=1.0, **_):
        seen.append((to, intensity))
        return fake_edit(image, to, intensity)

    with BackgroundServer(create_app(recording)) as running:
        assert post(running.url + "/api/edit?to=sad", png_bytes(textured()))[0] == 200
        url = running.url + "/api/edit?to=fear&intensity=0.25"
        assert post(url, png_bytes(textured()))[0] == 200
    assert seen == [("sad", 1.0), ("fear", 0.25)]


def test_no_face_gives_a_plain_message(server):
    flat = np.full((64, 64, 3), 128, dtype=np.uint8)
    status, _, body = post(server.url + "/api/edit?to=happy", png_bytes(flat))
    assert status == 422
    assert "No face was found" in error_message(body)


@pytest.mark.parametrize("payload", [b"this is not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_not_an_image_gives_a_plain_message(server, payload):
    status, _, body = post(server.url + "/api/edit?to=happy", payload)
    assert status == 400
    assert "not an image" in error_message(body)


def test_empty_upload_is_refused(server):
    status, _, body = post(server.url + "/api/edit?to=happy", b"")
    assert status == 400
    assert "No file" in error_message(body)


@pytest.mark.parametrize("value", ["1.6", "-0.1", "abc", "nan", "inf"])
def test_bad_intensity_is_refused(server, value):
    status, _, body = post(f"{server.url}/api/edit?to=happy&intensity={value}", b"x")
    assert status == 400
    assert "intensity" in error_message(body)


def test_unknown_expression_is_refused(server):
    status, _, body = post(server.url + "/api/edit?to=../../etc/passwd", png_bytes(textured()))
    assert status == 400
    assert "unknown expression" in error_message(body)


def test_too_large_upload_is_refused_from_its_declared_length():
    calls = []
    app = create_app(lambda *a, **k: calls.append(1), max_upload_bytes=1000)
    with BackgroundServer(app) as running:
        status, _, body = post(running.url + "/api/edit?to=happy", b"\0" * 5000)
    assert status == 413
    assert "too large" in error_message(body) and "MB" in error_message(body)
    assert calls == []


def test_too_large_upload_is_refused_while_streaming():
    """Without a Content-Length (chunked upload) the body is counted as it arrives."""
    received = []

    def chunks():
        for _ in range(3):
            received.append(1)
            yield b"\0" * 800

    app = create_app(fake_edit, max_upload_bytes=1000)
    with BackgroundServer(app) as running:
        status, _, body = post(running.url + "/api/edit?to=happy", chunks())
    assert status == 413
    assert "too large" in error_message(body)


def test_too_many_pixels_is_refused():
    app = create_app(fake_edit, max_pixels=50 * 50)
    with BackgroundServer(app) as running:
        status, _, body = post(running.url + "/api/edit?to=happy", png_bytes(textured(60, 60)))
        ok = post(running.url + "/api/edit?to=happy", png_bytes(textured(50, 50)))[0]
    assert status == 413
    assert "too many pixels" in error_message(body)
    assert ok == 200


def test_concurrent_edits_are_bounded_and_excess_gets_503():
    entered, release = threading.Event(), threading.Event()

    def slow(image, to="happy", intensity=1.0, **_):
        entered.set()
        assert release.wait(20)
        return fake_edit(image, to, intensity)

    with BackgroundServer(create_app(slow, max_concurrent=1)) as running:
        url = running.url + "/api/edit?to=happy"
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(post, url, png_bytes(textured()))
            assert entered.wait(20)
            status, headers, body = post(url, png_bytes(textured()))
            release.set()
            assert first.result(timeout=20)[0] == 200
        assert status == 503
        assert headers["Retry-After"]
        assert "busy" in error_message(body)
        assert post(url, png_bytes(textured()))[0] == 200, "the slot must be given back"


def test_editor_errors_do_not_leak_the_slot():
    def broken(image, **_):
        raise RuntimeError("boom")

    with BackgroundServer(create_app(broken, max_concurrent=1)) as running:
        for _ in range(3):
            status, _, body = post(running.url + "/api/edit?to=happy", png_bytes(textured()))
            assert status == 500
            assert "internal error" in error_message(body)


def test_foreign_host_header_is_refused(server):
    request = urllib.request.Request(server.url + "/", headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 400


def test_expressions_are_listed_in_a_familiar_order():
    app = create_app(fake_edit, expressions=lambda: ["neutral", "anger", "zany", "happy"])
    with BackgroundServer(app) as running:
        with urllib.request.urlopen(running.url + "/api/config", timeout=10) as response:
            offered = json.loads(response.read())["expressions"]
    assert offered == ["happy", "anger", "neutral", "zany"]


def test_serve_runs_from_the_command_line_on_loopback():
    """``python -m pixelfes.app`` goes through ``serve`` and answers on 127.0.0.1."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "pixelfes.app", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    assert b"/static/app.js" in response.read()
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    assert f"http://127.0.0.1:{port}/" in output


def test_create_app_rejects_zero_concurrency():
    with pytest.raises(ValueError, match="max_concurrent"):
        create_app(fake_edit, max_concurrent=0)


def test_default_editor_is_the_real_one_when_available():
    editing = pytest.importorskip("pixelfes.editing", reason="pixelfes.editing not available")
    with BackgroundServer(create_app()) as running:
        with urllib.request.urlopen(running.url + "/api/config", timeout=30) as response:
            config = json.loads(response.read())
    assert sorted(config["expressions"]) == sorted(editing.available_expressions())


def test_faces_endpoint_and_face_choice_reach_the_editor():
    seen = {}

    def editor(image, to="happy", intensity=1.0, **choice):
        seen.update(choice)
        if choice.get("face", 0) > 0:
            raise NoFaceError("there is no face 3: 1 found (indices 0 to 0)")
        return fake_edit(image, to, intensity)

    def finder(image):
        return [{"index": 0, "box": [1, 2, 3, 4], "score": 0.9}]

    body = png_bytes(textured())
    with BackgroundServer(create_app(editor, finder=finder)) as running:
        status, _, found = post(running.url + "/api/faces", body)
        assert status == 200
        assert json.loads(found) == {"width": 128, "height": 96, "faces": finder(None)}
        assert post(running.url + "/api/faces", b"not an image")[0] == 400
        query = "/api/edit?to=happy&face=0&regions=mouth=1.2,eyes=0"
        assert post(running.url + query, body)[0] == 200
        assert seen == {"face": 0, "regions": {"mouth": 1.2, "eyes": 0.0}}
        status, _, missing = post(running.url + "/api/edit?to=happy&face=3", body)
        assert status == 422 and "no face 3" in error_message(missing)
        for bad in ["face=-1", "face=x", "regions=nose=1", "regions=mouth=2"]:
            assert post(f"{running.url}/api/edit?to=happy&{bad}", body)[0] == 400, bad
        foreign = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
        assert post(running.url + "/api/faces", body, foreign)[0] == 403
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert post(running.url + "/api/faces", body, form)[0] == 415


def test_a_flow_model_edits_through_the_app():
    """A model file of any per-pixel family, flow included, serves through the real editor."""
    from functools import partial
    from importlib import resources

    from pixelfes.editing import edit_image
    from pixelfes.imageio import read_image
    from pixelfes.models import FlowPixelRidge

    rng = np.random.default_rng(0)
    X = rng.integers(0, 216, (24, 32, 32, 3), dtype=np.uint8)
    model = FlowPixelRidge(alpha=0.01, radius=2).fit(X, np.roll(X, 1, axis=1) + np.uint8(40))
    portrait = read_image(resources.files("pixelfes").joinpath("assets", "astronaut.jpg"))
    with BackgroundServer(create_app(partial(edit_image, model=model))) as running:
        url = running.url + "/api/edit?to=happy&intensity=0.8"
        status, headers, body = post(url, png_bytes(portrait))
    assert status == 200, body
    ((x0, y0, x1, y1),) = json.loads(headers["X-Pixelfes-Boxes"])
    result = np.asarray(Image.open(io.BytesIO(body)))
    change = result[y0:y1, x0:x1].astype(int) - portrait[y0:y1, x0:x1]
    assert change.mean() > 5  # brighter, as the model learned
