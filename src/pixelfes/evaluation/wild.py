"""Out-of-dataset photos (classifier only) and the Pixel-KR sigma sweep (Fig. 5 analogue)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixelfes.data import subject_train_test_split
from pixelfes.evaluation.methods import LumaKernelRidge, Method, ModelMethod, luma
from pixelfes.evaluation.metrics import batch_psnr
from pixelfes.evaluation.pairs import PairSet
from pixelfes.evaluation.protocols import Results, _item
from pixelfes.evaluation.scoring import Scorer
from pixelfes.formats import is_image


@dataclass
class WildFace:
    """An aligned face from an out-of-dataset photo."""

    name: str
    crop: np.ndarray


def align_wild(folder: Path, size: int = 128) -> tuple[list[WildFace], list[str]]:
    """Align the largest face of every image in ``folder`` (sorted by name).

    Returns
    -------
    faces : list of WildFace
    skipped : list of str
        ``"name: reason"`` for images without a usable face (e.g. the cat).
    """
    from pixelfes.exceptions import NoFaceError
    from pixelfes.faces import align
    from pixelfes.imageio import read_image

    faces, skipped = [], []
    for path in sorted(folder.iterdir()):
        if not is_image(path):
            continue
        try:
            found = align(read_image(path), size, largest_only=True)
        except NoFaceError as error:
            skipped.append(f"{path.name}: {error}")
            continue
        faces.append(WildFace(path.name, found[0].crop))
    return faces, skipped


def run_wild(
    methods: Sequence[Method],
    train: PairSet,
    faces: Sequence[WildFace],
    scorer: Scorer,
    skipped: Sequence[str] = (),
) -> Results:
    """Fit on all of ``train`` and score wild faces with the classifier only.

    The input row (method ``identity``) is the floor; there is no target photo.

    Parameters
    ----------
    methods : sequence of Method
    train : PairSet
    faces : sequence of WildFace
    scorer : Scorer
    skipped : sequence of str
        Images without a usable face, reported in ``Results.skipped``.
    """
    results = Results(skipped=list(skipped))
    if not faces:
        return results
    X = np.stack([face.crop for face in faces])
    if train.X.shape[-1] == 1:
        X = luma(X)
    for method in methods:
        start = time.perf_counter()
        method.fit(train.X, train.T, groups=train.subjects)
        fit_s = time.perf_counter() - start
        outputs = np.clip(method.predict(X), 0.0, 1.0)
        scores = scorer.expression(outputs, train.expression)
        for j, face in enumerate(faces):
            results.records.append(
                {
                    "protocol": "wild",
                    "train_set": train.dataset,
                    "test_set": "wild",
                    "expression": train.expression,
                    "fold": 0,
                    "subject": face.name,
                    "image": face.name,
                    "index": j,
                    "method": method.id,
                    **{k: _item(v[j]) for k, v in scores.items()},
                }
            )
            results.examples[("wild", j)] = results.examples.get(("wild", j), {}) | {
                method.id: outputs[j]
            }
        results.timings.append(
            {
                "protocol": "wild",
                "train_set": train.dataset,
                "test_set": "wild",
                "expression": train.expression,
                "fold": 0,
                "method": method.id,
                "n_train": len(train),
                "n_test": len(faces),
                "fit_s": fit_s,
                "predict_s_per_image": float("nan"),
                "n_parameters": int(method.n_parameters),
            }
        )
    return results


@dataclass
class SigmaSweep:
    """Pixel-KR against its kernel width on held-out faces (the paper's Fig. 5).

    Attributes
    ----------
    sigmas : list of float
    psnr, accuracy : list of float
        Mean PSNR (dB) and classifier accuracy at each sigma.
    ridge_psnr, ridge_accuracy : float
        Pixel-RR on the same split (the horizontal reference line).
    outputs : dict
        ``sigma -> (n_show, S, S, C)`` outputs for the shown faces, plus ``"Pixel-RR"``.
    inputs, targets : ndarray
        The shown faces.
    n_train, n_test : int
    """

    sigmas: list[float]
    psnr: list[float]
    accuracy: list[float]
    ridge_psnr: float
    ridge_accuracy: float
    outputs: dict[Any, np.ndarray]
    inputs: np.ndarray
    targets: np.ndarray
    n_train: int
    n_test: int


def sigma_sweep(
    data: PairSet,
    scorer: Scorer,
    sigmas: Sequence[float] = (0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0),
    *,
    n_show: int = 2,
    seed: int = 0,
) -> SigmaSweep:
    """Fit Pixel-KR at each sigma on a subject-disjoint 80/20 split of ``data``.

    Parameters
    ----------
    data : PairSet
    scorer : Scorer
    sigmas : sequence of float
        Kernel widths on the [0, 1] scale.
    n_show : int
        Test faces whose outputs are kept for the figure.
    seed : int
        Seed of :func:`pixelfes.data.subject_train_test_split`.

    Returns
    -------
    SigmaSweep
    """
    train_idx, test_idx = subject_train_test_split(data.subjects, test_size=0.2, seed=seed)
    train, test = data.subset(train_idx), data.subset(test_idx)
    psnr, accuracy, outputs = [], [], {}
    shown = np.arange(min(n_show, len(test)))
    for sigma in sigmas:
        method = LumaKernelRidge(float(sigma))
        y = np.clip(method.fit(train.X, train.T).predict(test.X), 0.0, 1.0)
        psnr.append(float(batch_psnr(y, test.T).mean()))
        accuracy.append(float(np.nanmean(scorer.expression(y, data.expression)["correct"])))
        outputs[float(sigma)] = y[shown]
    from pixelfes.models import PixelRidge

    ridge = ModelMethod("Pixel-RR", lambda: PixelRidge(alpha=0.4, channels="shared"))
    y = np.clip(ridge.fit(train.X, train.T).predict(test.X), 0.0, 1.0)
    outputs["Pixel-RR"] = y[shown]
    return SigmaSweep(
        sigmas=[float(s) for s in sigmas],
        psnr=psnr,
        accuracy=accuracy,
        ridge_psnr=float(batch_psnr(y, test.T).mean()),
        ridge_accuracy=float(np.nanmean(scorer.expression(y, data.expression)["correct"])),
        outputs=outputs,
        inputs=test.X[shown],
        targets=test.T[shown],
        n_train=len(train),
        n_test=len(test),
    )
