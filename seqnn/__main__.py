"""``python -m seqnn`` runs the ``seqnn`` command."""

from .cli import main

main()
