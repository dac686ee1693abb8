"""The compared methods of the paper's protocols, with the paper's hyper-parameters."""

from __future__ import annotations

from pixelfes.evaluation.methods import (
    PAPER_ALPHA,
    CompiledKernelRidge,
    CrossValidatedKernelRidge,
    CrossValidatedPixelRidge,
    IdentityMethod,
    LumaKernelRidge,
    MeanDifference,
    Method,
    ModelMethod,
    PhotoPipelineRidge,
    paper_sigma,
)
from pixelfes.models import GlobalRidge, MaskedRidge, PixelRidge

__all__ = ["standard_methods"]


def standard_methods(
    target: str, *, quick: bool = False, kr_max_train: int | None = None
) -> list[Method]:
    """The compared methods with the paper's hyper-parameters (lambda 0.4, paper sigma).

    Parameters
    ----------
    target : str
        Target expression (selects the kernel width).
    quick : bool
        Leave out the slow or redundant ones (global ridge, MR, CV lambda).
    kr_max_train : int, optional
        Cap on Pixel-KR training pairs (None: every pair; the grouped fit is exact and
        its cost hardly depends on the number of pairs).
    """
    sigma = paper_sigma(target)
    methods: list[Method] = [IdentityMethod(), MeanDifference()]
    if not quick:
        methods += [
            ModelMethod("global_ridge", lambda: GlobalRidge(alpha=PAPER_ALPHA)),
            ModelMethod("mr", lambda: MaskedRidge(alpha=PAPER_ALPHA, radius=1)),
        ]
    methods.append(
        ModelMethod("pixel_rr", lambda: PixelRidge(alpha=PAPER_ALPHA, channels="shared"))
    )
    if not quick:
        methods += [
            CrossValidatedPixelRidge(),
            PhotoPipelineRidge(),
            PhotoPipelineRidge(match_colours=True),
        ]
    kernel = LumaKernelRidge(sigma, max_train=kr_max_train, id="pixel_kr")
    methods += [kernel, CompiledKernelRidge(kernel)]
    if not quick:
        methods.append(CrossValidatedKernelRidge())
    return methods
