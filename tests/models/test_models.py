"""Tests for seqnn.models: registry, shapes, padding invariance, overfitting, known answers."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from seqnn.data.alphabet import N_CHANNELS, N_TOKENS
from seqnn.models import TASKS, get_model, list_models, model_params
from seqnn.models.cnn import ConvBlock, MaskedBatchNorm1d
from seqnn.models.layers import (
    ACTIVATIONS,
    INPUTS,
    InputLayer,
    Maxout,
    MaxoutConv1d,
    MaxoutLinear,
    composition,
    get_activation,
    masked_max,
    masked_max_pool1d,
    masked_mean,
    masked_pool,
)

#: tiny versions of every model so the tests stay fast
TINY = {
    "mlp": {"hidden": [16], "dropout": 0.0},
    "cnn": {"channels": [8, 8], "kernel_size": 3, "head_hidden": 8, "dropout": 0.0},
    "rnn": {"hidden_size": 8, "dropout": 0.0},
    "autoencoder": {"channels": [8], "decoder_channels": [8], "kernel_size": 3,
                    "hidden_size": 8, "latent_dim": 8, "pos_dim": 4},
    "vae": {"channels": [8], "decoder_channels": [8], "kernel_size": 3,
            "hidden_size": 8, "latent_dim": 8, "pos_dim": 4, "max_gen_len": 16},
    "gan": {"channels": [8], "critic_channels": [8], "kernel_size": 3, "latent_dim": 8,
            "max_gen_len": 16, "eval_samples": 16},
}
#: families reconstructing tokens ``(N, 22, L)``; the GAN scores real sequences ``(N, 1)``
RECONSTRUCTING = ("autoencoder", "vae")
UNSUPERVISED = (*RECONSTRUCTING, "gan")
N_OUT = {"binary": 1, "multiclass": 3, "multilabel": 3, "regression": 2, "unsupervised": 1}


def random_batch(n: int, lo: int, hi: int, seed: int, extra: int = 0
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random tokens ``(n, L)`` (ids 1..21, lengths lo..hi, pad 0) and their mask ``(n, L)``."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(lo, hi + 1, (n,), generator=g)
    width = int(lengths.max()) + extra
    mask = torch.arange(width)[None, :] < lengths[:, None]
    x = torch.randint(1, N_TOKENS, (n, width), generator=g) * mask
    return x, mask


def build(name: str, task: str = "binary", **params: object) -> torch.nn.Module:
    """A seeded tiny model ``name`` with ``params`` on top of :data:`TINY`."""
    torch.manual_seed(0)
    return get_model(name, n_outputs=N_OUT[task], task=task, **{**TINY[name], **params})


# ----------------------------------------------------------------------------- registry


def test_registered_names() -> None:
    assert list_models() == ["autoencoder", "cnn", "gan", "mlp", "rnn", "vae"]


def test_unknown_model_lists_known() -> None:
    known = r"unknown model 'cnnn'; known: autoencoder, cnn, gan, mlp, rnn, vae"
    with pytest.raises(ValueError, match=known):
        get_model("cnnn", n_outputs=1, task="binary")
    with pytest.raises(ValueError, match="unknown model"):
        model_params("nope")


def test_unknown_parameter_lists_known() -> None:
    with pytest.raises(ValueError) as err:
        get_model("cnn", n_outputs=1, task="binary", kernal=5)
    msg = str(err.value)
    assert msg.startswith("unknown parameter 'kernal' for model 'cnn'; known: input, embed_dim,")
    assert "kernel_size" in msg and "channels" in msg


@pytest.mark.parametrize(
    ("task", "n_outputs", "match"),
    [("binary", 2, "single logit"), ("multiclass", 1, ">= 2"), ("regression", 0, "positive"),
     ("classify", 1, "unknown task 'classify'"), ("unsupervised", 1, "supervised")],
)
def test_bad_task_or_outputs(task: str, n_outputs: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get_model("cnn", n_outputs=n_outputs, task=task)


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [("cnn", {"activation": "swish"}, "unknown activation 'swish'"),
     ("mlp", {"input": "twohot"}, "unknown input 'twohot'"),
     ("cnn", {"pool": "sum"}, "unknown pool 'sum'"),
     ("rnn", {"cell": "rnn"}, "unknown cell 'rnn'"),
     ("autoencoder", {"encoder": "lstm"}, "unknown encoder 'lstm'"),
     ("autoencoder", {"pool": "last"}, "unknown pool 'last'"),
     ("cnn", {"channels": [8, 8], "kernel_size": [3]}, "kernel_size has 1 entries"),
     ("cnn", {"channels": []}, "at least one conv layer"),
     ("rnn", {"conv_pool": 0}, "conv_pool >= 1")],
)
def test_bad_values(name: str, params: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get_model(name, n_outputs=1, task="binary", **params)


@pytest.mark.parametrize("name", ["mlp", "cnn", "rnn", "autoencoder"])
def test_config_round_trip(name: str) -> None:
    model = build(name, "multiclass", input="embedding", embed_dim=5)
    config = json.loads(json.dumps(model.config))
    assert config == {**model_params(name), **TINY[name], "input": "embedding", "embed_dim": 5}
    torch.manual_seed(1)
    again = get_model(name, n_outputs=3, task="multiclass", **config)
    a, b = model.state_dict(), again.state_dict()
    assert list(a) == list(b)
    assert all(a[k].shape == b[k].shape for k in a)
    again.load_state_dict(a)
    x, mask = random_batch(3, 4, 9, seed=0)
    model.eval(), again.eval()
    assert torch.equal(model(x, mask), again(x, mask))


def test_model_params_is_fresh_and_plain() -> None:
    params = model_params("cnn")
    assert params["channels"] == [64, 64] and params["kernel_size"] == 9
    params["channels"].append(1)
    assert model_params("cnn")["channels"] == [64, 64]


def test_autoencoder_accepts_any_task() -> None:
    for task in TASKS:
        model = get_model("autoencoder", n_outputs=5, task=task, **TINY["autoencoder"])
        assert model.unsupervised is True
    assert all(not build(n).unsupervised for n in ["mlp", "cnn", "rnn"])


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("input_kind", INPUTS)
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", list_models())
def test_shapes(name: str, task: str, input_kind: str) -> None:
    x, mask = random_batch(5, 3, 12, seed=1, extra=2)
    params = {"input": input_kind, "embed_dim": 6} if name != "gan" else {}
    if name not in UNSUPERVISED and task == "unsupervised":
        with pytest.raises(ValueError, match="supervised"):
            build(name, task, **params)
        return
    model = build(name, task, **params)
    out, z = model(x, mask), model.embed(x, mask)
    assert z.shape == (5, model.embed_size) and z.dtype == torch.float32
    if name in ("vae", "gan"):
        assert out.shape == ((5, N_TOKENS, x.shape[1]) if name == "vae" else (5, 1))
        loss = model.batch_loss(out, {"x": x, "mask": mask})
        assert loss.dim() == 0 and torch.isfinite(loss)
    elif name == "autoencoder":
        assert out.shape == (5, N_TOKENS, x.shape[1])
        loss = model.reconstruction_loss(out, x, mask)
        assert loss.dim() == 0 and torch.isfinite(loss)
        assert 0.0 <= float(model.reconstruction_accuracy(out, x, mask)) <= 1.0
    else:
        assert out.shape == (5, N_OUT[task])
        loss = out.square().mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- padding

INVARIANCE = [
    ("mlp", {}),
    ("mlp", {"pool": "max", "activation": "maxout", "input": "blosum62"}),
    ("mlp", {"flatten": True, "max_len": 10}),
    ("cnn", {}),
    ("cnn", {"pool": "meanmax", "input": "embedding"}),
    ("cnn", {"dilation": [1, 3], "kernel_size": [3, 5], "residual": True, "pool": "mean"}),
    ("cnn", {"ends": 4, "downsample": 3, "channels": [8, 6, 6], "residual": True}),
    ("cnn", {"ends": 20, "pool": "meanmax"}),
    ("cnn", {"pool": "attention", "downsample": 2}),
    *[("cnn", {"activation": a, "channels": [8, 6], "residual": True}) for a in ACTIVATIONS],
    ("rnn", {}),
    ("rnn", {"cell": "gru", "pool": "mean", "num_layers": 2}),
    ("rnn", {"bidirectional": False, "pool": "max", "activation": "tanh"}),
    ("rnn", {"conv_channels": 6, "conv_kernel": 5, "conv_pool": 3, "activation": "tanh",
             "batch_norm": True, "input": "embedding"}),
    ("rnn", {"conv_channels": 6, "conv_pool": 2, "pool": "meanmax", "activation": "maxout"}),
    ("rnn", {"conv_channels": 6, "conv_pool": 3, "composition": True}),
    ("autoencoder", {}),
    ("autoencoder", {"batch_norm": True, "activation": "maxout", "pool": "meanmax"}),
    ("autoencoder", {"encoder": "gru", "pool": "last", "decoder": "gru"}),
    ("autoencoder", {"encoder": "gru", "pool": "mean", "decoder": "conv"}),
    ("vae", {}),
    ("vae", {"encoder": "gru", "pool": "last", "decoder": "gru"}),
    ("gan", {}),
]


def _case_id(name: str, params: dict) -> str:
    return name + "".join(f"-{k}={v}" for k, v in params.items())


@pytest.mark.parametrize(("name", "params"), INVARIANCE, ids=[_case_id(*c) for c in INVARIANCE])
def test_padding_invariance(name: str, params: dict) -> None:
    model = build(name, **params)
    x, mask = random_batch(6, 1, 13, seed=2, extra=9)
    model.train()
    model(x, mask)  # move batch-norm running statistics away from their initial values
    model.eval()
    with torch.no_grad():
        out, z = model(x, mask), model.embed(x, mask)
        for i in range(len(x)):
            n = int(mask[i].sum())
            one_out, one_z = model(x[i : i + 1, :n], mask[i : i + 1, :n]), model.embed(
                x[i : i + 1, :n], mask[i : i + 1, :n])
            torch.testing.assert_close(one_z[0], z[i], atol=1e-5, rtol=0)
            if name in RECONSTRUCTING:
                torch.testing.assert_close(one_out[0], out[i, :, :n], atol=1e-5, rtol=0)
            else:
                torch.testing.assert_close(one_out[0], out[i], atol=1e-5, rtol=0)


def test_masked_batch_norm_ignores_padding_in_training() -> None:
    torch.manual_seed(0)
    bn = MaskedBatchNorm1d(3)
    x, mask = torch.randn(2, 3, 4), torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)
    x = x * mask.unsqueeze(1)
    wide_x, wide_mask = F.pad(x, (0, 5)), F.pad(mask, (0, 5))
    y, wide_y = bn(x, mask), bn(wide_x, wide_mask)
    m = mask.unsqueeze(1)
    torch.testing.assert_close(y[:, :, :4] * m, wide_y[:, :, :4] * m)
    real = x.transpose(0, 1)[:, mask]  # (C, n_real)
    expected = 0.1 * real.var(dim=1, unbiased=True) + 0.9  # two identical updates
    expected = 0.1 * real.var(dim=1, unbiased=True) + 0.9 * expected
    torch.testing.assert_close(bn.running_var, expected)


# ----------------------------------------------------------------------------- overfitting

OVERFIT = [
    ("mlp", {"hidden": [64]}, 0.03, 150),
    ("cnn", {"channels": [32], "kernel_size": 5, "head_hidden": 0}, 0.01, 150),
    ("rnn", {"hidden_size": 24, "cell": "gru"}, 0.02, 150),
    ("autoencoder", {"channels": [48], "decoder_channels": [48], "latent_dim": 32,
                     "pos_dim": 16, "kernel_size": 5}, 0.02, 200),
]


@pytest.mark.parametrize(
    ("name", "params", "lr", "max_steps"), OVERFIT, ids=[c[0] for c in OVERFIT]
)
def test_overfits_32_sequences(name: str, params: dict, lr: float, max_steps: int) -> None:
    x, mask = random_batch(32, 8, 20, seed=3)
    y = torch.randint(0, 2, (32, 1), generator=torch.Generator().manual_seed(4)).float()
    model = build(name, **params)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    score = 0.0
    for _ in range(max_steps):
        model.train()
        out = model(x, mask)
        if name == "autoencoder":
            loss = model.reconstruction_loss(out, x, mask)
        else:
            loss = F.binary_cross_entropy_with_logits(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            out = model(x, mask)
        if name == "autoencoder":
            score = float(model.reconstruction_accuracy(out, x, mask))
        else:
            score = float(((out > 0).float() == y).float().mean())
        if score >= (0.9 if name == "autoencoder" else 1.0):
            break
    assert score >= (0.9 if name == "autoencoder" else 1.0)


def test_seeded_builds_reproduce() -> None:
    x, mask = random_batch(4, 5, 10, seed=5)
    for name in list_models():
        a, b = build(name).eval(), build(name).eval()
        assert torch.equal(a(x, mask), b(x, mask))


# ----------------------------------------------------------------------------- known answers


def test_masked_pooling_known_answers() -> None:
    x = torch.tensor([[[-3.0, -1.0, 0.0, 0.0], [2.0, 4.0, 0.0, 0.0]],
                      [[-5.0, 0.0, 0.0, 0.0], [7.0, 0.0, 0.0, 0.0]],
                      [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]])  # (3, 2, 4)
    mask = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(masked_max(x, mask), torch.tensor([[-1.0, 4.0], [-5.0, 7.0], [0.0, 0.0]]))
    assert torch.equal(masked_mean(x, mask), torch.tensor([[-2.0, 3.0], [-5.0, 7.0], [0.0, 0.0]]))
    both = masked_pool(x, mask, "meanmax")
    assert torch.equal(both[0], torch.tensor([-2.0, 3.0, -1.0, 4.0]))


def test_composition_known_answer() -> None:
    x = torch.tensor([[1, 2, 2, 21, 0], [3, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    comp = composition(x, x != 0)
    assert comp.shape == (3, 21)
    assert comp[0, :2].tolist() == [0.25, 0.5] and comp[0, 20].item() == 0.25
    assert comp[1, 2].item() == 1.0 and comp[1].sum().item() == 1.0
    assert comp[2].abs().sum().item() == 0.0


def test_rnn_composition_widens_embedding() -> None:
    plain, fused = build("rnn", hidden_size=5), build("rnn", hidden_size=5, composition=True)
    assert (plain.embed_size, fused.embed_size) == (10, 31)


def test_masked_max_pool1d_known_answer() -> None:
    x = torch.tensor([[[-1.0, -4.0, -2.0, -3.0, -5.0, 0.0, 0.0]]])  # length 5 of 7
    mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    h, new_mask = masked_max_pool1d(x, mask, 2)
    assert torch.equal(h, torch.tensor([[[-1.0, -2.0, -5.0, 0.0]]]))
    assert new_mask.tolist() == [[True, True, True, False]]


def test_maxout_known_answer() -> None:
    x2 = torch.tensor([[1.0, 5.0, -2.0, -3.0]])
    assert torch.equal(Maxout(2)(x2), torch.tensor([[5.0, -2.0]]))
    x3 = torch.tensor([[[1.0, 9.0], [2.0, 0.0], [3.0, -1.0], [0.0, 4.0]]])  # (1, 4, 2)
    assert torch.equal(Maxout(2)(x3), torch.tensor([[[2.0, 9.0], [3.0, 4.0]]]))
    layer = MaxoutLinear(1, 1, pieces=2)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0], [-1.0]]))
        layer.linear.bias.zero_()
    assert torch.equal(layer(torch.tensor([[3.0], [-2.0]])), torch.tensor([[3.0], [2.0]]))  # |x|
    assert MaxoutConv1d(4, 6, 3)(torch.randn(2, 4, 7)).shape == (2, 6, 7)
    with pytest.raises(ValueError, match="needs the number of channels"):
        get_activation("maxout")
    assert get_activation("maxout", channels=5)(torch.randn(2, 5, 7)).shape == (2, 5, 7)
    assert get_activation("maxout", channels=5)(torch.randn(2, 5)).shape == (2, 5)


def test_conv_block_maxout_width() -> None:
    block = ConvBlock(3, 4, 3, activation="maxout")
    assert block.conv.out_channels == 8
    mask = torch.tensor([[1, 1, 1, 0]], dtype=torch.bool)
    out = block(torch.randn(1, 3, 4) * mask.unsqueeze(1), mask)
    assert out.shape == (1, 4, 4) and torch.all(out[:, :, 3] == 0)


def test_input_layer_known_answers() -> None:
    x = torch.tensor([[1, 21, 19, 0]])  # A, X, W, pad
    mask = x > 0
    onehot = InputLayer("onehot")(x, mask)
    assert onehot.shape == (1, N_CHANNELS, 4)
    assert onehot[0, :, 0].argmax() == 0 and onehot[0, :, 1].argmax() == 20
    assert torch.equal(onehot.sum(dim=1), torch.tensor([[1.0, 1.0, 1.0, 0.0]]))
    blosum = InputLayer("blosum62")(x, mask)
    assert blosum[0, 0, 0] == 1.0 and blosum[0, 18, 2] == 11 / 4 and blosum[0, 20, 1] == -1 / 4
    assert torch.all(blosum[0, :, 3] == 0)
    emb = InputLayer("embedding", embed_dim=7)
    assert emb(x, mask).shape == (1, 7, 4) and torch.all(emb(x, mask)[0, :, 3] == 0)


def test_get_model_accepts_design_n_tokens_and_refuses_other_vocabularies() -> None:
    from seqnn.data.alphabet import N_TOKENS

    model = get_model("cnn", n_tokens=N_TOKENS, n_outputs=1, task="binary")
    assert model.config == get_model("cnn", n_outputs=1, task="binary").config
    with pytest.raises(ValueError, match="n_tokens must be 22"):
        get_model("cnn", n_tokens=25, n_outputs=1, task="binary")


def test_terminal_masks_pick_first_and_last_residues() -> None:
    from seqnn.models.layers import terminal_masks

    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0]], dtype=torch.bool)
    n_term, c_term = terminal_masks(mask, 2)
    assert n_term.int().tolist() == [[1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]]
    assert c_term.int().tolist() == [[0, 0, 0, 1, 1, 0], [1, 1, 0, 0, 0, 0]]


def test_cnn_ends_and_downsample_widths() -> None:
    model = build("cnn", channels=[8, 6], ends=10, downsample=2, pool="meanmax")
    assert model.embed_size == 2 * 6 + 2 * 6
    x, mask = random_batch(3, 5, 30, seed=1)
    assert model.embed(x, mask).shape == (3, 24)
    with pytest.raises(ValueError, match="ends must be >= 0 and downsample >= 1"):
        build("cnn", downsample=0)
