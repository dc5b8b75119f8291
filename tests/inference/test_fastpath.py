"""The inference fast path: rewritten models keep their outputs, residue-capped batches
cover every record once, and a Predictor's table equals the plain forward pass's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqnn.data.encoding import encode_table
from seqnn.inference.predictor import Predictor
from seqnn.models import get_model
from seqnn.models.cnn import ConvBlock
from seqnn.models.ensemble import Ensemble
from seqnn.runtime.batches import BucketBatchSampler, PadCollate, SequenceDataset
from seqnn.runtime.fastpath import for_inference
from seqnn.runtime.forward import embed_dataset, predict_dataset

RESIDUES = "ACDEFGHIKLMNPQRSTVWY"

CASES = [
    ("cnn", {}),
    ("cnn", {"batch_norm": False, "activation": "gelu", "residual": True}),
    ("cnn", {"input": "embedding", "dilation": 2, "pool": "attention", "ends": 3}),
    ("cnn", {"activation": "maxout", "downsample": 2, "pool": "meanmax"}),
    ("cnn", {"activation": "leaky_relu", "channels": [8, 16, 8], "residual": True}),
    ("rnn", {"conv_channels": 8, "conv_kernel": 5, "conv_pool": 2, "batch_norm": True}),
    ("rnn", {"input": "embedding"}),
    ("mlp", {}),
]


def batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([40, 3, 17, 33, 1, 9, 25])
    mask = torch.arange(40)[None] < lengths[:, None]
    return torch.randint(1, 22, (7, 40), generator=gen) * mask, mask


def trained_like(name: str, params: dict) -> torch.nn.Module:
    """A model whose batch norms hold non-trivial running statistics and affine weights."""
    torch.manual_seed(0)
    model = get_model(name, n_outputs=3, task="multiclass", **params)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2.0)
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return model.eval()


@pytest.mark.parametrize(("name", "params"), CASES)
def test_rewritten_model_gives_the_same_outputs(name, params) -> None:
    model = trained_like(name, params)
    fast = for_inference(model)
    x, mask = batch()
    with torch.inference_mode():
        torch.testing.assert_close(fast(x, mask), model(x, mask), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fast.embed(x, mask), model.embed(x, mask), rtol=1e-5,
                                   atol=1e-5)
        # a record's output does not depend on the padding around it
        torch.testing.assert_close(fast(x[1:2, :3], mask[1:2, :3]), model(x, mask)[1:2],
                                   rtol=1e-5, atol=1e-5)


def test_the_model_itself_is_left_alone() -> None:
    model = trained_like("cnn", {})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for_inference(model)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(b.norm is not None for b in model.modules() if isinstance(b, ConvBlock))


def test_ensemble_is_rewritten_member_by_member() -> None:
    members = [trained_like("cnn", {"channels": [8]}) for _ in range(2)]
    model = Ensemble(members).eval()
    x, mask = batch(1)
    with torch.inference_mode():
        torch.testing.assert_close(for_inference(model)(x, mask), model(x, mask), rtol=1e-5,
                                   atol=1e-5)


@pytest.mark.parametrize(("budget", "cap"), [(1, 256), (50, 256), (120, 4), (10_000, 256)])
def test_residue_budget_batches(budget, cap) -> None:
    lengths = np.random.default_rng(0).integers(1, 60, 200)
    sampler = BucketBatchSampler(lengths, cap, shuffle=False, max_residues=budget)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(200))
    assert np.all(np.diff(lengths[flat]) >= 0)  # length-sorted
    for b in batches:
        assert len(b) <= cap
        assert len(b) == 1 or len(b) * lengths[b].max() <= budget


def test_residue_budget_is_for_inference_only() -> None:
    with pytest.raises(ValueError, match="max_residues"):
        BucketBatchSampler([3, 4], 2, shuffle=True, max_residues=10)


def test_predictor_table_equals_the_plain_forward_pass() -> None:
    """Same rows, order and values (float tolerance) as the unrewritten model run with
    fixed-size batches; includes records longer than max_len (cut) and of length 1."""
    rng = np.random.default_rng(3)
    lengths = [1, 2, 80, 5, 64, 7, 300, 30, *rng.integers(1, 120, 60).tolist()]
    seqs = ["".join(rng.choice(list(RESIDUES), n)) for n in lengths]
    ids = [f"r{i}" for i in range(len(seqs))]
    model = trained_like("cnn", {"channels": [8, 8], "kernel_size": 5})
    meta = {"task": "multiclass", "class_names": ["a", "b", "c"], "n_outputs": 3,
            "max_len": 100, "truncate": "ends", "alphabet_policy": "map"}
    predictor = Predictor(model, meta, torch.device("cpu"), batch_size=16, batch_residues=200)
    table = predictor.predict(list(zip(ids, seqs, strict=True)))
    plain = predict_dataset(model, encode_table(ids, seqs), batch_size=7, max_len=100,
                            truncate="ends")
    assert table["id"].tolist() == ids
    assert table["length"].tolist() == lengths
    np.testing.assert_allclose(table[["p_a", "p_b", "p_c"]].to_numpy(), plain["outputs"],
                               rtol=1e-5, atol=1e-6)
    assert table["predicted"].tolist() == [["a", "b", "c"][k] for k in plain["predicted"]]
    z = predictor.embed(list(zip(ids, seqs, strict=True)))
    np.testing.assert_allclose(z, embed_dataset(model, encode_table(ids, seqs), batch_size=5,
                                                max_len=100), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("truncate", ["ends", "right", "left", "center"])
@pytest.mark.parametrize("labels", [None, "int", "float"])
def test_rows_fetched_at_once_collate_as_one_by_one(truncate, labels) -> None:
    rng = np.random.default_rng(5)
    seqs = ["".join(rng.choice(list(RESIDUES), n)) for n in rng.integers(1, 30, 40)]
    ids = [f"r{i}" for i in range(len(seqs))]
    if labels == "int":
        ds = encode_table(ids, seqs, ["a" if i % 3 else "b" for i in range(40)], "binary",
                          ["a", "b"])
    elif labels == "float":
        ds = encode_table(ids, seqs, [float(i) / 7 for i in range(40)], "regression")
    else:
        ds = encode_table(ids, seqs)
    data = SequenceDataset(ds)
    for pad_to in (None, 31):
        collate = PadCollate(max_len=12, truncate=truncate, pad_to=pad_to)
        for index in ([0], [3, 1, 2], list(range(40)), [39, 5, 5]):
            got = collate(data.__getitems__(index))
            want = collate([data[i] for i in index])
            assert got.keys() == want.keys()
            for key, value in want.items():
                if value is None:
                    assert got[key] is None
                else:
                    assert got[key].dtype == value.dtype, key
                    assert torch.equal(got[key], value), key


def test_rows_over_max_len_are_refused_under_error() -> None:
    ds = encode_table(["a", "b"], ["ACDEF", "ACDEFGHIKL"])
    with pytest.raises(ValueError, match=r"record #2: length 10 exceeds max_len 6"):
        PadCollate(max_len=6, truncate="error")(SequenceDataset(ds).__getitems__([0, 1]))
