"""Shortcut baselines, their features and the shared metrics: known answers."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, matthews_corrcoef

from seqnn import metrics as M
from seqnn.checks.baselines import (
    AA_FEATURES,
    DIPEPTIDE_FEATURES,
    aa_composition,
    dipeptide_composition,
    length_features,
    run_baselines,
)

AA = "ACDEFGHIKLMNPQRSTVWY"


# ----------------------------------------------------------------------------- features

def test_aa_composition_known_answer():
    x = aa_composition(["AAC", "AX", "Y"])
    assert x.shape == (3, 21) and len(AA_FEATURES) == 21
    a, c, xx, y = (AA_FEATURES.index(k) for k in "ACXY")
    assert x[0, a] == pytest.approx(2 / 3) and x[0, c] == pytest.approx(1 / 3)
    assert x[1, a] == 0.5 and x[1, xx] == 0.5
    assert x[2, y] == 1.0
    assert np.allclose(x.sum(axis=1), 1.0)


def test_dipeptide_composition_known_answer():
    x = dipeptide_composition(["AAC", "ACDA", "A", "AXA"])
    assert x.shape == (4, 400)
    col = {name: i for i, name in enumerate(DIPEPTIDE_FEATURES)}
    assert x[0, col["AA"]] == 0.5 and x[0, col["AC"]] == 0.5 and x[0].sum() == 1.0
    for pair in ("AC", "CD", "DA"):
        assert x[1, col[pair]] == pytest.approx(1 / 3)
    assert x[2].sum() == 0.0 and x[3].sum() == 0.0  # no pair, and pairs touching X skipped


def test_features_match_a_plain_count():
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list(AA), size=n)) for n in rng.integers(2, 40, size=25)]
    comp, dip = aa_composition(seqs), dipeptide_composition(seqs)
    for i, s in enumerate(seqs):
        count = Counter(s)
        assert comp[i, :20] == pytest.approx([count[a] / len(s) for a in AA])
        pairs = Counter(s[j:j + 2] for j in range(len(s) - 1))
        assert dip[i] == pytest.approx([pairs[p] / (len(s) - 1) for p in DIPEPTIDE_FEATURES])
    assert length_features(["A" * 10, "AC"])[:, 0] == pytest.approx([np.log(10), np.log(2)])


def test_features_follow_the_alphabet_policy():
    with pytest.raises(ValueError, match="position 3: character 'B' is not one of"):
        aa_composition(["ACB"], policy="strict")
    with pytest.raises(ValueError, match="position 3: invalid character '1'"):
        aa_composition(["AC1"])
    np.testing.assert_array_equal(aa_composition(["acb"]), aa_composition(["ACX"]))


# ----------------------------------------------------------------------------- baselines

def composition_dataset(n: int = 240, classes: str = "KE", seed: int = 0) -> pd.DataFrame:
    """Class c's sequences are random residues with 35% of the class's residue (K for the
    first class, E for the second...), random order and length 20-40."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rich = classes[i % len(classes)]
        length = rng.integers(20, 41)
        seq = np.where(rng.random(length) < 0.35, rich, rng.choice(list(AA), size=length))
        rows.append((f"s{i}", "".join(seq), f"class_{rich}", "synthetic"))
    return pd.DataFrame(rows, columns=["id", "sequence", "label", "source"])


