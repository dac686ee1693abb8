"""``pixelfes demo``: a before/after sheet of every expression on a bundled portrait."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import click

from pixelfes.editing import available_expressions, edit_image
from pixelfes.figures import labelled_grid

#: A neutral face for every expression but neutral; a smiling one for happy -> neutral.
NEUTRAL_PORTRAIT = "grace_hopper.jpg"
SMILING_PORTRAIT = "astronaut.jpg"


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
    """Edit public-domain portraits into every expression and write a before/after sheet.

    A neutral face (Grace Hopper) goes to every expression; a smiling one (the astronaut
    Eileen Collins) goes back to neutral. With ``--image``, that photo goes to all.
    """
    expressions = available_expressions()
    if not expressions:
        raise click.ClickException("no bundled models are installed")
    if image is not None:
        tiles, labels = _row(image, expressions)
    else:
        order = ("happy", "surprise", "sad", "anger", "disgust", "fear")
        others = sorted(
            (e for e in expressions if e != "neutral"),
            key=lambda e: (order.index(e) if e in order else len(order), e),
        )
        tiles, labels = _row(_asset(NEUTRAL_PORTRAIT), others)
        if "neutral" in expressions:
            more, more_labels = _row(_asset(SMILING_PORTRAIT), ["neutral"])
            tiles += more
            labels += ["input (smiling)", *more_labels[1:]]
    from pixelfes.imageio import write_image

    write_image(output, labelled_grid([tiles], col_labels=labels, cell=256))
    click.echo(f"wrote {output}")


def _asset(name: str) -> Path:
    return Path(str(resources.files("pixelfes").joinpath("assets", name)))


def _row(source: Path, expressions: list[str]) -> tuple[list, list[str]]:
    """Close-ups of ``source`` and of its edit into each expression, with column labels."""
    from pixelfes.imageio import read_image

    photo = read_image(source)
    edited = []
    for expression in expressions:
        start = time.perf_counter()
        result = edit_image(photo, to=expression, source=str(source))
        click.echo(
            f"{source.name} -> {expression:<9} {len(result.faces)} face(s) in "
            f"{time.perf_counter() - start:.3f} s"
        )
        edited.append(result.image)
    x0, y0, x1, y1 = _around(result.faces[0], photo.shape, margin=0.35)
    return [im[y0:y1, x0:x1] for im in (photo, *edited)], ["input", *expressions]


def _around(box: tuple[int, int, int, int], shape: tuple[int, ...], margin: float) -> tuple:
    """Square window around a face box (x0, y0, x1, y1), grown by ``margin``, in the image."""
    x, y, w, h = box[0], box[1], box[2] - box[0], box[3] - box[1]
    side = int(max(w, h) * (1 + 2 * margin))
    cx, cy = x + w // 2, y + h // 2
    x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
    return x0, y0, min(shape[1], x0 + side), min(shape[0], y0 + side)
