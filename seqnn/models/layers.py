"""Shared layers: the input layer, activations (incl. Maxout), dense heads and masked pooling.

Layouts: tokens ``(N, L)`` (``int64``, pad 0), mask ``(N, L)`` (``bool``, True at real
residues, contiguous from the start), features ``(N, C, L)`` (channels first), pooled
``(N, C)``, lengths ``(N,)``. Every block here keeps padded positions at exactly zero so a
'same'-padded convolution sees the same zeros beyond a sequence whatever the batch padding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.alphabet import N_CHANNELS, N_TOKENS, PAD_ID
from ..data.encoding import blosum62_table, onehot_table

INPUTS = ("onehot", "blosum62", "embedding")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "gelu", "maxout")
POOLS = ("max", "mean", "meanmax")
#: number of linear pieces a maxout unit takes the max over
MAXOUT_PIECES = 2

_ELEMENTWISE = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
}


def check_choice(what: str, value: object, choices: Sequence[str]) -> None:
    """Raise ``ValueError`` naming ``what`` and listing ``choices`` if ``value`` is not one."""
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")


class SeqModel(nn.Module):
    """Base of every registered model: ``forward(x, mask)`` and ``embed(x, mask) -> (N, D)``.

    ``x`` is ``(N, L)`` token ids, ``mask`` is ``(N, L)`` bool. ``config`` holds the keyword
    parameters the model was built with (set by :func:`seqnn.models.get_model`), so
    ``get_model(name, n_outputs=..., task=..., **model.config)`` rebuilds it.
    """

    unsupervised: bool = False

    def __init__(self, n_outputs: int, task: str):
        super().__init__()
        self.n_outputs = n_outputs
        self.task = task
        self.config: dict = {}

    def embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The ``(N, D)`` representation fed to the output head (subclasses implement it)."""
        raise NotImplementedError


# ----------------------------------------------------------------------------- input


class InputLayer(nn.Module):
    """Tokens ``(N, L)`` -> float features ``(N, C, L)``, zero at padded positions.

    ``kind="onehot"``: 21 channels (20 residues + X; pad is the all-zero column).
    ``"blosum62"``: the BLOSUM62 row of each residue over the 20 residues + X, divided by 4.
    ``"embedding"``: a learned ``nn.Embedding(22, embed_dim, padding_idx=0)``.
    ``out_channels`` is ``C``.
    """

    def __init__(self, kind: str = "onehot", embed_dim: int = 16):
        super().__init__()
        check_choice("input", kind, INPUTS)
        self.kind = kind
        self.embedding: nn.Embedding | None = None
        if kind == "embedding":
            if embed_dim < 1:
                raise ValueError(f"embed_dim must be >= 1, got {embed_dim}")
            self.embedding = nn.Embedding(N_TOKENS, embed_dim, padding_idx=PAD_ID)
            self.out_channels = embed_dim
        else:
            table = torch.from_numpy(onehot_table() if kind == "onehot" else blosum62_table())
            self.register_buffer("table", table, persistent=False)
            self.out_channels = N_CHANNELS

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)`` and mask ``(N, L)`` -> features ``(N, C, L)``."""
        x = x.long()
        h = self.embedding(x) if self.embedding is not None else F.embedding(x, self.table)
        return (h * mask.unsqueeze(-1).to(h.dtype)).transpose(1, 2).contiguous()

    def tokens_onehot(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)`` -> ``(N, N_TOKENS - 1, L)`` one-hot of every token but pad, zero
        at padded positions; with :attr:`token_table` ``T`` (``(N_TOKENS - 1, C)``),
        ``T.T @ tokens_onehot`` is :meth:`forward`."""
        hot = F.one_hot(x.long(), N_TOKENS)[..., PAD_ID + 1:] * mask.unsqueeze(-1)
        return hot.to(self.token_table.dtype).transpose(1, 2).contiguous()

    @property
    def token_table(self) -> torch.Tensor:
        """``(N_TOKENS - 1, C)``: the features of every token but pad (pad's are zero)."""
        table = self.embedding.weight if self.embedding is not None else self.table
        return table[PAD_ID + 1:]


