"""``pixelfes export``: write a model as ONNX for any ONNX runtime (see docs/export.md)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export")
@click.argument("model_spec", metavar="MODEL")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="ONNX file.")
@click.option(
    "--input",
    "input_type",
    type=click.Choice(["uint8", "float"]),
    default="uint8",
    show_default=True,
    help="uint8 crops in and out, or float32 [0, 1] crops in and the raw prediction out.",
)
def export(model_spec: str, output: Path, input_type: str) -> None:
    """Export MODEL (a bundled name or expression, or a model file) to ONNX."""
    from pixelfes.editing import load_model
    from pixelfes.exceptions import ModelFileError

    try:
        model = load_model(model_spec)
    except (ModelFileError, ValueError) as error:
        raise click.UsageError(str(error)) from error
    from pixelfes.export import export_onnx

    if output.is_dir():
        raise click.UsageError(f"{output} is a folder; give the ONNX file's name")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(model, output, input_type=input_type)
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror or error}") from error
    except (ImportError, TypeError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    height, width, channels = model.image_shape_
    kind = "uint8" if input_type == "uint8" else "float32 [0, 1]"
    click.echo(
        f"wrote {output} ({output.stat().st_size / 1024:.0f} KB): {type(model).__name__} on "
        f"(N, {height}, {width}, {channels}) {kind} aligned crops"
    )
