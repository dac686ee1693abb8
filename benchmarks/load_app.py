"""Load test of the web app on loopback: valid, oversized, slow and hostile uploads at once.

    python benchmarks/load_app.py [--requests 200] [--clients 20] [--json out.json]

Starts ``pixelfes.app.serve`` (real editor, bundled models) in its own process on a free
loopback port, then sends ``--requests`` uploads from ``--clients`` concurrent clients,
mixing:

* valid photos (the bundled portrait, JPEG and PNG): each must come back 200 with a PNG
  equal to the edit computed here in-process;
* slow valid uploads (sent in small pieces over about 2 s): must be answered like valid ones;
* slowloris uploads (one byte every 0.2 s, never finishing in time): must get 408, or 503
  when every upload slot is taken (not retried);
* oversized uploads (over the 20 MB limit): must get 413;
* hostile uploads (a 40000x4 PNG, a 100 MP PNG of 100 KB, an ICO holding a big PNG, a zTXt
  bomb, garbage, a truncated JPEG, cross-site and form-encoded requests): must get their
  4xx answer.

An upload answered 503 (every edit slot busy) is retried after its ``Retry-After``, as the
page does; the figures count those retries.

It prints one JSON object: counts per kind and status, valid-answer correctness, latency
percentiles, retries, and the server's peak resident memory (VmHWM from /proc), and exits 1
when a check fails (a wrong or missing valid answer, a 500, an unexpected status, peak RSS
over --max-rss-mb). Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))
READ_TIMEOUT = 3.0
EXPECTED = {
    "valid": {200},
    "slow": {200},
    "slowloris": {408, 503},
    "oversized": {413},
    "thin": {422},
    "huge_pixels": {413},
    "ico": {400},
    "ztxt": {400},
    "garbage": {400},
    "truncated": {400, 422},
    "cross_site": {403},
    "form_encoded": {415},
}
MIX = (
    ["valid"] * 8
    + ["slow"] * 2
    + ["slowloris", "oversized"]
    + ["thin", "huge_pixels", "ico", "ztxt", "garbage", "truncated", "cross_site", "form_encoded"]
)


def _png(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def payloads() -> dict[str, bytes]:
    """Every upload body, built here (nothing is read from disk but the bundled portrait)."""
    jpeg = PORTRAIT.read_bytes()
    big_png = _png(Image.new("L", (10000, 10000)))
    small = _png(Image.new("RGB", (4, 4)))
    ztxt = small[:33] + _chunk(b"zTXt", b"k\0\0" + zlib.compress(b"a" * 20_000_000)) + small[33:]
    ico_entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(big_png), 22)
    return {
        "jpeg": jpeg,
        "png": _png(Image.open(PORTRAIT)),
        "oversized": b"\0" * (21 * 1024 * 1024),
        "thin": _png(Image.new("L", (40000, 4))),
        "huge_pixels": big_png,
        "ico": struct.pack("<HHH", 0, 1, 1) + ico_entry + big_png,
        "ztxt": ztxt,
        "garbage": os.urandom(5000),
        "truncated": jpeg[: len(jpeg) // 3],
    }


def reference_answers(bodies: dict[str, bytes]) -> dict[str, np.ndarray]:
    """The edit each valid upload must come back as, computed in this process."""
    from pixelfes.editing import edit_image
    from pixelfes.imageio import read_image

    return {
        name: edit_image(read_image(bodies[name]), to="happy").image for name in ("jpeg", "png")
    }


def request(port: int, body: bytes, headers: dict[str, str], *, pieces: int = 1, pause: float = 0):
    """POST ``body`` (optionally in timed pieces); return (status, headers, answer bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.putrequest("POST", "/api/edit?to=happy")
        sent = {"Content-Type": "image/png", "Content-Length": str(len(body)), **headers}
        for key, value in sent.items():
            connection.putheader(key, value)
        connection.endheaders()
        step = max(1, -(-len(body) // pieces))
        for start in range(0, len(body), step):
            connection.send(body[start : start + step])
            if pause:
                time.sleep(pause)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def slowloris(port: int, body: bytes, pause: float = 0.2) -> int | None:
    """Dribble the upload a byte at a time until the server answers (or 3 deadlines pass)."""
    import select

    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(
            f"POST /api/edit?to=happy HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: "
            f"image/jpeg\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        give_up = time.monotonic() + 3 * READ_TIMEOUT
        try:
            for i in range(len(body)):
                if select.select([sock], [], [], 0)[0] or time.monotonic() > give_up:
                    break
                sock.sendall(body[i : i + 1])
                time.sleep(pause)
        except OSError:
            pass
        try:
            answer = sock.recv(4096)
        except OSError:
            return None
    return int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else None


def run_one(port: int, kind: str, bodies: dict, references: dict, rng: random.Random) -> dict:
    start = time.monotonic()
    retries = 0
    correct = None
    if kind == "slowloris":
        status = slowloris(port, bodies["jpeg"])
    else:
        name = rng.choice(["jpeg", "png"])
        body = {"valid": bodies[name], "slow": bodies[name]}.get(kind) or bodies.get(kind, b"")
        headers: dict[str, str] = {}
        if kind == "cross_site":
            body, headers = bodies["jpeg"], {"Origin": "http://attacker.example"}
        elif kind == "form_encoded":
            body, headers = bodies["jpeg"], {"Content-Type": "text/plain"}
        pieces, pause = (20, 0.1) if kind == "slow" else (1, 0.0)
        while True:
            status, answer_headers, answer = request(
                port, body, headers, pieces=pieces, pause=pause
            )
            if status != 503 or retries >= 200:  # busy: retried like the page does
                break
            retries += 1
            time.sleep(float(answer_headers.get("retry-after", "1")) * rng.uniform(0.1, 0.5))
        if kind in ("valid", "slow"):
            correct = status == 200 and _same(answer, references[name])
    return {
        "kind": kind,
        "status": status,
        "seconds": time.monotonic() - start,
        "retries": retries,
        "correct": correct,
    }


def _same(png: bytes, reference: np.ndarray) -> bool:
    with Image.open(io.BytesIO(png)) as image:
        return np.array_equal(np.asarray(image.convert("RGB")), reference)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def start_server(port: int) -> subprocess.Popen:
    code = (
        "from pixelfes.app.server import serve; "
        f"serve('127.0.0.1', {port}, log_level='warning', read_timeout={READ_TIMEOUT})"
    )
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the web app did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--max-rss-mb", type=float, default=1536)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="Also write the result to this file.")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    kinds = [MIX[i % len(MIX)] for i in range(args.requests)]
    rng.shuffle(kinds)
    bodies = payloads()
    references = reference_answers(bodies)
    port = _free_port()
    server = start_server(port)
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(args.clients) as pool:
            seeds = [rng.random() for _ in kinds]
            results = list(
                pool.map(
                    lambda item: run_one(port, item[0], bodies, references, random.Random(item[1])),
                    zip(kinds, seeds, strict=True),
                )
            )
        wall = time.monotonic() - started
        peak_rss_mb = _memory_kb(server.pid, "VmHWM") / 1024
        alive = server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = summarise(results, wall, peak_rss_mb, alive, args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if report["passed"] else 1


def summarise(results: list[dict], wall: float, peak_rss_mb: float, alive: bool, args) -> dict:
    statuses = {k: dict(Counter(r["status"] for r in results if r["kind"] == k)) for k in EXPECTED}
    unexpected = [r for r in results if r["status"] not in EXPECTED[r["kind"]]]
    valid = [r for r in results if r["kind"] in ("valid", "slow")]
    latencies = sorted(r["seconds"] for r in valid)
    server_errors = sum(
        1 for r in results if r["status"] is not None and r["status"] >= 500 and r["status"] != 503
    )
    report = {
        "requests": len(results),
        "clients": args.clients,
        "wall_seconds": round(wall, 1),
        "statuses_by_kind": {k: v for k, v in statuses.items() if v},
        "valid_answered_correctly": f"{sum(bool(r['correct']) for r in valid)} of {len(valid)}",
        "valid_latency_seconds": {
            "p50": round(statistics.median(latencies), 2) if latencies else None,
            "p95": round(latencies[int(0.95 * (len(latencies) - 1))], 2) if latencies else None,
        },
        "retries_after_503": sum(r["retries"] for r in results),
        "server_errors_5xx": server_errors,
        "server_peak_rss_mb": round(peak_rss_mb, 1),
        "server_alive_at_end": alive,
        "unexpected": [(r["kind"], r["status"]) for r in unexpected][:20],
    }
    report["passed"] = (
        not unexpected
        and all(r["correct"] for r in valid)
        and server_errors == 0
        and peak_rss_mb < args.max_rss_mb
        and alive
    )
    return report


if __name__ == "__main__":
    sys.exit(main())
