"""Local web app: upload or capture a photo, pick an expression, download the result.

Install with ``pip install 'pixelfes[app]'`` and run ``pixelfes serve`` (or
``python -m pixelfes.app``). :func:`serve` and :func:`create_app` are imported lazily so that
``import pixelfes.app`` works without the optional dependencies.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """Build the ASGI app; see :func:`pixelfes.app.server.create_app`."""
    from pixelfes.app.server import create_app as _create_app

    return _create_app(*args, **kwargs)


def serve(host: str = "127.0.0.1", port: int = 7860, **kwargs: Any) -> None:
    """Serve the app on ``host:port`` (loopback by default); see ``pixelfes.app.server.serve``."""
    from pixelfes.app.server import serve as _serve

    _serve(host, port, **kwargs)
