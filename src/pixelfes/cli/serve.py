"""``pixelfes serve``: the local web app."""

from __future__ import annotations

import importlib.util

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@click.option("--max-upload-mb", type=click.IntRange(1, 200), default=20, show_default=True)
def serve(host: str, port: int, open_browser: bool, max_upload_mb: int) -> None:
    """Run the web app: upload or take a photo, pick an expression, download the result."""
    missing = [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise click.ClickException(
            f"the web app needs {', '.join(missing)}: pip install 'pixelfes[app]'"
        )
    from pixelfes.app import serve as run

    run(host, port, open_browser=open_browser, max_upload_bytes=max_upload_mb * 1024 * 1024)
