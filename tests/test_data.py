"""pixelfes.data on generated folders: vocabulary, pair discovery, splits, aligned loading."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import pixelfes.data.cache as cache_mod
from pixelfes.data import (
    EXPRESSIONS,
    Pair,
    find_pairs,
    load_pairs,
    normalise_expression,
    subject_kfold,
    subject_train_test_split,
)
from pixelfes.exceptions import DatasetError, NoFaceError

# -- helpers --------------------------------------------------------------------------


def write_png(path: Path, value: int = 128, size: int = 24, gray: bool = False) -> Path:
    """A tiny image; ``value`` 0 makes an all-black one the fake aligner sees as faceless."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    shape = (size, size) if gray else (size, size, 3)
    arr = np.full(shape, value, np.uint8)
    if value:
        arr = (arr + rng.integers(0, 40, shape)).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


class FakeAligner:
    """Centre crop + nearest resize; "no face" for an all-black image. Counts its calls."""

    cache_id = "fake-centre-crop-v1"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image: np.ndarray, size: int) -> np.ndarray | None:
        self.calls += 1
        if not image.any():
            return None
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = image[top : top + side, left : left + side]
        idx = np.arange(size) * side // size
        return np.ascontiguousarray(square[idx][:, idx])


@pytest.fixture
def flat(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    for i, subject in enumerate(["alice", "bob", "carol_x"]):
        write_png(folder / f"{subject}_neutral.png", 50 + i)
        write_png(folder / f"{subject}_happy.png", 100 + i)
    write_png(folder / "alice_sad.png", 30)
    (folder / "notes.txt").write_text("not an image")
    return folder


# -- expressions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("happiness", "happy"),
        ("Smiling", "happy"),
        ("sadness", "sad"),
        ("angry", "anger"),
        ("disgusted", "disgust"),
        ("fearful", "fear"),
        ("surprised", "surprise"),
        (" contempt ", "contempt"),
        ("a", "neutral"),
        ("b", "happy"),
        ("c", "sad"),
        ("d", "anger"),
        ("e", "disgust"),
        ("f", "fear"),
        ("g", "surprise"),
    ],
)
def test_normalise_expression_maps_dataset_names(label, expected):
    assert normalise_expression(label) == expected


def test_canonical_names_map_to_themselves():
    assert [normalise_expression(e) for e in EXPRESSIONS] == list(EXPRESSIONS)


def test_unknown_label_lists_valid_names():
    with pytest.raises(DatasetError, match=r"'hapy'.*neutral, happy, sad"):
        normalise_expression("hapy")
    with pytest.raises(DatasetError, match="string"):
        normalise_expression(3)


# -- generic folder: flat <subject>_<expression>.<ext> --------------------------------


def test_flat_layout_pairs_per_subject(flat):
    pairs = find_pairs(flat)
    assert [p.subject for p in pairs] == ["mine:alice", "mine:bob", "mine:carol_x"]
    assert all(p.dataset == "mine" for p in pairs)
    assert pairs[0].input_path.name == "alice_neutral.png"
    assert pairs[0].target_path.name == "alice_happy.png"
    back = find_pairs(str(flat), source="smiling", target="neutral")
    assert back[0] == Pair(
        "mine",
        "mine:alice",
        "happy",
        "neutral",
        flat / "alice_happy.png",
        flat / "alice_neutral.png",
    )


def test_flat_layout_unpaired_says_which_side_is_missing(flat):
    with pytest.raises(DatasetError) as e:
        find_pairs(flat, source="neutral", target="sad")
    message = str(e.value)
    assert "bob_neutral.png (missing target: bob_sad.*)" in message
    assert "carol_x_neutral.png (missing target: carol_x_sad.*)" in message
    assert "alice" not in message
    write_png(flat / "bob_anger.png", 60)
    write_png(flat / "carol_x_sad.png", 61)
    write_png(flat / "carol_x_angry.png", 62)
    with pytest.raises(DatasetError) as e:
        find_pairs(flat, source="sad", target="angry")
    message = str(e.value)
    assert "alice_sad.png (missing target: alice_anger.*)" in message
    assert "bob_anger.png (missing input: bob_sad.*)" in message
    assert "carol" not in message


def test_flat_layout_unknown_label_names_the_file(flat):
    write_png(flat / "dave_hapy.png")
    with pytest.raises(DatasetError, match=r"dave_hapy\.png \(unknown expression 'hapy'\)"):
        find_pairs(flat)


def test_flat_layout_name_without_label(flat):
    write_png(flat / "portrait.jpg")
    with pytest.raises(DatasetError, match=r"portrait\.jpg.*<subject>_<expression>"):
        find_pairs(flat)


