"""A real end-to-end run of the Snakemake workflow on a tiny config, and config errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
AA = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


def _family(rng: np.random.Generator, parent: np.ndarray, n: int) -> list[str]:
    out = []
    for _ in range(n):
        child = parent.copy()
        pos = rng.choice(len(child), size=len(child) // 10, replace=False)
        child[pos] = rng.choice(AA, size=len(pos))
        out.append("".join(child))
    return out


def write_tiny_data(folder: Path) -> None:
    """Two classes of 30 sequences each: 'pos' is K/R-rich, 'neg' is D/E-rich; families of
    5 near-identical members so that the cluster split has whole clusters to place."""
    rng = np.random.default_rng(0)
    for name, bias in (("pos", "KR"), ("neg", "DE")):
        weights = np.ones(20)
        weights[["ACDEFGHIKLMNPQRSTVWY".index(b) for b in bias]] = 6
        records = []
        for fam in range(6):
            parent = rng.choice(AA, size=int(rng.integers(25, 60)), p=weights / weights.sum())
            for j, seq in enumerate(_family(rng, parent, 5)):
                records.append(f">{name}_{fam}_{j}\n{seq}\n")
        (folder / f"{name}.fa").write_text("".join(records))


TINY_CONFIG = """
results: my results
threads: 1
device: cpu
datasets:
  tiny:
    task: binary
    max_len: 64
    inputs:
      - {fasta: my proteins/pos.fa, label: pos}
      - {fasta: my proteins/neg.fa, label: neg}
    split: {method: cluster, identity: 0.5, coverage: 0.8, fractions: [0.6, 0.2, 0.2]}
models:
  cnn:
    model: cnn
    params: {channels: [8], kernel_size: 3, head_hidden: 0}
    train: {epochs: 2, batch_size: 16}
  rnn:
    model: rnn
    params: {cell: gru, hidden_size: 8}
    train: {epochs: 2, batch_size: 16, ensemble: 2}
  ae:
    model: autoencoder
    params: {channels: [8], latent_dim: 4, decoder_channels: [8]}
    train: {epochs: 2, batch_size: 16}
