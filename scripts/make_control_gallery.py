"""Build docs/gallery.md's inputs and figure: a painting-style portrait, a cat, a group photo.

Inputs (written to docs/gallery/, small JPEGs) come from the shared data's public-domain / CC0
``wild/`` photos: ``lisa1.jpg`` (CC0) rendered in a painting style with OpenCV's
``stylization`` (no real painting is available offline: this is a stand-in), the CC0 cat
``chelsea_cat.png``, and a group composed side by side from ``astronaut.png`` (NASA, public
domain), ``lisa1.jpg`` and ``grace_hopper.jpg`` (US Navy, public domain). The edits run the
``pixelfes`` commands listed in ``COMMANDS`` (the same ones docs/gallery.md shows), and the
figure puts each input above its result.

    PIXELFES_DATA=/path/to/shared/data python scripts/make_control_gallery.py
"""

from __future__ import annotations

import shlex
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

from pixelfes.cli import main as cli
from pixelfes.config import data_root
from pixelfes.imageio import read_image

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "docs" / "gallery"
FIGURE = ROOT / "docs" / "figures" / "gallery_control.jpg"
OUT = Path("/tmp/pixelfes-gallery")

COMMANDS = {
    "painting": [
        "pixelfes edit docs/gallery/painted_portrait.jpg --to happy --region mouth=1.3,eyes=0.6"
        f" -o {OUT}/painted_portrait_happy.png",
    ],
    "cat": [
        "pixelfes faces docs/gallery/cat.jpg --detector cat",
        "pixelfes edit docs/gallery/cat.jpg --detector cat --to surprise"
        f" -o {OUT}/cat_surprise.png",
        "pixelfes edit docs/gallery/cat.jpg --eyes 172,112,318,137 --to surprise"
        f" -o {OUT}/cat_surprise_eyes.png",
    ],
    "group": [
        f"pixelfes faces docs/gallery/group.jpg --preview {OUT}/group_faces.png",
        f"pixelfes edit docs/gallery/group.jpg --face 1 --to happy -o {OUT}/group_face1_happy.png",
    ],
}


def _jpeg(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])


def _height(image: np.ndarray, height: int) -> np.ndarray:
    width = round(image.shape[1] * height / image.shape[0])
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def build_inputs(wild: Path) -> None:
    lisa = read_image(wild / "lisa1.jpg")
    painted = cv2.stylization(cv2.cvtColor(lisa, cv2.COLOR_RGB2BGR), sigma_s=40, sigma_r=0.35)
    _jpeg(GALLERY / "painted_portrait.jpg", _height(painted[:, :, ::-1], 500))
    _jpeg(GALLERY / "cat.jpg", read_image(wild / "chelsea_cat.png"))
    people = [read_image(wild / n) for n in ("astronaut.png", "lisa1.jpg", "grace_hopper.jpg")]
    _jpeg(GALLERY / "group.jpg", np.hstack([_height(p, 360) for p in people]))


def run(command: str) -> str:
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    if result.exit_code != 0:
        raise SystemExit(f"{command} failed:\n{result.output}")
    return result.output


def _pair(before: np.ndarray, after: np.ndarray, height: int) -> np.ndarray:
    gap = np.full((height, 8, 3), 255, np.uint8)
    return np.hstack([_height(before, height), gap, _height(after, height)])


def main() -> None:
    root = data_root()
    if root is None:
        raise SystemExit("set PIXELFES_DATA to the shared data folder")
    build_inputs(root / "wild")
    OUT.mkdir(parents=True, exist_ok=True)
    for commands in COMMANDS.values():
        for command in commands:
            print(f"$ {command}\n{run(command)}")
    rows = [
        _pair(
            read_image(GALLERY / "painted_portrait.jpg"),
            read_image(OUT / "painted_portrait_happy.png"),
            300,
        ),
        np.hstack(
            [
                _pair(read_image(GALLERY / "cat.jpg"), read_image(OUT / "cat_surprise.png"), 200),
                np.full((200, 8, 3), 255, np.uint8),
                _height(read_image(OUT / "cat_surprise_eyes.png"), 200),
            ]
        ),
        _pair(read_image(OUT / "group_faces.png"), read_image(OUT / "group_face1_happy.png"), 180),
    ]
    width = max(row.shape[1] for row in rows)
    padded = [
        np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows
    ]
    _jpeg(FIGURE, np.vstack(padded))
    print(f"wrote {FIGURE}")


if __name__ == "__main__":
    main()
