"""The CLI ends of how seqnn writes files (issue 24, writes): a link planted in a results
folder, outputs inside the folders a command reads, folders and device nodes as ``-o``,
``-o -`` and ``-o /dev/stdout``, the state file on a full disk (and resuming after it), a
full disk while encoding, and the scratch files of a killed ``encode``. The library ends are
in tests/test_writes_safety.py."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqnn.cli import main

FASTA = ">a\nACDEFG\n>b\nKLMNPQ\n"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _errors(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.startswith("seqnn: error:")]


def _results(root: Path, nearest: bool = True) -> Path:
    """A results folder written by hand: one binary model ``m`` with predictions, metrics,
    baselines, an audit and (``nearest``) the audit's nearest-train table."""
    ids = [f"s{i}" for i in range(200)]
    split = ["train"] * 100 + ["valid"] * 40 + ["test"] * 60
    labels = ["a" if i % 2 else "b" for i in range(200)]
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": ids, "sequence": ["ACDEFGHIK"] * 200, "label": labels}).to_csv(
        root / "sequences.tsv", sep="\t", index=False)
    pd.DataFrame({"id": ids, "split": split}).to_csv(root / "splits.tsv", sep="\t", index=False)
    right = np.arange(200) % 10 != 0
    pred = pd.DataFrame({"id": ids, "split": split, "true": labels})
    pred["predicted"] = np.where(right, pred["true"], np.where(pred["true"] == "a", "b", "a"))
    pred["p_b"] = np.where(pred["predicted"] == "b", 0.9, 0.1)
    pred["p_a"] = 1 - pred["p_b"]
    model = root / "models" / "m"
    model.mkdir(parents=True)
    pred.to_csv(model / "predictions.tsv", sep="\t", index=False)
    (model / "model.json").write_text(json.dumps(
        {"task": "binary", "model": "cnn", "class_names": ["b", "a"], "best_epoch": 5}))
    (model / "metrics.json").write_text(json.dumps(
        {s: {"mcc": 0.8, "n": 10} for s in ("train", "valid", "test")}))
    (root / "baselines.json").write_text(json.dumps({"majority": {"test": {"mcc": 0.0}}}))
    (root / "audit.json").write_text(json.dumps(
        {"identity_threshold": 0.3, "leak": False, "fraction_above_threshold": {"test": 0.0}}))
    if nearest:
        pd.DataFrame({"id": ids, "identity": np.linspace(0, 1, 200)}).to_csv(
            root / "nearest_train.tsv", sep="\t", index=False)
    return root


def _check(root: Path, out: Path | str) -> list[str]:
    return ["check", str(root), "--models", "m", "--bootstrap", "5", "-o", str(out)]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


# ----------------------------------------------------------------------------- links


def test_check_replaces_a_planted_reliability_link_and_leaves_its_target(
        runner: CliRunner, tmp_path: Path) -> None:
    root = _results(tmp_path / "d")
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    (root / "models" / "m" / "reliability.json").symlink_to(outside)
    res = runner.invoke(main, _check(root, root / "checks.json"))
    assert res.exit_code == 0, res.output
    assert outside.read_text() == "precious\n"
    stored = root / "models" / "m" / "reliability.json"
    assert not stored.is_symlink() and "scores" in json.loads(stored.read_text())


def test_check_refuses_a_linked_model_folder(runner: CliRunner, tmp_path: Path) -> None:
    root = _results(tmp_path / "d")
    elsewhere = tmp_path / "elsewhere"
    (root / "models" / "m").rename(elsewhere)
    (root / "models" / "m").symlink_to(elsewhere, target_is_directory=True)
    before = _snapshot(elsewhere)
    res = runner.invoke(main, _check(root, root / "checks.json"))
    assert res.exit_code == 2
    assert _errors(res.output) == [
        f"seqnn: error: {root / 'models' / 'm' / 'reliability.json'}: "
        f"'{root / 'models' / 'm'}' is a symbolic link inside '{root}'; seqnn writes no "
        "file through a link there (replace the link by a folder)"]
    assert _snapshot(elsewhere) == before
    assert not (root / "checks.json").exists()


