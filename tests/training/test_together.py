"""Ensemble members trained together (one stacked pass per batch) equal the members trained
one after another with the same seeds, dropout included, and resume the same way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from seqnn.models import get_model
from seqnn.models.stacked import stack_refusal, stacked_forward
from seqnn.train import TrainConfig
from seqnn.training.ensemble import train_ensemble
from tests.training.test_train import make_ds

RNN = {"input": "embedding", "embed_dim": 24, "conv_channels": 6, "conv_kernel": 5,
       "conv_pool": 3, "cell": "lstm", "hidden_size": 5, "bidirectional": False,
       "pool": "last", "dropout": 0.3, "head_hidden": 4, "composition": True}


@pytest.fixture(scope="module")
def data():
    return make_ds(40, 1), make_ds(16, 2)


def cfg(**kw) -> TrainConfig:
    base = {"epochs": 5, "patience": 2, "batch_size": 8, "device": "cpu", "quiet": True,
            "seed": 3, "ensemble": 3, "lr": 0.01}
    return TrainConfig(**{**base, **kw})


def _members(out, k=3):
    weights = [load_file(str(out / "members" / str(i) / "model.safetensors")) for i in range(k)]
    history = pd.read_csv(out / "history.csv")
    return weights, history


def _same(a, b):
    (wa, ha), (wb, hb) = a, b
    assert list(ha.columns) == list(hb.columns)
    assert ha[["member", "epoch"]].equals(hb[["member", "epoch"]])
    for col in ("train_loss", "valid_loss", "valid_accuracy", "train_accuracy"):
        if col in ha:
            np.testing.assert_allclose(ha[col], hb[col], rtol=0, atol=2e-5)
    for x, y in zip(wa, wb, strict=True):
        assert x.keys() == y.keys()
        for key in x:
            torch.testing.assert_close(x[key], y[key], rtol=0, atol=2e-5)


def test_together_equals_one_after_another(data, tmp_path):
    train, valid = data
    runs = {}
    for together in (True, False):
        out = tmp_path / str(together)
        summary = train_ensemble(train, valid, config=cfg(), out_dir=out, model_name="rnn",
                                 model_params=RNN, together=together)
        runs[together] = _members(out)
        epochs = [m["epochs_run"] for m in summary["members"]]
    _same(runs[True], runs[False])
    # the members differ from each other (own seeds) but share the batch order
    w = runs[True][0]
    assert float((w[0]["head.1.0.weight"] - w[1]["head.1.0.weight"]).abs().max()) > 0.01
    assert len(set(epochs)) >= 1


def test_together_resumes_like_an_uninterrupted_run(data, tmp_path):
    train, valid = data
    straight = tmp_path / "straight"
    train_ensemble(train, valid, config=cfg(patience=9), out_dir=straight, model_name="rnn",
                   model_params=RNN)
    cut = tmp_path / "cut"
    train_ensemble(train, valid, config=cfg(patience=9, epochs=2), out_dir=cut,
                   model_name="rnn", model_params=RNN)
    # a run killed between two members' state.pt: member 2 is one epoch behind
    state = torch.load(cut / "members" / "2" / "state.pt", weights_only=True)
    assert state["epoch"] == 2
    train_ensemble(train, valid, config=cfg(patience=9, epochs=1), out_dir=tmp_path / "one",
                   model_name="rnn", model_params=RNN)
    (cut / "members" / "2" / "state.pt").write_bytes(
        (tmp_path / "one" / "members" / "2" / "state.pt").read_bytes())
    train_ensemble(train, valid, config=cfg(patience=9), out_dir=cut, model_name="rnn",
                   model_params=RNN, resume=True)
    _same(_members(straight), _members(cut))


def test_stacked_forward_matches_each_member_in_eval_mode():
    torch.manual_seed(0)
    models = [get_model("rnn", n_outputs=2, task="multiclass", **RNN).eval() for _ in range(3)]
    assert stack_refusal(models) is None
    lengths = torch.tensor([17, 3, 9, 1])
    mask = torch.arange(17)[None, :] < lengths[:, None]
    x = torch.randint(1, 22, (4, 17)) * mask
    out = stacked_forward(models, x, mask, lambda i, shape, p: torch.ones(shape))
    for i, m in enumerate(models):
        torch.testing.assert_close(out[i], m(x, mask), rtol=0, atol=1e-6)


@pytest.mark.parametrize("change,reason", [
    ({"bidirectional": True}, "needs cell lstm"),
    ({"cell": "gru"}, "needs cell lstm"),
    ({"pool": "max"}, "needs cell lstm"),
    ({"batch_norm": True}, "batch_norm false"),
    ({"activation": "maxout"}, "element-wise activation"),
])
def test_stack_refusal_names_what_cannot_be_stacked(change, reason):
    model = get_model("rnn", n_outputs=1, task="binary", **{**RNN, **change})
    assert reason in stack_refusal([model])
    assert "only the rnn" in stack_refusal([get_model("cnn", n_outputs=1, task="binary")])


@pytest.mark.parametrize("task,extra", [
    ("regression", {"ema": 0.9, "scheduler": "plateau"}),
    ("binary", {"class_weights": "balanced", "grad_clip": 0.05}),
])
def test_together_equals_one_after_another_with_other_settings(task, extra, tmp_path):
    train, valid = make_ds(30, 4, task), make_ds(12, 5, task)
    params = {**RNN, "input": "onehot", "composition": False, "head_hidden": 0}
    runs = []
    for together in (True, False):
        out = tmp_path / str(together)
        train_ensemble(train, valid, config=cfg(epochs=3, ensemble=2, **extra), out_dir=out,
                       model_name="rnn", model_params=params, together=together)
        runs.append(_members(out, k=2))
    _same(*runs)
