"""Inference-only rewrites of a trained model that keep its outputs (within float rounding)
and make the CPU forward pass faster: :func:`for_inference`.

* A :class:`~seqnn.models.cnn.ConvBlock`'s batch norm, in eval mode an affine map per
  channel, is folded into the convolution's weights and bias (one pass over the output fewer).
* A :class:`~seqnn.models.cnn.ConvBlock` runs as :class:`FusedConvBlock`: the activation
  (ReLU-like ones), the residual sum and the padding mask are applied in place, so the block
  writes one ``(N, C, L)`` array instead of four.
* The input layer hands its ``(N, L, C)`` lookup on as a transposed view, without a copy.
* Every ``nn.Conv1d`` with ``groups == 1`` runs as a ``(N, C, 1, L)`` ``conv2d`` in the
  channels-last memory format, which takes oneDNN's direct NHWC kernels on x86 CPUs (faster
  than ``conv1d`` at the default CNN's shapes; ``benchmarks/bench_roofline.py`` measures it).

The model's own modules are not changed: :func:`for_inference` returns a rewritten deep copy,
for inference only (the rewritten copy has no batch-norm statistics left to train).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..models.cnn import ConvBlock, MaskedBatchNorm1d
from ..models.layers import InputLayer


class ChannelsLastConv1d(nn.Module):
    """A ``Conv1d`` (weights given) computed as a channels-last ``conv2d``.

    ``(N, C_in, L)`` -> ``(N, C_out, L_out)``, the same values as the ``Conv1d``; the result
    is a view with channels-last strides (``(L*C, 1, C)``), which the next layers accept.
    """

    def __init__(self, conv: nn.Conv1d, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        pad = conv.padding
        self.padding = pad if isinstance(pad, str) else (0, int(pad[0]))
        self.stride, self.dilation = (1, int(conv.stride[0])), (1, int(conv.dilation[0]))
        w = weight.detach().unsqueeze(2).contiguous(memory_format=torch.channels_last)
        self.register_buffer("weight", w)
        self.register_buffer("bias", None if bias is None else bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, L)`` -> ``(N, C_out, L_out)``."""
        x4 = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        return F.conv2d(x4, self.weight, self.bias, self.stride, self.padding,
                        self.dilation).squeeze(2)


_IN_PLACE = {nn.ReLU: torch.relu_, nn.ELU: torch.nn.functional.elu_,
             nn.Tanh: torch.tanh_, nn.Sigmoid: torch.sigmoid_}


class FusedConvBlock(nn.Module):
    """A :class:`~seqnn.models.cnn.ConvBlock` in eval mode (dropout is the identity; batch
    norm already folded into ``conv``) with in-place activation, residual and mask."""

    def __init__(self, block: ConvBlock):
        super().__init__()
        self.conv, self.act, self.skip = block.conv, block.act, block.skip
        self.act_ = _IN_PLACE.get(type(block.act))
        if isinstance(block.act, nn.LeakyReLU):
            slope = block.act.negative_slope
            self.act_ = lambda h: F.leaky_relu_(h, slope)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(N, in, L)``, mask ``(N, L)`` -> ``(N, out, L)``, zero at padding."""
        h = self.conv(x)
        h = self.act_(h) if self.act_ is not None else self.act(h)
        if self.skip is not None:
            h = h.add_(self.skip(x)) if h.shape == x.shape else h + self.skip(x)
        return h.mul_(mask.unsqueeze(1).to(h.dtype))


class ViewInputLayer(nn.Module):
    """:class:`~seqnn.models.layers.InputLayer` returning the ``(N, C, L)`` transposed view of
    its ``(N, L, C)`` lookup (channels-last strides) instead of a contiguous copy."""

    def __init__(self, layer: InputLayer):
        super().__init__()
        self.layer = layer
        self.out_channels = layer.out_channels

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)`` and mask ``(N, L)`` -> features ``(N, C, L)``."""
        layer = self.layer
        x = x.long()
        h = layer.embedding(x) if layer.embedding is not None else F.embedding(x, layer.table)
        return h.mul_(mask.unsqueeze(-1).to(h.dtype)).transpose(1, 2)


def _folded(conv: nn.Conv1d, norm: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of ``norm(conv(x))`` in eval mode as one convolution."""
    scale = norm.weight if norm.affine else torch.ones_like(norm.running_var)
    shift = norm.bias if norm.affine else torch.zeros_like(norm.running_mean)
    inv = scale / torch.sqrt(norm.running_var + norm.eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    weight = conv.weight * inv[:, None, None]
    return weight, (bias - norm.running_mean) * inv + shift


def _fast_conv(conv: nn.Conv1d) -> nn.Module:
    if conv.groups != 1 or conv.padding_mode != "zeros":
        return conv
    return ChannelsLastConv1d(conv, conv.weight, conv.bias)


@torch.no_grad()
def for_inference(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """A deep copy of ``model`` in eval mode with batch norm folded into the convolutions
    and (``channels_last``) the convolutions run as channels-last ``conv2d`` (module doc);
    its outputs equal ``model``'s in eval mode within float rounding."""
    fast = copy.deepcopy(model).eval()
    for module in list(fast.modules()):
        if isinstance(module, ConvBlock) and isinstance(module.norm, MaskedBatchNorm1d) \
                and module.norm.track_running_stats and isinstance(module.conv, nn.Conv1d):
            weight, bias = _folded(module.conv, module.norm)
            module.conv.weight.copy_(weight)
            module.conv.bias = nn.Parameter(bias)
            module.norm = None
    for module in list(fast.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Conv1d) and channels_last:
                setattr(module, name, _fast_conv(child))
            elif isinstance(child, InputLayer) and channels_last:
                setattr(module, name, ViewInputLayer(child))
    for module in list(fast.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, ConvBlock) and child.norm is None:
                setattr(module, name, FusedConvBlock(child))
    return fast.eval()


__all__ = ["ChannelsLastConv1d", "FusedConvBlock", "ViewInputLayer", "for_inference"]
