"""File-level entry points of the split and audit stages.

Each reads the workflow's tables, calls :mod:`seqnn.split.methods` or
:mod:`seqnn.split.leakage` and writes its outputs atomically; the CLI is a thin call into
these.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .. import layout
from ..config import SplitSpec, check_valid_fraction
from ..config_bounds import check_fields
from ..data.files import write_table, write_text
from ..data.tables import TASKS, read_sequences, read_table
from ..errors import ConfigError, SeqnnInputError
from . import leakage, variant_audit, variants
from . import methods as sp
from .carve import DEFAULT_VALID_FRACTION, carve_valid, check_parts
from .mmseqs import linclust_flags, search_method

SPLIT_KEYS = {"task", "method", "identity", "coverage", "fractions", "seed", "folds",
              "valid_fraction", "variants", "variant_max_mutations", "variant_min_fraction",
              "max_train_mutations", "parent", "linclust_above", "audit_sensitivity"}
EVALUE = 10.0


def _split_spec(options: dict[str, Any]) -> tuple[SplitSpec, str | None]:
    """The :class:`SplitSpec` and the task of a split block given as a dict."""
    unknown = sorted(set(options) - SPLIT_KEYS)
    if unknown:
        raise ConfigError(f"split options: unknown key(s) {', '.join(unknown)}")
    opts = dict(options)
    task = opts.pop("task", None)
    if task is not None and task not in TASKS:
        raise ConfigError(f"split options: unknown task {task!r}; choose one of "
                          f"{', '.join(TASKS)}")
    if "fractions" in opts:
        opts["fractions"] = tuple(opts["fractions"])
    spec = SplitSpec(**opts)
    try:  # identity, coverage, folds, ... within their declared ranges
        check_fields(spec, "split")
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    if len(spec.fractions) != 3 or abs(sum(spec.fractions) - 1) > 1e-6:
        raise ConfigError("split fractions: three numbers summing to 1 expected")
    check_valid_fraction(spec, "split")
    return spec, task


def _given(df: pd.DataFrame, sequences: str, spec: SplitSpec, task: str | None,
           by_cluster: bool, work: Path, threads: int) -> tuple[pd.DataFrame, dict | None]:
    """The given split, with a validation part carved out of train when it has none
    (:mod:`seqnn.split.carve`; whole clusters when ``by_cluster``)."""
    if "split" not in df:
        raise SeqnnInputError(sequences, "split method 'given' but the inputs carry no "
                              "split (set split: per input file, split_field or split_column)")
    try:
        table = sp.split_given(df)
    except ValueError as exc:
        raise SeqnnInputError(sequences, str(exc)) from None
    if (table["split"] == "valid").any():
        return table, None
    fraction = spec.valid_fraction or DEFAULT_VALID_FRACTION
    clusters = None
    if by_cluster:
        train = df[df["id"].isin(table["id"][table["split"] == "train"])]
        clusters = sp.cluster_sequences(train, spec.identity, spec.coverage, work, threads)
    table, info = carve_valid(df, table, task, fraction, spec.seed, clusters)
    if by_cluster:
        info.update(identity=spec.identity, coverage=spec.coverage)
    where = (f", {info['clusters']} cluster(s) at identity {spec.identity:g}" if by_cluster
             else "")
    check_parts(table, sequences, "given", f"carving valid_fraction {fraction:g} of "
                f"{info['n_train_before']} training sequences ({info['how']}{where}) left it "
                "empty; raise valid_fraction, give validation records"
                + (" or leave identity unset for a random carve" if by_cluster else ""))
    return table, info


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
                       summary_path: str | None, workdir: str | None, threads: int,
                       log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Split the sequences table by ``options`` (a split block) and write the split table.

    A given split without validation records gets one carved out of train
    (:func:`~seqnn.split.carve.carve_valid`: whole MMseqs2 clusters when ``options`` sets an
    ``identity``, else stratified or plain random), said in the summary and through ``log``.
    Every method ends with :func:`~seqnn.split.carve.check_parts`: no empty part.
    """
    spec, task = _split_spec(options)
    df = read_sequences(sequences, task)
    work = Path(workdir) if workdir else Path(out).parent / layout.SPLIT_WORKDIR
    carved, extra = None, {}
    try:
        if spec.method == "mutations":  # variant libraries: seqnn.split.variants
            table, extra = variants.split_mutations(df, spec.max_train_mutations, spec.parent,
                                                    spec.fractions, spec.seed)
        elif spec.method == "given":
            table, carved = _given(df, sequences, spec, task, "identity" in options, work,
                                   threads)
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
    check_parts(table, sequences, spec.method)
    if spec.folds > 1:
        clusters = table.set_index("id")["cluster"] if spec.method == "cluster" else None
        folds = sp.kfold_clusters(df, spec.folds, spec.seed, clusters, task)
        table = table.assign(fold=table["id"].map(folds.set_index("id")["fold"]))
    write_table(table, out)
    if carved and log:
        log(f"the given split has no validation records: carved {carved['n_valid']} of "
            f"{carved['n_train_before']} training sequences as valid ({carved['how']}, "
            f"valid_fraction {carved['valid_fraction']:g}, seed {carved['seed']})")
    if summary_path:
        summary = {"method": spec.method, "identity": spec.identity, "coverage": spec.coverage,
                   "fractions": list(spec.fractions), "seed": spec.seed, **extra,
                   **({"clustering": _clustering(spec, len(df))} if spec.method == "cluster"
                      else {}),
                   **sp.split_summary(df, table, task)}
        if carved:
            summary["valid_carved"] = carved
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
    found = variants.detect(df["sequence"].astype(str).tolist(), spec.variants,
                            spec.variant_max_mutations, spec.variant_min_fraction)
    sensitivity = spec.audit_sensitivity if len(df) > spec.linclust_above else None
    try:
        if found["is_variant_library"]:  # mutational distance, see seqnn.split.variant_audit
            report, nearest = variant_audit.audit_library(
                df, table, found, variants.reference(df, spec.parent, found), spec.identity,
                work, threads, use_mmseqs, spec.coverage)
        else:
            nearest = None
            if use_mmseqs:
                nearest = leakage.nearest_train_identity(df, table, work, threads,
                                                         spec.coverage, EVALUE,
                                                         sensitivity=sensitivity)
            report = leakage.audit(df, table, spec.identity, work, threads,
                                   use_mmseqs=use_mmseqs, coverage=spec.coverage,
                                   evalue=EVALUE, nearest=nearest, sensitivity=sensitivity)
            report["variants"] = {k: v for k, v in found.items() if k != "consensus"}
        report["linclust_above"] = spec.linclust_above
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if nearest_path:
        cols = ["id", "split", "nearest_train_id", "identity"] + [
            c for c in ("hamming", "mutations") if nearest is not None and c in nearest]
        frame = nearest[cols] if nearest is not None else pd.DataFrame(columns=cols)
        write_table(frame, nearest_path)
    write_text(json.dumps(report, indent=2, default=str), out)
    return report
