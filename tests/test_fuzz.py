"""Property-based tests (Hypothesis) of seqnn's promises on hostile input (issue 12).

For every generated FASTA file, header, label table, ``model.json`` and workflow config:
the command exits 0 or 2, never ends in a traceback, never leaves a partial output or a
temporary file, and leaves its inputs byte-identical. Only the public entry points are used
(the ``seqnn`` click group driven in-process, ``seqnn.workflow.check_workflow``, ``seqnn.load``).
Profiles (``ci``, ``long``) are registered in ``conftest.py``; each ``@example`` beside a
property is the minimal input that once broke it (the holes of issue 12, all fixed).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import re
import resource
import shutil
import string
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

import seqnn
from seqnn.cli import main
from seqnn.config import ConfigError
from seqnn.workflow import check_workflow


def budget(fraction: float) -> int:
    """Examples for a property: ``fraction`` of the profile's ``max_examples`` (at least 2)."""
    return max(2, int(settings.default.max_examples * fraction))



# ----------------------------------------------------------------------------- helpers

def invoke(*args: object, stdin: bytes | None = None) -> Result:
    """Run ``seqnn ARGS`` in-process (click's test runner; stdout and stderr kept apart)."""
    return CliRunner().invoke(main, [str(a) for a in args], input=stdin)


def describe(res: Result) -> str:
    """The exception (type: message) and the output, for assertion messages."""
    exc = res.exception
    last = f"{type(exc).__name__}: {exc}" if exc is not None else "no exception"
    return f"exit {res.exit_code}; {last}\n--- output:\n{res.output[-2000:]}"


def assert_clean_exit(res: Result) -> None:
    """Exit 0 or 2, no traceback; an exit 2 says why on one ``seqnn: error:``/click line."""
    exc = res.exception
    event(f"exit {res.exit_code}")
    assert exc is None or isinstance(exc, SystemExit), describe(res)
    assert res.exit_code in (0, 2), describe(res)
    assert "Traceback" not in res.output, describe(res)
    if res.exit_code == 2:
        errors = [ln for ln in res.stderr.splitlines()
                  if ln.startswith(("seqnn: error:", "Error:"))]
        assert len(errors) == 1, describe(res)


@contextmanager
def folder(files: dict[str, bytes]) -> Iterator[Path]:
    """A fresh temporary folder holding ``files``; on leaving, checks they are unchanged."""
    with tempfile.TemporaryDirectory(prefix="seqnn-fuzz-") as name:
        root = Path(name)
        for rel, data in files.items():
            (root / rel).write_bytes(data)
        yield root
        for rel, data in files.items():
            assert (root / rel).read_bytes() == data, f"input {rel} was changed"


def assert_outputs(root: Path, inputs: dict[str, bytes], res: Result, *outs: str) -> None:
    """The folder holds the inputs, plus the outputs ``outs`` only after exit 0: no partial
    output after an error and no temporary file either way."""
    expected = set(inputs) | (set(outs) if res.exit_code == 0 else set())
    assert set(os.listdir(root)) == expected, describe(res)


def read_tsv(path: Path) -> list[list[str]]:
    """Rows of a complete TSV (header first): every row has the header's number of fields."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), "TSV does not end with a newline (truncated?)"
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    assert rows and all(len(r) == len(rows[0]) for r in rows), rows[:5]
    return rows


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Arrays of a complete encoded ``.npz`` (no pickles); offsets agree with the tokens."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    assert arrays["offsets"][-1] == len(arrays["tokens"])
    assert len(arrays["offsets"]) == len(arrays["ids"]) + 1
    return arrays


# ----------------------------------------------------------------------------- the tiny model

TRAIN_SEQS = [
    "KKKKWLRAGG", "EEEEDLSAGT", "KKRKLLAVGW", "EDEEPSTNQA", "KRKKIVGLAW", "DEEESSNAQT",
    "KKKRWAGLLV", "EEDESQNTAP", "RKKKGGLAWI", "EEEDATSNPQ", "KKKKLWVRAG", "DEDETPQSNA",
    "KRRKAVWLGI", "EEEEQTNSAD", "KKRKGWLAVI", "EEDDNAPSTQ", "KKKKIWGALR", "EDEEQSATNP",
    "RKKKWLAIGV", "EEEETNQDSA",
]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An mlp trained for one epoch on 20 hand-written peptides (max_len 30), via the CLI."""
    root = tmp_path_factory.mktemp("fuzz-model")
    ids = [f"s{i}" for i in range(len(TRAIN_SEQS))]
    labels = ["pos" if s[0] in "KR" else "neg" for s in TRAIN_SEQS]
    (root / "seqs.tsv").write_text("id\tsequence\tlabel\tsource\n" + "".join(
        f"{i}\t{s}\t{y}\tx\n" for i, s, y in zip(ids, TRAIN_SEQS, labels, strict=True)))
    (root / "splits.tsv").write_text("id\tsplit\n" + "".join(
        f"{i}\t{'train' if k < 14 else 'valid'}\n" for k, i in enumerate(ids)))
    spec = {"model": "mlp", "params": {"hidden": [4]},
            "train": {"epochs": 1, "batch_size": 8, "max_len": 30}}
    res = invoke("train", root / "seqs.tsv", root / "splits.tsv", "--task", "binary",
                 "--spec", json.dumps(spec), "--quiet", "--device", "cpu", "--seed", "0",
                 "--out", root / "model")
    assert res.exit_code == 0, describe(res)
    return root / "model"


