"""Benchmark: how far training and ``seqnn predict`` are from what the CPU can do.

Usage::

    python benchmarks/bench_roofline.py [--n 2000] [--threads 1] [--repeats 3] [--seed 0]

On ``--threads`` torch threads (default 1: the machine is shared) it measures

* the machine's attainable float32 throughput: a 2048 x 2048 matmul, and ``conv1d`` at the
  default CNN's layer shapes (batch 64 x 512 positions), plain and as a channels-last
  ``conv2d`` (what :mod:`seqnn.runtime.fastpath` runs);
* the model's FLOPs per sequence with ``torch.utils.flop_counter.FlopCounterMode``: forward
  FLOPs of the batches a run computes (padding included) divided by their records, and a
  training step's (forward + backward);
* throughputs on the same records: (1) *compute-only*, the model's own layers run directly
  in torch (eval mode, inference mode; no data handling) on pre-built batches, the
  length-sorted, residue-capped batches ``seqnn predict`` uses; (2) the same for the
  inference copy :func:`seqnn.runtime.fastpath.for_inference`; (3) ``seqnn
  predict``'s steady state, ``Predictor.predict_chunk`` on one prepared chunk (tokenising,
  batching, forward, the output table; start-up, FASTA reading and TSV writing excluded),
  after a warm-up chunk; (4) before this work's changes, the same with the model itself
  and fixed batches of 256 (``predict_dataset``); and one training epoch (AdamW, bucketed
  batches of 64, forward + backward + step).

for two models: the registry's default CNN (one-hot, 2 x 64 channels, kernel 9, batch norm;
``max_len`` 1000) on ``--n`` random proteins (log-normal lengths, median 400, as
``bench_predict.py``), and the AMP config's CNN (``config/config.yaml``; ``max_len`` 200) on
the AMP Scanner peptides in ``data/amp`` (all six files). Weights are random (seeded): the
cost does not depend on them. Times are process CPU seconds (best of ``--repeats``), which
other work on a shared machine inflates less than wall time; with one thread CPU time is
the run's own time. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from seqnn.data.encoding import encode_table
from seqnn.data.fasta import iter_fasta_chunks
from seqnn.inference.predictor import BATCH_RESIDUES, Predictor
from seqnn.models import get_model
from seqnn.runtime.batches import make_loader
from seqnn.runtime.fastpath import for_inference
from seqnn.runtime.forward import predict_dataset

sys.path.insert(0, str(Path(__file__).parent))
from bench_predict import BACKGROUND  # noqa: E402

AMP_FILES = ("AMP.tr.fa", "AMP.eval.fa", "AMP.te.fa", "DECOY.tr.fa", "DECOY.eval.fa",
             "DECOY.te.fa")
AMP_CNN = {"channels": [64, 64], "kernel_size": 9, "dropout": 0.3, "pool": "max"}


def best(fn: Callable[[], object], repeats: int) -> float:
    """Best process CPU seconds of ``repeats`` calls of ``fn`` (after one untimed call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def random_proteins(n: int, seed: int) -> list[str]:
    """``n`` random proteins, log-normal lengths (median 400), Swiss-Prot composition."""
    from seqnn.data.alphabet import STANDARD

    rng = np.random.default_rng(seed)
    lengths = np.clip(np.rint(rng.lognormal(np.log(400), 0.75, size=n)), 30, 5000).astype(int)
    p = np.array([BACKGROUND[c] for c in STANDARD])
    letters = np.frombuffer(STANDARD.encode(), dtype=np.uint8)
    flat = letters[rng.choice(20, size=int(lengths.sum()), p=p / p.sum())].tobytes().decode()
    ends = np.cumsum(lengths)
    return [flat[e - n_ : e] for e, n_ in zip(ends.tolist(), lengths.tolist(), strict=True)]


def amp_peptides(root: Path) -> list[str]:
    """Every sequence of the six AMP Scanner files."""
    seqs: list[str] = []
    for name in AMP_FILES:
        for chunk in iter_fasta_chunks(root / name, 100_000):
            seqs += [s for _, s in chunk]
    return seqs


def peaks(repeats: int) -> list[tuple[str, float]]:
    """GFLOP/s of a large matmul and of the default CNN's convolutions."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    rows = [("matmul 2048 x 2048 x 2048", 2 * 2048**3 / best(lambda: a @ b, repeats) / 1e9)]
    with torch.inference_mode():
        for c_in in (21, 64):
            x, w = torch.randn(64, c_in, 512), torch.randn(64, c_in, 9)
            flops = 2 * 64 * 512 * c_in * 64 * 9
            t = best(lambda x=x, w=w: F.conv1d(x, w, padding=4), repeats)
            rows.append((f"conv1d {c_in} -> 64, kernel 9, 64 x 512", flops / t / 1e9))
            x4 = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
            w4 = w.unsqueeze(2).contiguous(memory_format=torch.channels_last)
            t = best(lambda x4=x4, w4=w4: F.conv2d(x4, w4, padding=(0, 4)), repeats)
            rows.append((f"conv2d channels-last {c_in} -> 64, same shape", flops / t / 1e9))
    return rows


def flops_of(fn: Callable[[], object]) -> int:
    """FLOPs ``fn`` runs, counted by ``FlopCounterMode``."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def measure(name: str, model_name: str, params: dict, seqs: list[str], max_len: int,
            repeats: int, seed: int) -> dict:
    """Every throughput of one model on ``seqs`` (module doc); returns a result row."""
    torch.manual_seed(seed)
    model = get_model(model_name, n_outputs=1, task="binary", **params).eval()
    ids = [str(i) for i in range(len(seqs))]
    ds = encode_table(ids, seqs)
    capped = [(b["x"], b["mask"]) for b in
              make_loader(ds, batch_size=256, shuffle=False, max_len=max_len,
                          max_residues=BATCH_RESIDUES)[0]]
    fast = for_inference(model)
    n = len(seqs)
    with torch.inference_mode():
        fwd_flops = flops_of(lambda: [fast(x, m) for x, m in capped]) / n
        t_compute = best(lambda: [model(x, m) for x, m in capped], repeats)
        t_fast = best(lambda: [fast(x, m) for x, m in capped], repeats)
    meta = {"task": "binary", "class_names": ["neg", "pos"], "n_outputs": 1,
            "max_len": max_len, "truncate": "ends", "alphabet_policy": "map"}
    predictor = Predictor(model, meta, torch.device("cpu"))
    chunk = predictor.prepare(list(zip(ids, seqs, strict=True)))
    t_predict = best(lambda: predictor.predict_chunk(chunk), repeats)

    def before() -> None:
        with torch.no_grad():
            predict_dataset(model, encode_table(chunk.ids, chunk.seqs), batch_size=256,
                            max_len=max_len)

    t_before = best(before, repeats)
    # one training epoch: AdamW, bucketed shuffled batches of 64, BCE on random labels
    labels = np.random.default_rng(seed).integers(0, 2, n)
    train_ds = encode_table(ids, seqs, ["a" if v else "b" for v in labels], "binary", ["b", "a"])
    loader = make_loader(train_ds, batch_size=64, shuffle=True, max_len=max_len, seed=seed)[0]
    net = get_model(model_name, n_outputs=1, task="binary", **params).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)

    def step(batch: dict) -> None:
        opt.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(net(batch["x"], batch["mask"])[:, 0],
                                                  batch["y"].float())
        loss.backward()
        opt.step()

    train_flops = flops_of(lambda: [step(b) for b in loader]) / n
    t_train = best(lambda: [step(b) for b in loader], max(1, repeats - 1))
    lengths = np.minimum(ds.lengths, max_len)
    return {"name": name, "n": n, "median": int(np.median(ds.lengths)),
            "mean": float(lengths.mean()), "fwd_flops": fwd_flops,
            "train_flops": train_flops, "compute": n / t_compute, "fast": n / t_fast,
            "predict": n / t_predict, "before": n / t_before, "train": n / t_train}


