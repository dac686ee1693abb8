"""``pixelfes faces``: list the faces in a photo, numbered as ``edit --face`` counts them."""

from __future__ import annotations

from pathlib import Path

import click

from pixelfes.exceptions import ImageError


@click.command("faces")
@click.argument("photo", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the photo with each face's box and number drawn on it.",
)
@click.option(
    "--detector",
    type=click.Choice(["face", "cat"]),
    default="face",
    show_default=True,
    help="Human faces, or cat faces (OpenCV's cat cascades).",
)
def faces_command(photo: Path, preview: Path | None, detector: str) -> None:
    """Print each face in PHOTO: index (left to right), box x,y,w,h and detector score."""
    from pixelfes.faces.select import detect_faces, detector_by_name, draw_faces
    from pixelfes.imageio import read_image, write_image

    try:
        image = read_image(photo)
    except ImageError as error:
        raise click.ClickException(str(error)) from error
    found = detect_faces(image, detector_by_name(detector))
    for index, face in enumerate(found):
        x, y, w, h = (round(v) for v in face.box)
        click.echo(f"{index}\tbox {x},{y},{w},{h}\tscore {face.score:.2f}")
    click.echo(f"{len(found)} face{'' if len(found) == 1 else 's'} in {photo}", err=True)
    if preview is not None:
        write_image(preview, draw_faces(image, found))
        click.echo(f"wrote {preview}", err=True)
