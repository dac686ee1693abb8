"""Summaries, markdown tables, CSV files and figures of an evaluation run.

Figures are drawn with OpenCV (no plotting library needed). Numbers in the CSV files are
rounded (6 significant digits) so that reruns give identical files; timings are the
exception and live in their own file.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from pixelfes.evaluation.methods import label as method_label
from pixelfes.evaluation.metrics import mean_ci

#: Metric columns of the per-image records: (key, header, digits).
METRICS: tuple[tuple[str, str, int], ...] = (
    ("psnr", "PSNR dB", 2),
    ("ssim", "SSIM", 3),
    ("lpips", "LPIPS", 3),
    ("sharpness", "sharpness", 2),
    ("identity", "identity dist.", 3),
    ("correct", "expr. accuracy", 2),
)

#: Columns that identify a protocol run and method (shared by both CSV files).
RUN_COLUMNS = ("protocol", "train_set", "test_set", "expression", "fold", "method")
RECORD_COLUMNS = (
    *RUN_COLUMNS,
    "subject",
    "image",
    "index",
    "psnr",
    "ssim",
    "lpips",
    "sharpness",
    "identity",
    "predicted",
    "p_target",
    "correct",
)
TIMING_COLUMNS = (
    *RUN_COLUMNS,
    "n_train",
    "n_test",
    "fit_s",
    "predict_s_per_image",
    "n_parameters",
)


def _round(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value == 0 or math.isinf(value):
            return value
        return float(f"{value:.6g}")
    return value


def write_csv(path: Path, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> int:
    """Write ``rows`` (dicts) to ``path`` with ``columns``; floats rounded. Returns the count.

    A ``.gz`` path is gzip-compressed with a zero timestamp, so equal rows give equal bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with _open_text(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_round(row.get(c, "")) for c in columns])
            n += 1
    return n


def _open_text(path: Path) -> IO[str]:
    if path.suffix != ".gz":
        return path.open("w", newline="")
    raw = gzip.GzipFile(filename="", mode="wb", fileobj=path.open("wb"), mtime=0)
    return io.TextIOWrapper(raw, newline="", encoding="utf-8")


def summarise(
    records: Sequence[dict[str, Any]],
    key: Callable[[dict[str, Any]], Any],
    metric: str,
) -> dict[Any, tuple[float, float, float, int]]:
    """Mean and 95% interval (bootstrap over subjects) of ``metric`` per ``key(row)``.

    NaN values (metrics not computed for a row) are left out. Subjects are keyed by
    test set and subject, so pooled groups never merge two people.

    Returns
    -------
    dict
        ``key -> (mean, low, high, n_images)``.
    """
    groups: dict[Any, tuple[list[float], list[str]]] = {}
    for row in records:
        value = row.get(metric)
        if value is None or value == "" or not np.isfinite(float(value)):
            continue
        values, subjects = groups.setdefault(key(row), ([], []))
        values.append(float(value))
        subjects.append(f"{row['test_set']}:{row['subject']}")
    out = {}
    for k, (values, subjects) in groups.items():
        ci = mean_ci(np.array(values), groups=np.array(subjects), n_boot=2000)
        out[k] = (ci.mean, ci.low, ci.high, len(values))
    return out


def fmt_ci(entry: tuple[float, float, float, int] | None, digits: int) -> str:
    """``mean [low, high]`` or an en dash when missing."""
    if entry is None:
        return "–"
    mean, low, high, _ = entry
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def metrics_table(
    records: Sequence[dict[str, Any]],
    methods: Sequence[str],
    select: Callable[[dict[str, Any]], bool],
    metrics: Sequence[tuple[str, str, int]] = METRICS,
) -> str:
    """Methods x metrics (mean [95% CI]) over the rows ``select`` keeps."""
    rows = [r for r in records if select(r)]
    stats = {m: summarise(rows, lambda r: r["method"], m) for m, _, _ in metrics}
    n_images = {
        method: sum(1 for r in rows if r["method"] == method and r.get("psnr") not in (None, ""))
        for method in methods
    }
    body = []
    for method in methods:
        cells = [fmt_ci(stats[m].get(method), d) for m, _, d in metrics]
        body.append([method_label(method), *cells, n_images[method]])
    return markdown_table(["method", *[h for _, h, _ in metrics], "images"], body)


def accuracy_table(
    records: Sequence[dict[str, Any]],
    methods: Sequence[str],
    columns: Sequence[tuple[str, Callable[[dict[str, Any]], bool]]],
) -> str:
    """Methods x (label, selector) columns of expression accuracy (mean only, %)."""
    body = []
    for method in methods:
        cells = []
        for _, select in columns:
            values = [
                float(r["correct"])
                for r in records
                if r["method"] == method and select(r) and r.get("correct") not in (None, "")
            ]
            values = [v for v in values if np.isfinite(v)]
            cells.append(f"{100 * np.mean(values):.0f}" if values else "–")
        body.append([method_label(method), *cells])
    return markdown_table(["method", *[name for name, _ in columns]], body)


