"""Sections 4 (models) and 5 (shortcut baselines) of the HTML report.

Each function takes the loaded results folder (:class:`~seqnn.report.results.Results`) and
returns ready HTML; every text from a file is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .. import layout
from ..data.tables import SPLITS
from .attribution_section import attribution_detail
from .calibration_plots import calibration_note, coverage_table, plot_reliability
from .data_plots import plot_metric_by_bin
from .figures import AUTOENCODER_TASKS, read_tsv
from .html import (
    AE_KEYS,
    CLASS_KEYS,
    LABELS,
    NA,
    REG_KEYS,
    Plots,
    as_dict,
    badge,
    esc,
    fmt,
    html_table,
    level,
    na,
)
from .plots import (
    plot_confusion,
    plot_learning_curves,
    plot_reconstruction,
    plot_roc_pr,
)
from .regression import regression_figure, regression_table
from .results import Results


def _keys(d: Results) -> tuple[str, ...]:
    """The metric columns of the comparison table for this dataset's task, less the
    headline metric, which has its own column with its interval."""
    keys = REG_KEYS if d.task == "regression" else CLASS_KEYS
    return tuple(k for k in keys if k != d.metric)


def _controls(c: Mapping) -> tuple[str, str]:
    """Permutation and shuffle control cells (chance reached is good, else red)."""
    ctl, off = c.get("controls") or {}, c.get("controls_off") or []
    perm, shuf = ctl.get("permutation"), ctl.get("shuffle")
    p = ("off" if "permutation" in off else "—") if not perm else (
        f"{fmt(perm.get('test_metric'))} " + (
            '<span class="good">at chance</span>' if perm.get("chance")
            else '<span class="bad">NOT at chance</span>'))
    s = ("off" if "shuffle" in off else "—") if not shuf else (f"{fmt(shuf.get('test_metric'))} "
                              f"(Δ {fmt(shuf.get('delta'), signed=True)})")
    return p, s


def headline_cell(d: Results, c: Mapping, test: Mapping) -> str:
    """The headline test metric with its CI; for an autoencoder its reconstruction accuracy
    and, when checked, the linear probe of its latent vectors."""
    main = c.get("test_metric", test.get(d.metric))
    ci = c.get("ci") or [None, None]
    head = f"{fmt(main)} [{fmt(ci[0])}, {fmt(ci[-1])}]" if c.get("ci") else fmt(main)
    recon = as_dict(c.get("reconstruction_accuracy")).get("test",
                                                         test.get("reconstruction_accuracy"))
    if main is None and recon is not None:
        head = f"reconstruction {fmt(recon)}"
        probe = as_dict(c.get("probe"))
        if probe:
            head += f"; linear probe {esc(probe.get('metric', ''))} {fmt(probe.get('test'))}"
    return head


def _model_row(d: Results, name: str, m: Mapping) -> list[str]:
    """One comparison-table row: headline metric, task metrics, shortcut delta, controls."""
    c, test = m["check"], as_dict(m["metrics"].get("test"))
    best = as_dict(c.get("best_shortcut"))
    delta = c.get("delta_vs_best_shortcut")
    margin = d.checks.get("margin", 0.0)
    delta_cell = "—" if delta is None else (
        f'<span class="{"good" if delta >= margin else "bad"}">{fmt(delta, signed=True)}'
        f"</span> vs {esc(best.get('label', best.get('name', '?')))}")
    gap = as_dict(c.get("gap")).get("train_test_gap")
    return [f"<b>{esc(name)}</b>", badge(level(c)), headline_cell(d, c, test),
            *(fmt(test.get(k)) for k in _keys(d)), delta_cell, fmt(gap, signed=True),
            _epochs(c.get("best_epoch", m["info"].get("best_epoch"))), *_controls(c)]


def _epochs(value: Any) -> str:
    """A best epoch, or an ensemble's members' best epochs, for a table cell."""
    if isinstance(value, list):
        return esc(", ".join(fmt(v) for v in value))
    return fmt(value)


def _baseline_value(b: Any, split: str, metric: str) -> Any:
    """A baseline's score on ``split``: a number, or ``metric`` from a dict of metrics."""
    v = b.get(split) if isinstance(b, Mapping) else None
    return v.get(metric) if isinstance(v, Mapping) else v


