"""Benchmark: how fast seqnn encodes sequences, against a naive loop and scikit-learn.

Usage::

    python benchmarks/bench_encode.py [--n 100000] [--seed 0] [--repeats 3]

Generates ``--n`` random protein sequences (seeded) with a realistic length spread
(log-normal, median 400, sigma 0.75, clipped to 30..5000; residues drawn with
UniProtKB/Swiss-Prot background frequencies) and measures residues per second for

* a naive per-residue Python loop: a dict lookup per residue into a list (the baseline);
* ``seqnn.encode.tokenize`` on the whole set;
* ``seqnn.encode.one_hot`` on batches of ``--batch`` sequences, each padded to its own
  longest sequence as training does, in random order and in length-sorted order;
* scikit-learn's ``OneHotEncoder`` (categories = the 21 letters) fitted and applied to the
  per-residue characters reshaped to ``(-1, 1)`` (sparse output, the only one that fits in
  memory for the whole set);

and, on a subset of ``--subset`` sequences cut to ``--max-len`` residues, the whole-subset
dense one-hot from seqnn, a naive per-residue one-hot loop and scikit-learn (dense float32).

Residues counted are the real residues encoded (padding is not counted, truncated residues
are not counted). Each time is the best of ``--repeats`` runs (one run when a run takes
longer than 10 s). The character array scikit-learn needs is built outside its timer, which
favours scikit-learn. Prints a markdown table; the ratio column divides each rate by the
naive loop's rate.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np
import sklearn
from sklearn.preprocessing import OneHotEncoder as SkOneHotEncoder

from seqnn.data.alphabet import N_CHANNELS, STANDARD
from seqnn.encode import one_hot, tokenize

LETTERS = STANDARD + "X"
#: UniProtKB/Swiss-Prot amino-acid composition (%), in STANDARD order
BACKGROUND = {
    "A": 8.25, "C": 1.37, "D": 5.45, "E": 6.75, "F": 3.86, "G": 7.07, "H": 2.27,
    "I": 5.96, "K": 5.84, "L": 9.66, "M": 2.42, "N": 4.06, "P": 4.70, "Q": 3.93,
    "R": 5.53, "S": 6.56, "T": 5.34, "V": 6.87, "W": 1.08, "Y": 2.92,
}
LOOKUP = {c: i for i, c in enumerate(LETTERS, start=1)}


def make_sequences(n: int, seed: int) -> list[str]:
    """``n`` random protein sequences, log-normal lengths (median 400) clipped to 30..5000."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.rint(rng.lognormal(np.log(400), 0.75, size=n)), 30, 5000).astype(int)
    p = np.array([BACKGROUND[c] for c in STANDARD])
    letters = np.frombuffer(STANDARD.encode(), dtype=np.uint8)
    residues = letters[rng.choice(20, size=int(lengths.sum()), p=p / p.sum())]
    text = residues.tobytes().decode()
    ends = np.cumsum(lengths)
    return [text[e - k : e] for e, k in zip(ends.tolist(), lengths.tolist(), strict=True)]


def naive_tokenize(seqs: list[str]) -> list[list[int]]:
    """The baseline: a dict lookup per residue into a Python list."""
    return [[LOOKUP[c] for c in s] for s in seqs]


def naive_one_hot(seqs: list[str], max_len: int) -> np.ndarray:
    """A per-residue loop writing ones into an ``(N, 21, L)`` float32 array."""
    out = np.zeros((len(seqs), N_CHANNELS, max_len), dtype=np.float32)
    for n, s in enumerate(seqs):
        for pos, c in enumerate(s[:max_len]):
            out[n, LOOKUP[c] - 1, pos] = 1.0
    return out


def batched_one_hot(seqs: list[str], order: np.ndarray, batch: int) -> int:
    """One-hot every batch of ``batch`` sequences (padded to the batch max); return columns."""
    columns = 0
    for start in range(0, len(order), batch):
        x = one_hot([seqs[i] for i in order[start : start + batch]])
        columns += x.shape[0] * x.shape[2]
    return columns


def residue_chars(seqs: list[str]) -> np.ndarray:
    """All residues as a ``(-1, 1)`` array of one-character strings (scikit-learn's input)."""
    return np.frombuffer("".join(seqs).encode("utf-32-le"), dtype="<U1").reshape(-1, 1)


