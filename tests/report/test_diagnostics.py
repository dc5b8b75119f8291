"""Per-class tables and length cuts for the report (seqnn.diagnostics)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqnn.diagnostics import class_table, cut_counts, zero_recall


def test_class_table_exact() -> None:
    pred = pd.DataFrame({
        "split": ["test"] * 6 + ["train"],
        "true": ["a", "a", "b", "b", "c", "c", "a"],
        "predicted": ["a", "b", "b", "b", "a", "a", "c"],
    })
    t = class_table(pred, ["a", "b", "c", "d"])
    assert t["class"].tolist() == ["a", "b", "c", "d"]
    assert t["support"].tolist() == [2, 2, 2, 0]
    assert t["predicted"].tolist() == [3, 3, 0, 0]
    assert t["precision"].tolist() == pytest.approx([1 / 3, 2 / 3, 0.0, 0.0])
    assert t["recall"].tolist()[:3] == [0.5, 1.0, 0.0] and np.isnan(t["recall"][3])
    assert t["f1"][0] == pytest.approx(0.4) and t["f1"][1] == pytest.approx(0.8)
    assert t["f1"][2] == 0.0 and np.isnan(t["f1"][3])
    assert zero_recall(t) == ["c"]
    with pytest.raises(ValueError, match="no predictions for split 'valid'"):
        class_table(pred, split="valid")


def test_cut_counts(tmp_path: Path) -> None:
    pd.DataFrame({"id": ["p1", "p2", "p3", "p4"], "sequence": ["A" * 5, "A" * 6, "A" * 9, "A"],
                  "label": ["x"] * 4}).to_csv(tmp_path / "s.tsv", sep="\t", index=False)
    pd.DataFrame({"id": ["p1", "p2", "p3", "p4"], "split": ["train", "train", "test", "valid"]}
                 ).to_csv(tmp_path / "sp.tsv", sep="\t", index=False)
    assert cut_counts(tmp_path / "s.tsv", tmp_path / "sp.tsv", 5) == {
        "train": {"n": 2, "cut": 1}, "valid": {"n": 1, "cut": 0}, "test": {"n": 1, "cut": 1}}
