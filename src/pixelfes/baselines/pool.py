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
from typing import Any

import numpy as np

from pixelfes.data import find_pairs, load_pairs, subject_train_test_split
from pixelfes.exceptions import DatasetError
from pixelfes.expressions import BASIC_EXPRESSIONS

__all__ = [
    "DOMAINS",
    "LabelledImages",
    "data_meta",
    "held_out_subjects",
    "labelled_images",
    "training_pool",
    "training_subjects",
]

#: The GANs' domains, in label order: the basic expressions.
DOMAINS = BASIC_EXPRESSIONS


@dataclass
class LabelledImages:
    """(N, S, S, 3) uint8 aligned faces, their domain index into :data:`DOMAINS` and subject.

    Subjects are the data loader's ids, ``dataset:subject``.
    """

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
                    subjects.append(subject)
    if not images:
        raise ValueError(f"no images for {list(datasets)} / {list(expressions)} ({split})")
    return LabelledImages(np.stack(images), np.asarray(labels, np.int64), subjects)


def data_meta(
    datasets: Sequence[str],
    targets: Sequence[str],
    *,
    hold_out_dataset: str | None = None,
    test_size: float = 0.2,
    split_seed: int = 0,
) -> dict[str, Any]:
    """What a GAN trains on, as plain values stored in its checkpoint.

    Parameters
    ----------
    datasets : sequence of str
        The shared datasets.
    targets : sequence of str
        Target expressions.
    hold_out_dataset : str, optional
        Leave this whole dataset out (leave-one-dataset-out): train on every subject of
        the others. Otherwise ``test_size`` of each dataset's subjects are held out.
    test_size, split_seed
        The held-out subjects when no dataset is held out.
    """
    datasets = list(dict.fromkeys(datasets))
    if hold_out_dataset is None:
        return {
            "datasets": datasets,
            "targets": list(targets),
            "split": "train",
            "hold_out_dataset": "",
            "test_size": test_size,
            "split_seed": split_seed,
        }
    if hold_out_dataset not in datasets:
        raise ValueError(f"cannot hold out {hold_out_dataset!r}: not among {datasets}")
    kept = [d for d in datasets if d != hold_out_dataset]
    if not kept:
        raise ValueError(f"holding out {hold_out_dataset!r} leaves no dataset to train on")
    return {
        "datasets": kept,
        "targets": list(targets),
        "split": "all",
        "hold_out_dataset": hold_out_dataset,
        "test_size": test_size,
        "split_seed": split_seed,
    }


def training_pool(meta: dict[str, Any], root: str | Path | None = None) -> LabelledImages:
    """The training faces a checkpoint's :func:`data_meta` describes."""
    return labelled_images(
        meta["datasets"],
        meta["targets"],
        split=meta.get("split", "train"),
        test_size=meta["test_size"],
        seed=meta["split_seed"],
        root=root,
    )


def training_subjects(meta: dict[str, Any], root: str | Path | None = None) -> set[str]:
    """Every subject (``dataset:subject``) a checkpoint trained on.

    The list recorded in the checkpoint (``train_subjects``) when there is one; for older
    checkpoints, recomputed from their split settings (pairs only, no image is read).
    """
    if "train_subjects" in meta:
        return set(meta["train_subjects"])
    subjects: set[str] = set()
    for dataset in meta["datasets"]:
        found = {p.subject for e in meta["targets"] for p in _pairs_or_none(dataset, e, root) or []}
        if meta.get("split", "train") == "train":
            found -= held_out_subjects(
                dataset, meta["targets"], meta["test_size"], meta["split_seed"], root
            )
        subjects |= found
    return subjects
