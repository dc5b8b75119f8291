"""Data-parallel training under torchrun (gloo on CPU): the rank sampler, the switch, and a
real 2-process run compared with one process on the same global batch size."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

import seqnn
from seqnn.config import TrainConfig
from seqnn.data.encoding import encode_table, save_encoded
from seqnn.errors import ConfigError
from seqnn.runtime.batches import BucketBatchSampler
from seqnn.runtime.shards import RankBatchSampler, shard_indices
from seqnn.training import distributed
from seqnn.training.run import train_model

REPO = Path(__file__).resolve().parents[2]
RESIDUES = "ACDEFGHIKLMNPQRSTVWY"
#: no dropout and no batch norm: the two places where ranks cannot follow one process exactly
SPEC = {"model": "cnn", "params": {"channels": [8], "kernel_size": 3, "head_hidden": 0,
                                   "batch_norm": False, "dropout": 0.0},
        "train": {"epochs": 3, "batch_size": 10, "lr": 0.02, "patience": 5}}
#: float rounding of the all-reduce (another summation order) over 3 epochs x 6 steps
ATOL = 1e-5


@pytest.mark.parametrize("n", [1, 3, 17, 64])
@pytest.mark.parametrize("world", [2, 3])
def test_rank_pieces_add_up_to_the_global_batches(n: int, world: int) -> None:
    lengths = np.random.default_rng(n).integers(3, 50, n)
    base = BucketBatchSampler(lengths, 8, seed=4, bucket_size_multiplier=2)
    ranks = [RankBatchSampler(BucketBatchSampler(lengths, 8, seed=4, bucket_size_multiplier=2),
                              r, world) for r in range(world)]
    for epoch in (0, 3):
        base.set_epoch(epoch)
        for s in ranks:
            s.set_epoch(epoch)
        steps = list(zip(*(list(s) for s in ranks), strict=True))
        plans = [s.plan() for s in ranks]
        globals_ = list(base)
        assert len(steps) == len(globals_) == len(ranks[0])
        for step, (pieces, batch) in enumerate(zip(steps, globals_, strict=True)):
            sizes = [plan[step] for plan in plans]
            real = [p for p, (mine, _) in zip(pieces, sizes, strict=True) if mine]
            assert sorted(i for p in real for i in p) == sorted(batch)
            assert all(whole == len(batch) for _, whole in sizes)
            # the loss weights mine * world / whole average to 1: the global batch's mean
            assert sum(mine * world / whole for mine, whole in sizes) == pytest.approx(world)
            for p, (mine, _) in zip(pieces, sizes, strict=True):
                assert len(p) == max(mine, 1) and set(p) <= set(batch)
    assert ranks[1].state_dict() == base.state_dict() == {"seed": 4, "epoch": 3}


def test_validation_shards_partition_the_split() -> None:
    lengths = np.array([5, 1, 9, 3, 3, 7, 2])
    shards = [shard_indices(lengths, r, 3) for r in range(3)]
    assert sorted(np.concatenate(shards).tolist()) == list(range(7))
    assert [len(s) for s in shards] == [3, 2, 2]


def make_ds(n: int, seed: int):
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list(RESIDUES), int(rng.integers(4, 40)))) for _ in range(n)]
    seqs = [("KKKK" + s) if i % 2 == 0 else s for i, s in enumerate(seqs)]
    labels = ["pos" if i % 2 == 0 else "neg" for i in range(n)]
    return encode_table([f"r{i}" for i in range(n)], seqs, labels, "binary", ["neg", "pos"])


def test_single_process_never_starts_a_group(monkeypatch, tmp_path: Path) -> None:
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    assert not distributed.launched() and distributed.is_main_process()

    def refuse(*args, **kwargs):
        raise AssertionError("a single process must not start a process group")

    monkeypatch.setattr(distributed, "process_group", refuse)
    ds = make_ds(24, 0)
    train_model(ds.subset(np.arange(16)), ds.subset(np.arange(16, 24)), model_name="mlp",
                model_params={"hidden": [4]}, config=TrainConfig(epochs=1, batch_size=8),
                out_dir=tmp_path, evaluate=False)
    assert (tmp_path / "model.json").exists()


def test_batch_smaller_than_the_processes_is_refused(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "0")
    ds = make_ds(24, 0)
    with pytest.raises(ConfigError, match="batch_size 2 is smaller than the 4 processes"):
        train_model(ds.subset(np.arange(16)), ds.subset(np.arange(16, 24)), model_name="mlp",
                    model_params={}, config=TrainConfig(epochs=1, batch_size=2),
                    out_dir=tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same model trained by 2 gloo processes (torchrun) and by one process."""
    work = tmp_path_factory.mktemp("ddp")
    ds = make_ds(90, 1)
    save_encoded(ds, str(work / "data.npz"))
    split = ["train"] * 60 + ["valid"] * 15 + ["test"] * 15
    pd.DataFrame({"id": ds.ids, "split": split}).to_csv(work / "splits.tsv", sep="\t",
                                                        index=False)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           "2", "-m", "seqnn", "train", "data.npz", "splits.tsv", "--spec", json.dumps(SPEC),
           "--device", "cpu", "--threads", "1", "-o"]
    res = subprocess.run([*cmd, "ddp"], cwd=work, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stderr.count("cnn: best epoch") == 1  # rank 0 alone prints the summary
    torch.set_num_threads(1)
    from seqnn.training.job import run_training

    run_training(str(work / "data.npz"), str(work / "splits.tsv"), str(work / "single"), "cnn",
                 SPEC["params"], TrainConfig(**SPEC["train"], device="cpu"), meta={"name": "cnn"})
    return work


def test_two_processes_follow_one_process(runs: Path) -> None:
    ddp, single = runs / "ddp", runs / "single"
    assert sorted(p.name for p in ddp.iterdir()) == sorted(p.name for p in single.iterdir())
    a, b = load_file(ddp / "model.safetensors"), load_file(single / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=ATOL, rtol=0)
    ha, hb = pd.read_csv(ddp / "history.csv"), pd.read_csv(single / "history.csv")
    cols = ["train_loss", "train_mcc", "valid_loss", "valid_mcc"]
    pd.testing.assert_frame_equal(ha[cols], hb[cols], atol=ATOL, rtol=0)
    # it learned, so the weights compared are far from their start
    assert hb["train_loss"].iloc[-1] < hb["train_loss"].iloc[0] - 0.02
    assert hb["train_mcc"].iloc[-1] > 0.3
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (ddp, single))
    assert ma["valid"]["mcc"] == pytest.approx(mb["valid"]["mcc"], abs=ATOL)
    ja, jb = (json.loads((d / "model.json").read_text()) for d in (ddp, single))
    assert ja["best_epoch"] == jb["best_epoch"] and ja.keys() == jb.keys()


def test_the_model_loads_predicts_and_resumes_alone(runs: Path, tmp_path: Path) -> None:
    model = seqnn.load(str(runs / "ddp"), device="cpu")
    out = model.predict(["KKKKACDEFGHIK", "ACDEFGHIKLMNP"])
    assert len(out) == 2
    # the state of a 2-process run resumes in one process (the state does not depend on N)
    shutil.copytree(runs / "ddp", tmp_path / "more")
    from seqnn.training.job import run_training

    cfg = TrainConfig(**{**SPEC["train"], "epochs": 4}, device="cpu")
    run_training(str(runs / "data.npz"), str(runs / "splits.tsv"), str(tmp_path / "more"),
                 "cnn", SPEC["params"], cfg, resume=True)
    history = pd.read_csv(tmp_path / "more" / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    first = pd.read_csv(runs / "ddp" / "history.csv")
    pd.testing.assert_frame_equal(history.iloc[:3], first)
