"""A given split without validation records is completed by the split step; no split may
leave a part empty."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqnn.cli import main
from seqnn.config import ConfigError, dataset_from_dict
from seqnn.split.carve import carve_valid
from seqnn.split.methods import split_given

AA = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


def families(n_fam: int, members: int, length: int = 60, mutations: int = 6) -> pd.DataFrame:
    """``n_fam`` random parents with ``members`` copies each (~90 % identity); family i is
    labelled A (even i) or B (odd i)."""
    rng = np.random.default_rng(0)
    rows = []
    for f in range(n_fam):
        parent = rng.choice(AA, size=length)
        for m in range(members):
            seq = parent.copy()
            seq[rng.choice(length, size=mutations, replace=False)] = rng.choice(AA, mutations)
            rows.append((f"f{f}_m{m}", "".join(seq), "AB"[f % 2], "fam.fa", f"f{f}"))
    return pd.DataFrame(rows, columns=["id", "sequence", "label", "source", "family"])


def _given(n_train: int, n_test: int, task: str = "regression", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    label = rng.normal(size=n) if task == "regression" else np.array(["a", "a", "a", "b"] * n)[:n]
    return pd.DataFrame({"id": [f"s{i}" for i in range(n)],
                         "sequence": ["".join(rng.choice(AA, 30)) for _ in range(n)],
                         "label": label, "source": "x",
                         "split": ["train"] * n_train + ["test"] * n_test})


def test_carve_random_for_regression_is_seeded_and_takes_only_train():
    df = _given(50, 10)
    table, info = carve_valid(df, split_given(df), "regression", 0.2, seed=3)
    assert table["split"].value_counts().to_dict() == {"train": 40, "valid": 10, "test": 10}
    assert (table["split"][50:] == "test").all()
    assert info["how"] == "random" and info["n_valid"] == 10 and info["n_train_before"] == 50
    again, _ = carve_valid(df, split_given(df), "regression", 0.2, seed=3)
    other, _ = carve_valid(df, split_given(df), "regression", 0.2, seed=4)
    assert again.equals(table) and not other.equals(table)


def test_carve_stratified_for_classification_keeps_class_shares():
    df = _given(80, 8, task="binary")  # train: 60 a, 20 b
    table, info = carve_valid(df, split_given(df), "binary", 0.1)
    valid = df.loc[(table["split"] == "valid").to_numpy(), "label"]
    assert valid.value_counts().to_dict() == {"a": 6, "b": 2}
    assert info["how"].startswith("stratified")


def _write(tmp_path: Path, df: pd.DataFrame) -> Path:
    path = tmp_path / "seqs.tsv"
    df.to_csv(path, sep="\t", index=False)
    return path


def test_cli_given_split_without_valid_carves_whole_clusters(tmp_path: Path):
    fam = families(n_fam=10, members=4).drop(columns="family")
    fam["split"] = ["test" if i.startswith(("f8_", "f9_")) else "train" for i in fam["id"]]
    seqs, out, summary = _write(tmp_path, fam), tmp_path / "splits.tsv", tmp_path / "s.json"
    res = CliRunner().invoke(main, ["split", str(seqs), "--method", "given", "--task", "binary",
                                    "--identity", "0.5", "--valid-fraction", "0.25",
                                    "-o", str(out), "--summary", str(summary)])
    assert res.exit_code == 0, res.output
    assert "carved 8 of 32 training sequences as valid (whole MMseqs2 clusters" in res.output
    table = pd.read_csv(out, sep="\t").merge(families(n_fam=10, members=4)[["id", "family"]])
    assert table.groupby("family")["split"].nunique().max() == 1  # families stay whole
    assert table["split"].value_counts().to_dict() == {"train": 24, "valid": 8, "test": 8}
    carved = json.loads(summary.read_text())["valid_carved"]
    assert carved["how"].startswith("whole MMseqs2 clusters") and carved["identity"] == 0.5
    assert carved["clusters"] == 8 and carved["valid_fraction"] == 0.25


def test_cli_given_split_without_identity_carves_at_random_by_default(tmp_path: Path):
    seqs, out, summary = _write(tmp_path, _given(40, 10)), tmp_path / "sp.tsv", tmp_path / "s.json"
    res = CliRunner().invoke(main, ["split", str(seqs), "--spec",
                                    '{"task": "regression", "method": "given"}',
                                    "-o", str(out), "--summary", str(summary)])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out, sep="\t")["split"].value_counts()["valid"] == 4  # default 0.1
    assert json.loads(summary.read_text())["valid_carved"]["how"] == "random"


def test_given_split_with_valid_is_kept(tmp_path: Path):
    df = _given(40, 10)
    df.loc[:4, "split"] = "valid"
    out, summary = tmp_path / "sp.tsv", tmp_path / "s.json"
    res = CliRunner().invoke(main, ["split", str(_write(tmp_path, df)), "--method", "given",
                                    "--valid-fraction", "0.3", "-o", str(out),
                                    "--summary", str(summary)])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out, sep="\t")["split"].tolist() == df["split"].tolist()
    assert "valid_carved" not in json.loads(summary.read_text())


@pytest.mark.parametrize("args, df, empty", [
    (["--method", "given"], _given(20, 0), "test part empty"),
    (["--method", "given"], _given(0, 10), "the given split has no training sequence"),
    (["--method", "random", "--fractions", "0.9,0.1,0"], _given(20, 0), "test part empty"),
    (["--method", "stratified", "--task", "binary", "--fractions", "0.9,0,0.1"],
     _given(40, 0, task="binary"), "valid part empty"),
    (["--method", "cluster", "--task", "regression"],
     families(n_fam=1, members=5).drop(columns="family").assign(label=1.0),
     "valid and test parts empty"),
    (["--method", "given", "--identity", "0.5"],  # train is one family: one cluster
     families(n_fam=2, members=3).assign(split=["train"] * 3 + ["test"] * 3),
     "valid part empty (train 3, valid 0, test 3): carving valid_fraction 0.1 of 3 training "
     "sequences (whole MMseqs2 clusters of the training sequences, 1 cluster(s) at identity "
     "0.5) left it empty"),
])
def test_an_empty_part_fails_in_the_split_step_in_one_line(tmp_path: Path, args: list,
                                                           df: pd.DataFrame, empty: str):
    out = tmp_path / "splits.tsv"
    res = CliRunner().invoke(main, ["split", str(_write(tmp_path, df)), *args, "-o", str(out)])
    assert res.exit_code == 2, res.output
    assert empty in res.output and res.output.strip().count("\n") == 0
    assert "Traceback" not in res.output and not out.exists()


def test_valid_fraction_is_checked_at_the_config_edge():
    spec = {"task": "binary", "inputs": [{"fasta": "x.fa", "label": "a"}]}
    ds = dataset_from_dict("d", {**spec, "split": {"method": "given", "valid_fraction": 0.2}})
    assert ds.split.valid_fraction == 0.2
    with pytest.raises(ConfigError, match="valid_fraction: only for method given"):
        dataset_from_dict("d", {**spec, "split": {"method": "cluster", "valid_fraction": 0.2}})
    with pytest.raises(ConfigError, match=r"valid_fraction: a number in \(0, 1\)"):
        dataset_from_dict("d", {**spec, "split": {"method": "given", "valid_fraction": 1.5}})
