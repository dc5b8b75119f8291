"""``cnn``: a Conv1d stack -> masked global pooling -> dense head, and the conv blocks.

:class:`ConvBlock` / :class:`ConvStack` (also used by ``rnn`` and ``autoencoder``) are
'same'-padded and re-zero their output at padded positions, so a sequence gets the same
output whatever padding surrounds it in the batch. Layout ``(N, C, L)``, mask ``(N, L)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.alphabet import N_TOKENS
from .layers import (
    ACTIVATIONS,
    MAXOUT_PIECES,
    POOLS,
    AttentionPool,
    InputLayer,
    Maxout,
    SeqModel,
    check_choice,
    get_activation,
    head,
    masked_max,
    masked_max_pool1d,
    masked_pool,
    pooled_width,
    terminal_masks,
)
from .registry import register_model


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` over ``(N, C, L)`` whose training statistics use real positions only.

    In training mode the mean and variance (and so the running estimates) come from the
    positions where ``mask`` ``(N, L)`` is True, so batch padding does not shift them; in eval
    mode it is the ordinary per-channel affine map. Same parameters and buffers as
    ``nn.BatchNorm1d``.
    """

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Normalise ``(N, C, L)``; ``mask`` ``(N, L)`` selects the positions counted."""
        if mask is None or not self.training:
            return super().forward(x)
        m = mask.unsqueeze(1).float()
        xf = x.float()
        n = m.sum().clamp(min=1.0)
        mean = (xf * m).sum(dim=(0, 2)) / n
        var = (((xf - mean[None, :, None]) * m) ** 2).sum(dim=(0, 2)) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                momentum = self.momentum
                if momentum is None:
                    momentum = 1.0 / float(self.num_batches_tracked)
                unbiased = var * n / (n - 1).clamp(min=1.0)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        y = (xf - mean[None, :, None]) * torch.rsqrt(var + self.eps)[None, :, None]
        if self.affine:
            y = y * self.weight[None, :, None] + self.bias[None, :, None]
        return y.to(x.dtype)


class ConvBlock(nn.Module):
    """'same'-padded Conv1d -> masked batch norm -> activation -> dropout, re-masked.

    ``(N, in, L)`` -> ``(N, out, L)``. With ``activation="maxout"`` the conv produces
    ``out * MAXOUT_PIECES`` channels and a :class:`Maxout` takes the max. ``residual=True``
    adds the input (through a 1x1 conv when the widths differ). Padded positions of the output
    are zero, and the input must be zero there too.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1,
        activation: str = "relu", batch_norm: bool = False, dropout: float = 0.0,
        residual: bool = False,
    ):
        super().__init__()
        check_choice("activation", activation, ACTIVATIONS)
        if kernel_size < 1 or dilation < 1:
            raise ValueError(f"kernel_size and dilation must be >= 1, got {kernel_size}, "
                             f"{dilation}")
        pieces = MAXOUT_PIECES if activation == "maxout" else 1
        width = out_channels * pieces
        self.conv = nn.Conv1d(in_channels, width, kernel_size, dilation=dilation,
                              padding="same", bias=not batch_norm)
        self.norm = MaskedBatchNorm1d(width) if batch_norm else None
        self.act = Maxout(pieces) if activation == "maxout" else get_activation(activation)
        self.drop = nn.Dropout(dropout)
        self.skip: nn.Module | None = None
        if residual:
            self.skip = (nn.Identity() if in_channels == out_channels
                         else nn.Conv1d(in_channels, out_channels, 1, bias=False))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(N, in, L)``, mask ``(N, L)`` -> ``(N, out, L)``, zero at padding."""
        return self._finish(self.conv(x), x, mask)

    def tokens_forward(self, hot: torch.Tensor, table: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
        """``forward(table.T @ hot, mask)`` as one convolution of the one-hot tokens ``hot``
        ``(N, V, L)`` with the weight folded through ``table`` ``(V, in)``: ``V / in`` of
        the arithmetic when the table is wider than the alphabet, and no gradient for the
        input. Needs ``residual=False`` (the skip would need the features themselves)."""
        conv = self.conv
        weight = fold_table(conv.weight, table).contiguous()
        h = F.conv1d(hot, weight, conv.bias, conv.stride, conv.padding, conv.dilation,
                     conv.groups)
        return self._finish(h, None, mask)

    def _finish(self, h: torch.Tensor, x: torch.Tensor | None,
                mask: torch.Tensor) -> torch.Tensor:
        """Batch norm, activation, dropout and skip after the convolution ``h``."""
        if self.norm is not None:
            h = self.norm(h, mask)
        h = self.drop(self.act(h))
        if self.skip is not None:
            assert x is not None
            h = h + self.skip(x)
        return h * mask.unsqueeze(1).to(h.dtype)


def fold_table(weight: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """A conv weight ``(..., O, E, K)`` folded through a token table ``(..., V, E)``:
    ``(..., O, V, K)``, the weight of the same convolution applied to one-hot tokens (any
    leading dimensions, e.g. stacked members, are matched)."""
    return torch.einsum("...oek,...ve->...ovk", weight, table)


def _watched(module: nn.Module) -> bool:
    """Whether a forward hook watches ``module``'s output (attributions swap in the input
    features there, so they must be computed)."""
    return bool(module._forward_hooks or module._forward_pre_hooks
                or nn.modules.module._global_forward_hooks
                or nn.modules.module._global_forward_pre_hooks)


def input_and_conv(inputs: InputLayer, block: nn.Module, x: torch.Tensor,
                   mask: torch.Tensor) -> torch.Tensor:
    """``block(inputs(x, mask), mask)`` for tokens ``x`` ``(N, L)``. When the input is a
    learned embedding wider than the alphabet feeding a plain :class:`ConvBlock`, it runs as
    one convolution over the tokens' one-hot columns (:meth:`ConvBlock.tokens_forward`): the
    same function and gradients, a fraction of the arithmetic (the AMP Scanner rnn's
    embedding of 128 into a Conv1d of kernel 16: 21/128 of the forward, and no input
    gradient). Not while a forward hook watches the input layer (``seqnn explain``)."""
    if (type(block) is ConvBlock and block.skip is None and inputs.embedding is not None
            and inputs.out_channels > N_TOKENS - 1 and not _watched(inputs)):
        return block.tokens_forward(inputs.tokens_onehot(x, mask), inputs.token_table, mask)
    return block(inputs(x, mask), mask)


def per_layer(value: int | Sequence[int], n: int, what: str) -> list[int]:
    """Broadcast an int to ``n`` layers or check a list has ``n`` entries; ints >= 1."""
    values = [int(value)] * n if isinstance(value, int) else [int(v) for v in value]
    if len(values) != n:
        raise ValueError(f"{what} has {len(values)} entries but there are {n} conv layers")
    if any(v < 1 for v in values):
        raise ValueError(f"{what} must be >= 1, got {values}")
    return values


class ConvStack(nn.Module):
    """A sequence of :class:`ConvBlock` s; ``(N, in, L)`` -> ``(N, channels[-1], L)``."""

    def __init__(
        self, in_channels: int, channels: Sequence[int], kernel_size: int | Sequence[int] = 9,
        dilation: int | Sequence[int] = 1, activation: str = "relu", batch_norm: bool = False,
        dropout: float = 0.0, residual: bool = False,
    ):
        super().__init__()
        channels = [int(c) for c in channels]
        if any(c < 1 for c in channels):
            raise ValueError(f"channels must be >= 1, got {channels}")
        kernels = per_layer(kernel_size, len(channels), "kernel_size")
        dilations = per_layer(dilation, len(channels), "dilation")
        blocks = []
        for out, k, d in zip(channels, kernels, dilations, strict=True):
            blocks.append(
                ConvBlock(in_channels, out, k, d, activation, batch_norm, dropout, residual)
            )
            in_channels = out
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(N, C, L)``, mask ``(N, L)`` -> ``(N, C', L)``."""
        for block in self.blocks:
            x = block(x, mask)
        return x


