"""A small CNN learns both labels of the multi-label fixture (a motif and a length), beats
the composition baseline on each, keeps its thresholds in model.json, and predicts label
sets."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from ml_fixture import multilabel_table

from seqnn.checks.baselines import run_baselines
from seqnn.checks.levels import CheckSettings
from seqnn.checks.verdict import check_model
from seqnn.cli.main import main
from seqnn.config import TrainConfig
from seqnn.data.controls import permute_labels
from seqnn.data.encoding import encode_table
from seqnn.data.labelsets import canonical_label_sets
from seqnn.report.multilabel import labels_section
from seqnn.report.results import Results
from seqnn.training.run import train_model

PARAMS = {"channels": [16], "kernel_size": 9, "pool": "meanmax", "head_hidden": 16,
          "dropout": 0.0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("ml")
    df = multilabel_table(200)
    df["label"] = canonical_label_sets(df["label"], df["id"].tolist(), "|", "fixture")
    ds = encode_table(df["id"], df["sequence"], df["label"], "multilabel", label_separator="|")
    part = {s: ds.subset((df["split"] == s).to_numpy()) for s in ("train", "valid", "test")}
    config = TrainConfig(epochs=12, batch_size=16, lr=1e-2, patience=50, quiet=True, seed=0,
                         threads=1)
    summary = train_model(part["train"], part["valid"], model_name="cnn", model_params=PARAMS,
                          config=config, out_dir=out / "model", test=part["test"])
    df.to_csv(out / "sequences.tsv", sep="\t", index=False)
    df[["id", "split"]].assign(cluster=df["id"]).to_csv(out / "splits.tsv", sep="\t",
                                                         index=False)
    return {"dir": out, "metrics": summary["metrics"], "df": df}


def test_cnn_learns_the_motif_and_the_length_label(trained: dict) -> None:
    per = trained["metrics"]["test"]["per_label"]
    df = trained["df"]
    base = run_baselines(df, df[["id", "split"]], "multilabel", baselines=("aa_composition",))
    comp = base["aa_composition"]["test"]["per_label"]
    for label in ("motif", "long"):
        assert per[label]["f1"] >= 0.85, per
        assert per[label]["f1"] >= comp[label]["f1"] + 0.2, (per, comp)
    assert base["aa_composition"]["test"]["macro_mcc"] < 0.3  # composition cannot tell


def test_thresholds_are_chosen_and_stored(trained: dict) -> None:
    meta = json.loads((trained["dir"] / "model" / "model.json").read_text())
    assert meta["task"] == "multilabel" and meta["n_outputs"] == 3
    assert list(meta["thresholds"]) == ["long", "motif", "plain"]
    assert all(0 < t < 1 for t in meta["thresholds"].values())
    assert meta["label_separator"] == "|"
    metrics = json.loads((trained["dir"] / "model" / "metrics.json").read_text())
    assert metrics["thresholds"] == meta["thresholds"]


def test_predict_writes_probabilities_and_the_label_set(trained: dict, tmp_path: Path) -> None:
    df = trained["df"]
    test = df[df["split"] == "test"]
    fasta = tmp_path / "q.fasta"
    fasta.write_text("".join(f">{r.id}\n{r.sequence}\n" for r in test.itertuples()))
    out = tmp_path / "pred.tsv"
    res = CliRunner().invoke(main, ["predict", str(trained["dir"] / "model"), str(fasta),
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output
    pred = pd.read_csv(out, sep="\t", keep_default_na=False)
    assert list(pred.columns[:7]) == ["id", "length", "truncated", "predicted", "p_long",
                                      "p_motif", "p_plain"]
    cuts = json.loads((trained["dir"] / "model" / "model.json").read_text())["thresholds"]
    row = pred.iloc[0]
    expect = "|".join(c for c in ("long", "motif", "plain") if row[f"p_{c}"] >= cuts[c])
    assert row["predicted"] == expect
    truth = test["label"].str.replace(";", "|").tolist()
    assert (pred["predicted"] == truth).mean() > 0.7


def test_checks_judge_the_model_on_the_mean_label_mcc(trained: dict) -> None:
    df = trained["df"]
    base = run_baselines(df, df[["id", "split"]], "multilabel",
                         baselines=("majority", "aa_composition"))
    entry = check_model(trained["dir"] / "model", None, base, None, None,
                        df.set_index("id")["sequence"].str.len(), CheckSettings(bootstrap=100))
    assert entry["metric"] == "macro_mcc"
    assert entry["test_metric"] == trained["metrics"]["test"]["macro_mcc"]
    lo, hi = entry["ci"]
    assert lo <= entry["test_metric"] <= hi
    assert entry["delta_vs_best_shortcut"] > 0.3
    assert "by_length_bin" in entry and "COLLAPSED" not in str(entry["reasons"])


def test_report_lists_every_label_and_the_ones_never_predicted(trained: dict) -> None:
    model = trained["dir"] / "model"
    results = Results(trained["dir"], {}, {}, {}, {}, {}, None, models={"cnn": {
        "info": json.loads((model / "model.json").read_text()),
        "metrics": json.loads((model / "metrics.json").read_text())}})
    html = labels_section(results)
    assert all(f"<td>{label}</td>" in html for label in ("long", "motif", "plain"))
    results.models["cnn"]["metrics"]["test"]["per_label"]["plain"]["predicted"] = 0
    assert "Never predicted on test:</b> plain" in labels_section(results)


def test_permutation_keeps_whole_label_sets(trained: dict) -> None:
    df = trained["df"]
    ds = encode_table(df["id"], df["sequence"], df["label"], "multilabel")
    shuffled = permute_labels(ds, seed=3)
    assert (shuffled.labels.sum(axis=0) == ds.labels.sum(axis=0)).all()
    assert sorted(map(tuple, shuffled.labels.tolist())) == sorted(map(tuple, ds.labels.tolist()))
    assert (shuffled.labels != ds.labels).any()


def test_a_record_without_labels_is_one_line_exit_2(tmp_path: Path) -> None:
    table = tmp_path / "t.tsv"
    table.write_text("id\tsequence\tlabel\na\tMKV\tA;B\nb\tMKW\t ; \n")
    spec = json.dumps({"task": "multilabel", "inputs": [{"table": str(table)}]})
    out = tmp_path / "s.tsv"
    res = CliRunner().invoke(main, ["ingest", "--spec", spec, "-o", str(out)])
    assert res.exit_code == 2 and "no label in the label set" in res.output
    assert "record 'b'" in res.output
    assert not out.exists()