def main() -> None:
    """Parse arguments, measure, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--amp", default="data/amp", help="folder of the AMP Scanner FASTA files")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} on {torch.get_num_threads()} thread(s), Python "
          f"{platform.python_version()}; load average at start {os.getloadavg()[0]:.1f}\n")
    rows = peaks(args.repeats)
    print("| kernel | GFLOP/s |\n|---|---:|")
    for kernel, gflops in rows:
        print(f"| {kernel} | {gflops:.1f} |")
    peak = max(g for _, g in rows)
    results = [
        measure("default CNN, max_len 1000", "cnn", {}, random_proteins(args.n, args.seed),
                1000, args.repeats, args.seed),
        measure("AMP CNN, max_len 200", "cnn", AMP_CNN, amp_peptides(Path(args.amp)), 200,
                args.repeats, args.seed),
    ]
    print(f"\nLimit = the best kernel above ({peak:.1f} GFLOP/s) / FLOPs per sequence.\n")
    print("| model | records (median length) | forward MFLOP/seq | train MFLOP/seq | "
          "limit seq/s | compute-only seq/s | fast copy seq/s | predict seq/s | "
          "predict before seq/s | predict / compute-only | predict / limit | "
          "train seq/s | train / limit |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        limit = peak * 1e9 / r["fwd_flops"]
        train_limit = peak * 1e9 / r["train_flops"]
        print(f"| {r['name']} | {r['n']:,} ({r['median']}) | {r['fwd_flops'] / 1e6:.1f} | "
              f"{r['train_flops'] / 1e6:.1f} | {limit:,.0f} | {r['compute']:,.0f} | "
              f"{r['fast']:,.0f} | {r['predict']:,.0f} | {r['before']:,.0f} | "
              f"{r['predict'] / r['compute']:.2f} | {r['predict'] / limit:.2f} | "
              f"{r['train']:,.0f} | {r['train'] / train_limit:.2f} |", flush=True)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
