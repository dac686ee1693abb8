"""``pixelfes models``: list the bundled models and show their cards."""

from __future__ import annotations

import re
import textwrap

import click

from pixelfes.pretrained import BundledModel, bundled_models, find_bundled


@click.command()
@click.argument("name", required=False)
def models(name: str | None) -> None:
    """List the bundled models, or print the model card of NAME."""
    if name is not None:
        model = find_bundled(name)
        if model is None:
            raise click.UsageError(f"no bundled model named {name!r}; run `pixelfes models`")
        click.echo(model.card() or f"{model.name} has no model card")
        return
    listed = bundled_models()
    if not listed:
        click.echo("no bundled models are installed")
        return
    click.echo(f"{'name':<22} {'from':<9} {'to':<9} {'size':>8}  summary")
    for model in listed:
        size = f"{model.path.stat().st_size / 1024:.0f} KB"
        click.echo(
            f"{model.name:<22} {model.source:<9} {model.target:<9} {size:>8}  {_summary(model)}"
        )
    click.echo("\n`pixelfes models NAME` prints a model's card.")


def _summary(model: BundledModel, width: int = 60) -> str:
    """The model family and its terms of use from the card's first paragraph, cut at a word."""
    paragraph: list[str] = []
    for line in model.card().splitlines():
        if line.startswith("#") or (not line.strip() and not paragraph):
            continue
        if not line.strip():
            break
        paragraph.append(line.strip())
    text = " ".join(paragraph).replace("**", "")
    text = text.split(": ", 1)[1] if ": " in text else text
    family, terms = text.split(",", 1)[0], re.split(r"(?<=\.)\s+", text)[-1]
    summary = f"{family}; {terms}" if terms != text else text
    return textwrap.shorten(summary, width=width, placeholder=" ...")
