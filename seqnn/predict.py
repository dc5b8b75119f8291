"""A trained model applied to new sequences: ``seqnn.load(dir)``, streaming predict and embed.

Every input goes through exactly what training recorded in ``model.json``: the alphabet
policy (``alphabet_policy``, plus ``drop_gaps`` when recorded), tokenising, and the length
rule (``max_len``, ``truncate``: longer sequences are cut as at training, or refused when the
rule is ``error``). Files are read in chunks of ``chunk_size`` records with Biopython's
``SimpleFastaParser`` on an open handle (plain, gzip or standard input), so memory is bounded
by the chunk (plus 8 bytes per record for the duplicate-id check), not by the file.

Prediction table (TSV with a header, rows in input order): ``id``, ``length`` (residues after
the policy, before truncation), then ``predicted`` (class name, or value for regression) and
one ``p_<class>`` probability per class (as in training's ``predictions.tsv``), or
``reconstruction_accuracy`` for an autoencoder; ``nearest_identity`` with ``--nearest``; and
``flags``: ``;``-separated, empty when none, from :data:`FLAGS` -- ``truncated`` (longer than
``max_len``: the model saw the kept part only), ``substituted:U->C`` (one per kind: ``U->C``,
``O->K``, ``B->X``, ``Z->X``, ``J->X``), ``lowercase``, ``stop_dropped`` (a trailing ``*``),
``gaps_dropped`` and ``extrapolating`` (nearest training identity below the model's
``identity_threshold``, default 0.3).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import os
import sys
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from .alphabet import PolicyError, Substitutions, clean
from .io import SeqnnInputError, atomic_path, check_not_nucleotide, read_fasta

TRAIN_SEQUENCES = "train_sequences.fa"
DEFAULT_CHUNK = 10_000
DEFAULT_THRESHOLD = 0.3
#: every flag that can appear in the ``flags`` column (``substituted:`` takes a kind)
FLAGS = ("truncated", "substituted:", "lowercase", "stop_dropped", "gaps_dropped",
         "extrapolating")
_SUB_FLAGS = {"lowercase": "lowercase", "trailing * dropped": "stop_dropped",
              "gap dropped": "gaps_dropped"}
API_SOURCE = "<sequences>"


# ----------------------------------------------------------------------------- reading

def source_name(path: str | os.PathLike) -> str:
    """How errors name an input: its path, or ``<stdin>`` for ``-``."""
    return "<stdin>" if str(path) == "-" else str(path)


@contextlib.contextmanager
def open_fasta(path: str | os.PathLike) -> Iterator[Iterator[str]]:
    """Open FASTA ``path`` (``-`` = standard input; gzip detected by its magic bytes) and
    yield an iterator over its text lines, starting at the first ``>`` header.

    Raises :class:`SeqnnInputError` for a missing file, a directory, an empty file or text
    that does not start with a ``>`` header.
    """
    name = source_name(path)
    with contextlib.ExitStack() as stack:
        if str(path) == "-":
            raw: IO[bytes] = sys.stdin.buffer
            if not hasattr(raw, "peek"):
                raw = io.BufferedReader(raw)  # type: ignore[arg-type]
        else:
            p = Path(path)
            if not p.exists():
                raise SeqnnInputError(path, "file not found")
            if p.is_dir():
                raise SeqnnInputError(path, "is a directory, not a file")
            raw = stack.enter_context(open(p, "rb"))
        with _read_errors(name):
            zipped = raw.peek(2)[:2] == b"\x1f\x8b"  # type: ignore[attr-defined]
            text = io.TextIOWrapper(gzip.GzipFile(fileobj=raw) if zipped else raw,
                                    encoding="utf-8-sig")
            stack.callback(text.detach)  # leave closing to ``open`` (never close stdin)
            first = next((line for line in text if line.strip()), None)
        if first is None:
            raise SeqnnInputError(name, "file is empty")
        if not first.startswith(">"):
            raise SeqnnInputError(name, f"not FASTA: no '>' header before {first[:40]!r}")
        yield itertools.chain([first], text)


@contextlib.contextmanager
def _read_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn decoding, gzip and read errors of ``path`` into :class:`SeqnnInputError`."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise SeqnnInputError(path, f"not UTF-8 text ({exc.reason})") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise SeqnnInputError(path, f"corrupt gzip file ({exc})") from None
    except OSError as exc:
        raise SeqnnInputError(path, f"cannot read ({exc.strerror or exc})") from None


def iter_fasta_chunks(
    path: str | os.PathLike, chunk_size: int = DEFAULT_CHUNK
) -> Iterator[list[tuple[str, str]]]:
    """Yield the records of FASTA ``path`` as lists of at most ``chunk_size`` raw
    ``(id, sequence)`` pairs (id = first word of the header, whitespace removed from the
    sequence), reading incrementally; an empty header raises :class:`SeqnnInputError`."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    name = source_name(path)
    with open_fasta(path) as lines, _read_errors(name):  # errors while parsing
        chunk: list[tuple[str, str]] = []
        for header, seq in SimpleFastaParser(lines):
            words = header.split()
            if not words:
                raise SeqnnInputError(name, "a record has an empty header line ('>' alone)")
            chunk.append((words[0], "".join(seq.split())))
            if len(chunk) == chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


