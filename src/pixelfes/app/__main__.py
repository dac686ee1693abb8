"""``python -m pixelfes.app [--host H] [--port P]``: run the web app."""

from __future__ import annotations

import argparse

from pixelfes.app import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pixelfes.app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    args = parser.parse_args()
    serve(args.host, args.port, open_browser=args.open)


if __name__ == "__main__":
    main()
