"""The encoded store on disk (``encoded.npz``), written incrementally and read as memory maps.

The store is an uncompressed ``.npz`` (the format of ``numpy.savez``): a zip archive whose
members are plain ``.npy`` arrays stored without compression --

* ``tokens`` ``(R,)`` ``uint8``: every residue, record after record;
* ``offsets`` ``(N + 1,)`` ``int64``; ``ids`` ``(N,)`` str; ``labels`` ``(N,)`` (optional);
* ``task`` (0-d str) and ``class_names`` ``(K,)`` str; multi-label: ``label_separator``
  (0-d str).

Because a stored member sits at a fixed place in the file, :func:`load_encoded` maps
``tokens``, ``offsets``, ``ids`` and ``labels`` read-only with ``numpy.memmap`` instead of
reading them: opening a proteome costs almost no memory, and training, the controls and
prediction read only the pages of the batches they use (subsets are views, see
:mod:`seqnn.data.ragged`). A store written by ``numpy.savez_compressed`` is still read, into
memory, but only when every member it must decompress or read is at most
:data:`MAX_READ_BYTES` by the sizes in the zip's central directory, checked before anything is
read (a 4 MB file of deflated zeros that would expand to 4 GiB is refused in one line naming
the member); a mapped member's ``.npy`` header must describe exactly the bytes the member holds.

:func:`load_encoded` validates the store before returning it, cheaply (vectorised, the tokens
in one chunked pass that holds at most :data:`CHECK_BLOCK` bytes at a time): ``tokens`` 1-d
``uint8`` within ``1..UNKNOWN_ID`` (21); ``offsets`` 1-d integers starting at 0, never
decreasing, ending at ``len(tokens)``; ``ids`` 1-d text, one per record; ``labels`` numeric,
one row per record; ``task`` one of the tasks; ``class_names`` text
(:func:`seqnn.data.tables.check_class_names`). Anything else raises
:class:`~seqnn.errors.SeqnnInputError` naming the file and the member.
:class:`StoreWriter` writes a store chunk by chunk: tokens go to a temporary file
beside the output as they come, so encoding never holds more than one chunk of residues, and
the archive is renamed into place only when complete.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

import numpy as np

from ..errors import OutputError, SeqnnInputError
from .alphabet import UNKNOWN_ID
from .files import STDOUT, atomic_path, temp_beside
from .ragged import EncodedDataset
from .tables import TASKS, check_class_names

#: members mapped from disk rather than read (the rest are a few bytes)
MAPPED = ("tokens", "offsets", "ids", "labels")
#: the most bytes one member may expand to when it is decompressed or read into memory
MAX_READ_BYTES = 256 << 20
#: the most members a store may hold (seqnn writes at most 7)
MAX_MEMBERS = 64
#: bytes of tokens checked at a time by :func:`check_store`
CHECK_BLOCK = 1 << 24
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # zip local file header: signature .. name, extra
_COPY_BLOCK = 1 << 24


class StoreWriter:
    """Write an encoded store to ``path`` incrementally (atomically, on :meth:`finish`).

    Call :meth:`add` with each chunk's ragged tokens and lengths, then :meth:`finish` with
    the per-record metadata. Use as a context manager so the temporary token file goes away
    on error.
    """

    def __init__(self, path: str | os.PathLike):
        if str(path) == STDOUT:  # a binary archive: never to standard output
            raise OutputError(path, "cannot write this output to standard output; "
                                    "give a file name")
        self.path = path
        self._tmp: IO[bytes] = temp_beside(path)
        self._lengths: list[np.ndarray] = []
        self.residues = 0

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._tmp.close()

    def __len__(self) -> int:
        return sum(len(x) for x in self._lengths)

    def add(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        """Append records: their concatenated ``uint8`` ``tokens`` and ``(n,)`` lengths."""
        tokens = np.ascontiguousarray(tokens, dtype=np.uint8)
        lengths = np.asarray(lengths, dtype=np.int64)
        if int(lengths.sum()) != tokens.size:
            raise ValueError("the lengths do not add up to the number of tokens")
        self._tmp.write(memoryview(tokens).cast("B"))
        self._lengths.append(lengths)
        self.residues += tokens.size

    def finish(self, ids: np.ndarray, labels: np.ndarray | None, task: str,
               class_names: list[str], label_separator: str = ";") -> None:
        """Write the archive (tokens copied from the temporary file in blocks) and rename
        it onto the output."""
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if len(ids) != len(lengths) or (labels is not None and len(labels) != len(lengths)):
            raise ValueError("ids, labels and records differ in number")
        self._tmp.flush()
        self._tmp.seek(0)
        with atomic_path(self.path) as tmp, zipfile.ZipFile(
                tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            with zf.open("tokens.npy", "w", force_zip64=True) as fh:
                header = {"descr": "|u1", "fortran_order": False, "shape": (self.residues,)}
                np.lib.format.write_array_header_1_0(fh, header)
                shutil.copyfileobj(self._tmp, fh, _COPY_BLOCK)
            small = {"offsets": offsets, "ids": np.asarray(ids).astype(str),
                     "task": np.array(task), "class_names": np.array(class_names, dtype=str)}
            if labels is not None:
                small["labels"] = np.asarray(labels)
            if task == "multilabel":
                small["label_separator"] = np.array(label_separator)
            for name, arr in small.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, arr, allow_pickle=False)


def save_encoded(ds: EncodedDataset, path: str | os.PathLike) -> None:
    """Write an encoded dataset (in memory or a mapped view) to ``path`` atomically, its
    tokens block by block (no pickles inside)."""
    with StoreWriter(path) as writer:
        for block, lengths in zip(ds.chunks(), _length_blocks(ds), strict=True):
            writer.add(block, lengths)
        writer.finish(ds.ids, ds.labels, ds.task, list(ds.class_names), ds.label_separator)


def _length_blocks(ds: EncodedDataset) -> Iterator[np.ndarray]:
    from .ragged import CHUNK_RECORDS

    lengths = ds.lengths
    for a in range(0, len(ds), CHUNK_RECORDS):
        yield lengths[a : a + CHUNK_RECORDS]


def load_encoded(path: str | os.PathLike) -> EncodedDataset:
    """Open an encoded store written by :func:`save_encoded` or ``seqnn encode``: the large
    arrays are read-only memory maps (module doc); ``allow_pickle=False`` throughout.

    A missing file, a file that is not an ``.npz``, a store without ``tokens``, a member
    too large to read (:data:`MAX_READ_BYTES`) or a store that fails :func:`check_store`
    raises :class:`~seqnn.errors.SeqnnInputError` naming the file (and the member).
    """
    if not os.path.isfile(path):
        raise SeqnnInputError(path, "file not found" if not os.path.exists(path)
                              else "is not a file")
    try:
        arrays = _open_members(path)
    except SeqnnInputError:
        raise
    except (zipfile.BadZipFile, zlib.error, struct.error, ValueError, OSError, EOFError,
            NotImplementedError, RuntimeError, MemoryError) as exc:  # Runtime: encrypted
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise SeqnnInputError(path, f"not an encoded store (.npz) ({first})") from None
    missing = [k for k in ("tokens", "offsets", "ids", "task") if k not in arrays]
    if missing:
        raise SeqnnInputError(path, f"not an encoded store: no {', '.join(missing)}")
    check_store(arrays, path)
    return EncodedDataset(
        tokens=arrays["tokens"],
        offsets=arrays["offsets"],
        ids=arrays["ids"],
        labels=arrays.get("labels"),
        task=str(arrays["task"]),
        class_names=[str(c) for c in arrays.get("class_names", [])],
        label_separator=(str(arrays["label_separator"]) if "label_separator" in arrays
                         else ";"),
    )


def _open_members(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every ``.npy`` member of the archive: mapped when stored uncompressed (and in
    :data:`MAPPED`), else read."""
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as raw:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise SeqnnInputError(path, f"not an encoded store: {len(infos)} members (at most "
                                  f"{MAX_MEMBERS})")
        for info in infos:
            name = info.filename.removesuffix(".npy")
            if not info.filename.endswith(".npy"):
                continue
            mapped = None
            if name in MAPPED and info.compress_type == zipfile.ZIP_STORED:
                mapped = _map_member(path, raw, info)
            if mapped is None:
                mapped = _read_member(path, zf, info)
            out[name] = mapped
    return out


