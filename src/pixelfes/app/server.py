"""The web app: one hand-made page and a small JSON/PNG API, served by Starlette + uvicorn.

Uploads are processed in memory only: the request body is read in chunks up to a byte limit
and a deadline, decoded with a pixel limit, edited, encoded as PNG and returned; nothing is
written to disk and no uploaded name is ever used as a path. An edit slot is taken only once
the whole upload is in, so slow clients cannot starve others; semaphores bound how many
uploads are read and how many edits run at once, and a request that finds every slot taken
is answered 503 at once instead of queueing. So the memory the app takes is bounded by
``max_uploads * max_upload_bytes + max_concurrent * (about 16 bytes * max_pixels)``.
Requests from other sites (``Origin``, ``Sec-Fetch-Site``) and bodies in a form encoding a
web page can send without a CORS preflight are refused. See docs/security.md.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import json
import logging
import math
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from pixelfes.exceptions import ImageError, ImageTooLargeError, NoFaceError
from pixelfes.expressions import EMOTIONS

try:  # Starlette and uvicorn come with the optional extra "app".
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the pixelfes web app needs its optional dependencies: pip install 'pixelfes[app]'"
    ) from error

from pixelfes.app.picker import Finder, faces_handler, parse_choice

log = logging.getLogger("pixelfes.app")

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Pixels per photo: an edit peaks at about 16 bytes per pixel (decoded photo, edited copy,
#: PNG encoding), so 24 MP keeps one request under about 400 MB.
MAX_PIXELS = 24_000_000
MAX_CONCURRENT = 2
#: Uploads being received at once (each holds at most max_upload_bytes).
MAX_UPLOADS = 8
#: Open connections uvicorn serves at once; more get 503 before any app code runs.
CONNECTION_LIMIT = 64
#: An upload over the limit is read (and dropped) up to this many times the limit, so the
#: client can read its 413.
DRAIN_FACTOR = 8
#: Seconds a client has to send its whole upload.
READ_TIMEOUT = 60.0
#: Content types the page sends; form encodings (sendable cross-site without a CORS
#: preflight) are refused.
UPLOAD_TYPES = ("application/octet-stream", "image/")
MIN_INTENSITY, MAX_INTENSITY, DEFAULT_INTENSITY = 0.0, 1.5, 1.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
# The order the page lists expressions in; any others follow alphabetically.
EXPRESSION_ORDER = (*EMOTIONS, "neutral")

# Only our own files: no inline script, no third-party origin, camera frames as blob/data URLs.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
        "style-src 'self'; script-src 'self'; connect-src 'self' blob:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Editor = Callable[..., Any]
BUSY = {"Retry-After": "2"}


def _real_editor() -> tuple[Editor, Callable[[], list[str]]]:
    from pixelfes.editing import available_expressions, edit_image

    return edit_image, available_expressions


def _decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode uploaded bytes (never a path) to (H, W, 3) uint8 RGB, refusing oversized images."""
    from pixelfes.imageio import read_image

    return read_image(bytes(data), max_pixels=max_pixels)


def _encode_png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(
        buffer, format="PNG", compress_level=3
    )
    return buffer.getvalue()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    """Read the request body, keeping nothing once it passes ``limit`` bytes.

    A declared ``Content-Length`` over the limit keeps nothing from the start. Past the limit
    the rest is read and thrown away, up to ``DRAIN_FACTOR`` times the limit, so that the
    client (which sends its whole body before it reads) gets the 413 instead of a
    connection reset; the caller's deadline bounds the time.
    """
    drain = DRAIN_FACTOR * limit
    declared = request.headers.get("content-length")
    too_large = declared is not None and declared.isdigit() and int(declared) > limit
    if too_large and int(declared) > drain:  # type: ignore[arg-type]
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if too_large or size > limit:
            too_large = True
            chunks.clear()
            if size > drain:
                break
            continue
        chunks.append(chunk)
    if too_large:
        raise _TooLarge
    return b"".join(chunks)


async def _discard_body(request: Request, limit: int) -> bool:
    """Read and drop the body; False when it is longer than ``limit`` (left unread)."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return False
    return True


def _cross_site(request: Request) -> str | None:
    """Why a request comes from another site, or None when it comes from the app's page."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {site!r}"
    origin = request.headers.get("origin")
    if origin is not None:
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin.lower() != own.lower():
            return f"Origin {origin!r} is not {own!r}"
    return None


def _upload_type_ok(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return any(kind == t or (t.endswith("/") and kind.startswith(t)) for t in UPLOAD_TYPES)


def _parse_intensity(raw: str | None) -> float:
    if raw is None or raw == "":
        return DEFAULT_INTENSITY
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"intensity must be a number, got {raw!r}") from None
    if not math.isfinite(value) or not MIN_INTENSITY <= value <= MAX_INTENSITY:
        raise ValueError(f"intensity must be between {MIN_INTENSITY} and {MAX_INTENSITY}")
    return value


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.3g} MB"


