"""SCL2205: the multi-label model against the 13-class model, on the same published split.

Reads the two models' ``predictions.tsv`` (test rows), turns the 13-class model's predicted
class into its label set (``Cytoplasm;Nucleus`` -> {Cytoplasm, Nucleus}) and scores both
with :func:`seqnn.metrics.multilabel_metrics` on the test proteins with two or more
locations and on all test proteins. Prints a Markdown table.

    python benchmarks/scl2205_multilabel.py results/scl2205_published/models/cnn \
        results/scl2205_multilabel/models/cnn
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from seqnn.data.labelsets import label_names, multi_hot
from seqnn.metrics import multilabel_metrics

KEYS = ("macro_mcc", "micro_f1", "macro_f1", "subset_accuracy", "jaccard")


def _test(model_dir: str) -> pd.DataFrame:
    pred = pd.read_csv(Path(model_dir) / "predictions.tsv", sep="\t", dtype={"id": str},
                       keep_default_na=False)
    return pred[pred["split"] == "test"].set_index("id")


def main(multiclass_dir: str, multilabel_dir: str) -> None:
    mc, ml = _test(multiclass_dir), _test(multilabel_dir)
    ids = mc.index.intersection(ml.index)
    truth = ml.loc[ids, "true"].tolist()
    names = label_names(truth + mc.loc[ids, "predicted"].tolist())
    y = multi_hot(truth, names)
    preds = {"13-class model (class -> label set)": multi_hot(mc.loc[ids, "predicted"].tolist(),
                                                             names),
             "multi-label model": multi_hot(ml.loc[ids, "predicted"].tolist(), names)}
    multi = y.sum(axis=1) >= 2
    print(f"| proteins | model | {' | '.join(KEYS)} |")
    print("|---|---|" + "---|" * len(KEYS))
    for what, rows in ((f"two or more locations (n={int(multi.sum())})", multi),
                       (f"all test proteins (n={len(ids)})", slice(None))):
        for model, p in preds.items():
            m = multilabel_metrics(y[rows], p[rows], 0.5, names)
            print(f"| {what} | {model} | " + " | ".join(f"{m[k]:.3f}" for k in KEYS) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