class SeenIds:
    """Duplicate-id check over a stream: keeps a sorted ``int64`` array of id hashes (8 bytes
    per record) and raises :class:`SeqnnInputError` naming the first repeated id."""

    def __init__(self, source: str | os.PathLike):
        self.source = source
        self.hashes = np.zeros(0, dtype=np.int64)

    def add(self, ids: list[str]) -> None:
        """Add one chunk's ids; raise if any was seen before or repeats inside the chunk."""
        h = np.fromiter((hash(i) for i in ids), dtype=np.int64, count=len(ids))
        pos = np.searchsorted(self.hashes, h).clip(max=max(len(self.hashes) - 1, 0))
        old = (self.hashes[pos] == h) if len(self.hashes) else np.zeros(len(h), bool)
        _, first = np.unique(h, return_index=True)
        repeat = np.ones(len(h), bool)
        repeat[first] = False
        bad = np.flatnonzero(old | repeat)
        if bad.size:
            raise SeqnnInputError(self.source, "duplicate id", ids[int(bad[0])])
        self.hashes = np.sort(np.concatenate([self.hashes, h]), kind="stable")


# ----------------------------------------------------------------------------- predictor

@dataclass
class Chunk:
    """Records ready for the model: ``ids``, policy-cleaned ``seqs`` (uncropped) and the
    ``flags`` (list of flag strings) of each record."""

    ids: list[str]
    seqs: list[str]
    flags: list[list[str]]


def _as_pairs(sequences: Any) -> list[tuple[str, str]]:
    """A str, list of str, dict id->seq or list of (id, seq) pairs -> (id, seq) pairs."""
    if isinstance(sequences, str):
        sequences = [sequences]
    if isinstance(sequences, Mapping):
        return [(str(k), str(v)) for k, v in sequences.items()]
    items = list(sequences)
    if all(isinstance(s, str) for s in items):
        return [(str(i), s) for i, s in enumerate(items)]
    return [(str(rid), str(seq)) for rid, seq in items]


