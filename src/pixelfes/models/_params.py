"""Hyper-parameter access as scikit-learn defines it, without importing scikit-learn.

:class:`ParamsMixin` gives ``get_params``/``set_params`` the semantics of
``sklearn.base.BaseEstimator`` (parameters are the constructor's arguments, nested
estimators are reached with ``name__param``), so ``sklearn.base.clone``, grid searches
and pipelines work on pixelfes models. scikit-learn is imported only when scikit-learn
itself asks for the estimator tags.
"""

from __future__ import annotations

import inspect
from typing import Any

from pixelfes.exceptions import InvalidInputError


class ParamsMixin:
    """``get_params``/``set_params``/tags compatible with ``sklearn.base.BaseEstimator``."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The constructor's keyword arguments, in the constructor's order."""
        signature = inspect.signature(cls.__init__)
        names = [p.name for p in signature.parameters.values() if p.name != "self"]
        for parameter in signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs")
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the hyper-parameters (the constructor's arguments) as a dict.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of nested estimators as ``name__param``.
        """
        params: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params: Any) -> ParamsMixin:
        """Set hyper-parameters (``name`` or ``nested__name``) and return self.

        Values are checked when ``fit`` runs, as in scikit-learn.
        """
        valid = self._get_param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise InvalidInputError(
                    f"invalid parameter {name!r} for {type(self).__name__}; valid: {valid}"
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"

    def __sklearn_tags__(self) -> Any:
        """Estimator tags for scikit-learn (only scikit-learn calls this)."""
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=True, multi_output=True),
            regressor_tags=RegressorTags(),
            input_tags=InputTags(two_d_array=False, three_d_array=True),
        )
