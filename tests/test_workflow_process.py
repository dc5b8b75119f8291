"""The workflow as processes: signals to ``seqnn run``, one trainer per model folder, a forced
rerun of a finished training, the Snakefile's quoting of empty values, the end-of-run summary,
the index page's links and the Slurm check's interpreter path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from test_workflow import write_tiny_data

from seqnn.errors import TrainingError

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
SEQNN = [sys.executable, "-m", "seqnn"]
RESIDUES = "ACDEFGHIKLMNPQRSTVWY"

LONG_CONFIG = """
results: res
threads: 1
device: cpu
datasets:
  tiny:
    task: binary
    max_len: 64
    inputs:
      - {fasta: p/pos.fa, label: pos}
      - {fasta: p/neg.fa, label: neg}
    split: {method: random, fractions: [0.6, 0.2, 0.2]}
models:
  cnn:
    model: cnn
    params: {channels: [8], kernel_size: 3, head_hidden: 0}
    train: {epochs: 100000, patience: 100000, batch_size: 16}
checks: {permutation: false, shuffle: false, bootstrap: 20}
"""


def live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are alive (zombies excluded), read from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
                out.append(int(entry.name))
    return out


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting for its parent counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


# ------------------------------------------------------------------ signals to seqnn run


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigterm_stops_every_job_and_the_next_run_starts_without_unlock(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    write_tiny_data(tmp_path / "p")
    (tmp_path / "long.yaml").write_text(LONG_CONFIG)
    (tmp_path / "short.yaml").write_text(LONG_CONFIG.replace("epochs: 100000, patience: 100000",
                                                             "epochs: 2, patience: 2"))
    model = tmp_path / "res" / "tiny" / "models" / "cnn"
    log = tmp_path / "logs" / "tiny" / "train_cnn.log"
    run = subprocess.Popen([*SEQNN, "run", "long.yaml", "--", "--until", "train"],
                           cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: log.exists() and "epoch 2/" in log.read_text(), 600,
                 "the trainer's second epoch")
        trainer = int((model / ".lock").read_text())  # the live trainer holds the folder
        group = os.getpgid(trainer)
        assert group != os.getpgid(run.pid)  # Snakemake and its jobs: a group of their own
        run.send_signal(signal.SIGTERM)
        out, _ = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1, out[-3000:]  # Snakemake's code: the interrupted job failed
    assert live_members(group) == []  # no job of the run survives seqnn run
    assert not (tmp_path / ".snakemake" / "locks").exists() or not any(
        (tmp_path / ".snakemake" / "locks").iterdir())
    assert not (model / ".lock").exists() and (model / "state.pt").exists()
    # the next run needs no --unlock; it resumes the interrupted training and finishes it
    res = subprocess.run([*SEQNN, "run", "short.yaml", "--", "--until", "train"],
                         cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "cannot be locked" not in res.stderr
    for name in ("model.json", "model.safetensors", "history.csv", "metrics.json"):
        assert (model / name).exists(), name


GROUP_SCRIPT = """
import sys
from seqnn.cli.workflow import run_group
sys.exit(run_group(["bash", "-c", sys.argv[1]], grace=float(sys.argv[2])))
"""


def start_group(tmp_path: Path, script: str, grace: float = 60.0) -> subprocess.Popen:
    """``run_group`` on a bash ``script`` in a child Python, once the script wrote 'ready'."""
    proc = subprocess.Popen([sys.executable, "-c", GROUP_SCRIPT, script, str(grace)],
                            cwd=tmp_path, env=ENV)
    wait_for(lambda: (tmp_path / "ready").exists(), 120, "the script to start")
    return proc


def test_sigterm_reaches_a_grandchild_and_the_exit_code_says_so(tmp_path: Path) -> None:
    proc = start_group(tmp_path, "sleep 300 & echo $! > grandchild; touch ready; wait")
    grandchild = int((tmp_path / "grandchild").read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143  # bash died of SIGTERM: 128 + 15
    assert gone(grandchild)  # run_group waited for the whole group


def test_sighup_goes_on_as_sigterm_and_a_clean_exit_still_reads_as_stopped(
        tmp_path: Path) -> None:
    proc = start_group(tmp_path, "trap 'echo term > got; exit 0' TERM; touch ready; "
                                 "while true; do sleep 0.1; done")
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=60) == 128 + signal.SIGHUP  # never 0 after a signal
    assert (tmp_path / "got").read_text() == "term\n"


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    proc = start_group(tmp_path, "(trap '' TERM; exec sleep 300) & echo $! > stubborn; "
                                 "touch ready; wait", grace=1.0)
    stubborn = int((tmp_path / "stubborn").read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    assert gone(stubborn)  # SIGKILLed once the grace ran out, before run_group returned


# ------------------------------------------------------------ one trainer per model folder


def test_the_model_folder_lock_refuses_a_second_holder_and_cleans_up(tmp_path: Path) -> None:
    from seqnn.training.lock import model_folder_lock

    folder = tmp_path / "m"
    with model_folder_lock(folder):
        assert (folder / ".lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(TrainingError) as info, model_folder_lock(folder):
            pass
        assert str(info.value) == (f"{folder}: another training (pid {os.getpid()}) is using "
                                   "this model folder; wait until it ends or stop it, then run "
                                   "again")
    assert not (folder / ".lock").exists()
    with model_folder_lock(folder):  # free again
        pass


def test_a_lock_left_by_a_killed_trainer_does_not_block(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, signal
        from seqnn.training.lock import model_folder_lock
        with model_folder_lock({str(tmp_path / "m")!r}):
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    res = subprocess.run([sys.executable, "-c", script], env=ENV)
    assert res.returncode == -9
    assert (tmp_path / "m" / ".lock").exists()  # the file stays, the lock died with it
    from seqnn.training.lock import model_folder_lock

    with model_folder_lock(tmp_path / "m"):
        assert (tmp_path / "m" / ".lock").read_text() == f"{os.getpid()}\n"


def tiny_splits():
    from seqnn.data.encoding import encode_table

    def part(n: int, seed: int):
        rng = np.random.default_rng(seed)
        seqs = ["KKKK" * (i % 2) + "".join(rng.choice(list(RESIDUES), 12)) for i in range(n)]
        labels = ["pos" if i % 2 else "neg" for i in range(n)]
        return encode_table([f"s{seed}_{i}" for i in range(n)], seqs, labels, "binary",
                            ["neg", "pos"])

    return part(24, 1), part(12, 2), part(12, 3)


def test_train_model_refuses_a_folder_in_use_before_writing(tmp_path: Path) -> None:
    from seqnn.config import TrainConfig
    from seqnn.training.lock import model_folder_lock
    from seqnn.training.run import train_model

    train, valid, _ = tiny_splits()
    out = tmp_path / "model"
    with model_folder_lock(out), pytest.raises(TrainingError, match="another training"):
        train_model(train, valid, model_name="mlp", model_params={"hidden": [4]},
                    config=TrainConfig(epochs=1, batch_size=8, device="cpu", quiet=True),
                    out_dir=out)
    assert sorted(p.name for p in out.iterdir()) == []


# --------------------------------------------------------- a forced rerun of a finished run


def test_a_finished_run_resumed_writes_every_file_again(tmp_path: Path) -> None:
    """What ``--forcerun train`` does: Snakemake deletes the outputs, state.pt stays, and
    ``seqnn train --resume`` must leave the whole model folder, the same as before."""
    from seqnn.config import TrainConfig
    from seqnn.training.run import train_model

    train, valid, test = tiny_splits()
    out = tmp_path / "model"
    run = {"model_name": "mlp", "model_params": {"hidden": [4]}, "out_dir": out, "test": test,
           "config": TrainConfig(epochs=3, batch_size=8, device="cpu", quiet=True)}
    train_model(train, valid, **run)
    outputs = ("metrics.json", "predictions.tsv", "history.csv")  # safetensors: key order
    before = {name: (out / name).read_bytes() for name in outputs}
    for name in (*outputs, "model.json"):
        (out / name).unlink()
    again = train_model(train, valid, **run, resume=True)
    assert again["epochs_run"] == 3
    assert {name: (out / name).read_bytes() for name in outputs} == before
    assert json.loads((out / "model.json").read_text())["epochs_run"] == 3


# ----------------------------------------------------------------- quoting, summary, links


def test_both_controls_off_pass_an_empty_controls_value(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    write_tiny_data(tmp_path / "p")
    (tmp_path / "c.yaml").write_text(LONG_CONFIG)
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
                          "-n", "-p", "--configfile", "c.yaml"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "--models=cnn --margin 0.05 --bootstrap 20 --controls= --min-valid 30 " in out
    assert "--datasets=tiny -o res/index.html" in out
    assert "rule control:" not in out


def write_checks(folder: Path, models: dict) -> None:
    folder.mkdir(parents=True)
    (folder / "checks.json").write_text(json.dumps({"margin": 0.05, "models": models}))


def test_run_summary_lists_each_dataset_verdicts_and_its_report(tmp_path: Path) -> None:
    from seqnn.workflow import run_summary

    write_checks(tmp_path / "amp", {
        "cnn": {"level": "pass", "metric": "mcc", "test_metric": 0.8123,
                "best_shortcut": {"name": "aa_composition", "label": "amino-acid composition",
                                  "test_metric": 0.5}, "delta_vs_best_shortcut": 0.3123,
                "why": "PASS: beats amino-acid composition by +0.312"},
        "ae": {"level": "caution", "model": "autoencoder", "reconstruction_accuracy":
               {"test": 0.25}, "why": "CAUTION: no linear probe"},
    })
    (tmp_path / "amp" / "report.html").write_text("<!DOCTYPE html>")
    (tmp_path / "index.html").write_text("")
    text = run_summary(tmp_path, ["amp", "other"])
    assert text.splitlines() == [
        "seqnn: the run is complete.",
        "dataset amp:",
        "  model  verdict  test metric           best shortcut                            why",
        "  cnn    PASS     MCC 0.812             amino-acid composition 0.500 (Δ +0.312)  "
        "PASS: beats amino-acid composition by +0.312",
        "  ae     CAUTION  reconstruction 0.250  —                                        "
        "CAUTION: no linear probe",
        f"  report: {tmp_path / 'amp' / 'report.html'}",
        "dataset other: no readable checks.json (not checked in this run)",
        f"all datasets side by side: {tmp_path / 'index.html'}",
    ]


def test_index_links_are_url_encoded_relative_links(tmp_path: Path) -> None:
    from seqnn.report.page import build_index

    names = ["javascript:alert(3)", "a b#c?d", "<b>"]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.html").write_text("")
    build_index(tmp_path, names, tmp_path / "index.html")
    html = (tmp_path / "index.html").read_text()
    hrefs = [part.split('"')[0] for part in html.split('href="')[1:]]
    assert hrefs == ["./javascript%3Aalert%283%29/report.html", "./a%20b%23c%3Fd/report.html",
                     "./%3Cb%3E/report.html"]
    assert "<th>&lt;b&gt;</th>" in html and "<b>" not in html.replace("<b class", "")


# --------------------------------------------------------------------------- slurm check


def test_slurm_check_makes_a_relative_interpreter_absolute(tmp_path: Path) -> None:
    rel = os.path.relpath(sys.executable, tmp_path)
    res = subprocess.run(["bash", str(REPO / "benchmarks" / "slurm_check.sh")], cwd=tmp_path,
                         env={**os.environ, "PYTHON": rel, "DRY_RUN": "1"},
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == sys.executable or Path(res.stdout.strip()).samefile(
        sys.executable)
    assert res.stderr == (f"slurm-check: dry run: interpreter {tmp_path}/{rel}, "
                          f"repository {REPO}\n")
    res = subprocess.run(["bash", str(REPO / "benchmarks" / "slurm_check.sh")], cwd=tmp_path,
                         env={**os.environ, "PYTHON": "no-such-python", "DRY_RUN": "1"},
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    assert res.stderr == ("slurm-check: FAILED: PYTHON=no-such-python: no such command on "
                          "PATH\n")


@pytest.mark.skipif(subprocess.run(["which", "make"], capture_output=True).returncode != 0,
                    reason="no make")
def test_make_slurm_check_passes_an_absolute_interpreter() -> None:
    res = subprocess.run(["make", "-n", "slurm-check"], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert f'PYTHON="{REPO}/.venv/bin/python" bash benchmarks/slurm_check.sh' in res.stdout