# ----------------------------------------------------------------------------- FASTA bytes

RESIDUES = "ACDEFGHIKLMNPQRSTVWY"
ODD = "acdefghiklmnpqrstvwyBZJUOX*-."
IDS = st.text(string.ascii_letters + string.digits + "_|.:", min_size=1, max_size=8)
SEQS = st.text(RESIDUES, min_size=1, max_size=50) | st.text(RESIDUES + ODD, min_size=1,
                                                            max_size=50)


def record(header: str, seq: str, width: int) -> bytes:
    """One FASTA record: the header line, then the sequence in lines of ``width``."""
    lines = [seq[i:i + width] for i in range(0, len(seq), width)]
    return (f">{header}\n" + "\n".join(lines) + "\n").encode()


RECORD = st.tuples(IDS, SEQS, st.integers(1, 60))  # assembled with a unique id suffix
NOISE = st.one_of(
    st.binary(max_size=12),
    st.just(b"\x00"),
    st.just(b">\n"),  # '>' alone
    IDS.map(lambda i: f">{i}\n".encode()),  # a record without sequence
    st.just(b"\n\n"),
    st.just(b"\xef\xbb\xbf"),  # a byte-order mark
    st.text(max_size=8).map(str.encode),  # any unicode
)
EOLS = st.sampled_from([b"\n", b"\r\n", b"\r"])


def pack(data: bytes, packing: str, cut: float) -> bytes:
    """``data`` plain, gzip-compressed, or gzip-compressed and cut at fraction ``cut``."""
    if packing == "plain":
        return data
    data = gzip.compress(data, mtime=0)
    return data[:int(len(data) * cut)] if packing == "cut gzip" else data


@st.composite
def fasta_bytes(draw: st.DrawFn, noise: bool = True) -> bytes:
    """A FASTA file as users (and attackers) have them: valid records (lowercase, B/Z/J/U/O/X,
    '*', gaps) mixed, in about half the files, with random bytes, NUL, '>' alone and empty
    records; LF, CRLF or CR-only line ends; plain, gzip or a truncated gzip."""
    pieces: list[bytes] = [record(f"{h}_{k}", s, w)
                           for k, (h, s, w) in enumerate(draw(st.lists(RECORD, max_size=5)))]
    if noise and draw(st.booleans()):
        for piece in draw(st.lists(NOISE, min_size=1, max_size=3)):
            pieces.insert(draw(st.integers(0, len(pieces))), piece)
    data = b"".join(pieces).replace(b"\n", draw(EOLS))
    packing = draw(st.sampled_from(["plain", "plain", "gzip", "cut gzip"]))
    return pack(data, packing, draw(st.floats(0, 0.99)))


@settings(max_examples=budget(1.0))
@given(data=fasta_bytes())
def test_inspect_any_fasta(data: bytes) -> None:
    inputs = {"in.fa": data}
    with folder(inputs) as root:
        res = invoke("inspect", root / "in.fa", "--json")
        assert_clean_exit(res)
        assert_outputs(root, inputs, res)
        if res.exit_code == 0:
            assert json.loads(res.stdout)["records"] >= 1


@settings(max_examples=budget(1.0))
@given(data=fasta_bytes())
def test_encode_any_fasta(data: bytes) -> None:
    inputs = {"in.fa": data}
    with folder(inputs) as root:
        res = invoke("encode", root / "in.fa", "-o", root / "out.npz")
        assert_clean_exit(res)
        assert_outputs(root, inputs, res, "out.npz")
        if res.exit_code == 0:
            read_npz(root / "out.npz")


PREDICT_HEADER = ["id", "length", "truncated", "predicted", "p_neg", "p_pos", "flags"]


@settings(max_examples=budget(0.6))
@given(data=fasta_bytes(), stdin=st.booleans())
def test_predict_any_fasta(tiny_model: Path, data: bytes, stdin: bool) -> None:
    inputs = {"in.fa": data}
    with folder(inputs) as root:
        source = "-" if stdin else root / "in.fa"
        res = invoke("predict", tiny_model, source, "-o", root / "out.tsv", "--device", "cpu",
                     "--no-nearest", stdin=data if stdin else None)
        assert_clean_exit(res)
        assert_outputs(root, inputs, res, "out.tsv")
        if res.exit_code == 0:
            rows = read_tsv(root / "out.tsv")
            assert rows[0] == PREDICT_HEADER and len(rows) >= 2


@settings(max_examples=budget(0.6))
@example(data=b">0_0\rA\r")
@given(data=fasta_bytes(noise=False))
def test_encode_and_predict_read_the_same_records(tiny_model: Path, data: bytes) -> None:
    inputs = {"in.fa": data}
    with folder(inputs) as root:
        enc = invoke("encode", root / "in.fa", "-o", root / "out.npz")
        pred = invoke("predict", tiny_model, root / "in.fa", "-o", root / "out.tsv",
                      "--device", "cpu", "--no-nearest")
        assert (enc.exit_code, pred.exit_code) in ((0, 0), (2, 2)), (describe(enc),
                                                                     describe(pred))
        if enc.exit_code == 0:
            ids = read_npz(root / "out.npz")["ids"].tolist()
            assert [r[0] for r in read_tsv(root / "out.tsv")[1:]] == ids


