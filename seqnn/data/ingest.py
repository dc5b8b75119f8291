"""A dataset's input files -> one validated sequences table.

The table is ``sequences.tsv`` of a results folder: ``id``, ``sequence`` (clean,
upper case), ``label`` (class name or number; a multi-label task's label set in the
canonical form of :mod:`seqnn.data.labelsets`, e.g. ``Cytoplasm;Membrane``; empty when
unsupervised), ``source`` (the input file), plus ``split`` when the inputs carry a given
split (a per-record split honours the biotrainer/FLIP ``VALIDATION`` flag,
:mod:`seqnn.data.flags`). Every check of
:mod:`seqnn.data.fasta` and :mod:`seqnn.data.tables` applies; the report of what the
alphabet policy changed and of duplicate sequences comes back beside the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import DatasetSpec, InputSpec
from ..errors import PolicyError, SeqnnInputError
from .alphabet import Substitutions, clean
from .fasta import check_not_nucleotide, parse_header_fields, read_fasta
from .flags import apply_valid_flags, flag_column
from .labelsets import canonical_label_sets, label_set_counts
from .tables import check_labels, normalise_split, read_table, warn_unused_labels


@dataclass
class IngestReport:
    """What ingest found: per-source counts, substitutions, duplicates and dropped rows."""

    substitutions: Substitutions = field(default_factory=Substitutions)
    per_source: dict[str, int] = field(default_factory=dict)
    duplicate_groups: int = 0
    cross_split_groups: int = 0
    duplicate_rows_dropped: int = 0
    conflicting_groups: int = 0
    label_sets: dict | None = None  # multilabel: label_set_counts of the kept rows

    def as_dict(self) -> dict:
        """JSON-serialisable summary."""
        return {
            "records_per_source": self.per_source,
            "substitutions": dict(self.substitutions.counts),
            "substitution_summary": self.substitutions.summary(),
            "duplicate_sequence_groups": self.duplicate_groups,
            "cross_split_duplicate_groups": self.cross_split_groups,
            "duplicate_rows_dropped": self.duplicate_rows_dropped,
            "conflicting_label_groups": self.conflicting_groups,
            **({"label_sets": self.label_sets} if self.label_sets is not None else {}),
        }


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base is None else base / p


def _fasta_rows(spec: InputSpec, path: Path, ds: DatasetSpec, subs: Substitutions,
                max_record: int | None = None) -> pd.DataFrame:
    records = read_fasta(path, ds.policy, ds.drop_gaps, subs, max_record=max_record)
    df = pd.DataFrame({"id": [r.id for r in records], "sequence": [r.sequence for r in records]})
    headers = [r.header for r in records]
    if spec.label is not None:
        df["label"] = spec.label
    elif spec.header_field:
        key = spec.header_field.upper()
        df["label"] = [parse_header_fields(h).get(key, "") for h in headers]
    elif spec.header_regex:
        pattern = re.compile(spec.header_regex)
        found = [pattern.search(h) for h in headers]
        df["label"] = [(m.group(1) if m.groups() else m.group(0)) if m else "" for m in found]
    elif spec.labels:
        df["label"] = _labels_from_table(spec, df["id"], path)
    if spec.split is not None:
        df["split"] = normalise_split(spec.split, path, "(whole file)")
    elif spec.split_field:
        fields = [parse_header_fields(h) for h in headers]
        df["split"] = [f.get(spec.split_field.upper(), "") for f in fields]
        if spec.valid_field:
            flags = [f.get(spec.valid_field.upper()) for f in fields]
            df["split"] = apply_valid_flags(df["split"], flags, df["id"], spec.valid_field, path)
    elif spec.labels and spec.split_column:
        df["split"] = _labels_from_table(spec, df["id"], path, column=spec.split_column)
        flag = flag_column(read_table(spec.labels), spec.valid_field)
        if flag is not None:
            flags = _labels_from_table(spec, df["id"], path, column=flag)
            df["split"] = apply_valid_flags(df["split"], flags, df["id"], flag, spec.labels)
    return df


def _labels_from_table(spec: InputSpec, ids: pd.Series, fasta: Path,
                       column: str | None = None) -> list[str]:
    """Labels (or another column) for ``ids`` from the id-keyed table ``spec.labels``."""
    column = column or spec.label_column
    table = read_table(spec.labels, [spec.id_column, column])
    dup = table[spec.id_column].duplicated()
    if dup.any():
        raise SeqnnInputError(spec.labels, "duplicate id in label table",
                              table[spec.id_column][dup].iloc[0])
    lookup = dict(zip(table[spec.id_column], table[column], strict=True))
    missing = [i for i in ids if i not in lookup]
    if missing:
        raise SeqnnInputError(
            fasta, f"no label in {spec.labels} ({len(missing)} id(s) without one)", missing[0]
        )
    warn_unused_labels(len(set(lookup) - set(ids)), spec.labels)
    return [lookup[i] for i in ids]


def _table_rows(spec: InputSpec, path: Path, ds: DatasetSpec, subs: Substitutions) -> pd.DataFrame:
    cols = [spec.sequence_column]
    table = read_table(path, cols)
    if spec.id_column in table.columns:
        ids = table[spec.id_column].astype(str)
    else:
        ids = pd.Series([f"{path.stem}_{i + 1}" for i in range(len(table))])
    dup = ids.duplicated()
    if dup.any():
        raise SeqnnInputError(path, "duplicate id", ids[dup].iloc[0])
    seqs = []
    for rid, raw in zip(ids, table[spec.sequence_column], strict=True):
        raw = "".join(str(raw).split())
        try:
            seqs.append(clean(raw, rid, ds.policy, ds.drop_gaps, subs))
        except PolicyError as exc:
            where = f"position {exc.position}: " if exc.position else ""
            raise SeqnnInputError(path, where + exc.reason, rid) from None
    check_not_nucleotide(seqs, path)
    df = pd.DataFrame({"id": ids.to_numpy(), "sequence": seqs})
    if spec.label is not None:
        df["label"] = spec.label
    elif spec.label_column in table.columns:
        df["label"] = table[spec.label_column].to_numpy()
    if spec.split is not None:
        df["split"] = normalise_split(spec.split, path, "(whole file)")
    elif spec.split_column:
        if spec.split_column not in table.columns:
            raise SeqnnInputError(path, f"missing split column {spec.split_column!r}")
        df["split"] = table[spec.split_column].to_numpy()
        flag = flag_column(table, spec.valid_field)
        if flag is not None:
            df["split"] = apply_valid_flags(df["split"], table[flag], ids, flag, path)
    return df


def load_dataset(ds: DatasetSpec, base: Path | None = None, *,
                 max_record: int | None = None) -> tuple[pd.DataFrame, IngestReport]:
    """Read every input of ``ds`` into one validated sequences table and an ingest report;
    ``max_record`` is the longest FASTA record (:func:`~seqnn.data.fasta.max_record_limit`).

    Raises :class:`SeqnnInputError` for any bad input (naming file, record and reason),
    including ids repeated across files, missing labels and non-numeric regression targets.
    """
    report = IngestReport()
    parts = []
    for spec in ds.inputs:
        path = _resolve(spec.fasta or spec.table, base)
        if spec.fasta:
            part = _fasta_rows(spec, path, ds, report.substitutions, max_record)
        else:
            part = _table_rows(spec, path, ds, report.substitutions)
        part["source"] = path.name
        report.per_source[path.name] = len(part)
        if "label" not in part and ds.task != "unsupervised":
            raise SeqnnInputError(path, "no label source given (label, labels, header_field, "
                                  "header_regex or a label column)")
        part = check_labels(part, ds.task, path, count_classes=False)
        if ds.task == "multilabel":
            part["label"] = canonical_label_sets(part["label"], part["id"].tolist(),
                                                 ds.label_separator, path)
        if "split" in part:
            part["split"] = [normalise_split(v, path, r) for v, r in zip(part["split"],
                                                                        part["id"], strict=True)]
        parts.append(part)
    df = pd.concat(parts, ignore_index=True)
    dup = df["id"].duplicated()
    if dup.any():
        rid = df.loc[dup, "id"].iloc[0]
        files = ", ".join(df.loc[df["id"] == rid, "source"])
        raise SeqnnInputError(files, "the same id appears in more than one input", rid)
    if "label" not in df:
        df["label"] = ""
    if ds.task in ("binary", "multiclass", "multilabel"):
        check_labels(df, ds.task, ", ".join(report.per_source))
    df = _handle_duplicates(df, ds, report)
    if ds.task == "multilabel":
        report.label_sets = label_set_counts(df["label"].tolist())
    cols = ["id", "sequence", "label", "source"] + (["split"] if "split" in df else [])
    return df[cols].reset_index(drop=True), report


def _handle_duplicates(df: pd.DataFrame, ds: DatasetSpec, report: IngestReport) -> pd.DataFrame:
    """Count identical-sequence groups; with ``drop_duplicates`` keep one row per sequence
    (the first in train > valid > test order) and drop sequences with conflicting labels."""
    groups = df.groupby("sequence")["label"]
    sizes = groups.size()
    report.duplicate_groups = int((sizes > 1).sum())
    conflicting = groups.nunique() > 1
    report.conflicting_groups = int(conflicting.sum())
    if "split" in df:
        report.cross_split_groups = int((df.groupby("sequence")["split"].nunique() > 1).sum())
    if not ds.drop_duplicates or not report.duplicate_groups:
        return df
    order = {"train": 0, "valid": 1, "test": 2}
    rank = df["split"].map(order) if "split" in df else pd.Series(0, index=df.index)
    keep = df.assign(_rank=rank).sort_values("_rank", kind="stable")
    keep = keep[~keep["sequence"].isin(conflicting[conflicting].index)]
    keep = keep.drop_duplicates("sequence", keep="first").sort_index().drop(columns="_rank")
    report.duplicate_rows_dropped = len(df) - len(keep)
    return keep
