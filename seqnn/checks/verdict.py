"""The honesty checks: controls, gaps, metric by identity and length bin, and the verdict.

Everything here works from the files the workflow writes (no torch): each model's
``metrics.json``, ``predictions.tsv``, ``history.csv``; the controls' ``metrics.json``;
``baselines.json``; ``audit.json`` and ``nearest_train.tsv``. :func:`run_checks` gathers
them into ``checks.json`` with one plain-words verdict per model.

Rules (also printed in every report):

* **clear margin**: a model must beat the best shortcut baseline's test metric (MCC for
  classification, Spearman for regression) by at least ``margin`` (default 0.05), else the
  verdict is a warning;
* **permutation control at chance**: the model retrained on shuffled training (and
  validation) labels, repeated with a few seeds, must reach a mean test metric within
  ``max(chance_band, 2 / sqrt(n_test), 2 * sd / sqrt(runs))`` of zero (``chance_band``
  default 0.1; the second term is two standard errors of MCC or Spearman under no
  association, the third two standard errors of the runs' mean: one noise-trained network
  is a random function of the sequence, and on data with strong structure its score lands
  far from zero with a random sign), and the model must beat every permutation run;
* **overfitting**: a train–test gap above ``gap_warn`` (default 0.25) is a warning;
* **leakage**: from the audit, a warning when any test sequence exceeds the split's identity
  threshold to a training sequence.

Metric by bin is in :mod:`seqnn.checks.bins`, the control summaries in
:mod:`seqnn.checks.controls`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import layout
from ..data.files import read_json
from ..metrics import bootstrap_ci, primary_metric
from .bins import IDENTITY_BINS, length_bins, metric_by_bins
from .controls import summarize_controls

SHORTCUT_NAMES = {"majority": "majority class", "length": "length only",
                  "aa_composition": "amino-acid composition", "dipeptide": "dipeptide composition"}


@dataclass(frozen=True)
class CheckSettings:
    """Thresholds of the verdict (see module docstring)."""

    margin: float = 0.05
    chance_band: float = 0.1
    gap_warn: float = 0.25
    bootstrap: int = 1000
    seed: int = 0


def best_shortcut(baselines: dict, metric: str) -> tuple[str, float] | None:
    """The shortcut baseline with the highest test ``metric``: ``(name, value)``."""
    scored = [(k, v["test"].get(metric)) for k, v in baselines.items()
              if v.get("test", {}).get(metric) is not None]
    return max(scored, key=lambda kv: kv[1]) if scored else None


def check_model(model_dir: Path, controls_dir: Path | None, baselines: dict, audit: dict | None,
                nearest: pd.DataFrame | None, lengths: pd.Series,
                settings: CheckSettings) -> dict:
    """All checks of one trained model, ending in a verdict sentence and a status."""
    meta = read_json(model_dir / layout.MODEL_META, strict=True, missing_ok=False)
    task, names = meta["task"], list(meta.get("class_names", []))
    metrics = read_json(model_dir / layout.METRICS, strict=True, missing_ok=False)
    if task == "unsupervised" or meta.get("model") == "autoencoder":
        return _check_autoencoder(model_dir, meta, metrics)
    metric = primary_metric(task)
    pred = pd.read_csv(model_dir / layout.PREDICTIONS, sep="\t", dtype={"id": str})
    test = pred[pred["split"] == "test"].reset_index(drop=True)
    if task != "regression":
        test["true"], test["predicted"] = test["true"].astype(str), test["predicted"].astype(str)
    proba = test[[f"p_{c}" for c in names]].to_numpy() if names and task != "regression" else None
    ci = bootstrap_ci(test["true"], test["predicted"], proba, metric, n=settings.bootstrap,
                      seed=settings.seed, class_names=names or None)
    value = metrics["test"].get(metric)
    entry: dict = {"model": meta.get("model"), "task": task, "metric": metric,
                   "test_metric": value, "ci": list(ci), "warnings": [],
                   "best_epoch": meta.get("member_best_epochs") or meta.get("best_epoch")}
    entry["gap"] = {s: metrics.get(s, {}).get(metric) for s in ("train", "valid", "test")}
    if entry["gap"]["train"] is not None and value is not None:
        entry["gap"]["train_test_gap"] = entry["gap"]["train"] - value
    short = best_shortcut(baselines, metric)
    if short:
        entry["best_shortcut"] = {"name": short[0], "label": SHORTCUT_NAMES.get(short[0], short[0]),
                                  "test_metric": short[1]}
        entry["delta_vs_best_shortcut"] = None if value is None else value - short[1]
    entry["controls"] = summarize_controls(controls_dir, metric, value, settings.chance_band)
    if nearest is not None:
        ident = test["id"].map(nearest.set_index("id")["identity"]).fillna(0.0)
        entry["by_identity_bin"] = metric_by_bins(test, ident, IDENTITY_BINS, task, names, metric)
    test_len = test["id"].map(lengths).astype(float)
    entry["by_length_bin"] = metric_by_bins(test, test_len, length_bins(test_len), task, names,
                                            metric)
    entry["verdict"], entry["warnings"] = _verdict(entry, audit, settings)
    entry["status"] = "warning" if entry["warnings"] else "ok"
    return entry


def _check_autoencoder(model_dir: Path, meta: dict, metrics: dict) -> dict:
    """The autoencoder: reconstruction accuracy per split and, when written, the linear
    probe of its latent vectors (``probe.json``)."""
    acc = {s: metrics.get(s, {}).get("reconstruction_accuracy") for s in ("train", "valid", "test")}
    probe = read_json(model_dir / layout.PROBE, strict=True)
    verdict = (f"autoencoder: test reconstruction accuracy {_fmt(acc['test'])} "
               f"(train {_fmt(acc['train'])})")
    if probe:
        verdict += (f"; a linear probe on its latent vectors reaches test {probe['metric']} "
                    f"{_fmt(probe['test'])}")
    return {"model": "autoencoder", "task": "unsupervised", "status": "ok", "warnings": [],
            "reconstruction_accuracy": acc, "probe": probe, "verdict": verdict,
            "best_epoch": meta.get("best_epoch")}


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _verdict(e: dict, audit: dict | None, s: CheckSettings) -> tuple[str, list[str]]:
    """The plain-words verdict and the warnings of one model's check entry."""
    m, parts, warns = e["metric"].upper() if e["metric"] == "mcc" else e["metric"], [], []
    lo, hi = e["ci"]
    ci = f" [95% CI {_fmt(lo)}, {_fmt(hi)}]" if lo is not None else ""
    parts.append(f"test {m} {_fmt(e['test_metric'])}{ci}")
    short, delta = e.get("best_shortcut"), e.get("delta_vs_best_shortcut")
    if short and delta is not None:
        if delta >= s.margin:
            parts.append(f"beats {short['label']} (the best shortcut) by {_fmt(delta, True)} {m}")
        else:
            warns.append(f"SHORTCUT: does not beat {short['label']} by a clear margin "
                         f"({_fmt(delta, True)} {m}; margin {s.margin})")
    parts.append(_leak_phrase(audit, warns))
    gap = e["gap"].get("train_test_gap")
    if gap is not None:
        parts.append(f"train–test gap {_fmt(gap)}")
        if gap > s.gap_warn:
            warns.append(f"OVERFITTING: train–test gap {_fmt(gap)} exceeds {s.gap_warn}")
    perm, shuf = e["controls"].get("permutation"), e["controls"].get("shuffle")
    if perm:
        runs = len(perm["runs"])
        spread = f" ± {perm['sd']:.3f} over {runs} runs" if runs > 1 else ""
        if perm["chance"] and perm["beats_all_runs"]:
            parts.append(f"label-permutation control at chance ({_fmt(perm['test_metric'])}"
                         f"{spread})")
        elif not perm["chance"]:
            warns.append(f"CONTROL: the label-permutation control does not fall to chance "
                         f"({m} {_fmt(perm['test_metric'])}{spread})")
        else:
            warns.append(f"CONTROL: the model does not beat every label-permutation run "
                         f"(best run {m} {_fmt(max(perm['runs']))})")
    if shuf and shuf.get("delta") is not None:
        parts.append(f"residue order adds {_fmt(shuf['delta'], True)} {m} over shuffled sequences")
    return "; ".join(p for p in parts if p), warns


