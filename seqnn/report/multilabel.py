"""The report's multi-label section: per label, its test scores and decision threshold, and
the labels the model never predicts on test (no torch)."""

from __future__ import annotations

from .html import esc, fmt, html_table, na
from .results import Results


def labels_section(d: Results) -> str:
    """Section 6 for models of task ``multilabel`` (empty for every other task)."""
    parts = []
    for name, m in d.models.items():
        if m["info"].get("task") != "multilabel":
            continue
        per = (m["metrics"].get("test") or {}).get("per_label") or {}
        cuts = m["info"].get("thresholds") or {}
        if not per:
            parts.append(f"<h3>{esc(name)}</h3>" + na("per-label test scores"))
            continue
        rows = [[esc(label), str(s.get("support")), str(s.get("predicted")),
                 fmt(cuts.get(label)), fmt(s.get("precision")), fmt(s.get("recall")),
                 fmt(s.get("f1")), fmt(s.get("mcc")), fmt(s.get("roc_auc"))]
                for label, s in per.items()]
        never = [label for label, s in per.items() if not s.get("predicted")]
        note = (f"<p><b>Never predicted on test:</b> {esc(', '.join(never))} (F1 and MCC 0 "
                "there; the label's threshold was chosen on validation).</p>" if never
                else "<p>Every label is predicted for at least one test protein.</p>")
        parts.append(f"<h3>{esc(name)}</h3>" + html_table(
            ["label", "test positives", "predicted", "threshold", "precision", "recall",
             "F1", "MCC", "ROC AUC"], rows) + note)
    if not parts:
        return ""
    return ('<h2 id="labels">6. Labels (multi-label)</h2><p class="muted">One row per label: '
            "test scores at the label's own decision threshold (chosen on the validation "
            "split to maximise its MCC; stored in model.json). The headline metric is the "
            "mean of the per-label MCCs.</p>" + "".join(parts))


__all__ = ["labels_section"]