def test_check_gives_every_model_reliability_json_and_replaces_a_stale_one(
        runner: CliRunner, tmp_path: Path) -> None:
    """The workflow declares reliability.json as an output of the check for every model."""
    root = _results(tmp_path / "d", nearest=False)
    stale = root / "models" / "m" / "reliability.json"
    stale.write_text('{"scores": {"global": [0.1]}}\n')
    res = runner.invoke(main, _check(root, root / "checks.json"))
    assert res.exit_code == 0, res.output
    assert json.loads(stale.read_text())["available"] is False
    from seqnn.errors import SeqnnInputError
    from seqnn.inference.reliability import Reliability

    assert not Reliability(root / "models" / "m").available  # predict adds no columns
    with pytest.raises(SeqnnInputError, match="stored no conformal scores for this model"):
        Reliability(root / "models" / "m", 0.9)  # --coverage: one line


# ----------------------------------------------------------------------------- same file


def test_an_output_that_is_a_file_the_command_reads_in_a_folder_is_refused(
        runner: CliRunner, tmp_path: Path) -> None:
    root = _results(tmp_path / "d")
    model = root / "models" / "m"
    (model / "reliability.json").write_text("{}\n")
    (root / "checks.json").write_text("{}\n")
    fa = tmp_path / "in.fa"
    fa.write_text(FASTA)
    before = _snapshot(root)
    cases = [
        (["report", str(root), "-o", str(root / "checks.json")], root / "checks.json"),
        (_check(root, model / "metrics.json"), model / "metrics.json"),
        (["predict", str(model), str(fa), "--coverage", "0.9", "-o",
          str(model / "reliability.json")], model / "reliability.json"),
        (["embed", str(model), str(fa), "-o", str(model / "predictions.tsv")],
         model / "predictions.tsv"),
    ]
    for args, out in cases:
        res = runner.invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        err = _errors(res.output)
        assert len(err) == 1 and err[0].startswith(f"seqnn: error: {out}: would replace "), err
        assert err[0].endswith("which this command reads (a file seqnn keeps there); choose "
                               "another output")
    assert _snapshot(root) == before


# ----------------------------------------------------------------------------- -o


@pytest.mark.parametrize("command", ["inspect", "check", "report"])
def test_a_folder_as_output_is_one_line_for_every_command(runner: CliRunner, tmp_path: Path,
                                                          command: str) -> None:
    """A name ending in / is refused by seqnn, an existing folder already by click."""
    root = _results(tmp_path / "d")
    fa = tmp_path / "in.fa"
    fa.write_text(FASTA)
    (tmp_path / "dir").mkdir()
    for out in (f"{tmp_path / 'new'}/", str(tmp_path / "dir")):
        args = {"inspect": ["inspect", str(fa), "-o", out], "check": _check(root, out),
                "report": ["report", str(root), "-o", out]}[command]
        res = runner.invoke(main, args)
        assert res.exit_code == 2
        if out.endswith("/"):
            assert _errors(res.output) == [f"seqnn: error: {out}: cannot write (is a folder; "
                                           "give a file name)"]
        else:
            assert res.output.splitlines()[-1].endswith(f"'{out}' is a directory."), res.output
    assert list((tmp_path / "dir").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "dir", "in.fa"]


def test_a_device_node_as_output_is_written_in_place(runner: CliRunner, tmp_path: Path) -> None:
    full = tmp_path / "full"
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # our own /dev/full
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here (not root)")
    fa = tmp_path / "in.fa"
    fa.write_text(FASTA)
    res = runner.invoke(main, ["inspect", str(fa), "-o", str(full)])
    assert res.exit_code == 2
    assert _errors(res.output) == [f"seqnn: error: {full}: cannot write (No space left on "
                                   "device)"]
    assert stat.S_ISCHR(os.lstat(full).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "in.fa"]