class Predictor:
    """A loaded model with its recipe; predicts and embeds sequences as training encoded them.

    ``meta`` is ``model.json``; ``task`` is ``binary | multiclass | regression |
    unsupervised``; ``class_names`` the class order of the ``p_<class>`` columns.
    """

    def __init__(self, model: Any, meta: dict[str, Any], device: Any, batch_size: int = 256):
        from .inference import model_task

        self.model, self.meta, self.device, self.batch_size = model, meta, device, batch_size
        self.task: str = model_task(model)
        self.class_names: list[str] = [str(c) for c in meta.get("class_names", [])]
        self.max_len, self.truncate = int(meta["max_len"]), str(meta["truncate"])
        self.policy = str(meta.get("alphabet_policy", "map"))
        self.drop_gaps = bool(meta.get("drop_gaps", False))

    def prepare(self, records: list[tuple[str, str]], source: str | os.PathLike = API_SOURCE,
                seen: SeenIds | None = None, check_nucleotide: bool = True) -> Chunk:
        """Apply the recorded policy and length rule to raw ``(id, seq)`` records.

        Raises :class:`SeqnnInputError` naming ``source``, the record and the reason for an
        empty sequence, a policy violation, a duplicate id (tracked across chunks by
        ``seen``), a DNA/RNA input or, under ``truncate='error'``, a sequence over ``max_len``.
        """
        seen = seen if seen is not None else SeenIds(source)
        seen.add([rid for rid, _ in records])
        if check_nucleotide:
            check_not_nucleotide([s for _, s in records], source)
        subs, ids, seqs, flags = Substitutions(), [], [], []
        for rid, raw in records:
            if not raw:
                raise SeqnnInputError(source, "empty sequence", rid)
            try:
                seq = clean(raw, rid, self.policy, self.drop_gaps, subs)
            except PolicyError as exc:
                where = f"position {exc.position}: " if exc.position else ""
                reason = exc.reason.split(" (pass drop_gaps")[0]
                if reason != exc.reason:  # no --drop-gaps here: the model's recipe decides
                    reason += f" (the model's alphabet policy {self.policy!r} keeps no gaps)"
                raise SeqnnInputError(source, where + reason, rid) from None
            flag = []
            if len(seq) > self.max_len:
                if self.truncate == "error":
                    raise SeqnnInputError(source, f"length {len(seq)} exceeds the model's max_len "
                                          f"{self.max_len} (truncate rule 'error')", rid)
                flag.append("truncated")
            if subs.counts:
                flag += [_SUB_FLAGS.get(k, f"substituted:{k}") for k in sorted(subs.counts)]
                subs.counts.clear()
                subs.records.clear()
            ids.append(rid)
            seqs.append(seq)
            flags.append(flag)
        return Chunk(ids, seqs, flags)

    def columns(self, nearest: bool = False) -> list[str]:
        """The columns of this model's prediction table (module doc), in order."""
        if self.task == "unsupervised":
            body = ["reconstruction_accuracy"]
        else:
            body = ["predicted"] + [f"p_{c}" for c in self.class_names if self.task != "regression"]
        return ["id", "length", *body, *(["nearest_identity"] if nearest else []), "flags"]

    def _dataset(self, chunk: Chunk) -> Any:
        from .encode import encode_table

        return encode_table(chunk.ids, chunk.seqs)

    def predict_chunk(self, chunk: Chunk) -> pd.DataFrame:
        """The prediction table (module doc) of one prepared chunk, without ``flags``."""
        from .inference import predict_dataset

        if not chunk.ids:
            return pd.DataFrame({c: [] for c in self.columns()[:-1]})
        pred = predict_dataset(self.model, self._dataset(chunk), batch_size=self.batch_size,
                               device=self.device, max_len=self.max_len, truncate=self.truncate)
        lengths = np.fromiter(map(len, chunk.seqs), np.int64, len(chunk.seqs))
        frame = pd.DataFrame({"id": chunk.ids, "length": lengths})
        out = pred["outputs"]
        if self.task == "unsupervised":
            frame["reconstruction_accuracy"] = out
        elif self.task == "regression":
            frame["predicted"] = out
        else:
            names = np.asarray(self.class_names, dtype=object)
            frame["predicted"] = names[pred["predicted"]]
            for j, cls in enumerate(self.class_names):
                frame[f"p_{cls}"] = out[:, j]
        return frame

    def embed_chunk(self, chunk: Chunk) -> np.ndarray:
        """``model.embed`` of one prepared chunk: ``(N, D)`` ``float32``, input order."""
        from .inference import embed_dataset

        return embed_dataset(self.model, self._dataset(chunk), batch_size=self.batch_size,
                             device=self.device, max_len=self.max_len, truncate=self.truncate)

    def predict(self, sequences: Any) -> pd.DataFrame:
        """Predict a list of sequences (ids ``"0"``, ``"1"``, ...), a dict id -> sequence or a
        list of ``(id, seq)`` pairs; returns the prediction table (module doc) as a DataFrame."""
        chunk = self.prepare(_as_pairs(sequences))
        return finish_rows(self.predict_chunk(chunk), chunk)

    def embed(self, sequences: Any) -> np.ndarray:
        """Embeddings ``(N, D)`` ``float32`` of sequences given as for :meth:`predict`."""
        return self.embed_chunk(self.prepare(_as_pairs(sequences)))


