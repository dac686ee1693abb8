"""Benchmark pixelfes.models at the paper's scale: N = 400 pairs of 128x128 faces.

Every measured operation is printed beside a memory-bound (or LAPACK-bound) reference
timed in the same run, with their ratio and the target ratio:

* PixelRidge fit        vs two numpy passes over the data (sum of X and of T);
* PixelRidge predict    vs one multiply-add pass (uint8 x float32 weights + bias);
* PixelKernelRidge fit  vs a bare batched Cholesky of the same kernel matrices;
* lookup-table predict  vs PixelRidge predict.

Random uint8 data (timings do not depend on content, except the table gather, for which
random data is the worst case). Run, with one BLAS thread so that LAPACK timings are
stable on a shared 2-core machine (both sides of each ratio use the same setting):

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_models.py

Options: --quick (smaller N for a smoke run), --repeat, --kr-rows (rows used for the
colour Pixel-KR fit, which is measured on a strip and scaled to the full image).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pixelfes.models import GlobalRidge, MaskedRidge, PixelKernelRidge, PixelRidge
from pixelfes.models.pixel_kernel_ridge import chunk_size, gaussian_kernel, per_location

ROWS: list[list[str]] = []


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` runs (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_mib(fn: Callable[[], object]) -> float:
    """Peak traced allocation (MiB) while ``fn`` runs; numpy reports to tracemalloc."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def disk_mib(model: object, dtype: str = "float32") -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        model.save(path, dtype=dtype)  # type: ignore[attr-defined]
        return path.stat().st_size / 2**20


def row(case: str, seconds: float, ref_name: str, ref: float | None, target: str, **extra: str):
    ratio = f"{seconds / ref:.2f}" if ref else "-"
    ROWS.append(
        [
            case,
            f"{seconds * 1e3:.1f}",
            ref_name,
            f"{ref * 1e3:.1f}" if ref else "-",
            ratio,
            target,
            extra.get("throughput", "-"),
            extra.get("peak", "-"),
            extra.get("size", "-"),
        ]
    )


def bare_cholesky_seconds(X: np.ndarray, sigma: float, alpha: float, shared: bool) -> float:
    """np.linalg.cholesky on stacks of the same kernel matrices, 64 MiB per stack.

    Only the factorisation is timed (building the matrices is not).
    """
    X4 = X if X.ndim == 4 else X[..., None]
    xs = per_location(X4 / np.float32(255.0), shared)
    n_samples = xs.shape[1]
    step = chunk_size(n_samples, n_samples, budget=8 << 20)
    total = 0.0
    for start in range(0, xs.shape[0], step):
        x = xs[start : start + step].astype(np.float64)
        gram = gaussian_kernel(x, x, sigma)
        gram[:, np.arange(n_samples), np.arange(n_samples)] += alpha
        begin = time.perf_counter()
        np.linalg.cholesky(gram)
        total += time.perf_counter() - begin
    return total


def bench_pixel_ridge(X: np.ndarray, T: np.ndarray, label: str, repeat: int) -> PixelRidge:
    n = X.shape[0]
    two_passes = best_time(
        lambda: (X.sum(axis=0, dtype=np.float64), T.sum(axis=0, dtype=np.float64)), repeat
    )
    fit = best_time(lambda: PixelRidge().fit(X, T), repeat)
    model = PixelRidge().fit(X, T)
    row(
        f"{label} PixelRidge fit",
        fit,
        "2 numpy passes",
        two_passes,
        "<= 3",
        peak=f"{peak_mib(lambda: PixelRidge().fit(X, T)):.0f}",
        size=f"{disk_mib(model) * 1024:.0f} KiB",
    )
    w = np.broadcast_to(model.coef_ / np.float32(255), model.image_shape_).reshape(1, -1)
    b = np.broadcast_to(model.intercept_, model.image_shape_).reshape(1, -1)
    flat = X.reshape(n, -1)

    def multiply_add() -> None:
        out = np.multiply(flat, w, dtype=np.float32)
        out += b

    one_pass = best_time(multiply_add, repeat)
    predict = best_time(lambda: model.predict(X), repeat)
    row(
        f"{label} PixelRidge predict",
        predict,
        "1 multiply-add pass",
        one_pass,
        "<= 2",
        throughput=f"{n / predict:,.0f}",
        peak=f"{peak_mib(lambda: model.predict(X)):.0f}",
    )
    for dtype in ("float32", "float16"):
        lut = model.to_lookup_table(dtype=dtype)
        lut_time = best_time(lambda lut=lut: lut.predict(X), repeat)
        row(
            f"{label} PixelRidge LUT {dtype} predict",
            lut_time,
            "PixelRidge predict",
            predict,
            "<= 3",
            throughput=f"{n / lut_time:,.0f}",
            peak=f"{peak_mib(lambda lut=lut: lut.predict(X)):.0f}",
            size=f"{disk_mib(lut, dtype):.1f} MiB",
        )
    return model


