"""Benchmark: data-parallel training on CPU, 1 process against 2 (torchrun, gloo).

Usage::

    python benchmarks/bench_ddp.py [--n 1000] [--epochs 2] [--threads 2] [--seed 0]
                                   [--repeats 1]

Takes ``--n`` real proteins of SCL2205 (the seeded sample of ``benchmarks/bench_train.py``;
``--csv``), 90 % train and 10 % valid, and trains SCL2205's cnn (``config/scl2205.yaml``,
``epochs`` set to ``--epochs``) with ``seqnn train`` twice, each in its own processes:

* ``1 process``: ``python -m seqnn train ... --threads T``;
* ``2 processes``: ``python -m torch.distributed.run --standalone --nproc-per-node 2 -m seqnn
  train ... --threads T/2`` (the same global batch of 32, each rank half of it).

Both use ``T = --threads`` cores in all. Reported per run: samples/s of each epoch
(``history.csv``: training records over the epoch's training wall time; for 2 processes all
ranks' records), the whole command's wall time (process start, data loading and the final
evaluation included) and its CPU time (user + system of all its processes, from
``getrusage(RUSAGE_CHILDREN)``; less sensitive than wall time to other work on a shared
machine). ``--repeats R`` runs the pair R times, alternating which goes first. On 2 cores
no speed-up is expected: the point of the 2-process path is
correctness (tests/training/test_distributed.py) and GPUs or nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import DEFAULT_CSV, load_sample  # noqa: E402


def run(cmd: list[str], work: Path, out: str) -> dict:
    import pandas as pd

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run(cmd + ["-o", out], cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    history = pd.read_csv(work / out / "history.csv")
    return {"samples_per_sec": history["samples_per_sec"].round(1).tolist(), "wall_s": wall,
            "cpu_s": cpu,
            "valid": history.filter(like="valid_").iloc[-1].round(4).to_dict()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", default=DEFAULT_CSV)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    import pandas as pd
    import yaml

    from seqnn.data.encoding import save_encoded

    ds, _ = load_sample(args.csv, args.n, args.seed)
    block = yaml.safe_load((REPO / "config" / "scl2205.yaml").read_text())["models"]["cnn"]
    block["train"] = {**block["train"], "epochs": args.epochs}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        save_encoded(ds, str(work / "data.npz"))
        cut = int(len(ds) * 0.9)
        split = np.where(np.arange(len(ds)) < cut, "train", "valid")
        pd.DataFrame({"id": ds.ids, "split": split}).to_csv(work / "splits.tsv", sep="\t",
                                                            index=False)
        common = ["train", "data.npz", "splits.tsv", "--spec", json.dumps(block), "--device",
                  "cpu", "--quiet"]
        cmds = {
            "1 process": [sys.executable, "-m", "seqnn", *common, "--threads", str(args.threads)],
            "2 processes (gloo)": [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                   "--nproc-per-node", "2", "-m", "seqnn", *common, "--threads",
                                   str(max(1, args.threads // 2))],
        }
        runs = []
        for r in range(args.repeats):
            for name in (list(cmds) if r % 2 == 0 else list(cmds)[::-1]):
                runs.append((name, run(cmds[name], work, f"run{len(runs)}")))
    print(f"SCL2205 sample of {args.n} ({cut} train), cnn of config/scl2205.yaml, "
          f"{args.epochs} epochs, {args.threads} threads in all")
    print("\n| run (in order) | samples/s per epoch | wall s | CPU s | last valid |")
    print("|---|---|---|---|---|")
    for name, r in runs:
        print(f"| {name} | {', '.join(map(str, r['samples_per_sec']))} | {r['wall_s']:.0f} | "
              f"{r['cpu_s']:.0f} | {r['valid']} |")


if __name__ == "__main__":
    main()
