"""Aligned pairs of one shared dataset and expression, as the evaluation protocols use them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixelfes.data import find_pairs, load_pairs
from pixelfes.evaluation.methods import luma
from pixelfes.exceptions import DatasetError

#: Datasets stored in grayscale: pairs involving them are compared in grayscale (luma).
GRAY_DATASETS = frozenset({"ckplus"})


@dataclass
class PairSet:
    """Aligned pairs of one dataset and expression, ready for the protocols.

    Attributes
    ----------
    X, T : ndarray of shape (N, S, S, C), uint8
        Input (neutral) and target crops; C = 1 for grayscale data.
    subjects : list of str
        Subject of each pair.
    names : list of str
        Input file name of each pair (for the per-image CSV).
    dataset, expression : str
    """

    X: np.ndarray
    T: np.ndarray
    subjects: list[str]
    names: list[str]
    dataset: str
    expression: str

    def __len__(self) -> int:
        return len(self.X)

    def gray(self) -> PairSet:
        """The same pairs in grayscale (BT.601 luma, one channel)."""
        return PairSet(
            luma(self.X), luma(self.T), self.subjects, self.names, self.dataset, self.expression
        )

    def subset(self, index: np.ndarray) -> PairSet:
        """The pairs at ``index``."""
        return PairSet(
            self.X[index],
            self.T[index],
            [self.subjects[i] for i in index],
            [self.names[i] for i in index],
            self.dataset,
            self.expression,
        )


def load_set(
    dataset: str, expression: str, root: str | Path | None = None, size: int = 128
) -> PairSet:
    """Find and align neutral->``expression`` pairs of a shared dataset.

    Parameters
    ----------
    dataset : str
        ``london``, ``ckplus`` or ``taiwanese`` (see :func:`pixelfes.data.find_pairs`).
    expression : str
        Target expression.
    root : str or Path, optional
        Shared data root.
    size : int
        Crop side.

    Returns
    -------
    PairSet
        Grayscale datasets (CK+) come back with one channel.
    """
    aligned = load_pairs(find_pairs(dataset, "neutral", expression, root=root), size=size)
    names = [pair.input_path.name for pair in aligned.pairs]
    pairs = PairSet(aligned.X, aligned.T, list(aligned.subjects), names, dataset, expression)
    return pairs.gray() if dataset in GRAY_DATASETS else pairs


def load_sets(
    datasets, expression: str, root: str | Path | None = None, size: int = 128
) -> dict[str, PairSet]:
    """:func:`load_set` for each dataset that has neutral->``expression`` pairs, by name."""
    sets = {}
    for dataset in datasets:
        try:
            sets[dataset] = load_set(dataset, expression, root=root, size=size)
        except DatasetError:
            continue
    return sets
