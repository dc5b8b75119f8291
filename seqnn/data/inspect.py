"""``seqnn inspect``: the first look at new data.

Records, length distribution, residue counts, what the alphabet policy would change,
duplicate ids/sequences, and the label balance when labels are given.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .alphabet import STANDARD, Substitutions
from .fasta import parse_header_fields, read_fasta
from .tables import read_table


def inspect_fasta(
    path: str,
    policy: str = "map",
    drop_gaps: bool = False,
    labels: str | None = None,
    id_column: str = "id",
    label_column: str = "label",
    header_field: str | None = None,
) -> dict:
    """Summarise a FASTA file as a JSON-serialisable dict (see module docstring)."""
    subs = Substitutions()
    records = read_fasta(path, policy=policy, drop_gaps=drop_gaps, subs=subs)
    lengths = np.array([len(r.sequence) for r in records])
    residues = Counter()
    for r in records:
        residues.update(r.sequence)
    total = sum(residues.values())
    seq_counts = Counter(r.sequence for r in records)
    dup_groups = [n for n in seq_counts.values() if n > 1]
    summary = {
        "file": str(path),
        "records": len(records),
        "residues": int(total),
        "length": {
            "min": int(lengths.min()), "p25": float(np.percentile(lengths, 25)),
            "median": float(np.median(lengths)), "p75": float(np.percentile(lengths, 75)),
            "p95": float(np.percentile(lengths, 95)), "max": int(lengths.max()),
            "mean": round(float(lengths.mean()), 1),
        },
        "residue_fraction": {a: round(residues.get(a, 0) / total, 4) for a in STANDARD + "X"},
        "unknown_X": int(residues.get("X", 0)),
        "substitutions": dict(subs.counts),
        "duplicate_sequence_groups": len(dup_groups),
        "duplicate_sequence_rows": int(sum(dup_groups) - len(dup_groups)),
    }
    label_of = None
    if labels:
        table = read_table(labels, [id_column, label_column])
        label_of = dict(zip(table[id_column], table[label_column], strict=True))
    elif header_field:
        key = header_field.upper()
        label_of = {r.id: parse_header_fields(r.header).get(key, "") for r in records}
    if label_of is not None:
        values = [label_of.get(r.id) for r in records]
        summary["missing_labels"] = sum(v is None or v == "" for v in values)
        counts = Counter(v for v in values if v not in (None, ""))
        numeric = _all_numeric(counts)
        if numeric:
            arr = np.array([float(v) for v in counts.elements()])
            summary["label_distribution"] = {"mean": float(arr.mean()), "sd": float(arr.std()),
                                             "min": float(arr.min()), "max": float(arr.max())}
        else:
            summary["label_counts"] = dict(sorted(counts.items()))
    return summary


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
    if "label_distribution" in s:
        d = s["label_distribution"]
        lines.append(f"labels      mean {d['mean']:.3g} sd {d['sd']:.3g} "
                     f"range {d['min']:.3g}..{d['max']:.3g}")
    if s.get("missing_labels"):
        lines.append(f"WARNING     {s['missing_labels']} record(s) have no label")
    return "\n".join(lines)
