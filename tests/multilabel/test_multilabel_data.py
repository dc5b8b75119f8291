"""Multi-label data: label sets parsed, counted by ingest and inspect, split and encoded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from ml_fixture import multilabel_table

from seqnn.cli.main import main
from seqnn.config import dataset_from_dict
from seqnn.data.encoding import encode_table, load_encoded, save_encoded
from seqnn.data.ingest import load_dataset
from seqnn.data.labelsets import canonical_label_sets, join_label_sets, multi_hot
from seqnn.errors import ConfigError, SeqnnInputError
from seqnn.metrics import choose_thresholds, multilabel_metrics, primary_metric
from seqnn.split.methods import split_stratified, split_summary


def _spec(path: Path, **extra) -> dict:
    return {"task": "multilabel", "label_separator": "|",
            "inputs": [{"table": str(path), "split_column": "split"}], **extra}


def test_label_sets_are_canonical_and_bad_ones_named() -> None:
    assert canonical_label_sets([" B| A||B", "C"], ["x", "y"], "|", "f") == ["A;B", "C"]
    with pytest.raises(SeqnnInputError, match="x.*no label"):
        canonical_label_sets([" | "], ["x"], "|", "f")
    with pytest.raises(SeqnnInputError, match="contains ';'"):
        canonical_label_sets(["a;b|c"], ["x"], "|", "f")
    hot = multi_hot(["A;B", "B"], ["A", "B"])
    assert hot.tolist() == [[1, 1], [0, 1]]
    assert join_label_sets(hot, ["A", "B"], "+") == ["A+B", "B"]


def test_ingest_counts_label_sets(ml_table: Path) -> None:
    df, report = load_dataset(dataset_from_dict("ml", _spec(ml_table)))
    truth = multilabel_table()
    assert set(df["label"]) == {"long", "motif", "plain", "long;motif"}
    counts = report.as_dict()["label_sets"]
    assert counts["n"] == len(truth)
    assert counts["labels"]["motif"] == int(truth["label"].str.contains("motif").sum())
    assert counts["labels_per_protein"]["2"] == int((truth["label"] == "motif|long").sum())
    assert counts["distinct_label_sets"] == 4


def test_config_refuses_an_empty_separator(ml_table: Path) -> None:
    with pytest.raises(ConfigError, match="label_separator"):
        dataset_from_dict("ml", _spec(ml_table, label_separator=" "))


def test_inspect_counts_labels_per_protein(ml_fasta: Path) -> None:
    out = CliRunner().invoke(main, ["inspect", str(ml_fasta), "--header-field", "LOC",
                                    "--label-separator", ";", "--json"])
    assert out.exit_code == 0, out.output
    sets = json.loads(out.output)["label_sets"]
    table = multilabel_table(60, seed=1, sep=";")
    assert sets["n"] == 60
    assert sets["labels"]["long"] == int(table["label"].str.contains("long").sum())
    assert sum(sets["labels_per_protein"].values()) == 60


def test_stratified_split_balances_every_label(ml_table: Path) -> None:
    df, _ = load_dataset(dataset_from_dict("ml", _spec(ml_table)))
    table = split_stratified(df.drop(columns="split"), "multilabel", (0.6, 0.2, 0.2), seed=1)
    summary = split_summary(df.drop(columns="split"), table, "multilabel")
    for name in ("long", "motif", "plain"):
        share = [summary["splits"][s]["label_fractions"][name] for s in ("train", "test")]
        assert abs(share[0] - share[1]) < 0.1


def test_encoded_labels_are_multi_hot_and_keep_the_separator(tmp_path: Path,
                                                             ml_table: Path) -> None:
    df, _ = load_dataset(dataset_from_dict("ml", _spec(ml_table)))
    ds = encode_table(df["id"], df["sequence"], df["label"], "multilabel", label_separator="|")
    assert ds.class_names == ["long", "motif", "plain"]
    assert ds.labels.shape == (len(df), 3) and set(np.unique(ds.labels)) == {0.0, 1.0}
    save_encoded(ds, str(tmp_path / "e.npz"))
    back = load_encoded(str(tmp_path / "e.npz"))
    assert back.label_separator == "|" and (back.subset([0, 1]).labels == ds.labels[:2]).all()


def test_multilabel_metrics_and_thresholds() -> None:
    y = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    p = np.array([[0.9, 0.2], [0.6, 0.4], [0.1, 0.45], [0.2, 0.1]])
    m = multilabel_metrics(y, p, 0.5, ["a", "b"])
    assert m["per_label"]["a"]["f1"] == 1.0 and m["per_label"]["b"]["predicted"] == 0
    assert m["subset_accuracy"] == 0.5 and m["micro_f1"] == pytest.approx(2 * 2 / (4 + 2))
    cuts = choose_thresholds(y, p)
    assert 0.1 < cuts[1] <= 0.4  # b's positives (0.4, 0.45) above it, its negatives below
    assert multilabel_metrics(y, p, cuts)["macro_mcc"] == 1.0
    assert primary_metric("multilabel") == "macro_mcc"


def test_a_label_absent_from_test_is_a_caution() -> None:
    from seqnn.checks.levels import CheckSettings, data_reasons

    stats = {"classes": {"train": {"a;b": 3, "c": 1}, "valid": {"a;b": 1, "c": 1},
                         "test": {"a": 2}}}
    reasons = data_reasons(stats, "multilabel", CheckSettings())
    assert [r["short"] for r in reasons] == ["class b, c absent from test"]


def test_a_given_split_without_valid_is_carved_per_label(ml_table: Path) -> None:
    from seqnn.split.carve import carve_valid

    df, _ = load_dataset(dataset_from_dict("ml", _spec(ml_table)))
    df = df.assign(split=df["split"].replace("valid", "train"))
    table = df[["id", "split"]].assign(cluster=df["id"])
    out, record = carve_valid(df, table, "multilabel", 0.2, seed=0)
    assert "each label" in record["how"]
    valid = df[df["id"].isin(out["id"][out["split"] == "valid"])]
    assert abs(len(valid) - 0.2 * (df["split"] == "train").sum()) < 5
    assert valid["label"].str.contains("motif").mean() == pytest.approx(
        df["label"][df["split"] == "train"].str.contains("motif").mean(), abs=0.1)