def test_flat_layout_duplicate_name(flat):
    write_png(flat / "bob_neutral.jpg")
    with pytest.raises(DatasetError, match="share one name"):
        find_pairs(flat)


def test_flat_layout_without_the_expressions(flat):
    with pytest.raises(
        DatasetError, match=r"no neutral -> fear pairs.*present: happy, neutral, sad"
    ):
        find_pairs(flat, target="fear")


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("x")
    with pytest.raises(DatasetError, match="no images in"):
        find_pairs(tmp_path / "empty")
    with pytest.raises(DatasetError, match="not found"):
        find_pairs(tmp_path / "nope")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(DatasetError, match="not a folder"):
        find_pairs(tmp_path / "file.png")


def test_same_source_and_target_rejected(flat):
    with pytest.raises(DatasetError, match="both 'happy'"):
        find_pairs(flat, source="smiling", target="happiness")


# -- generic folder: input/ + target/ -------------------------------------------------


def test_input_target_layout(tmp_path):
    root = tmp_path / "set"
    write_png(root / "input" / "p1.png", 10)
    write_png(root / "target" / "p1.jpg", 20)
    write_png(root / "input" / "maria" / "take1.png", 30)
    write_png(root / "target" / "maria" / "take1.png", 40)
    write_png(root / "input" / "maria" / "take2.png", 50)
    write_png(root / "target" / "maria" / "take2.png", 60)
    pairs = find_pairs(root, source="neutral", target="surprised")
    assert [p.subject for p in pairs] == ["set:maria", "set:maria", "set:p1"]
    assert {p.target_expression for p in pairs} == {"surprise"}
    assert pairs[2].target_path == root / "target" / "p1.jpg"


def test_input_target_layout_unpaired_both_ways(tmp_path):
    root = tmp_path / "set"
    write_png(root / "input" / "a.png")
    write_png(root / "input" / "b.png")
    write_png(root / "target" / "a.png")
    write_png(root / "target" / "c.png")
    with pytest.raises(DatasetError) as e:
        find_pairs(root)
    message = str(e.value)
    assert "b.png (missing target)" in message
    assert "c.png (missing input)" in message
    assert "a.png" not in message


def test_input_target_layout_missing_or_empty_side(tmp_path):
    root = tmp_path / "set"
    write_png(root / "input" / "a.png")
    with pytest.raises(DatasetError, match="no target/ folder"):
        find_pairs(root)
    (root / "target").mkdir()
    with pytest.raises(DatasetError, match=r"no images in .*target"):
        find_pairs(root)


def test_combined_folders_are_namespaced(tmp_path, flat):
    other = tmp_path / "other"
    write_png(other / "alice_neutral.png")
    write_png(other / "alice_happy.png")
    pairs = find_pairs([flat, other])
    assert {p.subject for p in pairs} >= {"mine:alice", "other:alice"}
    clash = tmp_path / "x" / "mine"
    write_png(clash / "z_neutral.png")
    write_png(clash / "z_happy.png")
    with pytest.raises(DatasetError, match="share the name 'mine'"):
        find_pairs([flat, clash])
    with pytest.raises(DatasetError, match="no dataset"):
        find_pairs([])


# -- splits ---------------------------------------------------------------------------

subject_lists = st.lists(st.sampled_from([f"s{i}" for i in range(12)]), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(subjects=subject_lists, k=st.integers(2, 6), seed=st.integers(0, 3))
def test_kfold_is_subject_disjoint_and_balanced(subjects, k, seed):
    n_subjects = len(set(subjects))
    if k > n_subjects:
        with pytest.raises(DatasetError, match=f"{k} subject-disjoint folds"):
            subject_kfold(subjects, k=k, seed=seed)
        return
    folds = subject_kfold(subjects, k=k, seed=seed)
    assert len(folds) == k
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(len(subjects)))  # test parts partition
    for train, test in folds:
        assert len(test) > 0
        assert not {subjects[i] for i in train} & {subjects[i] for i in test}
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(subjects)))
    sizes = [len(test) for _, test in folds]
    largest = max(subjects.count(s) for s in set(subjects))
    assert max(sizes) - min(sizes) <= largest
    again = subject_kfold(subjects, k=k, seed=seed)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))


def test_kfold_fold_sizes_even_for_one_pair_per_subject():
    subjects = [f"london:{i:03d}" for i in range(102)]
    assert sorted(len(t) for _, t in subject_kfold(subjects, k=5)) == [20, 20, 20, 21, 21]
    assert not np.array_equal(
        subject_kfold(subjects, seed=0)[0][1], subject_kfold(subjects, seed=1)[0][1]
    )


