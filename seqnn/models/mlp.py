"""``mlp``: a fully connected network on pooled (or flattened) per-residue features.

The simplest reference model. By default the per-residue input features ``(N, C, L)`` are
pooled over real positions (mean and max, i.e. composition and presence) plus a log-length
feature, then go through hidden dense layers to the output. With ``flatten=True`` the
features are padded/truncated to ``max_len`` and flattened instead (position-aware).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import (
    ACTIVATIONS,
    POOLS,
    InputLayer,
    SeqModel,
    check_choice,
    dense_stack,
    lengths_of,
    masked_pool,
    pooled_width,
)
from .registry import register_model


def fixed_length(x: torch.Tensor, mask: torch.Tensor, max_len: int
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Truncate or right-pad tokens ``(N, L)`` and mask ``(N, L)`` to ``(N, max_len)``."""
    n, length = x.shape
    if length >= max_len:
        return x[:, :max_len], mask[:, :max_len]
    extra = max_len - length
    x = torch.cat([x, x.new_zeros(n, extra)], dim=1)
    mask = torch.cat([mask, mask.new_zeros(n, extra)], dim=1)
    return x, mask


@register_model("mlp")
class MLP(SeqModel):
    """Dense network on pooled or flattened input features; ``(N, L)`` tokens -> ``(N, n_outputs)``.

    ``pool``: ``"mean"``, ``"max"`` or ``"meanmax"`` over real positions; ``log_length`` adds
    ``log(length)`` as one more feature; ``flatten=True`` uses the ``(C * max_len)`` flattened
    features instead of pooling. ``hidden`` lists the hidden layer widths (empty = linear
    model). ``embed`` returns the last hidden layer's output ``(N, hidden[-1])``.
    """

    def __init__(
        self, *, n_outputs: int, task: str, input: str = "onehot", embed_dim: int = 16,
        pool: str = "meanmax", log_length: bool = True, flatten: bool = False,
        max_len: int = 200, hidden: Sequence[int] = (64,), dropout: float = 0.2,
        activation: str = "relu",
    ):
        super().__init__(n_outputs, task)
        check_choice("pool", pool, POOLS)
        check_choice("activation", activation, ACTIVATIONS)
        if flatten and max_len < 1:
            raise ValueError(f"flatten=True needs max_len >= 1, got {max_len}")
        self.inputs = InputLayer(input, embed_dim)
        self.pool, self.log_length = pool, bool(log_length)
        self.flatten, self.max_len = bool(flatten), int(max_len)
        c = self.inputs.out_channels
        width = c * self.max_len if self.flatten else pooled_width(c, pool)
        width += int(self.log_length)
        self.body, self.embed_size = dense_stack(width, hidden, activation, dropout)
        self.out = nn.Linear(self.embed_size, n_outputs)

    def features(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The network's input vector ``(N, F)``: pooled or flattened features (+ log length)."""
        lengths = lengths_of(mask)
        if self.flatten:
            x, mask = fixed_length(x, mask, self.max_len)
            feats = self.inputs(x, mask).flatten(1)
        else:
            feats = masked_pool(self.inputs(x, mask), mask, self.pool)
        if self.log_length:
            log_len = torch.log(lengths.clamp(min=1).to(feats.dtype)).unsqueeze(1)
            feats = torch.cat([feats, log_len], dim=1)
        return feats

    def embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> last hidden representation ``(N, D)``."""
        return self.body(self.features(x, mask))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> outputs ``(N, n_outputs)``."""
        return self.out(self.embed(x, mask))
