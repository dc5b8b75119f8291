"""Benchmark: training throughput and memory, length bucketing vs padding to the dataset max.

Usage::

    python benchmarks/bench_train.py [--n 3000] [--seed 0] [--batch-size 64] [--warmup 3]
                                     [--threads 2] [--repeats 1]

Takes ``--n`` real proteins from the SCL2205 set (``--csv``, column ``seq``; a seeded random
sample: the first ``--n`` rows of ``numpy.random.default_rng(seed).permutation``), cleans them
with the ``map`` alphabet policy, labels them with the ``scl`` column (13 classes,
multiclass) and encodes them to ragged tokens with :func:`seqnn.encode.encode_table`.
Then, for each of two loaders from :func:`seqnn.runtime.batches.make_loader` (``max_len`` 1000,
``truncate="ends"``, ``shuffle=True``, the same sampler seed, so both see the *same*
batches of the same records in the same order):

* ``bucket``: the default, length-bucketed batches each padded to its own longest row;
* ``pad_max``: ``pad_to_max=True``, every batch padded to ``min(longest record, max_len)``;

it trains the default CNN (``get_model("cnn", n_outputs=13, task="multiclass")``, default
parameters, built after ``seed_everything(seed)``) with Adam at the ``TrainConfig`` defaults
(lr 1e-3, gradient clipping at 1.0, cross-entropy), on CPU with ``torch.set_num_threads``
``--threads``: ``--warmup`` optimisation steps on the first batches of epoch 0 (not timed),
then one full timed epoch (``set_epoch(0)`` again, every record once; the time includes
batch collation, as in training). Reported: samples/s, real residues/s (after cropping to
``max_len``; padding is not counted), the epoch's process CPU time (all threads; less
sensitive than wall time to other work on a shared machine), the padding share (padded
positions / all positions of the epoch's batches) and the mean training loss of the epoch
(the two differ a little because dropout draws its masks over different shapes).

Each variant runs in its own child process (this script with ``--variant``), so that peak
memory is not shared: the child reports its own ``ru_maxrss`` after setup (torch imported,
data encoded, model built) and at the end, and the table shows both the peak and what
training added on top of setup. ``--repeats R`` alternates the two children ``R`` times and
keeps each variant's best (fastest) run. Also printed: the bytes of the ragged token storage
(``tokens`` + ``offsets``) against a dense ``(N, 21, max_len)`` float32 one-hot of the same
records. Prints a markdown table with the ratio bucketed / pad-to-max.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_CSV = "/work/shared/datasets/scl2205_pscldata/scl2205.csv"
VARIANTS = ("bucket", "pad_max")
MAX_LEN = 1000
TRUNCATE = "ends"


def load_sample(csv: str, n: int, seed: int):  # noqa: ANN201 (EncodedDataset, full lengths)
    """The seeded sample of ``n`` records as an ``EncodedDataset``, and all records' lengths."""
    import pandas as pd

    from seqnn.data.alphabet import clean
    from seqnn.encode import encode_table

    table = pd.read_csv(csv, usecols=["entry", "seq", "scl"])
    all_lengths = table["seq"].str.len().to_numpy()
    if not 0 < n <= len(table):
        raise SystemExit(f"--n must be in 1..{len(table)}, got {n}")
    pick = np.random.default_rng(seed).permutation(len(table))[:n]
    rows = table.iloc[pick]
    ids = rows["entry"].astype(str).tolist()
    seqs = [clean(s, rid, policy="map") for s, rid in zip(rows["seq"], ids, strict=True)]
    labels = rows["scl"].astype(str).tolist()
    classes = sorted(set(table["scl"].astype(str)), key=int)
    ds = encode_table(ids, seqs, labels, task="multiclass", class_names=classes)
    return ds, all_lengths


