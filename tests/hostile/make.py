"""Hostile files built at test time (nothing is committed as a blob)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def png_bytes(width: int, height: int, mode: str = "L", **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_chunk(kind: bytes, data: bytes) -> bytes:
    """A 4x4 PNG with one extra chunk inserted after IHDR."""
    raw = png_bytes(4, 4, "RGB")
    return raw[:33] + png_chunk(kind, data) + raw[33:]


def ico_holding(png: bytes) -> bytes:
    """An ICO file whose single entry is the given PNG (decoded by Pillow inside open)."""
    directory = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22)
    return struct.pack("<HHH", 0, 1, 1) + directory + png


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares ``width`` x ``height`` (data truncated)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * min(height, 4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )
