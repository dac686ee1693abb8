"""Expression-synthesis methods behind one small interface, for side-by-side evaluation.

Every method maps aligned input crops to synthesized target crops. A method is anything
with an ``id``, ``fit(X, T, groups=None)``, ``predict(X)`` and ``n_parameters`` (the
:class:`Method` protocol), so a new method (e.g. a GAN wrapper) plugs into the
protocols in :mod:`pixelfes.evaluation.protocols` without changes there.

Images are (N, H, W, C) stacks, uint8 or float in [0, 1]; ``predict`` returns float32
on the [0, 1] scale (not clipped: the protocols clip before scoring).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pixelfes.colour import to_gray as luma
from pixelfes.colour import to_unit
from pixelfes.models import PixelKernelRidge, PixelRidge

#: The paper's ridge penalty (lambda).
PAPER_ALPHA = 0.4

#: Display name of each method id. Records and tables are keyed by the id; only the
#: rendered text shows the name.
LABELS = {
    "real_target": "real target",
    "identity": "identity",
    "mean_difference": "mean difference",
    "global_ridge": "global ridge",
    "mr": "MR (3x3)",
    "pixel_rr": "Pixel-RR",
    "pixel_rr_cv": "Pixel-RR (CV lambda)",
    "pixel_rr_photo": "Pixel-RR (photo pipeline)",
    "pixel_rr_photo_colour": "Pixel-RR (photo pipeline + colour match)",
    "pixel_kr": "Pixel-KR",
    "pixel_kr_lut": "Pixel-KR (lookup table)",
    "pixel_kr_cv": "Pixel-KR (CV sigma, lambda)",
}


def label(method_id: str) -> str:
    """The display name of a method id (the id itself when it has none)."""
    return LABELS.get(method_id, method_id)


@runtime_checkable
class Method(Protocol):
    """What the evaluation needs from an expression-synthesis method."""

    id: str

    def fit(self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None) -> Method:
        """Learn from paired (N, H, W, C) inputs and targets; return self.

        ``groups`` names the subject of each pair, for methods that choose
        hyper-parameters by subject-disjoint cross-validation (others ignore it).
        """
        ...

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return float32 [0, 1] outputs of the same shape as ``X``."""
        ...

    @property
    def n_parameters(self) -> int:
        """Learned parameters of the fitted method."""
        ...


class IdentityMethod:
    """Output = input: the floor every method must beat (zero parameters)."""

    id = "identity"

    def fit(
        self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None
    ) -> IdentityMethod:
        """Nothing to learn; checks that X and T match."""
        _check_pair(X, T)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the inputs as float32 on [0, 1]."""
        return to_unit(X).copy()

    @property
    def n_parameters(self) -> int:
        """Always 0."""
        return 0


class MeanDifference:
    """Add the mean training change: ``y = x + mean_n(t_n - x_n)`` per pixel and channel.

    Attributes
    ----------
    delta_ : ndarray of float32, shape (H, W, C)
        The mean difference on the [0, 1] scale.
    """

    id = "mean_difference"

    def fit(
        self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None
    ) -> MeanDifference:
        """Store the per-pixel mean of ``T - X``."""
        _check_pair(X, T)
        self.delta_ = (to_unit(T).astype(np.float64) - to_unit(X)).mean(axis=0).astype(np.float32)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Add the stored mean difference to every input."""
        return to_unit(X) + self.delta_

    @property
    def n_parameters(self) -> int:
        """One value per pixel and channel (H W C)."""
        return int(self.delta_.size)


class ModelMethod:
    """A :mod:`pixelfes.models` estimator (anything with fit/predict/n_parameters).

    Parameters
    ----------
    id : str
        Key in records and tables (:data:`LABELS` gives its display name).
    factory : callable
        Returns a fresh unfitted model (called by every ``fit``).
    """

    def __init__(self, id: str, factory: Callable[[], Any]) -> None:
        self.id = id
        self.factory = factory

    def fit(self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None) -> ModelMethod:
        """Fit a fresh model on the pairs."""
        self.model_ = self.factory().fit(X, T)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The model's prediction as float32."""
        return np.asarray(self.model_.predict(X), dtype=np.float32)

    @property
    def n_parameters(self) -> int:
        """The model's own count (Table I conventions, see docs/models.md)."""
        return int(self.model_.n_parameters)


class CrossValidatedPixelRidge(ModelMethod):
    """Pixel-RR whose lambda is chosen by subject-disjoint CV on the training pairs only.

    Parameters
    ----------
    k : int
        Folds of the inner cross-validation (:func:`pixelfes.training.cross_validate`).

    Attributes
    ----------
    alpha_ : float
        The chosen lambda.
    """

    def __init__(self, k: int = 3) -> None:
        super().__init__("pixel_rr_cv", lambda: PixelRidge(alpha=self.alpha_, channels="shared"))
        self.k = k

    def fit(
        self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None
    ) -> CrossValidatedPixelRidge:
        """Choose lambda by CV over the subjects ``groups``, then refit on all pairs."""
        from pixelfes.training import cross_validate

        subjects = list(groups) if groups is not None else [str(i) for i in range(len(X))]
        if len(subjects) != len(X):
            raise ValueError("subjects must name one subject per training pair")
        if len(set(subjects)) >= max(2, self.k):
            best, _ = cross_validate("pixel-rr", X, T, subjects, k=self.k)
            self.alpha_ = float(best["alpha"])
        else:
            self.alpha_ = PAPER_ALPHA
        super().fit(X, T)
        return self


class PhotoPipelineRidge(ModelMethod):
    """Pixel-RR applied as the photo pipeline applies it (:func:`pixelfes.editing.synthesize`).

    The model is fitted as plain Pixel-RR (shared channels) and given its training
    inputs' colour statistics; prediction maps the luma only and adds the change equally
    to R, G and B, after matching each face's colours to the training faces' when
    ``match_colours`` (the pipeline's option, off by default). Inputs must be uint8.
    """

    def __init__(self, match_colours: bool = False) -> None:
        method_id = "pixel_rr_photo_colour" if match_colours else "pixel_rr_photo"
        super().__init__(method_id, lambda: PixelRidge(alpha=PAPER_ALPHA, channels="shared"))
        self.match_colours = match_colours

    def fit(
        self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None
    ) -> PhotoPipelineRidge:
        """Fit Pixel-RR and store the training inputs' colour statistics."""
        from pixelfes.faces import face_mask
        from pixelfes.photometric import pooled_statistics

        super().fit(X, T)
        mean, std = pooled_statistics(X, face_mask(X.shape[1]))
        self.model_.metadata_ = {
            "input_mean": [float(v) for v in mean],
            "input_std": [float(v) for v in std],
        }
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Synthesize the luma change at intensity 1 (colour-matched when asked)."""
        from pixelfes.editing import synthesize

        X = np.asarray(X)
        if X.dtype != np.uint8:
            raise ValueError("the photo pipeline takes uint8 crops")
        return synthesize(self.model_, X, 1.0, match_colours=self.match_colours, luma=True)


class LumaKernelRidge:
    """Pixel-KR on the luma: one function per pixel location for all colour channels.

    The kernel model is fitted on the luma (BT.601, rounded to 8 bits) of the pairs: N
    samples per location, so N x N kernels and Table I's N H W dual coefficients. A colour
    face is synthesized as the photo pipeline does for shared-channel models: the model
    maps the face's luma and the change ``model(y) - y`` is added to R, G and B alike, so
    the chroma is kept. (Applying the luma function to each channel would feed it values
    outside the luma range it was fitted on, where a narrow kernel falls to 0; fitting on
    all three channels as samples, ``channels="shared"``, makes the kernels (3 N) x (3 N),
    27 times the solve cost.)

    Parameters
    ----------
    sigma : float
        Kernel width on the [0, 1] scale.
    alpha : float
        Ridge penalty.
    max_train : int, optional
        Fit on at most this many pairs (a fixed random subset, seed 0), bounding the
        O(N^3) solve per location.
    id : str, optional
        Key in records; ``"pixel_kr_sigma..."`` by default.
    """

    def __init__(
        self,
        sigma: float,
        alpha: float = PAPER_ALPHA,
        max_train: int | None = None,
        id: str | None = None,
    ) -> None:
        self.sigma = sigma
        self.alpha = alpha
        self.max_train = max_train
        self.id = id or f"pixel_kr_sigma{sigma:g}"

    def fit(
        self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None
    ) -> LumaKernelRidge:
        """Fit on (a subset of) the pairs' luma."""
        _check_pair(X, T)
        index = np.arange(len(X))
        if self.max_train is not None and len(X) > self.max_train:
            index = np.sort(np.random.default_rng(0).choice(len(X), self.max_train, replace=False))
        self.n_train_ = len(index)
        model = PixelKernelRidge(alpha=self.alpha, sigma=self.sigma, channels="independent")
        self.model_ = model.fit(luma(X[index]), luma(T[index]))
        self.fit_key_ = data_key(X, T)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Map the luma; add the change to every channel (one-channel input: directly)."""
        return _per_plane(self.model_, X)

    @property
    def n_parameters(self) -> int:
        """Dual coefficients, N H W (the stored training inputs are as many again)."""
        return int(self.model_.n_parameters)


class CrossValidatedKernelRidge(LumaKernelRidge):
    """:class:`LumaKernelRidge` with sigma and lambda chosen by subject-disjoint CV.

    The search runs on the training pairs' luma only, over
    :data:`pixelfes.kernel_selection.KERNEL_GRID`, from per-level fold statistics (every
    candidate costs a small solve, not a refit), then the chosen model is fitted on all
    training pairs (no cap on their number).

    Parameters
    ----------
    k : int
        Folds of the inner cross-validation.
    grid : dict, optional
        ``{"alpha": (...), "sigma": (...)}`` to search; None means ``KERNEL_GRID``.

    Attributes
    ----------
    sigma, alpha : float
        The chosen values (after ``fit``).
    """

    def __init__(self, k: int = 3, grid: dict[str, Sequence[float]] | None = None) -> None:
        super().__init__(sigma=1.0, id="pixel_kr_cv")
        self.k = k
        self.grid = grid

    def fit(
        self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None
    ) -> CrossValidatedKernelRidge:
        """Choose sigma and lambda by CV over the subjects ``groups``, then fit on all pairs."""
        from pixelfes.training import cross_validate

        _check_pair(X, T)
        subjects = list(groups) if groups is not None else [str(i) for i in range(len(X))]
        if len(subjects) != len(X):
            raise ValueError("subjects must name one subject per training pair")
        if len(set(subjects)) >= max(2, self.k) and np.asarray(X).dtype == np.uint8:
            best, _ = cross_validate(
                "pixel-kr", luma(X), luma(T), subjects, grid=self.grid, k=self.k
            )
            self.sigma, self.alpha = float(best["sigma"]), float(best["alpha"])
        super().fit(X, T)
        return self


class CompiledKernelRidge:
    """A :class:`LumaKernelRidge` compiled to a 256-entry lookup table per pixel.

    ``fit`` reuses the source method's fit when it was fitted on the same pairs (the
    protocols fit methods in order, so the kernel solve is not repeated) and then only
    compiles; ``predict`` needs uint8 inputs.

    Parameters
    ----------
    source : LumaKernelRidge
        The kernel method to compile.
    """

    def __init__(self, source: LumaKernelRidge) -> None:
        self.source = source
        self.id = f"{source.id}_lut"

    def fit(
        self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None
    ) -> CompiledKernelRidge:
        """Fit the source if it has not seen these pairs, then tabulate it."""
        if getattr(self.source, "fit_key_", None) != data_key(X, T):
            self.source.fit(X, T)
        self.model_ = self.source.model_.to_lookup_table()
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Look every pixel up (uint8 inputs only)."""
        return _per_plane(self.model_, X)

    @property
    def n_parameters(self) -> int:
        """Table entries, 256 H W."""
        return int(self.model_.n_stored_values)


def data_key(X: np.ndarray, T: np.ndarray) -> str:
    """A content hash of a training set (which pairs a method was fitted on)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (X, T):
        array = np.ascontiguousarray(array)
        digest.update(repr((array.shape, array.dtype.str)).encode())
        digest.update(array.data)
    return digest.hexdigest()


def _per_plane(model: Any, X: np.ndarray) -> np.ndarray:
    """A one-channel model on a stack: directly, or on the luma with the change added to
    every colour channel."""
    X = np.asarray(X)
    if X.shape[-1] == 1:
        return np.asarray(model.predict(X), dtype=np.float32)
    y = luma(X)
    change = np.asarray(model.predict(y), np.float32) - to_unit(y)
    return to_unit(X) + change


def _check_pair(X: np.ndarray, T: np.ndarray) -> None:
    if np.shape(X) != np.shape(T) or np.ndim(X) != 4 or len(X) == 0:
        raise ValueError(
            f"X and T must be equal non-empty (N, H, W, C); got {np.shape(X)}, {np.shape(T)}"
        )


def paper_sigma(target: str) -> float:
    """The paper's Pixel-KR width: 3 for neutral->happy, 10 for the other expressions."""
    return 3.0 if target == "happy" else 10.0