@settings(max_examples=budget(0.1))
@example(data=b">a\nA\n", command="encode")
@given(data=fasta_bytes(noise=False), command=st.sampled_from(["encode", "predict"]))
def test_output_onto_the_input_is_refused(tiny_model: Path, data: bytes, command: str) -> None:
    inputs = {"in.fa": data}
    with folder(inputs) as root:  # checks that in.fa is unchanged
        args = ["encode"] if command == "encode" else ["predict", tiny_model, "--device", "cpu"]
        res = invoke(*args, root / "in.fa", "-o", root / "in.fa")
        assert_clean_exit(res)
        assert res.exit_code == 2
        assert_outputs(root, inputs, res)


@settings(max_examples=budget(0.1))
@example(data=b">a\nA\n", command="encode")
@given(data=fasta_bytes(noise=False), command=st.sampled_from(["encode", "predict"]))
def test_output_symlink_is_written_through_or_refused(tiny_model: Path, data: bytes,
                                                      command: str) -> None:
    inputs = {"in.fa": data}
    with tempfile.TemporaryDirectory() as other, folder(inputs) as root:
        target = Path(other) / "target"
        target.write_bytes(b"old")
        (root / "link").symlink_to(target)
        args = ["encode"] if command == "encode" else ["predict", tiny_model, "--device", "cpu",
                                                          "--no-nearest"]
        res = invoke(*args, root / "in.fa", "-o", root / "link")
        assert_clean_exit(res)
        assert (root / "link").is_symlink(), describe(res)
        assert set(os.listdir(root)) == {*inputs, "link"}
        assert set(os.listdir(other)) == {"target"}
        if res.exit_code == 2:
            assert target.read_bytes() == b"old"
        elif command == "encode":
            read_npz(target)
        else:
            assert read_tsv(target)[0] == PREDICT_HEADER


# ----------------------------------------------------------------------------- headers

HEADER_PIECES = st.characters(exclude_categories=("Cs",)) | st.sampled_from(
    ["\t", "\x00", "=", " TARGET=1", " SET=train", "\x0b", "\x0c", "\x1c", "\x85",
     "\u2028", "\xa0", "\r", "\"", "'", ",", ";"])


@st.composite
def headered_fasta(draw: st.DrawFn, pieces: st.SearchStrategy[str]) -> bytes:
    """A valid FASTA whose headers are random text (unicode, tabs, '=' fields, ...)."""
    header = st.lists(pieces, min_size=1, max_size=12).map("".join)
    heads = draw(st.lists(header, min_size=1, max_size=4))
    return b"".join(record(f"{h} {k}", draw(st.text(RESIDUES, min_size=1, max_size=40)), 60)
                    for k, h in enumerate(heads))


def check_header_property(model: Path, data: bytes) -> None:
    """predict exits 0 or 2, and a written id field holds no NUL, tab, CR or newline."""
    inputs = {"in.fa": data}
    with folder(inputs) as root:
        res = invoke("predict", model, root / "in.fa", "-o", root / "out.tsv", "--device", "cpu",
                     "--no-nearest")
        assert_clean_exit(res)
        assert_outputs(root, inputs, res, "out.tsv")
        if res.exit_code == 0:
            rows = read_tsv(root / "out.tsv")
            assert rows[0] == PREDICT_HEADER and len(rows) >= 2
            for row in rows[1:]:
                assert row[0] and not set(row[0]) & set("\x00\t\r\n"), row


@settings(max_examples=budget(0.5))
@given(data=headered_fasta(HEADER_PIECES.filter(lambda c: c != "\x00")))
def test_predict_ids_from_any_header(tiny_model: Path, data: bytes) -> None:
    check_header_property(tiny_model, data)


@settings(max_examples=budget(0.2))
@example(data=b">a\x00b desc\nKKKKWLRAGG\n")
@given(data=headered_fasta(st.lists(HEADER_PIECES, max_size=3).map(
    lambda p: "\x00".join(["", *p]) if p else "\x00")))
def test_predict_ids_from_headers_with_nul(tiny_model: Path, data: bytes) -> None:
    check_header_property(tiny_model, data)


# ----------------------------------------------------------------------------- label tables

WILD_LABELS = st.sampled_from(["", " ", "nan", "NaN", "NA", "null", "inf", "-inf",
                               "Infinity", "1e400", "0x10", "1_000", "\u00e9", "a,b", '"q"']
                              ) | st.text(max_size=5)
CLASS_LABELS = st.sampled_from(["pos", "neg"]) | st.sampled_from(["a", "b", "c"])
NUMBER_LABELS = st.floats(allow_nan=False, allow_infinity=False).map(repr) | st.integers(
    -5, 5).map(str)
#: one kind of label per table (classes, numbers or anything), with a wild one now and then
LABEL_KINDS = st.sampled_from([CLASS_LABELS, NUMBER_LABELS, CLASS_LABELS | WILD_LABELS,
                               NUMBER_LABELS | WILD_LABELS, WILD_LABELS])
TABLE_IDS = st.sampled_from(["", " ", "a", "b"]) | IDS
SUPERVISED = st.sampled_from(["binary", "multiclass", "regression"])
TASKS = SUPERVISED | st.just("unsupervised")