def test_kfold_errors():
    with pytest.raises(DatasetError, match="k <= 2"):
        subject_kfold(["a", "a", "b"], k=3)
    with pytest.raises(DatasetError, match="k must be"):
        subject_kfold(["a", "b"], k=1)
    with pytest.raises(DatasetError, match="empty"):
        subject_kfold([], k=2)


@settings(max_examples=60, deadline=None)
@given(subjects=subject_lists, seed=st.integers(0, 3), test_size=st.floats(0.05, 0.95))
def test_train_test_split_is_subject_disjoint(subjects, seed, test_size):
    if len(set(subjects)) < 2:
        with pytest.raises(DatasetError, match="at least 2"):
            subject_train_test_split(subjects, test_size, seed)
        return
    train, test = subject_train_test_split(subjects, test_size, seed)
    assert len(train) and len(test)
    assert not {subjects[i] for i in train} & {subjects[i] for i in test}
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(subjects)))
    again = subject_train_test_split(subjects, test_size, seed)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])


def test_train_test_split_sizes_and_errors():
    subjects = [f"s{i}" for i in range(10) for _ in range(3)]
    _, test = subject_train_test_split(subjects, test_size=0.2)
    assert len({subjects[i] for i in test}) == 2
    _, test = subject_train_test_split(subjects, test_size=3)
    assert len({subjects[i] for i in test}) == 3
    for bad in (0, 10, 1.0, 0.0, True):
        with pytest.raises(DatasetError, match="test_size"):
            subject_train_test_split(subjects, test_size=bad)


# -- load_pairs and the cache ---------------------------------------------------------


def _entries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_load_pairs_shapes_and_grayscale(tmp_path, flat):
    write_png(flat / "dave_neutral.png", 70, gray=True)
    write_png(flat / "dave_happy.png", 80, gray=True)
    aligner = FakeAligner()
    data = load_pairs(find_pairs(flat), size=16, aligner=aligner, cache=tmp_path / "c")
    assert data.X.shape == data.T.shape == (4, 16, 16, 3)
    assert data.X.dtype == np.uint8
    assert data.subjects == ["mine:alice", "mine:bob", "mine:carol_x", "mine:dave"]
    gray = data.X[3]
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 0], gray[..., 2])
    assert (data.n_aligned, data.n_cached, len(data)) == (8, 0, 4)


def test_second_load_does_not_call_the_aligner(tmp_path, flat):
    pairs = find_pairs(flat)
    first, second = FakeAligner(), FakeAligner()
    a = load_pairs(pairs, size=16, aligner=first, cache=tmp_path / "c")
    b = load_pairs(pairs, size=16, aligner=second, cache=tmp_path / "c")
    assert first.calls == 6 and second.calls == 0 and b.n_cached == 6
    assert np.array_equal(a.X, b.X) and np.array_equal(a.T, b.T)
    assert all(p.suffix == ".npz" for p in _entries(tmp_path / "c"))


def test_cache_key_follows_content_size_and_aligner(tmp_path, flat):
    pairs = find_pairs(flat)
    cache = tmp_path / "c"
    load_pairs(pairs, size=16, aligner=FakeAligner(), cache=cache)
    # Touching (mtime) or moving the files keeps the cache; the key is the content.
    os.utime(flat / "bob_happy.png", (1, 1))
    moved = tmp_path / "moved" / "mine"
    moved.parent.mkdir()
    flat.rename(moved)
    counting = FakeAligner()
    load_pairs(find_pairs(moved), size=16, aligner=counting, cache=cache)
    assert counting.calls == 0
    write_png(moved / "bob_happy.png", 200)  # new content
    load_pairs(find_pairs(moved), size=16, aligner=counting, cache=cache)
    assert counting.calls == 1
    load_pairs(find_pairs(moved), size=20, aligner=counting, cache=cache)
    assert counting.calls == 7
    load_pairs(find_pairs(moved), size=16, aligner=counting, aligner_id="other", cache=cache)
    assert counting.calls == 13