CNN_POOLS = (*POOLS, "attention")


@register_model("cnn")
class CNN(SeqModel):
    """Convolutional classifier/regressor; tokens ``(N, L)`` -> outputs ``(N, n_outputs)``.

    ``channels`` lists the conv layer widths; ``kernel_size`` and ``dilation`` are one int for
    all layers or one per layer. ``batch_norm`` uses masked batch norm, ``residual`` adds skip
    connections, ``pool`` (``"max"``, ``"mean"``, ``"meanmax"``) pools real positions, and
    ``"attention"`` is light-attention pooling (:class:`~seqnn.models.layers.AttentionPool`:
    a learned softmax over positions per channel, next to the max).
    ``head_hidden`` is the hidden width of the dense head (0 = a single linear layer).
    ``ends`` > 0 also max-pools the first and the last ``ends`` residues of each protein on
    their own, so the head sees where a motif sits (N-terminal signal and transit peptides,
    C-terminal retention and targeting signals), which global pooling throws away.
    ``downsample`` > 1 max-pools the first conv layer's output with that window and stride
    (padding never wins), so the later layers see ``1/downsample`` of the positions: the
    main lever on training time for long proteins.
    ``embed`` returns the pooled conv features ``(N, D)``.
    """

    def __init__(
        self, *, n_outputs: int, task: str, input: str = "onehot", embed_dim: int = 16,
        channels: Sequence[int] = (64, 64), kernel_size: int | Sequence[int] = 9,
        dilation: int | Sequence[int] = 1, batch_norm: bool = True, dropout: float = 0.2,
        activation: str = "relu", pool: str = "max", residual: bool = False,
        head_hidden: int = 64, ends: int = 0, downsample: int = 1,
    ):
        super().__init__(n_outputs, task)
        check_choice("pool", pool, CNN_POOLS)
        check_choice("activation", activation, ACTIVATIONS)
        if not channels:
            raise ValueError("cnn needs at least one conv layer in channels")
        self.inputs = InputLayer(input, embed_dim)
        self.convs = ConvStack(
            self.inputs.out_channels, channels, kernel_size, dilation, activation,
            bool(batch_norm), dropout, bool(residual),
        )
        if ends < 0 or downsample < 1:
            raise ValueError(f"ends must be >= 0 and downsample >= 1, got {ends}, {downsample}")
        self.downsample = int(downsample)
        self.pool, self.ends = pool, int(ends)
        width = self.convs.out_channels
        self.attention = AttentionPool(width) if pool == "attention" else None
        self.embed_size = 2 * width if pool == "attention" else pooled_width(width, pool)
        if self.ends:
            self.embed_size += 2 * width  # the N- and C-terminal maxima
        hidden = [int(head_hidden)] if head_hidden else []
        self.head = head(self.embed_size, hidden, n_outputs, activation, dropout)

    def embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> pooled conv features ``(N, D)``."""
        h = x
        for i, block in enumerate(self.convs.blocks):
            h = input_and_conv(self.inputs, block, x, mask) if i == 0 else block(h, mask)
            if i == 0 and self.downsample > 1:
                h, mask = masked_max_pool1d(h, mask, self.downsample)
        if self.attention is not None:
            pooled = self.attention(h, mask)
        else:
            pooled = masked_pool(h, mask, self.pool)
        if not self.ends:
            return pooled
        n_term, c_term = terminal_masks(mask, -(-self.ends // self.downsample))
        return torch.cat([pooled, masked_max(h, n_term), masked_max(h, c_term)], dim=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> outputs ``(N, n_outputs)``."""
        return self.head(self.embed(x, mask))