def finish_rows(frame: pd.DataFrame, chunk: Chunk, identity: np.ndarray | None = None,
                threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Add ``nearest_identity`` (when ``identity`` is given, flagging ``extrapolating`` below
    ``threshold``) and the ``;``-joined ``flags`` column to a chunk's prediction table."""
    flags = chunk.flags
    if identity is not None:
        frame["nearest_identity"] = identity
        flags = [f + ["extrapolating"] if ident < threshold else f
                 for f, ident in zip(flags, identity.tolist(), strict=True)]
    frame["flags"] = [";".join(f) for f in flags]
    return frame


def load(model_dir: str | os.PathLike, device: str = "cpu", batch_size: int = 256) -> Predictor:
    """Load a model directory (``model.json`` + ``model.safetensors``) as a :class:`Predictor`.

    ``device`` is ``auto | cpu | cuda | cuda:N | mps``. Raises
    :class:`~seqnn.checkpoint.CheckpointError` for a missing, incomplete or newer-format
    model directory.
    """
    from .checkpoint import load_model
    from .trainstate import select_device

    dev = select_device(device)
    model, meta = load_model(model_dir, dev)
    return Predictor(model, meta, dev, batch_size)


# ----------------------------------------------------------------------------- nearest

class NearestTrain:
    """Highest identity of query sequences to the training sequences a model directory keeps
    in ``train_sequences.fa`` (MMseqs2, the leakage audit's alignment flags)."""

    def __init__(self, model_dir: str | os.PathLike, policy: str = "map", threads: int = 1):
        from .split import find_mmseqs

        path = Path(model_dir) / TRAIN_SEQUENCES
        if not path.is_file():
            raise SeqnnInputError(path, "missing: --nearest needs the training sequences the "
                                  "train command keeps in the model directory")
        find_mmseqs()
        records = read_fasta(path, policy=policy, check_nucleotide=False)
        self.train = [r.sequence for r in records]
        self.train_set = set(self.train)
        self.threads = threads

    def identity(self, seqs: list[str]) -> np.ndarray:
        """``(N,)`` ``float64`` best identity (``nident / alnlen``; 0 without a hit, 1 for an
        identical training copy) of each of ``seqs``."""
        from .split import _align

        hits = _align(seqs, self.train, None, self.threads, coverage=0.8, evalue=10.0)
        best = hits.groupby("query")["identity"].max() if len(hits) else pd.Series(dtype=float)
        out = best.reindex(np.arange(len(seqs))).fillna(0.0).to_numpy(dtype=float, copy=True)
        copies = np.fromiter((s in self.train_set for s in seqs), bool, len(seqs))
        out[copies] = 1.0
        return out


# ----------------------------------------------------------------------------- files

def _progress(enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(unit="seq", disable=not (enabled and sys.stderr.isatty()), leave=False)


def predict_file(predictor: Predictor, path: str | os.PathLike, out: str | os.PathLike | None,
                 *, chunk_size: int = DEFAULT_CHUNK, nearest: NearestTrain | None = None,
                 progress: bool = False) -> int:
    """Stream FASTA ``path`` through ``predictor`` into the prediction TSV ``out`` (``None`` =
    standard output), one chunk at a time; returns the number of records.

    A file ``out`` is written to a temporary name and renamed at the end, so an error leaves
    no partial output (standard output may have received earlier chunks).
    """
    threshold = float(predictor.meta.get("identity_threshold", DEFAULT_THRESHOLD))
    with contextlib.ExitStack() as stack:
        if out is None:
            fh: IO[str] = sys.stdout
        else:
            fh = stack.enter_context(open(stack.enter_context(atomic_path(out)), "w"))
        src = source_name(path)
        bar, seen, n = stack.enter_context(_progress(progress)), SeenIds(src), 0
        for records in iter_fasta_chunks(path, chunk_size):
            chunk = predictor.prepare(records, src, seen, check_nucleotide=n == 0)
            ident = nearest.identity(chunk.seqs) if nearest is not None else None
            frame = finish_rows(predictor.predict_chunk(chunk), chunk, ident, threshold)
            fh.write(frame.to_csv(sep="\t", index=False, header=n == 0, lineterminator="\n"))
            fh.flush()
            n += len(chunk.ids)
            bar.update(len(chunk.ids))
    return n


def write_npy_header(fh: IO[bytes], n: int, dim: int, size: int = 128) -> None:
    """Write a ``.npy`` v1.0 header for a C-order ``(n, dim)`` ``float32`` array, padded to
    exactly ``size`` bytes (so it can be written first as a placeholder and rewritten)."""
    d = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, {dim}), }}"
    header = d.ljust(size - 11) + "\n"
    fh.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1"))