def best_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls (a single call if it takes over 10 s)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
        if best > 10:
            break
    return best, result


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of sequences")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=64, help="batch size for batched one-hot")
    parser.add_argument("--subset", type=int, default=2000, help="sequences in the dense subset")
    parser.add_argument("--max-len", type=int, default=1000, help="max_len of the dense subset")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    load_start = os.getloadavg()[0]
    seqs = make_sequences(args.n, args.seed)
    lengths = np.array([len(s) for s in seqs])
    total = int(lengths.sum())
    sub = [s[: args.max_len] for s in seqs[: args.subset]]
    sub_total = sum(len(s) for s in sub)
    letters = [list(LETTERS)]
    rows: list[tuple[str, str, int, float]] = []

    t, naive = best_time(lambda: naive_tokenize(seqs), args.repeats)
    rows.append(("naive loop (dict lookup per residue into a list)", "all", total, t))
    t, (tokens, offsets) = best_time(lambda: tokenize(seqs), args.repeats)
    rows.append(("`seqnn.encode.tokenize`", "all", total, t))
    assert tokens.tolist() == [i for row in naive for i in row], "tokenize != naive loop"
    assert offsets[-1] == total
    del naive

    rng = np.random.default_rng(args.seed + 1)
    shuffled = rng.permutation(args.n)
    t, cols = best_time(lambda: batched_one_hot(seqs, shuffled, args.batch), args.repeats)
    rows.append((f"`one_hot`, batches of {args.batch}, random order", "all", total, t))
    pad_random = 1 - total / cols
    by_length = np.argsort(lengths, kind="stable")
    t, cols = best_time(lambda: batched_one_hot(seqs, by_length, args.batch), args.repeats)
    rows.append((f"`one_hot`, batches of {args.batch}, length-sorted", "all", total, t))
    pad_sorted = 1 - total / cols

    chars = residue_chars(seqs)
    sk_sparse = SkOneHotEncoder(categories=letters, dtype=np.float32)
    t, x = best_time(lambda: sk_sparse.fit_transform(chars), args.repeats)
    rows.append(("scikit-learn `OneHotEncoder` (sparse CSR)", "all", total, t))
    assert x.shape == (total, N_CHANNELS) and x.nnz == total
    chars = x = None  # free the memory before the subset runs

    t, x = best_time(lambda: one_hot(sub, max_len=args.max_len), args.repeats)
    rows.append((f"`one_hot` whole subset, max_len {args.max_len}", "subset", sub_total, t))
    t, naive_x = best_time(lambda: naive_one_hot(sub, args.max_len), args.repeats)
    rows.append(("naive one-hot loop (per-residue array writes)", "subset", sub_total, t))
    assert np.array_equal(x, naive_x), "one_hot != naive one-hot loop"
    sub_chars = residue_chars(sub)
    sk_dense = SkOneHotEncoder(categories=letters, sparse_output=False, dtype=np.float32)
    t, sk_x = best_time(lambda: sk_dense.fit_transform(sub_chars), args.repeats)
    rows.append(("scikit-learn `OneHotEncoder` (dense float32)", "subset", sub_total, t))
    assert sk_x.shape == (sub_total, N_CHANNELS) and sk_x.sum() == sub_total

    naive_rate = rows[0][2] / rows[0][3]
    print(f"command: python benchmarks/bench_encode.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}; 1-min load average {load_start:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end"
    )
    print(
        f"data: all = {args.n:,} sequences, {total:,} residues, length median "
        f"{int(np.median(lengths))}, mean {lengths.mean():.0f}, min {lengths.min()}, "
        f"max {lengths.max()} (seed {args.seed}); subset = first {len(sub):,} sequences cut "
        f"to {args.max_len}, {sub_total:,} residues"
    )
    print(
        f"padding share of one-hot columns: random order {pad_random:.0%}, "
        f"length-sorted {pad_sorted:.0%}"
    )
    print()
    print("| method | input | residues | best time (s) | residues/s | vs naive loop |")
    print("|---|---|---:|---:|---:|---:|")
    for name, which, n_res, secs in rows:
        rate = n_res / secs
        ratio = rate / naive_rate
        shown = f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2g}x"
        print(f"| {name} | {which} | {n_res:,} | {secs:.3f} | {rate:,.0f} | {shown} |")


if __name__ == "__main__":
    main()
