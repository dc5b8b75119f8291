"""Report section for a variant library (deep mutational scan): mutational distance in
place of the identity bins.

Drawn only when ``audit.json`` says the dataset is a variant library
(:mod:`seqnn.split.variant_audit`): why identity bins are uninformative, sequences per
mutation count from the reference and per Hamming distance to the nearest training variant,
and each model's test metric per mutation count and per Hamming distance (from
``predictions.tsv`` joined with the ``mutations`` and ``hamming`` columns of
``nearest_train.tsv``).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .. import layout
from ..data.tables import SPLITS
from ..metrics import classification_metrics, regression_metrics
from .figures import read_tsv
from .html import as_dict, esc, fmt, html_table, na, pct
from .results import Results


def _metric(part: pd.DataFrame, task: str | None, names: list[str], metric: str) -> float | None:
    """``metric`` over the rows of a prediction table; None for fewer than 2 rows or (for
    classes) a single true class, where MCC and AUC are undefined."""
    if len(part) < 2:
        return None
    if task == "regression":
        return regression_metrics(part["true"].astype(float), part["predicted"].astype(float)
                                  ).get(metric)
    true, pred = part["true"].astype(str), part["predicted"].astype(str)
    if true.nunique() < 2:
        return None
    cols = [f"p_{c}" for c in names]
    proba = part[cols].to_numpy() if names and all(c in part for c in cols) else None
    return classification_metrics(true, pred, proba, names or None).get(metric)


def metric_by_value(pred: pd.DataFrame, values: pd.Series, task: str | None, names: list[str],
                    metric: str) -> dict[int, tuple[int, float | None]]:
    """``{value: (n, metric)}`` over the rows of ``pred`` grouped by an integer ``values``
    aligned to its rows (rows with a missing value are left out)."""
    keep = values.notna().to_numpy()
    part, keys = pred[keep], values[keep].astype(int).to_numpy()
    return {int(k): (int((keys == k).sum()), _metric(part[keys == k], task, names, metric))
            for k in sorted(set(keys.tolist()))}


def _count_table(title: str, counts: Mapping, splits: tuple[str, ...]) -> str:
    keys = sorted({int(k) for s in splits for k in as_dict(counts.get(s))})
    rows = [[fmt(k), *(fmt(as_dict(counts.get(s)).get(str(k), 0)) for s in splits)]
            for k in keys]
    return html_table([title, *splits], rows) if rows else na(title)


def _model_tables(d: Results, nearest: pd.DataFrame, ref: str) -> str:
    """Per model: test metric per mutation count and per Hamming distance to train."""
    out = []
    for column, title in (("mutations", f"Test mutations from the {ref}"),
                          ("hamming", "Test substitutions to the nearest training variant")):
        results: dict[str, dict] = {}
        for name, m in d.models.items():
            path = m["dir"] / layout.PREDICTIONS
            task = m["info"].get("task") or d.task
            if not path.exists() or task not in ("binary", "multiclass", "regression"):
                continue
            pred = read_tsv(path, ("id", "split", "true", "predicted"))
            pred = pred[pred["split"] == "test"].reset_index(drop=True)
            values = pred["id"].map(nearest.set_index("id")[column])
            results[name] = metric_by_value(pred, pd.to_numeric(values, errors="coerce"), task,
                                            list(m["info"].get("class_names") or []), d.metric)
        keys = sorted({k for r in results.values() for k in r})
        if not keys:
            continue
        rows = [[fmt(k), fmt(next((r[k][0] for r in results.values() if k in r), 0)),
                 *(fmt(results[n].get(k, (0, None))[1]) for n in results)] for k in keys]
        out.append(html_table([title, "Test sequences", *(f"{n} {d.metric}" for n in results)],
                              rows))
    return "".join(out)


def variant_section(d: Results) -> str:
    """Section 3b: the variant library judged by mutational distance ("" for other data)."""
    block = as_dict(d.leakage.get("variants"))
    if not block.get("is_variant_library"):
        return ""
    ref = str(block.get("reference", "consensus"))
    path = d.root / layout.NEAREST_TRAIN
    nearest = read_tsv(path) if path.exists() else pd.DataFrame()
    low = (nearest.loc[nearest["split"] == "test", "identity"].min()
           if "identity" in nearest else None)
    how = {"hamming": "exact Hamming distances (MMseqs2 all-vs-all alignment skipped)",
           "mmseqs2": "MMseqs2 identity (lengths differ) beside Hamming distances among "
                      "equal lengths"}.get(str(block.get("identity_audit")),
                                           "Hamming distances among equal lengths (MMseqs2 "
                                           "switched off)")
    out = ['<h2 id="variants">3b. Variant library: mutational distance</h2>',
           f"<p>Detected as a variant library (variants: {esc(block.get('mode'))}): "
           f"{fmt(block.get('n'))} sequences, "
           f"{'equal' if block.get('equal_lengths') else 'near-equal'} lengths "
           f"(L = {fmt(block.get('length'))}), {pct(block.get('fraction_near_consensus'))} "
           f"within {fmt(block.get('max_mutations'))} substitutions of the consensus. "
           f"<b>Identity bins are uninformative here</b>: every held-out variant is a near-copy "
           f"of training variants (lowest test identity to train {pct(low)}), so the audit "
           f"measures mutations from the {esc(ref)} and the distance to the nearest training "
           f"variant instead, by {esc(how)}. {esc(block.get('summary', ''))}.</p>",
           _count_table(f"Mutations from the {ref}", as_dict(block.get("mutations")), SPLITS),
           _count_table("Substitutions to the nearest training variant",
                        as_dict(block.get("hamming_to_train")), SPLITS[1:])]
    if "mutations" in nearest and d.models:
        out.append(_model_tables(d, nearest, ref))
    return "".join(out)


__all__ = ["metric_by_value", "variant_section"]
