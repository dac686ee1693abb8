"""End-to-end editing speed: photo -> edited photo at 0.3 / 1 / 12 MP, and video frames/s.

    python benchmarks/bench_apply.py [--repeats 5]

Each row splits the time into its steps (decode, detect + align, synthesis, paste-back,
encode) so the bottleneck is visible; the video row runs the real tracker loop on a
640x480 clip made from the bundled portrait. Times are medians of repeated runs, in ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from pixelfes.editing import load_model, synthesize
from pixelfes.faces import FaceTracker, align, paste_change
from pixelfes.imageio import read_image, write_image
from pixelfes.video import edit_video

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))
SIZES = {
    "0.3 MP (640x480)": (640, 480),
    "1 MP (1152x864)": (1152, 864),
    "12 MP (4000x3000)": (4000, 3000),
}


def photo_of_size(width: int, height: int) -> np.ndarray:
    """The portrait scaled to fill ``height`` and centred on a canvas of the given size."""
    portrait = read_image(PORTRAIT)
    side = height
    scaled = cv2.resize(portrait, (side, side), interpolation=cv2.INTER_CUBIC)
    canvas = np.full((height, width, 3), 200, np.uint8)
    x0 = (width - side) // 2
    canvas[:, x0 : x0 + side] = scaled
    return canvas


def median_ms(step, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_photo(photo: np.ndarray, model, repeats: int, folder: Path) -> dict[str, float]:
    source = write_image(folder / "in.jpg", photo)
    faces = align(photo, 128)
    crops = np.stack([f.crop for f in faces])
    change = synthesize(model, crops) - crops / 255.0
    edited = paste_change(photo, faces[0], change[0])
    row = {
        "decode": median_ms(lambda: read_image(source), repeats),
        "detect+align": median_ms(lambda: align(photo, 128), repeats),
        "synthesis": median_ms(lambda: synthesize(model, crops), repeats),
        "paste": median_ms(lambda: paste_change(photo, faces[0], change[0]), repeats),
        "encode": median_ms(lambda: write_image(folder / "out.jpg", edited), repeats),
    }
    row["total"] = sum(row.values())
    return row


def write_moving_clip(clip: Path, n_frames: int) -> np.ndarray:
    """Write a 640x480 MJPG clip of the portrait drifting a few pixels; return the photo."""
    photo = photo_of_size(640, 480)
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 480))
    for i in range(n_frames):
        shift = np.float32([[1, 0, 8 * np.sin(i / 6)], [0, 1, 4 * np.cos(i / 9)]])
        frame = cv2.warpAffine(photo, shift, (640, 480), borderMode=cv2.BORDER_REPLICATE)
        writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
    writer.release()
    return photo


def bench_video(model, n_frames: int, folder: Path) -> tuple[float, float, float]:
    """Frames/s of the whole video loop, of tracking alone and of synthesis alone."""
    clip = folder / "clip.avi"
    photo = write_moving_clip(clip, n_frames)
    start = time.perf_counter()
    edit_video(clip, folder / "edited.avi", model=model)
    loop = n_frames / (time.perf_counter() - start)
    tracker = FaceTracker()
    start = time.perf_counter()
    for _ in range(n_frames):
        tracker.update(photo)
    tracking = n_frames / (time.perf_counter() - start)
    crops = np.stack([f.crop for f in align(photo, 128)])
    start = time.perf_counter()
    for _ in range(n_frames):
        synthesize(model, crops)
    synth = n_frames / (time.perf_counter() - start)
    return loop, tracking, synth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    model = load_model("happy")
    columns = ("decode", "detect+align", "synthesis", "paste", "encode", "total")
    print(f"| photo | {' | '.join(columns)} (ms) |")
    print("|---|" + "---:|" * len(columns))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for label, (w, h) in SIZES.items():
            row = bench_photo(photo_of_size(w, h), model, args.repeats, folder)
            print(f"| {label} | " + " | ".join(f"{row[c]:.1f}" for c in columns) + " |")
        loop, tracking, synth = bench_video(model, args.frames, folder)
    print(
        f"\nvideo 640x480, {args.frames} frames: {loop:.1f} frames/s end to end "
        f"(decode, track, synthesize, paste, encode); tracking alone {tracking:.1f} frames/s; "
        f"synthesis alone {synth:.0f} faces/s"
    )


if __name__ == "__main__":
    main()