@st.composite
def label_rows(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """``(id, sequence, label)`` rows: mostly unique ids, random labels (NaN, inf, empty,
    one class only, ...)."""
    labels = draw(LABEL_KINDS)
    rows = draw(st.lists(st.tuples(TABLE_IDS, st.text(RESIDUES, min_size=1, max_size=30),
                                   labels), min_size=1, max_size=8))
    unique = draw(st.booleans())
    return [(f"{i}_{k}" if unique else i, s, lab) for k, (i, s, lab) in enumerate(rows)]


def tsv(header: list[str], rows: list[tuple[str, ...]]) -> bytes:
    """A TSV as a user writes one (no quoting: tabs and newlines in fields stay raw)."""
    return "".join("\t".join(r) + "\n" for r in [tuple(header), *rows]).encode()


def labels_are_usable(task: str, labels: np.ndarray | None, class_names: list[str]) -> bool:
    """Finite regression targets; at least two classes (binary: exactly two)."""
    if task == "regression":
        return labels is not None and bool(np.isfinite(labels).all())
    if task in ("binary", "multiclass"):
        used = len(set(labels.tolist())) if labels is not None else 0
        return used >= 2 and (task != "binary" or len(class_names) == 2)
    return True


def encode_table_case(rows: list[tuple[str, str, str]], task: str, label_column: bool,
                      classes: str | None) -> tuple[Result, dict[str, np.ndarray] | None]:
    """``seqnn encode s.tsv --task TASK`` on ``rows``, checked; the arrays after exit 0."""
    header = ["id", "sequence", "label"] if label_column else ["id", "sequence"]
    inputs = {"s.tsv": tsv(header, [r if label_column else r[:2] for r in rows])}
    with folder(inputs) as root:
        res = invoke("encode", root / "s.tsv", "--task", task, "-o", root / "out.npz",
                     *(["--classes", classes] if classes else []))
        assert_clean_exit(res)
        assert_outputs(root, inputs, res, "out.npz")
        return res, read_npz(root / "out.npz") if res.exit_code == 0 else None


CLASSES = st.none() | st.sampled_from(["neg,pos", "a,b,c", "pos", "pos,pos", ",", "nan,inf"])


@settings(max_examples=budget(1.0))
@given(rows=label_rows(), task=TASKS, classes=CLASSES)
def test_encode_any_label_table(rows: list, task: str, classes: str | None) -> None:
    encode_table_case(rows, task, True, classes)


@settings(max_examples=budget(0.1))
@example(rows=[("a", "A", "pos")], task="binary", classes=None)
@given(rows=label_rows(), task=SUPERVISED, classes=CLASSES)
def test_encode_table_without_label_column(rows: list, task: str, classes: str | None) -> None:
    encode_table_case(rows, task, False, classes)


@settings(max_examples=budget(0.5))
@example(rows=[("a", "A", "nan")], task="regression", classes=None)
@given(rows=label_rows(), task=TASKS, classes=CLASSES)
def test_encode_table_refuses_unusable_labels(rows: list, task: str,
                                              classes: str | None) -> None:
    res, arrays = encode_table_case(rows, task, True, classes)
    if arrays is not None:
        labels = arrays.get("labels")
        names = [str(c) for c in arrays["class_names"]]
        assert labels_are_usable(task, labels, names), (task, labels, names)


@settings(max_examples=budget(0.6))
@given(rows=label_rows(), task=SUPERVISED,
       columns=st.sampled_from([("id", "label"), ("name", "class"), ("id",), ("label", "id")]),
       matching=st.booleans())
def test_ingest_any_label_table(rows: list, task: str, columns: tuple[str, ...],
                                matching: bool) -> None:
    """``seqnn ingest`` of a FASTA with labels from a random table (ids matching the FASTA's,
    or random ones: missing and unused labels)."""
    fasta = b"".join(record(f"r{k}", s, 60) for k, (_, s, _) in enumerate(rows))
    table = [(f"r{k}" if matching else i, lab) for k, (i, _, lab) in enumerate(rows)]
    if columns == ("label", "id"):
        table = [(lab, i) for i, lab in table]
    table = [row[:len(columns)] for row in table]
    inputs = {"in.fa": fasta, "labels.tsv": tsv(list(columns), table)}
    with folder(inputs) as root:
        spec = {"task": task, "inputs": [{"fasta": str(root / "in.fa"),
                                          "labels": str(root / "labels.tsv")}]}
        if columns == ("name", "class"):
            spec["inputs"][0].update(id_column="name", label_column="class")
        res = invoke("ingest", "--spec", json.dumps(spec), "-o", root / "seqs.tsv",
                     "--report", root / "ingest.json")
        assert_clean_exit(res)
        assert_outputs(root, inputs, res, "seqs.tsv", "ingest.json")
        if res.exit_code == 0:
            out = read_tsv(root / "seqs.tsv")
            assert out[0][:3] == ["id", "sequence", "label"] and len(out) == len(rows) + 1
            labels = [r[2] for r in out[1:]]
            if task == "regression":
                assert all(math.isfinite(float(v)) for v in labels), labels
            else:
                assert len(set(labels)) >= 2, labels
            json.loads((root / "ingest.json").read_text())


@settings(max_examples=budget(0.05))
@example(targets=["pos"] * 6, task="binary")
@example(targets=["1", "2", "3", "4", "nan", "5"], task="regression")
@given(targets=LABEL_KINDS.flatmap(lambda kind: st.lists(kind, min_size=6, max_size=6)),
       task=SUPERVISED)
def test_train_any_labels(targets: list[str], task: str) -> None:
    rows = [(f"s{k}", TRAIN_SEQS[k], lab) for k, lab in enumerate(targets)]
    splits = [(f"s{k}", "train" if k < 4 else "valid") for k in range(len(rows))]
    inputs = {"s.tsv": tsv(["id", "sequence", "label"], rows),
              "splits.tsv": tsv(["id", "split"], splits)}
    with folder(inputs) as root:
        spec = {"model": "mlp", "params": {"hidden": [2]}, "train": {"epochs": 1}}
        res = invoke("train", root / "s.tsv", root / "splits.tsv", "--task", task, "--spec",
                     json.dumps(spec), "--quiet", "--device", "cpu", "--out", root / "m")
        assert_clean_exit(res)
        written = sorted(os.listdir(root / "m")) if (root / "m").exists() else []
        if res.exit_code == 0:
            assert "metrics.json" in written, describe(res)
        else:  # refused before training: no --out folder at all
            assert not (root / "m").exists(), (written, describe(res))
        assert set(os.listdir(root)) <= {*inputs, "m"}


# ----------------------------------------------------------------------------- model.json

#: raw JSON text put in place of a generated value: a float overflow, a 5000-digit integer
#: (beyond Python's int parsing limit) and nesting far deeper than the recursion limit
RAW = {"<1e400>": "1e400", "<-1e400>": "-1e400", "<big int>": "1" + "0" * 5000,
       "<deep>": "[" * 50_000 + "]" * 50_000, "<NaN>": "NaN", "<Infinity>": "Infinity"}
WORDS = st.sampled_from(["mlp", "cnn", "rnn", "autoencoder", "binary", "multiclass",
                         "regression", "unsupervised", "map", "strict", "right", "left", "center",
                         "ends", "error", "neg", "pos"])


def json_values(raw: list[str]) -> st.SearchStrategy:
    """Any JSON value (small), with the ``raw`` placeholders among the scalars."""
    scalars = (st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats()
               | st.text(max_size=8) | WORDS | st.sampled_from(raw))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=6), inner, max_size=3), max_leaves=8)


