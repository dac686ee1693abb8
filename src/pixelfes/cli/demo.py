"""``pixelfes demo``: a before/after sheet of every expression on a bundled portrait."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import click

from pixelfes.editing import available_expressions, edit_image
from pixelfes.figures import labelled_grid

DEMO_PORTRAIT = "astronaut.jpg"


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("pixelfes-demo.png"),
    show_default=True,
    help="Where to write the sheet (PNG).",
)
@click.option("--image", type=click.Path(exists=True, path_type=Path), help="Use another photo.")
def demo(output: Path, image: Path | None) -> None:
    """Edit a public-domain portrait into every expression and write a before/after sheet."""
    from pixelfes.imageio import read_image, write_image

    source = image or Path(str(resources.files("pixelfes").joinpath("assets", DEMO_PORTRAIT)))
    photo = read_image(source)
    expressions = [e for e in available_expressions() if e != "neutral"]
    if not expressions:
        raise click.ClickException("no bundled models are installed")
    edited = []
    for expression in expressions:
        start = time.perf_counter()
        result = edit_image(photo, to=expression, source=str(source))
        click.echo(
            f"{expression:<9} {len(result.faces)} face(s) in {time.perf_counter() - start:.3f} s"
        )
        edited.append(result.image)
    sheet = labelled_grid([[photo, *edited]], col_labels=["input", *expressions], cell=256)
    write_image(output, sheet)
    click.echo(f"wrote {output}")
