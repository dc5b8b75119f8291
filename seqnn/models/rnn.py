"""``rnn``: optional conv front-end -> LSTM/GRU over packed sequences -> pooling -> head.

Sequences are packed with ``pack_padded_sequence`` so padding never enters the recurrence.
With ``conv_channels=64, conv_kernel=16, conv_pool=5, input="embedding", embed_dim=128,
cell="lstm", hidden_size=100, bidirectional=False, pool="last"`` this is the AMP Scanner vr.2
architecture (embedding -> Conv1d -> max-pool -> LSTM -> output).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..data.alphabet import N_CHANNELS
from .cnn import ConvBlock, input_and_conv
from .layers import (
    ACTIVATIONS,
    POOLS,
    InputLayer,
    SeqModel,
    check_choice,
    composition,
    head,
    lengths_of,
    masked_max_pool1d,
    masked_pool,
    pooled_width,
)
from .registry import register_model

CELLS = ("lstm", "gru")
RNN_POOLS = ("last", *POOLS)


class RecurrentEncoder(nn.Module):
    """LSTM/GRU over packed sequences: features ``(N, C, L)`` + mask ``(N, L)`` -> ``(N, D)``.

    ``pool="last"`` concatenates the final hidden state of the top layer in each direction;
    ``"max"``/``"mean"``/``"meanmax"`` pool the per-position outputs over real positions.
    :meth:`outputs` gives the per-position outputs ``(N, H * directions, L)``, zero at padding.
    """

    def __init__(
        self, in_channels: int, cell: str = "lstm", hidden_size: int = 64, num_layers: int = 1,
        bidirectional: bool = True, dropout: float = 0.0, pool: str = "last",
    ):
        super().__init__()
        check_choice("cell", cell, CELLS)
        check_choice("pool", pool, RNN_POOLS)
        if hidden_size < 1 or num_layers < 1:
            raise ValueError(f"hidden_size and num_layers must be >= 1, got {hidden_size}, "
                             f"{num_layers}")
        rnn_cls = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn_cls(
            in_channels, hidden_size, num_layers=num_layers, batch_first=True,
            bidirectional=bool(bidirectional), dropout=dropout if num_layers > 1 else 0.0,
        )
        self.pool = pool
        self.out_channels = hidden_size * (2 if bidirectional else 1)
        self.out_features = (
            self.out_channels if pool == "last" else pooled_width(self.out_channels, pool)
        )

    def _run(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths_of(mask).clamp(min=1).cpu()
        packed = pack_padded_sequence(
            h.transpose(1, 2), lengths, batch_first=True, enforce_sorted=False
        )
        out, state = self.rnn(packed)
        if isinstance(state, tuple):  # LSTM: (h_n, c_n)
            state = state[0]
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=h.shape[2])
        return out.transpose(1, 2), state

    def outputs(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-position outputs ``(N, D, L)`` (zero at padding) for features ``(N, C, L)``."""
        out, _ = self._run(h, mask)
        return out * mask.unsqueeze(1).to(out.dtype)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Features ``(N, C, L)``, mask ``(N, L)`` -> pooled ``(N, out_features)``."""
        out, state = self._run(h, mask)
        if self.pool != "last":
            return masked_pool(out, mask, self.pool)
        if self.rnn.bidirectional:
            return torch.cat([state[-2], state[-1]], dim=1)
        return state[-1]


@register_model("rnn")
class RNN(SeqModel):
    """Recurrent classifier/regressor; tokens ``(N, L)`` -> outputs ``(N, n_outputs)``.

    ``cell`` ``"lstm"``/``"gru"``, ``hidden_size``, ``num_layers``, ``bidirectional``;
    ``pool`` ``"last"`` (final hidden states), ``"max"``, ``"mean"`` or ``"meanmax"``.
    ``conv_channels > 0`` adds a Conv1d front-end (``conv_kernel``, ``activation``,
    ``batch_norm``); ``conv_pool > 1`` max-pools with that stride before the RNN (lengths
    become ``ceil(length / conv_pool)``). ``composition=True`` appends the sequence's residue
    fractions (21 values) to the pooled state before the head. ``embed`` returns the pooled
    RNN state (with the fractions, if on) ``(N, D)``.
    """

    def __init__(
        self, *, n_outputs: int, task: str, input: str = "onehot", embed_dim: int = 16,
        cell: str = "lstm", hidden_size: int = 64, num_layers: int = 1,
        bidirectional: bool = True, pool: str = "last", conv_channels: int = 0,
        conv_kernel: int = 9, conv_pool: int = 1, activation: str = "relu",
        batch_norm: bool = False, dropout: float = 0.2, head_hidden: int = 0,
        composition: bool = False,
    ):
        super().__init__(n_outputs, task)
        check_choice("activation", activation, ACTIVATIONS)
        if conv_channels < 0 or conv_pool < 1:
            raise ValueError(f"need conv_channels >= 0 and conv_pool >= 1, got "
                             f"{conv_channels}, {conv_pool}")
        self.inputs = InputLayer(input, embed_dim)
        width = self.inputs.out_channels
        self.conv: ConvBlock | None = None
        if conv_channels:
            self.conv = ConvBlock(width, int(conv_channels), int(conv_kernel), 1, activation,
                                  bool(batch_norm), dropout)
            width = int(conv_channels)
        self.conv_pool = int(conv_pool)
        self.encoder = RecurrentEncoder(width, cell, int(hidden_size), int(num_layers),
                                        bool(bidirectional), dropout, pool)
        self.composition = bool(composition)
        self.embed_size = self.encoder.out_features + N_CHANNELS * self.composition
        hidden = [int(head_hidden)] if head_hidden else []
        self.head = head(self.embed_size, hidden, n_outputs, activation, dropout)

    def embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> pooled recurrent representation ``(N, D)``."""
        if self.conv is not None:
            h = input_and_conv(self.inputs, self.conv, x, mask)
        else:
            h = self.inputs(x, mask)
        h, pooled_mask = masked_max_pool1d(h, mask, self.conv_pool)
        state = self.encoder(h, pooled_mask)
        if self.composition:
            state = torch.cat([state, composition(x, mask).to(state.dtype)], dim=1)
        return state

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> outputs ``(N, n_outputs)``."""
        return self.head(self.embed(x, mask))
