"""Rows of the leave-one-dataset-out table: the geometry-aware row, extra methods, partial
re-runs (``--methods``), labels of unknown methods and the targets of the default models.

Synthetic data throughout: a square on a flat face and a stand-in landmark detector that
follows it (no face mesh, no learned judges).
"""

from __future__ import annotations

import numpy as np
import pytest

from pixelfes.evaluation import lodo, lodo_suite
from pixelfes.evaluation.judges import Judges
from pixelfes.evaluation.lodo_geometry import GeometryMethod, LandmarkCache
from pixelfes.evaluation.lodo_report import headline_markdown, headline_table, targets
from pixelfes.evaluation.protocols import PairSet
from pixelfes.faces.landmarks import STABLE_POINTS
from pixelfes.metrics import batch_psnr
from pixelfes.models import PixelRidge

SIZE = 64
_SIDE = np.linspace(-18, 18, 22)
_ANGLES = np.linspace(0, 2 * np.pi, len(STABLE_POINTS), endpoint=False)
#: Where the stand-in mesh's stable points sit: a still rim just outside the crop.
RIM = SIZE / 2 + 46 * np.stack([np.cos(_ANGLES), np.sin(_ANGLES)], axis=1)
#: 468 points on a grid around the crop's centre, the stable ones on the rim: the
#: stand-in face mesh.
BASE = np.stack(np.meshgrid(_SIDE, _SIDE), -1).reshape(-1, 2)[:468] + SIZE / 2
BASE[list(STABLE_POINTS)] = RIM


def square_face(cx: float, cy: float, channels: int) -> np.ndarray:
    face = np.full((SIZE, SIZE, channels), 150, np.uint8)
    face[int(cy) - 4 : int(cy) + 4, int(cx) - 4 : int(cx) + 4] = 30
    return face


def follow_square(crop: np.ndarray) -> np.ndarray:
    """The mesh moved with the dark square, the face (its stable points) still: a landmark
    detector for the synthetic faces."""
    ys, xs = np.nonzero(crop[..., 0] < 90)
    points = BASE + np.array([xs.mean() + 0.5, ys.mean() + 0.5]) - SIZE / 2
    points[list(STABLE_POINTS)] = RIM
    return points


