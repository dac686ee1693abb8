"""The pretrained models bundled with pixelfes, one ``<source>-to-<target>.npz`` each with its card.

A variant of a model carries a suffix, ``<source>-to-<target>-<variant>.npz`` (e.g.
``neutral-to-happy-ccby``, trained on CC BY data alone; ``neutral-to-happy-geometry``), found
by its full name or as ``<target>-<variant>`` (``happy-geometry``); a bare expression picks
the model without a suffix.

Each model file carries its expressions in its metadata (``source_expression`` and
``target_expression``); the card ``<name>.md`` beside it says how it was trained and scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(str(resources.files(__name__)))


@dataclass(frozen=True)
class BundledModel:
    """A bundled model file and its card."""

    name: str
    source: str
    target: str
    path: Path
    variant: str = ""

    @property
    def card_path(self) -> Path:
        return self.path.with_suffix(".md")

    def card(self) -> str:
        """The model card's text (empty when the card is missing)."""
        return self.card_path.read_text(encoding="utf-8") if self.card_path.is_file() else ""


def bundled_models() -> list[BundledModel]:
    """List the bundled models, sorted by name; the names read ``<source>-to-<target>``."""
    models = []
    for path in sorted(PACKAGE_DIR.glob("*-to-*.npz")):
        source, rest = path.stem.split("-to-", 1)
        target, _, variant = rest.partition("-")
        models.append(BundledModel(path.stem, source, target, path, variant))
    return models


def find_bundled(name: str) -> BundledModel | None:
    """Find a bundled model by file stem (``neutral-to-happy``) or by target expression.

    A bare expression picks the model that turns a neutral face into it; ``neutral``
    picks the model that turns a smile back to neutral.
    """
    models = bundled_models()
    for model in models:
        if name == model.name or (model.variant and name == f"{model.target}-{model.variant}"):
            return model
    for model in models:
        if model.variant:
            continue
        if model.target == name and (model.source == "neutral" or name == "neutral"):
            return model
    return None
