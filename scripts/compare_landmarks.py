"""Compare offline face-landmark backends on the shared data sets.

For every backend: landmark error on the London Set against its manual 189-point
templates (five canonical points, error / inter-ocular distance), detection rate and time
per image on london, ckplus128, taiwanese256 and wild. Prints a Markdown table.

    .venv/bin/python scripts/compare_landmarks.py [--backends yunet,mtcnn] [--max-per-set N]

Backends whose package is missing are reported as unavailable. ``mediapipe`` (needs
numpy<2) and ``dlib`` run from a separate environment that has them; the script puts the
checkout's ``src`` on the path so the pixelfes package need not be installed there.

Ground truth (indices into the 189-point WebMorph/Psychomorph template, 0-based):
left eye centre = point 0 (image-left pupil), right eye centre = point 1; nose tip = mean of
points 54, 55, 60 (the two alar points at tip height and the lowest point of the tip);
mouth corners = points 87 (image left) and 93 (image right). Inter-ocular distance is the
distance between points 0 and 1.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from PIL import Image  # noqa: E402

from pixelfes.config import data_root  # noqa: E402

GT_EYES = (0, 1)
GT_NOSE = (54, 55, 60)
GT_MOUTH = (87, 93)


def read_tem(path: Path) -> np.ndarray:
    lines = path.read_text().split("\n")
    n = int(lines[0])
    return np.array([[float(v) for v in ln.split()[:2]] for ln in lines[1 : n + 1]])


def gt_five(tem: np.ndarray) -> np.ndarray:
    return np.stack(
        [
            tem[GT_EYES[0]],
            tem[GT_EYES[1]],
            tem[list(GT_NOSE)].mean(axis=0),
            tem[GT_MOUTH[0]],
            tem[GT_MOUTH[1]],
        ]
    )


def load_rgb(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


# ---------------------------------------------------------------- backends


def _pad_retry(fn, rgb: np.ndarray, pad: float = 0.25):
    """Run fn(rgb) -> list of (5,2) arrays; retry on a grey-padded copy when nothing found."""
    faces = fn(rgb)
    if faces:
        return faces
    import cv2

    p = max(1, round(pad * max(rgb.shape[:2])))
    padded = cv2.copyMakeBorder(rgb, p, p, p, p, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    return [f - p for f in fn(padded)]


def make_yunet(max_side: int, refine: str | None = None):
    from pixelfes.faces import YuNetDetector

    det = YuNetDetector(max_side=max_side, refine=refine)
    return lambda rgb: [f.points for f in det.detect(rgb)]


def make_haar():
    from pixelfes.faces import HaarONetDetector

    det = HaarONetDetector()
    return lambda rgb: [f.points for f in det.detect(rgb)]


def make_mtcnn():
    from pixelfes.faces import MTCNNDetector

    det = MTCNNDetector()
    return lambda rgb: [f.points for f in det.detect(rgb)]


def make_mediapipe():
    import mediapipe as mp

    mesh = mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True,
        max_num_faces=4,
        refine_landmarks=True,
        min_detection_confidence=0.5,
    )

    def run(rgb):
        res = mesh.process(np.ascontiguousarray(rgb))
        out = []
        h, w = rgb.shape[:2]
        for lm in res.multi_face_landmarks or []:
            p = np.array([[q.x * w - 0.5, q.y * h - 0.5] for q in lm.landmark])
            # 468 and 473 are iris centres (image-left is the subject's right: 468);
            # 1 nose tip; 61 and 291 mouth corners.
            out.append(np.stack([p[468], p[473], p[1], p[61], p[291]]))
        return out

    return lambda rgb: _pad_retry(run, rgb)


def make_dlib():
    import dlib
    import face_recognition_models as frm

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(frm.pose_predictor_model_location())

    def run(rgb):
        out = []
        for rect in detector(np.ascontiguousarray(rgb), 1):
            s = predictor(rgb, rect)
            p = np.array([[s.part(i).x, s.part(i).y] for i in range(68)], dtype=np.float64)
            out.append(np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]]))
        return out

    return lambda rgb: _pad_retry(run, rgb)


def make_default():
    from pixelfes.faces import YuNetDetector

    det = YuNetDetector()  # the library default (320 px + O-net, 640 px retry)
    return lambda rgb: [f.points for f in det.detect(rgb)]


BACKENDS = {
    "default": make_default,
    "yunet": lambda: make_yunet(640),
    "yunet320": lambda: make_yunet(320),
    "yunet+onet": lambda: make_yunet(640, "onet"),
    "yunet320+onet": lambda: make_yunet(320, "onet"),
    "haar+onet": make_haar,
    "mtcnn": make_mtcnn,
    "mediapipe": make_mediapipe,
    "dlib": make_dlib,
}


# ---------------------------------------------------------------- data sets


def image_sets(root: Path, max_per_set: int) -> dict[str, list[str]]:
    def sub(files):
        files = sorted(files)
        if max_per_set and len(files) > max_per_set:
            idx = np.linspace(0, len(files) - 1, max_per_set).round().astype(int)
            files = [files[i] for i in idx]
        return files

    ck = [
        f
        for f in glob.glob(str(root / "ckplus128" / "*" / "*.png"))
        if not re.search(r"_\d{9}\.png$", f)
    ]
    return {
        "london": sorted(glob.glob(str(root / "london" / "neutral" / "*.jpg"))),
        "ckplus128": sub(ck),
        "taiwanese256": sub(glob.glob(str(root / "taiwanese256" / "faces_256x256" / "*.jpg"))),
        "wild": sorted(
            glob.glob(str(root / "wild" / "*.jpg")) + glob.glob(str(root / "wild" / "*.png"))
        ),
    }


def evaluate(name: str, run, sets: dict[str, list[str]]) -> dict:
    res: dict = {"backend": name}
    run(load_rgb(sets["london"][0]))  # warm up
    for set_name, files in sets.items():
        found, times, errs, counts = 0, [], [], []
        for f in files:
            rgb = load_rgb(f)
            t = time.perf_counter()
            faces = run(rgb)
            times.append(time.perf_counter() - t)
            counts.append(len(faces))
            found += bool(faces)
            if set_name == "london" and faces:
                gt = gt_five(read_tem(Path(f).with_suffix(".tem")))
                iod = np.hypot(*(gt[1] - gt[0]))
                best = min(faces, key=lambda p: np.hypot(*(p[:2].mean(0) - gt[:2].mean(0))))
                errs.append(np.hypot(*(best - gt).T) / iod)
        res[set_name] = {
            "rate": found / max(len(files), 1),
            "n": len(files),
            "ms": 1000 * float(np.mean(times)) if times else float("nan"),
            "counts": counts,
        }
        if set_name == "london":
            e = np.array(errs) if errs else np.full((1, 5), np.nan)
            res["nme"] = float(e.mean())
            res["nme_median"] = float(np.median(e.mean(axis=1)))
            res["nme_max"] = float(e.mean(axis=1).max())
            res["per_point"] = e.mean(axis=0)
    return res


def contact_sheet(sets: dict[str, list[str]], names: list[str], out: str, per_set: int) -> None:
    """Grid of aligned 128x128 crops (default backend) with the template points marked."""
    import cv2

    from pixelfes.faces import align, face_mask, template_points

    tiles = []
    tpl = template_points(128)
    ring = (face_mask(128) > 0.5).astype(np.uint8)
    contour, _ = cv2.findContours(ring, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    for name in names:
        files = sets[name]
        picks = [files[i] for i in np.linspace(0, len(files) - 1, per_set).round().astype(int)]
        for f in picks:
            try:
                crop = align(load_rgb(f), 128, largest_only=True, min_face=0)[0].crop.copy()
            except Exception:
                crop = np.zeros((128, 128, 3), np.uint8)
            crop = np.ascontiguousarray(crop)
            cv2.drawContours(crop, contour, -1, (255, 255, 0), 1)
            for x, y in tpl:
                cv2.drawMarker(crop, (round(x), round(y)), (0, 255, 0), cv2.MARKER_CROSS, 7, 1)
            tiles.append(crop)
    cols = per_set
    rows = -(-len(tiles) // cols)
    sheet = np.full((rows * 130, cols * 130, 3), 255, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        sheet[r * 130 + 1 : r * 130 + 129, c * 130 + 1 : c * 130 + 129] = t
    Image.fromarray(sheet).save(out)
    print(f"# contact sheet: {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--backends", default="yunet+onet,yunet320+onet,yunet,yunet320,mtcnn,mediapipe,dlib"
    )
    ap.add_argument(
        "--max-per-set",
        type=int,
        default=300,
        help="evenly spaced subsample of ckplus128/taiwanese256 (0 = all)",
    )
    ap.add_argument("--contact-sheet", metavar="PNG", help="write a sheet of aligned crops")
    ap.add_argument(
        "--sheet-sets",
        default="london",
        help="sets in the sheet (CK+/Taiwanese are research-only: never commit)",
    )
    ap.add_argument("--sheet-per-set", type=int, default=8)
    args = ap.parse_args()
    root = data_root()
    if root is None:
        sys.exit("shared data not found (set PIXELFES_DATA)")
    sets = image_sets(root, args.max_per_set)
    print(f"# data: {root}; images: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()))
    print(
        f"# python {sys.version.split()[0]}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )
    if args.contact_sheet:
        contact_sheet(sets, args.sheet_sets.split(","), args.contact_sheet, args.sheet_per_set)
        return
    rows = []
    for name in args.backends.split(","):
        try:
            run = BACKENDS[name]()
        except ImportError as exc:
            print(f"# {name}: unavailable ({exc})")
            continue
        rows.append(evaluate(name, run, sets))
        r = rows[-1]
        print(f"# {name} done; wild faces per image: {r['wild']['counts']}", flush=True)
    print()
    print(
        "| backend | London NME (mean / median / max) | per point: eyeL eyeR nose mouthL "
        "mouthR | detected london / ckplus128 / taiwanese256 / wild | ms per image "
        "london / ckplus128 / taiwanese256 / wild |"
    )
    print("|---|---|---|---|---|")
    for r in rows:
        pp = " ".join(f"{v:.3f}" for v in r["per_point"])
        det = " / ".join(
            f"{r[s]['rate'] * 100:.1f}%" for s in ("london", "ckplus128", "taiwanese256")
        )
        det += f" / {sum(r['wild']['counts'])} faces in {r['wild']['n']}"
        ms = " / ".join(
            f"{r[s]['ms']:.1f}" for s in ("london", "ckplus128", "taiwanese256", "wild")
        )
        print(
            f"| {r['backend']} | {r['nme']:.3f} / {r['nme_median']:.3f} / {r['nme_max']:.3f} "
            f"| {pp} | {det} | {ms} |"
        )


if __name__ == "__main__":
    main()
