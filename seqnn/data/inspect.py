"""``seqnn inspect``: the first look at new data.

Records, length distribution, residue counts, what the alphabet policy would change,
duplicate ids/sequences, and the label balance when labels are given.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np

from .alphabet import STANDARD, Substitutions, check_policy
from .fasta import (
    DEFAULT_CHUNK,
    SeenIds,
    check_not_nucleotide,
    clean_sequence,
    iter_fasta,
    parse_header_fields,
    source_name,
)
from .flags import DEFAULT_VALID_FIELD, apply_valid_flags
from .labelfilter import compile_header_regex, regex_labels, unknown_label_counts
from .labelsets import label_set_counts, split_label_set
from .tables import SPLITS, read_table


def inspect_fasta(
    path: str,
    policy: str = "map",
    drop_gaps: bool = False,
    labels: str | None = None,
    id_column: str = "id",
    label_column: str = "label",
    header_field: str | None = None,
    max_record: int | None = None,
    label_separator: str | None = None,
    split_field: str | None = None,
    valid_field: str | None = DEFAULT_VALID_FIELD,
    header_regex: str | None = None,
    classes: tuple[str, ...] = (),
) -> dict:
    """Summarise a FASTA file as a JSON-serialisable dict (see module docstring).

    The file is streamed: memory holds the lengths (4 bytes per record), 8-byte hashes of
    the ids and of the sequences (duplicates), the label counts, and one record at a time.
    The checks are :func:`~seqnn.data.fasta.read_fasta`'s. With ``label_separator`` the
    labels are multi-label sets (``A;B``): ``label_sets`` then counts proteins per label,
    labels per protein and the commonest sets (:func:`~seqnn.data.labelsets.label_set_counts`).
    The checks are :func:`~seqnn.data.fasta.read_fasta`'s. With ``split_field`` the given
    split is counted per part, a true ``valid_field`` moving train records to valid
    (:mod:`seqnn.data.flags`). ``header_regex`` reads labels as ingest does (searched in
    the header line without ``>``, id included; group 1 if any, else the whole match);
    with ``classes`` the labels outside them are counted under ``unknown_labels``.
    """
    check_policy(policy)
    name, subs = source_name(path), Substitutions()
    label_of = None
    if labels:
        table = read_table(labels, [id_column, label_column])
        label_of = dict(zip(table[id_column], table[label_column], strict=True))
    key = header_field.upper() if header_field else None
    pattern = (compile_header_regex(header_regex, "--header-regex")
               if header_regex and key is None and label_of is None else None)
    seen, ids, seq_hashes, lengths = SeenIds(name), [], [], []
    residues = np.zeros(256, dtype=np.int64)
    head: list[str] = []  # the first sequences, for the DNA/RNA check
    labelled: Counter = Counter()
    missing = 0
    splits: Counter = Counter()
    for rec in iter_fasta(path, max_record):
        seq = clean_sequence(rec, name, policy, drop_gaps, subs)
        ids.append(rec.id)
        if len(ids) == DEFAULT_CHUNK:
            seen.add(ids)
            ids = []
        data = seq.encode()
        lengths.append(len(seq))
        residues += np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
        seq_hashes.append(int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(),
                                          "little", signed=True))
        if len(head) < 2000:
            head.append(seq)
        if label_of is not None or key is not None or pattern is not None:
            value = (label_of.get(rec.id) if label_of is not None else
                     parse_header_fields(rec.header).get(key, "") if key is not None else
                     regex_labels(pattern, [rec.header])[0])
            if value is None or value == "":
                missing += 1
            else:
                labelled[value] += 1
        if split_field:
            splits[_split_of(rec.header, rec.id, split_field, valid_field, name)] += 1
    seen.add(ids)
    check_not_nucleotide(head, name)
    lengths_arr = np.array(lengths, dtype=np.int64)
    total = int(residues.sum())
    _, counts = np.unique(np.array(seq_hashes, dtype=np.int64), return_counts=True)
    dup_groups = counts[counts > 1]
    summary = {
        "file": str(path),
        "records": len(lengths),
        "residues": total,
        "length": {
            "min": int(lengths_arr.min()), "p25": float(np.percentile(lengths_arr, 25)),
            "median": float(np.median(lengths_arr)),
            "p75": float(np.percentile(lengths_arr, 75)),
            "p95": float(np.percentile(lengths_arr, 95)), "max": int(lengths_arr.max()),
            "mean": round(float(lengths_arr.mean()), 1),
        },
        "residue_fraction": {a: round(int(residues[ord(a)]) / total, 4) for a in STANDARD + "X"},
        "unknown_X": int(residues[ord("X")]),
        "substitutions": dict(subs.counts),
        "duplicate_sequence_groups": len(dup_groups),
        "duplicate_sequence_rows": int(dup_groups.sum() - len(dup_groups)),
    }
    if split_field:
        summary["split_counts"] = {s: splits[s] for s in SPLITS}
    if label_of is not None or key is not None or pattern is not None:
        summary["missing_labels"] = missing
        if classes:
            summary["unknown_labels"] = unknown_label_counts(
                labelled.elements(), classes, "multilabel" if label_separator else "multiclass",
                label_separator or ";")
        if label_separator:
            sets = [";".join(split_label_set(v, label_separator)) for v in labelled.elements()]
            summary["label_sets"] = label_set_counts(sets)
        elif _all_numeric(labelled):
            arr = np.array([float(v) for v in labelled.elements()])
            summary["label_distribution"] = {"mean": float(arr.mean()), "sd": float(arr.std()),
                                             "min": float(arr.min()), "max": float(arr.max())}
        else:
            summary["label_counts"] = dict(sorted(labelled.items()))
    return summary


def _split_of(header: str, rid: str, split_field: str, valid_field: str | None,
              name: str) -> str:
    """The given split of one record from its ``key=value`` header fields."""
    fields = parse_header_fields(header)
    raw = fields.get(split_field.upper(), "")
    flag = fields.get(valid_field.upper()) if valid_field else None
    return apply_valid_flags([raw], [flag], [rid], valid_field or "", name)[0]


def _all_numeric(counts: Counter) -> bool:
    try:
        [float(v) for v in counts]
    except ValueError:
        return False
    return len(counts) > 10


def render_summary(s: dict) -> str:
    """A short human-readable text of an :func:`inspect_fasta` summary."""
    ln = s["length"]
    lines = [
        f"file        {s['file']}",
        f"records     {s['records']:,}   residues {s['residues']:,}",
        f"length      min {ln['min']}  p25 {ln['p25']:g}  median {ln['median']:g}  "
        f"p75 {ln['p75']:g}  p95 {ln['p95']:g}  max {ln['max']}",
        "composition " + " ".join(
            f"{a}:{100 * f:.1f}" for a, f in s["residue_fraction"].items() if f > 0
        ),
        f"non-standard X: {s['unknown_X']}; policy substitutions: "
        + (", ".join(f"{k} x{v}" for k, v in s["substitutions"].items()) or "none"),
        f"duplicates  {s['duplicate_sequence_groups']} group(s) of identical sequences "
        f"({s['duplicate_sequence_rows']} surplus rows)",
    ]
    if "label_counts" in s:
        lines.append("labels      " + ", ".join(f"{k}: {v}" for k, v in s["label_counts"].items()))
    if "label_sets" in s:
        ls = s["label_sets"]
        lines.append("labels      " + ", ".join(f"{k}: {v}" for k, v in ls["labels"].items()))
        lines.append("per protein " + ", ".join(
            f"{k} label(s): {v}" for k, v in ls["labels_per_protein"].items())
            + f"; {ls['distinct_label_sets']} distinct label set(s)")
    if "label_distribution" in s:
        d = s["label_distribution"]
        lines.append(f"labels      mean {d['mean']:.3g} sd {d['sd']:.3g} "
                     f"range {d['min']:.3g}..{d['max']:.3g}")
    if "split_counts" in s:
        c = s["split_counts"]
        lines.append("splits      " + ", ".join(f"{k}: {v}" for k, v in c.items()))
        if not c.get("valid"):
            lines.append("NOTE        no valid records: with split method given, the split "
                         "step carves valid_fraction [0.1] of train")
    if s.get("unknown_labels"):
        from .labelfilter import describe_counts

        n = sum(s["unknown_labels"].values())
        lines.append(f"WARNING     {n} record(s) with a label not in --classes: "
                     f"{describe_counts(s['unknown_labels'])}")
    if s.get("missing_labels"):
        lines.append(f"WARNING     {s['missing_labels']} record(s) have no label")
    return "\n".join(lines)
