"""File-level entry points of the split and audit stages.

Each reads the workflow's tables, calls :mod:`seqnn.split.methods` or
:mod:`seqnn.split.leakage` and writes its outputs atomically; the CLI is a thin call into
these.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from .. import layout
from ..config import SplitSpec
from ..data.files import write_table, write_text
from ..data.tables import read_sequences, read_table
from ..errors import ConfigError, SeqnnInputError
from . import leakage
from . import methods as sp
from .mmseqs import linclust_flags, search_method

SPLIT_KEYS = {"task", "method", "identity", "coverage", "fractions", "seed", "folds",
              "linclust_above", "audit_sensitivity"}
EVALUE = 10.0


def _split_spec(options: dict[str, Any]) -> tuple[SplitSpec, str | None]:
    """The :class:`SplitSpec` and the task of a split block given as a dict."""
    unknown = sorted(set(options) - SPLIT_KEYS)
    if unknown:
        raise ConfigError(f"split options: unknown key(s) {', '.join(unknown)}")
    opts = dict(options)
    task = opts.pop("task", None)
    if "fractions" in opts:
        opts["fractions"] = tuple(opts["fractions"])
    spec = SplitSpec(**opts)
    if len(spec.fractions) != 3 or abs(sum(spec.fractions) - 1) > 1e-6:
        raise ConfigError("split fractions: three numbers summing to 1 expected")
    return spec, task


def _clustering(spec: SplitSpec, n: int) -> dict[str, Any]:
    """How the cluster split clusters ``n`` sequences: ``search`` (all-pairs graph) up to
    ``linclust_above``, else ``linclust``; with the flags, for the split summary."""
    if n > spec.linclust_above:
        return {"method": "linclust", "linclust_above": spec.linclust_above,
                "flags": linclust_flags(spec.identity, spec.coverage, EVALUE),
                "representatives_search": search_method(0, spec.audit_sensitivity)["flags"]}
    return {"method": "search", "linclust_above": spec.linclust_above,
            "note": "connected components of all similar pairs (exhaustive or -s 7.5 search)"}


def split_from_options(sequences: str, options: dict[str, Any], out: str,
                       summary_path: str | None, workdir: str | None, threads: int) -> pd.DataFrame:
    """Split the sequences table by ``options`` (a split block) and write the split table."""
    spec, task = _split_spec(options)
    df = read_sequences(sequences, task)
    work = Path(workdir) if workdir else Path(out).parent / layout.SPLIT_WORKDIR
    try:
        if spec.method == "given":
            if "split" not in df:
                raise SeqnnInputError(sequences, "split method 'given' but the inputs carry no "
                                      "split (set split: per input file, split_field or "
                                      "split_column)")
            table = sp.split_given(df)
        elif spec.method == "random":
            table = sp.split_random(df, spec.fractions, spec.seed)
        elif spec.method == "stratified":
            table = sp.split_stratified(df, task, spec.fractions, spec.seed)
        else:
            clustering = _clustering(spec, len(df))
            clusters = sp.cluster_sequences(df, spec.identity, spec.coverage, work, threads,
                                            EVALUE, clustering["method"],
                                            spec.audit_sensitivity)
            table = sp.split_cluster(df, task, spec.fractions, spec.seed, clusters=clusters)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if spec.folds > 1:
        clusters = table.set_index("id")["cluster"] if spec.method == "cluster" else None
        folds = sp.kfold_clusters(df, spec.folds, spec.seed, clusters, task)
        table = table.assign(fold=table["id"].map(folds.set_index("id")["fold"]))
    write_table(table, out)
    if summary_path:
        summary = {"method": spec.method, "identity": spec.identity, "coverage": spec.coverage,
                   "fractions": list(spec.fractions), "seed": spec.seed,
                   **({"clustering": _clustering(spec, len(df))} if spec.method == "cluster"
                      else {}),
                   **sp.split_summary(df, table, task)}
        write_text(json.dumps(summary, indent=2, default=str), summary_path)
    return table


def audit_from_options(sequences: str, splits: str, options: dict[str, Any], out: str,
                       nearest_path: str | None, workdir: str | None, threads: int,
                       use_mmseqs: bool = True) -> dict:
    """Run the leakage audit of a split table; write ``audit.json`` and the nearest table."""
    spec, _ = _split_spec({k: v for k, v in options.items() if k in SPLIT_KEYS})
    df = read_sequences(sequences)
    table = read_table(splits, ["id", "split"])
    work = Path(workdir) if workdir else Path(out).parent / layout.AUDIT_WORKDIR
    sensitivity = spec.audit_sensitivity if len(df) > spec.linclust_above else None
    try:
        nearest = None
        if use_mmseqs:
            nearest = leakage.nearest_train_identity(df, table, work, threads, spec.coverage,
                                                     EVALUE, sensitivity=sensitivity)
        report = leakage.audit(df, table, spec.identity, work, threads, use_mmseqs=use_mmseqs,
                               coverage=spec.coverage, evalue=EVALUE, nearest=nearest,
                               sensitivity=sensitivity)
        report["linclust_above"] = spec.linclust_above
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if nearest_path:
        cols = ["id", "split", "nearest_train_id", "identity"]
        frame = nearest[cols] if nearest is not None else pd.DataFrame(columns=cols)
        write_table(frame, nearest_path)
    write_text(json.dumps(report, indent=2, default=str), out)
    return report
