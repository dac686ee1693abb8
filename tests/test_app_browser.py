"""The web app in a real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Run ``scripts/install_browser_test_deps.sh`` first; without Chromium or Playwright these tests
skip with the reason. Set ``PIXELFES_APP_SCREENSHOT=path.png`` to save the page with a result.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_EXTRA = "the web app's extra is not installed: pip install -e '.[app]'"

pytest.importorskip("starlette", reason=NO_EXTRA)
pytest.importorskip("uvicorn", reason=NO_EXTRA)
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed: run scripts/install_browser_test_deps.sh",
)
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is absent: run scripts/install_browser_test_deps.sh", allow_module_level=True
    )

from PIL import Image  # noqa: E402

from pixelfes.app import create_app  # noqa: E402
from pixelfes.app.server import BackgroundServer  # noqa: E402
from pixelfes.imageio import read_image  # noqa: E402
from test_app import fake_edit  # noqa: E402


def portrait_path() -> Path:
    """The astronaut portrait: the shared data's PNG if present, else the bundled JPEG."""
    from pixelfes.config import data_root

    root = data_root()
    shared = root / "wild" / "astronaut.png" if root is not None else None
    if shared is not None and shared.is_file():
        return shared
    bundled = Path(__file__).resolve().parents[1] / "src" / "pixelfes" / "assets" / "astronaut.jpg"
    if not bundled.is_file():
        pytest.skip("no astronaut portrait: neither shared data nor the bundled asset")
    return bundled


def decode(data: bytes) -> np.ndarray:
    """Decode the way the server does, so pixels can be compared exactly."""
    return read_image(data)


def real_app():
    """The app exactly as ``pixelfes serve`` builds it (the real editor, imported lazily)."""
    try:
        import pixelfes.faces  # noqa: F401  (the editor imports it on first use)
        from pixelfes.editing import available_expressions
    except ImportError as error:
        pytest.skip(f"pixelfes.editing not available ({error})")
    if "happy" not in available_expressions():
        pytest.skip("pixelfes.editing not available: no bundled 'happy' model yet")
    return create_app()


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


