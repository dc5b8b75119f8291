"""A learned embedding feeding a conv block runs as one convolution over one-hot tokens:
same outputs and gradients as embedding-then-convolution."""

from __future__ import annotations

import pytest
import torch

from seqnn.models import get_model
from seqnn.models.cnn import ConvBlock, input_and_conv


def _tokens(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([23, 7, 16, 1])
    mask = torch.arange(23)[None, :] < lengths[:, None]
    x = torch.randint(1, 22, (4, 23), generator=g) * mask
    return x, mask


def _reference(model: torch.nn.Module, block: ConvBlock, x, mask) -> torch.Tensor:
    return ConvBlock.forward(block, model.inputs(x, mask), mask)


@pytest.mark.parametrize("name,params,block", [
    ("rnn", {"input": "embedding", "embed_dim": 32, "conv_channels": 8, "conv_kernel": 16,
             "conv_pool": 5, "hidden_size": 6, "bidirectional": False, "dropout": 0.0},
     lambda m: m.conv),
    ("cnn", {"input": "embedding", "embed_dim": 24, "channels": [8, 4], "kernel_size": 5,
             "dropout": 0.0}, lambda m: m.convs.blocks[0]),
])
def test_fused_block_matches_embedding_then_conv(name, params, block):
    torch.manual_seed(0)
    model = get_model(name, n_outputs=3, task="multiclass", **params).train()
    x, mask = _tokens()
    b = block(model)
    fused = input_and_conv(model.inputs, b, x, mask)
    ref = _reference(model, b, x, mask)
    torch.testing.assert_close(fused, ref, rtol=0, atol=1e-5)
    assert float(fused.detach()[~mask.unsqueeze(1).expand_as(fused)].abs().max()) == 0.0
    grads = []
    for out in (fused, ref):
        model.zero_grad()
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads.append({k: p.grad.clone() for k, p in model.named_parameters()
                      if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    assert "inputs.embedding.weight" in grads[0]
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=0, atol=1e-5)
    # pad's embedding row gets no gradient, as nn.Embedding(padding_idx=0) gives
    assert float(grads[0]["inputs.embedding.weight"][0].abs().max()) == 0.0


def test_fusion_only_where_it_is_the_same_function():
    x, mask = _tokens()
    for params in ({"input": "onehot", "channels": [8]},
                   {"input": "embedding", "embed_dim": 8, "channels": [8]},
                   {"input": "embedding", "embed_dim": 32, "channels": [32], "residual": True}):
        model = get_model("cnn", n_outputs=1, task="binary", **params).eval()
        b = model.convs.blocks[0]
        torch.testing.assert_close(input_and_conv(model.inputs, b, x, mask),
                                   _reference(model, b, x, mask), rtol=0, atol=0)
