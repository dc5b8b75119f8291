"""Tests of seqnn.runtime (batches, device, checkpoint) and seqnn.training through the
seqnn.train face (tiny and exact)."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from seqnn.encode import crop, encode_table
from seqnn.errors import CheckpointError, SeqnnInputError
from seqnn.runtime.batches import (
    BucketBatchSampler,
    PadCollate,
    SequenceDataset,
    batch_width,
    check_lengths,
    make_loader,
)
from seqnn.runtime.checkpoint import load_model, save_model
from seqnn.train import (
    TrainConfig,
    TrainingError,
    amp_settings,
    embed_dataset,
    predict_dataset,
    select_device,
    train_model,
)
from seqnn.training import state
from seqnn.training.parts import balanced_class_weights, build_loss

REPO = Path(__file__).resolve().parents[2]
RESIDUES = "ACDEFGHIKLMNPQRSTVWY"
MLP = {"hidden": [8], "dropout": 0.3}  # dropout makes the torch RNG matter for resume


def make_ds(n: int, seed: int, task: str = "binary"):
    """Random sequences (length 4..40); class 'pos' carries a KKKK motif."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        body = "".join(rng.choice(list(RESIDUES), int(rng.integers(4, 40))))
        positive = i % 2 == 0
        seqs.append("KKKK" + body if positive else body)
        labels.append("pos" if positive else "neg")
    ids = [f"r{seed}_{i}" for i in range(n)]
    if task == "regression":
        return encode_table(ids, seqs, [float(len(s)) for s in seqs], "regression")
    return encode_table(ids, seqs, labels, "binary", ["neg", "pos"])


@pytest.fixture(scope="module")
def data():
    return make_ds(40, 1), make_ds(16, 2), make_ds(12, 3)


def cfg(**kw) -> TrainConfig:
    base = {"epochs": 4, "batch_size": 8, "device": "cpu", "quiet": True, "seed": 3}
    return TrainConfig(**{**base, **kw})


def nan_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """A user loss (registered as the entry point "nan_loss" of group seqnn.losses by the
    test below, as an installed package would) that is always NaN."""
    return outputs.sum() * float("nan")


# ----------------------------------------------------------------------------- data

@pytest.mark.parametrize("n,batch,mult", [(0, 4, 2), (1, 4, 2), (37, 4, 2), (37, 5, 100)])
def test_sampler_every_index_once_and_reproducible(n, batch, mult):
    lengths = np.random.default_rng(0).integers(1, 50, n)
    sampler = BucketBatchSampler(lengths, batch, shuffle=True, seed=7, bucket_size_multiplier=mult)
    seen_orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler) == -(-n // batch)
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(n))
        again = BucketBatchSampler(lengths, batch, True, 7, mult)
        again.load_state_dict(sampler.state_dict())
        assert list(again) == batches
        seen_orders.append(flat)
    if n > 10:
        assert seen_orders[0] != seen_orders[1]  # a new permutation each epoch
        other = BucketBatchSampler(lengths, batch, True, 8, mult)
        assert [i for b in other for i in b] != seen_orders[0]


def test_sampler_buckets_by_length_and_sorts_without_shuffle():
    lengths = np.arange(40)[::-1].copy()
    sampler = BucketBatchSampler(lengths, 4, shuffle=True, seed=0, bucket_size_multiplier=10)
    for b in sampler:  # one chunk holds everything: each batch is 4 consecutive lengths
        assert np.ptp(lengths[b]) == 3
    plain = BucketBatchSampler(lengths, 4, shuffle=False)
    assert [i for b in plain for i in b] == list(range(39, -1, -1))