def create_app(
    editor: Editor | None = None,
    *,
    expressions: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_concurrent: int = MAX_CONCURRENT,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
    max_uploads: int = MAX_UPLOADS,
    read_timeout: float = READ_TIMEOUT,
    finder: Finder | None = None,
) -> Starlette:
    """Build the ASGI app.

    Parameters
    ----------
    editor : callable, optional
        ``editor(image, to=..., intensity=...)`` returning an object with ``.image`` (H, W, 3)
        uint8 and ``.faces`` (list of boxes). Defaults to :func:`pixelfes.editing.edit_image`,
        imported on first use.
    expressions : list or callable, optional
        The expressions offered. Defaults to :func:`pixelfes.editing.available_expressions`
        (only expressions with a model) with a real editor, or happy/sad/surprise/anger/
        disgust/fear with an injected one.
    max_upload_bytes, max_pixels : int
        Uploads larger than this many bytes get 413 before the body is read further; images
        with more pixels get 413 before they are decoded.
    max_concurrent : int
        Edits running at once; further requests get 503.
    allowed_hosts : list of str
        Host header values accepted (guards a loopback server against DNS rebinding);
        ``["*"]`` accepts any.
    max_uploads : int
        Uploads received at once; further requests get 503.
    read_timeout : float
        Seconds a client has to send its whole upload; slower ones get 408.
    finder : callable, optional
        Lists the faces for the picker (:func:`pixelfes.app.picker.real_finder` by default).
    """
    if max_concurrent < 1 or max_uploads < 1:
        raise ValueError("max_concurrent and max_uploads must be at least 1")
    slots = threading.BoundedSemaphore(max_concurrent)
    receiving = threading.BoundedSemaphore(max_uploads)
    resolved: dict[str, Any] = {}

    def get_editor() -> Editor:
        if "editor" not in resolved:
            resolved["editor"] = editor if editor is not None else _real_editor()[0]
        return resolved["editor"]

    def get_expressions() -> list[str]:
        if expressions is None:
            offered = _real_editor()[1]() if editor is None else EXPRESSION_ORDER[:-1]
        else:
            offered = expressions() if callable(expressions) else expressions
        rank = {name: index for index, name in enumerate(EXPRESSION_ORDER)}
        return sorted(offered, key=lambda name: (rank.get(name, len(rank)), name))

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers=SECURITY_HEADERS)

    async def config(request: Request) -> Response:
        try:
            offered = await run_in_threadpool(get_expressions)
        except ImportError as error:
            return _error(500, f"the editing module is not available: {error}")
        return JSONResponse(
            {
                "expressions": offered,
                "default_expression": "happy" if "happy" in offered else (offered or [""])[0],
                "intensity": {
                    "min": MIN_INTENSITY,
                    "max": MAX_INTENSITY,
                    "default": DEFAULT_INTENSITY,
                },
                "max_upload_bytes": max_upload_bytes,
                "max_pixels": max_pixels,
            },
            headers={"Cache-Control": "no-store"},
        )

    def run_edit(
        data: bytes, to: str, intensity: float, choice: dict[str, Any]
    ) -> tuple[bytes, list[list[int]]]:
        image = _decode_image(data, max_pixels)
        del data
        result = get_editor()(image, to=to, intensity=intensity, **choice)
        boxes = [[int(v) for v in box] for box in result.faces]
        return _encode_png(result.image), boxes

    async def refuse(
        request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Answer without using the body, after reading and dropping it (bounded in size and
        time) so that the client reads the answer instead of a connection reset."""
        headers = dict(headers or {})
        drain = DRAIN_FACTOR * max_upload_bytes
        try:
            complete = await asyncio.wait_for(_discard_body(request, drain), read_timeout)
        except (TimeoutError, ClientDisconnect):
            complete = False
        if not complete:
            headers["Connection"] = "close"
        return _error(status, message, headers)

    async def receive(request: Request) -> bytes | Response:
        """The upload, read to its end under the deadline, or the response refusing it."""
        if not receiving.acquire(blocking=False):
            return await refuse(
                request, 503, "The server is busy receiving photos; try again.", BUSY
            )
        try:
            return await asyncio.wait_for(_read_body(request, max_upload_bytes), read_timeout)
        except _TooLarge:
            message = f"The file is too large: the limit is {_megabytes(max_upload_bytes)}."
            return _error(413, message, {"Connection": "close"})
        except TimeoutError:
            message = f"The upload took longer than {read_timeout:g} seconds."
            return _error(408, message, {"Connection": "close"})
        except ClientDisconnect:
            return Response(status_code=400)
        finally:
            receiving.release()

    async def refuse_foreign(request: Request) -> Response | None:
        """The refusal of a cross-site request or a form-encoded body, or None."""
        reason = _cross_site(request)
        if reason is not None:
            return await refuse(request, 403, f"Cross-site requests are refused ({reason}).")
        if not _upload_type_ok(request):
            message = "Send the photo as the request body (an image/* content type)."
            return await refuse(request, 415, message)
        return None

    async def edit(request: Request) -> Response:
        refused = await refuse_foreign(request)
        if refused is not None:
            return refused
        to = request.query_params.get("to", "happy")
        try:
            intensity = _parse_intensity(request.query_params.get("intensity"))
            query = request.query_params
            choice = parse_choice(query.get("face"), query.get("regions"), MAX_INTENSITY)
        except ValueError as error:
            return await refuse(request, 400, str(error))
        offered = await run_in_threadpool(get_expressions)
        if to not in offered:
            message = f"unknown expression {to!r}; choose one of: {', '.join(offered)}"
            return await refuse(request, 400, message)
        data = await receive(request)
        if isinstance(data, Response):
            return data
        if not data:
            return _error(400, "No file was sent: choose a photo first.")
        if not slots.acquire(blocking=False):
            busy = "The server is busy with other photos; please try again in a moment."
            return _error(503, busy, {"Retry-After": "2"})
        try:
            try:
                png, boxes = await run_in_threadpool(run_edit, data, to, intensity, choice)
            except NoFaceError as error:
                if "face" in choice:
                    return _error(422, f"{str(error)[:1].upper()}{str(error)[1:]}.")
                return _error(
                    422,
                    "No face was found in this photo. Try a photo where the face is "
                    "clearly visible, frontal and well lit.",
                )
            except ImageTooLargeError:
                return _error(
                    413,
                    f"The image has too many pixels: the limit is {max_pixels:,} "
                    f"({max_pixels / 1e6:g} megapixels).",
                )
            except ImageError as error:
                if "too thin" in str(error):
                    return _error(422, "This image is too thin or too narrow to hold a face.")
                return _error(
                    400,
                    "This file is not an image that can be read (use PNG, JPEG, WebP, BMP...).",
                )
            except ValueError as error:
                return _error(400, str(error))
            except Exception:
                log.exception("editing failed")
                return _error(500, "Editing failed because of an internal error; see the log.")
        finally:
            slots.release()
        headers = {
            "X-Pixelfes-Faces": str(len(boxes)),
            "X-Pixelfes-Boxes": json.dumps(boxes, separators=(",", ":")),
            "Cache-Control": "no-store",
        }
        return Response(png, media_type="image/png", headers=headers)

    decode = partial(_decode_image, max_pixels=max_pixels)
    picker = {"refuse_foreign": refuse_foreign, "receive": receive, "decode": decode}
    faces = faces_handler(**picker, slots=slots, finder=finder, error=_error, log=log)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/api/faces", faces, methods=["POST"]),
        Route("/api/config", config, methods=["GET"]),
        Route("/api/edit", edit, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    return Starlette(routes=routes, middleware=middleware)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    editor: Editor | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_concurrent: int = MAX_CONCURRENT,
    open_browser: bool = False,
    log_level: str = "info",
    read_timeout: float = READ_TIMEOUT,
) -> None:
    """Run the web app until interrupted (loopback only unless ``host`` says otherwise)."""
    import uvicorn

    loopback = _is_loopback(host)
    if not loopback:
        log.warning("serving on %s: anyone who can reach this address can upload photos", host)
    app = create_app(
        editor,
        max_upload_bytes=max_upload_bytes,
        max_pixels=max_pixels,
        max_concurrent=max_concurrent,
        allowed_hosts=LOOPBACK_HOSTS if host in LOOPBACK_HOSTS else ["*"],
        read_timeout=read_timeout,
    )
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    print(f"pixelfes web app on {url} (Ctrl+C to stop)", flush=True)
    if open_browser:
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,
        limit_concurrency=CONNECTION_LIMIT,
        timeout_keep_alive=5,
    )


class BackgroundServer:
    """Run an app with uvicorn in a daemon thread on a free loopback port (for tests, notebooks).

    Use as a context manager: ``with BackgroundServer(create_app()) as server: server.url``.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import socket

        import uvicorn

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        config = uvicorn.Config(
            app,
            log_level="warning",
            server_header=False,
            lifespan="off",
            limit_concurrency=CONNECTION_LIMIT,
            timeout_keep_alive=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> BackgroundServer:
        import time

        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web app did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