def _comparison(d: Results) -> str:
    """The model comparison table, with the shortcut baselines as grey rows below; the
    verdict is the second column, so it shows on a narrow screen while the rest scrolls."""
    header = ["Model", "Verdict", f"Test {LABELS.get(d.metric, d.metric)} [95% CI]",
              *(LABELS.get(k, k) for k in _keys(d)), "Δ vs best shortcut", "Train–test gap",
              "Best epoch", "Permutation control", "Shuffle control"]
    rows = [_model_row(d, n, m) for n, m in d.models.items()]
    blank = ["—"] * (len(header) - 3 - len(_keys(d)))
    for name, b in d.baselines.items():
        test = as_dict(as_dict(b).get("test"))
        rows.append([f'<span class="muted">shortcut: {esc(name)}</span>',
                     '<span class="muted">shortcut</span>',
                     fmt(_baseline_value(b, "test", d.metric)),
                     *(fmt(test.get(k)) for k in _keys(d)), *blank])
    return html_table(header, rows) if rows else na("Models")


def _history_note(mdir: Path) -> str:
    """Epochs, training time and throughput from ``history.csv``, as one sentence."""
    try:
        h = read_tsv(mdir / layout.HISTORY, ())
    except (OSError, ValueError):
        return ""
    secs = h["seconds"].sum() if "seconds" in h.columns else None
    sps = h["samples_per_sec"].mean() if "samples_per_sec" in h.columns else None
    members = h["member"].nunique() if "member" in h.columns else 1
    who = f" over {members} ensemble members" if members > 1 else ""
    return (f"{len(h)} epochs{who}, {fmt(secs, 1)} s in all, {fmt(sps, 0)} samples/s on "
            "average.")


def _metrics_table(metrics: Mapping) -> str:
    """Train/valid/test rows of every metric in ``metrics.json``, known ones first."""
    known = CLASS_KEYS + REG_KEYS + AE_KEYS + ("n",)
    found = dict.fromkeys(k for s in SPLITS for k in (metrics.get(s) or {})
                          if k != "calibration")  # shown by the reliability diagram
    keys = [k for k in known if k in found] + [k for k in found if k not in known]
    rows = [[esc(s), *(fmt((metrics.get(s) or {}).get(k)) for k in keys)]
            for s in SPLITS if metrics.get(s)]
    return html_table(["Split", *(LABELS.get(k, k) for k in keys)], rows) if rows else na(
        "Metrics (metrics.json)")