ANY_JSON = json_values(sorted(RAW))
#: values for keys that size a layer: wrong types and small integers only, so that even an
#: unchecked model stays far below 1 GB (huge sizes: test_huge_sizes_are_refused below)
SMALL_INTS = st.integers(-3, 128)
SIZE_VALUES = (SMALL_INTS | st.lists(SMALL_INTS, max_size=3) | st.none() | st.booleans()
               | st.floats() | st.text(max_size=4) | st.sampled_from(sorted(RAW)))
TOP_KEYS = ["format_version", "model", "params", "task", "class_names", "n_outputs", "max_len",
            "truncate", "alphabet_policy", "drop_gaps", "ensemble", "identity_threshold",
            "train_config", "name", "created"]
SIZE_KEYS = {"n_outputs", "ensemble"}
PARAM_KEYS = ["hidden", "embed_dim", "max_len", "flatten", "input", "pool", "activation",
              "dropout", "log_length", "n_outputs", "task", "channels", "kernel_size"]


@st.composite
def meta_mutations(draw: st.DrawFn) -> list[tuple[tuple[str, ...], object]]:
    """Changes to make to model.json: ``(key path, new value)``; ``()`` replaces the whole
    record, ``None`` as the value deletes the key at half the chances."""
    changes = []
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["top", "top", "params", "whole"]))
        if where == "whole":
            changes.append(((), draw(ANY_JSON)))
        elif where == "top":
            key = draw(st.sampled_from(TOP_KEYS))
            changes.append(((key,), draw(SIZE_VALUES if key in SIZE_KEYS else ANY_JSON)))
        else:
            key = draw(st.sampled_from(PARAM_KEYS))
            changes.append((("params", key), draw(SIZE_VALUES)))
    return changes


def mutated_meta_text(meta: dict, changes: list[tuple[tuple[str, ...], object]]) -> str:
    """model.json text after ``changes`` (RAW placeholders become their raw JSON text)."""
    meta = json.loads(json.dumps(meta))
    for path, value in changes:
        if not path:
            meta = value
            continue
        node = meta
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node[path[-1]] = value
    text = json.dumps(meta)
    for token, raw in RAW.items():
        text = text.replace(json.dumps(token), raw)
    return text


PREDICT_INPUT = b">short\nKKKKWLRAGG\n>long\n" + b"ACDEFGHIKLMNPQRSTVWY" * 3 + b"\n>odd\nkkBZUX*\n"


