"""The report section of a variant library: metrics per mutation count and per Hamming
distance to train, built from the files `seqnn split` / `seqnn audit` write (no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqnn.modelmeta import FORMAT_VERSION
from seqnn.report.page import build_report
from seqnn.report.results import load_results
from seqnn.report.variants import metric_by_value, variant_section
from seqnn.split import stage

AA = "ACDEFGHIKLMNPQRSTVWY"


def library(n: int = 100, length: int = 50) -> pd.DataFrame:
    """``n`` variants of a random parent, variant i with 1 + i % 5 substitutions, additive
    fitness (as in tests/split/test_variants.py)."""
    rng = np.random.default_rng(0)
    parent = rng.choice(list(AA), length)
    effect = rng.normal(size=(length, len(AA)))
    seqs, fitness = [], []
    for i in range(n):
        seq = parent.copy()
        for p in rng.choice(length, 1 + i % 5, replace=False):
            seq[p] = rng.choice([a for a in AA if a != parent[p]])
        seqs.append("".join(seq))
        fitness.append(sum(effect[p, AA.index(a)] for p, a in enumerate(seq) if a != parent[p]))
    return pd.DataFrame({"id": [f"v{i}" for i in range(n)], "sequence": seqs,
                         "label": np.round(fitness, 4)})


def _library_results(root: Path) -> pd.DataFrame:
    """A dataset folder: a 100-variant library split by mutation count (train <= 2), its
    audit, and one regression model exact on 3 mutations and noisy beyond."""
    df = library()
    root.mkdir(parents=True)
    seqs = root / "sequences.tsv"
    df.assign(source="lib.fasta").to_csv(seqs, sep="\t", index=False)
    opts = {"task": "regression", "method": "mutations", "max_train_mutations": 2}
    stage.split_from_options(str(seqs), opts, str(root / "splits.tsv"),
                             str(root / "split_summary.json"), None, 1)
    stage.audit_from_options(str(seqs), str(root / "splits.tsv"), opts, str(root / "audit.json"),
                             str(root / "nearest_train.tsv"), None, 1)
    table = df.merge(pd.read_csv(root / "splits.tsv", sep="\t"), on="id")
    muts = np.array([1 + int(i[1:]) % 5 for i in table["id"]])
    noise = np.random.default_rng(0).normal(0, 5, len(table)) * (muts > 3)
    mdir = root / "models" / "cnn"
    mdir.mkdir(parents=True)
    (mdir / "model.json").write_text(json.dumps({
        "format_version": FORMAT_VERSION, "model": "cnn", "params": {}, "task": "regression",
        "class_names": [], "n_outputs": 1, "max_len": 100, "truncate": "ends"}))
    pd.DataFrame({"id": table["id"], "split": table["split"], "true": table["label"],
                  "predicted": table["label"] + noise}).to_csv(mdir / "predictions.tsv",
                                                               sep="\t", index=False)
    return table


def test_metric_by_value_exact():
    pred = pd.DataFrame({"true": [1.0, 2.0, 3.0, 1.0, 2.0, 5.0],
                         "predicted": [1.0, 2.0, 3.0, 3.0, 2.0, 1.0]})
    out = metric_by_value(pred, pd.Series([1, 1, 1, 2, 2, None]), "regression", [], "spearman")
    assert out[1] == (3, 1.0) and out[2][0] == 2 and out[2][1] == pytest.approx(-1.0)
    cls = pd.DataFrame({"true": ["a", "b", "a", "a"], "predicted": ["a", "b", "b", "a"]})
    out = metric_by_value(cls, pd.Series([0, 0, 1, 1]), "binary", ["a", "b"], "mcc")
    assert out[0] == (2, 1.0) and out[1] == (2, None)  # one true class: MCC undefined


def test_variant_section_renders(tmp_path):
    _library_results(tmp_path / "lib")
    d = load_results(tmp_path / "lib")
    html = variant_section(d)
    assert "3b. Variant library" in html and "Identity bins are uninformative" in html
    assert "MMseqs2 all-vs-all alignment skipped" in html
    assert "<th>Mutations from the consensus</th>" in html
    assert "<th>Substitutions to the nearest training variant</th>" in html
    assert "<th>Test mutations from the consensus</th>" in html
    assert "<th>cnn spearman</th>" in html
    rows = html.split("<th>Test mutations from the consensus</th>")[1].split("</table>")[0]
    assert "<tr><td>3</td><td>20</td><td>1.000</td></tr>" in rows  # exact on 3 mutations
    build_report(tmp_path / "lib", tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert 'id="variants"' in page and "Test substitutions to the nearest training" in page
    assert "<b>mutations</b> (max_train_mutations: 2; reference: consensus;" in page


def test_no_variant_section_for_other_data(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "audit.json").write_text(json.dumps(
        {"variants": {"is_variant_library": False}}))
    assert variant_section(load_results(tmp_path / "ds")) == ""
