"""scikit-learn conventions: clone, get/set_params, dtype preservation, estimator checks.

scikit-learn's own checks (``sklearn.utils.estimator_checks``) run on every model. Most
of them fit tabular data, an (n_samples, n_features) X with a y of another shape, which
a per-pixel model cannot take: it maps an image stack (N, H, W[, C]) to a target stack
of the same shape. Those checks are listed in :data:`NOT_APPLICABLE` with the reason;
the test asserts that exactly they fail (so a check that starts to pass, or a new one
that fails, is noticed), and the image-shaped tests below cover what they check.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from pixelfes.exceptions import NotFittedError
from pixelfes.models import (
    FlowPixelRidge,
    GlobalRidge,
    MaskedRidge,
    PixelKernelRidge,
    PixelLookupTable,
    PixelRidge,
)

TABULAR = "fits or predicts tabular (n_samples, n_features) data; models take image stacks"
NOT_APPLICABLE = {
    **{
        name: TABULAR
        for name in (
            "check_fit_score_takes_y",
            "check_estimators_overwrite_params",
            "check_dont_overwrite_parameters",
            "check_estimators_fit_returns_self",
            "check_readonly_memmap_input",
            "check_n_features_in_after_fitting",
            "check_positive_only_tag_during_fit",
            "check_estimators_dtypes",
            "check_estimators_empty_data_messages",
            "check_pipeline_consistency",
            "check_estimators_nan_inf",
            "check_estimators_pickle",
            "check_f_contiguous_array_estimator",
            "check_regressors_train",
            "check_regressor_data_not_an_array",
            "check_regressor_multioutput",
            "check_regressors_no_decision_function",
            "check_supervised_y_2d",
            "check_regressors_int",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_fit2d_1sample",
            "check_fit2d_1feature",
            "check_dict_unchanged",
            "check_fit_idempotent",
            "check_fit_check_is_fitted",
            "check_n_features_in",
            "check_fit2d_predict1d",
            "check_requires_y_none",
        )
    },
    "check_estimators_unfitted": (
        "expects sklearn.exceptions.NotFittedError itself; ours is a ValueError and "
        "AttributeError like it, but subclassing it would import scikit-learn at run time"
    ),
    "check_dtype_object": "object arrays are refused on purpose: images are uint8 or float",
}
#: Fails only for models with ``partial_fit`` (sklearn skips it for the others).
PARTIAL_FIT = {
    "check_estimators_partial_fit_n_features": (
        "calls partial_fit with tabular float data; partial_fit takes image stacks (Pixel-KR's "
        "only 8-bit ones); tests/test_models_partial_fit.py checks the image-shaped version"
    ),
}

RNG = np.random.default_rng(0)
X = RNG.random((6, 5, 4, 3))
T = np.clip(0.7 * X + 0.2 + 0.05 * RNG.standard_normal(X.shape), 0, 1)
XU = (X * 255).round().astype(np.uint8)
TU = (T * 255).round().astype(np.uint8)

REGRESSORS = [
    PixelRidge(alpha=0.3),
    PixelKernelRidge(alpha=0.3, sigma=0.5),
    MaskedRidge(alpha=0.3),
    GlobalRidge(alpha=0.3),
    FlowPixelRidge(alpha=0.3, radius=2),
]
ALL = [*REGRESSORS, PixelLookupTable(estimator=PixelRidge(alpha=0.3))]


def _tabular(model):
    """The same model, telling scikit-learn it takes 2-D input, so that every check runs."""

    class Tabular(type(model)):
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.two_d_array = True
            return tags

    Tabular.__name__ = type(model).__name__
    return Tabular(**model.get_params(deep=False))


@pytest.mark.parametrize("model", ALL, ids=lambda m: type(m).__name__)
def test_sklearn_estimator_checks(model) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(_tabular(model), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    expected = set(NOT_APPLICABLE) | (set(PARTIAL_FIT) if hasattr(model, "partial_fit") else set())
    assert failed == expected
    assert {
        "check_estimator_cloneable",
        "check_estimator_repr",
        "check_no_attributes_set_in_init",
        "check_get_params_invariance",
        "check_set_params",
        "check_parameters_default_constructible",
        "check_do_not_raise_errors_in_init_or_set_params",
        "check_complex_data",
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_fit1d",
    } <= passed


@pytest.mark.parametrize("model", ALL, ids=lambda m: type(m).__name__)
def test_clone_copies_parameters_not_fitted_state(model) -> None:
    fitted = clone(model).fit(XU, TU)
    copy = clone(fitted)
    assert repr(copy) == repr(model)
    assert not hasattr(copy, "image_shape_")
    copy.fit(XU[:3], TU[:3])
    np.testing.assert_array_equal(fitted.predict(XU), clone(model).fit(XU, TU).predict(XU))


def test_set_params_reaches_a_nested_estimator_and_refuses_unknown_names() -> None:
    table = PixelLookupTable().set_params(estimator=PixelRidge(), estimator__alpha=2.0)
    assert table.get_params()["estimator__alpha"] == 2.0
    assert table.estimator.alpha == 2.0
    with pytest.raises(ValueError, match="invalid parameter 'beta'"):
        PixelRidge().set_params(beta=1)


def test_lookup_table_fit_equals_the_tabulated_estimator() -> None:
    table = PixelLookupTable(estimator=PixelKernelRidge(sigma=0.5)).fit(XU, TU)
    direct = PixelKernelRidge(sigma=0.5).fit(XU, TU).to_lookup_table()
    np.testing.assert_array_equal(table.predict(XU), direct.predict(XU))
    assert table.source_ == "PixelKernelRidge"
    assert PixelLookupTable().fit(XU, TU).source_ == "PixelRidge"
    with pytest.raises(ValueError, match="per-pixel model"):
        PixelLookupTable(estimator=GlobalRidge()).fit(XU, TU)


@pytest.mark.parametrize("model", REGRESSORS, ids=lambda m: type(m).__name__)
def test_float64_in_float64_out_and_float32_in_float32_out(model) -> None:
    floats = [name for name in model._array_names if name not in model._integer_arrays]
    m64 = clone(model).fit(X, T)
    assert all(getattr(m64, name).dtype == np.float64 for name in floats)
    assert m64.predict(X).dtype == np.float64
    m32 = clone(model).fit(X.astype(np.float32), T.astype(np.float32))
    assert all(getattr(m32, name).dtype == np.float32 for name in floats)
    assert m32.predict(X.astype(np.float32)).dtype == np.float32
    assert m32.predict(XU).dtype == np.float32
    # float64 is computed in float64: far closer to itself than float32 can be.
    np.testing.assert_allclose(m64.predict(X), m32.predict(X), atol=1e-4)


def test_pixel_ridge_in_float64_matches_eq_6_to_float64_precision() -> None:
    model = PixelRidge(alpha=0.3, channels="independent").fit(X, T)
    x, t = X.reshape(len(X), -1), T.reshape(len(T), -1)
    a = np.stack([x, np.ones_like(x)], axis=-1).transpose(1, 0, 2)  # (P, N, 2)
    gram = a.transpose(0, 2, 1) @ a + 0.3 * np.eye(2)
    w, b = np.linalg.solve(gram, a.transpose(0, 2, 1) @ t.T[:, :, None])[..., 0].T
    np.testing.assert_allclose(model.coef_.ravel(), w, rtol=0, atol=1e-13)
    np.testing.assert_allclose(model.intercept_.ravel(), b, rtol=0, atol=1e-13)


@pytest.mark.parametrize("model", ALL, ids=lambda m: type(m).__name__)
def test_image_shaped_versions_of_the_tabular_checks(model) -> None:
    with pytest.raises(NotFittedError) as raised:  # check_estimators_unfitted
        clone(model).predict(XU)
    assert isinstance(raised.value, ValueError | AttributeError)
    fresh = clone(model)
    before = repr(fresh)
    xr, tr = XU.copy(), TU.copy()
    xr.flags.writeable = tr.flags.writeable = False  # check_readonly_memmap_input
    fitted = fresh.fit(xr, tr)
    assert fitted is fresh  # check_estimators_fit_returns_self
    assert repr(fresh) == before  # check_dont_overwrite_parameters / overwrite_params
    np.testing.assert_array_equal(xr, XU)  # inputs never modified
    state = pickle.dumps(fresh.__dict__)
    Y = fresh.predict(XU)
    assert pickle.dumps(fresh.__dict__) == state  # check_dict_unchanged
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fresh)).predict(XU), Y)  # pickle
    order = np.array([3, 0, 5, 1, 4, 2])
    if not isinstance(model, GlobalRidge):  # the global model mixes images in fit, not predict
        np.testing.assert_allclose(fresh.predict(XU[order]), Y[order], atol=1e-6)
    np.testing.assert_allclose(fresh.predict(XU[:2]), Y[:2], atol=1e-6)  # subset invariance
    np.testing.assert_array_equal(clone(model).fit(XU, TU).predict(XU), Y)  # fit idempotent
    clone(model).fit(XU[:1], TU[:1])  # one sample is allowed (the penalty keeps it solvable)
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):  # check_estimators_nan_inf
        clone(model).fit(bad, T)
    with pytest.raises(ValueError, match="empty"):  # check_estimators_empty_data_messages
        clone(model).fit(XU[:0], TU[:0])
