"""The honesty checks: control transforms, per-bin metrics, verdicts on planted cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqnn.checks.baselines import baselines_from_files
from seqnn.checks.bins import length_bins, metric_by_bins
from seqnn.checks.verdict import CheckSettings, run_checks
from seqnn.data.controls import permute_labels, shuffle_residues
from seqnn.data.files import write_table
from seqnn.encode import encode_table
from seqnn.training.job import run_training

AA = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


def test_shuffle_residues_keeps_length_and_composition() -> None:
    ds = encode_table(["a", "b", "c"], ["ACDEFGHIKL", "KKKKE", "W"], ["x", "y", "x"], "binary")
    sh = shuffle_residues(ds, seed=1)
    assert sh.offsets.tolist() == ds.offsets.tolist()
    for i in range(3):
        assert sorted(sh.sequence(i)) == sorted(ds.sequence(i))
    assert sh.sequence(0) != ds.sequence(0)
    assert sh.labels.tolist() == ds.labels.tolist()


def test_permute_labels_keeps_counts_and_sequences() -> None:
    ds = encode_table([str(i) for i in range(20)], ["ACD"] * 20, ["x"] * 5 + ["y"] * 15, "binary")
    perm = permute_labels(ds, seed=0)
    assert np.bincount(perm.labels).tolist() == [5, 15]
    assert perm.labels.tolist() != ds.labels.tolist()
    assert perm.tokens is ds.tokens


def test_length_bins_and_metric_by_bins_known_answer() -> None:
    lengths = pd.Series([10, 20, 30, 40, 50, 60, 70, 80])
    bins = length_bins(lengths)
    assert [b[2] for b in bins] == ["10-27", "28-44", "45-61", "62-80"]
    pred = pd.DataFrame({"true": ["a", "b", "a", "b", "a", "a"],
                         "predicted": ["a", "b", "b", "b", "a", "b"]})
    ident = pd.Series([0.1, 0.2, 0.6, 0.65, 0.9, 0.95])
    bins = [(0, 0.3, "low"), (0.3, 0.7, "mid"), (0.7, 1.01, "high")]
    out = metric_by_bins(pred, ident, bins, "binary", [], "mcc")
    assert out["low"] == {"n": 2, "metric": 1.0, "accuracy": 1.0, "classes": {"a": 1, "b": 1}}
    assert out["mid"] == {"n": 2, "metric": 0.0, "accuracy": 0.5, "classes": {"a": 1, "b": 1}}
    # one true class only: MCC is undefined there (None), accuracy still says something
    assert out["high"] == {"n": 2, "metric": None, "accuracy": 0.5, "classes": {"a": 2}}


def _composition_dataset(folder: Path, n: int = 240) -> tuple[str, str, str]:
    """Labels decided by composition alone (K-rich vs E-rich), residue order random."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        w = np.ones(20)
        w[8 if label == "pos" else 3] = 4.0  # K (index 8) or E (index 3)
        seq = "".join(rng.choice(AA, size=int(rng.integers(20, 40)), p=w / w.sum()))
        rows.append((f"s{i}", seq, label))
    seqs = pd.DataFrame(rows, columns=["id", "sequence", "label"]).assign(source="x")
    k = np.arange(n) % 10
    split = np.where(k < 6, "train", np.where(k < 8, "valid", "test"))
    splits = pd.DataFrame({"id": seqs["id"], "split": split, "cluster": seqs["id"]})
    write_table(seqs, folder / "sequences.tsv")
    write_table(splits, folder / "splits.tsv")
    ds = encode_table(seqs["id"], seqs["sequence"], seqs["label"], "binary")
    from seqnn.encode import save_encoded

    save_encoded(ds, str(folder / "encoded.npz"))
    return str(folder / "encoded.npz"), str(folder / "splits.tsv"), str(folder / "sequences.tsv")


@pytest.fixture(scope="module")
def composition_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("comp")
    data, splits, seqs = _composition_dataset(d)
    params = {"channels": [8], "kernel_size": 3, "head_hidden": 0}
    train = {"epochs": 8, "batch_size": 32, "lr": 0.01, "threads": 1, "quiet": True}
    run_training(data, splits, str(d / "models" / "cnn"), "cnn", params, train)
    for control in ("permutation", "shuffle"):
        run_training(data, splits, str(d / "controls" / "cnn" / control), "cnn", params, train,
                     control=control)
    baselines_from_files(seqs, splits, "binary", 0, str(d / "baselines.json"))
    return d


def test_composition_dataset_gets_shortcut_warning(composition_run: Path) -> None:
    result = run_checks(composition_run, ["cnn"], CheckSettings(bootstrap=100))
    entry = result["models"]["cnn"]
    assert entry["best_shortcut"]["name"] == "aa_composition"
    assert entry["best_shortcut"]["test_metric"] > 0.6
    assert entry["status"] == "warning"
    assert any(w.startswith("SHORTCUT: does not beat amino-acid composition") for w in
               entry["warnings"])
    assert "leakage not audited" in entry["verdict"]
    lo, hi = entry["ci"]
    assert lo <= entry["test_metric"] <= hi


def test_permutation_control_falls_to_chance(composition_run: Path) -> None:
    perm = json.loads((composition_run / "controls/cnn/permutation/metrics.json").read_text())
    real = json.loads((composition_run / "models/cnn/metrics.json").read_text())
    band = 2 / np.sqrt(perm["test"]["n"])  # 48 test sequences: 0.289
    assert abs(perm["test"]["mcc"]) <= band
    assert real["test"]["mcc"] > 0.5
    entry = run_checks(composition_run, ["cnn"], CheckSettings(bootstrap=10))["models"]["cnn"]
    assert entry["controls"]["permutation"]["chance"] is True
    assert entry["controls"]["permutation"]["chance_band"] == pytest.approx(band)
    assert entry["controls"]["permutation"]["chance_band"] == pytest.approx(band)
    # order carries no signal here: the shuffle control scores about as well as the model
    assert abs(entry["controls"]["shuffle"]["delta"]) < 0.2


def test_repeated_control_of_an_ensemble_shares_no_member_seed(tmp_path: Path) -> None:
    data, splits, _ = _composition_dataset(tmp_path)
    train = {"epochs": 1, "batch_size": 32, "threads": 1, "quiet": True, "ensemble": 2,
             "seed": 5}
    seeds = []
    for run in (1, 2):
        out = tmp_path / f"perm{run}"
        run_training(data, splits, str(out), "mlp", {"hidden": [4]}, train,
                     control="permutation", control_run=run)
        seeds.append(json.loads((out / "model.json").read_text())["ensemble_seeds"])
    assert seeds == [[5, 6], [7, 8]]
