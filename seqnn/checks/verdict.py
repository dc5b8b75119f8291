"""The honesty checks: controls, gaps, metric by identity and length bin, and the verdict.

Everything here works from the files the workflow writes (no torch): each model's
``metrics.json``, ``predictions.tsv``, ``history.csv``; the controls' ``metrics.json``;
``baselines.json``; ``audit.json`` and ``nearest_train.tsv``. :func:`run_checks` gathers
them into ``checks.json`` with one plain-words verdict per model.

Every model gets a level, ``fail``, ``caution`` or ``pass``, and one line saying why (the
most severe reasons first); ``checks.json`` keeps each reason with its own level under
``reasons``, the full sentences under ``warnings`` and the plain-words ``verdict``. The
thresholds are fields of :class:`CheckSettings` (defaults in brackets).

**fail** (the score is not a result):

* **leakage**: the audit finds more test sequences above the split's identity threshold to
  a training sequence than its leak limit allows;
* **shortcut not beaten**: the model's test metric (MCC for classification, Spearman for
  regression, the mean per-label MCC for multi-label) is not above the best shortcut
  baseline's by at least ``margin`` [0.05];
* **permutation control not at chance**: the model retrained on shuffled training (and
  validation) labels, repeated with a few seeds, must reach a mean test metric within
  ``max(chance_band, 2 / sqrt(n_test), 2 * sd / sqrt(runs))`` of zero (``chance_band``
  [0.1]; the second term is two standard errors of MCC or Spearman under no association,
  the third two standard errors of the runs' mean), and the model must beat every run;
* **collapsed**: every test prediction is one class (or value), or the best epoch is 1 with
  a validation and test metric of 0.

**caution** (a result, with a caveat):

* **overfitting**: a train–test gap above ``gap_warn`` [0.25];
* **small data**: a valid split under ``min_valid`` [30] or a test split under ``min_test``
  [50] sequences;
* **wide interval**: a 95 % bootstrap interval of the test metric wider than
  ``ci_width_warn`` [0.4];
* **class absent**: a training class that never occurs in valid or test;
* **undertrained**: the run reached its epoch cap with its best epoch the last (validation
  still improving: train longer); **best epoch first**: the best of several epochs is the
  first (learning rate too high, or the model overfits at once); see
  :mod:`seqnn.checks.epochs`.

**pass**: none of the above. An autoencoder is judged by the same rules applied to the
linear probe of its latent vectors (probe vs the best shortcut, leakage, small data); one
without a probe (no labels) gets a caution, since reconstruction alone says nothing about
what its latent space carries. A control switched off in the config is recorded under
``controls_off`` and reads "off" in the report.

Metric by bin is in :mod:`seqnn.checks.bins`, the control summaries in
:mod:`seqnn.checks.controls`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from .. import layout
from ..data.files import read_json
from ..data.labelsets import multi_hot
from ..data.tables import read_text_table
from ..errors import CheckpointError
from ..metrics import bootstrap_ci, multilabel_bootstrap_ci, primary_metric
from ..modelmeta import read_model_info
from .bins import IDENTITY_BINS, length_bins, metric_by_bins
from .controls import summarize_controls
from .epochs import epoch_reasons
from .levels import (
    CAUTION,
    FAIL,
    CheckSettings,
    collapse_reason,
    data_reasons,
    level_of,
    reason,
    sort_reasons,
    split_stats,
    why_line,
)
from .reliability import store_reliability

SHORTCUT_NAMES = {"majority": "majority class", "length": "length only",
                  "aa_composition": "amino-acid composition", "dipeptide": "dipeptide composition",
                  "onehot_ridge": "one-hot ridge (fixed length)"}


def best_shortcut(baselines: dict, metric: str) -> tuple[str, float] | None:
    """The shortcut baseline with the highest test ``metric``: ``(name, value)``."""
    scored = [(k, v["test"].get(metric)) for k, v in baselines.items()
              if v.get("test", {}).get(metric) is not None]
    return max(scored, key=lambda kv: kv[1]) if scored else None


def check_model(model_dir: Path, controls_dir: Path | None, baselines: dict, audit: dict | None,
                nearest: pd.DataFrame | None, lengths: pd.Series,
                settings: CheckSettings, stats: dict | None = None) -> dict:
    """All checks of one trained model, ending in a verdict sentence, a level (``fail`` /
    ``caution`` / ``pass``) with its reasons and the one line saying why. ``stats`` are the
    split sizes and classes of :func:`~seqnn.checks.levels.split_stats`."""
    meta = read_model_info(model_dir)
    if meta is None:
        raise CheckpointError(f"{model_dir / layout.MODEL_META}: missing (not a seqnn model "
                              "directory)")
    task, names = meta["task"], list(meta.get("class_names", []))
    metrics = read_json(model_dir / layout.METRICS, strict=True, missing_ok=False)
    if task == "unsupervised" or meta.get("model") == "autoencoder":
        return _check_autoencoder(model_dir, meta, metrics, baselines, audit, stats or {},
                                  settings)
    metric = primary_metric(task)
    pred = read_text_table(model_dir / layout.PREDICTIONS)
    test = pred[pred["split"] == "test"].reset_index(drop=True)
    if task == "regression":  # read as text ("NA" is a class name); numbers here
        test["true"] = pd.to_numeric(test["true"], errors="coerce")
        test["predicted"] = pd.to_numeric(test["predicted"], errors="coerce")
    else:  # an empty multi-label set is read as NaN
        test["true"] = test["true"].fillna("").astype(str)
        test["predicted"] = test["predicted"].fillna("").astype(str)
    proba = test[[f"p_{c}" for c in names]].to_numpy() if names and task != "regression" else None
    if task == "multilabel":  # label sets -> (N, K) 0/1, resampled by protein
        ci = multilabel_bootstrap_ci(multi_hot(test["true"].tolist(), names),
                                     multi_hot(test["predicted"].tolist(), names), metric,
                                     n=settings.bootstrap, seed=settings.seed)
    else:
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
    entry["controls"] = summarize_controls(controls_dir, metric, value, settings.chance_band,
                                           ran=tuple(settings.controls))
    entry["controls_off"] = [c for c in ("permutation", "shuffle") if c not in settings.controls]
    if nearest is not None:
        ident = test["id"].map(nearest.set_index("id")["identity"]).fillna(0.0)
        entry["by_identity_bin"] = metric_by_bins(test, ident, IDENTITY_BINS, task, names, metric)
        entry["conformal_coverage"] = store_reliability(model_dir, pred, nearest, meta, metric,
                                                        entry["by_identity_bin"], value)
    test_len = test["id"].map(lengths).astype(float)
    entry["by_length_bin"] = metric_by_bins(test, test_len, length_bins(test_len), task, names,
                                            metric)
    entry["verdict"], reasons = _verdict(entry, audit, settings)
    collapsed = collapse_reason(test, task, entry["best_epoch"], metrics, metric)
    reasons += [collapsed] if collapsed else []
    reasons += data_reasons(stats or {}, task, settings)
    reasons += epoch_reasons(model_dir, meta)
    return _judged(entry, reasons, _pass_phrase(entry))


def _judged(entry: dict, reasons: list[dict], passed: str) -> dict:
    """``entry`` with its reasons sorted, level, why line, warnings and legacy status."""
    reasons = sort_reasons(reasons)
    entry["level"] = level_of(reasons)
    entry["reasons"] = reasons
    entry["why"] = why_line(entry["level"], reasons, passed)
    entry["warnings"] = [r["message"] for r in reasons]
    entry["status"] = "ok" if entry["level"] == "pass" else "warning"  # before levels
    return entry


def _pass_phrase(e: dict) -> str:
    """What a passing model achieved, for its why line."""
    short, delta = e.get("best_shortcut"), e.get("delta_vs_best_shortcut")
    beats = (f"beats {short['label']} by {_fmt(delta, True)}" if short and delta is not None
             else "no shortcut to compare")
    controls = ("permutation control at chance" if e["controls"].get("permutation")
                else "permutation control off" if "permutation" in e.get("controls_off", [])
                else "no permutation control")
    return f"{beats}, no leakage, {controls}"


def _check_autoencoder(model_dir: Path, meta: dict, metrics: dict, baselines: dict,
                       audit: dict | None, stats: dict, s: CheckSettings) -> dict:
    """The autoencoder: reconstruction accuracy per split and, when written, the linear
    probe of its latent vectors (``probe.json``), judged like a model: probe vs the best
    shortcut by the margin, leakage of the split, small data."""
    acc = {k: metrics.get(k, {}).get("reconstruction_accuracy") for k in ("train", "valid", "test")}
    probe = read_json(model_dir / layout.PROBE, strict=True)
    verdict = (f"autoencoder: test reconstruction accuracy {_fmt(acc['test'])} "
               f"(train {_fmt(acc['train'])})")
    entry: dict = {"model": "autoencoder", "task": "unsupervised", "reconstruction_accuracy": acc,
                   "probe": probe, "best_epoch": meta.get("best_epoch")}
    reasons: list[dict] = []
    passed = "no probe"
    if probe:
        m = probe.get("metric", "")
        label = m.upper() if m == "mcc" else m
        verdict += (f"; a linear probe on its latent vectors reaches test {label} "
                    f"{_fmt(probe.get('test'))}")
        short = best_shortcut(baselines, m)
        delta = None if short is None or probe.get("test") is None else probe["test"] - short[1]
        if short and delta is not None:
            entry["best_shortcut"] = {"name": short[0], "test_metric": short[1],
                                      "label": SHORTCUT_NAMES.get(short[0], short[0])}
            entry["delta_vs_best_shortcut"] = delta
            name = entry["best_shortcut"]["label"]
            if delta >= s.margin:
                verdict += f", {_fmt(delta, True)} over {name}"
                passed = f"its linear probe beats {name} by {_fmt(delta, True)}, no leakage"
            else:
                reasons.append(reason(FAIL, "SHORTCUT", f"probe does not beat {name}",
                                      f"SHORTCUT: the linear probe of the latent vectors does not "
                                      f"beat {name} by a clear margin ({_fmt(delta, True)} "
                                      f"{label}; margin {s.margin})"))
        task = "binary" if m == "mcc" else "regression"
        reasons += data_reasons(stats, task, s)
    else:
        reasons.append(reason(CAUTION, "NO_PROBE", "no linear probe",
                              "NO PROBE: no linear probe of the latent vectors (no labels); "
                              "reconstruction alone says nothing about what they carry"))
    verdict += "; " + _leak_phrase(audit, reasons)
    reasons += epoch_reasons(model_dir, meta)
    entry["verdict"] = verdict
    return _judged(entry, reasons, passed)


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _verdict(e: dict, audit: dict | None, s: CheckSettings) -> tuple[str, list[dict]]:
    """The plain-words verdict and the reasons (with levels) of one model's check entry."""
    m, parts, why = e["metric"].upper() if e["metric"] == "mcc" else e["metric"], [], []
    lo, hi = e["ci"]
    ci = f" [95% CI {_fmt(lo)}, {_fmt(hi)}]" if lo is not None else ""
    parts.append(f"test {m} {_fmt(e['test_metric'])}{ci}")
    if lo is not None and hi is not None and hi - lo > s.ci_width_warn:
        why.append(reason(CAUTION, "WIDE_CI", f"wide interval ({_fmt(hi - lo)})",
                          f"WIDE INTERVAL: the 95% interval of test {m} is {_fmt(hi - lo)} "
                          f"wide (over {s.ci_width_warn}); the test set cannot pin the score"))
    short, delta = e.get("best_shortcut"), e.get("delta_vs_best_shortcut")
    if short and delta is not None:
        if delta >= s.margin:
            parts.append(f"beats {short['label']} (the best shortcut) by {_fmt(delta, True)} {m}")
        else:
            why.append(reason(FAIL, "SHORTCUT", f"does not beat {short['label']}",
                              f"SHORTCUT: does not beat {short['label']} by a clear margin "
                              f"({_fmt(delta, True)} {m}; margin {s.margin})"))
    parts.append(_leak_phrase(audit, why))
    gap = e["gap"].get("train_test_gap")
    if gap is not None:
        parts.append(f"train–test gap {_fmt(gap)}")
        if gap > s.gap_warn:
            why.append(reason(CAUTION, "OVERFITTING", f"large train–test gap ({_fmt(gap)})",
                              f"OVERFITTING: train–test gap {_fmt(gap)} exceeds {s.gap_warn}"))
    perm, shuf = e["controls"].get("permutation"), e["controls"].get("shuffle")
    if perm:
        runs = len(perm["runs"])
        spread = f" ± {perm['sd']:.3f} over {runs} runs" if runs > 1 else ""
        if perm["chance"] and perm["beats_all_runs"]:
            parts.append(f"label-permutation control at chance ({_fmt(perm['test_metric'])}"
                         f"{spread})")
        elif not perm["chance"]:
            why.append(reason(FAIL, "CONTROL", "permutation control not at chance",
                              f"CONTROL: the label-permutation control does not fall to chance "
                              f"({m} {_fmt(perm['test_metric'])}{spread})"))
        else:
            why.append(reason(FAIL, "CONTROL", "does not beat every permutation run",
                              f"CONTROL: the model does not beat every label-permutation run "
                              f"(best run {m} {_fmt(max(perm['runs']))})"))
    elif "permutation" in e.get("controls_off", []):
        parts.append("label-permutation control off")
    if shuf and shuf.get("delta") is not None:
        parts.append(f"residue order adds {_fmt(shuf['delta'], True)} {m} over shuffled sequences")
    return "; ".join(p for p in parts if p), why


