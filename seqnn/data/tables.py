"""Tables in: TSV/CSV read as strings, split names, label checks, the sequences table.

Labels come from a TSV/CSV keyed by id, a header field or regular expression, one constant
label per file, a table that carries the sequence in a column, or ``key=value`` FASTA
headers (``>P1 TARGET=0.83 SET=train``). Every user mistake raises
:class:`~seqnn.errors.SeqnnInputError`, which names the file, the record (when there is
one) and the reason; the CLI prints it as one line and exits 2.
"""

from __future__ import annotations

import io
import os
import unicodedata
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import SeqnnInputError
from .files import read_text

TASKS = ("binary", "multiclass", "multilabel", "regression", "unsupervised")
SPLITS = ("train", "valid", "test")
#: spellings of split names found in the wild, mapped to seqnn's three
SPLIT_ALIASES = {
    "train": "train", "training": "train", "trn": "train", "tr": "train",
    "valid": "valid", "validation": "valid", "val": "valid", "eval": "valid",
    "evl": "valid", "dev": "valid", "vld": "valid",
    "test": "test", "tst": "test", "te": "test", "heldout": "test", "held-out": "test",
}


#: columns that hold names (ids, labels, class names, splits, sequences): always read verbatim
#: as strings, so that ``NA``, ``null``, ``None``, ``nan``, ``TRUE``, ``1.0`` or ``001`` stay
#: exactly what they are
TEXT_COLUMNS = ("id", "split", "label", "true", "predicted", "sequence", "source",
                "nearest_train_id", "cluster")
#: what pandas reads as missing by default; :func:`read_text_table` applies it to the other
#: (numeric) columns only
NUMERIC_NA = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
              "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


#: the longest class name (characters)
MAX_CLASS_NAME = 200
#: Unicode categories refused in a class name: control and format characters (tabs, line
#: ends, NUL, escape sequences, bidirectional overrides), line/paragraph separators, surrogates
_BAD_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")


def class_name_problem(names: Sequence[object]) -> str | None:
    """Why ``names`` cannot be class names (``None`` when they can): each a string of 1 to
    :data:`MAX_CLASS_NAME` characters without a control or format character, none twice."""
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            return f"class names must be distinct and non-empty strings, got {name!r}"
        if len(name) > MAX_CLASS_NAME:
            return (f"class names must be at most {MAX_CLASS_NAME} characters, got "
                    f"{name[:20]!r}... ({len(name)})")
        bad = next((c for c in name if unicodedata.category(c) in _BAD_CATEGORIES), None)
        if bad is not None:
            return (f"class names must hold no control character, got {name[:40]!r} "
                    f"(with {bad!r})")
        if name in seen:
            return f"class names must be distinct and non-empty, got {name[:40]!r} twice"
        seen.add(name)
    return None


def check_class_names(names: Sequence[object], path: str | os.PathLike) -> None:
    """Refuse unusable class names (:func:`class_name_problem`) with a
    :class:`~seqnn.errors.SeqnnInputError` naming ``path``."""
    problem = class_name_problem(names)
    if problem is not None:
        raise SeqnnInputError(path, problem)


def read_table(path: str | os.PathLike, required: Sequence[str] = ()) -> pd.DataFrame:
    """Read a TSV or CSV (sniffed from the header line) as strings, every field verbatim
    (``NA``, ``null``, ``1.0``, ``001`` are names, never missing values or numbers); check
    required columns."""
    text = read_text(path)
    first = text.splitlines()[0]
    sep = "\t" if "\t" in first else ","
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                         na_filter=False)
    except pd.errors.ParserError as exc:
        raise SeqnnInputError(path, f"cannot parse table ({str(exc).splitlines()[0]})") from None
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SeqnnInputError(
            path, f"missing column(s) {', '.join(missing)}; columns are {column_list(df.columns)}"
        )
    return df


