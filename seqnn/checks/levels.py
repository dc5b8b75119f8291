"""Severity levels of a verdict: ``fail``, ``caution`` or ``pass``, each with its reasons.

A reason is ``{"level": "fail" | "caution", "code": "LEAKAGE", "short": "...",
"message": "..."}``: ``short`` is the phrase of the one-line why, ``message`` the full
sentence shown in the report. A model's level is its most severe reason's level, ``pass``
without any. The thresholds live in :class:`CheckSettings` (documented in
:mod:`seqnn.checks.verdict`); the small-data rules (tiny splits, a class absent from valid
or test, a collapsed model) are here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import layout

FAIL, CAUTION, PASS = "fail", "caution", "pass"
_RANK = {FAIL: 0, CAUTION: 1}
CONTROLS = ("permutation", "shuffle")


@dataclass(frozen=True)
class CheckSettings:
    """Thresholds of the verdict (see :mod:`seqnn.checks.verdict`)."""

    margin: float = 0.05
    chance_band: float = 0.1
    gap_warn: float = 0.25
    min_valid: int = 30
    min_test: int = 50
    ci_width_warn: float = 0.4
    bootstrap: int = 1000
    seed: int = 0
    controls: tuple[str, ...] = CONTROLS


def reason(level: str, code: str, short: str, message: str) -> dict:
    """One reason of a verdict (see the module docstring)."""
    return {"level": level, "code": code, "short": short, "message": message}


def sort_reasons(reasons: list[dict]) -> list[dict]:
    """``reasons`` with the most severe first (stable within a level)."""
    return sorted(reasons, key=lambda r: _RANK.get(r["level"], 2))


def level_of(reasons: list[dict]) -> str:
    """``fail`` when any reason fails, else ``caution`` when any cautions, else ``pass``."""
    levels = {r["level"] for r in reasons}
    return FAIL if FAIL in levels else CAUTION if CAUTION in levels else PASS


def why_line(level: str, reasons: list[dict], passed: str) -> str:
    """The one line saying why: ``"FAIL: a; b; caution: c"`` (most severe first), or
    ``"PASS: <passed>"`` without reasons."""
    if not reasons:
        return f"PASS: {passed}"
    parts = []
    for lvl in (FAIL, CAUTION):
        shorts = [r["short"] for r in reasons if r["level"] == lvl]
        if shorts:
            head = lvl.upper() if lvl == level else lvl
            parts.append(f"{head}: " + "; ".join(shorts))
    return "; ".join(parts)


def split_stats(dataset_dir: Path) -> dict:
    """Sequences and classes per split from ``sequences.tsv`` and ``splits.tsv``:
    ``{"n": {split: n}, "classes": {split: {class: n}}}`` (empty when either is missing)."""
    seqs_path, splits_path = dataset_dir / layout.SEQUENCES, dataset_dir / layout.SPLITS
    if not (seqs_path.exists() and splits_path.exists()):
        return {}
    seqs = pd.read_csv(seqs_path, sep="\t", dtype=str, keep_default_na=False)
    splits = pd.read_csv(splits_path, sep="\t", dtype=str, keep_default_na=False)
    table = seqs.drop(columns="split", errors="ignore").merge(splits[["id", "split"]], on="id")
    out: dict = {"n": {str(k): int(v) for k, v in table["split"].value_counts().items()}}
    if "label" in table.columns:
        labelled = table[table["label"] != ""]
        out["classes"] = {str(s): {str(k): int(v) for k, v in part["label"].value_counts().items()}
                          for s, part in labelled.groupby("split")}
    return out


def data_reasons(stats: dict, task: str, s: CheckSettings) -> list[dict]:
    """Cautions about the data the verdict rests on: a valid split under ``min_valid`` or a
    test split under ``min_test`` sequences, and (classification) a training class absent
    from valid or test."""
    out = []
    n = stats.get("n") or {}
    for split, least in (("valid", s.min_valid), ("test", s.min_test)):
        if split in n and n[split] < least:
            out.append(reason(CAUTION, "SMALL_DATA", f"tiny {split} split ({n[split]} sequences)",
                              f"SMALL DATA: the {split} split has {n[split]} sequences (under "
                              f"{least}); its scores are noisy"))
    if task in ("binary", "multiclass", "multilabel"):
        classes = stats.get("classes") or {}

        def used(split: str) -> set[str]:  # multi-label: the labels of the label sets
            keys = set(classes.get(split, {}))
            return {n for k in keys for n in k.split(";") if n} if task == "multilabel" else keys

        train = used("train")
        for split in ("valid", "test"):
            absent = sorted(train - used(split))
            if split in classes and absent:
                out.append(reason(CAUTION, "CLASS_ABSENT", f"class {', '.join(absent)} absent "
                                  f"from {split}", f"CLASS ABSENT: {', '.join(absent)} never "
                                  f"occurs in {split}; its recall cannot be measured there"))
    return out


def collapse_reason(test: pd.DataFrame, task: str, best_epoch: object,
                    metrics: dict, metric: str) -> dict | None:
    """A fail when the model never learned: its test predictions are all one value though
    the truth varies, or its best epoch is 1 with a validation and test metric of 0."""
    if len(test) >= 2 and test["true"].nunique() > 1 and test["predicted"].nunique() == 1:
        what = "class" if task != "regression" else "value"
        value = test["predicted"].iloc[0]
        return reason(FAIL, "COLLAPSED", f"collapsed to one {what} ({value})",
                      f"COLLAPSED: every test prediction is {value}; the model never learned "
                      "to tell the sequences apart")
    epochs = best_epoch if isinstance(best_epoch, list) else [best_epoch]
    scores = [metrics.get(s, {}).get(metric) for s in ("valid", "test")]
    if epochs and all(e == 1 for e in epochs) and all(v == 0 for v in scores):
        return reason(FAIL, "COLLAPSED", "never learned (best epoch 1, metric 0)",
                      f"COLLAPSED: best epoch 1 with valid and test {metric} 0; the model never "
                      "learned")
    return None


__all__ = ["CAUTION", "CONTROLS", "FAIL", "PASS", "CheckSettings", "collapse_reason",
           "data_reasons", "level_of", "reason", "sort_reasons", "split_stats", "why_line"]
