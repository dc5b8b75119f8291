"""Variant libraries: detection, exact mutation and Hamming counts, the split by mutation
count and the audit by mutational distance (no MMseqs2 for equal lengths)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqnn.cli.main import main
from seqnn.config import dataset_from_dict
from seqnn.errors import ConfigError
from seqnn.split import leakage, stage
from seqnn.split import variants as V

AA = "ACDEFGHIKLMNPQRSTVWY"


def library(n: int = 100, length: int = 50, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """A parent of ``length`` residues and ``n`` variants with 1..5 substitutions (variant
    i has 1 + i % 5), with an additive fitness label."""
    rng = np.random.default_rng(seed)
    parent = "".join(rng.choice(list(AA), length))
    effect = rng.normal(size=(length, len(AA)))
    ids, seqs, fitness = [], [], []
    for i in range(n):
        seq = list(parent)
        for p in rng.choice(length, 1 + i % 5, replace=False):
            seq[p] = rng.choice([a for a in AA if a != parent[p]])
        ids.append(f"v{i}")
        seqs.append("".join(seq))
        fitness.append(sum(effect[p, AA.index(a)] for p, a in enumerate(seq) if a != parent[p]))
    return pd.DataFrame({"id": ids, "sequence": seqs, "label": np.round(fitness, 4)}), parent


def unrelated(n: int = 60, seed: int = 1, equal: bool = True) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(AA), 50 if equal else rng.integers(30, 80)))
            for _ in range(n)]


def test_detects_library_not_unrelated_proteins():
    df, parent = library()
    found = V.detect(df["sequence"].tolist())
    assert found["is_variant_library"] and found["rule_says"] and found["equal_lengths"]
    assert found["consensus"] == parent and found["length"] == 50
    assert found["max_mutations"] == 10 and found["fraction_near_consensus"] == 1.0
    for seqs in (unrelated(), unrelated(equal=False)):
        assert not V.detect(seqs)["is_variant_library"]
    assert not V.detect(df["sequence"].tolist()[:9])["is_variant_library"]  # < 10 sequences
    # explicit switches override the rule both ways
    assert V.detect(unrelated(), mode=True)["is_variant_library"]
    assert not V.detect(df["sequence"].tolist(), mode="off")["is_variant_library"]
    with pytest.raises(ConfigError, match="not auto"):
        V.detect(unrelated(), mode="maybe")


def test_near_equal_lengths_still_detected():
    df, _ = library()
    seqs = df["sequence"].tolist()
    seqs[:5] = [s[:-1] for s in seqs[:5]]  # 5 % carry a deletion
    found = V.detect(seqs)
    assert found["is_variant_library"] and not found["equal_lengths"]
    assert found["fraction_length"] == 0.95


def test_hamming_mutations_and_edit_distance_exact():
    m = V.as_matrix(["AAAA", "AAAC", "CCAA", "GGGG"])
    assert V.consensus(m) == "AAAA"
    assert V.hamming(m, "AAAA").tolist() == [0, 1, 2, 4]
    assert V.edit_distance("ACDE", "ACDE") == 0
    assert V.edit_distance("ACDE", "ADE") == 1          # deletion
    assert V.edit_distance("ACE", "ACDE") == 1          # insertion
    assert V.edit_distance("kitten".upper(), "sitting".upper()) == 3
    assert V.mutation_counts(["AAAC", "AAC", "AAAAA", "CCCC"], "AAAA").tolist() == [1, 2, 1, 4]
    query = V.as_matrix(["AAAC", "CCCC", "GAAA"])
    train = V.as_matrix(["AAAA", "CCCA", "AAAC"])
    dist, idx = V.nearest_hamming(query, train)
    assert dist.tolist() == [0, 1, 1] and idx.tolist() == [2, 1, 0]  # tie -> first row
    dist_e, idx_e = V.nearest_hamming(query, train[:0])
    assert dist_e.tolist() == [-1] * 3 and idx_e.tolist() == [-1] * 3


def test_nearest_hamming_chunks_match_brute_force():
    rng = np.random.default_rng(3)
    q = rng.integers(65, 69, size=(37, 11), dtype=np.uint8)
    t = rng.integers(65, 69, size=(53, 11), dtype=np.uint8)
    full = (q[:, None, :] != t[None, :, :]).sum(2)
    ref = "AAAAAAAAAAA"
    for chunk in (1, 50, 500, 1 << 20):  # 1 byte: one pair per block
        for dist, idx in (V.nearest_hamming(q, t, chunk_bytes=chunk),
                          V.nearest_hamming_sparse(q, t, ref, chunk_bytes=chunk)):
            assert dist.tolist() == full.min(1).tolist()
            assert idx.tolist() == full.argmin(1).tolist()
    df, parent = library()
    m = V.as_matrix(df["sequence"].tolist())
    dense, sparse = V.nearest_hamming(m[:30], m[30:]), V.nearest_hamming_sparse(m[:30], m[30:],
                                                                                 parent)
    assert dense[0].tolist() == sparse[0].tolist() and dense[1].tolist() == sparse[1].tolist()
    assert V.nearest_hamming_sparse(m[:3], m[:0], parent)[0].tolist() == [-1] * 3


def test_split_by_mutation_count_exact_ids():
    df, parent = library()
    table, info = V.split_mutations(df, 2, fractions=(0.8, 0.1, 0.1), seed=0)
    muts = np.array([1 + i % 5 for i in range(len(df))])
    split = table.set_index("id")["split"]
    assert set(split[split == "test"].index) == {f"v{i}" for i in np.flatnonzero(muts > 2)}
    assert set(split[split != "test"].index) == {f"v{i}" for i in np.flatnonzero(muts <= 2)}
    # valid: 1/9 of the train part within each mutation count, seeded
    assert info["mutations_by_split"]["valid"] == {"1": 2, "2": 2}
    assert info["mutations_by_split"]["test"] == {"3": 20, "4": 20, "5": 20}
    assert info["reference"] == "consensus" and info["reference_sequence"] == parent
    again, _ = V.split_mutations(df, 2, seed=0)
    assert again.equals(table)
    # a parent given by id: mutations counted from that record
    df2 = pd.concat([df, pd.DataFrame({"id": ["wt"], "sequence": [parent], "label": [0.0]})])
    t2, i2 = V.split_mutations(df2, 0, parent="wt", fractions=(1.0, 0.0, 0.0))
    assert t2.set_index("id")["split"]["wt"] == "train" and i2["reference"] == "parent wt"
    assert (t2["split"] == "train").sum() == 1
    with pytest.raises(ConfigError, match="test part is empty"):
        V.split_mutations(df, 5)
    with pytest.raises(ConfigError, match="neither a record id"):
        V.split_mutations(df, 2, parent="no such-id")


def _write(tmp: Path, df: pd.DataFrame) -> str:
    path = tmp / "sequences.tsv"
    df.assign(source="x").to_csv(path, sep="\t", index=False)
    return str(path)


def test_audit_file_of_a_variant_library_without_mmseqs(tmp_path, monkeypatch):
    def no_mmseqs(*args, **kwargs):
        raise AssertionError("MMseqs2 must not run on an equal-length variant library")

    monkeypatch.setattr(leakage, "align", no_mmseqs)
    monkeypatch.setattr(leakage, "find_mmseqs", no_mmseqs)
    df, _ = library()
    seqs = _write(tmp_path, df)
    opts = {"task": "regression", "method": "mutations", "max_train_mutations": 2}
    stage.split_from_options(seqs, opts, str(tmp_path / "splits.tsv"),
                             str(tmp_path / "summary.json"), None, 1)
    report = stage.audit_from_options(seqs, str(tmp_path / "splits.tsv"), opts,
                                      str(tmp_path / "audit.json"),
                                      str(tmp_path / "nearest.tsv"), None, 1)
    assert json.loads((tmp_path / "audit.json").read_text()) == json.loads(
        json.dumps(report, default=str))
    block = report["variants"]
    assert block["is_variant_library"] and block["identity_audit"] == "hamming"
    assert block["mutations"]["test"] == {"3": 20, "4": 20, "5": 20}
    assert report["warnings"][0].startswith("NOTE: variant library")
    assert report["mmseqs"] is None and not report["leak"]  # no identical copies here
    near = pd.read_csv(tmp_path / "nearest.tsv", sep="\t")
    assert list(near.columns) == ["id", "split", "nearest_train_id", "identity", "hamming",
                                  "mutations"]
    table = leakage.join_splits(df, pd.read_csv(tmp_path / "splits.tsv", sep="\t"))
    train = table[table["split"] == "train"]
    for _, row in near.iterrows():  # brute force: nearest training variant by Hamming
        seq = table.set_index("id")["sequence"][row["id"]]
        d = train["sequence"].map(lambda s, q=seq: sum(a != b for a, b in zip(s, q, strict=True)))
        assert row["hamming"] == d.min() and row["identity"] == pytest.approx(1 - d.min() / 50)
    assert sum(block["hamming_to_train"]["test"].values()) == 60
    assert "identity bins are uninformative" in block["summary"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["method"] == "mutations" and summary["max_train_mutations"] == 2


def test_audit_of_other_data_records_the_detection(tmp_path):
    df = pd.DataFrame({"id": [f"p{i}" for i in range(60)], "sequence": unrelated(),
                       "label": 0})
    seqs = _write(tmp_path, df)
    splits = tmp_path / "splits.tsv"
    stage.split_from_options(seqs, {"method": "random"}, str(splits), None, None, 1)
    report = stage.audit_from_options(seqs, str(splits), {}, str(tmp_path / "a.json"), None,
                                      None, 1, use_mmseqs=False)
    assert report["variants"]["is_variant_library"] is False
    assert "consensus" not in report["variants"]


def test_cli_split_mutations_and_config_errors(tmp_path):
    df, _ = library(n=20)
    seqs = _write(tmp_path, df)
    out = tmp_path / "splits.tsv"
    runner = CliRunner()
    res = runner.invoke(main, ["split", seqs, "--method", "mutations", "--max-train-mutations",
                               "1", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(out, sep="\t").query("split == 'test'")["id"]) == {
        f"v{i}" for i in range(20) if i % 5}
    bad = tmp_path / "bad.tsv"
    res = runner.invoke(main, ["split", seqs, "--method", "mutations", "--max-train-mutations",
                               "9", "-o", str(bad)])
    assert res.exit_code == 2 and "test part is empty" in res.output and not bad.exists()
    audit = tmp_path / "audit.json"
    res = runner.invoke(main, ["audit", seqs, str(out), "--variants", "false", "--no-mmseqs",
                               "-o", str(audit)])
    assert res.exit_code == 0 and not json.loads(audit.read_text())["variants"][
        "is_variant_library"]
    res = runner.invoke(main, ["audit", seqs, str(out), "-o", str(audit)])
    assert res.exit_code == 0 and "NOTE: variant library (20 sequences" in res.output
    with pytest.raises(ConfigError, match="needs max_train_mutations"):
        dataset_from_dict("d", {"task": "regression", "inputs": [{"fasta": "a.fa"}],
                                "split": {"method": "mutations"}})
    spec = dataset_from_dict("d", {"task": "regression", "inputs": [{"fasta": "a.fa"}],
                                   "split": {"method": "mutations", "max_train_mutations": 2,
                                             "variants": True, "parent": "wt"}})
    assert spec.split.max_train_mutations == 2 and spec.split.parent == "wt"


def test_near_equal_library_falls_back_to_mmseqs_identity(tmp_path):
    df, parent = library()
    # 3 test variants lose their first residue: one deletion more, unless it was a substitution
    expected = [1 + i % 5 + (df["sequence"][i][0] == parent[0]) for i in range(97, 100)]
    df.loc[df.index[-3:], "sequence"] = df["sequence"].iloc[-3:].str[1:]
    splits, _ = V.split_mutations(df, 2)
    found = V.detect(df["sequence"].tolist())
    assert found["is_variant_library"] and not found["equal_lengths"]
    from seqnn.split.variant_audit import audit_library

    report, near = audit_library(df, splits, found, V.reference(df, None, found),
                                 workdir=tmp_path, use_mmseqs=True)
    block = report["variants"]
    assert block["identity_audit"] == "mmseqs2" and report["mmseqs"] is not None
    assert not report["leak"]  # >= 0.3 identity everywhere, yet no identical copy
    short = near[near["id"].isin(df["id"].iloc[-3:])]
    assert short["hamming"].isna().all() and (short["identity"] > 0.8).all()
    assert short["mutations"].tolist() == expected
    assert near["hamming"].notna().sum() == len(near) - 3


def test_workflow_config_accepts_variant_keys_and_rejects_bad_ones():
    from seqnn.config import workflow_from_dict

    def config(split: dict) -> dict:
        return {"datasets": {"dms": {"task": "regression", "inputs": [{"fasta": "lib.fa"}],
                                     "split": split}},
                "models": {"mlp": {"model": "mlp"}}}

    wf = workflow_from_dict(config({"method": "mutations", "max_train_mutations": 2,
                                    "parent": "WT", "variants": "auto",
                                    "variant_max_mutations": 8, "variant_min_fraction": 0.9}))
    assert wf.datasets["dms"].split.variant_max_mutations == 8
    for bad in ({"variants": "maybe"}, {"method": "mutations", "max_train_mutations": -1},
                {"method": "mutations"}):
        with pytest.raises(ConfigError):
            workflow_from_dict(config(bad))