def _read_member(path: str | os.PathLike, zf: zipfile.ZipFile,
                 info: zipfile.ZipInfo) -> np.ndarray:
    """Member ``info`` read (decompressed) into memory, refused before anything is read
    when the central directory says it expands beyond :data:`MAX_READ_BYTES`."""
    if info.file_size > MAX_READ_BYTES:
        how = "compressed" if info.compress_type != zipfile.ZIP_STORED else "stored"
        raise SeqnnInputError(path, f"member {info.filename} ({how}) expands to "
                              f"{info.file_size} bytes, over the {MAX_READ_BYTES} bytes read "
                              "into memory; write the store with `seqnn encode` (uncompressed,"
                              " memory-mapped)")
    with zf.open(info) as fh:
        data = fh.read(MAX_READ_BYTES + 1)  # zipfile stops at file_size; this bounds it too
    if len(data) > MAX_READ_BYTES:
        raise SeqnnInputError(path, f"member {info.filename} expands beyond "
                              f"{MAX_READ_BYTES} bytes")
    try:  # numpy parses the header of untrusted bytes: any failure is a bad member
        return np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # ValueError, tokenize.TokenError, SyntaxError, EOFError ...
        raise SeqnnInputError(path, f"member {info.filename}: not a readable .npy array "
                              f"({type(exc).__name__})") from None