def square_pairs(n: int, channels: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Squares anywhere in a 12-pixel box; the target's square is 5 pixels lower."""
    centres = np.random.default_rng(seed).uniform(26, 38, (n, 2)).round()
    X = np.stack([square_face(x, y, channels) for x, y in centres])
    T = np.stack([square_face(x, y + 5, channels) for x, y in centres])
    return X, T


class Constant:
    """A stand-in method: every output pixel is ``value`` (records its fits)."""

    def __init__(self, id: str, value: float, label: str = "") -> None:
        self.id, self.value, self.fits = id, value, []
        if label:
            self.label = label

    def fit(self, X, T):
        self.fits.append(len(X))
        return self

    def predict(self, X):
        return np.full(X.shape, self.value, np.float32)


def test_geometry_row_moves_what_a_per_pixel_model_cannot():
    X, T = square_pairs(24, 1, seed=0)  # training pairs are pooled on their luma
    cache = LandmarkCache(follow_square)
    geometry = GeometryMethod(Constant("bundled", 0.0), cache)
    geometry.fit(X, T, groups=[f"london:{i}" for i in range(len(X))])
    for channels in (3, 1):  # a colour and a grey held-out set
        Xt, Tt = square_pairs(8, channels, seed=channels)
        out = geometry.predict(Xt)
        assert out.shape == Xt.shape and out.dtype == np.float32
        plain = lodo.methods("happy", 0.4, 1.0, landmarks=cache)[2].fit(X, T).predict(Xt)
        psnr = {
            name: float(batch_psnr(np.clip(y, 0, 1), Tt / 255.0).mean())
            for name, y in (("input", Xt / 255.0), ("plain", plain), ("geometry", out))
        }
        assert psnr["geometry"] > psnr["plain"] + 10 and psnr["geometry"] > psnr["input"] + 10
        assert "0 faces given to the plain recipe" in geometry.note_
    # the detector ran once per distinct crop, across fit, predictions and channel counts
    distinct = {c.tobytes() for c in np.repeat(np.concatenate([X, T]), 3, axis=-1)}
    distinct |= {c.tobytes() for c in square_pairs(8, 3, seed=3)[0]}
    distinct |= {c.tobytes() for c in np.repeat(square_pairs(8, 1, seed=1)[0], 3, axis=-1)}
    assert cache.n_detected == len(distinct)


def test_a_face_the_mesh_cannot_follow_gets_the_plain_recipe():
    X, T = square_pairs(16, 1, seed=0)
    flat = np.full((1, SIZE, SIZE, 3), 150, np.uint8)  # no square: the landmarks are NaN
    fallback = Constant("bundled", 0.25)
    geometry = GeometryMethod(fallback, LandmarkCache(follow_square)).fit(X, T)
    with pytest.warns(RuntimeWarning):  # the mean of an empty slice
        out = geometry.predict(np.concatenate([square_pairs(2, 3, seed=5)[0], flat]))
    np.testing.assert_array_equal(out[2], 0.25)
    assert fallback.fits == [16] and "1 faces given to the plain recipe" in geometry.note_
    assert np.abs(out[:2] - 0.25).min() > 0.1


def pair_set(dataset: str, n: int, channels: int, seed: int) -> PairSet:
    X, T = square_pairs(n, channels, seed)
    subjects = [f"{dataset}:{i}" for i in range(n)]
    return PairSet(X, T, subjects, [f"{i}.png" for i in range(n)], dataset, "happy")


@pytest.fixture
def small_run(monkeypatch):
    """run_lodo on three synthetic sets, two built-in methods and cheap judges."""
    sets = {
        "london": pair_set("london", 5, 3, 0),
        "ckplus": pair_set("ckplus", 4, 1, 1),
        "taiwanese": pair_set("taiwanese", 6, 3, 2),
    }
    monkeypatch.setattr("pixelfes.evaluation.pairs.load_sets", lambda *a, **k: dict(sets))
    monkeypatch.setattr(lodo_suite, "Judges", lambda: Judges((), identity=False, lpips=False))
    # One face mesh for every crop: the targets' pose is the inputs' (no move).
    points = np.random.default_rng(9).uniform(2, 14, (468, 2))
    monkeypatch.setattr(
        "pixelfes.evaluation.lodo_geometry.LandmarkCache", lambda: LandmarkCache(lambda c: points)
    )
    builtin = [
        lodo.LumaMethod(lodo.INPUT, lambda X, T: lambda y: y / np.float32(255)),
        lodo.LumaMethod("pixel_rr", lodo._model_fit(lambda: PixelRidge())),
    ]
    monkeypatch.setattr(lodo, "methods", lambda *a, **k: builtin)
    return lodo_suite.LodoSettings(expressions=("happy",), max_test_per_subject=None)


def test_extra_methods_get_every_split_and_partial_runs_replace_only_their_rows(
    small_run, tmp_path
):
    extras = []

    def extra_methods(split):
        assert lodo.dataset_of(split.train.subjects[0]) != split.held_out
        extras.append(Constant("stargan", 0.5, label="StarGAN (test)"))
        return [extras[-1]]

    lodo_suite.run_lodo(
        tmp_path, settings=small_run, log=lambda _: None, extra_methods=extra_methods
    )
    first = lodo_suite.read_scores(tmp_path / lodo_suite.SCORES)
    assert [e.fits for e in extras] == [[10], [11], [9]]  # every training pair of each split
    assert {r["label"] for r in first if r["method"] == "stargan"} == {"StarGAN (test)"}
    assert "| StarGAN (test) |" in headline_table(first)
    assert (tmp_path / "figures" / "lodo_happy_london.jpg").is_file()
    text = lodo_suite.write_results_md(tmp_path).read_text()
    assert "| StarGAN (test) |" in text and "[baselines.md](baselines.md)" in text
    assert "[geometry.md](geometry.md)" in text and "## GAN baselines" not in text
    assert lodo_suite.write_results_md(tmp_path).read_text() == text

    def darker(split):
        return [Constant("stargan", 0.1, label="StarGAN (test)")]

    partial = lodo_suite.LodoSettings(("happy",), max_test_per_subject=None, methods=("stargan",))
    done = lodo_suite.run_lodo(tmp_path, settings=partial, log=lambda _: None, extra_methods=darker)
    second = lodo_suite.read_scores(tmp_path / lodo_suite.SCORES)
    assert set(done["seconds"]) == {"stargan"} and done["n_rows"] == len(first)
    assert [r for r in second if r["method"] != "stargan"] == [
        r for r in first if r["method"] != "stargan"
    ]
    new = [float(r["psnr"]) for r in second if r["method"] == "stargan"]
    old = [float(r["psnr"]) for r in first if r["method"] == "stargan"]
    assert len(new) == len(old) and new != old

    with pytest.raises(ValueError, match="unknown method ids"):
        lodo_suite.run_lodo(
            tmp_path,
            settings=lodo_suite.LodoSettings(("happy",), methods=("pixel_rr", "nope")),
            log=lambda _: None,
        )
    other_images = lodo_suite.LodoSettings(("happy",), max_test=3, methods=("pixel_rr",))
    with pytest.raises(ValueError, match="other test images"):
        lodo_suite.run_lodo(tmp_path, settings=other_images, log=lambda _: None)
    assert lodo_suite.read_scores(tmp_path / lodo_suite.SCORES) == second  # nothing written


def test_a_partial_run_needs_stored_scores(small_run, tmp_path):
    small_run.methods = ("pixel_rr",)
    with pytest.raises(FileNotFoundError, match="run every method first"):
        lodo_suite.run_lodo(tmp_path, settings=small_run, log=lambda _: None)


def record(method, label="", fer=1.0, facex=1.0, distance=0.3, ghost=0.1, old=0.5, held="ckplus"):
    return {
        "expression": "happy",
        "held_out": held,
        "train_sets": "a+b",
        "n_train": "10",
        "method": method,
        "label": label,
        "subject": "s",
        "fer_hit": fer,
        "facex_hit": facex,
        "id_input": distance,
        "psnr": 20.0,
        "ghost": ghost,
        "old_contours": old,
        "sharpness": 0.8,
    }


def test_unknown_methods_are_shown_by_label_or_id_in_a_stable_order():
    records = [
        record("zeta"),
        record("stargan", "StarGAN"),
        record("pixel_rr"),
        record(lodo.REAL_TARGET),
    ]
    lines = headline_table(records).splitlines()[2:]
    assert [line.split(" | ")[2] for line in lines] == [
        "real target (ceiling)",
        "Pixel-RR",
        "StarGAN",
        "zeta",
    ]
    assert headline_table(records[::-1]) == headline_table(records)
    assert lines[1].endswith("| 0.80 | 0.10 | 0.50 |")  # sharpness, ghost, old contours


def test_targets_check_the_default_model_against_the_ceiling_and_plain_pixel_rr():
    ceiling = [record(lodo.REAL_TARGET)] * 10
    plain = [record("pixel_rr", fer=0.0, facex=0.0, ghost=0.3, old=0.7)] * 10
    geometry = [
        record("geometry", fer=1.0, facex=float(i < 9), ghost=0.1, old=0.2) for i in range(10)
    ]
    lines = targets(ceiling + plain + geometry, {"happy": "geometry"})
    assert lines[0].startswith("- happy, ckplus held out, geometry-aware: FER2013 1.00, facex 0.90")
    assert "both: met); identity kept 100% (target 95%: met)" in lines[0]
    assert "old contours kept 0.20 vs 0.70 for Pixel-RR (target: fewer: met)" in lines[0]
    assert lines[0].endswith("ghost edges 0.10 vs 0.30.")
    worse = [record("geometry", facex=float(i < 8), ghost=0.4, old=0.7) for i in range(10)]
    line = targets(ceiling + plain + worse, {"happy": "geometry"})[0]
    assert "both: not met); identity" in line and "(target: fewer: not met)" in line
    assert "no `geometry` row" in targets(ceiling + plain, {"happy": "geometry"})[0]
    assert "bundled" in targets(ceiling + plain)[0]  # the plain recipe by default
    sad = [dict(r, expression="sad") for r in ceiling + plain + geometry]
    assert "mean 10 points higher: met)" in targets(sad, {"sad": "geometry"})[0]
    close = [
        dict(r, expression="sad", fer_hit=0.0, facex_hit=float(i < 1))
        for i, r in enumerate(geometry)
    ]
    assert "higher: not met)" in targets(sad[:20] + close, {"sad": "geometry"})[0]
    text = headline_markdown(ceiling + plain + geometry, defaults={"happy": "geometry"})
    assert "default model of each expression (happy: geometry-aware)" in text


def test_defaults_follow_the_preferred_variant(monkeypatch):
    from pixelfes import editing
    from pixelfes.pretrained import find_bundled

    preferred = editing.PREFERRED_VARIANT  # one variant per expression
    for expression, method in lodo_suite.default_methods().items():
        variant = preferred.get(expression)
        bundled = variant is not None and find_bundled(f"{expression}-{variant}") is not None
        assert method == (variant if bundled else "bundled")
    monkeypatch.setattr(editing, "PREFERRED_VARIANT", "no-such-variant")
    assert set(lodo_suite.default_methods().values()) == {"bundled"}
    if find_bundled("happy-geometry") is not None:
        monkeypatch.setattr(editing, "PREFERRED_VARIANT", {"happy": "geometry"})
        assert lodo_suite.default_methods()["happy"] == "geometry"
        assert lodo_suite.default_methods()["sad"] == "bundled"
