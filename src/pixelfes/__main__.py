"""``python -m pixelfes`` runs the command line."""

from pixelfes.cli import main

main()