class PageProblems:
    """Console errors and uncaught page errors, with the expected failed requests allowed."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.allowed_statuses: set[int] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def _console(self, message) -> None:
        if message.type != "error":
            return
        text = message.text
        for status in self.allowed_statuses:
            if f"status of {status}" in text and "Failed to load resource" in text:
                return
        self.errors.append(f"console error: {text}")


def shown_image_bytes(page, selector: str) -> bytes:
    encoded = page.evaluate(
        """async (selector) => {
            const response = await fetch(document.querySelector(selector).src);
            const bytes = new Uint8Array(await response.arrayBuffer());
            let text = "";
            for (let i = 0; i < bytes.length; i += 0x8000) {
                text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
            }
            return btoa(text);
        }""",
        selector,
    )
    return base64.b64decode(encoded)


def assert_edited_inside_faces_only(result: np.ndarray, source: np.ndarray, boxes) -> None:
    assert result.shape == source.shape and result.dtype == np.uint8
    assert boxes, "at least one face must be reported"
    outside = np.ones(source.shape[:2], dtype=bool)
    changed_inside = False
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= source.shape[1] and 0 <= y0 < y1 <= source.shape[0]
        outside[y0:y1, x0:x1] = False
        changed_inside |= not np.array_equal(result[y0:y1, x0:x1], source[y0:y1, x0:x1])
    assert changed_inside, "the face must change"
    differing = int((result[outside] != source[outside]).any(axis=-1).sum())
    assert differing == 0, f"{differing} pixels outside the face boxes changed"


def run_page(browser, app, tmp_path: Path, screenshot: str | None = None) -> None:
    """Drive the page through a result and two errors."""
    portrait = portrait_path()
    source = decode(portrait.read_bytes())
    flat = np.tile(np.linspace(40, 220, 320, dtype=np.uint8)[None, :, None], (240, 1, 3))
    no_face = tmp_path / "gradient.png"
    Image.fromarray(flat).save(no_face)
    not_image = tmp_path / "notes.png"
    not_image.write_bytes(b"these are words, not pixels")

    with BackgroundServer(app) as server:
        context = browser.new_context(
            viewport={"width": 1280, "height": 660}, accept_downloads=True
        )
        page = context.new_page()
        problems = PageProblems(page)
        foreign = []
        page.on(
            "request",
            lambda request: None
            if request.url.startswith((server.url + "/", "blob:", "data:"))
            else foreign.append(request.url),
        )
        page.goto(server.url + "/")
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)

        # 1. The portrait, "happy": before and after side by side, then download.
        page.set_input_files("#file", str(portrait))
        page.locator("#expressions label", has_text="happy").click()
        assert page.is_checked("input[name=expression][value=happy]")
        assert page.input_value("#intensity") == "1"
        page.click("#apply")
        page.wait_for_selector("#after:not([hidden]), #error:not([hidden])", timeout=120_000)
        assert page.is_hidden("#error"), page.text_content("#error")
        sync_api.expect(page.locator("#status")).to_contain_text("edited", timeout=30_000)
        status = page.text_content("#status")
        assert "edited" in status and "happy" in status
        assert page.is_hidden("#error")
        boxes = json.loads(page.get_attribute("#after", "data-faces"))
        assert status.startswith(f"{len(boxes)} face")
        size = page.evaluate(
            "[document.querySelector('#after').naturalWidth,"
            " document.querySelector('#after').naturalHeight]"
        )
        assert size == [source.shape[1], source.shape[0]]

        shown = shown_image_bytes(page, "#after")
        assert_edited_inside_faces_only(decode(shown), source, boxes)
        with page.expect_download() as download_info:
            page.click("#download")
        download = download_info.value
        assert download.suggested_filename == f"{portrait.stem}_happy.png"
        downloaded = Path(download.path()).read_bytes()
        assert downloaded[:8] == b"\x89PNG\r\n\x1a\n"
        assert downloaded == shown
        if screenshot:
            page.mouse.move(0, 0)
            page.screenshot(path=screenshot, full_page=True)

        # 2. A photo without a face: a plain message, no result.
        problems.allowed_statuses = {422}
        page.set_input_files("#file", str(no_face))
        page.click("#apply")
        page.wait_for_selector("#error:not([hidden])", timeout=60_000)
        assert "No face was found" in page.text_content("#error")
        assert page.is_hidden("#after") and page.is_hidden("#download")

        # 3. A file that is not an image.
        problems.allowed_statuses = {400}
        page.set_input_files("#file", str(not_image))
        assert page.is_hidden("#error")
        page.click("#apply")
        sync_api.expect(page.locator("#error")).to_contain_text("not an image", timeout=30_000)
        context.close()
    assert problems.errors == []
    assert foreign == [], "the page must work offline: it asked for other origins"


def test_page_with_fake_editor(browser, tmp_path):
    run_page(browser, create_app(fake_edit), tmp_path)


def test_page_with_real_editor(browser, tmp_path):
    run_page(browser, real_app(), tmp_path, os.environ.get("PIXELFES_APP_SCREENSHOT"))


def test_webcam_capture_with_a_fake_camera(playwright):
    """Chromium's fake camera stands in for a webcam: capture a frame, then edit it."""
    fake_camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    with BackgroundServer(create_app(fake_edit)) as server:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS + fake_camera
        )
        page = browser.new_page()
        problems = PageProblems(page)
        page.goto(server.url + "/")
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.click("#camera-start")
        page.wait_for_selector("#camera:not([hidden])", timeout=30_000)
        for _ in range(300):  # wait_for_function would need 'unsafe-eval', which the CSP forbids
            if page.evaluate("() => document.querySelector('#camera-video').videoWidth") > 0:
                break
            page.wait_for_timeout(100)
        page.click("#camera-capture")
        page.wait_for_selector("#before:not([hidden])", timeout=30_000)
        assert page.is_hidden("#camera")
        assert "webcam.png" in page.text_content("#dz-name")
        page.click("#apply")
        page.wait_for_selector("#after:not([hidden]), #error:not([hidden])", timeout=60_000)
        assert page.is_hidden("#error"), page.text_content("#error")
        shown = decode(shown_image_bytes(page, "#after"))
        captured = decode(shown_image_bytes(page, "#before"))
        boxes = json.loads(page.get_attribute("#after", "data-faces"))
        assert_edited_inside_faces_only(shown, captured, boxes)
        browser.close()
    assert problems.errors == []


def test_pick_the_second_face_and_dose_a_region(browser, tmp_path):
    """Two faces: click the second in the photo, lower the mouth slider; only it changes."""
    from pixelfes.editing import edit_image

    portrait = decode(portrait_path().read_bytes())
    other = (portrait[:, ::-1].astype(np.float32) * 0.8).astype(np.uint8)
    pair = np.ascontiguousarray(np.hstack([portrait, other]))
    photo = tmp_path / "pair.png"
    Image.fromarray(pair).save(photo)
    with BackgroundServer(real_app()) as server:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems = PageProblems(page)
        page.goto(server.url + "/")
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.set_input_files("#file", str(photo))
        sync_api.expect(page.locator(".face-pick")).to_have_count(2, timeout=60_000)
        page.click(".face-pick[data-index='1']")
        sync_api.expect(page.locator(".face-pick.selected")).to_have_attribute("data-index", "1")
        assert "Face 1 only" in page.text_content("#face-choice")
        page.locator("#region-mouth").fill("0.4")
        assert page.input_value("#region-mouth") == "0.4"
        page.click("#apply")
        page.wait_for_selector("#after:not([hidden]), #error:not([hidden])", timeout=120_000)
        assert page.is_hidden("#error"), page.text_content("#error")
        sync_api.expect(page.locator("#status")).to_contain_text("mouth=0.4", timeout=30_000)
        shown = decode(shown_image_bytes(page, "#after"))
        half = pair.shape[1] // 2
        assert np.array_equal(shown[:, :half], pair[:, :half]), "the first face must not change"
        assert not np.array_equal(shown[:, half:], pair[:, half:]), "the second face must change"
        expected = edit_image(pair, "happy", face=1, regions={"mouth": 0.4}).image
        assert np.array_equal(shown, expected)
        page.click("#after-frame")  # full size, scrollable
        assert "actual" in page.get_attribute("#after-frame", "class")
        page.close()
    assert problems.errors == []
