"""Subject-disjoint splits: every pair of one person lands on the same side, always.

``subjects`` is the per-sample sequence of subject ids (one entry per pair, e.g.
``[p.subject for p in pairs]``). Splits are deterministic for a given ``seed`` and do not
depend on the order of the samples, only on the set of subject ids and their counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pixelfes.exceptions import DatasetError

__all__ = ["subject_kfold", "subject_train_test_split"]


def _groups(subjects: Sequence[str]) -> tuple[list[str], dict[str, np.ndarray]]:
    ids = [str(s) for s in subjects]
    if not ids:
        raise DatasetError("cannot split: no samples (the subject list is empty)")
    members: dict[str, list[int]] = {}
    for index, subject in enumerate(ids):
        members.setdefault(subject, []).append(index)
    return sorted(members), {s: np.asarray(idx, dtype=np.intp) for s, idx in members.items()}


def _shuffled(unique: list[str], seed: int) -> list[str]:
    order = np.random.default_rng(seed).permutation(len(unique))
    return [unique[i] for i in order]


def _indices(chosen: list[str], members: dict[str, np.ndarray]) -> np.ndarray:
    if not chosen:
        return np.zeros(0, dtype=np.intp)
    return np.sort(np.concatenate([members[s] for s in chosen]))


def subject_kfold(
    subjects: Sequence[str], k: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split samples into ``k`` folds with no subject in more than one fold.

    Subjects are shuffled by ``seed``, then dealt, largest first, to the fold that has the
    fewest samples so far (ties: fewest subjects, then lowest fold number), so fold sizes
    differ by at most the largest number of samples one subject has.

    Returns
    -------
    list of (train_idx, test_idx)
        ``k`` tuples of sorted int arrays indexing ``subjects``; the test parts partition
        all samples.

    Raises
    ------
    DatasetError
        If ``k < 2`` or ``k`` exceeds the number of distinct subjects.
    """
    unique, members = _groups(subjects)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise DatasetError(f"k must be an integer >= 2, got {k!r}")
    if k > len(unique):
        raise DatasetError(
            f"cannot make {k} subject-disjoint folds from {len(unique)} distinct subject(s); "
            f"use k <= {len(unique)}"
        )
    # Stable sort on size keeps the seeded order among subjects of equal size.
    order = sorted(_shuffled(unique, seed), key=lambda s: -len(members[s]))
    folds: list[list[str]] = [[] for _ in range(k)]
    sizes = [0] * k
    for subject in order:
        best = min(range(k), key=lambda f: (sizes[f], len(folds[f]), f))
        folds[best].append(subject)
        sizes[best] += len(members[subject])
    n = len(subjects)
    result = []
    for fold in folds:
        test = _indices(fold, members)
        train = np.setdiff1d(np.arange(n, dtype=np.intp), test, assume_unique=True)
        result.append((train, test))
    return result


def subject_train_test_split(
    subjects: Sequence[str], test_size: float | int = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a random set of whole subjects.

    ``test_size`` is the fraction of *subjects* held out (a float in (0, 1), rounded to the
    nearest whole subject, at least one, and at least one subject left for training) or,
    as an int, the number of subjects held out.

    Returns
    -------
    (train_idx, test_idx)
        Sorted int arrays indexing ``subjects``; no subject appears in both.

    Raises
    ------
    DatasetError
        Fewer than two distinct subjects, or a ``test_size`` that leaves a side empty.
    """
    unique, members = _groups(subjects)
    n_subjects = len(unique)
    if n_subjects < 2:
        raise DatasetError(
            f"a subject-disjoint split needs at least 2 distinct subjects, got {n_subjects}"
        )
    if isinstance(test_size, bool):
        raise DatasetError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}")
    if isinstance(test_size, int | np.integer):
        n_test = int(test_size)
    elif isinstance(test_size, float) and 0.0 < test_size < 1.0:
        n_test = min(max(round(test_size * n_subjects), 1), n_subjects - 1)
    else:
        raise DatasetError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}")
    if not 1 <= n_test <= n_subjects - 1:
        raise DatasetError(
            f"test_size={test_size!r} would hold out {n_test} of {n_subjects} subjects; "
            f"both sides need at least one subject"
        )
    order = _shuffled(unique, seed)
    test_subjects, train_subjects = order[:n_test], order[n_test:]
    return _indices(train_subjects, members), _indices(test_subjects, members)
