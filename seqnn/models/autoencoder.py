"""``autoencoder``: encoder -> latent vector -> decoder reconstructing every token.

The encoder (conv stack or bidirectional GRU) is pooled over real positions into one latent
vector per sequence. The decoder sees only that latent, broadcast along the sequence, plus a
fixed sinusoidal signal of the absolute position, so everything it reconstructs must pass
through the latent. Loss and accuracy are per-position and masked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.alphabet import N_TOKENS
from .cnn import ConvStack
from .layers import (
    ACTIVATIONS,
    POOLS,
    InputLayer,
    SeqModel,
    check_choice,
    masked_pool,
    pooled_width,
)
from .registry import register_model
from .rnn import RecurrentEncoder

ENCODERS = ("conv", "gru")
#: longest period of the positional signal, in residues
MAX_PERIOD = 1000.0


def positional_signal(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Sinusoidal encoding of positions ``0..length-1``: ``(dim, length)`` float32.

    Channel pairs are ``sin``/``cos`` of ``pos / MAX_PERIOD ** (2 i / dim)``; an odd ``dim``
    leaves the last channel zero. Depends only on the absolute position, not on ``length``.
    """
    pos = torch.arange(length, device=device, dtype=torch.float32)
    half = dim // 2
    freq = torch.exp(
        -math.log(MAX_PERIOD) * torch.arange(half, device=device, dtype=torch.float32)
        / max(half, 1)
    )
    angles = freq[:, None] * pos[None, :]
    sig = torch.zeros(dim, length, device=device)
    sig[0 : 2 * half : 2] = torch.sin(angles)
    sig[1 : 2 * half : 2] = torch.cos(angles)
    return sig


@register_model("autoencoder")
class Autoencoder(SeqModel):
    """Sequence autoencoder; tokens ``(N, L)`` -> reconstruction logits ``(N, N_TOKENS, L)``.

    ``encoder="conv"`` (``channels``, ``kernel_size``, ``activation``, ``batch_norm``) or
    ``"gru"`` (bidirectional, ``hidden_size``); ``pool`` (``"max"``, ``"mean"``,
    ``"meanmax"``, and ``"last"`` for the GRU) then a linear map gives the ``latent_dim``
    latent, which :meth:`embed` returns ``(N, latent_dim)``. ``decoder`` is ``"conv"``
    (``decoder_channels``) or ``"gru"``, fed the latent plus a ``pos_dim``-channel positional
    signal. Unsupervised: ``n_outputs`` and ``task`` are accepted and ignored.
    """

    unsupervised = True

    def __init__(
        self, *, n_outputs: int | None = None, task: str = "unsupervised", input: str = "onehot",
        embed_dim: int = 16, encoder: str = "conv", channels: Sequence[int] = (64, 64),
        kernel_size: int | Sequence[int] = 9, hidden_size: int = 64, pool: str = "max",
        latent_dim: int = 32, decoder: str = "conv", decoder_channels: Sequence[int] = (64, 64),
        pos_dim: int = 16, activation: str = "relu", batch_norm: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__(n_outputs, task)
        check_choice("encoder", encoder, ENCODERS)
        check_choice("decoder", decoder, ENCODERS)
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("pool", pool, (*POOLS, "last") if encoder == "gru" else POOLS)
        if latent_dim < 1 or pos_dim < 0:
            raise ValueError(f"need latent_dim >= 1 and pos_dim >= 0, got {latent_dim}, {pos_dim}")
        if (encoder == "conv" and not channels) or (decoder == "conv" and not decoder_channels):
            raise ValueError("a conv encoder/decoder needs at least one layer of channels")
        self.inputs = InputLayer(input, embed_dim)
        self.encoder_kind, self.decoder_kind = encoder, decoder
        self.pool, self.pos_dim, self.latent_dim = pool, int(pos_dim), int(latent_dim)
        c_in = self.inputs.out_channels
        if encoder == "conv":
            self.encoder = ConvStack(c_in, channels, kernel_size, 1, activation,
                                     bool(batch_norm), dropout)
            enc_width = pooled_width(self.encoder.out_channels, pool)
        else:
            self.encoder = RecurrentEncoder(c_in, "gru", int(hidden_size), 1, True, 0.0, pool)
            enc_width = self.encoder.out_features
        self.to_latent = nn.Linear(enc_width, self.latent_dim)
        dec_in = self.latent_dim + self.pos_dim
        if decoder == "conv":
            self.decoder = ConvStack(dec_in, decoder_channels, kernel_size, 1, activation,
                                     bool(batch_norm), dropout)
            dec_width = self.decoder.out_channels
        else:
            self.decoder = RecurrentEncoder(dec_in, "gru", int(hidden_size), 1, True, 0.0, "max")
            dec_width = self.decoder.out_channels
        self.to_tokens = nn.Conv1d(dec_width, N_TOKENS, 1)
        self.embed_size = self.latent_dim

    def embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> latent vectors ``(N, latent_dim)``."""
        h = self.inputs(x, mask)
        if self.encoder_kind == "conv":
            pooled = masked_pool(self.encoder(h, mask), mask, self.pool)
        else:
            pooled = self.encoder(h, mask)
        return self.to_latent(pooled)

    def decode(self, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Latent ``(N, latent_dim)`` and mask ``(N, L)`` -> logits ``(N, N_TOKENS, L)``."""
        n, length = mask.shape
        parts = [z.unsqueeze(2).expand(n, self.latent_dim, length)]
        if self.pos_dim:
            pos = positional_signal(length, self.pos_dim, z.device).to(z.dtype)
            parts.append(pos.unsqueeze(0).expand(n, -1, -1))
        h = torch.cat(parts, dim=1) * mask.unsqueeze(1).to(z.dtype)
        conv = self.decoder_kind == "conv"
        h = self.decoder(h, mask) if conv else self.decoder.outputs(h, mask)
        return self.to_tokens(h)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> reconstruction logits ``(N, N_TOKENS, L)``."""
        return self.decode(self.embed(x, mask), mask)

    @staticmethod
    def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor, mask: torch.Tensor
                            ) -> torch.Tensor:
        """Cross-entropy of logits ``(N, N_TOKENS, L)`` vs tokens ``(N, L)``.

        Per-position, averaged over the real positions of ``mask`` ``(N, L)``; a 0-dim tensor.
        """
        per_pos = F.cross_entropy(logits.float(), x.long(), reduction="none")
        m = mask.to(per_pos.dtype)
        return (per_pos * m).sum() / m.sum().clamp(min=1.0)

    @staticmethod
    def reconstruction_accuracy(logits: torch.Tensor, x: torch.Tensor, mask: torch.Tensor
                                ) -> torch.Tensor:
        """Fraction of real positions whose argmax token equals ``x``; a 0-dim float tensor."""
        hits = (logits.argmax(dim=1) == x.long()) & mask
        return hits.sum().float() / mask.sum().clamp(min=1).float()