checks: {control_epochs: 1, bootstrap: 50, permutation_runs: 2}
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("workflow")
    (work / "my proteins").mkdir()  # spaces in the input and results folders: quoting
    write_tiny_data(work / "my proteins")
    (work / "tiny.yaml").write_text(TINY_CONFIG)
    res = subprocess.run([*SNAKEMAKE, "--cores", "2", "--directory", str(work),
                          "--configfile", str(work / "tiny.yaml")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    return work


def test_every_output_exists_and_is_well_formed(tiny_run: Path) -> None:
    d = tiny_run / "my results" / "tiny"
    seqs = pd.read_csv(d / "sequences.tsv", sep="\t")
    assert seqs.columns.tolist() == ["id", "sequence", "label", "source"]
    assert len(seqs) == 60
    splits = pd.read_csv(d / "splits.tsv", sep="\t")
    assert splits.columns.tolist() == ["id", "split", "cluster"]
    assert set(splits["split"]) == {"train", "valid", "test"}
    assert (splits.groupby("cluster")["split"].nunique() == 1).all()
    audit = json.loads((d / "audit.json").read_text())
    assert audit["leak"] is False
    for model in ("cnn", "rnn", "ae"):
        m = d / "models" / model
        for name in ("model.safetensors", "model.json", "metrics.json", "predictions.tsv",
                     "history.csv", "train_sequences.fa"):
            assert (m / name).stat().st_size > 0, (model, name)
        metrics = json.loads((m / "metrics.json").read_text())
        assert set(metrics) == {"train", "valid", "test"}
        assert len(pd.read_csv(m / "history.csv")) == (4 if model == "rnn" else 2)
        assert any((m / "plots").glob("*.png"))
    rnn = json.loads((d / "models" / "rnn" / "model.json").read_text())
    assert (rnn["ensemble"], len(rnn["member_best_epochs"])) == (2, 2)
    assert rnn["max_len"] == 64  # the dataset's max_len, passed as --max-len
    assert (d / "controls" / "rnn" / "shuffle" / "members" / "1" / "model.json").exists()
    for model in ("cnn", "rnn"):
        for control in ("permutation", "permutation-2", "shuffle"):
            assert (d / "controls" / model / control / "metrics.json").exists()
    checks = json.loads((d / "checks.json").read_text())
    assert set(checks["models"]) == {"cnn", "rnn", "ae"}
    for model in ("cnn", "rnn"):
        entry = checks["models"][model]
        assert entry["verdict"].startswith("test MCC ")
        assert entry["best_shortcut"]["name"] in {"majority", "length", "aa_composition",
                                                  "dipeptide"}
        assert set(entry["controls"]) == {"permutation", "shuffle"}
        assert len(entry["controls"]["permutation"]["runs"]) == 2
    html = (d / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
    assert "an ensemble of 2 members (seeds 0, 1)" in html and "over 2 ensemble members" in html
    assert "https://" not in html.split("</head>")[1]
    assert (tiny_run / "my results" / "index.html").exists()
    assert (d / "benchmarks" / "train_cnn.tsv").exists()
    log = (tiny_run / "logs" / "tiny" / "train_cnn.log").read_text().splitlines()
    epochs = [line for line in log if line.startswith("seqnn.train: epoch ")]
    assert [line.split(":")[1] for line in epochs] == [" epoch 1/2", " epoch 2/2"]
    assert not list(d.rglob("*.tmp")) and not (d / "tmp_split").exists()


def test_rerun_does_nothing(tiny_run: Path) -> None:
    res = subprocess.run([*SNAKEMAKE, "-n", "--directory", str(tiny_run),
                          "--configfile", str(tiny_run / "tiny.yaml")],
                         capture_output=True, text=True)
    assert res.returncode == 0
    assert "Nothing to be done" in res.stdout + res.stderr


def test_changing_one_model_reruns_only_that_model(tiny_run: Path) -> None:
    cfg = (tiny_run / "tiny.yaml").read_text().replace("hidden_size: 8", "hidden_size: 6")
    (tiny_run / "changed.yaml").write_text(cfg)
    res = subprocess.run([*SNAKEMAKE, "-n", "--directory", str(tiny_run),
                          "--configfile", str(tiny_run / "changed.yaml")],
                         capture_output=True, text=True)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    stats = out.split("Job stats:")[1].split("Reasons:")[0]
    jobs = dict(line.split() for line in stats.splitlines()[3:] if len(line.split()) == 2)
    assert jobs.get("train") == "1" and jobs.get("control") == "3"
    assert "ingest" not in jobs and "split" not in jobs and "audit" not in jobs


def copy_run(run: Path, to: Path) -> Path:
    """A copy of a finished run's folder (outputs with their times, Snakemake's metadata)."""
    shutil.copytree(run, to, symlinks=True)
    return to


def test_forced_rerun_of_a_finished_training_rewrites_the_same_model(
        tiny_run: Path, tmp_path: Path) -> None:
    """--forcerun train deletes the outputs but not state.pt: the finished run is resumed with
    no epoch left, and its model folder is written again, complete and the same."""
    work = copy_run(tiny_run, tmp_path / "run")
    m = work / "my results" / "tiny" / "models" / "cnn"
    names = ("metrics.json", "predictions.tsv", "history.csv")
    before = {name: (m / name).read_bytes() for name in names}
    weights = load_file(m / "model.safetensors")  # its header's key order may vary
    res = subprocess.run([*SNAKEMAKE, "my results/tiny/models/cnn/metrics.json", "--cores", "1",
                          "--directory", str(work), "--configfile", str(work / "tiny.yaml"),
                          "--forcerun", "train"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "rule train:" in res.stderr and "wildcards: ds=tiny, model=cnn" in res.stderr
    assert {name: (m / name).read_bytes() for name in names} == before
    again = load_file(m / "model.safetensors")
    assert again.keys() == weights.keys()
    assert all(np.array_equal(again[k].numpy(), weights[k].numpy()) for k in weights)
    assert json.loads((m / "model.json").read_text())["epochs_run"] == 2


def test_both_controls_off_run_to_the_report(tiny_run: Path, tmp_path: Path) -> None:
    """permutation: false and shuffle: false (the check step got `--controls ''` unquoted):
    check, report and index run again on the finished models, and the run ends with the
    verdict table."""
    work = copy_run(tiny_run, tmp_path / "run")
    (work / "off.yaml").write_text(TINY_CONFIG.replace(
        "checks: {", "checks: {permutation: false, shuffle: false, "))
    res = subprocess.run([*SNAKEMAKE, "--cores", "2", "--directory", str(work),
                          "--configfile", str(work / "off.yaml")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    ran = {line.split()[1].rstrip(":") for line in res.stderr.splitlines()
           if line.startswith(("rule ", "localrule "))}
    assert ran == {"check", "report", "index", "all"}
    d = work / "my results" / "tiny"
    checks = json.loads((d / "checks.json").read_text())
    for model in ("cnn", "rnn"):
        assert checks["models"][model]["controls"] == {}
        assert checks["models"][model]["controls_off"] == ["permutation", "shuffle"]
    assert (d / "report.html").read_text().startswith("<!DOCTYPE html>")
    summary = res.stderr[res.stderr.index("seqnn: the run is complete."):].splitlines()
    assert summary[1] == "dataset tiny:"
    assert summary[2].split() == ["model", "verdict", "test", "metric", "best", "shortcut", "why"]
    assert [row.split()[0] for row in summary[3:6]] == ["cnn", "rnn", "ae"]
    assert summary[6] == "  report: my results/tiny/report.html"
    assert summary[7] == "all datasets side by side: my results/index.html"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("task: binary", "taks: binary",
     "seqnn: config datasets.tiny: Additional properties are not allowed ('taks' was unexpected)"),
    ("kernel_size: 3", "kernal: 3",
     "seqnn: models.cnn.params: unknown parameter(s) kernal for model 'cnn'; known: input,"),
    ("epochs: 2, batch_size: 16}\n  rnn", "epoch: 2}\n  rnn",
     "seqnn: models.cnn.train: unknown training setting(s) epoch"),
    ("method: cluster", "method: clusters", "seqnn: config datasets.tiny.split.method: "),
])
def test_bad_config_fails_at_start(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old.replace("\\n", "\n") in TINY_CONFIG
    (tmp_path / "bad.yaml").write_text(TINY_CONFIG.replace(old, new))
    res = subprocess.run([*SNAKEMAKE, "-n", "--directory", str(tmp_path),
                          "--configfile", str(tmp_path / "bad.yaml")],
                         capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1].startswith(message), res.stderr


def test_lint_reports_nothing() -> None:
    res = subprocess.run([*SNAKEMAKE, "--lint"], capture_output=True, text=True, cwd=REPO)
    out = res.stdout + res.stderr
    assert "Congratulations, your workflow is in a good condition!" in out
    assert "Lints for" not in out
