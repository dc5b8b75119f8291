"""seqnn: protein FASTA to honestly evaluated neural networks.

The package is importable piece by piece (``from seqnn.encode import one_hot``) without
pulling in torch; :func:`load` (a trained model directory) imports it on first use.
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["__version__", "load"]


def load(model_dir: str, device: str = "auto"):  # noqa: ANN201 - avoids importing torch here
    """Load a trained model directory for prediction (see :mod:`seqnn.predict`); ``device``
    is ``auto`` (CUDA, then MPS, then CPU, as the CLI), ``cpu``, ``cuda``, ``cuda:N`` or
    ``mps``. Its ``predict`` returns the table of ``seqnn predict`` (nearest_identity and the
    reliability columns by default where the folder has what they need; ``nearest=False``
    turns the check off)."""
    from .predict import load as _load

    return _load(model_dir, device=device)
