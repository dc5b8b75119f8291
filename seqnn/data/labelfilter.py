"""Records whose label is missing or not among the dataset's ``classes``: counted over the
whole dataset, then refused (one line listing every such label with its count) or dropped.

A dataset's ``unknown_labels`` (``error`` | ``drop``) governs a label outside ``classes``
(only when ``classes`` is given, for binary, multiclass and multi-label tasks; a multi-label
record is unknown when any label of its set is), ``missing_labels`` (``error`` | ``drop``) a
record without a label (an empty field, a header without the field, a ``header_regex`` that
does not match, an id absent from the label table). Ingest applies :class:`LabelFilter` to
every chunk it reads and calls :meth:`LabelFilter.raise_refused` after the last one, so the
error names every offending label with its count rather than the first one met.
``seqnn inspect --classes`` uses :func:`unknown_label_counts` for the same preview.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..errors import ConfigError, SeqnnInputError
from .labelsets import split_label_set

#: the modes of ``unknown_labels`` and ``missing_labels``
MODES = ("error", "drop")
#: labels named in one error line at most (the rest are counted)
SHOWN = 20
_CLASSIFICATION = ("binary", "multiclass", "multilabel")


def compile_header_regex(pattern: str, where: str = "header_regex") -> re.Pattern[str]:
    """``pattern`` compiled; an invalid expression raises :class:`ConfigError` naming
    ``where``. The expression is searched (``re.search``) in the header line without its
    ``>``, the id included; the label is group 1 when the pattern has a group, else the
    whole match. A pattern that can backtrack exponentially is refused the same way
    (:func:`seqnn.config_safety.check_header_regex`)."""
    from ..config_safety import check_header_regex

    check_header_regex(pattern, where)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{where}: not a regular expression ({exc})") from None


def regex_labels(pattern: re.Pattern[str], headers: Iterable[str]) -> list[str]:
    """The label of each header by ``pattern`` (see :func:`compile_header_regex`); ``""``
    where it does not match. Only the first :data:`seqnn.config_safety.MAX_REGEX_TEXT`
    characters of a header are searched, which bounds the time a pattern can take (the
    config check refuses the patterns that backtrack exponentially)."""
    from ..config_safety import MAX_REGEX_TEXT

    out = []
    for header in headers:
        m = pattern.search(header[:MAX_REGEX_TEXT])
        out.append("" if m is None else (m.group(1) or "") if m.groups() else m.group(0))
    return out


def _names(value: object, task: str, sep: str) -> list[str]:
    """The class names one label field holds (a multi-label set: each of its names)."""
    if task == "multilabel":
        return split_label_set(value, sep)
    text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
    return [text.strip()] if text.strip() else []


def unknown_label_counts(values: Iterable[object], classes: Sequence[str], task: str = "multiclass",
                         sep: str = ";") -> dict[str, int]:
    """``{label: records}`` of the labels in ``values`` that are not in ``classes``, most
    frequent first (empty when ``classes`` is empty)."""
    known = {str(c) for c in classes}
    counts: Counter = Counter()
    if known:
        for value in values:
            counts.update(n for n in _names(value, task, sep) if n not in known)
    return dict(counts.most_common())


def describe_counts(counts: dict[str, int]) -> str:
    """``'A' (23), 'B' (2)``: the first :data:`SHOWN` labels with their counts."""
    shown = ", ".join(f"{k!r} ({v})" for k, v in list(counts.items())[:SHOWN])
    more = len(counts) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass
class LabelFilter:
    """The label checks of one dataset across all its chunks (see the module doc)."""

    task: str
    classes: tuple[str, ...] = ()
    unknown: str = "error"
    missing: str = "error"
    separator: str = ";"
    unknown_counts: Counter = field(default_factory=Counter)
    unknown_records: int = 0
    missing_count: int = 0
    first_unknown: tuple[str, str] | None = None  # (file, record)
    first_missing: tuple[str, str] | None = None
    seen_classes: set = field(default_factory=set)

    @property
    def active(self) -> bool:
        """Whether labels are checked at all (a supervised task)."""
        return self.task in (*_CLASSIFICATION, "regression")

    def apply(self, part: pd.DataFrame, path: str | os.PathLike) -> pd.DataFrame:
        """``part`` without the records that have no label or an unknown one; both are
        counted (and, in ``error`` mode, refused later by :meth:`raise_refused`)."""
        if not self.active or "label" not in part:
            return part
        names = [_names(v, self.task, self.separator) for v in part["label"]]
        missing = pd.Series([not n for n in names], index=part.index)
        if missing.any():
            self.missing_count += int(missing.sum())
            self.first_missing = self.first_missing or (str(path),
                                                        str(part["id"][missing].iloc[0]))
        unknown = pd.Series(False, index=part.index)
        if self.classes and self.task in _CLASSIFICATION:
            known = set(self.classes)
            bad = [[n for n in ns if n not in known] for ns in names]
            unknown = pd.Series([bool(b) for b in bad], index=part.index)
            for b in bad:
                self.unknown_counts.update(b)
            for ns in names:
                self.seen_classes.update(n for n in ns if n in known)
            if unknown.any():
                self.unknown_records += int(unknown.sum())
                self.first_unknown = self.first_unknown or (str(path),
                                                            str(part["id"][unknown].iloc[0]))
        drop = missing | unknown
        return part[~drop].reset_index(drop=True) if drop.any() else part

    def count_missing(self, ids: Sequence[str], path: str | os.PathLike) -> None:
        """Count records left out before :meth:`apply` because they have no label (ids
        absent from a label table, ``missing_labels: drop``)."""
        if ids:
            self.missing_count += len(ids)
            self.first_missing = self.first_missing or (str(path), str(ids[0]))

    def raise_refused(self) -> None:
        """After the last chunk: raise :class:`SeqnnInputError` for what ``error`` mode
        refuses (records without a label first, then labels outside ``classes``)."""
        if self.missing == "error" and self.first_missing:
            file, rid = self.first_missing
            what = "no label in the label set" if self.task == "multilabel" else "no label"
            raise SeqnnInputError(file, f"{what} ({self.missing_count} record(s) without one; "
                                  "set missing_labels: drop to leave them out)", rid)
        if self.unknown == "error" and self.first_unknown:
            file, rid = self.first_unknown
            absent = [c for c in self.classes if c not in self.seen_classes]
            hint = (f"; classes without any record: {', '.join(map(repr, absent))}"
                    if absent else "")
            raise SeqnnInputError(
                file, f"{self.unknown_records} record(s) with a label not in classes: "
                f"{describe_counts(dict(self.unknown_counts.most_common()))}{hint} "
                "(add them to classes, or set unknown_labels: drop to leave them out)", rid)

    def as_dict(self) -> dict:
        """The counts for ``ingest.json``: only the keys of the ``drop`` modes (a run that
        drops nothing by choice keeps its ingest report as before)."""
        out: dict = {}
        if self.active and self.unknown == "drop":
            out["dropped_unknown_labels"] = dict(self.unknown_counts.most_common())
            out["dropped_unknown_label_records"] = self.unknown_records
        if self.active and self.missing == "drop":
            out["dropped_missing_labels"] = self.missing_count
        return out


__all__ = ["MODES", "LabelFilter", "compile_header_regex", "describe_counts", "regex_labels",
           "unknown_label_counts"]
