"""The ``pixelfes`` command line: edit, demo, faces, models, train, train-gan, evaluate, export,
serve."""

from __future__ import annotations

import click

from pixelfes import __version__
from pixelfes.cli._deprecation import renamed_command
from pixelfes.cli.demo import demo
from pixelfes.cli.edit import edit
from pixelfes.cli.evaluate import evaluate
from pixelfes.cli.export import export
from pixelfes.cli.faces import faces_command
from pixelfes.cli.models import models
from pixelfes.cli.serve import serve
from pixelfes.cli.train import train_command
from pixelfes.cli.train_gan import train_gan


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pixelfes")
def main() -> None:
    """Change the facial expression on photos and videos with tiny per-pixel models."""


main.add_command(edit)
main.add_command(renamed_command(edit, "apply"))
main.add_command(demo)
main.add_command(evaluate)
main.add_command(faces_command)
main.add_command(export)
main.add_command(models)
main.add_command(train_command)
main.add_command(train_gan)
main.add_command(serve)