def test_dash_and_dev_stdout_write_to_standard_output(tmp_path: Path) -> None:
    root = _results(tmp_path / "d")
    runs = [subprocess.run([sys.executable, "-m", "seqnn", *_check(root, out)],
                           capture_output=True, text=True, check=False)
            for out in ("-", "/dev/stdout")]
    for res in runs:
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["models"]["m"]["level"] in ("pass", "caution", "fail")
    assert runs[0].stdout == runs[1].stdout
    assert not (root / "checks.json").exists() and not Path("-").exists()


def test_encode_still_refuses_standard_output(runner: CliRunner, tmp_path: Path) -> None:
    fa = tmp_path / "in.fa"
    fa.write_text(FASTA)
    res = runner.invoke(main, ["encode", str(fa), "-o", "-"])
    assert res.exit_code == 2
    assert _errors(res.output) == ["seqnn: error: -: cannot write this output to standard "
                                   "output; give a file name"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa"]


# ----------------------------------------------------------------------------- state.pt


def test_a_full_disk_while_saving_the_state_stops_in_one_line_and_resume_continues(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from seqnn.training import state

    ids = [f"s{i}" for i in range(16)]
    pd.DataFrame({"id": ids, "sequence": ["KKKKAAGG", "AAGGLLVV", "KKKKLLAA", "GGAAVVLL"] * 4,
                  "label": ["pos", "neg"] * 8}).to_csv(tmp_path / "seqs.tsv", sep="\t",
                                                       index=False)
    pd.DataFrame({"id": ids, "split": ["train"] * 12 + ["valid"] * 4}).to_csv(
        tmp_path / "splits.tsv", sep="\t", index=False)
    spec = {"model": "mlp", "params": {"hidden": [4]}, "train": {"epochs": 3, "patience": 9}}
    out = tmp_path / "m"
    args = ["train", str(tmp_path / "seqs.tsv"), str(tmp_path / "splits.tsv"), "--task",
            "binary", "--quiet", "--device", "cpu", "--spec", json.dumps(spec), "--out",
            str(out), "--resume"]
    real_save, calls = torch.save, []

    def full_after_one(obj: object, fh: object, *a: object, **kw: object) -> None:
        calls.append(obj["epoch"])  # type: ignore[index]
        if len(calls) > 1:
            fh.write(b"partial")  # type: ignore[attr-defined]
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(obj, fh, *a, **kw)

    monkeypatch.setattr(state.torch, "save", full_after_one)
    res = runner.invoke(main, args)
    assert res.exit_code == 2, res.output
    assert _errors(res.output) == [f"seqnn: error: {out / 'state.pt'}: cannot write (No space "
                                   "left on device)"]
    assert "Traceback" not in res.output
    assert state.load_state(out)["epoch"] == 1  # the last good state
    assert not list(out.glob(".state.pt.*"))
    monkeypatch.setattr(state.torch, "save", real_save)  # space is back
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3]
    assert (out / "model.safetensors").is_file()


# ----------------------------------------------------------------------------- encode


def test_encode_on_a_full_disk_names_the_output(tmp_path: Path) -> None:
    import resource

    fa = tmp_path / "in.fa"
    fa.write_text("".join(f">s{i}\n{'ACDEFGHIKL' * 50}\n" for i in range(40)))  # 20,000 res.

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    res = subprocess.run([sys.executable, "-m", "seqnn", "encode", str(fa), "-o",
                          str(tmp_path / "out.npz")], capture_output=True, text=True,
                         check=False, preexec_fn=limit)
    assert res.returncode == 2
    assert res.stderr.splitlines()[-1] == (f"seqnn: error: {tmp_path / 'out.npz'}: cannot "
                                           "write (File too large)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa"]


def test_encode_removes_the_scratch_files_of_a_killed_run(runner: CliRunner,
                                                          tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    fa = tmp_path / "in.fa"
    fa.write_text(FASTA)
    left = [f".out.npz.{dead}.k2j4h5g6.tmp", ".tokens.k2j4h5g6"]  # this version's, older ones
    for name in left:
        (tmp_path / name).write_bytes(b"\x01" * 100)
        old = time.time() - 3600
        os.utime(tmp_path / name, (old, old))
    res = runner.invoke(main, ["encode", str(fa), "-o", str(tmp_path / "out.npz")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa", "out.npz"]
