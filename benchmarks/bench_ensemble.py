"""Benchmark: can ``ensemble: k`` members be trained together for less than k times one?

Usage::

    python benchmarks/bench_ensemble.py [--k 5] [--steps 10] [--batch-size 64] [--seed 0]

For each model of the default config (``config/config.yaml``: ``mlp``, ``cnn`` and the AMP
Scanner ``rnn``, with its parameters), on batches of real AMP Scanner peptides
(``data/amp/AMP.tr.fa`` + ``DECOY.tr.fa``, length-sorted buckets as training makes them,
``max_len`` 200), it times one training step (forward, binary cross-entropy, backward;
no optimiser step, the same for every variant), averaged over ``--steps`` batches:

* one member (all times: 1 torch thread, process CPU time, which other work on a shared
  machine inflates less than wall time);
* ``k`` members one after another on 1 thread (what ``ensemble: k`` does today, per step);
* ``k`` members vectorised: ``torch.func.stack_module_state`` + ``functional_call`` +
  ``vmap(grad_and_value(...), randomness="different")`` on 1 thread; or why it fails;

* for the rnn, ``k`` members stacked as ``ensemble: k`` trains them together
  (:func:`seqnn.models.stacked.stacked_forward`: one pass for all members on one batch);

and the FLOPs of one member's step (``FlopCounterMode``), so the achieved GFLOP/s says whether
a member is limited by arithmetic (vectorising cannot help) or by per-operation overhead
(it could). Prints a markdown table.

``--full`` times whole trainings instead (wall seconds, ``--threads``, validation and early
stopping included, after an untimed 2-epoch warm-up run) of the default rnn on the AMP
Scanner published split (train
``*.tr.fa``, valid ``*.eval.fa``): one network, ``k`` members one after another and ``k``
members together (:func:`seqnn.training.ensemble.train_ensemble` with ``together`` off/on).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad_and_value, stack_module_state, vmap
from torch.utils.flop_counter import FlopCounterMode

from seqnn.config import TrainConfig
from seqnn.data.encoding import encode_table
from seqnn.data.fasta import iter_fasta_chunks
from seqnn.models import get_model
from seqnn.models.stacked import stacked_forward
from seqnn.runtime.batches import make_loader
from seqnn.training.ensemble import train_ensemble
from seqnn.training.single import train_single

#: the default config's models (config/config.yaml)
MODELS = {
    "mlp": {"hidden": [64], "dropout": 0.2},
    "cnn": {"channels": [64, 64], "kernel_size": 9, "dropout": 0.3, "pool": "max"},
    "rnn": {"input": "embedding", "embed_dim": 128, "conv_channels": 64, "conv_kernel": 16,
            "conv_pool": 5, "cell": "lstm", "hidden_size": 100, "bidirectional": False,
            "pool": "last", "dropout": 0.5},
}


#: the default config's rnn training settings (config/config.yaml)
RNN_TRAIN = {"epochs": 80, "patience": 12, "lr": 0.0005, "weight_decay": 0.0001,
             "batch_size": 64, "max_len": 200}


def amp(part: str):
    """The AMP Scanner peptides of one published part (``tr``, ``eval``, ``te``), encoded."""
    ids, seqs, labels = [], [], []
    for name, label in ((f"AMP.{part}.fa", "AMP"), (f"DECOY.{part}.fa", "nonAMP")):
        for chunk in iter_fasta_chunks(f"data/amp/{name}", 100_000):
            ids += [r for r, _ in chunk]
            seqs += [s for _, s in chunk]
            labels += [label] * len(chunk)
    return encode_table(ids, seqs, labels, "binary", ["nonAMP", "AMP"])


def batches(n: int, batch_size: int, seed: int) -> list[dict]:
    """``n`` training batches of the AMP Scanner training peptides (labels from the file)."""
    ds = amp("tr")
    loader = make_loader(ds, batch_size=batch_size, shuffle=True, seed=seed, max_len=200)[0]
    out = []
    for batch in loader:
        out.append(batch)
        if len(out) == n:
            break
    return out


def timed(fn: Callable[[dict], object], data: list[dict]) -> float:
    """Mean process CPU seconds per batch of ``fn`` over ``data`` (after one untimed call)."""
    fn(data[0])
    start = time.process_time()
    for batch in data:
        fn(batch)
    return (time.process_time() - start) / len(data)


def measure(name: str, params: dict, k: int, data: list[dict]) -> dict:
    """The row of one model (module doc)."""
    members = [get_model(name, n_outputs=1, task="binary", **params).train() for _ in range(k)]

    def loss_of(model: torch.nn.Module, batch: dict) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(model(batch["x"], batch["mask"])[:, 0],
                                                  batch["y"].float())

    def one(batch: dict) -> None:
        loss_of(members[0], batch).backward()

    def sequential(batch: dict) -> None:
        for m in members:
            loss_of(m, batch).backward()

    with FlopCounterMode(display=False) as counter:
        one(data[0])
    flops = counter.get_total_flops()
    torch.set_num_threads(1)
    t_one = timed(one, data)
    t_seq = timed(sequential, data)
    params_, buffers = stack_module_state(members)
    base = copy.deepcopy(members[0]).to("meta")

    def member_loss(p: dict, b: dict, x: torch.Tensor, mask: torch.Tensor,
                    y: torch.Tensor) -> torch.Tensor:
        out = functional_call(base, (p, b), (x, mask))
        return F.binary_cross_entropy_with_logits(out[:, 0], y)

    step = vmap(grad_and_value(member_loss), in_dims=(0, 0, None, None, None),
                randomness="different")
    note = ""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t_vmap = timed(lambda b: step(params_, buffers, b["x"], b["mask"],
                                          b["y"].float()), data)
        fallback = sorted({str(w.message).split("for ")[-1].split(".")[0] for w in caught
                           if "batching rule" in str(w.message)})
        if fallback:
            note = "per-member fallback for " + ", ".join(fallback)
    except RuntimeError as exc:
        t_vmap = float("nan")
        note = "fails: " + str(exc).strip().splitlines()[0][:110]
    t_together = float("nan")
    if name == "rnn":
        def together(batch: dict) -> None:
            outs = stacked_forward(members, batch["x"], batch["mask"], lambda i, shape, p:
                                   torch.empty(shape).bernoulli_(1 - p).div_(1 - p))
            sum(F.binary_cross_entropy_with_logits(o[:, 0], batch["y"].float())
                for o in outs).backward()
        t_together = timed(together, data)
    return {"name": name, "flops": flops, "one": t_one, "seq": t_seq,
            "vmap": t_vmap, "together": t_together, "note": note}


def full_runs(k: int, threads: int, seed: int) -> None:
    """``--full`` (module doc): prints one markdown row per variant."""
    torch.set_num_threads(threads)
    train, valid = amp("tr"), amp("eval")
    config = TrainConfig(**RNN_TRAIN, device="cpu", quiet=True, seed=seed, threads=threads)
    args = {"model_name": "rnn", "model_params": MODELS["rnn"]}
    print(f"AMP Scanner published split: {len(train)} train, {len(valid)} valid peptides; "
          f"{threads} threads; load average at start {os.getloadavg()[0]:.1f}\n")
    print("| variant | wall s | x one network | epochs run (per member) | s per member-epoch | "
          "best valid MCC, the monitored metric (per member) |")
    print("|---|---:|---:|---|---:|---|")
    one = None
    with tempfile.TemporaryDirectory() as tmp:
        # untimed warm-up: the process's first training pays oneDNN's and the allocator's
        # first-call costs, which would otherwise land on whichever variant runs first
        train_single(train, valid, config=replace(config, epochs=2), out_dir=f"{tmp}/warm",
                     evaluate=False, **args)
        for label, run in (
            ("one network", lambda out: {"members": [train_single(
                train, valid, config=config, out_dir=out, evaluate=False, **args)]}),
            (f"{k} members one after another", lambda out: train_ensemble(
                train, valid, config=replace(config, ensemble=k), out_dir=out,
                evaluate=False, together=False, **args)),
            (f"{k} members together", lambda out: train_ensemble(
                train, valid, config=replace(config, ensemble=k), out_dir=out,
                evaluate=False, together=True, **args)),
        ):
            start = time.perf_counter()
            summary = run(f"{tmp}/{len(label)}")
            wall = time.perf_counter() - start
            one = one or wall
            members = summary["members"]
            epochs = [m["epochs_run"] for m in members]
            print(f"| {label} | {wall:.1f} | {wall / one:.2f} | "
                  f"{', '.join(map(str, epochs))} | {wall / sum(epochs):.3f} | "
                  f"{', '.join(format(m['best_metric'], '.4f') for m in members)} |", flush=True)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")


def main() -> None:
    """Parse arguments, measure, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--full", action="store_true", help="time whole trainings (module doc)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for --full")
    args = ap.parse_args()
    if args.full:
        full_runs(args.k, args.threads, args.seed)
        return
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    data = batches(args.steps, args.batch_size, args.seed)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}, Python {platform.python_version()}; load average at start "
          f"{os.getloadavg()[0]:.1f}; k = {args.k}, {args.steps} batches of "
          f"{args.batch_size} AMP peptides\n")
    print("| model | MFLOP/step (one member) | one member ms (1 thread) | GFLOP/s | "
          "k sequential ms | k vmap ms | "
          "vmap / sequential | k together ms | together / one | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, params in MODELS.items():
        r = measure(name, params, args.k, data)
        print(f"| {name} | {r['flops'] / 1e6:.1f} | {r['one'] * 1e3:.1f} | "
              f"{r['flops'] / r['one'] / 1e9:.1f} | "
              f"{r['seq'] * 1e3:.1f} | {r['vmap'] * 1e3:.1f} | {r['vmap'] / r['seq']:.2f} | "
              f"{r['together'] * 1e3:.1f} | {r['together'] / r['one']:.2f} | "
              f"{r['note']} |", flush=True)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
