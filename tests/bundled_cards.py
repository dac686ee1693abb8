"""What every bundled model's card must say, checked the same way for each family."""

from __future__ import annotations

from pixelfes.pretrained import BundledModel


def check_card(bundled: BundledModel, model) -> str:
    """Assert that the model file's metadata names the bundled pair and that its card quotes
    the held-out score and says "Research use only" exactly when research-only data were
    used; return the card for the family's own checks."""
    meta = model.metadata_
    assert (meta["source_expression"], meta["target_expression"]) == (
        bundled.source,
        bundled.target,
    )
    card = bundled.card()
    assert f"{meta['heldout_psnr']:.2f} dB" in card
    assert ("Research use only" in card) == (set(meta["datasets"]) != {"london"})
    return card