def bench_kernel_ridge(X: np.ndarray, T: np.ndarray, label: str, channels: str) -> None:
    """Pixel-KR fit with peak memory traced (the reference is traced the same way)."""
    n = X.shape[0]
    height = X.shape[1]
    model = PixelKernelRidge(sigma=1.0, channels=channels)
    tracemalloc.start()
    start = time.perf_counter()
    model.fit(X, T)
    fit = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    tracemalloc.start()
    ref = bare_cholesky_seconds(X, 1.0, 0.4, channels == "shared")
    tracemalloc.stop()
    strip = f", rows 0-{height}" if height < 128 else ""
    row(
        f"{label} PixelKernelRidge({channels}) fit{strip}",
        fit,
        "bare batched Cholesky",
        ref,
        "<= 1.5",
        peak=f"{peak:.0f}",
        size=f"{disk_mib(model):.1f} MiB",
    )
    if height < 128:
        return
    queries = X[:8]
    predict = best_time(lambda: model.predict(queries), 1)
    start = time.perf_counter()
    lut = model.to_lookup_table(dtype="float16")
    build = time.perf_counter() - start
    lut_time = best_time(lambda: lut.predict(X), 3)
    error = np.abs(lut.predict(queries) - model.predict(queries)).max() * 255
    row(
        f"{label} PixelKernelRidge predict (8 faces)",
        predict,
        "-",
        None,
        "-",
        throughput=f"{len(queries) / predict:,.1f}",
    )
    row(
        f"{label} KR LUT float16 predict (build {build:.1f} s, max err {error:.3f}/255)",
        lut_time,
        "-",
        None,
        "-",
        throughput=f"{n / lut_time:,.0f}",
        size=f"{disk_mib(lut, 'float16'):.1f} MiB",
    )
    print(f"# {label} PixelKernelRidge n_parameters = {model.n_parameters:,}", flush=True)


def bench_others(X: np.ndarray, T: np.ndarray, label: str) -> None:
    for model in (MaskedRidge(radius=1), GlobalRidge()):
        fit = best_time(lambda model=model: model.fit(X, T), 1)
        predict = best_time(lambda model=model: model.predict(X), 1)
        name = type(model).__name__
        row(
            f"{label} {name} fit",
            fit,
            "-",
            None,
            "-",
            peak=f"{peak_mib(lambda model=model: model.fit(X, T)):.0f}",
            size=f"{disk_mib(model):.1f} MiB",
        )
        row(
            f"{label} {name} predict",
            predict,
            "-",
            None,
            "-",
            throughput=f"{len(X) / predict:,.0f}",
        )
        print(f"# {label} {name} n_parameters = {model.n_parameters:,}", flush=True)


def print_table() -> None:
    header = [
        "operation",
        "ms",
        "reference",
        "ref ms",
        "ratio",
        "target",
        "faces/s",
        "peak MiB",
        "on disk",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for cells in ROWS:
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="training pairs (default 400)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (best kept)")
    parser.add_argument("--kr-rows", type=int, default=32, help="rows for the colour KR fit")
    parser.add_argument("--skip-kr", action="store_true", help="skip Pixel-KR (slow)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(
        f"# N={args.n}, 128x128, uint8 random data; numpy {np.__version__}; "
        f"{os.cpu_count()} CPUs; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}",
        flush=True,
    )
    for label, channels in (("gray", 1), ("colour", 3)):
        X = rng.integers(0, 256, (args.n, 128, 128, channels), dtype=np.uint8)
        T = rng.integers(0, 256, X.shape, dtype=np.uint8)
        if channels == 1:
            X, T = X[..., 0], T[..., 0]
        bench_pixel_ridge(X, T, label, args.repeat)
        bench_others(X, T, label)
        if args.skip_kr:
            continue
        if channels == 1:
            bench_kernel_ridge(X, T, label, "shared")
        else:
            strip = slice(0, args.kr_rows)
            bench_kernel_ridge(X[:, strip], T[:, strip], label, "independent")
    print_table()


if __name__ == "__main__":
    main()
