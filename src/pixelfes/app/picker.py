"""The web app's face picker and region doses: ``POST /api/faces`` and the ``face`` and
``regions`` query parameters of ``/api/edit``."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pixelfes.exceptions import ImageError, ImageTooLargeError

Finder = Callable[[np.ndarray], list[dict[str, Any]]]


def real_finder(image: np.ndarray) -> list[dict[str, Any]]:
    """The faces ``edit_image(..., face=N)`` counts, as JSON-ready dicts."""
    from pixelfes.faces.select import detect_faces

    return [
        {"index": i, "box": [round(float(v), 1) for v in f.box], "score": round(f.score, 3)}
        for i, f in enumerate(detect_faces(image))
    ]


def parse_choice(face: str | None, regions: str | None, maximum: float) -> dict[str, Any]:
    """Editor keyword arguments for the ``face`` and ``regions`` query parameters."""
    choice: dict[str, Any] = {}
    if face not in (None, ""):
        if not face.isdigit():
            raise ValueError(f"face must be a face number (0, 1, ...), got {face!r}")
        choice["face"] = int(face)
    if regions not in (None, ""):
        from pixelfes.faces.regions import parse_regions

        choice["regions"] = parse_regions(regions)
        for name, dose in choice["regions"].items():
            if dose > maximum:
                raise ValueError(f"{name} must be between 0 and {maximum:g}")
    return choice


def faces_handler(
    *,
    refuse_foreign: Callable[[Request], Awaitable[Response | None]],
    receive: Callable[[Request], Awaitable[bytes | Response]],
    decode: Callable[[bytes], np.ndarray],
    slots: threading.BoundedSemaphore,
    finder: Finder | None,
    error: Callable[..., JSONResponse],
    log: Any,
) -> Callable[[Request], Awaitable[Response]]:
    """``POST /api/faces``: the upload's faces, numbered, with the image size, as JSON.

    The body goes through the same refusals (cross-site, content type, size, deadline) and
    the same slots as an edit.
    """

    def run(data: bytes) -> dict[str, Any]:
        image = decode(data)
        found = (finder or real_finder)(image)
        return {"width": int(image.shape[1]), "height": int(image.shape[0]), "faces": found}

    async def faces(request: Request) -> Response:
        refused = await refuse_foreign(request)
        if refused is not None:
            return refused
        data = await receive(request)
        if isinstance(data, Response):
            return data
        if not slots.acquire(blocking=False):
            return error(503, "The server is busy; please try again.", {"Retry-After": "2"})
        try:
            found = await run_in_threadpool(run, data)
        except ImageTooLargeError:
            return error(413, "The image has too many pixels.")
        except ImageError:
            return error(400, "This file is not an image that can be read.")
        except Exception:
            log.exception("finding faces failed")
            return error(500, "Finding faces failed because of an internal error.")
        finally:
            slots.release()
        return JSONResponse(found, headers={"Cache-Control": "no-store"})

    return faces
