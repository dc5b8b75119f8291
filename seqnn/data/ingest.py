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

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import DatasetSpec, InputSpec
from ..errors import PolicyError, SeqnnInputError
from .alphabet import Substitutions, clean
from .fasta import DEFAULT_CHUNK, SeenIds, check_not_nucleotide, parse_header_fields
from .files import atomic_path, temp_beside
from .flags import apply_valid_flags, flag_column
from .labelfilter import LabelFilter, compile_header_regex, regex_labels
from .labelsets import canonical_label_sets, label_set_counts
from .streaming import iter_fasta_records, iter_table
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
    labels: LabelFilter | None = None  # records without a label or outside `classes`

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
            **(self.labels.as_dict() if self.labels is not None else {}),
        }


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base is None else base / p


def _fasta_chunks(spec: InputSpec, path: Path, ds: DatasetSpec, report: IngestReport,
                  max_record: int | None, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The records of one FASTA input, validated, with their labels and given split, as
    DataFrames of at most ``chunk_size`` rows. With a label table and ``missing_labels:
    drop``, the records whose id it lacks are left out here (counted in ``report``)."""
    subs = report.substitutions
    pattern = (compile_header_regex(spec.header_regex, f"{ds.name}: header_regex")
               if spec.header_regex and not spec.header_field else None)
    lookup = _label_lookup(spec, spec.label_column) if spec.labels else None
    splits = _label_lookup(spec, spec.split_column) if spec.labels and spec.split_column \
        else None
    flag = (flag_column(read_table(spec.labels), spec.valid_field) if splits is not None
            else None)
    flags = _label_lookup(spec, flag) if flag is not None else None
    used: set[str] = set()
    for records in iter_fasta_records(path, ds.policy, ds.drop_gaps, subs, max_record,
                                      chunk_size):
        df = pd.DataFrame({"id": [r.id for r in records],
                           "sequence": [r.sequence for r in records]})
        headers = [r.header for r in records]
        if lookup is not None and ds.missing_labels == "drop" and spec.label is None \
                and not spec.header_field and not spec.header_regex:
            known = df["id"].isin(lookup).to_numpy()
            if report.labels is not None:
                report.labels.count_missing(df["id"][~known].tolist(), path)
            df = df[known].reset_index(drop=True)
            headers = [h for h, k in zip(headers, known, strict=True) if k]
        if spec.label is not None:
            df["label"] = spec.label
        elif spec.header_field:
            key = spec.header_field.upper()
            df["label"] = [parse_header_fields(h).get(key, "") for h in headers]
        elif pattern is not None:
            df["label"] = regex_labels(pattern, headers)
        elif lookup is not None:
            df["label"] = _look_up(lookup, df["id"], spec, path)
            used.update(df["id"])
        if spec.split is not None:
            df["split"] = normalise_split(spec.split, path, "(whole file)")
        elif spec.split_field:
            fields = [parse_header_fields(h) for h in headers]
            df["split"] = [f.get(spec.split_field.upper(), "") for f in fields]
            if spec.valid_field:
                marks = [f.get(spec.valid_field.upper()) for f in fields]
                df["split"] = apply_valid_flags(df["split"], marks, df["id"], spec.valid_field,
                                                path)
        elif splits is not None:
            df["split"] = _look_up(splits, df["id"], spec, path)
            if flags is not None:
                marks = _look_up(flags, df["id"], spec, path)
                df["split"] = apply_valid_flags(df["split"], marks, df["id"], flag, spec.labels)
        yield df
    if lookup is not None:
        warn_unused_labels(len(set(lookup) - used), spec.labels)


def _label_lookup(spec: InputSpec, column: str) -> dict[str, str]:
    """``{id: value}`` of ``column`` in the id-keyed table ``spec.labels``."""
    table = read_table(spec.labels, [spec.id_column, column])
    dup = table[spec.id_column].duplicated()
    if dup.any():
        raise SeqnnInputError(spec.labels, "duplicate id in label table",
                              table[spec.id_column][dup].iloc[0])
    return dict(zip(table[spec.id_column], table[column], strict=True))


def _look_up(lookup: dict[str, str], ids: pd.Series, spec: InputSpec, fasta: Path) -> list[str]:
    """The values of ``lookup`` for ``ids``; an id without one is named."""
    missing = [i for i in ids if i not in lookup]
    if missing:
        raise SeqnnInputError(
            fasta, f"no label in {spec.labels} ({len(missing)} id(s) without one; set "
            "missing_labels: drop to leave them out)", missing[0]
        )
    return [lookup[i] for i in ids]


def _table_chunks(spec: InputSpec, path: Path, ds: DatasetSpec, subs: Substitutions,
                  chunk_size: int) -> Iterator[pd.DataFrame]:
    """The rows of one table input (a sequence column), validated, as DataFrames of at most
    ``chunk_size`` rows; ids are ``<file stem>_<row>`` when the table has no id column."""
    seen, first, n = SeenIds(path), True, 0
    for table in iter_table(path, [spec.sequence_column], chunk_size):
        if spec.id_column in table.columns:
            ids = table[spec.id_column].astype(str).tolist()
        else:
            ids = [f"{path.stem}_{n + i + 1}" for i in range(len(table))]
        n += len(table)
        seen.add(ids)
        seqs = []
        for rid, raw in zip(ids, table[spec.sequence_column], strict=True):
            raw = "".join(str(raw).split())
            try:
                seqs.append(clean(raw, rid, ds.policy, ds.drop_gaps, subs))
            except PolicyError as exc:
                where = f"position {exc.position}: " if exc.position else ""
                raise SeqnnInputError(path, where + exc.reason, rid) from None
        if first:
            check_not_nucleotide(seqs, path)
            first = False
        df = pd.DataFrame({"id": ids, "sequence": seqs})
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
                df["split"] = apply_valid_flags(df["split"], table[flag], pd.Series(ids), flag,
                                                path)
        yield df


def _has_split(spec: InputSpec) -> bool:
    return bool(spec.split is not None or spec.split_field or spec.split_column)


def iter_dataset(ds: DatasetSpec, report: IngestReport, base: Path | None = None, *,
                 max_record: int | None = None,
                 chunk_size: int = DEFAULT_CHUNK) -> Iterator[pd.DataFrame]:
    """Every input of ``ds`` read, validated and labelled, as DataFrames of at most
    ``chunk_size`` rows with the columns of the sequences table (``split`` when any input
    gives one; empty labels for an unsupervised dataset). Counts go to ``report``; the
    checks over the whole dataset are :func:`finish`'s."""
    cols = ["id", "sequence", "label", "source"]
    cols += ["split"] if any(_has_split(i) for i in ds.inputs) else []
    report.labels = LabelFilter(ds.task, tuple(ds.classes), ds.unknown_labels,
                                ds.missing_labels, ds.label_separator)
    for spec in ds.inputs:
        path = _resolve(spec.fasta or spec.table, base)
        chunks = (_fasta_chunks(spec, path, ds, report, max_record, chunk_size)
                  if spec.fasta else
                  _table_chunks(spec, path, ds, report.substitutions, chunk_size))
        report.per_source[path.name] = 0
        for part in chunks:
            part["source"] = path.name
            report.per_source[path.name] += len(part)
            if "label" not in part and ds.task != "unsupervised":
                raise SeqnnInputError(path, "no label source given (label, labels, "
                                      "header_field, header_regex or a label column)")
            part = report.labels.apply(part, path)
            part = check_labels(part, ds.task, path, count_classes=False)
            if ds.task == "multilabel":
                part["label"] = canonical_label_sets(part["label"], part["id"].tolist(),
                                                     ds.label_separator, path)
            if "split" in part:
                part["split"] = [normalise_split(v, path, r)
                                 for v, r in zip(part["split"], part["id"], strict=True)]
            yield part.reindex(columns=cols, fill_value="")
    report.labels.raise_refused()


def metadata(part: pd.DataFrame) -> pd.DataFrame:
    """The per-record metadata :func:`finish` needs from a chunk: id, label, source, split
    and a 64-bit hash of the sequence in place of the sequence."""
    meta = part.drop(columns="sequence")
    meta["hash"] = np.fromiter((_seq_hash(s) for s in part["sequence"]), dtype=np.int64,
                               count=len(part))
    return meta


def _seq_hash(seq: str) -> int:
    return int.from_bytes(hashlib.blake2b(seq.encode(), digest_size=8).digest(), "little",
                          signed=True)


def finish(meta: pd.DataFrame, ds: DatasetSpec, report: IngestReport) -> np.ndarray:
    """The checks over the whole dataset, on its metadata (:func:`metadata`): an id in more
    than one input, the number of classes; then the duplicate-sequence counts in ``report``
    and the boolean ``(N,)`` mask of the rows to keep (``drop_duplicates``)."""
    dup = meta["id"].duplicated()
    if dup.any():
        rid = meta.loc[dup, "id"].iloc[0]
        files = ", ".join(meta.loc[meta["id"] == rid, "source"])
        raise SeqnnInputError(files, "the same id appears in more than one input", rid)
    if ds.task in ("binary", "multiclass", "multilabel"):
        check_labels(meta, ds.task, ", ".join(report.per_source))
    keep = _handle_duplicates(meta.reset_index(drop=True), ds, report)
    if ds.task == "multilabel":
        report.label_sets = label_set_counts(meta["label"][keep].tolist())
    return keep


def load_dataset(ds: DatasetSpec, base: Path | None = None, *,
                 max_record: int | None = None) -> tuple[pd.DataFrame, IngestReport]:
    """Read every input of ``ds`` into one validated sequences table and an ingest report;
    ``max_record`` is the longest FASTA record (:func:`~seqnn.data.fasta.max_record_limit`).

    Raises :class:`SeqnnInputError` for any bad input (naming file, record and reason),
    including ids repeated across files, missing labels and non-numeric regression targets.
    The whole table is held in memory; :func:`write_dataset` streams it to a file instead.
    """
    report = IngestReport()
    df = pd.concat(list(iter_dataset(ds, report, base, max_record=max_record)),
                   ignore_index=True)
    keep = finish(metadata(df), ds, report)
    return df[keep].reset_index(drop=True), report


def write_dataset(ds: DatasetSpec, out: str | os.PathLike, base: Path | None = None, *,
                  max_record: int | None = None,
                  chunk_size: int = DEFAULT_CHUNK) -> tuple[int, IngestReport]:
    """:func:`load_dataset` streamed to the sequences table ``out``: the validated rows go
    to a temporary file chunk by chunk and only the per-record metadata stays in memory;
    the rows kept are then copied to ``out`` (atomically). Returns ``(rows, report)``."""
    report = IngestReport()
    metas = []
    with temp_beside(out, "w") as tmp:
        for k, part in enumerate(iter_dataset(ds, report, base, max_record=max_record,
                                              chunk_size=chunk_size)):
            part.to_csv(tmp, sep="\t", index=False, header=k == 0)
            metas.append(metadata(part))
        tmp.flush()
        keep = finish(pd.concat(metas, ignore_index=True), ds, report)
        with atomic_path(out) as target, open(target, "w") as fh:
            start = 0
            for k, part in enumerate(iter_table(tmp.name, chunk_size=chunk_size)):
                part[keep[start : start + len(part)]].to_csv(fh, sep="\t", index=False,
                                                            header=k == 0)
                start += len(part)
    return int(keep.sum()), report


def _handle_duplicates(df: pd.DataFrame, ds: DatasetSpec, report: IngestReport) -> np.ndarray:
    """Count identical-sequence groups (by sequence hash); with ``drop_duplicates`` keep one
    row per sequence (the first in train > valid > test order) and drop sequences with
    conflicting labels. Returns the mask of the rows kept."""
    groups = df.groupby("hash")["label"]
    sizes = groups.size()
    report.duplicate_groups = int((sizes > 1).sum())
    conflicting = groups.nunique() > 1
    report.conflicting_groups = int(conflicting.sum())
    if "split" in df:
        report.cross_split_groups = int((df.groupby("hash")["split"].nunique() > 1).sum())
    if not ds.drop_duplicates or not report.duplicate_groups:
        return np.ones(len(df), dtype=bool)
    order = {"train": 0, "valid": 1, "test": 2}
    rank = df["split"].map(order) if "split" in df else pd.Series(0, index=df.index)
    keep = df.assign(_rank=rank).sort_values("_rank", kind="stable")
    keep = keep[~keep["hash"].isin(conflicting[conflicting].index)]
    keep = keep.drop_duplicates("hash", keep="first")
    report.duplicate_rows_dropped = len(df) - len(keep)
    mask = np.zeros(len(df), dtype=bool)
    mask[keep.index.to_numpy()] = True
    return mask
