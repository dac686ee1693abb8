"""Past one machine: apply throughput (1 process, -j 2, a 2-worker Dask LocalCluster),
training memory as the number of pairs grows, and a projection to a 32-worker cluster.

    python benchmarks/bench_cluster.py [--photos 16] [--sizes 500 5000]

Needs the ``cluster`` extra. Training pairs are synthetic 128x128 crops (smooth faces-like
gradients plus noise) read through the crop cache with a centre-crop aligner; each
training run is a fresh process so its peak RSS is its own. The projection multiplies
costs measured here (alignment of a real photo, summing a cached pair, editing a photo)
by 1M and divides by 32 workers: an ideal-scaling estimate that ignores the shared file
system and network, stated as such.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from importlib import resources
from pathlib import Path

import numpy as np

from pixelfes.batch import plan_jobs, run_jobs
from pixelfes.cli.edit import edit_job
from pixelfes.cluster import connect, map_jobs
from pixelfes.imageio import read_image, write_image

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))
SIZE = 128
DISTINCT = 64  # distinct synthetic images; the pairs reuse them (hard links)
WORKERS = 32
MILLION = 1_000_000


class CentreCrop:
    """Stand-in aligner for synthetic crops that are already aligned."""

    cache_id = "bench-cluster-centre-crop-v1"

    def __call__(self, image: np.ndarray, size: int) -> np.ndarray:
        idx = np.arange(size) * min(image.shape[:2]) // size
        return np.ascontiguousarray(image[idx][:, idx])


# -- apply ------------------------------------------------------------------------------


def _nothing(job) -> None:
    """A job that does no work: its time on the cluster is the per-task overhead."""


def bench_apply(n_photos: int, folder: Path) -> dict[str, float]:
    album = folder / "album"
    album.mkdir()
    for i in range(n_photos):
        shutil.copy(PORTRAIT, album / f"photo{i:03d}.jpg")
    rates = {}
    for name, kwargs in (("1 process", {}), ("-j 2", {"n_jobs": 2}), ("LocalCluster x2", None)):
        out = folder / f"out-{len(rates)}"
        jobs = plan_jobs([album], out, "happy")
        work = partial(edit_job, model_spec="happy", intensity=1.0, largest_only=False)
        start = time.perf_counter()
        if kwargs is None:
            with connect("local", n_workers=2) as client:
                # Long-lived workers: start-up and first imports are not counted.
                run_jobs(jobs[:2], work, backend=partial(map_jobs, client))
                start = time.perf_counter()
                summary = run_jobs(jobs, work, backend=partial(map_jobs, client))
                seconds = time.perf_counter() - start
                empty = plan_jobs([album], folder / "unused", "x") * 10
                begin = time.perf_counter()
                run_jobs(empty, _nothing, backend=partial(map_jobs, client))
                rates["task overhead s"] = (time.perf_counter() - begin) / len(empty)
        else:
            summary = run_jobs(jobs, work, **kwargs)
            seconds = time.perf_counter() - start
        assert not summary.failed, summary.failed
        rates[name] = n_photos / seconds
    return rates


# -- training memory --------------------------------------------------------------------


def make_pairs(folder: Path, n_pairs: int) -> Path:
    """``n_pairs`` input/target pairs built from DISTINCT synthetic images (hard links)."""
    rng = np.random.default_rng(0)
    images = folder / "distinct"
    images.mkdir(exist_ok=True)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    for i in range(DISTINCT):
        if (images / f"in{i}.png").exists():
            continue
        face = 0.5 + 0.3 * np.sin(6 * xx + i) * np.cos(5 * yy - i)
        noisy = face[..., None] + rng.normal(0, 0.02, (SIZE, SIZE, 3))
        x = np.clip(255 * noisy, 0, 255).astype(np.uint8)
        t = np.clip(0.8 * x + 40 + rng.normal(0, 3, x.shape), 0, 255).astype(np.uint8)
        write_image(images / f"in{i}.png", x)
        write_image(images / f"tg{i}.png", t)
    root = folder / f"pairs{n_pairs}"
    for side, prefix in (("input", "in"), ("target", "tg")):
        (root / side).mkdir(parents=True)
        for j in range(n_pairs):
            os.link(images / f"{prefix}{j % DISTINCT}.png", root / side / f"p{j:06d}.png")
    return root


def train_child(root: str, cache: str, mode: str) -> None:
    """One training run in this process; print its peak RSS and time as JSON."""
    from pixelfes.data import find_pairs, load_pairs
    from pixelfes.streaming import train_streaming
    from pixelfes.training import train

    pairs = find_pairs([root], source="neutral", target="happy")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if mode == "stream":
        train_streaming("pixel-rr", pairs, size=SIZE, aligner=CentreCrop(), cache=cache)
    else:
        aligned = load_pairs(pairs, SIZE, aligner=CentreCrop(), cache=cache)
        train("pixel-rr", aligned.X, aligned.T, aligned.subjects)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_mb": before / 1024, "peak_mb": peak / 1024, "seconds": seconds}))


def run_child(root: Path, cache: Path, mode: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(root), str(cache), mode]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- per-item costs for the projection --------------------------------------------------


def align_seconds(repeats: int = 5) -> float:
    from pixelfes.faces import align

    photo = read_image(PORTRAIT)
    align(photo, SIZE)
    start = time.perf_counter()
    for _ in range(repeats):
        align(photo, SIZE)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        train_child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
        print(f"apply: {args.photos} copies of the bundled 512x512 portrait, model 'happy'")
        rates = bench_apply(args.photos, folder)
        overhead = rates.pop("task overhead s")
        base = rates["1 process"]
        for name, rate in rates.items():
            print(f"  {name:16s} {rate:6.2f} photos/s  ({rate / base:.2f}x one process)")

        print(f"training pixel-rr on synthetic {SIZE}x{SIZE} pairs through the crop cache:")
        cache = folder / "cache"
        results = {}
        for n in args.sizes:
            root = make_pairs(folder, n)
            run_child(root, cache, "stream")  # warm the cache: measure the steady state
            for mode in ("stream", "memory"):
                results[(n, mode)] = result = run_child(root, cache, mode)
                print(
                    f"  N = {n:6d}  {'streamed' if mode == 'stream' else 'in memory':9s} "
                    f"peak RSS {result['peak_mb']:7.1f} MB (after imports "
                    f"{result['before_mb']:.1f} MB), {result['seconds']:.2f} s"
                )
        small, large = min(args.sizes), max(args.sizes)
        grow = results[(large, "stream")]["peak_mb"] / results[(small, "stream")]["peak_mb"]
        grow_memory = results[(large, "memory")]["peak_mb"] / results[(small, "memory")]["peak_mb"]
        print(
            f"  peak RSS ratio N={large} / N={small}: streamed {grow:.2f}, "
            f"in memory {grow_memory:.2f}"
        )

        align_s = align_seconds()
        per_pair = results[(large, "stream")]["seconds"] / large
        per_photo = 1 / base
        per_photo_cluster = 1 / rates["LocalCluster x2"] * 2  # per worker, as measured here
        train_hours = MILLION * (2 * align_s + per_pair) / WORKERS / 3600
        apply_hours = MILLION * (per_photo + overhead) / WORKERS / 3600
        print(f"projection to {WORKERS} workers (ideal scaling, measured per-item costs):")
        print(
            f"  train on 1M pairs: 2 x {align_s * 1000:.0f} ms alignment (cold cache) + "
            f"{per_pair * 1000:.2f} ms summing per pair -> {train_hours:.1f} h "
            f"({MILLION * per_pair / WORKERS / 60:.1f} min with a warm cache)"
        )
        print(
            f"  edit 1M photos: {per_photo * 1000:.0f} ms per photo (one process) + "
            f"{overhead * 1000:.1f} ms Dask overhead per task -> {apply_hours:.1f} h "
            f"(with the {per_photo_cluster * 1000:.0f} ms per photo per worker measured on "
            f"this machine's LocalCluster: {MILLION * per_photo_cluster / WORKERS / 3600:.1f} h)"
        )


if __name__ == "__main__":
    main()
