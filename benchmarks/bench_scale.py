"""Proteome-scale run: wall time and peak memory of every step, at several sizes.

For each ``--sizes`` N it generates (seeded, on the fly, into ``--workdir``; nothing is kept)
a FASTA of N synthetic proteins -- log-normal lengths (median 400, sigma 0.6, 30..3000
residues), residues drawn with UniProtKB/Swiss-Prot background frequencies, 40 % of the
proteins in planted homologous families of 2-8 members made by point substitutions from a
parent at 90, 70, 50 or 35 % identity, a binary label per family (positives carry a short
motif so the label can be learned) -- and runs the workflow's steps as ``seqnn`` commands,
each in its own process:

ingest -> split (cluster) -> audit -> encode -> train (the default CNN of
config/config.yaml, one epoch, max_len 1000) -> predict (every protein, ``--no-nearest``).

Each step's wall time, CPU time (user + system of the step and every process it waited
for: on a busy shared machine the steadier number) and peak resident memory (``ru_maxrss``
from ``wait4``: the largest single process of the step, e.g. ``mmseqs``) are printed as a
markdown table. ``--linclust-above`` is the split block's threshold (default: seqnn's, 50,000).
``batches`` is one pass over every record in training batches (batch 64, ``max_len`` 1000)
of the memory-mapped store, without a model: the data path's own memory.
``--steps ingest encode batches`` runs only those steps (they need no split): how the data
path scales where the whole chain does not fit in the time.

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_scale.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

AA = "ACDEFGHIKLMNPQRSTVWY"
#: UniProtKB/Swiss-Prot residue frequencies (release 2024_01), in AA order
FREQ = np.array([8.25, 1.38, 5.46, 6.72, 3.86, 7.07, 2.27, 5.91, 5.80, 9.64, 2.41, 4.06, 4.74,
                 3.93, 5.53, 6.65, 5.36, 6.86, 1.10, 2.92])
IDENTITIES = (0.9, 0.7, 0.5, 0.35)
MOTIF = np.frombuffer(b"RWKRWK", dtype=np.uint8)
#: ``batches``: one pass over every training-sized batch of the memory-mapped store (no model),
#: printing how much anonymous memory (``RssAnon``: not the store's file pages) it added
BATCH_PASS = """
import sys
import torch
from seqnn.data.store import load_encoded
from seqnn.runtime.batches import make_loader

def anon_mb():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")

ds = load_encoded(sys.argv[1])
before = anon_mb()
n = 0
for batch in make_loader(ds, batch_size=64, shuffle=True, seed=0, max_len=1000)[0]:
    n += len(batch["index"])
print(f"batches: {n} records; RssAnon {before:.1f} -> {anon_mb():.1f} MB "
      f"(+{anon_mb() - before:.1f})", flush=True)
"""
CNN = {"model": "cnn", "params": {"channels": [64, 64], "kernel_size": 9, "dropout": 0.3,
                                  "pool": "max"},
       "train": {"epochs": 1, "lr": 0.001, "batch_size": 64, "weight_decay": 0.0001}}


def generate(path: Path, n: int, seed: int) -> None:
    """Write ``n`` synthetic labelled proteins to FASTA ``path`` (module doc), streaming."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(AA.encode(), dtype=np.uint8)
    p = FREQ / FREQ.sum()
    written = 0
    with open(path, "w") as fh:
        while written < n:
            size = int(rng.integers(2, 9)) if rng.random() < 0.12 else 1  # 40 % in families
            size = min(size, n - written)
            length = int(np.clip(rng.lognormal(np.log(400), 0.6), 30, 3000))
            parent = letters[rng.choice(20, size=length, p=p)]
            label = "pos" if rng.random() < 0.5 else "neg"
            identity = IDENTITIES[int(rng.integers(len(IDENTITIES)))]
            lines = []
            for m in range(size):
                seq = parent.copy()
                if m:
                    hit = rng.random(length) > identity
                    seq[hit] = letters[rng.choice(20, size=int(hit.sum()), p=p)]
                if label == "pos":
                    at = int(rng.integers(0, max(1, length - len(MOTIF))))
                    seq[at : at + len(MOTIF)] = MOTIF[: length - at]
                lines.append(f">s{written + m} LABEL={label}\n{seq.tobytes().decode()}\n")
            fh.write("".join(lines))
            written += size