# Figures -----------------------------------------------------------------------------------


def _to_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(np.rint(image.astype(np.float32) * 255), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return image


def line_plot(
    x: Sequence[float],
    series: Sequence[tuple[str, Sequence[float], tuple[int, int, int]]],
    *,
    hlines: Sequence[tuple[str, float, tuple[int, int, int]]] = (),
    title: str = "",
    xlabel: str = "",
    log_x: bool = True,
    size: tuple[int, int] = (560, 300),
) -> np.ndarray:
    """A small line plot (RGB uint8) drawn with OpenCV.

    Parameters
    ----------
    x : sequence of float
        Abscissae (shared by every series).
    series : sequence of (label, values, rgb colour)
    hlines : sequence of (label, value, rgb colour)
        Dashed horizontal reference lines.
    title, xlabel : str
    log_x : bool
        Logarithmic x axis.
    size : (width, height)
    """
    width, height = size
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 62, 16, 46, 44
    xs = np.log10(np.asarray(x, float)) if log_x else np.asarray(x, float)
    values = [v for _, vals, _ in series for v in vals] + [v for _, v, _ in hlines]
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.08 * (hi - lo) if hi > lo else 1.0
    lo, hi = lo - pad, hi + pad
    x0, x1 = float(xs.min()), float(xs.max())

    def px(xv: float, yv: float) -> tuple[int, int]:
        u = left + (xv - x0) / max(x1 - x0, 1e-9) * (width - left - right)
        v = top + (hi - yv) / (hi - lo) * (height - top - bottom)
        return round(u), round(v)

    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.rectangle(img, (left, top), (width - right, height - bottom), (0, 0, 0), 1)
    for t in np.linspace(lo + pad, hi - pad, 4):
        _, v = px(x0, t)
        cv2.line(img, (left - 4, v), (left, v), (0, 0, 0), 1)
        cv2.putText(img, f"{t:.3g}", (4, v + 4), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for xv, label in zip(xs, x, strict=True):
        u, _ = px(xv, lo)
        cv2.line(img, (u, height - bottom), (u, height - bottom + 4), (0, 0, 0), 1)
        cv2.putText(
            img, f"{label:g}", (u - 10, height - bottom + 18), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA
        )
    cv2.putText(img, xlabel, (width // 2 - 40, height - 6), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, title, (left, 20), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    legend_x = left

    def legend(label: str, colour: tuple[int, int, int], dashed: bool) -> None:
        nonlocal legend_x
        for u in range(legend_x, legend_x + 24, 8 if dashed else 24):
            cv2.line(img, (u, 36), (u + (4 if dashed else 24), 36), colour, 2)
        cv2.putText(img, label, (legend_x + 30, 40), font, 0.42, colour, 1, cv2.LINE_AA)
        legend_x += 40 + 9 * len(label)

    for label, value, colour in hlines:
        u0, v = px(x0, value)
        u1, _ = px(x1, value)
        for u in range(u0, u1, 12):
            cv2.line(img, (u, v), (min(u + 6, u1), v), colour, 2)
        legend(label, colour, dashed=True)
    for label, vals, colour in series:
        points = [px(xv, yv) for xv, yv in zip(xs, vals, strict=True)]
        for a, b in itertools.pairwise(points):
            cv2.line(img, a, b, colour, 2, cv2.LINE_AA)
        for p in points:
            cv2.circle(img, p, 4, colour, -1, cv2.LINE_AA)
        legend(label, colour, dashed=False)
    return img


def stack(images: Sequence[np.ndarray], vertical: bool = True, gap: int = 6) -> np.ndarray:
    """Place RGB images top to bottom (or side by side) on white, aligned top-left."""
    along, across = (0, 1) if vertical else (1, 0)
    shape = [0, 0, 3]
    shape[along] = sum(im.shape[along] for im in images) + gap * (len(images) - 1)
    shape[across] = max(im.shape[across] for im in images)
    out = np.full(shape, 255, np.uint8)
    offset = 0
    for im in images:
        if vertical:
            out[offset : offset + im.shape[0], : im.shape[1]] = im
        else:
            out[: im.shape[0], offset : offset + im.shape[1]] = im
        offset += im.shape[along] + gap
    return out


def blank(size: int = 128) -> np.ndarray:
    """A light grey placeholder cell (no ground truth)."""
    return np.full((size, size, 3), 235, np.uint8)


def write_figure(path: Path, image: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG or JPEG (quality 90) by ``path``'s suffix.

    Deterministic: equal pixels give equal bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if path.suffix.lower() in (".jpg", ".jpeg") else []
    bgr = cv2.cvtColor(_to_uint8(image), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(path.suffix, bgr, params)
    if not ok:
        raise OSError(f"could not encode {path}")
    path.write_bytes(data.tobytes())