def random_splits(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    order = np.random.default_rng(seed).permutation(len(df))
    split = np.array(["train"] * len(df), dtype=object)
    split[order[: len(df) // 5]] = "valid"
    split[order[len(df) // 5: 2 * len(df) // 5]] = "test"
    return pd.DataFrame({"id": df["id"], "split": split, "cluster": df["id"]})


def test_composition_decides_binary_label():
    df = composition_dataset()
    out = run_baselines(df, random_splits(df), "binary", seed=0, predictions=True)
    json.dumps(out)
    assert list(out) == ["majority", "length", "aa_composition", "dipeptide"]
    assert out["aa_composition"]["test"]["mcc"] > 0.9
    assert out["majority"]["test"]["mcc"] == 0.0 and out["majority"]["valid"]["mcc"] == 0.0
    assert out["majority"]["test"]["n"] == 48
    assert out["aa_composition"]["params"]["class_names"] == ["class_E", "class_K"]
    assert out["aa_composition"]["params"]["C"] in (0.001, 0.01, 0.1, 1.0, 10.0)
    assert out["dipeptide"]["params"]["n_features"] == 400
    preds = out["aa_composition"]["test_predictions"]
    assert len(preds["id"]) == len(preds["pred"]) == len(preds["proba"]) == 48


def test_composition_decides_multiclass_and_unlabelled_rows_ignored():
    df = composition_dataset(n=240, classes="KED")
    df.loc[0, "label"] = None
    out = run_baselines(df, random_splits(df), "multiclass", seed=0,
                        baselines=("majority", "aa_composition"))
    assert out["aa_composition"]["test"]["mcc"] > 0.9
    assert out["aa_composition"]["test"]["roc_auc"] > 0.95
    assert out["majority"]["test"]["mcc"] == 0.0
    assert out["majority"]["train"]["n"] + out["majority"]["valid"]["n"] \
        + out["majority"]["test"]["n"] == 239


def test_regression_baselines():
    df = composition_dataset(n=200, classes="K")
    rng = np.random.default_rng(2)
    frac_k = df["sequence"].map(lambda s: s.count("K") / len(s))
    df["label"] = 10 * frac_k + rng.normal(0, 0.1, size=len(df))
    out = run_baselines(df, random_splits(df), "regression",
                        baselines=("majority", "aa_composition"))
    assert out["aa_composition"]["test"]["spearman"] > 0.9
    assert out["aa_composition"]["params"]["alpha"] in (1000.0, 100.0, 10.0, 1.0, 0.1)
    assert out["majority"]["test"]["spearman"] is None  # a constant prediction
    assert out["majority"]["params"] == {"strategy": "mean", "chosen_on": "best valid spearman",
                                         "n_features": 1, "class_names": []}


# ----------------------------------------------------------------------------- metrics

def test_classification_metrics_known_answer():
    proba_b = np.array([0.1, 0.6, 0.7, 0.9])
    m = M.classification_metrics(["A", "A", "B", "B"], ["A", "B", "B", "B"],
                                 np.column_stack([1 - proba_b, proba_b]), ["A", "B"])
    assert m["accuracy"] == 0.75 and m["balanced_accuracy"] == 0.75
    assert m["mcc"] == pytest.approx(2 / np.sqrt(12))
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert m["roc_auc"] == 1.0 and m["n"] == 4
    # a 1-D probability is the positive class (class_names[1]); indices work like names
    same = M.classification_metrics(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), proba_b,
                                    ["A", "B"])
    assert same == m


def test_classification_metrics_undefined_cases():
    three = ["a", "b", "c"]
    proba = np.full((2, 3), 1 / 3)
    m = M.classification_metrics(["a", "b"], ["a", "a"], proba, three)
    assert m["roc_auc"] is None  # class c absent
    assert m["macro_f1"] == pytest.approx(f1_score([0, 1], [0, 0], labels=[0, 1, 2],
                                                   average="macro", zero_division=0))
    assert M.classification_metrics(["a", "a"], ["a", "a"], None, ["a", "b"])["roc_auc"] is None
    assert M.classification_metrics([], [], None, ["a", "b"])["n"] == 0
    with pytest.raises(ValueError, match="label 'z' is not one of the classes"):
        M.classification_metrics(["a", "z"], ["a", "a"], None, ["a", "b"])


def test_regression_metrics_known_answer():
    m = M.regression_metrics([1, 2, 3, 4], [1, 2, 3, 5])
    assert m["spearman"] == pytest.approx(1.0) and m["rmse"] == 0.5
    assert m["r2"] == pytest.approx(0.8) and m["pearson"] == pytest.approx(0.9827076, abs=1e-6)
    assert m["n"] == 4
    flat = M.regression_metrics([1, 2, 3], [2, 2, 2])
    assert flat["spearman"] is None and flat["pearson"] is None
    assert M.regression_metrics([1.0], [1.0])["rmse"] is None


def test_primary_metric():
    assert M.primary_metric("binary") == M.primary_metric("multiclass") == "mcc"
    assert M.primary_metric("regression") == "spearman"
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        M.primary_metric("ranking")


def test_vectorised_confusion_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 3, size=200), rng.integers(0, 3, size=200)
    p[:120] = y[:120]
    idx = np.stack([np.arange(200), rng.integers(0, 200, size=200)])
    cm = M._confusion_stack(y, p, idx, 3)
    for b in range(2):
        yb, pb = y[idx[b]], p[idx[b]]
        assert M._from_confusion(cm, "mcc")[b] == pytest.approx(matthews_corrcoef(yb, pb))
        ref = M.classification_metrics(yb, pb, None, ["a", "b", "c"])
        for name in ("accuracy", "balanced_accuracy", "macro_f1"):
            assert M._from_confusion(cm, name)[b] == pytest.approx(ref[name])


def test_bootstrap_ci():
    y = ["A", "B"] * 20
    assert M.bootstrap_ci(y, y, metric="mcc", n=200, seed=0) == (1.0, 1.0)
    rng = np.random.default_rng(3)
    noisy = [c if rng.random() < 0.8 else ("B" if c == "A" else "A") for c in y]
    low, high = M.bootstrap_ci(y, noisy, metric="mcc", n=300, seed=1)
    point = M.classification_metrics(y, noisy)["mcc"]
    assert low < point < high
    assert M.bootstrap_ci(y, noisy, metric="mcc", n=300, seed=1) == (low, high)
    lo_r, hi_r = M.bootstrap_ci([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 6, 5], metric="spearman",
                                n=100, seed=0)
    assert 0 < lo_r <= hi_r <= 1
    with pytest.raises(ValueError, match="unknown metric 'f2'"):
        M.bootstrap_ci(y, y, metric="f2")
