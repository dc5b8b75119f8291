"""Benchmark: the cost of ``seqnn predict``'s applicability check (``nearest_identity``).

Usage::

    python benchmarks/bench_nearest.py [--n 4000] [--train 4000] [--seed 0] [--threads 2]
                                       [--chunk-size 10000] [--repeats 2]

``--n 2000 --train 2000`` takes about a minute and a half on 2 cores.

Builds the default CNN of ``bench_predict.py`` (randomly initialised, seeded; ``max_len``
1000) as a model folder and writes ``--train`` random proteins (log-normal lengths, median
400; Swiss-Prot residue frequencies) as its ``train_sequences.fa``. The ``--n`` query
proteins are half homologues (a training protein with 40 % of its residues substituted at
random, so about 60 % identity) and half new random proteins. Runs ``seqnn predict`` on
them as a child process on CPU:

* ``--no-nearest`` (the named alternative: no applicability check),
* the default, first call, run first (builds the training set's MMseqs2 database in the
  model folder),
* the default, again (reuses that database: what every later call costs),

and prints a table: proteins, ``--no-nearest`` s, default s, ratio (wall: the best of
``--repeats`` runs of ``--no-nearest`` and of the later call, interleaved; CPU seconds of the
child and its MMseqs2 runs, which load on a shared machine disturbs less); and the share of
homologues found at >= 0.3 identity (the check's recall on this data) and of random
queries flagged ``extrapolating``. Wall times on a shared machine grow with its load: the
load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_predict import (  # noqa: E402 - the sibling benchmark's data and model
    BACKGROUND,
    run_child,
    save_default_cnn,
    seqnn_command,
)

from seqnn.data.alphabet import STANDARD  # noqa: E402


def proteins(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` random proteins: log-normal lengths (median 400, sigma 0.75, 30..5000)."""
    lengths = np.clip(np.rint(rng.lognormal(np.log(400), 0.75, size=n)), 30, 5000).astype(int)
    p = np.array([BACKGROUND[c] for c in STANDARD])
    letters = np.frombuffer(STANDARD.encode(), dtype="S1")
    return [letters[rng.choice(20, size=int(k), p=p / p.sum())].tobytes().decode()
            for k in lengths]


def mutate(rng: np.random.Generator, seq: str, rate: float) -> str:
    """``seq`` with a ``rate`` share of positions replaced by a random residue."""
    chars = np.frombuffer(seq.encode(), dtype="S1").copy()
    hit = rng.random(len(chars)) < rate
    chars[hit] = np.frombuffer(STANDARD.encode(), dtype="S1")[rng.integers(0, 20, hit.sum())]
    return chars.tobytes().decode()


def write(path: Path, ids: list[str], seqs: list[str]) -> None:
    with open(path, "w") as fh:
        fh.writelines(f">{i}\n{s}\n" for i, s in zip(ids, seqs, strict=True))


def main() -> None:
    """Parse arguments, run the three predictions, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--train", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=2,
                    help="runs of --no-nearest and of the later default call (best is kept)")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    seqnn = seqnn_command()
    print(f"# seqnn predict: applicability check cost, {args.n:,} queries against "
          f"{args.train:,} training proteins, CPU, {args.threads} threads; load average at "
          f"start {os.getloadavg()[0]:.1f} (machine shared with other work)\n")
    with tempfile.TemporaryDirectory(prefix="bench_nearest_") as tmp:
        root = Path(tmp)
        model = root / "model"
        save_default_cnn(model, args.seed)
        train = proteins(rng, args.train)
        write(model / "train_sequences.fa", [f"t{i}" for i in range(len(train))], train)
        half = args.n // 2
        parents = rng.integers(0, len(train), half)
        queries = [mutate(rng, train[k], 0.4) for k in parents] + proteins(rng, args.n - half)
        ids = [f"h{i}" for i in range(half)] + [f"r{i}" for i in range(args.n - half)]
        write(root / "in.fa", ids, queries)
        base = [*seqnn, "predict", str(model), str(root / "in.fa"), "--device", "cpu",
                "--threads", str(args.threads), "--chunk-size", str(args.chunk_size)]
        times: dict[str, tuple[float, float]] = {}  # best (wall s, CPU s) of the runs
        runs = [("default, first", [])]
        runs += [("--no-nearest", ["--no-nearest"]), ("default, again", [])] * args.repeats
        for name, extra in runs:
            out = root / f"{name.replace(' ', '_').replace(',', '')}.tsv"
            wall, cpu, _ = run_child([*base, *extra, "-o", str(out)])
            times[name] = min(times.get(name, (wall, cpu)), (wall, cpu))
            if extra == []:
                table = pd.read_csv(out, sep="\t", keep_default_na=False)
        shutil.rmtree(root / "model", ignore_errors=True)
    ident = table["nearest_identity"].to_numpy(dtype=float)
    homolog = table["id"].str.startswith("h").to_numpy()
    flagged = table["flags"].str.contains("extrapolating").to_numpy()
    wall = {k: v[0] for k, v in times.items()}
    cpu = {k: v[1] for k, v in times.items()}
    print("| proteins | --no-nearest s | default s (first call) | default s (later calls) "
          "| ratio (later / --no-nearest) | CPU s --no-nearest / later | CPU ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.n:,} | {wall['--no-nearest']:.1f} | {wall['default, first']:.1f} | "
          f"{wall['default, again']:.1f} | "
          f"{wall['default, again'] / wall['--no-nearest']:.2f} | "
          f"{cpu['--no-nearest']:.1f} / {cpu['default, again']:.1f} | "
          f"{cpu['default, again'] / cpu['--no-nearest']:.2f} |")
    print(f"\nHomologues found at >= 0.3 identity: {(ident[homolog] >= 0.3).mean():.1%}; "
          f"random queries flagged extrapolating: {flagged[~homolog].mean():.1%}")
    print(f"Load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