def column_list(columns: Sequence[object], most: int = 10) -> str:
    """The column names of a table for an error message: at most ``most`` of them, each
    shown as is when it is short printable ASCII, else as a short escaped
    :func:`~seqnn.data.fasta.snippet` (the header line of a file that is not a table is
    never echoed whole)."""
    from .fasta import SNIPPET, snippet

    def one(c: object) -> str:
        text = str(c)
        plain = len(text) <= SNIPPET and text.isascii() and text.isprintable()
        return text if plain else snippet(text)

    shown = ", ".join(one(c) for c in list(columns)[:most])
    return shown + (f" ... ({len(columns)} columns)" if len(columns) > most else "")


def read_text_table(path: str | os.PathLike, sep: str = "\t",
                    text_columns: Sequence[str] = TEXT_COLUMNS, **kwargs: object) -> pd.DataFrame:
    """A table seqnn wrote (``predictions.tsv``, ``splits.tsv``, ``nearest_train.tsv``, ...)
    with its name columns (``text_columns`` and :data:`TEXT_COLUMNS`) read verbatim as
    strings -- only an empty field is missing (NaN), ``NA`` or ``null`` is a name -- and its
    other columns parsed as pandas does (numbers; :data:`NUMERIC_NA` spellings are missing).
    ``kwargs`` go to ``pandas.read_csv``."""
    header = pd.read_csv(path, sep=sep, nrows=0, **kwargs).columns
    text = set(text_columns) | set(TEXT_COLUMNS)
    na = {c: ([""] if c in text else list(NUMERIC_NA)) for c in header}
    return pd.read_csv(path, sep=sep, keep_default_na=False, na_values=na, **kwargs,
                       dtype={c: str for c in header if c in text})


def read_sequences(path: str | os.PathLike, task: str | None = None) -> pd.DataFrame:
    """A sequences table (``id``, ``sequence``, ...) with numeric labels for regression."""
    df = read_table(path, ["id", "sequence"])
    if "label" in df and task == "regression":
        try:
            df["label"] = pd.to_numeric(df["label"])
        except (TypeError, ValueError):
            check_labels(df, task, path, count_classes=False)  # names the record
            raise
    return df


def normalise_split(value: str, path: str | os.PathLike, record: str) -> str:
    """Map a split name (train/trn/eval/validation/test/...) to train, valid or test."""
    key = str(value).strip().lower()
    if key not in SPLIT_ALIASES:
        raise SeqnnInputError(
            path, f"unknown split {value!r} (use train, valid or test)", record
        )
    return SPLIT_ALIASES[key]


