"""Choose a model setting on the AMP validation split without looking at the test split.

Each candidate (a YAML mapping ``name -> {model, params, train}``, merged over a base model
block of the config) is trained as one network (``ensemble`` is set to 1) with several
seeds on the train split and early-stopped on the validation split (``--results``: the
published split by default). The table shows validation accuracy and MCC only (mean +- sd
over seeds), and those of the seeds' averaged probabilities (a seed ensemble). Test metrics
go to ``--out`` (JSON) unread, and are printed only with ``--reveal``, which is meant for
the candidate chosen on validation (``--load`` reads the saved runs instead of training):

    python benchmarks/amp_select.py candidates.yaml --seeds 0 1 2 --jobs 2
    python benchmarks/amp_select.py candidates.yaml --only chosen --seeds 0 1 2 --reveal
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.metrics import matthews_corrcoef


def merge(base: dict, over: dict) -> dict:
    """``over`` merged into a copy of ``base`` (nested dicts merged, the rest replaced)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def run_one(job: tuple[str, dict, int, str, int]) -> dict:
    """Train one candidate with one seed; return its valid and test metrics."""
    from seqnn.config import TrainConfig
    from seqnn.training.job import run_training

    name, block, seed, results, threads = job
    settings = TrainConfig.from_dict({
        **block.get("train", {}), "seed": seed, "threads": threads, "quiet": True,
        "max_len": 200, "ensemble": 1})  # one network per run; ensembles come from seeds
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = run_training(f"{results}/encoded.npz", f"{results}/splits.tsv", tmp,
                               block["model"], block.get("params", {}), settings)
        seconds = time.perf_counter() - t0
        pred = pd.read_csv(Path(tmp) / "predictions.tsv", sep="\t")
    metrics = summary["metrics"]
    positive = [c for c in pred.columns if c.startswith("p_")][-1]  # binary: the second class
    prob = {split: dict(zip(df["id"], df[positive], strict=True))
            for split, df in pred.groupby("split")}
    truth = {split: dict(zip(df["id"], df["true"] == positive[2:], strict=True))
             for split, df in pred.groupby("split")}
    return {"name": name, "seed": seed, "seconds": seconds, "best_epoch": summary["best_epoch"],
            "valid": metrics["valid"], "test": metrics["test"], "prob": prob, "truth": truth}


def ensemble_scores(runs: list[dict], split: str) -> tuple[float, float]:
    """Accuracy and MCC of the runs' mean positive-class probability (threshold 0.5)."""
    ids = sorted(runs[0]["prob"][split])
    p = np.mean([[r["prob"][split][i] for i in ids] for r in runs], axis=0)
    y = np.array([runs[0]["truth"][split][i] for i in ids])
    yhat = p >= 0.5
    return float((y == yhat).mean()), float(matthews_corrcoef(y, yhat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("candidates", help="YAML: name -> model block overrides")
    ap.add_argument("--base", default="rnn", help="model block of the config to start from")
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--results", default="results/amp_published")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--only", nargs="+", help="run only these candidates")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (one thread each)")
    ap.add_argument("--out", default="amp_select.json", help="JSON with every run's metrics")
    ap.add_argument("--reveal", action="store_true", help="also print test metrics")
    ap.add_argument("--load", action="store_true", help="read the runs from --out, train nothing")
    args = ap.parse_args()
    base = yaml.safe_load(Path(args.config).read_text())["models"][args.base]
    candidates = yaml.safe_load(Path(args.candidates).read_text())
    if args.only:
        candidates = {k: candidates[k] for k in args.only}
    jobs = [(name, merge(base, over or {}), seed, args.results, 1)
            for name, over in candidates.items() for seed in args.seeds]
    if args.load:
        runs = [r for r in json.loads(Path(args.out).read_text())
                if r["name"] in candidates and r["seed"] in args.seeds]
    else:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            runs = list(pool.map(run_one, jobs))
        Path(args.out).write_text(json.dumps(runs, indent=1))
    head = ("| candidate | valid accuracy | valid MCC | best epochs | s/run"
            " | seed ensemble: valid accuracy | valid MCC |")
    if args.reveal:
        head += " test accuracy | test MCC | seed ensemble: test accuracy | test MCC |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for name in candidates:
        mine = [r for r in runs if r["name"] == name]
        va = np.array([r["valid"]["accuracy"] for r in mine])
        vm = np.array([r["valid"]["mcc"] for r in mine])
        secs = np.mean([r["seconds"] for r in mine])
        line = (f"| {name} | {va.mean():.3f} ± {va.std():.3f} | {vm.mean():.3f} ± {vm.std():.3f}"
                f" | {[r['best_epoch'] for r in mine]} | {secs:.0f}"
                " | {:.3f} | {:.3f} |".format(*ensemble_scores(mine, "valid")))
        if args.reveal:
            ta = np.array([r["test"]["accuracy"] for r in mine])
            tm = np.array([r["test"]["mcc"] for r in mine])
            line += (f" {ta.mean():.3f} ± {ta.std():.3f} | {tm.mean():.3f} ± {tm.std():.3f}"
                     " | {:.3f} | {:.3f} |".format(*ensemble_scores(mine, "test")))
        print(line, flush=True)


if __name__ == "__main__":
    main()