def _leak_phrase(audit: dict | None, why: list[dict]) -> str:
    if not audit:
        return "leakage not audited"
    library = audit.get("variants") or {}
    if library.get("is_variant_library") and library.get("summary") and not audit.get("leak"):
        return str(library["summary"])  # identity is uninformative (seqnn.split.variant_audit)
    thr = audit.get("identity_threshold", 0.3)
    frac = (audit.get("fraction_above_threshold") or {}).get("test")
    if frac is None:
        return "nearest-train identity not measured"
    if audit.get("leak"):
        why.append(reason(FAIL, "LEAKAGE", f"leakage ({100 * frac:.1f}% of test above "
                          f"{thr:.0%} identity)", f"LEAKAGE: {100 * frac:.1f}% of test sequences "
                          f"exceed {thr:.0%} identity to a training sequence"))
        return f"{100 * frac:.1f}% of test sequences above {thr:.0%} identity to train"
    if frac == 0:
        return f"no test sequence above {thr:.0%} identity to train"
    return f"{100 * frac:.1f}% of test sequences above {thr:.0%} identity to train (under the " \
           "audit's leak limit)"


def run_checks(dataset_dir: str | Path, models: list[str], settings: CheckSettings) -> dict:
    """Run every check for ``models`` trained on the dataset in ``dataset_dir``: one entry
    per model (see :func:`check_model`), the settings, the split sizes, the controls switched
    off, the leakage summary, dataset-wide warnings (tiny splits) and the worst ``level``."""
    d = Path(dataset_dir)
    baselines = read_json(d / layout.BASELINES, strict=True) or {}
    audit = read_json(d / layout.AUDIT, strict=True)
    nearest_path = d / layout.NEAREST_TRAIN
    nearest = read_text_table(nearest_path) if nearest_path.exists() else None
    seqs = pd.read_csv(d / layout.SEQUENCES, sep="\t", dtype={"id": str}, keep_default_na=False)
    lengths = seqs.set_index("id")["sequence"].str.len()
    stats = split_stats(d)
    out = {"margin": settings.margin, "chance_band": settings.chance_band,
           "gap_warn": settings.gap_warn, "settings": asdict(settings), "split_sizes":
           stats.get("n", {}), "controls_off": [c for c in ("permutation", "shuffle")
                                                if c not in settings.controls],
           "models": {}, "warnings": []}
    for name in models:
        out["models"][name] = check_model(layout.model_dir(d, name), layout.controls_dir(d, name),
                                          baselines, audit, nearest, lengths, settings, stats)
    out["warnings"].extend(r["message"] for r in data_reasons(stats, "", settings))
    if audit:
        out["leakage"] = {k: audit.get(k) for k in ("identity_threshold", "leak",
                                                    "fraction_above_threshold", "warnings")}
        out["warnings"].extend(audit.get("warnings", []))
    first = next(iter(out["models"].values()), {})
    out["task"], out["metric"] = first.get("task"), first.get("metric")
    out["level"] = level_of([{"level": m["level"]} for m in out["models"].values()])
    return out


__all__ = ["SHORTCUT_NAMES", "CheckSettings", "best_shortcut", "check_model", "run_checks"]
