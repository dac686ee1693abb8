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
    expressions = available_expressions()
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
    x0, y0, x1, y1 = _around(result.faces[0], photo.shape, margin=0.35)
    closeups = [image[y0:y1, x0:x1] for image in (photo, *edited)]
    sheet = labelled_grid([closeups], col_labels=["input", *expressions], cell=256)
    write_image(output, sheet)
    click.echo(f"wrote {output}")


def _around(box: tuple[int, int, int, int], shape: tuple[int, ...], margin: float) -> tuple:
    """Square window around a face box (x0, y0, x1, y1), grown by ``margin``, in the image."""
    x, y, w, h = box[0], box[1], box[2] - box[0], box[3] - box[1]
    side = int(max(w, h) * (1 + 2 * margin))
    cx, cy = x + w // 2, y + h // 2
    x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
    return x0, y0, min(shape[1], x0 + side), min(shape[0], y0 + side)
