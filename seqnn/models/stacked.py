"""Several networks of one configuration run as one computation: ensemble members trained
together.

``k`` members, each with its own weights and its own batch, go through every layer at once:
the conv front-end as one grouped convolution over the members' one-hot tokens (weights
folded through each member's embedding, as :func:`~seqnn.models.cnn.input_and_conv`), the
LSTM as batched matrix products over the members (one Python step per position instead of
one per position and member), the head as batched dense layers. Each member's dropout masks
are drawn from its own generator with the shapes and order its own forward pass would use,
so a member trained this way follows the same trajectory as trained alone (within float
rounding: the packed LSTM becomes a masked loop, the sums run in another order).

Supported (:func:`stack_refusal` says why not otherwise): the ``rnn`` family with an LSTM,
one layer, one direction, ``pool="last"``, an element-wise activation and no batch norm in
the conv front-end; any input kind, ``conv_pool``, ``composition`` and head.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .cnn import ConvBlock, fold_table
from .layers import composition, lengths_of, masked_max_pool1d
from .rnn import RNN

#: ``draw(member, shape, p)``: member's dropout multiplier of ``shape`` (0 or ``1 / (1 - p)``)
Draw = Callable[[int, tuple[int, ...], float], torch.Tensor]


def stack_refusal(models: Sequence[nn.Module]) -> str | None:
    """Why ``models`` cannot run stacked, or ``None`` when they can (module doc)."""
    first = models[0]
    if type(first) is not RNN:
        return f"only the rnn family runs stacked, not {type(first).__name__}"
    if any(type(m) is not RNN or m.config != first.config for m in models):
        return "the members differ in configuration"
    enc = first.encoder
    if not isinstance(enc.rnn, nn.LSTM) or enc.rnn.num_layers != 1 or enc.rnn.bidirectional \
            or enc.pool != "last" or enc.rnn.proj_size:
        return "needs cell lstm, num_layers 1, bidirectional false, pool last"
    conv = first.conv
    if conv is not None and (type(conv) is not ConvBlock or conv.norm is not None
                             or conv.skip is not None or conv.conv.groups != 1
                             or not _elementwise(conv.act)):
        return "the conv front-end needs batch_norm false and an element-wise activation"
    if not all(isinstance(layer, nn.Dropout | nn.Linear) or _elementwise(layer)
               for layer in _leaves(first.head)):
        return "the head needs element-wise activations"
    return None


def _leaves(module: nn.Module) -> list[nn.Module]:
    """The layers of a (nested) ``nn.Sequential`` in forward order."""
    return [m for m in module.modules() if not isinstance(m, nn.Sequential)]


def _elementwise(module: nn.Module) -> bool:
    return isinstance(module, nn.ReLU | nn.LeakyReLU | nn.ELU | nn.Tanh | nn.Sigmoid | nn.GELU)


def _stack(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.stack(list(tensors))


def _dropout(h: torch.Tensor, p: float, draw: Draw, training: bool) -> torch.Tensor:
    """``F.dropout`` per member on ``h`` ``(k, ...)``: member ``i``'s mask drawn with
    ``draw(i, h.shape[1:], p)``, the draw its forward pass alone would make."""
    if not training or p == 0.0:
        return h
    if p == 1.0:
        return h * 0.0
    return h * torch.stack([draw(i, tuple(h.shape[1:]), p) for i in range(h.shape[0])])


def stacked_forward(models: Sequence[RNN], x: torch.Tensor, mask: torch.Tensor,
                    draw: Draw) -> torch.Tensor:
    """``(k, N, n_outputs)``: every member's ``models[i](x, mask)`` on the same batch, tokens
    ``x`` and mask ``mask`` ``(N, L)``, computed together (module doc); the models must pass
    :func:`stack_refusal`."""
    k, first = len(models), models[0]
    training = first.training
    batch, length = x.shape

    # input (+ conv front-end), laid out (N, k * C, L): member i's channels are block i
    if first.conv is not None:
        block = first.conv
        conv = block.conv
        tables = _stack([m.inputs.token_table for m in models])  # (k, V, E)
        weights = _stack([m.conv.conv.weight for m in models])  # (k, O, E, K)
        weight = fold_table(weights, tables)  # (k, O, V, K); its layout: the fastest conv
        channels = weight.shape[1]
        bias = None if conv.bias is None else _stack([m.conv.conv.bias for m in models])
        hot = first.inputs.tokens_onehot(x, mask).to(weight.dtype)  # (N, V, L)
        h = F.conv1d(hot, weight.flatten(0, 1), None if bias is None else bias.flatten(),
                     conv.stride, conv.padding, conv.dilation)  # (N, k * O, L)
        h = block.act(h)
        keep = mask.unsqueeze(1).to(h.dtype)  # (N, 1, L)
        p = block.drop.p
        if training and 0.0 < p < 1.0:  # member i's mask as its own forward would draw it
            noise = torch.stack([draw(i, (batch, channels, length), p) for i in range(k)], 1)
            keep = noise.view(batch, k * channels, length).mul_(keep)
        elif training and p == 1.0:
            keep = keep * 0.0
        h = h * keep
    else:
        h = torch.cat([m.inputs(x, mask) for m in models], dim=1)
        channels = h.shape[1] // k
    nonneg = first.conv is not None and isinstance(first.conv.act, nn.ReLU | nn.Sigmoid)
    if nonneg:  # padding is 0 and no real value is below it: a plain max-pool is the masked one
        pool = first.conv_pool
        h = F.max_pool1d(h, pool, pool, ceil_mode=True) if pool > 1 else h
        steps = h.shape[2]
        pmask = torch.arange(steps) < ((lengths_of(mask) + pool - 1) // pool).unsqueeze(1)
    else:
        h, pmask = masked_max_pool1d(h, mask, first.conv_pool)
        steps = h.shape[2]

    # LSTM over the pooled positions, state frozen past each sequence's end (= packed)
    lstms = [m.encoder.rnn for m in models]
    w_ih = _stack([r.weight_ih_l0 for r in lstms]).transpose(1, 2)  # (k, C, 4H)
    w_hh = _stack([r.weight_hh_l0 for r in lstms]).transpose(1, 2)  # (k, H, 4H)
    seq = h.view(batch, k, channels, steps).permute(1, 0, 3, 2).reshape(k, batch * steps,
                                                                          channels)
    if lstms[0].bias:
        bias_ = _stack([r.bias_ih_l0 + r.bias_hh_l0 for r in lstms]).unsqueeze(1)
        gates_in = torch.baddbmm(bias_, seq, w_ih)
    else:
        gates_in = torch.bmm(seq, w_ih)
    hidden = w_hh.shape[1]
    state = h.new_zeros((k, batch, hidden))
    cell = h.new_zeros((k, batch, hidden))
    valid = pmask.unsqueeze(-1).unbind(1)  # the same for every member
    full = int(pmask.sum(dim=1).min())  # steps every sequence still has
    # unbind: one backward node for all steps (indexing one step at a time would allocate a
    # zero gradient of the whole input per step)
    for t, step_in in enumerate(gates_in.view(k, batch, steps, -1).unbind(2)):
        gates = torch.baddbmm(step_in, state, w_hh)
        i_g, f_g, o_g = torch.sigmoid(gates[..., : 2 * hidden]).chunk(2, dim=2) + (
            torch.sigmoid(gates[..., 3 * hidden:]),)
        new_cell = torch.addcmul(f_g * cell, i_g, torch.tanh(gates[..., 2 * hidden: 3 * hidden]))
        new_state = o_g * torch.tanh(new_cell)
        if t < full:
            state, cell = new_state, new_cell
        else:
            state = torch.where(valid[t], new_state, state)
            cell = torch.where(valid[t], new_cell, cell)
    out = state
    if first.composition:
        fractions = composition(x, mask).to(out.dtype)
        out = torch.cat([out, fractions.expand(k, *fractions.shape)], dim=2)

    # head: Dropout -> [dense -> act -> Dropout]* -> Linear, per member
    heads = [_leaves(m.head) for m in models]
    for j, layer in enumerate(heads[0]):
        if isinstance(layer, nn.Dropout):
            out = _dropout(out, layer.p, draw, training)
        elif isinstance(layer, nn.Linear):
            lin = [layers[j] for layers in heads]
            w = _stack([m.weight for m in lin]).transpose(1, 2)
            out = (torch.bmm(out, w) if layer.bias is None
                   else torch.baddbmm(_stack([m.bias for m in lin]).unsqueeze(1), out, w))
        else:
            out = layer(out)
    return out


__all__ = ["Draw", "stack_refusal", "stacked_forward"]