def predict_with_meta(model: Path, text: str) -> tuple[Result, list[list[str]] | None]:
    """``seqnn predict`` with a copy of ``model`` whose model.json is ``text``, checked: a
    clean exit, a complete output after exit 0, the model folder unchanged."""
    with tempfile.TemporaryDirectory(prefix="seqnn-fuzz-") as name:
        root = Path(name)
        shutil.copytree(model, root / "m")
        (root / "m" / "model.json").write_text(text)
        before = {p.name: p.read_bytes() for p in (root / "m").iterdir()}
        inputs = {"in.fa": PREDICT_INPUT}
        (root / "in.fa").write_bytes(PREDICT_INPUT)
        res = invoke("predict", root / "m", root / "in.fa", "-o", root / "out.tsv",
                     "--device", "cpu", "--no-nearest")
        assert_clean_exit(res)
        assert {p.name: p.read_bytes() for p in (root / "m").iterdir()} == before
        assert (root / "in.fa").read_bytes() == PREDICT_INPUT
        assert_outputs(root, {**inputs, "m": b""}, res, "out.tsv")
        if res.exit_code != 0:
            return res, None
        rows = read_tsv(root / "out.tsv")
        assert [r[0] for r in rows[1:]] == ["short", "long", "odd"]
        return res, rows


#: model.json keys whose values today's code checks (format_version, model, params as a
#: whole) or does not use for prediction
CHECKED_KEYS = ["format_version", "model", "name", "created", "train_config", "params"]
PARSABLE_JSON = json_values(["<1e400>", "<-1e400>", "<NaN>", "<Infinity>"])


@settings(max_examples=budget(0.5))
@given(changes=st.lists(st.tuples(st.sampled_from(CHECKED_KEYS).map(lambda k: (k,)) | st.just(()),
                                  PARSABLE_JSON), min_size=1, max_size=3))
def test_predict_with_a_broken_model_json_file(tiny_model: Path, changes: list) -> None:
    """The checks of model.json that exist today: the file as a whole, format_version, model,
    params (unused keys may hold anything)."""
    meta = json.loads((tiny_model / "model.json").read_text())
    predict_with_meta(tiny_model, mutated_meta_text(meta, changes))


@settings(max_examples=budget(1.0))
@example(changes=[(("max_len",), {})])  # TypeError: int() argument must be ... not 'dict'
@example(changes=[(("max_len",), "<1e400>")])  # OverflowError: cannot convert float infinity
@example(changes=[(("class_names",), [])])  # IndexError: index 0 is out of bounds
@example(changes=[(("truncate",), {})])  # ValueError: truncate must be one of ...
@example(changes=[(("alphabet_policy",), [])])  # ValueError: unknown alphabet policy '[]'
@example(changes=[(("identity_threshold",), [])])  # TypeError: float() argument ...
@example(changes=[(("name",), "<deep>")])  # RecursionError while decoding a JSON array
@example(changes=[(("name",), "<big int>")])  # ValueError: Exceeds the limit (4300 digits)
@given(changes=meta_mutations())
def test_predict_with_any_model_json(tiny_model: Path, changes: list) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    predict_with_meta(tiny_model, mutated_meta_text(meta, changes))


@settings(max_examples=budget(0.3))
@example(changes=[(("max_len",), {})])  # TypeError: int() argument must be ... not 'dict'
@given(changes=meta_mutations())
def test_load_any_model_json(tiny_model: Path, changes: list) -> None:
    """The library's front door: ``seqnn.load`` returns a predictor that predicts, or raises
    a ValueError (CheckpointError, SeqnnInputError) with a one-line message."""
    meta = json.loads((tiny_model / "model.json").read_text())
    with tempfile.TemporaryDirectory(prefix="seqnn-fuzz-") as name:
        shutil.copytree(tiny_model, Path(name) / "m")
        (Path(name) / "m" / "model.json").write_text(mutated_meta_text(meta, changes))
        try:
            seqnn.load(str(Path(name) / "m")).predict([("a", "KKKKWLRAGG"), ("b", "kkBZ*")])
        except ValueError as exc:
            assert "\n" not in str(exc), str(exc)[:500]


def assert_meta_valid(meta: object) -> None:
    """What a model.json must hold before predict may use it (issue 12, item 5)."""
    assert isinstance(meta, dict)

    def integer(v: object, low: int) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= low

    assert integer(meta["max_len"], 1), meta["max_len"]
    assert integer(meta["n_outputs"], 1), meta["n_outputs"]
    assert integer(meta.get("ensemble", 1), 1), meta.get("ensemble")
    assert meta["truncate"] in ("right", "left", "center", "ends", "error"), meta["truncate"]
    assert meta.get("alphabet_policy", "map") in ("map", "strict"), meta.get("alphabet_policy")
    names = meta["class_names"]
    assert isinstance(names, list) and all(isinstance(c, str) for c in names), names
    expected = {"binary": 2, "multiclass": meta["n_outputs"]}.get(meta["task"], 0)
    assert len(set(names)) == len(names) == expected  # regression, autoencoder: none
    threshold = meta.get("identity_threshold", 0.3)
    assert isinstance(threshold, int | float) and 0 <= threshold <= 1, threshold


@settings(max_examples=budget(0.5))
@example(changes=[(("max_len",), -5)])
@given(changes=meta_mutations())
def test_predict_only_with_a_valid_model_json(tiny_model: Path, changes: list) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    text = mutated_meta_text(meta, changes)
    res, _ = predict_with_meta(tiny_model, text)
    if res.exit_code == 0:
        assert_meta_valid(json.loads(text))


@pytest.mark.parametrize("change", [{"params": {"hidden": [10**8]}},
                                    {"ensemble": 10**5, "params": {"hidden": [16384]}}],
                         ids=["width", "ensemble"])