def _leak_phrase(audit: dict | None, warns: list[str]) -> str:
    if not audit:
        return "leakage not audited"
    thr = audit.get("identity_threshold", 0.3)
    frac = (audit.get("fraction_above_threshold") or {}).get("test")
    if frac is None:
        return "nearest-train identity not measured"
    if audit.get("leak"):
        warns.append(f"LEAKAGE: {100 * frac:.1f}% of test sequences exceed {thr:.0%} identity "
                     "to a training sequence")
        return f"{100 * frac:.1f}% of test sequences above {thr:.0%} identity to train"
    if frac == 0:
        return f"no test sequence above {thr:.0%} identity to train"
    return f"{100 * frac:.1f}% of test sequences above {thr:.0%} identity to train (under the " \
           "audit's leak limit)"


def run_checks(dataset_dir: str | Path, models: list[str], settings: CheckSettings) -> dict:
    """Run every check for ``models`` trained on the dataset in ``dataset_dir``."""
    d = Path(dataset_dir)
    baselines = read_json(d / layout.BASELINES, strict=True) or {}
    audit = read_json(d / layout.AUDIT, strict=True)
    nearest_path = d / layout.NEAREST_TRAIN
    nearest = (pd.read_csv(nearest_path, sep="\t", dtype={"id": str})
               if nearest_path.exists() else None)
    seqs = pd.read_csv(d / layout.SEQUENCES, sep="\t", dtype={"id": str}, keep_default_na=False)
    lengths = seqs.set_index("id")["sequence"].str.len()
    out = {"margin": settings.margin, "chance_band": settings.chance_band,
           "gap_warn": settings.gap_warn, "models": {}, "warnings": []}
    for name in models:
        out["models"][name] = check_model(layout.model_dir(d, name), layout.controls_dir(d, name),
                                          baselines, audit, nearest, lengths, settings)
    if audit:
        out["leakage"] = {k: audit.get(k) for k in ("identity_threshold", "leak",
                                                    "fraction_above_threshold", "warnings")}
        out["warnings"].extend(audit.get("warnings", []))
    first = next(iter(out["models"].values()), {})
    out["task"], out["metric"] = first.get("task"), first.get("metric")
    return out


__all__ = ["SHORTCUT_NAMES", "CheckSettings", "best_shortcut", "check_model", "run_checks"]
