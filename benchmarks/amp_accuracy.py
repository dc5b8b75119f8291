"""Test accuracy and MCC of seqnn models on the AMP Scanner vr.2 published split.

Trains each model of the default config (or the ones given) with several seeds on the
published train split, early-stops on the published validation split and reports test
accuracy and MCC as mean +- sd. A model trained as an ensemble of k members (``ensemble: k``)
uses seeds ``seed * k .. seed * k + k - 1`` for run ``seed``, so that no two runs share a
member. Needs the workflow's ingest/split/encode outputs:

    snakemake --cores 2 results/amp_published/encoded.npz results/amp_published/splits.tsv
    python benchmarks/amp_accuracy.py --seeds 0 1 2 [--models cnn rnn mlp]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from seqnn.training.job import run_training


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results/amp_published")
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--models", nargs="+", default=["cnn", "rnn", "mlp"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--spec", help="JSON model block overriding the config's (one model)")
    args = ap.parse_args()
    cfg = yaml.safe_load(Path(args.config).read_text())
    data = f"{args.results}/encoded.npz"
    splits = f"{args.results}/splits.tsv"
    rows = []
    for name in args.models:
        block = json.loads(args.spec) if args.spec else cfg["models"][name]
        accs, mccs, secs, epochs = [], [], [], []
        size = int(block.get("train", {}).get("ensemble", 1))
        for seed in args.seeds:
            settings = {**block.get("train", {}), "seed": seed * size, "threads": args.threads,
                        "quiet": True, "max_len": 200}
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                summary = run_training(data, splits, tmp, block.get("model", name),
                                       block.get("params", {}), settings)
                secs.append(time.perf_counter() - t0)
            test = summary["metrics"]["test"]
            accs.append(test["accuracy"])
            mccs.append(test["mcc"])
            epochs.append(summary["best_epoch"])
        rows.append((name, np.mean(accs), np.std(accs), np.mean(mccs), np.std(mccs),
                     np.mean(secs), epochs))
    seeds = ", ".join(map(str, args.seeds))
    print(f"| model | test accuracy | test MCC | seconds per run | best epochs (seeds {seeds}) |")
    print("|---|---|---|---|---|")
    for name, am, asd, mm, msd, sec, ep in rows:
        print(f"| {name} | {am:.3f} ± {asd:.3f} | {mm:.3f} ± {msd:.3f} | {sec:.0f} | {ep} |")


if __name__ == "__main__":
    main()
