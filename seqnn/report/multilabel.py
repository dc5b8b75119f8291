"""The report's multi-label section: per label, its test scores and decision threshold, and
the labels the model never predicts on test (no torch)."""

from __future__ import annotations

from .. import layout
from .calibration_plots import labelwise_calibration
from .figures import PlotUnavailable
from .html import esc, fmt, html_table, na
from .results import Results


def _calibration(m: dict) -> dict:
    """Per label the temperature and test ECE / Brier before and after it (``{}`` when the
    model has no per-label temperatures or predictions)."""
    temps = m["info"].get("temperature")
    if not isinstance(temps, dict):
        return {}
    try:
        return labelwise_calibration(m["dir"] / layout.PREDICTIONS,
                                      m["info"].get("class_names"), temps)["per_label"]
    except (PlotUnavailable, FileNotFoundError, ValueError, KeyError):
        return {}


def _arrow(row: dict, key: str) -> str:
    return f"{fmt(row[key + '_before'])} &rarr; {fmt(row[key + '_after'])}" if row else ""


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
        cal = _calibration(m)
        rows = [[esc(label), str(s.get("support")), str(s.get("predicted")),
                 fmt(cuts.get(label)), fmt(s.get("precision")), fmt(s.get("recall")),
                 fmt(s.get("f1")), fmt(s.get("mcc")), fmt(s.get("roc_auc")),
                 fmt((cal.get(label) or {}).get("temperature")),
                 _arrow(cal.get(label) or {}, "ece"), _arrow(cal.get(label) or {}, "brier")]
                for label, s in per.items()]
        never = [label for label, s in per.items() if not s.get("predicted")]
        note = (f"<p><b>Never predicted on test:</b> {esc(', '.join(never))} (F1 and MCC 0 "
                "there; the label's threshold was chosen on validation).</p>" if never
                else "<p>Every label is predicted for at least one test protein.</p>")
        parts.append(f"<h3>{esc(name)}</h3>" + html_table(
            ["label", "test positives", "predicted", "threshold", "precision", "recall",
             "F1", "MCC", "ROC AUC", "T", "ECE raw → T", "Brier raw → T"], rows)
            + note)
    if not parts:
        return ""
    return ('<h2 id="labels">6. Labels (multi-label)</h2><p class="muted">One row per label: '
            "test scores at the label's own decision threshold (chosen on the validation "
            "split to maximise its MCC on the calibrated probabilities; stored in model.json). "
            "The headline metric is the mean of the per-label MCCs. T is the label's "
            "temperature (fitted on validation); ECE and Brier are the label's on test before "
            "and after it.</p>" + "".join(parts))


__all__ = ["labels_section"]