def check_labels(
    df: pd.DataFrame, task: str, path: str | os.PathLike, count_classes: bool = True
) -> pd.DataFrame:
    """Validate the ``label`` column for ``task``: present for every record, numeric for
    regression, and (with ``count_classes``, for a whole dataset rather than one of its
    files) at least two classes for classification, exactly two for binary."""
    if task not in TASKS:
        raise SeqnnInputError(path, f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if task == "unsupervised":
        return df
    if "label" not in df:
        raise SeqnnInputError(path, f"task {task} needs labels, and none were given")
    empty = df["label"].isna() | (df["label"].astype(str).str.strip() == "")
    if empty.any():
        rid = df.loc[empty, "id"].iloc[0]
        raise SeqnnInputError(path, f"no label ({int(empty.sum())} record(s) without one)", rid)
    if task == "regression":
        values = pd.to_numeric(df["label"], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.astype(float))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise SeqnnInputError(
                path, f"label {df['label'].iloc[i]!r} is not a number (task regression)",
                df["id"].iloc[i],
            )
        huge = values.astype(float).abs() > float(np.finfo(np.float32).max)
        if huge.any():  # targets are float32: this would become infinite
            i = int(np.flatnonzero(huge.to_numpy())[0])
            raise SeqnnInputError(
                path, f"label {df['label'].iloc[i]!r} is out of range (task regression)",
                df["id"].iloc[i],
            )
        return df.assign(label=values.astype(float))
    df = df.assign(label=df["label"].astype(str).str.strip())
    if not count_classes:
        return df
    if task == "multilabel":  # labels, not label sets, are the classes
        from .labelsets import label_names

        classes = list(label_names(df["label"]))
    else:
        classes = sorted(df["label"].unique())
    check_class_names(classes, path)
    n_classes = len(classes)
    if n_classes < 2:
        raise SeqnnInputError(path, f"task {task} needs at least 2 classes, found {n_classes}")
    if task == "binary" and n_classes != 2:
        raise SeqnnInputError(
            path, f"task binary needs exactly 2 classes, found {n_classes}: "
            f"{', '.join(sorted(df['label'].unique())[:6])}"
        )
    return df


def check_label_set(task: str, labels: np.ndarray | None, class_names: Sequence[str],
                    path: str | os.PathLike, where: str = "the data",
                    count_classes: bool = True) -> None:
    """The checks of :func:`check_labels` for labels already encoded (an ``.npz``, a table
    after encoding, one split of a dataset): labels present for a supervised task, finite
    regression targets, distinct non-empty class names (binary: exactly two), class indices
    within them and, with ``count_classes``, at least two classes used. Raises
    :class:`~seqnn.errors.SeqnnInputError` naming ``path`` and ``where``."""
    if task == "unsupervised":
        return
    if labels is None:
        raise SeqnnInputError(path, f"task {task} needs labels, and {where} has none")
    if task == "regression":
        values = np.asarray(labels, dtype=np.float64)
        if not np.isfinite(values).all():
            bad = values[~np.isfinite(values)][0]
            raise SeqnnInputError(path, f"{where} holds a non-finite regression target ({bad})")
        return
    names = [str(c) for c in class_names]
    check_class_names(names, path)
    if task == "multilabel":
        _check_multi_hot(np.asarray(labels), names, path, where, count_classes)
        return
    index = np.asarray(labels)
    if len(index) and (index.min() < 0 or index.max() >= len(names)):
        raise SeqnnInputError(path, f"{where} holds a class index outside 0..{len(names) - 1}")
    used = len(np.unique(index))
    if count_classes and used < 2:
        raise SeqnnInputError(path, f"task {task} needs at least 2 classes in {where}, "
                              f"found {used}")
    if task == "binary" and len(names) != 2:
        raise SeqnnInputError(path, f"task binary needs exactly 2 class names, got {len(names)}"
                              f": {', '.join(map(repr, names[:6]))}")


def _check_multi_hot(labels: np.ndarray, names: list[str], path: str | os.PathLike, where: str,
                     count_classes: bool) -> None:
    """Multi-label targets: ``(N, K)`` 0/1 with one column per label name, and (with
    ``count_classes``) at least two labels with a positive protein."""
    if labels.ndim != 2 or labels.shape[1] != len(names):
        raise SeqnnInputError(path, f"{where}: multi-label targets must be (N, {len(names)}), "
                              f"got shape {labels.shape}")
    if labels.size and not np.isin(labels, (0, 1)).all():
        raise SeqnnInputError(path, f"{where}: multi-label targets must be 0 or 1")
    used = int((labels.sum(axis=0) > 0).sum())
    if count_classes and used < 2:
        raise SeqnnInputError(path, f"task multilabel needs at least 2 labels in {where}, "
                              f"found {used}")


def absent_classes(labels: np.ndarray | None, class_names: Sequence[str]) -> list[str]:
    """The class names no label of ``labels`` (class indices; multi-label: ``(N, K)`` 0/1)
    uses, in class order."""
    if labels is None:
        return []
    arr = np.asarray(labels)
    if arr.ndim == 2:
        return [str(c) for c, n in zip(class_names, arr.sum(axis=0), strict=False) if n == 0]
    used = set(arr.tolist())
    return [str(c) for i, c in enumerate(class_names) if i not in used]


def warn_unused_labels(n_unused: int, path: str | os.PathLike) -> None:
    """Warn (with a count) about labels whose ids are not in the FASTA."""
    if n_unused:
        warnings.warn(f"{path}: {n_unused} label(s) for ids not in the FASTA were ignored",
                      stacklevel=3)
