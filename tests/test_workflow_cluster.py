"""Past one machine, the workflow side: `train: nproc` launches torchrun with the rule's
resources, and profiles/slurm sends GPU jobs to a GPU partition (the real Slurm run is
benchmarks/slurm_check.sh, `make slurm-check`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from seqnn.workflow import ConfigError, check_workflow, model_nproc, seqnn_command

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles" / "slurm"


def test_nproc_picks_the_launcher() -> None:
    assert (seqnn_command("/my py/python", {"model": "cnn"})
            == "env PYTHONSAFEPATH=1 '/my py/python' -m seqnn")
    block = {"model": "cnn", "train": {"nproc": 3}}
    assert model_nproc(block) == 3
    assert seqnn_command("/usr/bin/python", block) == (
        "env PYTHONSAFEPATH=1 /usr/bin/python -m torch.distributed.run --standalone "
        "--nproc-per-node 3 -m seqnn")


def test_bad_nproc_is_refused_at_start() -> None:
    config = {"datasets": {"d": {"task": "binary", "inputs": [{"fasta": "a.fa", "label": "a"}]}},
              "models": {"m": {"model": "cnn", "train": {"nproc": 0}}}}
    with pytest.raises(ConfigError, match=r"models\.m\.train: nproc must be >= 1, got 0"):
        check_workflow(config)


def test_dry_run_launches_torchrun_with_gpus(tmp_path: Path) -> None:
    from test_workflow import TINY_CONFIG, write_tiny_data

    (tmp_path / "my proteins").mkdir()
    write_tiny_data(tmp_path / "my proteins")
    config = TINY_CONFIG.replace("device: cpu", "device: cuda").replace(
        "train: {epochs: 2, batch_size: 16}\n  rnn",
        "train: {epochs: 2, batch_size: 16, nproc: 2}\n  rnn")
    (tmp_path / "cuda.yaml").write_text(config)
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n",
                          "-p", "--cores", "4", "--directory", str(tmp_path), "--configfile",
                          str(tmp_path / "cuda.yaml"), "--until", "train", "control"],
                         capture_output=True, text=True)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    jobs = out.split("\nrule ")[1:]
    cnn = [j for j in jobs if j.startswith(("train:", "control:")) and "model=cnn" in j]
    rnn = [j for j in jobs if j.startswith("train:") and "model=rnn" in j]
    assert len(cnn) == 4 and len(rnn) == 1  # train + 3 controls
    for job in cnn:
        assert "-m torch.distributed.run --standalone --nproc-per-node 2 -m seqnn train" in job
        assert re.search(r"threads: 2\b", job) and "--threads 1 " in job  # 1 per process
        assert re.search(r"gpu=2\b", job) and re.search(r"mem_mb=4000\b", job)
    assert "torch.distributed.run" not in rnn[0] and re.search(r"gpu=1\b", rnn[0])


def test_profile_maps_gpu_jobs_to_the_gpu_partition() -> None:
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert (PROFILE / profile["slurm-partition-config"]).is_file()
    partitions = pytest.importorskip("snakemake_executor_plugin_slurm.partitions")
    table = partitions.read_partition_file(PROFILE / profile["slurm-partition-config"])
    logger = SimpleNamespace(info=lambda *a: None, debug=lambda *a: None,
                             warning=lambda *a: None)

    def job(**resources: int) -> SimpleNamespace:
        return SimpleNamespace(name="train", threads=resources.pop("threads", 1),
                               resources=SimpleNamespace(get=resources.get, **resources))

    assert partitions.get_best_partition(table, job(gpu=2, threads=2, mem_mb=4000),
                                         logger) == "gpu"
    assert partitions.get_best_partition(table, job(gpu=0, threads=2), logger) == "cpu"
    assert partitions.get_best_partition(table, job(threads=1, mem_mb=1000), logger) == "cpu"
