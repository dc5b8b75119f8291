"""The ``seqnn`` command (the console script ``seqnn.cli:main``): ``main`` assembles one
module per command group. Nothing in the package imports ``cli``."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
