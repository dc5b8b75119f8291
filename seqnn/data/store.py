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
memory. :class:`StoreWriter` writes a store chunk by chunk: tokens go to a temporary file
beside the output as they come, so encoding never holds more than one chunk of residues, and
the archive is renamed into place only when complete.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import zipfile
from collections.abc import Iterator
from typing import IO

import numpy as np

from ..errors import SeqnnInputError
from .files import atomic_path, temp_beside
from .ragged import EncodedDataset

#: members mapped from disk rather than read (the rest are a few bytes)
MAPPED = ("tokens", "offsets", "ids", "labels")
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # zip local file header: signature .. name, extra
_COPY_BLOCK = 1 << 24


class StoreWriter:
    """Write an encoded store to ``path`` incrementally (atomically, on :meth:`finish`).

    Call :meth:`add` with each chunk's ragged tokens and lengths, then :meth:`finish` with
    the per-record metadata. Use as a context manager so the temporary token file goes away
    on error.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = path
        self._tmp: IO[bytes] = temp_beside(path, ".tokens.")
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

    A missing file, a file that is not an ``.npz`` or a store without ``tokens`` raises
    :class:`~seqnn.errors.SeqnnInputError` naming the file.
    """
    if not os.path.isfile(path):
        raise SeqnnInputError(path, "file not found" if not os.path.exists(path)
                              else "is not a file")
    try:
        arrays = _open_members(path)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise SeqnnInputError(path, f"not an encoded store (.npz) ({exc})") from None
    missing = [k for k in ("tokens", "offsets", "ids", "task") if k not in arrays]
    if missing:
        raise SeqnnInputError(path, f"not an encoded store: no {', '.join(missing)}")
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
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            if not info.filename.endswith(".npy"):
                continue
            mapped = None
            if name in MAPPED and info.compress_type == zipfile.ZIP_STORED:
                mapped = _map_member(path, raw, info)
            if mapped is None:
                with zf.open(info) as fh:
                    mapped = np.load(io.BytesIO(fh.read()), allow_pickle=False)
            out[name] = mapped
    return out


def _map_member(path: str | os.PathLike, raw: IO[bytes],
                info: zipfile.ZipInfo) -> np.ndarray | None:
    """A read-only ``numpy.memmap`` of the stored member ``info``; ``None`` when its header
    is of a version this reader does not map (it is then read instead)."""
    raw.seek(info.header_offset)
    sig, name_len, extra_len = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if sig != b"PK\x03\x04":
        raise ValueError(f"bad zip entry {info.filename}")
    raw.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    version = np.lib.format.read_magic(raw)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(raw)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(raw)
    else:
        return None
    if dtype.hasobject:
        raise ValueError(f"{info.filename} holds Python objects")
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=raw.tell(), shape=shape,
                     order="F" if fortran else "C")


__all__ = ["StoreWriter", "save_encoded", "load_encoded", "MAPPED"]
