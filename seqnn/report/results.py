"""A dataset's results folder, loaded once for the report and the index page.

Reads only the files the workflow leaves under ``results/<dataset>/`` (``sequences.tsv``,
``ingest.json``, ``splits.tsv``, ``split_summary.json``, ``audit.json``,
``models/<model>/``, ``baselines.json``, ``checks.json``); any of them may be missing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import layout
from ..data.files import read_json
from ..modelmeta import read_model_info
from .classes import class_table, count_cuts, split_lengths
from .figures import AUTOENCODER_TASKS, CLASSIFICATION, is_continuous, read_tsv
from .html import as_dict


@dataclass
class Results:
    """Everything read from one dataset folder (missing files are empty dicts / None)."""

    root: Path
    ingest: dict
    split_summary: dict
    audit: dict
    baselines: dict
    checks: dict
    sequences: pd.DataFrame | None
    models: dict[str, dict] = field(default_factory=dict)
    task: str | None = None
    metric: str = "mcc"
    split_lengths: pd.DataFrame | None = None  # split and length of every sequence

    @property
    def leakage(self) -> dict:
        """The audit (``audit.json``, else the summary in ``checks.json``)."""
        return self.audit or self.checks.get("leakage") or {}


def load_results(dataset_dir: str | os.PathLike, with_sequences: bool = True) -> Results:
    """Read the files of one dataset folder, tolerating any of them missing."""
    root = Path(dataset_dir)
    seqs = None
    if with_sequences and (root / layout.SEQUENCES).exists():
        try:
            seqs = read_tsv(root / layout.SEQUENCES, ("id", "sequence", "label", "source"))
        except ValueError:
            seqs = None
    d = Results(root, *(read_json(root / f) or {} for f in (
        layout.INGEST_REPORT, layout.SPLIT_SUMMARY, layout.AUDIT, layout.BASELINES,
        layout.CHECKS)), sequences=seqs)
    if seqs is not None and (root / layout.SPLITS).exists():
        with contextlib.suppress(ValueError, KeyError, OSError):
            d.split_lengths = split_lengths(seqs, root / layout.SPLITS)
    checked = as_dict(d.checks.get("models"))
    found = [p.name for p in (root / layout.MODELS_DIR).glob("*") if p.is_dir()]
    for name in [*checked, *sorted(set(found) - set(checked))]:  # checked models first
        mdir = layout.model_dir(root, name)
        d.models[name] = {"dir": mdir, "info": read_model_info(mdir) or {},
                          "metrics": read_json(mdir / layout.METRICS) or {},
                          "check": as_dict(checked.get(name))}
        if with_sequences:  # the index page needs neither table
            d.models[name].update(_class_results(d, d.models[name]))
    d.models = dict(sorted(d.models.items(), key=lambda kv: (  # autoencoders last
        kv[1]["check"].get("task") in AUTOENCODER_TASKS
        or kv[1]["info"].get("task") in AUTOENCODER_TASKS)))
    supervised = (*CLASSIFICATION, "regression", "multilabel")
    first = next((m["check"] for m in d.models.values()
                  if m["check"].get("task") in supervised), {})
    tasks = [first.get("task"), d.checks.get("task"), *(m["info"].get("task")
                                                         for m in d.models.values())]
    d.task = next((t for t in tasks if t in supervised), None)
    if d.task is None and seqs is not None and "label" in seqs.columns:
        d.task = "regression" if is_continuous(seqs["label"]) else "multiclass"
    d.metric = (first.get("metric") or d.checks.get("metric")
                or ("spearman" if d.task == "regression" else "mcc"))
    return d


def _class_results(d: Results, m: Mapping) -> dict:
    """``classes`` (per-class test table or None) and ``cuts`` (sequences over the model's
    ``max_len`` per split, or None) of one model."""
    out: dict = {"classes": None, "cuts": None}
    info, pred = m["info"], m["dir"] / layout.PREDICTIONS
    if info.get("task") in CLASSIFICATION and pred.exists():
        with contextlib.suppress(ValueError, KeyError, OSError):
            out["classes"] = class_table(read_tsv(pred, ("id", "split", "true", "predicted")),
                                         info.get("class_names"))
    if isinstance(info.get("max_len"), int) and d.split_lengths is not None:
        out["cuts"] = count_cuts(d.split_lengths, info["max_len"])
    return out


__all__ = ["Results", "load_results"]
