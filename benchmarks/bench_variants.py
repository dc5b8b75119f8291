"""Benchmark: the leakage audit of a variant library, by exact Hamming distance against the
MMseqs2 all-vs-all identity audit.

Usage::

    python benchmarks/bench_variants.py [--n 10000] [--length 237] [--max-mutations 6]
                                        [--seed 0] [--threads 2] [--dense-subset 1000]

Generates a seeded synthetic deep-mutational-scanning library: a random parent of
``--length`` residues (237, the length of avGFP) and ``--n`` variants, each with 1 to
``--max-mutations`` substitutions at random positions (uniform count), split at random
80/10/10. Then measures, for the valid and test variants against train:

* ``detect``: the variant-library rule of :mod:`seqnn.split.variants` (consensus, counts);
* the sparse exact audit (:func:`~seqnn.split.variants.nearest_hamming_sparse`, what
  ``seqnn audit`` runs on an equal-length library);
* the byte-by-byte exact comparison (:func:`~seqnn.split.variants.nearest_hamming`) on the
  first ``--dense-subset`` held-out variants, scaled linearly to all of them (marked ``~``);
* the MMseqs2 identity audit every other dataset gets
  (:func:`seqnn.split.leakage.nearest_train_identity`, ``--threads``; ``--no-mmseqs``
  skips it), and how often its nearest identity equals the exact gapless identity
  ``1 - d / L``.

Prints a markdown table (seconds, ratio against MMseqs2).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import pandas as pd

from seqnn.split import leakage
from seqnn.split import variants as V
from seqnn.split.methods import split_random

AA = "ACDEFGHIKLMNPQRSTVWY"


def make_library(n: int, length: int, max_mutations: int, seed: int) -> pd.DataFrame:
    """``n`` variants of a random parent, each with 1..``max_mutations`` substitutions."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(AA.encode(), dtype=np.uint8)
    parent = rng.choice(letters, length)
    matrix = np.repeat(parent[None, :], n, axis=0)
    for i, k in enumerate(rng.integers(1, max_mutations + 1, size=n)):
        pos = rng.choice(length, k, replace=False)
        shift = rng.integers(1, len(AA), size=k)  # never the parent's residue
        matrix[i, pos] = letters[(np.searchsorted(letters, parent[pos]) + shift) % len(AA)]
    seqs = [row.tobytes().decode() for row in matrix]
    return pd.DataFrame({"id": [f"v{i}" for i in range(n)], "sequence": seqs})


def timed(fn, *args, **kwargs):
    """``((wall, cpu), result)``; cpu counts this process and its child processes (MMseqs2)."""
    start, before = time.perf_counter(), os.times()
    out = fn(*args, **kwargs)
    after = os.times()
    cpu = sum(getattr(after, k) - getattr(before, k)
              for k in ("user", "system", "children_user", "children_system"))
    return (time.perf_counter() - start, cpu), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--length", type=int, default=237)
    ap.add_argument("--max-mutations", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dense-subset", type=int, default=1000)
    ap.add_argument("--no-mmseqs", action="store_true", help="Skip the MMseqs2 audit.")
    args = ap.parse_args()
    df = make_library(args.n, args.length, args.max_mutations, args.seed)
    splits = split_random(df, (0.8, 0.1, 0.1), args.seed)
    table = leakage.join_splits(df, splits)
    seqs = table["sequence"].tolist()
    t_detect, found = timed(V.detect, seqs)
    assert found["is_variant_library"], found
    train = V.as_matrix([s for s, w in zip(seqs, table["split"], strict=True) if w == "train"])
    held = V.as_matrix([s for s, w in zip(seqs, table["split"], strict=True) if w != "train"])
    t_sparse, (dist, _) = timed(V.nearest_hamming_sparse, held, train, found["consensus"])
    sub = held[:args.dense_subset]
    t_dense, (dist_sub, _) = timed(V.nearest_hamming, sub, train)
    assert (dist_sub == dist[:len(sub)]).all()
    t_dense = tuple(t * len(held) / max(len(sub), 1) for t in t_dense)
    t_mm, agree = (float("nan"), float("nan")), float("nan")
    if not args.no_mmseqs:
        t_mm, near = timed(leakage.nearest_train_identity, table, splits, None, args.threads)
        agree = float(np.isclose(near["identity"].to_numpy(), 1 - dist / args.length).mean())
    print(f"# variant-library audit: {args.n} variants of length {args.length}, 1.."
          f"{args.max_mutations} substitutions, random 80/10/10 split "
          f"({len(held)} held-out vs {len(train)} train)")
    print(f"# {platform.platform()}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, MMseqs2 threads {args.threads}")
    print("\n| step | wall s | CPU s | CPU ratio vs MMseqs2 |\n|---|---|---|---|")
    for name, (wall, cpu) in (("detect (consensus, rule)", t_detect),
                              ("exact Hamming, sparse (seqnn audit)", t_sparse),
                              (f"exact Hamming, byte by byte (~ from {len(sub)})", t_dense),
                              ("MMseqs2 nearest identity", t_mm))[:3 if args.no_mmseqs else 4]:
        ratio = "—" if args.no_mmseqs else f"{t_mm[1] / max(cpu, 1e-3):.0f}x"
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {ratio} |")
    print(("" if args.no_mmseqs else f"\nMMseqs2 nearest identity equals the exact 1 - d/L "
           f"for {agree:.1%} of held-out variants;") + " exact distances to the nearest training "
          f"variant: "
          f"{int(dist.min())}..{int(dist.max())} (median {np.median(dist):g}).")


if __name__ == "__main__":
    main()
