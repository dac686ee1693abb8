"""A small HTTP client for the web-app hostile tests and the load test (standard library)."""

from __future__ import annotations

import http.client
import io
import json
import select
import socket
import time
from urllib.parse import urlsplit

import numpy as np
from PIL import Image


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def post(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    query: str = "to=happy",
    timeout: float = 60,
) -> tuple[int, dict[str, str], bytes]:
    """POST ``body`` (whole, then read the answer) and return (status, headers, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    sent = {"Content-Type": "application/octet-stream", **(headers or {})}
    try:
        connection.request("POST", f"/api/edit?{query}", body=body, headers=sent)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def slow_post(url: str, body: bytes, *, pause: float, timeout: float = 60) -> int | None:
    """Send the upload one byte per ``pause`` seconds (slowloris); the status, or None."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        head = (
            f"POST /api/edit?to=happy HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
            f"Content-Type: image/png\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode())
        try:
            for i in range(len(body)):
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered
                sock.sendall(body[i : i + 1])
                time.sleep(pause)
        except OSError:
            pass  # the server gave up on us: read its answer
        try:
            answer = sock.recv(4096)
        except OSError:
            return None
    if not answer.startswith(b"HTTP/1.1 "):
        return None
    return int(answer.split()[1])


def error_message(body: bytes) -> str:
    return json.loads(body)["error"]
