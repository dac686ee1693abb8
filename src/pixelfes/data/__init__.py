"""Datasets: expression names, pair discovery, subject-disjoint splits and aligned loading."""

from __future__ import annotations

from pixelfes.data.cache import AlignedPairs, Skipped, load_pairs
from pixelfes.data.sources import DATASET_TERMS, DATASETS, Pair, dataset_dir, find_pairs
from pixelfes.data.splits import subject_kfold, subject_train_test_split
from pixelfes.expressions import BASIC_EXPRESSIONS, EXPRESSIONS, normalise_expression

__all__ = [
    "BASIC_EXPRESSIONS",
    "DATASETS",
    "DATASET_TERMS",
    "EXPRESSIONS",
    "AlignedPairs",
    "Pair",
    "Skipped",
    "dataset_dir",
    "find_pairs",
    "load_pairs",
    "normalise_expression",
    "subject_kfold",
    "subject_train_test_split",
]
