"""Model classes by name: each model module registers its class, and loading finds it here.

Serialization knows the models only through this registry, so a new model family is one
new module with ``@register("family-name")`` on its class and nothing else to edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pixelfes.exceptions import InvalidInputError

__all__ = ["MODEL_CLASSES", "MODEL_FAMILIES", "register"]

#: Class name (the ``class`` field of a model file) -> model class.
MODEL_CLASSES: dict[str, type] = {}
#: Family name (``pixelfes train --family``) -> model class, for the trainable models.
MODEL_FAMILIES: dict[str, type] = {}

ModelClass = TypeVar("ModelClass", bound=type)


def register(family: str | None = None) -> Callable[[ModelClass], ModelClass]:
    """Class decorator: make a model loadable by class name and trainable by ``family``.

    Parameters
    ----------
    family : str, optional
        Short name of the model family (e.g. ``"pixel-rr"``); None for models that are
        built from another model rather than trained (the lookup table).
    """

    def add(cls: ModelClass) -> ModelClass:
        for table, key in ((MODEL_CLASSES, cls.__name__), (MODEL_FAMILIES, family)):
            if key is None:
                continue
            if table.get(key, cls) is not cls:
                raise InvalidInputError(f"model name {key!r} is registered twice")
            table[key] = cls
        return cls

    return add
