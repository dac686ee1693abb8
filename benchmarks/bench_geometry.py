"""Speed of geometry-aware editing against plain Pixel-RR, from one run.

    python benchmarks/bench_geometry.py [--repeats 15] [--frames 100]

Prints, for a 640x480 photo of the bundled portrait: the round trip ``edit_image`` (detect,
align, synthesize, paste back; decoding and encoding left out) in frames/s with the plain
``neutral-to-happy`` model and with ``happy-geometry``, the geometry steps in ms (dense landmarks,
shape + texture in the frame, the warp at photo resolution, the paste), and the frames/s
of a 640x480 video with one tracked face through ``edit_video`` with each model.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_apply import median_ms, photo_of_size, write_moving_clip
from pixelfes import geometric
from pixelfes.editing import edit_image, load_model
from pixelfes.faces import align, paste_change
from pixelfes.faces.landmarks import dense_landmarks
from pixelfes.video import edit_video


def video_fps(model, n_frames: int, folder: Path) -> float:
    clip = folder / "clip.avi"
    if not clip.exists():
        write_moving_clip(clip, n_frames)
    start = time.perf_counter()
    edit_video(clip, folder / "edited.avi", model=model)
    return n_frames / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    # "happy" is the geometry model now: the plain Pixel-RR one goes by its bundled name
    plain, geometry = load_model("neutral-to-happy"), load_model("happy-geometry")
    photo = photo_of_size(640, 480)
    edit_image(photo, model=geometry)  # load the face mesh once
    plain_ms = median_ms(lambda: edit_image(photo, model=plain), args.repeats)
    geometry_ms = median_ms(lambda: edit_image(photo, model=geometry), args.repeats)
    face = align(photo, 128)[0]
    plan = geometric._plan(geometry, face.crop, 1.0)
    warped = geometric._warp_photo(photo, face, plan)
    steps = {
        "detect+align": median_ms(lambda: align(photo, 128), args.repeats),
        "dense landmarks": median_ms(lambda: dense_landmarks(face.crop), args.repeats),
        "landmarks+shape+texture": median_ms(
            lambda: geometric._plan(geometry, face.crop, 1.0), args.repeats
        ),
        "photo warp": median_ms(lambda: geometric._warp_photo(photo, face, plan), args.repeats),
        "paste": median_ms(lambda: paste_change(warped, face, plan.change), args.repeats),
    }
    with tempfile.TemporaryDirectory() as tmp:
        plain_video = video_fps(plain, args.frames, Path(tmp))
        geometry_video = video_fps(geometry, args.frames, Path(tmp))
    print(
        f"photo 640x480 round trip (edit_image): plain {1000 / plain_ms:.1f} frames/s "
        f"({plain_ms:.1f} ms), geometry {1000 / geometry_ms:.1f} frames/s ({geometry_ms:.1f} ms)"
    )
    print("geometry steps (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    print(
        f"video 640x480, {args.frames} frames, one tracked face: plain {plain_video:.1f} "
        f"frames/s, geometry {geometry_video:.1f} frames/s (decode, track, edit, encode)"
    )


if __name__ == "__main__":
    main()
