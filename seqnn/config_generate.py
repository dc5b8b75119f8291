"""The ``generate:`` block of a ``task: generative`` dataset (standard library and
:mod:`seqnn.config_bounds` only; :mod:`seqnn.config` builds it with the rest of a dataset block)."""

from __future__ import annotations

from dataclasses import dataclass

from .config_bounds import MAX_GENERATE, MAX_SEED, MAX_TEMPERATURE, check_spec, setting


@dataclass(frozen=True)
class GenerateSpec:
    """A ``task: generative`` dataset's ``generate:`` block (config/amp_generate.yaml)."""

    n: int = setting(1000, int, low=1, high=MAX_GENERATE)
    seed: int = setting(0, int, low=0, high=MAX_SEED)
    temperature: float = setting(1.0, float, low=0, high=MAX_TEMPERATURE, low_open=True)
    # or "valid": the held-out split the samples are judged against
    reference: str = setting("test", str, choices=("test", "valid"))
    classifier: str | None = None  # a binary classifier model folder: its view is reported
    embed_model: str | None = None  # a model folder for the Fréchet distance (default: vae)

    def __post_init__(self) -> None:
        check_spec(self)  # each setting()'s type and range (ConfigError naming the key)


__all__ = ["GenerateSpec"]
