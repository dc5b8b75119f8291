"""``vae``: the autoencoder with a variational latent, a length head and a sampler.

The encoder gives a mean and a log-variance per sequence; training decodes a sample
``z = mu + sigma * eps`` and adds the KL divergence to the standard normal prior, weighted by
``kl_weight`` and annealed linearly from 0 over the first ``kl_warmup`` training batches (so
that the decoder learns to use the latent before the prior squeezes it). The loss is per
residue: (reconstruction cross-entropy + beta * KL + length cross-entropy) summed over a batch
and divided by its residues; validation always uses the full ``kl_weight``, so the validation
loss is the negative evidence lower bound per residue (plus the length term), comparable
between epochs: the default early-stopping criterion of a generative model.

Variable length: a **length head** (an MLP on the latent) predicts a distribution over lengths
``1..max_gen_len``. The decoder is not autoregressive (every position at once, from the latent
and the position), so it cannot place an end token consistently; the head samples a length
first and the decoder fills that many positions. Sampling draws ``z`` from the prior, a length
from the head and each residue from the decoder (20 standard residues only), all at
``temperature``. ``embed`` returns the mean ``mu`` (deterministic, padding-invariant).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .autoencoder import Autoencoder
from .layers import masked_pool
from .registry import register_model
from .sampling import (
    sample_categorical,
    sample_sequences,
)

#: width of the length head's hidden layer
LENGTH_HIDDEN = 64


@register_model("vae")
class VAE(Autoencoder):
    """Variational autoencoder; tokens ``(N, L)`` -> reconstruction logits ``(N, 22, L)``.

    Parameters as :class:`~seqnn.models.autoencoder.Autoencoder`, plus ``kl_weight`` (beta),
    ``kl_warmup`` (training batches of linear annealing, 0 = none) and ``max_gen_len`` (the
    longest length the head can produce; longer training sequences count as that length).
    """

    unsupervised = True
    generative = True

    def __init__(
        self, *, n_outputs: int | None = None, task: str = "unsupervised", input: str = "onehot",
        embed_dim: int = 16, encoder: str = "conv", channels: Sequence[int] = (64, 64),
        kernel_size: int | Sequence[int] = 9, hidden_size: int = 64, pool: str = "max",
        latent_dim: int = 16, decoder: str = "conv", decoder_channels: Sequence[int] = (64, 64),
        pos_dim: int = 16, activation: str = "relu", batch_norm: bool = False,
        dropout: float = 0.0, kl_weight: float = 1.0, kl_warmup: int = 1000,
        max_gen_len: int = 100,
    ):
        super().__init__(
            n_outputs=n_outputs, task=task, input=input, embed_dim=embed_dim, encoder=encoder,
            channels=channels, kernel_size=kernel_size, hidden_size=hidden_size, pool=pool,
            latent_dim=latent_dim, decoder=decoder, decoder_channels=decoder_channels,
            pos_dim=pos_dim, activation=activation, batch_norm=batch_norm, dropout=dropout)
        if kl_weight < 0 or kl_warmup < 0 or max_gen_len < 1:
            raise ValueError("need kl_weight >= 0, kl_warmup >= 0 and max_gen_len >= 1, got "
                             f"{kl_weight}, {kl_warmup}, {max_gen_len}")
        self.kl_weight, self.kl_warmup = float(kl_weight), int(kl_warmup)
        self.max_gen_len = int(max_gen_len)
        self.to_logvar = nn.Linear(self.to_latent.in_features, self.latent_dim)
        self.length_head = nn.Sequential(nn.Linear(self.latent_dim, LENGTH_HIDDEN), nn.ReLU(),
                                         nn.Linear(LENGTH_HIDDEN, self.max_gen_len))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self._aux: tuple[torch.Tensor, torch.Tensor] | None = None

    def _pooled(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.inputs(x, mask)
        if self.encoder_kind == "conv":
            return masked_pool(self.encoder(h, mask), mask, self.pool)
        return self.encoder(h, mask)

    def embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> latent means ``(N, latent_dim)``."""
        return self.to_latent(self._pooled(x, mask))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> reconstruction logits ``(N, 22, L)``.

        Training decodes a sampled latent and counts one annealing step; evaluation decodes
        the mean. The KL term ``(N,)`` and the length logits are kept for :meth:`batch_loss`.
        """
        pooled = self._pooled(x, mask)
        mu, logvar = self.to_latent(pooled), self.to_logvar(pooled).clamp(-10.0, 10.0)
        z = mu
        if self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            self.steps += 1
        kl = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(1)
        self._aux = (kl, self.length_head(z))
        return self.decode(z, mask)

    def beta(self) -> float:
        """The KL weight now: annealed while training, the full ``kl_weight`` in eval."""
        if not self.training or self.kl_warmup == 0:
            return self.kl_weight
        return self.kl_weight * min(1.0, float(self.steps) / self.kl_warmup)

    def batch_loss(self, raw: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        """(Reconstruction CE + beta * KL + length CE) of a batch, per residue; 0-dim."""
        x, mask = batch["x"], batch["mask"]
        per_pos = F.cross_entropy(raw.float(), x.long(), reduction="none")
        m = mask.to(per_pos.dtype)
        residues = m.sum().clamp(min=1.0)
        kl, length_logits = self._aux
        target = (mask.sum(1) - 1).clamp(0, self.max_gen_len - 1).long()
        length = F.cross_entropy(length_logits.float(), target, reduction="sum")
        return ((per_pos * m).sum() + self.beta() * kl.float().sum() + length) / residues

    @torch.no_grad()
    def generate(self, n: int, *, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> list[str]:
        """``n`` new sequences sampled from the prior (module doc); ``generator`` (CPU)
        makes them reproducible."""
        def draw(z: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
            lengths = sample_categorical(self.length_head(z), temperature, gen) + 1
            mask = torch.arange(int(lengths.max()), device=z.device)[None, :] < lengths[:, None]
            logits = self.decode(z, mask)[:, 1:21]  # the 20 standard residues
            return (sample_categorical(logits, temperature, gen) + 1) * mask

        return sample_sequences(self, n, temperature, generator, draw)
