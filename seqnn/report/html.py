"""HTML building blocks of the reports: page, CSS, tables, badges, number formatting, plots
as embedded PNGs and the "How to read this report" text. Every text that comes from a file
is escaped here.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

NA = "not available"
CLASS_KEYS = ("accuracy", "balanced_accuracy", "mcc", "macro_f1", "roc_auc")
REG_KEYS = ("spearman", "pearson", "r2", "rmse")
AE_KEYS = ("reconstruction_accuracy", "loss")
LABELS = {"accuracy": "Accuracy", "balanced_accuracy": "Bal. acc.", "mcc": "MCC",
          "macro_f1": "Macro-F1", "roc_auc": "ROC AUC", "spearman": "Spearman",
          "pearson": "Pearson", "r2": "R²", "rmse": "RMSE", "n": "n", "loss": "Loss",
          "reconstruction_accuracy": "Reconstruction acc."}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 max-width:1150px;margin:0 auto;padding:1em 1.5em 3em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin:.3em 0 .1em}h2{border-bottom:2px solid #ddd;margin-top:2em}
h3{margin:.4em 0 .3em}nav a{margin-right:1.1em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.86em}.wide{overflow-x:auto}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:left;vertical-align:top}
th{background:#f1f3f4}tbody tr:nth-child(even){background:#fafafa}
.verdict{border-left:10px solid;padding:.5em 1em;margin:.7em 0;border-radius:4px}
.verdict p{margin:.3em 0;font-size:1.05em}.verdict.ok{background:#e8f5e9;border-color:#2e7d32}
.verdict.warn{background:#fff3e0;border-color:#e65100}
.verdict.fail{background:#ffebee;border-color:#c62828}.verdict.fail h3{color:#b71c1c}
.verdict .why{font-weight:600}
.verdict.unknown{background:#f5f5f5;border-color:#9e9e9e}
.banner{padding:.7em 1em;margin:1em 0;border-radius:4px}
.banner.alarm{background:#ffebee;border:3px solid #c62828;color:#8e0000;font-size:1.08em}
.banner.ok{background:#e8f5e9;border:1px solid #2e7d32}.banner.none{background:#f5f5f5}
.banner.note{background:#fffde7;border:1px solid #f9a825}
.badge{display:inline-block;padding:0 .5em;border-radius:3px;font-weight:600;color:#fff}
.badge.ok{background:#2e7d32}.badge.warn{background:#ef8f00}.badge.fail{background:#c62828}
.badge.unknown{background:#888}.badge{white-space:nowrap}
.tag{display:inline-block;padding:0 .4em;border-radius:3px;font-size:.85em;font-weight:600;
 border:1px solid}.tag.note{color:#37474f;background:#eceff1;border-color:#90a4ae}
.note-line{color:#37474f}.lvl-fail{color:#c62828;font-weight:600}.lvl-caution{color:#b26a00}
.bad{color:#c62828;font-weight:600}.good{color:#2e7d32}.na,.muted{color:#777}.na{font-style:italic}
.plots{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}
.plots img{max-width:100%;height:auto;border:1px solid #eee}
.howto{background:#f8f9fa;border:1px solid #e0e0e0;border-radius:4px;padding:.2em 1em;
 margin:1em 0}.howto summary{font-weight:600;cursor:pointer;padding:.3em 0}
.model{border:1px solid #ddd;border-radius:6px;padding:.3em 1em 1em;margin:1.2em 0}
dt{font-weight:600}dd{margin:0 0 .5em 1.5em}
"""
HOWTO = (
    ("Verdict levels", "Red FAIL: the score is not a result: the split leaks, the model does not "
     "beat the best shortcut by the margin, its label-permutation control is not at chance, "
     "or it collapsed to one class / never learned. Amber CAUTION: a result with a caveat: a "
     "large train–test gap, a tiny valid or test split, a wide confidence interval, or a class "
     "absent from valid or test. Green PASS: none of these. The first line of each box says "
     "why, most severe first; an autoencoder is judged by the linear probe of its latent "
     "vectors. Below the reasons, a caution that some classes are never recalled on test "
     "comes from the per-class table and does not change the level; a grey NOTE (the "
     "attribution check) is information, not a reason."),
    ("Summary chart", "Each model's test metric (dot) with its 95% bootstrap interval (bar), "
     "coloured by its verdict level; the blue and grey vertical lines are the shortcut "
     "baselines' test scores on the same split, the best one darkest. A model whose interval "
     "overlaps the best shortcut line has not clearly learned more than it."),
    ("Shortcut baselines", "Simple scikit-learn models trained on the same split: majority "
     "class (or mean), length only, amino-acid composition, dipeptide composition. A network "
     "that does not beat them has learned nothing beyond length or composition."),
    ("Δ vs best shortcut and CI", "The model's test metric minus the best baseline's test "
     "metric. The interval is a 95% bootstrap interval over test sequences; a Δ inside the "
     "interval's width is not a clear win."),
    ("Label-permutation control", "The same model trained on shuffled labels. It must fall to "
     "chance; if it does not, the labels leak through something else (duplicates, a bug)."),
    ("Residue-shuffle control", "Test sequences with their residues shuffled (same length and "
     "composition, order destroyed). A small drop means the model mostly uses composition."),
    ("Train–test gap and learning curves", "A large gap between train and test metric means "
     "overfitting. The best epoch (dotted line) is the checkpoint evaluated."),
    ("Leakage audit", "For each held-out sequence, its highest identity to any training "
     "sequence (MMseqs2). Sequences above the threshold have close homologs in training, so "
     "their scores measure recall of near-copies, not generalisation. A model that only works "
     "in the high-identity bins has memorised families; compare datasets split by cluster."),
    ("Metrics", "MCC: 0 is chance and 1 perfect, robust to class imbalance. Balanced accuracy "
     "is the mean recall per class. Spearman/Pearson/R² for regression: higher is better; "
     "RMSE: lower is better."),
)