def test_batch_width_rounds_up_to_an_eighth_of_the_power_of_two():
    assert [batch_width(n, 1000) for n in (0, 1, 3, 8, 9, 17, 64, 65, 130, 400, 870, 999)] == \
        [0, 8, 8, 8, 16, 24, 64, 72, 144, 416, 896, 1000]
    assert batch_width(5, 4) == 5  # never below the longest row (a pad_to_max benchmark)
    assert batch_width(7, 6) == 7 and batch_width(5, 6) == 6  # capped at max_len
    for n in range(1, 3000):  # under 12.5 % (and at most 7 positions below 64) added
        w = batch_width(n, 10_000)
        assert n <= w <= max(n + 7, n * 9 // 8)


def test_collate_pads_per_batch_to_a_rounded_width():
    ds = encode_table(["a", "b", "c"], ["ACD", "W", "KLMNP"], ["x", "y", "x"], "binary")
    items = [SequenceDataset(ds)[i] for i in (0, 1)]
    batch = PadCollate(max_len=100)(items)
    assert batch["x"].tolist() == [[1, 2, 3, 0, 0, 0, 0, 0], [19, 0, 0, 0, 0, 0, 0, 0]]
    assert batch["x"].dtype == torch.int64 and batch["mask"].dtype == torch.bool
    assert batch["mask"].tolist() == [[True] * 3 + [False] * 5, [True] + [False] * 7]
    assert batch["lengths"].tolist() == [3, 1] and batch["index"].tolist() == [0, 1]
    assert batch["y"].tolist() == [0, 1] and batch["y"].dtype == torch.int64
    assert PadCollate(max_len=4)(items)["x"].shape == (2, 4)  # capped at max_len
    loader, sampler = make_loader(ds, batch_size=2, shuffle=False, max_len=100)
    assert [b["lengths"].tolist() for b in loader] == [[1, 3], [5]]  # sorted by length
    assert [b["x"].shape[1] for b in loader] == [8, 8]
    padded = make_loader(ds, batch_size=2, shuffle=False, max_len=100, pad_to_max=True)[0]
    assert [b["x"].shape[1] for b in padded] == [5, 5]


def test_collate_crops_long_sequences():
    ds = encode_table(["long", "short"], ["ACDEFGHIKL", "MN"], [1.0, 2.0], "regression")
    items = [SequenceDataset(ds)[i] for i in range(2)]
    ends = PadCollate(max_len=4, truncate="ends")(items)
    assert ends["x"].tolist() == [[1, 2, 9, 10], [11, 12, 0, 0]]  # A C ... K L
    assert ends["lengths"].tolist() == [4, 2]
    assert ends["y"].dtype == torch.float32 and ends["y"].tolist() == [1.0, 2.0]
    right = PadCollate(max_len=4, truncate="right")(items)
    expected = crop(ds.tokens[:10], 4, "right").tolist()
    assert right["x"][0].tolist() == expected == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="'long': length 10 exceeds max_len 4"):
        check_lengths(ds, 4, "error")
    with pytest.raises(ValueError, match="exceeds max_len 4"):
        PadCollate(max_len=4, truncate="error")(items)


# ----------------------------------------------------------------------------- trainstate

def test_select_device_with_mocked_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert select_device("auto") == torch.device("cuda")
    assert select_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match="only 1 GPU"):
        select_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert select_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        select_device("cuda")
    with pytest.raises(ValueError, match="MPS is not available"):
        select_device("mps")
    with pytest.raises(ValueError, match="unknown device"):
        select_device("gpu")


def test_amp_switch(monkeypatch):
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert amp_settings(cuda, True) == (True, torch.bfloat16, False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert amp_settings(cuda, True) == (True, torch.float16, True)  # fp16 needs a GradScaler
    assert amp_settings(cuda, False) == (False, None, False)
    assert amp_settings(torch.device("cpu"), True) == (False, None, False)


def test_balanced_class_weights_and_weighted_bce():
    w = balanced_class_weights(np.array([0, 0, 0, 1]), 2)
    np.testing.assert_allclose(w, [4 / 6, 4 / 2], rtol=1e-6)
    assert balanced_class_weights(np.array([0, 2, 2]), 3).tolist() == [1.0, 0.0, 0.5]
    sqrt = balanced_class_weights(np.array([0, 0, 0, 0, 1]), 2, power=0.5)
    np.testing.assert_allclose(sqrt, [(5 / 8) ** 0.5, (5 / 2) ** 0.5], rtol=1e-6)
    loss = build_loss("auto", "binary", w, torch.device("cpu"))
    out = torch.tensor([[0.0], [2.0]])
    y = torch.tensor([0, 1])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    each = bce(out[:, 0], y.float(), reduction="none")
    expected = (each[0] * w[0] + each[1] * w[1]) / (w[0] + w[1])
    assert torch.allclose(loss(out, y), expected)
    with pytest.raises(ValueError, match="does not fit task"):
        build_loss("cross_entropy", "binary", None, torch.device("cpu"))
    with pytest.raises(ValueError, match="a config never imports code; register your own "
                       "loss as an entry point in the group 'seqnn.losses'"):
        build_loss("no_such_module_xyz:f", "binary", None, torch.device("cpu"))


def test_train_config_validates():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="unknown training setting"):
        TrainConfig.from_dict({"epochz": 3})
    assert TrainConfig.from_dict({"epochs": 3}).epochs == 3


