"""pixelfes.data on the shared datasets: pair counts, pairing rules, disjoint splits."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from pixelfes.data import find_pairs, load_pairs, subject_kfold, subject_train_test_split
from pixelfes.data.cache import default_aligner_id
from pixelfes.exceptions import DatasetError

pytestmark = pytest.mark.data

CKPLUS_COUNTS = {
    "anger": 43,
    "contempt": 17,
    "disgust": 49,
    "fear": 24,
    "happy": 61,
    "sad": 27,
    "surprise": 75,
}
# Every front-view expression image of the 29 performers, each with its performer's
# first neutral (performers 12, 13 and 18 have neutrals coded "0" instead of "a").
TAIWANESE_COUNTS = {
    "happy": 226,
    "sad": 197,
    "anger": 200,
    "disgust": 198,
    "fear": 151,
    "surprise": 182,
}


def test_london_pairs_both_directions(shared_data):
    pairs = find_pairs("london", root=shared_data)
    assert len(pairs) == 102
    assert len({p.subject for p in pairs}) == 102
    first = pairs[0]
    assert first.subject == "london:001"
    assert (first.input_path.name, first.target_path.name) == ("001_03.jpg", "001_08.jpg")
    back = find_pairs("london", "smiling", "neutral", root=shared_data)
    assert [(p.input_path, p.target_path) for p in back] == [
        (p.target_path, p.input_path) for p in pairs
    ]
    assert {p.source_expression for p in back} == {"happy"}


def test_london_has_only_neutral_and_happy(shared_data):
    with pytest.raises(DatasetError, match="only neutral and happy"):
        find_pairs("london", target="sad", root=shared_data)


@pytest.mark.parametrize(("expression", "count"), CKPLUS_COUNTS.items())
def test_ckplus_counts_and_rules(shared_data, expression, count):
    pairs = find_pairs("ckplus", target=expression, root=shared_data)
    assert len(pairs) == count
    for pair in pairs:
        assert re.fullmatch(r"S\d{3}_\d{3}_00000001\.png", pair.input_path.name)
        assert pair.input_path.parent.name == "neutral"
        assert re.fullmatch(r"S\d{3}_\d{3}_\d{8}\.png", pair.target_path.name)  # no 9 digits
        assert pair.input_path.name[:8] == pair.target_path.name[:8]  # same sequence
        assert pair.subject == f"ckplus:{pair.input_path.name[:4]}"


def test_ckplus_needs_neutral_on_one_side(shared_data):
    with pytest.raises(DatasetError, match="must be 'neutral'"):
        find_pairs("ckplus", source="sad", target="happy", root=shared_data)
    assert len(find_pairs("ckplus", "happiness", "neutral", root=shared_data)) == 61


@pytest.mark.parametrize(("expression", "count"), TAIWANESE_COUNTS.items())
def test_taiwanese_counts_and_rules(shared_data, expression, count):
    pairs = find_pairs("taiwanese", target=expression, root=shared_data)
    assert len(pairs) == count
    neutral_of = {}
    for pair in pairs:
        name = pair.target_path.name
        assert name[3] == "1" and name[2] in "123"  # front view, an expression performance
        assert pair.input_path.name[2] == "0"  # a neutral performance
        assert pair.subject == f"taiwanese:{name[:2]}" == f"taiwanese:{pair.input_path.name[:2]}"
        neutral_of.setdefault(pair.subject, set()).add(pair.input_path.name)
    assert all(len(names) == 1 for names in neutral_of.values())  # one neutral per performer


def test_taiwanese_performers(shared_data):
    pairs = find_pairs("taiwanese", target="fear", root=shared_data)
    assert len({p.subject for p in pairs}) == 28  # performer 23 has no fear images


def test_combined_datasets_never_share_subjects(shared_data):
    pairs = find_pairs(["london", "ckplus", "taiwanese"], root=shared_data)
    assert Counter(p.dataset for p in pairs) == {"london": 102, "ckplus": 61, "taiwanese": 226}
    assert all(p.subject.startswith(f"{p.dataset}:") for p in pairs)
    subjects = [p.subject for p in pairs]
    for train, test in subject_kfold(subjects, k=5):
        assert not {subjects[i] for i in train} & {subjects[i] for i in test}
    train, test = subject_train_test_split(subjects, 0.2, seed=3)
    assert not {subjects[i] for i in train} & {subjects[i] for i in test}


def test_ckplus_folds_keep_people_together(shared_data):
    subjects = [p.subject for p in find_pairs("ckplus", target="surprise", root=shared_data)]
    folds = subject_kfold(subjects, k=5, seed=0)
    sizes = sorted(len(test) for _, test in folds)
    assert sum(sizes) == 75 and sizes[-1] - sizes[0] <= 1
    owners = {}
    for fold, (_, test) in enumerate(folds):
        for i in test:
            assert owners.setdefault(subjects[i], fold) == fold


@pytest.mark.slow
def test_real_aligner_on_london_then_cached(shared_data, tmp_path):
    """The real aligner on a third of london (about 10-20 s here), then from the cache."""
    pytest.importorskip("yuface")
    pairs = find_pairs("london", root=shared_data)[::3]
    aligner_id = default_aligner_id()  # fixed, in case pixelfes.faces is edited meanwhile
    cold = load_pairs(pairs, size=64, aligner_id=aligner_id, cache=tmp_path, jobs=2)
    assert cold.X.shape == cold.T.shape == (34, 64, 64, 3)
    assert cold.skipped == [] and cold.n_aligned == 68
    warm = load_pairs(pairs, size=64, aligner_id=aligner_id, cache=tmp_path)
    assert warm.n_aligned == 0 and warm.n_cached == 68  # nothing aligned again: all cached
    assert np.array_equal(cold.X, warm.X) and np.array_equal(cold.T, warm.T)