def _model_detail(d: Results, name: str, m: Mapping, plot: Plots) -> str:
    """Per-model block: recipe, metrics table, learning curves and task plots."""
    info, mdir, c = m["info"], m["dir"], m["check"]
    params = ", ".join(f"{k}={v}" for k, v in (info.get("params") or {}).items())[:400]
    task = info.get("task") or d.task
    pred, names = mdir / layout.PREDICTIONS, info.get("class_names")
    figs = [plot(plot_learning_curves, mdir / layout.HISTORY, alt=f"{name} learning curves",
                 best_epoch=info.get("best_epoch"), metric=d.metric)
            if (mdir / layout.HISTORY).exists()
            else na("Learning curves (history.csv)")]
    if not pred.exists():
        figs.append(na("Predictions (predictions.tsv)"))
    elif task in AUTOENCODER_TASKS or name.startswith("autoencoder"):
        figs.append(plot(plot_reconstruction, pred, alt=f"{name} reconstruction"))
    elif task == "regression":
        figs.append(regression_figure(d, name, m, plot))
    else:
        figs += [plot(plot_confusion, pred, names, alt=f"{name} confusion matrix"),
                 plot(plot_roc_pr, pred, names, alt=f"{name} ROC and PR"),
                 plot(plot_reliability, pred, names, info.get("temperature", 1.0),
                      alt=f"{name} reliability")]
    if c.get("by_identity_bin") or c.get("by_length_bin"):
        figs.append(plot(plot_metric_by_bin, c, alt=f"{name} metric by bin", metric=d.metric,
                         class_names=names))
    recipe = f"{esc(info.get('model', name))}, task {esc(task or NA)}" + (
        f"; {esc(params)}" if params else "")
    if isinstance(info.get("ensemble"), int) and info["ensemble"] > 1:
        seeds = ", ".join(map(str, info.get("ensemble_seeds") or []))
        recipe += (f"; an ensemble of {fmt(info['ensemble'])} members (seeds {esc(seeds)}) "
                   "averaging their probabilities")
    return (f'<div class="model" id="model-{esc(name)}"><h3>{esc(name)} {badge(level(c))}'
            f'</h3><p class="muted">{recipe}. {esc(_history_note(mdir))}</p>'
            + _cut_note(info, m.get("cuts")) + _data_warnings(m["metrics"])
            + _metrics_table(m["metrics"])
            + (calibration_note(pred, info) if pred.exists() else "") + coverage_table(c)
            + _class_detail(m.get("classes"))
            + (regression_table(c) if task == "regression" else "")
            + f'<div class="plots">{"".join(figs)}</div>'
            + attribution_detail(mdir, name, plot, names) + "</div>")


def _data_warnings(metrics: Mapping) -> str:
    """The data warnings training recorded in ``metrics.json`` (e.g. a class absent from a
    split), one paragraph each."""
    notes = metrics.get("warnings") if isinstance(metrics, Mapping) else None
    return "".join(f'<p class="bad">Warning: {esc(str(n))}</p>' for n in notes or [])


def _cut_note(info: Mapping, cuts: Mapping | None) -> str:
    """One sentence: how many sequences per split were longer than ``max_len``."""
    if not cuts:
        return ""
    rule = {"ends": "the first and last halves of max_len kept", "right": "the start kept",
            "left": "the end kept", "center": "the middle kept"}.get(
        str(info.get("truncate")), str(info.get("truncate", "?")))
    parts = ", ".join(f"{fmt(v['cut'])} of {fmt(v['n'])} {s}" for s, v in cuts.items())
    return (f"<p>Longer than max_len {fmt(info.get('max_len'))} and cut ({esc(rule)}): "
            f"{parts}.</p>")


def _class_detail(table: pd.DataFrame | None) -> str:
    """Per-class test precision / recall / F1; recall 0 in red."""
    if table is None:
        return ""
    rows = [[esc(r["class"]), fmt(int(r["support"])), fmt(int(r["predicted"])),
             fmt(r["precision"]),
             f'<span class="bad">{fmt(r["recall"])}</span>' if r["recall"] == 0
             else fmt(r["recall"]), fmt(r["f1"])] for _, r in table.iterrows()]
    return "<p>Per class, on test:</p>" + html_table(
        ["Class", "Test sequences", "Predicted", "Precision", "Recall", "F1"], rows)


def models_section(d: Results, plot: Plots) -> str:
    """Section 4: comparison table (with shortcuts) and one block per model."""
    details = "".join(_model_detail(d, n, m, plot) for n, m in d.models.items())
    return f'<h2 id="models">4. Models</h2>{_comparison(d)}{details}'


def baselines_section(d: Results) -> str:
    """Section 5: every shortcut baseline on train/valid/test, with its parameters."""
    rows = [[esc(n), *(fmt(_baseline_value(b, s, d.metric)) for s in SPLITS),
             esc(", ".join(f"{k}={v}" for k, v in (b.get("params") or {}).items())
                if isinstance(b, Mapping) else "")] for n, b in d.baselines.items()]
    body = html_table(["Shortcut", *(f"{s} {d.metric}" for s in SPLITS), "Parameters"], rows)
    return f'<h2 id="baselines">5. Shortcut baselines</h2>{body if rows else na("Baselines")}'
