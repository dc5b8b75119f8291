"""Sampling helpers shared by the generative families (``vae``, ``gan``).

Randomness comes only from a ``torch.Generator`` on the CPU (the caller's seed), so the same
seed gives the same sequences on any device: noise is drawn on the CPU and moved. Sampling a
categorical is the Gumbel-max trick, ``argmax(logits / T + Gumbel)``; ``T -> 0`` is the
argmax, ``T = 1`` the model's distribution, ``T > 1`` flatter.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..data.alphabet import ID_TO_LETTER

#: the most sequences sampled in one forward pass
CHUNK = 4096


def check_sampling(n: int, temperature: float) -> None:
    """Refuse ``n < 0`` or a temperature that is not a positive finite number (ValueError)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"the number of sequences must be an int >= 0, got {n!r}")
    if not (isinstance(temperature, int | float) and 0 < temperature < float("inf")):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")


def normal(shape: tuple[int, ...], generator: torch.Generator, device: torch.device
           ) -> torch.Tensor:
    """Standard normal noise of ``shape`` drawn on the CPU with ``generator``, on ``device``."""
    return torch.randn(shape, generator=generator).to(device)


def sample_categorical(logits: torch.Tensor, temperature: float, generator: torch.Generator,
                       dim: int = 1) -> torch.Tensor:
    """One index per slice along ``dim`` of ``logits`` (e.g. ``(N, K, L)`` -> ``(N, L)``)."""
    u = torch.rand(logits.shape, generator=generator).clamp_(1e-10, 1.0 - 1e-7)
    gumbel = -torch.log(-torch.log(u)).to(logits.device)
    return (logits.float() / temperature + gumbel).argmax(dim)


def tokens_to_strings(tokens: torch.Tensor | np.ndarray) -> list[str]:
    """Token rows ``(N, L)`` (0 = end/pad, 1..20 residues) -> strings cut at the first 0."""
    arr = np.asarray(tokens.cpu() if torch.is_tensor(tokens) else tokens, dtype=np.int64)
    out = []
    for row in arr:
        end = np.flatnonzero(row == 0)
        row = row[: end[0]] if len(end) else row
        out.append(ID_TO_LETTER[row].tobytes().decode())
    return out


def chunks(n: int) -> list[int]:
    """Sizes of the forward passes that sample ``n`` sequences."""
    return [min(CHUNK, n - i) for i in range(0, n, CHUNK)]


@torch.no_grad()
def sample_sequences(model: torch.nn.Module, n: int, temperature: float,
                     generator: torch.Generator | None,
                     draw: Callable[[torch.Tensor, torch.Generator], torch.Tensor]) -> list[str]:
    """The sampling loop of a generative ``model``: check the arguments, then per chunk of
    at most :data:`CHUNK` sequences draw latent noise ``(size, model.latent_dim)`` and turn
    it into token rows with ``draw(z, generator)``; in eval mode, restored afterwards.
    Without ``generator`` the seed is 0."""
    check_sampling(n, temperature)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    was_training, out = model.training, []
    model.eval()
    device = next(model.parameters()).device
    try:
        for size in chunks(n):
            out += tokens_to_strings(draw(normal((size, model.latent_dim), gen, device), gen))
    finally:
        model.train(was_training)
    return out


__all__ = ["check_sampling", "chunks", "normal", "sample_categorical", "sample_sequences",
           "tokens_to_strings"]
