"""Old command-line spellings kept for one release: they work, with a warning on stderr."""

from __future__ import annotations

from typing import Any

import click


def warn_renamed(old: str, new: str) -> None:
    """Tell the user that ``old`` is deprecated in favour of ``new`` (on stderr)."""
    click.echo(
        f"warning: {old} is deprecated and will be removed in the next release; use {new}",
        err=True,
    )


def renamed_command(command: click.Command, old_name: str) -> click.Command:
    """A hidden command ``old_name`` that warns, then runs ``command`` with the same options."""

    def callback(**kwargs: Any) -> Any:
        warn_renamed(f"`pixelfes {old_name}`", f"`pixelfes {command.name}`")
        return command.callback(**kwargs) if command.callback is not None else None

    return click.Command(
        old_name,
        params=command.params,
        callback=callback,
        help=f"Deprecated name of `pixelfes {command.name}`.",
        hidden=True,
    )
