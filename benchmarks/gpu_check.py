"""The CUDA path on a real GPU, in one run: SCL2205's cnn (``config/scl2205.yaml``) trained on
``cuda`` with mixed precision, against the same training on 2 CPU threads, plus a 2-process
DDP run (NCCL) when the machine has two GPUs.

Usage (on a machine with an NVIDIA GPU; prints a markdown table, ``--out`` keeps JSON)::

    python benchmarks/gpu_check.py [--n 4000] [--epochs 2] [--cpu-n 500] [--out gpu.json]

Data: ``--n`` real proteins of SCL2205 (``--csv``, the seeded sample of
``benchmarks/bench_train.py``); without the file, ``--synthetic`` draws random proteins with
SCL2205-like lengths (40..1000) and 13 random classes, and the table says so. 90 % train,
10 % valid. Training is :func:`seqnn.train.train_model` with the model block's parameters and
training settings (``epochs`` capped at ``--epochs``, ``device``, ``amp`` on, ``ensemble`` 1),
so the timed path is exactly what ``seqnn train`` runs. Reported, per run:

* samples/s of the last epoch (``history.csv``'s ``samples_per_sec``: training records over
  the epoch's training wall time, batch collation and host-to-device copies included);
* GPU utilisation: ``nvidia-smi`` sampled every 0.2 s during training (mean and max, %);
* peak GPU memory: ``torch.cuda.max_memory_allocated`` (what tensors held) and
  ``max_memory_reserved`` (what the caching allocator took);
* the CPU reference: the same code on ``--cpu-n`` records with ``torch.set_num_threads(2)``
  (the 2-core machine of the other figures), one epoch; the ratio GPU / CPU samples/s;
* with two or more GPUs: ``torchrun --nproc-per-node 2 -m seqnn train`` (NCCL) on the same
  data and settings, its samples/s (global records per second) and the ratio to one GPU.
Exit status 2 without CUDA (nothing measured).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import DEFAULT_CSV, load_sample  # noqa: E402


def model_block() -> dict:
    import yaml

    return yaml.safe_load((REPO / "config" / "scl2205.yaml").read_text())["models"]["cnn"]


def synthetic(n: int, seed: int):  # noqa: ANN201 (EncodedDataset)
    from seqnn.encode import encode_table

    rng = np.random.default_rng(seed)
    aa = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    lengths = np.clip(rng.lognormal(6.0, 0.6, n).astype(int), 40, 1000)
    seqs = ["".join(rng.choice(aa, k)) for k in lengths]
    labels = [str(c) for c in rng.integers(0, 13, n)]
    return encode_table([f"s{i}" for i in range(n)], seqs, labels, task="multiclass",
                        class_names=[str(c) for c in range(13)])


class GpuSampler:
    """``nvidia-smi`` utilisation (%) sampled every ``period`` s in a thread."""

    def __init__(self, period: float = 0.2):
        self.period, self.values, self._stop = period, [], threading.Event()
        self.available = shutil.which("nvidia-smi") is not None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        cmd = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
               "-i", os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0]]
        while not self._stop.is_set():
            out = subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
            if out.isdigit():
                self.values.append(int(out))
            time.sleep(self.period)

    def __enter__(self) -> GpuSampler:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.available:
            self._thread.join()


def train_once(ds, device: str, epochs: int, out: Path) -> dict:  # noqa: ANN001
    import pandas as pd

    from seqnn.config import train_config
    from seqnn.train import train_model

    block = model_block()
    settings = {**block["train"], "epochs": min(block["train"]["epochs"], epochs),
                "device": device, "amp": True, "quiet": True}
    cut = int(len(ds) * 0.9)
    start = time.perf_counter()
    summary = train_model(ds.subset(np.arange(cut)), ds.subset(np.arange(cut, len(ds))),
                          model_name=block["model"], model_params=block["params"],
                          config=train_config(settings, "gpu_check"), out_dir=out,
                          evaluate=False)
    history = pd.read_csv(out / "history.csv")
    return {"samples_per_sec": float(history["samples_per_sec"].iloc[-1]),
            "epochs": len(history), "wall_s": time.perf_counter() - start,
            "best_metric": summary["best_metric"]}


def ddp_run(ds, epochs: int, work: Path) -> dict:  # noqa: ANN001
    import pandas as pd

    from seqnn.data.encoding import save_encoded

    save_encoded(ds, str(work / "data.npz"))
    cut = int(len(ds) * 0.9)
    split = ["train"] * cut + ["valid"] * (len(ds) - cut)
    pd.DataFrame({"id": ds.ids, "split": split}).to_csv(work / "splits.tsv", sep="\t",
                                                        index=False)
    block = model_block()
    block["train"] = {**block["train"], "epochs": min(block["train"]["epochs"], epochs)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           "2", "-m", "seqnn", "train", str(work / "data.npz"), str(work / "splits.tsv"),
           "--spec", json.dumps(block), "--device", "cuda", "--quiet", "-o", str(work / "ddp")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode:
        return {"error": res.stderr[-2000:]}
    history = pd.read_csv(work / "ddp" / "history.csv")
    return {"samples_per_sec": float(history["samples_per_sec"].iloc[-1]),
            "epochs": len(history)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", default=DEFAULT_CSV)
    ap.add_argument("--synthetic", action="store_true", help="random proteins, no CSV needed")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--cpu-n", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the results as JSON here")
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device visible: nothing measured", file=sys.stderr)
        return 2
    use_csv = not args.synthetic and Path(args.csv).is_file()
    ds = load_sample(args.csv, args.n, args.seed)[0] if use_csv else synthetic(args.n, args.seed)
    result = {"gpu": torch.cuda.get_device_name(0), "gpus": torch.cuda.device_count(),
              "torch": torch.__version__, "cuda_version": torch.version.cuda,
              "bf16": torch.cuda.is_bf16_supported(),
              "data": f"SCL2205 sample of {args.n}" if use_csv else f"synthetic {args.n}"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        torch.cuda.reset_peak_memory_stats()
        with GpuSampler() as util:
            result["cuda"] = {**train_once(ds, "cuda", args.epochs, work / "cuda"),
                              "peak_allocated_mib": torch.cuda.max_memory_allocated() / 2**20,
                              "peak_reserved_mib": torch.cuda.max_memory_reserved() / 2**20}
        result["cuda"]["util_mean"] = float(np.mean(util.values)) if util.values else None
        result["cuda"]["util_max"] = max(util.values) if util.values else None
        torch.set_num_threads(2)
        small = ds.subset(np.arange(min(args.cpu_n, len(ds))))
        result["cpu_2_threads"] = train_once(small, "cpu", 1, work / "cpu")
        if torch.cuda.device_count() >= 2:
            result["ddp_2_gpus"] = ddp_run(ds, args.epochs, work)
    gpu, cpu = result["cuda"]["samples_per_sec"], result["cpu_2_threads"]["samples_per_sec"]
    print(f"\n{result['gpu']} x{result['gpus']}, torch {result['torch']}, CUDA "
          f"{result['cuda_version']}, {result['data']}\n")
    print("| run | samples/s | ratio | GPU util mean / max % | peak GPU MiB (alloc / reserved) |")
    print("|---|---|---|---|---|")
    c = result["cuda"]
    print(f"| cuda, AMP, 1 GPU | {gpu:.0f} | {gpu / cpu:.1f}x CPU | {c['util_mean']} / "
          f"{c['util_max']} | {c['peak_allocated_mib']:.0f} / {c['peak_reserved_mib']:.0f} |")
    print(f"| cpu, 2 threads | {cpu:.1f} | 1 | - | - |")
    if "ddp_2_gpus" in result:
        d = result["ddp_2_gpus"]
        if "error" in d:
            print(f"| DDP 2 GPUs | failed | | | |\n\n{d['error']}")
        else:
            print(f"| DDP, 2 GPUs (NCCL) | {d['samples_per_sec']:.0f} | "
                  f"{d['samples_per_sec'] / gpu:.2f}x 1 GPU | | |")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