def _map_member(path: str | os.PathLike, raw: IO[bytes],
                info: zipfile.ZipInfo) -> np.ndarray | None:
    """A read-only ``numpy.memmap`` of the stored member ``info``; ``None`` when its header
    is of a version this reader does not map (it is then read instead)."""
    raw.seek(info.header_offset)
    sig, name_len, extra_len = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if sig != b"PK\x03\x04":
        raise ValueError(f"bad zip entry {info.filename}")
    raw.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    try:  # numpy parses the header of untrusted bytes: any failure is a bad member
        version = np.lib.format.read_magic(raw)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(raw)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(raw)
        else:
            return None
    except Exception as exc:  # ValueError, tokenize.TokenError, SyntaxError, EOFError ...
        raise SeqnnInputError(path, f"member {info.filename}: not a readable .npy header "
                              f"({type(exc).__name__})") from None
    if dtype.hasobject:
        raise ValueError(f"{info.filename} holds Python objects")
    header = raw.tell() - (info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    size = math.prod(shape) * dtype.itemsize
    if header + size != info.file_size:
        raise SeqnnInputError(path, f"member {info.filename}: its header describes {size} "
                              f"bytes of data, the member holds {info.file_size - header}")
    if size == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=raw.tell(), shape=shape,
                     order="F" if fortran else "C")


def check_store(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    """The cheap consistency checks of a store's members (module doc); raises
    :class:`~seqnn.errors.SeqnnInputError` naming ``path`` and the member."""
    tokens, offsets, ids = arrays["tokens"], arrays["offsets"], arrays["ids"]

    def bad(member: str, reason: str) -> SeqnnInputError:
        return SeqnnInputError(path, f"member {member}.npy: {reason}")

    if tokens.ndim != 1 or tokens.dtype != np.uint8:
        raise bad("tokens", f"must be 1-d uint8, got {tokens.ndim}-d {tokens.dtype}")
    if offsets.ndim != 1 or offsets.dtype.kind not in "iu" or len(offsets) < 1:
        raise bad("offsets", f"must be 1-d integers, got {offsets.ndim}-d {offsets.dtype}")
    if int(offsets[0]) != 0 or int(offsets[-1]) != len(tokens):
        raise bad("offsets", f"must run from 0 to the {len(tokens)} tokens, got "
                  f"{int(offsets[0])}..{int(offsets[-1])}")
    if len(offsets) > 1 and bool((np.diff(offsets) < 0).any()):
        where = int(np.flatnonzero(np.diff(offsets) < 0)[0])
        raise bad("offsets", f"decrease at record {where} (offsets must never decrease)")
    n = len(offsets) - 1
    if ids.ndim != 1 or ids.dtype.kind not in "US" or len(ids) != n:
        raise bad("ids", f"must be {n} strings (one per record), got shape {ids.shape} "
                  f"{ids.dtype}")
    labels = arrays.get("labels")
    if labels is not None and (labels.ndim not in (1, 2) or labels.dtype.kind not in "biuf"
                               or len(labels) != n):
        raise bad("labels", f"must be {n} numbers (one row per record), got shape "
                  f"{labels.shape} {labels.dtype}")
    task = arrays["task"]
    if task.ndim != 0 or task.dtype.kind not in "US" or str(task) not in TASKS:
        raise bad("task", f"must be one of {', '.join(TASKS)}")
    names = arrays.get("class_names", np.zeros(0, dtype=str))
    if names.ndim != 1 or (len(names) and names.dtype.kind not in "US"):
        raise bad("class_names", "must be a list of strings")
    check_class_names([str(c) for c in names], path)
    sep = arrays.get("label_separator", np.array(";"))
    if sep.ndim != 0 or sep.dtype.kind not in "US" or not 0 < len(str(sep)) <= 8:
        raise bad("label_separator", "must be a short string")
    low, high = _token_range(tokens)
    if len(tokens) and (low < 1 or high > UNKNOWN_ID):
        value = low if low < 1 else high
        raise bad("tokens", f"holds token {value}; residues are 1..{UNKNOWN_ID} (0 is "
                  "padding, never stored)")


def _token_range(tokens: np.ndarray) -> tuple[int, int]:
    """The smallest and largest token, read :data:`CHECK_BLOCK` bytes at a time."""
    low, high = 255, 0
    for a in range(0, len(tokens), CHECK_BLOCK):
        block = np.asarray(tokens[a : a + CHECK_BLOCK])
        low, high = min(low, int(block.min())), max(high, int(block.max()))
    return low, high


__all__ = ["StoreWriter", "save_encoded", "load_encoded", "check_store", "MAPPED",
           "MAX_READ_BYTES"]
