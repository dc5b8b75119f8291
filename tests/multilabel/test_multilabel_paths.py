"""The other training paths of a multi-label task: a sequences table given to
``run_training`` (with a control), an ensemble, and the autoencoder's linear probe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from ml_fixture import multilabel_table

from seqnn.config import TrainConfig
from seqnn.data.labelsets import canonical_label_sets
from seqnn.training.job import run_training

MLP = {"hidden": [8]}


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    torch.set_num_threads(1)
    df = multilabel_table(60, seed=2)
    df["label"] = canonical_label_sets(df["label"], df["id"].tolist(), "|", "fixture")
    df[["id", "sequence", "label"]].to_csv(tmp_path / "seqs.tsv", sep="\t", index=False)
    df[["id", "split"]].to_csv(tmp_path / "splits.tsv", sep="\t", index=False)
    return str(tmp_path / "seqs.tsv"), str(tmp_path / "splits.tsv")


def test_table_ensemble_and_control(files: tuple[str, str], tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, batch_size=16, quiet=True, threads=1, ensemble=2,
                         class_weights="balanced")
    summary = run_training(*files, str(tmp_path / "ens"), "mlp", MLP, config,
                           task="multilabel")
    meta = json.loads((tmp_path / "ens" / "model.json").read_text())
    assert meta["ensemble"] == 2 and list(meta["thresholds"]) == ["long", "motif", "plain"]
    assert summary["metrics"]["test"]["n"] == 9
    control = run_training(*files, str(tmp_path / "perm"), "mlp", MLP,
                           TrainConfig(epochs=1, batch_size=16, quiet=True, threads=1),
                           task="multilabel", control="permutation")
    assert "macro_mcc" in control["metrics"]["test"]


def test_autoencoder_probe_scores_label_sets(files: tuple[str, str], tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, batch_size=16, quiet=True, threads=1)
    run_training(*files, str(tmp_path / "ae"), "autoencoder", {"latent_dim": 4}, config,
                 task="multilabel")
    probe = json.loads((tmp_path / "ae" / "probe.json").read_text())
    assert probe["metric"] == "macro_mcc" and probe["test"] is not None
