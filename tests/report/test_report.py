"""The HTML report and the plots, built from small hand-made result folders (no torch)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqnn.report import data_plots, figures, plots
from seqnn.report.page import build_index, build_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VERDICT_OK = "cnn beats aa_composition by +0.21 MCC; no leakage above 0.3 identity."
VERDICT_WARN = "rnn does not beat the dipeptide shortcut (+0.01 MCC, margin 0.05)."
LEAK_TEXT = "12 test sequences share more than 30% identity with training sequences"
NASTY = "<script>alert('x')</script>"
NA = "not available"


def _dump(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(obj, pd.DataFrame):
        obj.to_csv(path, sep="," if path.suffix == ".csv" else "\t", index=False)
    else:
        path.write_text(json.dumps(obj, indent=1))


def _history(epochs: int, metric: str) -> pd.DataFrame:
    e = np.arange(1, epochs + 1)
    return pd.DataFrame({
        "epoch": e, "train_loss": 1 / e, f"train_{metric}": 1 - 1 / (e + 1),
        "valid_loss": 0.5 + (e - 4) ** 2 / 40, f"valid_{metric}": 0.6 - (e - 4) ** 2 / 100,
        "lr": 1e-3, "seconds": 1.5, "samples_per_sec": 800.0})


def _check(name: str, status: str, verdict: str, metric: float) -> dict:
    return {
        "verdict": verdict, "status": status,
        "warnings": [] if status == "ok" else [f"{name}: Δ below margin", NASTY],
        "test_metric": metric, "ci": [metric - 0.1, metric + 0.1],
        "best_shortcut": {"name": "aa_composition", "label": "amino-acid composition",
                          "test_metric": 0.4},
        "delta_vs_best_shortcut": metric - 0.4,
        "gap": {"train": 0.95, "valid": 0.7, "test": metric, "train_test_gap": 0.95 - metric},
        "best_epoch": 4,
        "controls": {"permutation": {"test_metric": 0.02, "chance": status == "ok"},
                     "shuffle": {"test_metric": 0.3, "delta": metric - 0.3}},
        "by_identity_bin": {"<0.3": {"n": 6, "metric": metric - 0.1},
                            "0.3-0.5": {"n": 3, "metric": metric},
                            ">=0.7": {"n": 1, "metric": None}},
        "by_length_bin": {"<50": {"n": 4, "metric": metric}, ">=50": {"n": 6, "metric": 0.5}},
        "conformal_coverage": {"0.9": {"all": {"n": 400, "coverage": 0.9},
                                       "<0.3": {"n": 100, "coverage": 0.7}}},
    }


def make_dataset(root: Path, task: str = "binary", n: int = 60, layout: str = "workflow") -> Path:
    """A realistic result folder: sequences, split, audit, three models, baselines, checks.

    ``layout="workflow"`` writes split_summary/audit/baselines as seqnn.split and
    seqnn.checks.baselines do; ``layout="brief"`` the flatter shapes of the original contract."""
    rng = np.random.default_rng(0)
    ids = [f"P{i:03d}" for i in range(n)]
    seqs = ["".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), rng.integers(30, 120)))
            for _ in ids]
    labels = (rng.normal(size=n).round(3) if task == "regression"
              else np.where(np.arange(n) % 3 == 0, "pos", "neg"))
    split = np.array(["train"] * (n - 20) + ["valid"] * 10 + ["test"] * 10)
    _dump(root / "sequences.tsv", pd.DataFrame(
        {"id": ids, "sequence": seqs, "label": labels,
         "source": np.where(np.arange(n) % 2, "a.fasta", "b.fasta.gz")}))
    _dump(root / "splits.tsv", pd.DataFrame({"id": ids, "split": split, "cluster": ids}))
    _dump(root / "ingest.json", {
        "records_per_source": {"a.fasta": n // 2, "b.fasta.gz": n // 2},
        "substitution_summary": "3 U->C, 1 B->X", "duplicate_sequence_groups": 2,
        "duplicate_rows_dropped": 2, "conflicting_label_groups": 1})
    held = [i for i in ids if int(i[1:]) >= n - 20]
    _dump(root / "nearest_train.tsv", pd.DataFrame(
        {"id": held, "split": split[n - 20:], "nearest_train_id": "P000",
         "identity": rng.uniform(0.1, 0.9, len(held)).round(3)}))
    _dump(root / "split_summary.json", _split_summary(layout, n))
    _dump(root / "audit.json", _audit(layout))
    metric = "spearman" if task == "regression" else "mcc"
    for name in ("cnn", "rnn"):
        _model(root / "models" / name, name, task, ids, split, labels, rng, metric)
    _autoencoder(root / "models" / "autoencoder", ids, split, rng)
    _dump(root / "baselines.json", {
        b: {**{s: v if layout == "brief" else {metric: v, "n": 10}
               for s, v in (("train", 0.5), ("valid", 0.42), ("test", 0.4))},
            "params": {"C": 1.0}} for b in ("majority", "length", "aa_composition")})
    ae = {"model": "autoencoder", "task": "unsupervised", "status": "ok", "warnings": [],
          "verdict": "autoencoder: test reconstruction accuracy 0.800 (train 0.800)",
          "reconstruction_accuracy": {"train": 0.8, "valid": 0.8, "test": 0.8},
          "probe": {"metric": metric, "test": 0.33}, "best_epoch": 6}
    checked = {"cnn": _check("cnn", "ok", VERDICT_OK, 0.61),
               "rnn": _check("rnn", "warning", VERDICT_WARN, 0.41)}
    for entry in checked.values():
        entry.update(task=task, metric=metric)
    _dump(root / "checks.json", {  # the autoencoder first: task/metric come from the others
        "task": "unsupervised", "metric": None, "margin": 0.05,
        "models": {"autoencoder": ae, **checked},
        "leakage": {"leak": True}, "warnings": ["split leaks: see the audit",
                                                "NOTE: 2 groups of identical sequences"]})
    return root


def _split_summary(layout: str, n: int) -> dict:
    if layout == "brief":
        return {"method": "cluster", "identity": 0.3,
                "sizes": {"train": n - 20, "valid": 10, "test": 10},
                "class_balance": {s: {"neg": 7, "pos": 3} for s in ("valid", "test")}}
    return {"method": "cluster", "identity": 0.3, "coverage": 0.8, "fractions": [0.8, 0.1, 0.1],
            "seed": 0, "n": n, "splits": {
                s: {"n": k, "fraction": k / n, "clusters": k - 1,
                    "classes": {"neg": k - k // 3, "pos": k // 3}}
                for s, k in (("train", n - 20), ("valid", 10), ("test", 10))}}


def _audit(layout: str) -> dict:
    edges = [round(0.1 * i, 1) for i in range(11)]
    out = {"identity_threshold": 0.3, "leak": True, "warnings": [LEAK_TEXT],
           "fraction_above_threshold": {"valid": 0.6, "test": 0.7},
           "identity_bins": {"test": {"<0.3": 3, "0.3-0.5": 4, "0.5-0.7": 2, ">=0.7": 1}},
           "histogram": {"bins" if layout == "brief" else "edges": edges,
                         "valid": [0, 2, 2, 1, 1, 1, 1, 1, 1, 0],
                         "test": [0, 1, 2, 2, 1, 1, 1, 1, 1, 0]}}
    if layout == "brief":
        return {**out, "duplicates": {"exact_across_splits": 1, "conflicting_labels": 0}}
    return {**out, "n": {"train": 40, "valid": 10, "test": 10},
            "n_above_threshold": {"valid": 6, "test": 7},
            "background_fraction_above_threshold": {"valid": 0.0, "test": 0.1},
            "mmseqs": {"binary": "mmseqs", "version": "15.6f452"},
            "duplicates": {"n_within_split": 0, "n_across_splits": 1, "n_conflicting_labels": 0,
                           "within_split": [], "across_splits": [{"ids": ["P001", "P059"],
                                                                   "splits": ["train", "test"]}],
                           "conflicting_labels": [], "heldout_with_train_copy": ["P059"]}}


def _model(mdir: Path, name: str, task: str, ids: list, split: np.ndarray, labels: np.ndarray,
           rng: np.random.Generator, metric: str) -> None:
    classes = [] if task == "regression" else ["neg", "pos"]
    _dump(mdir / "model.json", {"model": name, "params": {"channels": 64, "kernel_size": 9},
                                "task": task, "class_names": classes, "best_epoch": 4,
                                "max_len": 100, "truncate": "ends",
                                **({} if task == "regression" else {"temperature": 1.5})})
    _dump(mdir / "history.csv", _history(8, metric))
    keys = (("spearman", "pearson", "r2", "rmse") if task == "regression"
            else ("accuracy", "balanced_accuracy", "macro_f1", "mcc", "roc_auc"))
    _dump(mdir / "metrics.json", {s: {**{k: float(rng.uniform(0.3, 0.9)) for k in keys},
                                      "n": int((split == s).sum())}
                                  for s in ("train", "valid", "test")})
    if task == "regression":
        pred = {"true": labels, "predicted": labels + rng.normal(0, 0.5, len(labels))}
    else:
        p = np.clip((labels == "pos") * 0.3 + rng.uniform(0, 0.7, len(labels)), 0, 1)
        pred = {"true": labels, "predicted": np.where(p > 0.5, "pos", "neg"),
                "p_neg": 1 - p, "p_pos": p}
    _dump(mdir / "predictions.tsv", pd.DataFrame({"id": ids, "split": split, **pred}))


def _autoencoder(mdir: Path, ids: list, split: np.ndarray, rng: np.random.Generator) -> None:
    _dump(mdir / "model.json", {"model": "autoencoder", "params": {"latent": 32},
                                "task": "unsupervised", "class_names": [], "best_epoch": 6})
    _dump(mdir / "history.csv", _history(8, "reconstruction_accuracy"))
    _dump(mdir / "metrics.json", {s: {"reconstruction_accuracy": 0.8, "loss": 0.7}
                                  for s in ("train", "valid", "test")})
    _dump(mdir / "predictions.tsv", pd.DataFrame(
        {"id": ids, "split": split, "reconstruction_accuracy": rng.uniform(0.5, 1, len(ids))}))


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "results" / "amp_cluster")


def _build(ds: Path, tmp_path: Path) -> str:
    out = tmp_path / "out" / "report.html"
    build_report(ds, out)
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # one file, no temp left
    return out.read_text()


def _assert_self_contained(text: str) -> None:
    assert "<script" not in text.lower()
    assert "http://" not in text and "https://" not in text
    assert all(src.startswith("data:image/png;base64,") for src in re.findall(
        r'src="([^"]*)"', text))
    assert "<link" not in text


def test_report_binary_has_verdicts_plots_and_leak_warning(binary: Path, tmp_path: Path):
    text = _build(binary, tmp_path)
    _assert_self_contained(text)
    for name in ("cnn", "rnn", "autoencoder", "aa_composition"):
        assert f">{name}" in text or f"shortcut: {name}" in text
    assert VERDICT_OK.replace("'", "&#x27;") in text and VERDICT_WARN in text
    assert LEAK_TEXT in text and "LEAKAGE: 70.0% of test sequences" in text
    assert 'class="banner alarm"' in text and 'class="banner note"' in text
    assert "vs amino-acid composition" in text and "linear probe mcc 0.330" in text
    assert text.index(">cnn <") < text.index(">autoencoder <")  # checked models first
    assert 'class="verdict ok"' in text and 'class="verdict warn"' in text
    assert "&lt;script&gt;" in text  # a nasty warning is escaped, not executed
    assert "NOT at chance" in text and "3 U-&gt;C, 1 B-&gt;X" in text
    # summary chart; dataset: length, composition, identity; cnn/rnn: curves, confusion, ROC,
    # reliability, bins; ae: 2
    assert text.count("data:image/png;base64,") == 1 + 3 + 2 * 5 + 2
    assert text.count("Calibration on test: temperature 1.500 (fitted on valid") == 2
    assert "<th>90% nominal</th>" in text and "<td>0.900 (n=400)</td>" in text
    assert '<span class="bad">0.700 (n=100)</span>' in text  # under 3 standard errors
    assert NA not in text.split('id="models"')[1].split('id="baselines"')[0]
    _assert_split_and_baselines(text, "workflow")


def _assert_split_and_baselines(text: str, layout: str) -> None:
    split = text.split('id="split"')[1].split('id="models"')[0]
    assert "<td>test</td><td>10</td>" in split and "3 (30.0%)" in split
    assert 'alt="identity histogram"' in split and "70.0%" in split
    baselines = text.split('id="baselines"')[1]
    assert "<td>aa_composition</td><td>0.500</td><td>0.420</td><td>0.400</td>" in baselines
    if layout == "workflow":
        assert "MMseqs2 15.6f452" in split and "heldout with train copy" in split
        assert "1 (e.g. P059)" in split and "10.0%" in split  # shuffled-copy background
        assert "<td>clusters</td>" not in split and "<th>clusters</th>" in split


def test_split_audit_and_baselines_in_the_brief_layout(tmp_path: Path):
    ds = make_dataset(tmp_path / "results" / "ds", layout="brief")
    for path in ds.glob("models/*/*"):
        if path.name in ("history.csv", "predictions.tsv"):
            path.unlink()  # fewer plots: this test is about sections 3 and 5
    _assert_split_and_baselines(_build(ds, tmp_path), "brief")


def test_report_regression_uses_scatter_and_regression_metrics(tmp_path: Path):
    ds = make_dataset(tmp_path / "results" / "stability", task="regression")
    text = _build(ds, tmp_path)
    _assert_self_contained(text)
    assert "Spearman" in text and "RMSE" in text and "MCC" not in text.split("How to read")[0]
    assert 'alt="cnn predicted vs true"' in text and 'alt="target distribution"' in text
    assert "confusion" not in text


def test_missing_files_read_not_available(binary: Path, tmp_path: Path):
    for rel in ("audit.json", "nearest_train.tsv", "baselines.json", "ingest.json",
                "split_summary.json", "splits.tsv", "models/cnn/history.csv",
                "models/cnn/predictions.tsv", "models/rnn/metrics.json"):
        (binary / rel).unlink()
    pred = binary / "models" / "rnn" / "predictions.tsv"
    pd.read_csv(pred, sep="\t").drop(columns=["p_neg", "p_pos"]).to_csv(pred, sep="\t",
                                                                          index=False)
    text = _build(binary, tmp_path)
    _assert_self_contained(text)
    for what in ("Learning curves (history.csv)", "Predictions (predictions.tsv)",
                 "Metrics (metrics.json)", "Baselines", "Split sizes", "Fraction above threshold",
                 "rnn ROC and PR: not available (no probability column(s) p_neg, p_pos)"):
        assert f"{what}: {NA}" in text or what in text, what
    assert VERDICT_OK in text.replace("&#x27;", "'")


def test_empty_folder_and_broken_json_do_not_crash(tmp_path: Path):
    empty = tmp_path / "results" / "empty"
    empty.mkdir(parents=True)
    (empty / "checks.json").write_text("{not json")
    text = _build(empty, tmp_path)
    _assert_self_contained(text)
    for what in ("Records per source", "Sequences (sequences.tsv)", "Models", "Baselines"):
        assert f"{what}: {NA}" in text, what
    assert "Leakage audit: not available" in text


def test_unexpected_shapes_degrade_per_section(binary: Path, tmp_path: Path):
    (binary / "checks.json").write_text(json.dumps({"models": ["cnn"], "metric": "mcc"}))
    (binary / "split_summary.json").write_text(json.dumps({"sizes": [1, 2]}))
    audit = json.loads((binary / "audit.json").read_text())
    (binary / "audit.json").write_text(json.dumps({**audit, "fraction_above_threshold": 0.5}))
    for path in binary.glob("models/*/*"):
        if path.name in ("history.csv", "predictions.tsv"):
            path.unlink()  # fewer plots: this test is about unexpected JSON shapes
    ingest = json.loads((binary / "ingest.json").read_text())
    (binary / "ingest.json").write_text(json.dumps({**ingest, "records_per_source": [1, 2]}))
    text = _build(binary, tmp_path)
    _assert_self_contained(text)
    assert "2. Dataset: not available (AttributeError" in text
    assert "Split sizes: not available" in text and "Fraction above threshold: not av" in text
    assert 'id="model-cnn"' in text and 'id="howto"' in text  # the rest still renders


def test_index_puts_datasets_side_by_side(tmp_path: Path):
    results = tmp_path / "results"
    make_dataset(results / "published")
    leaky = make_dataset(results / "cluster")
    audit = json.loads((leaky / "audit.json").read_text())
    audit.update(leak=False, warnings=[], fraction_above_threshold={"test": 0.0})
    (leaky / "audit.json").write_text(json.dumps(audit))
    out = results / "index.html"
    build_index(results, ["published", "cluster"], out)
    text = out.read_text()
    _assert_self_contained(text)
    assert 'href="./published/report.html"' in text and 'href="./cluster/report.html"' in text
    assert "70.0%" in text and "0.0%" in text and text.count("LEAK<") == 1
    assert "cnn: test metric" in text and "mcc 0.610" in text and "aa_composition 0.400" in text


def _plot_calls(ds: Path) -> list:
    m = ds / "models" / "cnn"
    entry = json.loads((ds / "checks.json").read_text())["models"]["cnn"]
    return [
        (plots.plot_learning_curves, (m / "history.csv",)),
        (plots.plot_confusion, (m / "predictions.tsv", ["neg", "pos"])),
        (plots.plot_roc_pr, (m / "predictions.tsv", ["neg", "pos"])),
        (data_plots.plot_identity_histogram, (ds / "audit.json", 0.3)),
        (data_plots.plot_identity_histogram, (ds / "nearest_train.tsv", 0.3)),
        (data_plots.plot_metric_by_bin, (entry,)),
        (data_plots.plot_length_hist, (ds / "sequences.tsv",)),
        (data_plots.plot_composition, (ds / "sequences.tsv",)),
        (plots.plot_reconstruction, (ds / "models" / "autoencoder" / "predictions.tsv",)),
    ]


def test_every_plot_writes_a_png(binary: Path, tmp_path: Path):
    for k, (fn, args) in enumerate(_plot_calls(binary)):
        out = tmp_path / "png" / f"{k}_{fn.__name__}.png"
        fn(*args, out)
        assert out.read_bytes()[:8] == PNG_MAGIC, fn.__name__
    reg = make_dataset(tmp_path / "reg", task="regression")
    for fn, args in ((plots.plot_scatter, (reg / "models" / "cnn" / "predictions.tsv",)),
                     (data_plots.plot_target_hist, (reg / "sequences.tsv", )),
                     (data_plots.plot_length_hist, (reg / "sequences.tsv",))):
        out = tmp_path / "png" / f"reg_{fn.__name__}.png"
        fn(*args, out)
        assert out.read_bytes()[:8] == PNG_MAGIC, fn.__name__
    assert not list((tmp_path / "png").glob(".*"))  # no temporary files left behind


def test_multiclass_plots(tmp_path: Path):
    rng = np.random.default_rng(1)
    classes = [f"loc{k}" for k in range(7)]
    true = rng.choice(classes, 80)
    prob = rng.dirichlet(np.ones(7), 80)
    df = pd.DataFrame({"id": range(80), "split": "test", "true": true,
                       "predicted": np.array(classes)[prob.argmax(1)],
                       **{f"p_{c}": prob[:, k] for k, c in enumerate(classes)}})
    pred = tmp_path / "p.tsv"
    df.to_csv(pred, sep="\t", index=False)
    seqs = tmp_path / "s.tsv"
    pd.DataFrame({"id": range(80), "sequence": ["ACDKLW" * (k % 9 + 1) for k in range(80)],
                  "label": true}).to_csv(seqs, sep="\t", index=False)
    for k, (fn, args) in enumerate([(plots.plot_confusion, (pred, classes)),
                                    (plots.plot_roc_pr, (pred, classes)),
                                    (data_plots.plot_composition, (seqs,))]):
        fn(*args, tmp_path / f"{k}.png")
        assert (tmp_path / f"{k}.png").read_bytes()[:8] == PNG_MAGIC


def test_roc_needs_two_classes(binary: Path, tmp_path: Path):
    pred = binary / "models" / "cnn" / "predictions.tsv"
    df = pd.read_csv(pred, sep="\t")
    df.loc[df["split"] == "test", "true"] = "neg"
    df.to_csv(pred, sep="\t", index=False)
    with pytest.raises(figures.PlotUnavailable, match="fewer than two classes"):
        plots.plot_roc_pr(pred, ["neg", "pos"], tmp_path / "roc.png")
    assert not (tmp_path / "roc.png").exists()


def test_evaluate_model_dir_makes_the_plots_for_each_task(binary: Path, tmp_path: Path):
    made = plots.evaluate_model_dir(binary / "models" / "cnn", tmp_path / "cnn")
    assert sorted(Path(p).name for p in made) == [
        "confusion.png", "learning_curves.png", "metric_by_bin.png", "reliability.png",
        "roc_pr.png"]
    made = plots.evaluate_model_dir(binary / "models" / "autoencoder", tmp_path / "ae")
    assert sorted(Path(p).name for p in made) == ["learning_curves.png", "reconstruction.png"]
    reg = make_dataset(tmp_path / "reg", task="regression")
    made = plots.evaluate_model_dir(reg / "models" / "rnn", tmp_path / "rnn")
    assert "scatter.png" in {Path(p).name for p in made}
    assert all(Path(p).read_bytes()[:8] == PNG_MAGIC for p in made)


def test_per_class_table_zero_recall_and_cuts(binary: Path, tmp_path: Path):
    from seqnn.diagnostics import class_table, cut_counts

    pred = pd.read_csv(binary / "models" / "cnn" / "predictions.tsv", sep="\t")
    pred.loc[pred["split"] == "test", "predicted"] = "neg"  # "pos" never recalled on test
    _dump(binary / "models" / "cnn" / "predictions.tsv", pred)
    text = _build(binary, tmp_path)
    cnn = text.split('id="model-cnn"')[1].split('id="model-')[0]
    table = class_table(pred, ["neg", "pos"])
    n_pos = int(table.loc[1, "support"])
    assert f'<td>pos</td><td>{n_pos}</td><td>0</td><td>0.000</td><td><span class="bad">0.000' \
        in cnn
    summary = text.split('id="summary"')[1].split('id="dataset"')[0]
    assert "1 of 2 classes are never recalled on test (recall 0): pos." in summary
    cuts = cut_counts(binary / "sequences.tsv", binary / "splits.tsv", 100)
    assert sum(v["n"] for v in cuts.values()) == 60
    parts = ", ".join(f"{v['cut']} of {v['n']} {s}" for s, v in cuts.items())
    assert f"Longer than max_len 100 and cut (the first and last halves of max_len kept): " \
        f"{parts}." in cnn


def test_given_split_shows_no_fractions_or_seed(binary: Path, tmp_path: Path):
    summary = json.loads((binary / "split_summary.json").read_text())
    _dump(binary / "split_summary.json", {**summary, "method": "given"})
    split = _build(binary, tmp_path).split('id="split"')[1].split('id="models"')[0]
    assert "Method: <b>given</b> (identity: 0.3; coverage: 0.8)." in split


@pytest.mark.parametrize(("text", "message"), [
    ("garbage", "not valid JSON (Expecting value: line 1 column 1 (char 0))"),
    ('{"task": "binary", "max_len": {}}', "'max_len' must be an integer in 1..1000000, got {}"),
    ("[1, 2]", "expected a JSON object"),
    ('{"task": "binary", "class_names": ["a"]}',
     "'class_names' must hold 2 name(s) for task binary with n_outputs None, got 1"),
])
def test_check_and_report_refuse_a_broken_model_json_in_one_line(tmp_path: Path, text: str,
                                                                  message: str) -> None:
    from click.testing import CliRunner

    from seqnn.cli import main

    ds = make_dataset(tmp_path / "results" / "ds")
    meta = ds / "models" / "cnn" / "model.json"
    meta.write_text(text)
    for args in (["check", str(ds), "--models", "cnn,rnn", "--bootstrap", "10",
                  "-o", str(tmp_path / "checks.json")],
                 ["report", str(ds), "-o", str(tmp_path / "report.html")]):
        res = CliRunner().invoke(main, args)
        assert (res.exit_code, res.output.strip().splitlines()) == (
            2, [f"seqnn: error: {meta}: {message}"]), args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_report_index_cli_also_lists_other_reported_datasets(tmp_path: Path):
    from click.testing import CliRunner

    from seqnn.cli import main

    results = tmp_path / "results"
    for name in ("b_given", "a_other"):
        make_dataset(results / name)
    (results / "a_other" / "report.html").write_text("<html></html>")  # another config's run
    (results / "no_report").mkdir()
    out = results / "index.html"
    args = ["report-index", str(results), "--datasets", "b_given", "-o", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    text = out.read_text()
    assert 'href="./b_given/report.html"' in text and 'href="./a_other/report.html"' in text
    assert text.index("<th>b_given</th>") < text.index("<th>a_other</th>")
    assert "no_report" not in text
    assert CliRunner().invoke(main, [*args, "--no-others"]).exit_code == 0
    assert "a_other" not in out.read_text()


def test_bin_plot_marks_one_class_bins_and_plots_accuracy() -> None:
    entry = {"task": "binary", "test_metric": 0.5, "by_identity_bin": {
        "<0.3": {"n": 10, "metric": 0.4, "accuracy": 0.7, "classes": {"a": 5, "b": 5},
                 "recall": {"a": 0.6, "b": 0.8}, "one_class": False},
        ">=0.7": {"n": 6, "metric": None, "accuracy": 1.0, "classes": {"a": 6},
                  "recall": {"a": 1.0}, "one_class": True}}}
    data = data_plots.bin_plot_data(entry, "by_identity_bin")
    assert data["value"].tolist() == [0.7, 1.0]  # accuracy, not MCC
    assert data["one_class"].tolist() == [False, True]
    assert data["label"].tolist() == ["n=10", "n=6\none class: a"]
    assert data["recall"].tolist() == [{"a": 0.6, "b": 0.8}, {"a": 1.0}]
    # an older checks.json without one_class: a bin of one class is still found
    old = {"by_length_bin": {"x": {"n": 3, "metric": None, "accuracy": 1.0,
                                   "classes": {"b": 3}}}}
    assert data_plots.bin_plot_data(old, "by_length_bin")["one_class"].tolist() == [True]
    reg = {"task": "regression", "by_length_bin": {"x": {"n": 4, "metric": 0.3, "mae": 1.2}}}
    row = data_plots.bin_plot_data(reg, "by_length_bin").iloc[0]
    assert (row["value"], row["mae"], row["one_class"]) == (0.3, 1.2, False)


def test_report_shows_levels_chart_off_controls_and_howto_by_the_summary(binary: Path,
                                                                         tmp_path: Path):
    checks = json.loads((binary / "checks.json").read_text())
    cnn, rnn = checks["models"]["cnn"], checks["models"]["rnn"]
    cnn.update(level="pass", reasons=[], why="PASS: beats amino-acid composition by +0.210")
    rnn.update(level="fail", why="FAIL: leakage; caution: tiny test split (10 sequences)",
               reasons=[{"level": "fail", "code": "LEAKAGE", "short": "leakage",
                         "message": "LEAKAGE: 70.0% of test sequences"},
                        {"level": "caution", "code": "SMALL_DATA", "short": "tiny",
                         "message": "SMALL DATA: the test split has 10 sequences"}])
    del rnn["controls"]["shuffle"]
    rnn["controls_off"] = ["shuffle"]
    (binary / "checks.json").write_text(json.dumps(checks))
    out = tmp_path / "r.html"
    build_report(binary, out)
    text = out.read_text()
    summary = text.split('id="summary"')[1].split('id="dataset"')[0]
    assert 'alt="summary chart' in summary and 'id="howto"' in summary
    assert 'class="verdict fail"' in summary and 'class="verdict ok"' in summary
    assert '<span class="badge fail">fail</span>' in text
    assert "FAIL: leakage; caution: tiny test split (10 sequences)" in summary
    assert '<span class="lvl-caution">caution</span>: SMALL DATA' in summary
    rnn_row = text.split("<td><b>rnn</b></td>")[1].split("</tr>")[0]
    assert "<td>off</td>" in rnn_row
    from seqnn.report.results import load_results
    from seqnn.report.summary_chart import chart_data

    data = chart_data(load_results(binary))
    assert [(m["name"], m["level"]) for m in data["models"]] == [
        ("cnn", "pass"), ("rnn", "fail"), ("autoencoder (probe)", "ok")]
    assert data["shortcuts"] == {"majority": 0.4, "length": 0.4, "aa_composition": 0.4}


def test_data_warnings_of_metrics_json_are_shown(binary: Path, tmp_path: Path):
    """A class absent from a split (recorded by training under "warnings") reaches the model
    section; the metrics table is unchanged."""
    path = binary / "models" / "cnn" / "metrics.json"
    metrics = json.loads(path.read_text())
    note = "class(es) pos absent from the valid split (12 sequences): its metrics there miss " \
           "that class"
    _dump(path, {**metrics, "warnings": [note]})
    cnn = _build(binary, tmp_path).split('id="model-cnn"')[1].split('id="model-')[0]
    assert f'<p class="bad">Warning: {note}</p>' in cnn and cnn.count("Warning:") == 1


def test_attribution_flags_and_plots_from_attributions_json(binary: Path, tmp_path: Path):
    from seqnn.report import attribution_section

    plots_dir = binary / "models" / "cnn" / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    by_class = {c: {"attribution": list(np.linspace(-0.1, 0.1, 20)),
                    "composition_diff": list(np.linspace(-0.02, 0.02, 20))}
                for c in ("neg", "pos")}
    _dump(plots_dir / "attributions.json", {
        "n": 40, "rule": "the rule", "alphabet": "ACDEFGHIKLMNPQRSTVWY",
        "termini": {"fraction": 0.1, "attribution_share": 0.5, "residue_share": 0.2,
                    "ratio": 2.5},
        "residues": {"by_class": by_class, "rho": 0.9, "eta2": 0.95},
        "maps": [{"id": "P1", "class": "pos", "target": "pos", "sequence": "ACD",
                  "scores": [0.1, -0.2, 0.3]}],
        "flags": ["attributions concentrate on the termini: 50%"]})
    text = _build(binary, tmp_path)
    summary = text.split('id="summary"')[1].split('id="models"')[0]
    assert '<span class="tag note">note</span> Attribution check (not part of the verdict): ' \
        "attributions concentrate on the termini: 50%." in summary
    assert 'alt="cnn attribution shortcuts"' in text and 'alt="cnn attribution maps"' in text
    assert "Flag rule: the rule." in text
    (plots_dir / "attributions.json").write_text("[1, 2]")
    assert attribution_section.attribution_flags(binary / "models" / "cnn") == ""