def test_huge_sizes_in_model_json_are_refused(tiny_model: Path, tmp_path: Path,
                                              change: dict) -> None:
    """Run in a child process limited to 1 GB of data (RLIMIT_DATA, which leaves the address
    space reserved by a CUDA build of torch alone): a correct check refuses these from the
    safetensors header before allocating anything."""
    meta = json.loads((tiny_model / "model.json").read_text())
    meta.update(change if "params" not in change else
                {**change, "params": {**meta["params"], **change["params"]}})
    shutil.copytree(tiny_model, tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    (tmp_path / "in.fa").write_bytes(PREDICT_INPUT)
    limit = 1 << 30
    res = subprocess.run(
        [sys.executable, "-m", "seqnn", "predict", str(tmp_path / "m"), str(tmp_path / "in.fa"),
         "--device", "cpu"], capture_output=True, text=True, timeout=300,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_DATA, (limit, limit)))
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("seqnn: error:"), res.stderr


# ----------------------------------------------------------------------------- workflow config

HOSTILE_NAMES = st.sampled_from([
    "$(touch pwned)", "`touch pwned`", "a;touch pwned", "a|b", "a&b", "../../somewhere", "..",
    ".", "a/b", "/abs", "a b", "-rf", "--help", "a\nb", "a'b", 'a"b', "~", "*", "{x}", "a\\b",
    "\u00fc", "\x00", "",
]) | st.text(max_size=10)
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def base_config() -> dict:
    """A small valid workflow config (check_workflow accepts it)."""
    return {
        "results": "results", "threads": 1, "device": "cpu",
        "datasets": {"amp": {"task": "binary", "max_len": 50, "classes": ["neg", "pos"],
                             "inputs": [{"fasta": "data/p.fa", "label": "pos"},
                                        {"fasta": "data/n.fa", "label": "neg"}],
                             "split": {"method": "random", "fractions": [0.6, 0.2, 0.2]}}},
        "models": {"cnn": {"model": "cnn", "params": {"channels": [8]},
                           "train": {"epochs": 2, "lr": 0.001}}},
        "checks": {"permutation": True, "bootstrap": 10},
    }


class Nested(int):
    """A list nested this many levels deep (built by :func:`build_config`; a plain number in
    Hypothesis' report, which cannot print the real value)."""

    def __repr__(self) -> str:
        return f"Nested({int(self)})"


def paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a config (list items by index)."""
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return []
    out: list[tuple] = []
    for key, child in items:
        out += [(*prefix, key), *paths(child, (*prefix, key))]
    return out


BASE_PATHS = paths(base_config())
CONFIG_VALUES = ANY_JSON | HOSTILE_NAMES | st.integers(1, 100).map(Nested)
DEEP = st.integers(1000, 5000).map(Nested)


@st.composite
def config_changes(draw: st.DrawFn, values: st.SearchStrategy = CONFIG_VALUES) -> dict:
    """A recipe for a hostile config: dataset and model names, the results path, and random
    ``values`` (nesting included) at existing or new key paths."""
    change = {key: draw(st.none() | HOSTILE_NAMES) for key in ("dataset", "model", "results")}
    new_key = st.tuples(st.sampled_from(BASE_PATHS), st.text(max_size=6)).map(
        lambda pk: (*pk[0], pk[1]))
    change["values"] = draw(st.lists(st.tuples(st.sampled_from(BASE_PATHS) | new_key,
                                               values), max_size=3))
    return change


def build_config(change: dict) -> dict:
    """The base config with a :func:`config_changes` recipe applied (a path whose parent an
    earlier change replaced is skipped)."""
    cfg = base_config()
    for path, value in change["values"]:
        node: object = cfg
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else (
                node[key] if isinstance(node, list) and isinstance(key, int)
                and key < len(node) else None)
        if isinstance(value, Nested):
            depth, value = int(value), []
            for _ in range(depth):
                value = [value]
        last = path[-1]
        if isinstance(node, dict) or (isinstance(node, list) and isinstance(last, int)
                                      and last < len(node)):
            node[last] = value
    for key, section in (("dataset", "datasets"), ("model", "models")):
        if change[key] is not None and isinstance(cfg.get(section), dict) and cfg[section]:
            cfg[section] = {change[key]: next(iter(cfg[section].values()))}
    if change["results"] is not None:
        cfg["results"] = change["results"]
    return cfg


def check_config(cfg: dict) -> bool:
    """``check_workflow(cfg)``: True when accepted; only a one-line ConfigError may escape."""
    try:
        check_workflow(cfg)
    except ConfigError as exc:
        assert "\n" not in str(exc), str(exc)[:500]
        return False
    return True


@settings(max_examples=budget(0.5))
@given(change=config_changes())
def test_check_workflow_any_config(change: dict) -> None:
    event(f"accepted {check_config(build_config(change))}")


@settings(max_examples=budget(0.1))
@example(change={"dataset": None, "model": None, "results": None,
                 "values": [(("results",), Nested(1983))]})
@given(change=config_changes(DEEP))
def test_check_workflow_deeply_nested_value(change: dict) -> None:
    check_config(build_config(change))


@settings(max_examples=budget(0.3))
@example(change={"dataset": "$(touch pwned)", "model": None, "results": None, "values": []})
@given(change=config_changes())
def test_check_workflow_refuses_unsafe_names(change: dict) -> None:
    cfg = build_config(change)
    if check_config(cfg):
        for name in [*cfg["datasets"], *cfg["models"]]:
            assert SAFE_NAME.fullmatch(name), name


def alias_bomb(levels: int, width: int = 10) -> list:
    """What a YAML alias bomb loads into: ``width ** levels`` leaves from ``levels`` shared
    lists (``a: &a [x, x, ...]``, ``b: &b [*a, *a, ...]``, ...)."""
    value: list = ["x"] * width
    for _ in range(levels - 1):
        value = [value] * width
    return value


@settings(max_examples=budget(0.1))
@example(where=("datasets", "amp", "classes"))
@given(where=st.sampled_from([("datasets", "amp", "classes"), ("datasets", "amp", "task"),
                              ("models", "cnn", "params", "channels"), ("checks", "margin"),
                              ("models", "cnn", "train", "lr"), ("results",)]))
def test_check_workflow_alias_bomb_error_is_short(where: tuple[str, ...]) -> None:
    cfg = base_config()
    node = cfg
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = alias_bomb(6)  # a million leaves
    try:
        check_workflow(cfg)
    except ConfigError as exc:
        assert len(str(exc)) < 1000, len(str(exc))


def bounded_keys() -> list[tuple[tuple[str, ...], dict]]:
    """``(key path in base_config, declaration)`` of every setting with a declared type and
    range (seqnn.config_bounds.setting): training, checks, split and generate settings."""
    from seqnn.config import ChecksSpec, SplitSpec, TrainConfig
    from seqnn.config_bounds import bounds_of
    from seqnn.config_generate import GenerateSpec

    blocks = {("models", "cnn", "train"): TrainConfig, ("checks",): ChecksSpec,
              ("datasets", "amp", "split"): SplitSpec,
              ("datasets", "amp", "generate"): GenerateSpec}
    return [((*where, key), meta) for where, cls in blocks.items()
            for key, meta in bounds_of(cls).items()]


BOUNDED = bounded_keys()
EDGE_NUMBERS = st.sampled_from([0, 1, -1, 2, 64, 65, 1024, 1025, 2**31, 2**32, 10**6, 10**12,
                                0.5, 1.0, 2.5, 1e-9, 7.5, 100.0])
SETTING_VALUES = (EDGE_NUMBERS | st.integers(-(2**40), 2**40) | st.floats() | st.booleans()
                  | st.none() | st.text(max_size=8)
                  | st.sampled_from(["auto", "loss", "mcc", "cuda:0", "adam", "cosine", "ends",
                                     "valid", "cluster", "a:b", "pkg.mod:f"]))


@settings(max_examples=budget(1.0))
@example(key=BOUNDED[0], value=2.5)
@given(key=st.sampled_from(BOUNDED), value=SETTING_VALUES)
def test_bounded_settings_are_accepted_within_bounds_or_refused(key: tuple, value: object) -> None:
    """Any value at any bounded key: check_workflow either accepts it, and then it lies
    within the key's declared type and range, or refuses it with a one-line ConfigError
    (never another exception)."""
    from seqnn.config_bounds import check_value

    path, meta = key
    cfg = base_config()
    node = cfg
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    if check_config(cfg):
        event("accepted")
        assert check_value(value, meta), (path, value)


# ----------------------------------------------------------------------------- weights

@settings(max_examples=budget(0.2))
@example(dtype="float32", fill="nan")  # probabilities written as empty (NaN) fields
@example(dtype="int8", fill="keep")  # accepted, weights rounded to integers
@given(dtype=st.sampled_from(["float32", "float16", "float64", "int8", "int32", "uint8"]),
       fill=st.sampled_from(["keep", "nan", "inf", "zero", "huge"]))
def test_predict_with_any_weights(tiny_model: Path, dtype: str, fill: str) -> None:
    """Rewritten model.safetensors (same names and shapes): predict refuses integer or
    non-finite weights with exit 2; what it accepts gives finite probabilities."""
    from safetensors.numpy import load_file, save_file

    with tempfile.TemporaryDirectory(prefix="seqnn-fuzz-") as name:
        root = Path(name)
        shutil.copytree(tiny_model, root / "m")
        weights = load_file(str(root / "m" / "model.safetensors"))
        values = {"keep": None, "nan": np.nan, "inf": np.inf, "zero": 0.0, "huge": 6e4}[fill]
        for key, array in weights.items():
            array = array.astype(dtype) if array.dtype.kind == "f" else array
            if values is not None and array.dtype.kind == "f":
                array = np.full_like(array, values)
            weights[key] = np.ascontiguousarray(array)
        save_file(weights, str(root / "m" / "model.safetensors"))
        (root / "in.fa").write_bytes(PREDICT_INPUT)
        res = invoke("predict", root / "m", root / "in.fa", "-o", root / "out.tsv",
                     "--device", "cpu", "--no-nearest")
        assert_clean_exit(res)
        assert_outputs(root, {"in.fa": b"", "m": b""}, res, "out.tsv")
        if res.exit_code == 0:
            assert dtype.startswith("float"), "integer weights were accepted"
            rows = read_tsv(root / "out.tsv")
            probs = np.array([[float(v or "nan") for v in r[4:6]] for r in rows[1:]])
            assert np.isfinite(probs).all() and ((probs >= 0) & (probs <= 1)).all(), probs