def run_step(cmd: list[str], log: Path, env: dict[str, str]) -> dict[str, float]:
    """Run one step; its wall and CPU (user + system, the step's whole process tree) seconds
    and the peak RSS (MB) of its largest process."""
    t0 = time.perf_counter()
    with open(log, "ab") as fh:
        fh.write(("$ " + " ".join(cmd) + "\n").encode())
        fh.flush()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=fh, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        sys.exit(f"step failed (status {status}): {' '.join(cmd)}; see {log}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024}


def steps(d: Path, fasta: Path, threads: int, linclust_above: int | None) -> dict[str, list]:
    """The ``seqnn`` command of every step, in order."""
    seqnn = [sys.executable, "-m", "seqnn"]
    split = {"task": "binary", "method": "cluster", "identity": 0.3, "coverage": 0.8}
    if linclust_above is not None:
        split["linclust_above"] = linclust_above
    spec = {"task": "binary", "inputs": [{"fasta": str(fasta), "header_field": "LABEL"}]}
    t = str(threads)
    return {
        "ingest": [*seqnn, "ingest", "--spec", json.dumps(spec), "-o", str(d / "seqs.tsv"),
                   "--report", str(d / "ingest.json")],
        "split": [*seqnn, "split", str(d / "seqs.tsv"), "--spec", json.dumps(split),
                  "--threads", t, "-o", str(d / "splits.tsv"), "--summary", str(d / "ss.json")],
        "audit": [*seqnn, "audit", str(d / "seqs.tsv"), str(d / "splits.tsv"), "--spec",
                  json.dumps(split), "--threads", t, "-o", str(d / "audit.json"),
                  "--nearest", str(d / "nearest.tsv")],
        "encode": [*seqnn, "encode", str(d / "seqs.tsv"), "--task", "binary", "--classes",
                   "neg,pos", "-o", str(d / "encoded.npz")],
        "batches (1 pass, no model)": [sys.executable, "-c", BATCH_PASS, str(d / "encoded.npz")],
        "train (1 epoch)": [*seqnn, "train", str(d / "encoded.npz"), str(d / "splits.tsv"),
                            "--spec", json.dumps(CNN), "--device", "cpu", "--threads", t,
                            "--max-len", "1000", "-o", str(d / "cnn")],
        "predict": [*seqnn, "predict", str(d / "cnn"), str(fasta), "-o", str(d / "pred.tsv"),
                    "--device", "cpu", "--threads", t, "--no-nearest"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--linclust-above", type=int, default=None)
    ap.add_argument("--workdir", default=None, help="where the data are generated (removed)")
    ap.add_argument("--log", default="bench_scale.log")
    ap.add_argument("--steps", nargs="+", default=None,
                    help="run only these steps, e.g. ingest encode (default: all, in order)")
    args = ap.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    print("| N | step | wall s | CPU s | CPU s per 1k proteins | peak RSS MB | notes |\n"
          "|---|---|---|---|---|---|---|", flush=True)
    for n in args.sizes:
        d = Path(tempfile.mkdtemp(prefix=f"scale{n}_", dir=args.workdir))
        try:
            fasta = d / "proteins.fa"
            t0 = time.perf_counter()
            generate(fasta, n, args.seed)
            with open(fasta) as fh:
                residues = sum(len(line) - 1 for line in fh if not line.startswith(">"))
            print(f"| {n:,} | (generate: {residues:,} residues) | "
                  f"{time.perf_counter() - t0:.0f} | | | | |", flush=True)
            for name, cmd in steps(d, fasta, args.threads, args.linclust_above).items():
                if args.steps is not None and name.split()[0] not in args.steps:
                    continue
                r = run_step(cmd, Path(args.log), env)
                note = ""
                if name == "split":
                    note = json.loads((d / "ss.json").read_text())["clustering"]["method"]
                elif name == "audit":
                    note = json.loads((d / "audit.json").read_text())["search"]["method"]
                elif name.startswith("batches"):
                    note = Path(args.log).read_text().strip().splitlines()[-1]
                print(f"| {n:,} | {name} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
                      f"{1000 * r['cpu_s'] / n:.2f} | {r['rss_mb']:.0f} | {note} |", flush=True)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
