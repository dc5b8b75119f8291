"""The ``generate:`` block of a ``task: generative`` dataset (no imports beyond the standard
library; :mod:`seqnn.config` builds it with the rest of a dataset block)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GenerateSpec:
    """A ``task: generative`` dataset's ``generate:`` block (config/amp_generate.yaml)."""

    n: int = 1000
    seed: int = 0
    temperature: float = 1.0
    reference: str = "test"  # or "valid": the held-out split the samples are judged against
    classifier: str | None = None  # a binary classifier model folder: its view is reported
    embed_model: str | None = None  # a model folder for the Fréchet distance (default: vae)


__all__ = ["GenerateSpec"]