def embed_file(predictor: Predictor, path: str | os.PathLike, out: str | os.PathLike, *,
               chunk_size: int = DEFAULT_CHUNK, progress: bool = False) -> tuple[int, int]:
    """Stream FASTA ``path`` into embeddings ``out``: ``.npy`` (``(N, D)`` ``float32``, plus
    ids one per line in ``<out>.ids.txt``) or ``.tsv`` (``id``, ``dim_0`` .. ``dim_{D-1}``).
    Written atomically; returns ``(N, D)``."""
    suffix = Path(out).suffix.lower()
    if suffix not in (".npy", ".tsv"):
        raise SeqnnInputError(out, "output must end in .npy or .tsv")
    n, dim = 0, 0
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(atomic_path(out))
        ids_fh = None
        if suffix == ".npy":
            ids_fh = stack.enter_context(open(stack.enter_context(
                atomic_path(f"{out}.ids.txt")), "w"))
        fh = stack.enter_context(open(tmp, "wb" if suffix == ".npy" else "w"))
        if suffix == ".npy":
            write_npy_header(fh, 0, 0)
        src = source_name(path)
        bar, seen = stack.enter_context(_progress(progress)), SeenIds(src)
        for records in iter_fasta_chunks(path, chunk_size):
            chunk = predictor.prepare(records, src, seen, check_nucleotide=n == 0)
            z = np.ascontiguousarray(predictor.embed_chunk(chunk), dtype="<f4")
            dim = z.shape[1]
            if ids_fh is not None:
                fh.write(z.tobytes())
                ids_fh.write("".join(f"{i}\n" for i in chunk.ids))
            else:
                frame = pd.DataFrame(z, columns=[f"dim_{k}" for k in range(dim)])
                frame.insert(0, "id", chunk.ids)
                fh.write(frame.to_csv(sep="\t", index=False, header=n == 0, lineterminator="\n"))
            n += len(chunk.ids)
            bar.update(len(chunk.ids))
        if suffix == ".npy":
            fh.seek(0)
            write_npy_header(fh, n, dim)
    return n, dim


__all__ = [
    "FLAGS", "TRAIN_SEQUENCES", "Chunk", "NearestTrain", "Predictor", "SeenIds", "embed_file",
    "finish_rows", "iter_fasta_chunks", "load", "open_fasta", "predict_file", "source_name",
]
