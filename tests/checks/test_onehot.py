"""The one-hot ridge shortcut of fixed-length variant libraries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqnn.checks.baselines import run_baselines
from seqnn.checks.onehot import fixed_length, onehot_features
from seqnn.split.methods import split_random

AA = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


def variant_library(n: int = 400, length: int = 12, seed: int = 0) -> pd.DataFrame:
    """Variants of one parent with 1-4 substitutions and an additive fitness: each
    (position, residue) has its own effect, plus a little noise."""
    rng = np.random.default_rng(seed)
    parent = rng.choice(AA, length)
    effect = rng.normal(size=(length, 20))
    index = {a: i for i, a in enumerate(AA)}
    rows = []
    for i in range(n):
        seq = parent.copy()
        for pos in rng.choice(length, size=rng.integers(1, 5), replace=False):
            seq[pos] = rng.choice(AA)
        y = sum(effect[p, index[a]] for p, a in enumerate(seq)) + rng.normal(scale=0.1)
        rows.append((f"v{i}", "".join(seq), float(y)))
    return pd.DataFrame(rows, columns=["id", "sequence", "label"])


def test_onehot_features_known_answer():
    x = onehot_features(["ACX", "YAA"])
    assert x.shape == (2, 3 * 21) and x.nnz == 6
    dense = x.toarray()
    assert dense[0, 0] == 1 and dense[0, 21 + 1] == 1 and dense[0, 42 + 20] == 1
    assert dense[1, 19] == 1 and dense[1, 21] == 1 and dense[1, 42] == 1
    assert fixed_length(["AC", "DE"]) and not fixed_length(["AC", "D"]) and not fixed_length([])
    with pytest.raises(ValueError, match="one length"):
        onehot_features(["AC", "D"])


def test_onehot_ridge_recovers_a_planted_additive_effect():
    df = variant_library()
    splits = split_random(df, (0.7, 0.15, 0.15), seed=0)
    out = run_baselines(df, splits, "regression", seed=0, baselines=("aa_composition",))
    ridge = out["onehot_ridge"]
    assert ridge["test"]["spearman"] > 0.95
    assert ridge["params"]["n_features"] == 12 * 21 and "chosen_on" in ridge["params"]
    assert out["aa_composition"]["test"]["spearman"] < ridge["test"]["spearman"] - 0.2


def test_onehot_ridge_only_for_regression_on_one_length():
    df = variant_library(n=60)
    splits = split_random(df, seed=0)
    ragged = df.assign(sequence=[s[: 8 + i % 4] for i, s in enumerate(df["sequence"])])
    assert "onehot_ridge" not in run_baselines(ragged, splits, "regression",
                                               baselines=("majority",))
    binary = df.assign(label=np.where(df["label"] > df["label"].median(), "hi", "lo"))
    assert "onehot_ridge" not in run_baselines(binary, splits, "binary",
                                               baselines=("majority",))