# ----------------------------------------------------------------------------- training

def weights_of(out_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out_dir / "model.safetensors"))


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def history(out_dir: Path) -> pd.DataFrame:
    return pd.read_csv(out_dir / "history.csv").drop(columns=["seconds", "samples_per_sec"])


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory):
    """One uninterrupted 4-epoch run, shared by several tests."""
    train, valid, test = data
    out = tmp_path_factory.mktemp("straight")
    summary = train_model(train, valid, model_name="mlp", model_params=MLP,
                          config=cfg(scheduler="cosine"), out_dir=out, test=test,
                          meta={"identity_threshold": 0.3})
    return out, summary


def test_run_writes_files_and_history_columns(straight):
    out, summary = straight
    names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert names == {"state.pt", "history.csv", "model.safetensors", "model.json",
                     "metrics.json", "predictions.tsv"}
    cols = pd.read_csv(out / "history.csv").columns.tolist()
    assert cols == ["epoch", "train_loss", "train_mcc", "valid_loss", "valid_mcc", "lr",
                    "seconds", "samples_per_sec"]
    assert pd.read_csv(out / "history.csv")["epoch"].tolist() == [1, 2, 3, 4]
    meta = json.loads((out / "model.json").read_text())
    assert meta["format_version"] == 1 and meta["model"] == "mlp" and meta["task"] == "binary"
    assert meta["class_names"] == ["neg", "pos"] and meta["n_outputs"] == 1
    assert meta["identity_threshold"] == 0.3 and meta["best_epoch"] == summary["best_epoch"]
    assert len(meta["data_hash"]) == 64 and meta["params"]["hidden"] == [8]
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"train", "valid", "test"} and metrics["test"]["n"] == 12
    pred = pd.read_csv(out / "predictions.tsv", sep="\t")
    assert pred.columns.tolist() == ["id", "split", "true", "predicted", "p_neg", "p_pos"]
    assert pred["split"].value_counts().to_dict() == {"train": 40, "valid": 16, "test": 12}
    np.testing.assert_allclose(pred["p_neg"] + pred["p_pos"], 1.0, rtol=1e-6)
    assert set(pred["true"]) == {"neg", "pos"}


def test_checkpoint_round_trip_gives_identical_predictions(straight, data):
    out, _ = straight
    model, meta = load_model(out)
    assert meta["truncate"] == "ends" and not model.training
    first = predict_dataset(model, data[2], batch_size=5)
    assert first["outputs"].shape == (12, 2)
    saved = pd.read_csv(out / "predictions.tsv", sep="\t").query("split == 'test'")
    np.testing.assert_allclose(first["outputs"][:, 1], saved["p_pos"], rtol=1e-6)
    resaved = out.parent / (out.name + "_copy")
    save_model(resaved, model, meta)
    again, _ = load_model(resaved)
    second = predict_dataset(again, data[2], batch_size=3)
    assert np.array_equal(first["outputs"], second["outputs"])
    assert embed_dataset(again, data[2]).shape == (12, 8)


class Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_pickle_renamed_to_safetensors_is_refused(straight, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, _ = straight
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.json").write_text((out / "model.json").read_text())
    (bad / "model.safetensors").write_bytes(pickle.dumps({"w": Boom()}))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_model(bad)
    assert not (tmp_path / "PWNED").exists()
    torch.save({"weight": torch.zeros(2)}, bad / "model.safetensors")
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_model(bad)


def test_bad_model_dirs_are_refused(straight, tmp_path):
    out, _ = straight
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nowhere")
    meta = json.loads((out / "model.json").read_text())
    d = tmp_path / "m"
    d.mkdir()
    (d / "model.safetensors").write_bytes((out / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="model.json: missing"):
        load_model(d)
    (d / "model.json").write_text(json.dumps({**meta, "format_version": 2}))
    with pytest.raises(CheckpointError, match="format_version 2 is newer"):
        load_model(d)
    (d / "model.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "task"}))
    with pytest.raises(CheckpointError, match="missing keys task"):
        load_model(d)
    (d / "model.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_model(d)
    (d / "model.json").write_text(json.dumps({**meta, "params": {"hidden": [9]}}))
    with pytest.raises(CheckpointError, match=r"'body.0.0.weight' has shape \[8, 43\], "
                       r"model.json implies \[9, 43\] \(406 values in all, the weights hold "
                       r"361\)"):
        load_model(d)


def test_seeded_runs_reproduce_exactly(straight, data, tmp_path):
    out, summary = straight
    train, valid, test = data
    again = train_model(train, valid, model_name="mlp", model_params=MLP,
                        config=cfg(scheduler="cosine"), out_dir=tmp_path / "a", test=test,
                        evaluate=False)
    assert_same_weights(weights_of(out), weights_of(tmp_path / "a"))
    pd.testing.assert_frame_equal(history(out), history(tmp_path / "a"))
    assert again["best_epoch"] == summary["best_epoch"]
    train_model(train, valid, model_name="mlp", model_params=MLP, config=cfg(seed=4),
                out_dir=tmp_path / "b", evaluate=False)
    assert not torch.equal(weights_of(out)["out.weight"], weights_of(tmp_path / "b")["out.weight"])


def test_resume_after_interruption_is_exact(straight, data, tmp_path, monkeypatch):
    out, summary = straight
    train, valid, test = data
    real_save = state.save_state
    calls = []

    def save_then_die(out_dir, state):
        real_save(out_dir, state)
        calls.append(state["epoch"])
        if state["epoch"] == 2:
            raise KeyboardInterrupt  # "killed" after epoch 2's state, before its history

    monkeypatch.setattr("seqnn.training.loop.save_state", save_then_die)
    run = {"model_name": "mlp", "model_params": MLP, "config": cfg(scheduler="cosine"),
           "out_dir": tmp_path, "test": test}
    with pytest.raises(KeyboardInterrupt):
        train_model(train, valid, **run)
    assert not (tmp_path / "model.json").exists()
    monkeypatch.setattr("seqnn.training.loop.save_state", real_save)
    with pytest.raises(TrainingError, match="cannot resume, the run differs in lr"):
        train_model(train, valid, **{**run, "config": cfg(scheduler="cosine", lr=0.01)},
                    resume=True)
    resumed = train_model(train, valid, **run, resume=True)
    assert calls == [1, 2]
    assert_same_weights(weights_of(out), weights_of(tmp_path))
    pd.testing.assert_frame_equal(history(out), history(tmp_path))
    assert resumed["metrics"] == summary["metrics"]
    assert resumed["best_epoch"] == summary["best_epoch"]


def test_resume_after_kill_9(straight, data, tmp_path):
    """A real SIGKILL in a child process during epoch 3; resuming here ends identical."""
    out, _ = straight
    for name, ds in zip(("train", "valid", "test"), data, strict=True):
        from seqnn.encode import save_encoded

        save_encoded(ds, str(tmp_path / f"{name}.npz"))
    script = textwrap.dedent(f"""
        import os, signal
        from seqnn import train
        from seqnn.encode import load_encoded
        from seqnn.training import loop
        real = loop.save_state
        def save(out_dir, state):
            if state["epoch"] == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            real(out_dir, state)
        loop.save_state = save
        d = {str(tmp_path)!r}
        ds = [load_encoded(os.path.join(d, n + ".npz")) for n in ("train", "valid", "test")]
        config = train.TrainConfig(epochs=4, batch_size=8, device="cpu", quiet=True, seed=3,
                                   scheduler="cosine")
        train.train_model(ds[0], ds[1], model_name="mlp", model_params={MLP!r}, config=config,
                          out_dir=os.path.join(d, "run"), test=ds[2])
    """)
    (tmp_path / "run.py").write_text(script)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.run([sys.executable, str(tmp_path / "run.py"), "kill"], env=env)
    assert killed.returncode == -9
    assert pd.read_csv(tmp_path / "run" / "history.csv")["epoch"].tolist() == [1, 2]
    assert not (tmp_path / "run" / "model.json").exists()
    train_model(*data[:2], model_name="mlp", model_params=MLP, config=cfg(scheduler="cosine"),
                out_dir=tmp_path / "run", test=data[2], resume=True)
    assert_same_weights(weights_of(out), weights_of(tmp_path / "run"))
    pd.testing.assert_frame_equal(history(out), history(tmp_path / "run"))


def test_nan_loss_stops_with_training_error(data, tmp_path, monkeypatch):
    import importlib.metadata as md

    train, valid, _ = data
    ep = md.EntryPoint("nan_loss", f"{__name__}:nan_loss", "seqnn.losses")
    real = md.entry_points
    monkeypatch.setattr(md, "entry_points",
                        lambda **kw: [ep] if kw.get("group") == "seqnn.losses" else real(**kw))
    with pytest.raises(TrainingError, match=r"non-finite loss \(nan\) at epoch 1, batch 1"):
        train_model(train, valid, model_name="mlp", model_params=MLP,
                    config=cfg(loss="nan_loss"), out_dir=tmp_path)


def test_early_stopping_restores_best_weights(data, tmp_path):
    train, valid, _ = data
    summary = train_model(train, valid, model_name="mlp", model_params=MLP,
                          config=cfg(epochs=30, patience=2, monitor="loss", lr=0.3),
                          out_dir=tmp_path, evaluate=False)
    hist = pd.read_csv(tmp_path / "history.csv")
    best = int(hist["valid_loss"].idxmin()) + 1
    assert summary["best_epoch"] == best and summary["epochs_run"] == best + 2
    assert summary["stopped_early"]
    state = torch.load(tmp_path / "state.pt", weights_only=True)
    assert_same_weights(weights_of(tmp_path), state["best_weights"])


def test_regression_and_autoencoder_runs(tmp_path):
    train, valid = make_ds(24, 5, "regression"), make_ds(8, 6, "regression")
    reg = train_model(train, valid, model_name="mlp", model_params=MLP,
                      config=cfg(epochs=2, class_weights="none"), out_dir=tmp_path / "r")
    assert reg["monitor"] == "spearman" and set(reg["metrics"]["valid"]) >= {"spearman", "rmse"}
    pred = pd.read_csv(tmp_path / "r" / "predictions.tsv", sep="\t")
    assert pred.columns.tolist() == ["id", "split", "true", "predicted"]
    ae = train_model(train, valid, model_name="autoencoder",
                     model_params={"channels": [8], "decoder_channels": [8], "latent_dim": 4},
                     config=cfg(epochs=2), out_dir=tmp_path / "ae")
    assert ae["monitor"] == "reconstruction_accuracy"
    assert set(ae["metrics"]["valid"]) == {"reconstruction_accuracy", "loss", "n"}
    model, meta = load_model(tmp_path / "ae")
    assert meta["task"] == "unsupervised" and meta["class_names"] == []
    acc = predict_dataset(model, valid)["outputs"]
    assert acc.shape == (8,) and ((acc >= 0) & (acc <= 1)).all()
    cols = pd.read_csv(tmp_path / "ae" / "history.csv").columns.tolist()
    assert cols[:5] == ["epoch", "train_loss", "train_reconstruction_accuracy", "valid_loss",
                        "valid_reconstruction_accuracy"]


def test_limit_heap_growth_applies_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from seqnn.runtime.device import limit_heap_growth

    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert limit_heap_growth() is sys.platform.startswith("linux")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert limit_heap_growth() is False


def test_limit_primitive_cache_sets_env_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from seqnn.runtime.device import PRIMITIVE_CACHE_CAPACITY, limit_primitive_cache

    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    monkeypatch.delenv("DNNL_PRIMITIVE_CACHE_CAPACITY", raising=False)
    assert limit_primitive_cache() is True
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == str(PRIMITIVE_CACHE_CAPACITY)
    monkeypatch.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")
    assert limit_primitive_cache() is False
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "64"


def test_ema_weights_are_validated_saved_and_resumed(data, tmp_path, monkeypatch):
    train, valid, _ = data
    run = {"model_name": "mlp", "model_params": MLP, "config": cfg(ema=0.9, epochs=3,
                                                                   patience=5)}
    straight = train_model(train, valid, **run, out_dir=tmp_path / "a")
    plain = train_model(train, valid, **{**run, "config": cfg(epochs=3, patience=5)},
                        out_dir=tmp_path / "p")
    assert straight["history"] and plain["history"]
    # the averaged weights differ from the raw ones; the training loss does not change
    ha, hp = history(tmp_path / "a"), history(tmp_path / "p")
    assert ha["train_loss"].tolist() == hp["train_loss"].tolist()
    assert ha["valid_loss"].tolist() != hp["valid_loss"].tolist()
    real_save = state.save_state

    def save_then_die(out_dir, state):
        real_save(out_dir, state)
        if state["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("seqnn.training.loop.save_state", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_model(train, valid, **run, out_dir=tmp_path / "b")
    monkeypatch.setattr("seqnn.training.loop.save_state", real_save)
    train_model(train, valid, **run, out_dir=tmp_path / "b", resume=True)
    assert_same_weights(weights_of(tmp_path / "a"), weights_of(tmp_path / "b"))
    with pytest.raises(ValueError, match=r"ema must be in \[0, 1\)"):
        cfg(ema=1.0)


def test_class_weight_settings() -> None:
    from seqnn.train import class_weight_power

    assert [class_weight_power(v) for v in ("none", "balanced", "sqrt", 0.75, 2)] == [
        0.0, 1.0, 0.5, 0.75, 2.0]
    for bad in ("inverse", 0, -1.0, 2.5, True):
        with pytest.raises(ValueError, match="class_weights must be none, balanced, sqrt"):
            cfg(class_weights=bad)


def test_ensemble_averages_members_saves_and_resumes(data, tmp_path):
    train, valid, test = data
    out = tmp_path / "ens"
    summary = train_model(train, valid, model_name="mlp", model_params=MLP,
                          config=cfg(ensemble=3), out_dir=out, test=test)
    meta = json.loads((out / "model.json").read_text())
    assert (meta["model"], meta["ensemble"], meta["ensemble_seeds"]) == ("mlp", 3, [3, 4, 5])
    assert meta["member_best_epochs"] == [s["best_epoch"] for s in summary["members"]]
    # each member is the plain run with its own seed and the ensemble's batch order
    from seqnn.training.single import train_single

    solo = train_single(train, valid, model_name="mlp", model_params=MLP, config=cfg(seed=4),
                        out_dir=tmp_path / "solo", evaluate=False, order_seed=3)
    assert_same_weights(weights_of(out / "members" / "1"), weights_of(Path(solo["model_dir"])))
    # the saved ensemble predicts the mean of its members' probabilities
    model, _ = load_model(out)
    members = [load_model(out / "members" / str(i))[0] for i in range(3)]
    mean_p = np.mean([predict_dataset(m, test, batch_size=8)["outputs"] for m in members], axis=0)
    np.testing.assert_allclose(predict_dataset(model, test, batch_size=8)["outputs"], mean_p,
                               atol=1e-6)
    assert embed_dataset(model, test, batch_size=8).shape == (len(test), 3 * 8)
    h = history(out)
    assert sorted(set(h["member"])) == [0, 1, 2] and len(h) == meta["epochs_run"]
    # resuming a finished ensemble retrains nothing and gives the same model
    before = weights_of(out)
    train_model(train, valid, model_name="mlp", model_params=MLP, config=cfg(ensemble=3),
                out_dir=out, test=test, resume=True)
    assert_same_weights(before, weights_of(out))


def test_ensemble_multiclass_and_regression_average_in_the_right_space():
    from seqnn.models import get_model
    from seqnn.models.ensemble import Ensemble

    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    torch.manual_seed(0)
    multi = [get_model("mlp", n_outputs=3, task="multiclass", hidden=[4]).eval()
             for _ in range(2)]
    with torch.no_grad():
        got = torch.softmax(Ensemble(multi)(x, x > 0), dim=1)
        want = torch.stack([torch.softmax(m(x, x > 0), dim=1) for m in multi]).mean(0)
    torch.testing.assert_close(got, want)
    reg = [get_model("mlp", n_outputs=2, task="regression", hidden=[4]).eval() for _ in range(2)]
    with torch.no_grad():
        torch.testing.assert_close(Ensemble(reg)(x, x > 0),
                                   (reg[0](x, x > 0) + reg[1](x, x > 0)) / 2)
    ae = get_model("autoencoder", n_outputs=1, task="unsupervised")
    with pytest.raises(ValueError, match="unsupervised"):
        Ensemble([ae, ae])


def test_ensemble_setting_is_validated_and_model_json_checked(straight, tmp_path):
    with pytest.raises(ValueError, match="ensemble must be >= 1"):
        cfg(ensemble=0)
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("model.json", "model.safetensors"):
        (bad / name).write_bytes((straight[0] / name).read_bytes())
    meta = json.loads((bad / "model.json").read_text())
    (bad / "model.json").write_text(json.dumps({**meta, "ensemble": "three"}))
    with pytest.raises(CheckpointError, match="'ensemble' must be an integer in 1..64, got "
                       "'three'"):
        load_model(bad)
    with pytest.raises(ValueError, match="ensemble must be <= 64, got 65"):
        cfg(ensemble=65)
    with pytest.raises(ValueError, match="max_len must be <= 1000000, got 1000001"):
        cfg(max_len=1_000_001)


class _Evil:
    """A pickled object that would run a command when unpickled without weights_only."""

    def __reduce__(self):
        return (os.system, ("true",))


def test_malicious_state_is_refused_in_one_line(data, tmp_path):
    train, valid, _ = data
    torch.save({"state_version": 1, "x": _Evil()}, tmp_path / "state.pt")
    with pytest.raises(TrainingError) as info:
        train_model(train, valid, model_name="mlp", model_params=MLP, config=cfg(epochs=1),
                    out_dir=tmp_path, resume=True)
    msg = str(info.value)
    assert "\n" not in msg and "weights_only" not in msg and "two options" not in msg
    assert msg.startswith(f"{tmp_path / 'state.pt'}: unreadable training state (")
    assert "system" in msg and msg.endswith("delete it to start over")


@pytest.mark.parametrize("bad", [{"state_version": 1}, {"state_version": "1"},
                                 {"state_version": 1, "fingerprint": 5}])
def test_state_with_wrong_keys_is_refused_in_one_line(data, tmp_path, bad):
    train, valid, _ = data
    torch.save(bad, tmp_path / "state.pt")
    with pytest.raises(TrainingError) as info:
        train_model(train, valid, model_name="mlp", model_params=MLP, config=cfg(epochs=1),
                    out_dir=tmp_path, resume=True)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"{tmp_path / 'state.pt'}: ")


def test_state_with_wrong_shapes_is_refused_in_one_line(straight, data, tmp_path):
    out, _ = straight
    train, valid, _ = data
    saved = torch.load(out / "state.pt", weights_only=True)
    saved["model"] = {k: v[..., :1] for k, v in saved["model"].items()}
    torch.save(saved, tmp_path / "state.pt")
    with pytest.raises(TrainingError, match=r"not a training state of this run \(RuntimeError"):
        train_model(train, valid, model_name="mlp", model_params=MLP,
                    config=cfg(scheduler="cosine"), out_dir=tmp_path, resume=True)



# ----------------------------------------------------------------------------- label checks

def relabel(ds, labels, class_names=None):
    """``ds`` with other labels (class indices or values) and, optionally, class names."""
    return replace(ds, labels=np.asarray(labels, dtype=ds.labels.dtype),
                   class_names=list(class_names or ds.class_names))


@pytest.mark.parametrize("case, message", [
    ("one class", "task binary needs at least 2 classes in the train split, found 1"),
    ("nan in valid", "the valid split holds a non-finite regression target (nan)"),
    ("inf in train", "the train split holds a non-finite regression target (inf)"),
    ("three names", "task binary needs exactly 2 class names, got 3"),
])
def test_unusable_labels_are_refused_before_training(data, tmp_path, case, message):
    train, valid, _ = data
    if case == "one class":
        train = relabel(train, np.ones(len(train)))
    if case == "three names":
        train, valid = (relabel(d, d.labels, ["a", "b", "c"]) for d in (train, valid))
    if case.endswith(("valid", "train")):
        train, valid = make_ds(12, 5, "regression"), make_ds(6, 6, "regression")
        target = valid if case.endswith("valid") else train
        bad = target.labels.copy()
        bad[2] = np.nan if case.startswith("nan") else np.inf
        train, valid = (relabel(d, bad) if d is target else d for d in (train, valid))
    with pytest.raises(SeqnnInputError, match=re.escape(message)):
        train_model(train, valid, model_name="mlp", model_params=MLP, config=cfg(epochs=1),
                    out_dir=tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_a_class_absent_from_valid_is_logged_and_recorded(data, tmp_path, caplog):
    train, valid, test = data
    valid = relabel(valid, np.ones(len(valid)))
    with caplog.at_level("WARNING", logger="seqnn.train"):
        summary = train_model(train, valid, model_name="mlp", model_params=MLP,
                              config=cfg(epochs=1), out_dir=tmp_path, test=test)
    note = "class(es) neg absent from the valid split (16 sequences): its metrics there miss " \
           "that class"
    assert [r.getMessage() for r in caplog.records if r.name == "seqnn.train"] == [note]
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["warnings"] == [note] and summary["metrics"]["warnings"] == [note]
    assert set(written) == {"train", "valid", "test", "warnings"}


def test_a_crash_in_evaluation_leaves_no_model_files(data, tmp_path, monkeypatch):
    """metrics.json is written before the model, model.json last: no weights without it."""
    import seqnn.training.single as single

    def boom(*args, **kwargs):
        raise RuntimeError("evaluation failed")

    monkeypatch.setattr(single, "evaluate_run", boom)
    train, valid, _ = data
    with pytest.raises(RuntimeError, match="evaluation failed"):
        train_model(train, valid, model_name="mlp", model_params=MLP, config=cfg(epochs=1),
                    out_dir=tmp_path)
    names = set(os.listdir(tmp_path))
    assert not names & {"model.json", "model.safetensors", "metrics.json"}, names


def test_train_cli_refuses_a_nan_target_without_leaving_a_folder(tmp_path):
    from click.testing import CliRunner

    from seqnn.cli import main

    rows = [(f"s{k}", "KKKKWLRAGG"[: 5 + k], "nan" if k == 4 else str(k)) for k in range(6)]
    (tmp_path / "s.tsv").write_text("id\tsequence\tlabel\n" + "".join(
        "\t".join(r) + "\n" for r in rows))
    (tmp_path / "splits.tsv").write_text("id\tsplit\n" + "".join(
        f"s{k}\t{'train' if k < 4 else 'valid'}\n" for k in range(6)))
    res = CliRunner().invoke(main, [
        "train", str(tmp_path / "s.tsv"), str(tmp_path / "splits.tsv"), "--task", "regression",
        "--model", "mlp", "--quiet", "--device", "cpu", "--out", str(tmp_path / "m")])
    assert res.exit_code == 2, res.output
    assert res.output == (f"seqnn: error: {tmp_path / 's.tsv'}, record 's4': label 'nan' is "
                          "not a number (task regression)\n")
    assert not (tmp_path / "m").exists()


# ----------------------------------------------------------------------------- terminal vs pipe

def _train_cli(tmp: Path, out: str, terminal: bool) -> bytes:
    """``seqnn train`` in a child process with stderr on a pseudo-terminal or a pipe;
    returns what it wrote to stderr."""
    import fcntl
    import pty
    import struct
    import termios

    args = [sys.executable, "-m", "seqnn", "train", str(tmp / "seqs.tsv"),
            str(tmp / "splits.tsv"), "--task", "binary", "--model", "mlp", "--params",
            json.dumps(MLP), "--epochs", "3", "--seed", "0", "--device", "cpu",
            "--threads", "1", "-o", str(tmp / out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not terminal:
        done = subprocess.run(args, env=env, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
        return done.stderr
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait() == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks)


def test_training_results_do_not_depend_on_a_terminal(tmp_path):
    """Same seed, stderr a terminal (progress bar) or a pipe (none): identical metrics.json,
    and the per-epoch log line in both modes."""
    rng = np.random.default_rng(5)
    seqs = ["".join(rng.choice(list(RESIDUES), int(rng.integers(5, 30)))) for _ in range(48)]
    labels = ["pos" if i % 2 else "neg" for i in range(48)]
    seqs = [("KKKK" + s) if lab == "pos" else s for s, lab in zip(seqs, labels, strict=True)]
    ids = [f"s{i}" for i in range(48)]
    pd.DataFrame({"id": ids, "sequence": seqs, "label": labels}).to_csv(
        tmp_path / "seqs.tsv", sep="\t", index=False)
    pd.DataFrame({"id": ids, "split": ["train"] * 32 + ["valid"] * 8 + ["test"] * 8}).to_csv(
        tmp_path / "splits.tsv", sep="\t", index=False)
    tty_err = _train_cli(tmp_path, "tty", terminal=True)
    pipe_err = _train_cli(tmp_path, "pipe", terminal=False)
    assert b"batch" in tty_err  # the bar was shown on the terminal ...
    assert b"batch" not in pipe_err and b"\r" not in pipe_err  # ... and not in the pipe
    for err in (tty_err.decode(), pipe_err.decode()):
        for epoch in (1, 2, 3):
            assert f"seqnn.train: epoch {epoch}/3: train_loss " in err
        assert "; best valid_mcc " in err
    metrics = (tmp_path / "tty" / "metrics.json").read_bytes()
    assert "seconds" not in metrics.decode()  # no timings, so bytes can be compared
    assert metrics == (tmp_path / "pipe" / "metrics.json").read_bytes()
    drop = ["seconds", "samples_per_sec"]
    pd.testing.assert_frame_equal(history(tmp_path / "tty").drop(columns=drop, errors="ignore"),
                                  history(tmp_path / "pipe").drop(columns=drop, errors="ignore"))
