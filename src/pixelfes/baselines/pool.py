"""Labelled face images for the GANs, drawn from the same aligned pairs as Pixel-RR.

StarGAN and GANimation learn from images labelled with their domain, not from pairs: every
neutral input of a neutral->expression pair becomes a ``neutral`` image and every target
an image of its expression (a neutral photo shared by several pairs is used once). Whole
subjects are held out per dataset with one seeded split over all the expressions, so a
held-out person is never seen by the GANs nor by the Pixel-RR models they are compared with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixelfes.data import find_pairs, load_pairs, subject_train_test_split
from pixelfes.exceptions import DatasetError
from pixelfes.expressions import BASIC_EXPRESSIONS

__all__ = ["DOMAINS", "LabelledImages", "held_out_subjects", "labelled_images"]

#: The GANs' domains, in label order: the basic expressions.
DOMAINS = BASIC_EXPRESSIONS


@dataclass
class LabelledImages:
    """(N, S, S, 3) uint8 aligned faces, their domain index into :data:`DOMAINS` and subject."""

    images: np.ndarray
    labels: np.ndarray
    subjects: list[str]

    def __len__(self) -> int:
        return len(self.labels)


def held_out_subjects(
    dataset: str,
    expressions: Sequence[str],
    test_size: float = 0.2,
    seed: int = 0,
    root: str | Path | None = None,
) -> set[str]:
    """The subjects of ``dataset`` held out from training, one split for all expressions.

    Parameters
    ----------
    dataset : str
        A shared dataset name.
    expressions : sequence of str
        Target expressions considered (the dataset's neutral->expression pairs).
    test_size, seed
        As :func:`pixelfes.data.subject_train_test_split`, over the sorted subjects.
    """
    subjects = sorted(
        {p.subject for e in expressions for p in _pairs_or_none(dataset, e, root) or []}
    )
    _, test = subject_train_test_split(subjects, test_size=test_size, seed=seed)
    return {subjects[i] for i in test}


def _pairs_or_none(dataset: str, expression: str, root: str | Path | None):
    try:
        return find_pairs(dataset, "neutral", expression, root=root)
    except DatasetError:  # the dataset lacks this expression (London: happy only)
        return None


def labelled_images(
    datasets: Sequence[str],
    expressions: Sequence[str],
    *,
    split: str = "train",
    test_size: float = 0.2,
    seed: int = 0,
    root: str | Path | None = None,
    size: int = 128,
) -> LabelledImages:
    """The labelled training (or held-out) images of neutral->``expressions`` pairs.

    Parameters
    ----------
    datasets : sequence of str
        Shared dataset names; a dataset without one of the expressions is skipped for it.
    expressions : sequence of str
        Target expressions (names in :data:`DOMAINS`).
    split : {"train", "test", "all"}
        Subjects kept: those not held out, the held-out ones, or every subject.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    unknown = [e for e in expressions if e not in DOMAINS or e == "neutral"]
    if unknown:
        raise ValueError(f"unknown target expressions {unknown}; choose from {DOMAINS[1:]}")
    images: list[np.ndarray] = []
    labels: list[int] = []
    subjects: list[str] = []
    seen: set[bytes] = set()
    for dataset in datasets:
        held = held_out_subjects(dataset, expressions, test_size, seed, root)
        for expression in expressions:
            pairs = _pairs_or_none(dataset, expression, root)
            if not pairs:
                continue
            keep = [p for p in pairs if split == "all" or (p.subject in held) == (split == "test")]
            aligned = load_pairs(keep, size=size)
            for x, t, subject in zip(aligned.X, aligned.T, aligned.subjects, strict=True):
                for image, label in ((x, "neutral"), (t, expression)):
                    key = hashlib.blake2b(image.tobytes() + label.encode(), digest_size=16).digest()
                    if key in seen:
                        continue
                    seen.add(key)
                    images.append(image)
                    labels.append(DOMAINS.index(label))
                    subjects.append(f"{dataset}/{subject}")
    if not images:
        raise ValueError(f"no images for {list(datasets)} / {list(expressions)} ({split})")
    return LabelledImages(np.stack(images), np.asarray(labels, np.int64), subjects)
