"""Benchmark: throughput, peak memory and start-up time of ``seqnn predict``.

Usage::

    python benchmarks/bench_predict.py [--n 100000] [--seed 0] [--chunk-size 10000]
                                       [--repeats 5] [--threads N]

Builds the default CNN (``get_model("cnn", n_outputs=1, task="binary")`` with its default
parameters, randomly initialised, seeded) and saves it as a model directory with a realistic
``model.json`` (binary task, ``max_len`` 1000, ``truncate`` ``ends``, policy ``map``). Writes a
FASTA of ``--n`` random proteins (seeded; log-normal lengths, median 400, sigma 0.75,
clipped to 30..5000; Swiss-Prot residue frequencies), then runs ``seqnn predict`` on it as a
child process, on CPU, and reports sequences and residues per second and the child's peak
resident memory (``ru_maxrss`` from ``os.wait4``) for

* the streaming default (``--chunk-size``, 10,000 records per chunk), and
* the named alternative, the whole file as one chunk (``--chunk-size N``: what a
  predictor that loads its whole input first would hold);

and the command's start-up time, best of ``--repeats`` runs: ``seqnn --help``,
``python -c "import torch"`` (the floor any torch command pays) and ``seqnn predict`` on a
one-sequence FASTA. Finally ``python -X importtime`` of the one-sequence prediction lists the
heaviest imported packages (cumulative, nested: a package's time includes what it imports).
Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from seqnn.data.alphabet import STANDARD

#: UniProtKB/Swiss-Prot amino-acid composition (%), in STANDARD order
BACKGROUND = {
    "A": 8.25, "C": 1.37, "D": 5.45, "E": 6.75, "F": 3.86, "G": 7.07, "H": 2.27,
    "I": 5.96, "K": 5.84, "L": 9.66, "M": 2.42, "N": 4.06, "P": 4.70, "Q": 3.93,
    "R": 5.53, "S": 6.56, "T": 5.34, "V": 6.87, "W": 1.08, "Y": 2.92,
}
MAX_LEN = 1000


def write_fasta(path: Path, n: int, seed: int) -> np.ndarray:
    """Write ``n`` random proteins to ``path`` (60 residues a line); return their lengths."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.rint(rng.lognormal(np.log(400), 0.75, size=n)), 30, 5000).astype(int)
    p = np.array([BACKGROUND[c] for c in STANDARD])
    letters = np.frombuffer(STANDARD.encode(), dtype=np.uint8)
    with open(path, "w") as fh:
        for start in range(0, n, 10_000):
            part = lengths[start : start + 10_000]
            flat = letters[rng.choice(20, size=int(part.sum()), p=p / p.sum())].tobytes().decode()
            pos = 0
            for i, length in enumerate(part.tolist(), start=start):
                seq = flat[pos : pos + length]
                pos += length
                lines = "\n".join(seq[j : j + 60] for j in range(0, length, 60))
                fh.write(f">bench_{i} random protein\n{lines}\n")
    return lengths


def save_default_cnn(directory: Path, seed: int) -> None:
    """The registry's default CNN, randomly initialised, saved with a realistic model.json."""
    import torch

    from seqnn.models import get_model
    from seqnn.runtime.checkpoint import save_model

    torch.manual_seed(seed)
    model = get_model("cnn", n_outputs=1, task="binary")
    meta = {"task": "binary", "class_names": ["negative", "positive"], "n_outputs": 1,
            "max_len": MAX_LEN, "truncate": "ends", "alphabet_policy": "map",
            "identity_threshold": 0.3, "best_epoch": 1, "monitor": "mcc"}
    save_model(directory, model, meta)


def seqnn_command() -> list[str]:
    """The ``seqnn`` console script beside this interpreter, else ``python -m seqnn``."""
    script = Path(sys.executable).with_name("seqnn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "seqnn"]


def run_child(cmd: list[str]) -> tuple[float, float, float]:
    """Run ``cmd``; return ``(wall seconds, CPU seconds, peak RSS MiB)`` of that child only."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def best_of(cmd: list[str], repeats: int) -> float:
    """Best wall time of ``repeats`` runs of ``cmd``."""
    return min(run_child(cmd)[0] for _ in range(repeats))


def heaviest_imports(cmd: list[str], top: int = 8) -> list[tuple[str, float]]:
    """Top-level packages by cumulative import time (ms) under ``python -X importtime``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *cmd], capture_output=True,
                          text=True, check=True)
    best: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        root = name.strip().split(".")[0]
        best[root] = max(best.get(root, 0.0), int(cumulative) / 1000)
    return sorted(best.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    """Parse arguments, run the measurements, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk-size", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    import torch

    seqnn = seqnn_command()
    threads = ["--threads", str(args.threads)] if args.threads else []
    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        root = Path(tmp)
        save_default_cnn(root / "model", args.seed)
        lengths = write_fasta(root / "in.fa", args.n, args.seed)
        (root / "one.fa").write_text(">one\n" + "MKTAYIAKQRQISFVKSHFSRQ" * 18 + "\n")
        residues = int(np.minimum(lengths, MAX_LEN).sum())
        print(f"# seqnn predict: default CNN, {args.n:,} sequences (length median "
              f"{int(np.median(lengths))}, mean {lengths.mean():.0f}, max {lengths.max()}; "
              f"{(lengths > MAX_LEN).mean():.1%} over max_len {MAX_LEN}), CPU\n")
        print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
              f"Python {platform.python_version()}; load average at start "
              f"{os.getloadavg()[0]:.1f}\n")
        print("| run | chunk size | wall s | seq/s | residues/s (model) | CPU s | peak RSS MiB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        rss = {}
        for name, chunk in (("streaming (default)", args.chunk_size),
                            ("whole file in one chunk", args.n)):
            cmd = [*seqnn, "predict", str(root / "model"), str(root / "in.fa"), "-o",
                   str(root / "out.tsv"), "--device", "cpu", "--chunk-size", str(chunk), *threads]
            wall, cpu, rss[name] = run_child(cmd)
            with open(root / "out.tsv") as fh:
                rows = sum(1 for _ in fh) - 1
            assert rows == args.n, f"{rows} rows for {args.n} sequences"
            print(f"| {name} | {chunk:,} | {wall:.1f} | {args.n / wall:,.0f} | "
                  f"{residues / wall:,.0f} | {cpu:.1f} | {rss[name]:,.0f} |", flush=True)
        ratio = rss["whole file in one chunk"] / rss["streaming (default)"]
        print(f"\nPeak memory, whole file / streaming: {ratio:.2f}x\n")
        one = [*seqnn, "predict", str(root / "model"), str(root / "one.fa"), "--device", "cpu"]
        print(f"| start-up (best of {args.repeats}) | wall s |")
        print("|---|---:|")
        for name, cmd in (("`seqnn --help`", [*seqnn, "--help"]),
                          ('`python -c "import torch"`', [sys.executable, "-c", "import torch"]),
                          ("`seqnn predict` one sequence", one)):
            print(f"| {name} | {best_of(cmd, args.repeats):.2f} |", flush=True)
        print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f} (other processes share "
              "the cores: wall times grow with it, CPU seconds much less)")
        print("\n| package imported by a one-sequence predict | cumulative import ms |")
        print("|---|---:|")
        for package, ms in heaviest_imports(["-m", "seqnn", *one[len(seqnn):]]):
            print(f"| {package} | {ms:,.0f} |")


if __name__ == "__main__":
    main()