# ----------------------------------------------------------------------------- activations


class Maxout(nn.Module):
    """Parameter-free max over ``pieces``: ``(N, C * pieces, ...)`` -> ``(N, C, ...)``.

    Output channel ``c`` is the max of input channels ``c * pieces .. c * pieces + pieces - 1``.
    Put it after a layer producing ``pieces`` times the wanted width (see :class:`MaxoutLinear`,
    :class:`MaxoutConv1d`).
    """

    def __init__(self, pieces: int = MAXOUT_PIECES):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"maxout needs pieces >= 1, got {pieces}")
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C * k, ...)`` -> ``(N, C, ...)``."""
        n, ck = x.shape[:2]
        if ck % self.pieces:
            raise ValueError(f"maxout: {ck} channels is not a multiple of {self.pieces} pieces")
        return x.reshape(n, ck // self.pieces, self.pieces, *x.shape[2:]).amax(dim=2)


class MaxoutLinear(nn.Module):
    """Maxout dense layer: ``Linear(in, out * pieces)`` then max; ``(N, in) -> (N, out)``."""

    def __init__(self, in_features: int, out_features: int, pieces: int = MAXOUT_PIECES):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features * pieces)
        self.maxout = Maxout(pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in)`` -> ``(N, out)``."""
        return self.maxout(self.linear(x))


class MaxoutConv1d(nn.Module):
    """Maxout convolution: 'same'-padded ``Conv1d(in, out * pieces)`` then max; ``(N, C, L)``."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1,
        pieces: int = MAXOUT_PIECES,
    ):
        super().__init__()
        self.conv = nn.Conv1d(
            in_channels, out_channels * pieces, kernel_size, dilation=dilation, padding="same"
        )
        self.maxout = Maxout(pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in, L)`` -> ``(N, out, L)``."""
        return self.maxout(self.conv(x))


class PointwiseMaxout(nn.Module):
    """A stand-alone learned maxout activation on ``channels`` features, shape-preserving.

    Each position's ``C`` features go through an affine map to ``C * pieces`` and the max over
    pieces is taken; works on ``(N, C)`` and on ``(N, C, L)``.
    """

    def __init__(self, channels: int, pieces: int = MAXOUT_PIECES):
        super().__init__()
        self.linear = MaxoutLinear(channels, channels, pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C)`` -> ``(N, C)`` or ``(N, C, L)`` -> ``(N, C, L)``."""
        if x.dim() == 2:
            return self.linear(x)
        return self.linear.maxout(self.linear.linear(x.movedim(1, -1)).movedim(-1, 1))


def get_activation(name: str, channels: int | None = None) -> nn.Module:
    """An activation module by name (one of :data:`ACTIVATIONS`).

    Element-wise activations ignore ``channels``. ``"maxout"`` needs ``channels`` and returns a
    shape-preserving learned :class:`PointwiseMaxout`; layers that fuse maxout into their own
    linear map (:func:`dense`, :class:`ConvBlock`) do so themselves when given ``"maxout"``.
    """
    check_choice("activation", name, ACTIVATIONS)
    if name == "maxout":
        if channels is None:
            raise ValueError("activation 'maxout' needs the number of channels")
        return PointwiseMaxout(channels)
    return _ELEMENTWISE[name]()


def dense(in_features: int, out_features: int, activation: str) -> nn.Module:
    """``Linear -> activation`` (a :class:`MaxoutLinear` for maxout): ``(N, in) -> (N, out)``."""
    if activation == "maxout":
        return MaxoutLinear(in_features, out_features)
    return nn.Sequential(nn.Linear(in_features, out_features), get_activation(activation))


def dense_stack(
    in_features: int, hidden: Sequence[int], activation: str, dropout: float
) -> tuple[nn.Sequential, int]:
    """Hidden layers ``[dense -> Dropout] * len(hidden)``; returns the stack and its out width."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [dense(in_features, int(width), activation), nn.Dropout(dropout)]
        in_features = int(width)
    return nn.Sequential(*layers), in_features