def esc(value: Any) -> str:
    """``value`` as escaped HTML text."""
    return html.escape(str(value))


def fmt(value: Any, digits: int = 3, signed: bool = False) -> str:
    """A number or text for a table cell (escaped); missing values become an em dash."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return esc(value)


def pct(value: Any) -> str:
    """A fraction in [0, 1] as a percentage, or an em dash."""
    return "—" if not isinstance(value, int | float) else f"{100 * value:.1f}%"


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table: ``header`` is plain text (escaped here), cells are ready HTML."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    # a wide table (many models or metrics) scrolls inside the page instead of overflowing it
    return (f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            "</table></div>")


def na(what: str, why: Any = "") -> str:
    """A grey line saying ``what`` is not available (and ``why``, when given)."""
    return f'<p class="na">{esc(what)}: {NA}' + (f" ({esc(why)})" if why else "") + "</p>"


#: CSS class of each verdict level (and of the statuses of checks.json files before levels)
LEVEL_CLASS = {"pass": "ok", "caution": "warn", "fail": "fail", "ok": "ok", "warning": "warn"}


def level(check: Any) -> str | None:
    """The verdict level of a model's checks entry: its ``level``, else its older
    ``status`` (``ok`` / ``warning``), else None."""
    c = as_dict(check)
    return c.get("level") or c.get("status")


def badge(status: str | None) -> str:
    """A coloured verdict label: fail (red), caution (amber), pass (green), otherwise grey;
    the older statuses ok (green) and warning (amber) still read."""
    cls = LEVEL_CLASS.get(str(status), "unknown")
    return f'<span class="badge {cls}">{esc(status or "no checks")}</span>'


def howto() -> str:
    """Short explanations of each check, as an open box next to the summary."""
    items = "".join(f"<dt>{esc(t)}</dt><dd>{esc(x)}</dd>" for t, x in HOWTO)
    return (f'<details class="howto" id="howto" open><summary>How to read this report'
            f"</summary><dl>{items}</dl></details>")


def page(title: str, body: str) -> str:
    """A complete HTML document with inline CSS."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}'
            f"</title><style>{CSS}</style></head><body><h1>{esc(title)}</h1>{body}</body></html>")


def as_dict(value: Any) -> dict:
    """``value`` when it is a dict, else an empty dict (a file with an unexpected shape)."""
    return value if isinstance(value, dict) else {}


class Plots:
    """Draws plot functions into a temporary folder; returns ``<img>`` tags with the PNG as
    a base64 data URI (a plot its files cannot give reads "not available")."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.count = tmp, 0

    def __call__(self, fn: Callable[..., None], *args: Any, alt: str, **kwargs: Any) -> str:
        """Call ``fn(*args, <png path>, **kwargs)`` and return the image tag."""
        self.count += 1
        path = self.tmp / f"plot{self.count}.png"
        try:
            fn(*args, path, **kwargs)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            return na(alt, exc)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
