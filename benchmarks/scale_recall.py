"""What the large-data clustering costs in recall of homologues, on SCL2205.

Compares, on the same proteins (optionally a seeded sample of ``--n``):

* clustering: the pairs at >= ``--identity`` identity (coverage 0.8 of both, E <= 10) that
  the small-data search finds (:func:`seqnn.split.mmseqs.align`: all pairs aligned when small,
  else the k-mer prefilter at ``-s 7.5 --max-seqs 1000``), and the share of them that
  ``mmseqs linclust`` puts into one cluster (the recall of the linclust split);
* the audit: on a random 80/10/10 split, the held-out proteins whose nearest training
  protein reaches the identity threshold under the small-data search, and the share of them the
  prefiltered search at ``-s --sensitivity`` (``--max-seqs 300``) also finds;
* the residual leakage of a linclust split, measured with the small-data search.

Prints one JSON object with the numbers and the wall and child-CPU seconds of each search.

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/scale_recall.py \\
        --data /path/to/scl2205_pscldata --threads 2 [--n 5000]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from seqnn.data.alphabet import clean
from seqnn.data.prepare import prepare
from seqnn.split import leakage, methods
from seqnn.split.mmseqs import align

COVERAGE, EVALUE = 0.8, 10.0


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return out, {"wall_s": round(time.perf_counter() - t0, 1), "cpu_s": round(cpu, 1)}


def load(folder: str, n: int | None, seed: int) -> pd.DataFrame:
    """SCL2205's proteins (alphabet policy ``map``), optionally a seeded sample of ``n``."""
    with tempfile.TemporaryDirectory() as tmp:
        table = prepare("scl2205", str(Path(tmp) / "scl.tsv"), folder)
    table = table.assign(sequence=[clean(s, i, "map") for s, i in
                                   zip(table["sequence"], table["id"], strict=True)])
    if n is not None and n < len(table):
        table = table.sample(n=n, random_state=seed)
    return table[["id", "sequence", "label"]].reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the scl2205_pscldata folder")
    ap.add_argument("--n", type=int, default=None, help="a seeded sample of this many")
    ap.add_argument("--identity", type=float, default=0.3)
    ap.add_argument("--sensitivity", type=float, default=5.7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    df = load(args.data, args.n, args.seed)
    seqs = df["sequence"].tolist()
    out: dict = {"proteins": len(df), "identity": args.identity,
                 "sensitivity": args.sensitivity, "threads": args.threads}
    with tempfile.TemporaryDirectory() as work:
        hits, out["small_data_search"] = _timed(align, seqs, seqs, work, args.threads, COVERAGE,
                                           EVALUE, min_identity=args.identity)
        clusters, out["linclust"] = _timed(methods.cluster_sequences, df, args.identity,
                                           COVERAGE, work, args.threads, EVALUE, "linclust")
        pairs = hits[hits["query"] < hits["target"]]
        cid = pd.factorize(clusters.to_numpy())[0]
        q, t = pairs["query"].to_numpy(), pairs["target"].to_numpy()
        out["similar_pairs"] = int(len(pairs))
        out["pair_recall_linclust"] = float((cid[q] == cid[t]).mean()) if len(pairs) else None
        graph = coo_matrix((np.ones(len(q)), (q, t)), shape=(len(df), len(df)))
        out["components_small_data"] = int(connected_components(graph, directed=False)[0])
        out["clusters_linclust"] = int(clusters.nunique())

        split = methods.split_random(df, (0.8, 0.1, 0.1), seed=args.seed)
        ref, out["audit_small_data"] = _timed(leakage.nearest_train_identity, df, split, work,
                                         args.threads, COVERAGE, EVALUE)
        fast, out["audit_prefilter"] = _timed(leakage.nearest_train_identity, df, split, work,
                                              args.threads, COVERAGE, EVALUE,
                                              sensitivity=args.sensitivity)
        found = ref["identity"].to_numpy() >= args.identity
        fast_found = fast["identity"].to_numpy() >= args.identity
        out["heldout"] = int(len(ref))
        out["heldout_with_homologue_small_data"] = int(found.sum())
        out["audit_recall_prefilter"] = float(fast_found[found].mean()) if found.any() else None
        out["audit_extra_prefilter"] = int((fast_found & ~found).sum())

        lin_split = methods.split_cluster(df, "multiclass", (0.8, 0.1, 0.1), args.seed,
                                          clusters=clusters)
        leak = leakage.nearest_train_identity(df, lin_split, work, args.threads, COVERAGE,
                                              EVALUE)
        out["linclust_split_heldout_above_identity"] = float(
            (leak["identity"] >= args.identity).mean())
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