def head(in_features: int, hidden: Sequence[int], n_outputs: int, activation: str,
         dropout: float) -> nn.Sequential:
    """Output head ``Dropout -> hidden dense layers -> Linear``: ``(N, D) -> (N, n_outputs)``."""
    stack, width = dense_stack(in_features, hidden, activation, dropout)
    return nn.Sequential(nn.Dropout(dropout), *stack, nn.Linear(width, n_outputs))


# ----------------------------------------------------------------------------- pooling


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over real positions: ``(N, C, L)``, mask ``(N, L)`` -> ``(N, C)``; all-pad rows: 0."""
    out = x.masked_fill(~mask.unsqueeze(1), float("-inf")).amax(dim=2)
    return out.masked_fill(~mask.any(dim=1, keepdim=True), 0.0)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real positions: ``(N, C, L)``, mask ``(N, L)`` -> ``(N, C)``; all-pad rows: 0."""
    m = mask.unsqueeze(1).to(x.dtype)
    return (x * m).sum(dim=2) / m.sum(dim=2).clamp(min=1.0)


def masked_pool(x: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """Masked ``"max"``, ``"mean"`` or ``"meanmax"`` (both, concatenated) pooling.

    Features ``(N, C, L)``, mask ``(N, L)`` -> ``(N, C)``, or ``(N, 2C)`` for meanmax.
    """
    check_choice("pool", how, POOLS)
    if how == "max":
        return masked_max(x, mask)
    if how == "mean":
        return masked_mean(x, mask)
    return torch.cat([masked_mean(x, mask), masked_max(x, mask)], dim=1)


class AttentionPool(nn.Module):
    """Light-attention pooling: ``(N, C, L)``, mask ``(N, L)`` -> ``(N, 2C)``.

    A 1x1 conv scores every position per channel; a softmax over the real positions turns the
    scores into weights, and the weighted sum of the features is concatenated with their
    masked max. Padded positions get zero weight, so padding never changes the result.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.score = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Features ``(N, C, L)`` (zero at padding), mask ``(N, L)`` -> ``(N, 2C)``."""
        scores = self.score(x)
        scores = scores.masked_fill(~mask.unsqueeze(1), torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=2)
        return torch.cat([(weights * x).sum(dim=2), masked_max(x, mask)], dim=1)


def pooled_width(channels: int, how: str) -> int:
    """Width of :func:`masked_pool` output for ``channels`` input channels."""
    return 2 * channels if how == "meanmax" else channels


def terminal_masks(mask: torch.Tensor, ends: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks ``(N, L)`` of the first and of the last ``ends`` real positions of each row.

    A row shorter than ``ends`` has all its positions in both.
    """
    pos = torch.arange(mask.shape[1], device=mask.device).unsqueeze(0)
    start = (lengths_of(mask) - ends).unsqueeze(1)
    return mask & (pos < ends), mask & (pos >= start)


def composition(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Residue fractions ``(N, 21)`` (20 residues + X, in token order) over real positions.

    Tokens ``(N, L)``, mask ``(N, L)``; an empty row gives zeros.
    """
    counts = F.one_hot(x * mask, N_TOKENS)[..., 1:].sum(dim=1).float()
    return counts / lengths_of(mask).clamp(min=1).unsqueeze(1).float()


def lengths_of(mask: torch.Tensor) -> torch.Tensor:
    """Sequence lengths ``(N,)`` (``int64``) from a mask ``(N, L)``."""
    return mask.sum(dim=1)


def masked_max_pool1d(x: torch.Tensor, mask: torch.Tensor, stride: int
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Max-pool ``(N, C, L)`` with window = stride = ``stride`` where pads never win.

    Returns features ``(N, C, ceil(L / stride))`` zero at padding and the downsampled mask,
    True for the first ``ceil(length / stride)`` positions of each row.
    """
    if stride == 1:
        return x, mask
    h = x.masked_fill(~mask.unsqueeze(1), float("-inf"))
    h = F.max_pool1d(h, stride, stride, ceil_mode=True)
    new_len = (lengths_of(mask) + stride - 1) // stride
    new_mask = torch.arange(h.shape[2], device=mask.device) < new_len.unsqueeze(1)
    return h.masked_fill(~new_mask.unsqueeze(1), 0.0), new_mask