def maxrss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_variant(args: argparse.Namespace) -> dict[str, float]:
    """Child process: train one epoch with one loader and return the measurements."""
    import torch

    from seqnn.models import get_model
    from seqnn.runtime.batches import make_loader
    from seqnn.runtime.device import limit_heap_growth, limit_primitive_cache
    from seqnn.train import TrainConfig
    from seqnn.training.parts import build_loss, build_optimizer
    from seqnn.training.state import seed_everything

    if args.primitive_cache:  # oneDNN reads it when the first conv primitive is made
        os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(args.primitive_cache)
    else:
        limit_primitive_cache()  # what `seqnn train` does

    if args.heap_limit:
        limit_heap_growth()  # what `seqnn predict` does; training does not (2x slower)
    torch.set_num_threads(args.threads)
    cfg = TrainConfig(batch_size=args.batch_size, max_len=MAX_LEN, truncate=TRUNCATE,
                      seed=args.seed, device="cpu")
    ds, _ = load_sample(args.csv, args.n, args.seed)
    seed_everything(cfg.seed)
    model = get_model("cnn", n_outputs=len(ds.class_names), task="multiclass")
    optimizer = build_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.weight_decay)
    loss_fn = build_loss(cfg.loss, ds.task, None, torch.device("cpu"))
    loader, sampler = make_loader(
        ds, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed, max_len=cfg.max_len,
        truncate=cfg.truncate, pad_to_max=args.variant == "pad_max",
    )

    def step(batch: dict[str, torch.Tensor]) -> float:
        loss = loss_fn(model(batch["x"], batch["mask"]), batch["y"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        return loss.item()

    model.train()
    setup_rss = maxrss_mib()
    sampler.set_epoch(0)
    for b, batch in enumerate(loader):  # warm-up, not timed
        if b >= args.warmup:
            break
        step(batch)

    sampler.set_epoch(0)
    samples = residues = positions = 0
    loss_sum = 0.0
    start, cpu_start = time.perf_counter(), time.process_time()
    for batch in loader:
        size = len(batch["index"])
        loss_sum += step(batch) * size
        samples += size
        residues += int(batch["lengths"].sum())
        positions += batch["mask"].numel()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert samples == len(ds), f"{samples} samples in an epoch of {len(ds)}"
    return {
        "seconds": seconds, "cpu_seconds": cpu, "samples": samples, "residues": residues,
        "positions": positions,
        "loss": loss_sum / samples, "setup_rss_mib": setup_rss, "peak_rss_mib": maxrss_mib(),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }


def run_child(args: argparse.Namespace, variant: str) -> dict[str, float]:
    """Run this script with ``--variant`` in a fresh process; return its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--variant", variant,
           "--csv", args.csv, "--n", str(args.n), "--seed", str(args.seed),
           "--batch-size", str(args.batch_size), "--warmup", str(args.warmup),
           "--threads", str(args.threads), "--primitive-cache", str(args.primitive_cache)
           ] + (["--heap-limit"] if args.heap_limit else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} child failed ({proc.returncode}):\n{proc.stderr}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else the platform's machine name."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def mib(nbytes: float) -> str:
    """Bytes as MiB with a thousands separator."""
    return f"{nbytes / 2**20:,.1f} MiB"


def main(argv: list[str] | None = None) -> None:
    """Parse arguments; run one variant (child) or both and print the table (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=DEFAULT_CSV, help="SCL2205 table (entry, seq, scl)")
    parser.add_argument("--n", type=int, default=3000, help="proteins sampled from the table")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before the epoch")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs per variant")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--heap-limit", action="store_true",
                        help="cap glibc's mmap threshold at 4 MiB as `seqnn predict` does")
    parser.add_argument("--primitive-cache", type=int, default=0,
                        help="oneDNN primitive cache capacity (0: what `seqnn train` sets; "
                             "1024: oneDNN's default)")
    args = parser.parse_args(argv)

    if args.variant:
        print("RESULT " + json.dumps(run_variant(args)), flush=True)
        return

    load_start = os.getloadavg()[0]
    wall_start = time.perf_counter()
    ds, all_lengths = load_sample(args.csv, args.n, args.seed)
    lengths = ds.lengths
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    for _ in range(args.repeats):
        for variant in VARIANTS:
            runs[variant].append(run_child(args, variant))
            r = runs[variant][-1]
            print(f"# {variant}: {r['seconds']:.1f} s, {r['samples'] / r['seconds']:.1f} "
                  f"samples/s, peak RSS {r['peak_rss_mib']:.0f} MiB", file=sys.stderr,
                  flush=True)
    best = {v: min(rs, key=lambda r: r["seconds"]) for v, rs in runs.items()}
    load_end = os.getloadavg()[0]

    ragged = ds.tokens.nbytes + ds.offsets.nbytes
    dense = len(ds) * 21 * MAX_LEN * 4
    full_ragged = int(all_lengths.sum()) + (len(all_lengths) + 1) * 8
    full_dense = len(all_lengths) * 21 * MAX_LEN * 4
    b, p = best["bucket"], best["pad_max"]
    print(f"command: python benchmarks/bench_train.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, torch {b['torch']} ({b['threads']} threads); "
          f"1-min load average {load_start:.1f} at start, {load_end:.1f} at end; "
          f"whole run {time.perf_counter() - wall_start:.0f} s")
    print(f"data: {len(ds):,} SCL2205 proteins (seeded sample, seed {args.seed}, of "
          f"{len(all_lengths):,}), {len(ds.class_names)} classes; length median "
          f"{int(np.median(lengths))}, mean {lengths.mean():.0f}, max {lengths.max()}, "
          f"{(lengths > MAX_LEN).mean():.1%} over max_len {MAX_LEN} (cut by '{TRUNCATE}'); "
          f"{int(lengths.sum()):,} residues, {b['residues']:,} after cropping")
    print(f"training: default CNN, Adam lr 1e-3, grad clip 1.0, batch {args.batch_size}, "
          f"{args.warmup} warm-up steps then one timed epoch, CPU; oneDNN primitive cache "
          f"{args.primitive_cache or 'as seqnn train sets it (8)'}; "
          f"best of {args.repeats} alternating run(s) per variant")
    print(f"storage: ragged tokens+offsets {mib(ragged)} vs dense (N, 21, {MAX_LEN}) "
          f"float32 one-hot {mib(dense)} ({dense / ragged:,.0f}x)")
    if args.repeats > 1:
        for v in VARIANTS:
            rates = ", ".join(f"{r['samples'] / r['seconds']:.1f}" for r in runs[v])
            print(f"all runs, {v} samples/s: {rates}")
    print()

    def row(name: str, value, fmt: str, better: str) -> None:  # noqa: ANN001
        vb, vp = value(b), value(p)
        print(f"| {name} | {fmt.format(vb)} | {fmt.format(vp)} | {vb / vp:.2f}x | {better} |")

    print("| measure | bucketed | pad-to-max | bucketed / pad-to-max | better |")
    print("|---|---:|---:|---:|---|")
    row("epoch wall time (s)", lambda r: r["seconds"], "{:.1f}", "lower")
    row("samples/s", lambda r: r["samples"] / r["seconds"], "{:,.1f}", "higher")
    row("epoch CPU time, all threads (s)", lambda r: r["cpu_seconds"], "{:.1f}", "lower")
    row("samples per CPU second", lambda r: r["samples"] / r["cpu_seconds"], "{:,.1f}",
        "higher")
    row("real residues/s", lambda r: r["residues"] / r["seconds"], "{:,.0f}", "higher")
    row("positions processed (real + pad)", lambda r: r["positions"], "{:,}", "lower")
    row("padding share", lambda r: 1 - r["residues"] / r["positions"], "{:.1%}", "lower")
    row("mean train loss of the epoch", lambda r: r["loss"], "{:.4f}", "-")
    row("peak RSS (MiB)", lambda r: r["peak_rss_mib"], "{:,.0f}", "lower")
    row("peak RSS over setup (MiB)", lambda r: r["peak_rss_mib"] - r["setup_rss_mib"],
        "{:,.0f}", "lower")
    print()
    print("| token storage of the same records | bytes | vs ragged |")
    print("|---|---:|---:|")
    print(f"| ragged `tokens` (uint8) + `offsets` (int64), N = {len(ds):,} | {ragged:,} | 1x |")
    print(f"| dense (N, 21, {MAX_LEN}) float32 one-hot, N = {len(ds):,} | {dense:,} | "
          f"{dense / ragged:,.0f}x |")
    print(f"| ragged, whole file (N = {len(all_lengths):,}) | {full_ragged:,} | "
          f"{full_ragged / ragged:,.1f}x |")
    print(f"| dense one-hot, whole file | {full_dense:,} | {full_dense / ragged:,.0f}x |")

if __name__ == "__main__":
    main()
