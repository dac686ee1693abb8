"""Options of ``pixelfes edit`` that choose the face and dose the regions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from pixelfes.faces.manual import parse_points
from pixelfes.faces.regions import REGIONS, parse_regions

_OPTIONS = [
    click.option(
        "--face",
        type=click.IntRange(0),
        help="Edit only face N (0 = leftmost; see 'pixelfes faces').",
    ),
    click.option("--box", metavar="X,Y,W,H", help="Edit only the face inside this box of pixels."),
    click.option(
        "--eyes",
        metavar="X1,Y1,X2,Y2",
        help="Eye centres of a face the detector misses (paintings, animals); skips detection.",
    ),
    click.option("--mouth", metavar="X,Y", help="Mouth centre, with --eyes (else estimated)."),
    click.option(
        "--detector",
        type=click.Choice(["face", "cat"]),
        default="face",
        show_default=True,
        help="Human faces, or cat faces (OpenCV's cat cascades).",
    ),
    click.option(
        "--region",
        "region",
        metavar="NAME=DOSE,...",
        help=f"Intensity per region ({', '.join(REGIONS)}), e.g. mouth=1.2,eyes=0.4; "
        "the others get --intensity.",
    ),
    click.option(
        "--no-clean-border",
        "no_clean_border",
        is_flag=True,
        help="Paste the edit over the whole face ellipse, even where it covers background.",
    ),
]


def face_options(command: Callable) -> Callable:
    """Add the face-choice and region options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def edit_options(
    *,
    face: int | None,
    box: str | None,
    eyes: str | None,
    mouth: str | None,
    detector: str,
    region: str | None,
    no_clean_border: bool,
) -> dict[str, Any]:
    """The keyword arguments of :func:`pixelfes.editing.edit_image` for the options given."""
    try:
        return {
            "face": face,
            "box": None if box is None else parse_points(box, 4, "--box"),
            "eyes": None if eyes is None else parse_points(eyes, 4, "--eyes"),
            "mouth": None if mouth is None else parse_points(mouth, 2, "--mouth"),
            "detector": None if detector == "face" else detector,
            "regions": None if region is None else parse_regions(region),
            "clean_border": not no_clean_border,
        }
    except ValueError as error:
        raise click.UsageError(str(error)) from error


def photo_only(options: dict[str, Any]) -> list[str]:
    """The options given that videos do not support (they edit every tracked face)."""
    flags = {"face": "--face", "box": "--box", "eyes": "--eyes", "detector": "--detector"}
    named = [flag for key, flag in flags.items() if options.get(key) is not None]
    return named + (["--region"] if options.get("regions") else [])