def test_faceless_and_unreadable_images_are_skipped_with_reasons(tmp_path, flat):
    write_png(flat / "bob_happy.png", 0)  # all black: no face for the fake aligner
    (flat / "carol_x_neutral.png").write_bytes(b"not a png")

    def raising(image, size):
        raise NoFaceError("too dark")

    data = load_pairs(find_pairs(flat), size=16, aligner=FakeAligner(), cache=tmp_path / "c")
    assert data.subjects == ["mine:alice"]
    reasons = {s.pair.subject: (s.path.name, s.reason) for s in data.skipped}
    assert reasons["mine:bob"][0] == "bob_happy.png"
    assert "no face found" in reasons["mine:bob"][1]
    assert reasons["mine:carol_x"][0] == "carol_x_neutral.png"
    assert "unreadable" in reasons["mine:carol_x"][1]
    only_faceless = load_pairs(find_pairs(flat), 16, aligner=raising, aligner_id="r", cache=False)
    assert any("too dark" in s.reason for s in only_faceless.skipped)
    # The "no face" answer is cached too; unreadable files are not.
    counting = FakeAligner()
    load_pairs(find_pairs(flat), size=16, aligner=counting, cache=tmp_path / "c")
    assert counting.calls == 0


def test_nothing_loaded_gives_empty_arrays(tmp_path):
    folder = tmp_path / "dark"
    write_png(folder / "a_neutral.png", 0)
    write_png(folder / "a_happy.png", 0)
    data = load_pairs(find_pairs(folder), size=16, aligner=FakeAligner(), cache=False)
    assert data.X.shape == (0, 16, 16, 3) and len(data.skipped) == 1


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_interrupted_cache_write_leaves_no_partial_file(tmp_path, flat, monkeypatch, error):
    real_savez = np.savez

    def half_written(file, *args, **kwargs):
        real_savez(file, *args, **kwargs)
        file.truncate(10)  # a partial archive is on disk when the "crash" happens
        raise error("interrupted")

    monkeypatch.setattr(cache_mod.np, "savez", half_written)
    cache = tmp_path / "c"
    if error is KeyboardInterrupt:
        with pytest.raises(KeyboardInterrupt):
            load_pairs(find_pairs(flat), size=16, aligner=FakeAligner(), cache=cache)
    else:
        with pytest.warns(UserWarning, match="cannot write the crop cache"):
            data = load_pairs(find_pairs(flat), size=16, aligner=FakeAligner(), cache=cache)
        assert len(data) == 3  # a cache that cannot be written does not stop loading
    assert _entries(cache) == []


def test_corrupt_cache_entry_is_recomputed(tmp_path, flat):
    cache = tmp_path / "c"
    pairs = find_pairs(flat)
    reference = load_pairs(pairs, size=16, aligner=FakeAligner(), cache=cache)
    for entry in _entries(cache):
        entry.write_bytes(entry.read_bytes()[:30])
    counting = FakeAligner()
    again = load_pairs(pairs, size=16, aligner=counting, cache=cache)
    assert counting.calls == 6 and np.array_equal(again.X, reference.X)
    assert load_pairs(pairs, size=16, aligner=FakeAligner(), cache=cache).n_cached == 6


def test_entries_load_without_pickle(tmp_path, flat):
    load_pairs(find_pairs(flat), size=16, aligner=FakeAligner(), cache=tmp_path / "c")
    entry = _entries(tmp_path / "c")[0]
    with np.load(entry, allow_pickle=False) as z:
        assert bool(z["found"]) and z["crop"].shape == (16, 16, 3)


def test_threads_give_the_same_result(tmp_path, flat):
    pairs = find_pairs(flat)
    one = load_pairs(pairs, size=16, aligner=FakeAligner(), cache=False)
    two = load_pairs(pairs, size=16, aligner=FakeAligner(), cache=False, jobs=2, progress=True)
    assert np.array_equal(one.X, two.X) and np.array_equal(one.T, two.T)


def test_cache_uses_cache_dir_by_default(tmp_path, flat, monkeypatch):
    monkeypatch.setenv("PIXELFES_CACHE", str(tmp_path / "env-cache"))
    load_pairs(find_pairs(flat), size=16, aligner=FakeAligner())
    assert len(_entries(tmp_path / "env-cache" / "aligned")) == 6


def test_load_pairs_argument_errors(tmp_path, flat):
    pairs = find_pairs(flat)
    with pytest.raises(ValueError, match="aligner_id"):
        load_pairs(pairs, size=16, aligner=lambda im, s: None, cache=tmp_path)
    with pytest.raises(DatasetError, match="no pairs"):
        load_pairs([], aligner=FakeAligner())
    with pytest.raises(ValueError, match="size"):
        load_pairs(pairs, size=2, aligner=FakeAligner())
    with pytest.raises(DatasetError, match=r"shape \(3, 3\)"):
        load_pairs(pairs, 16, aligner=lambda im, s: np.zeros((3, 3), np.uint8), cache=False)
