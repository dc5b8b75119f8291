"""How seqnn writes files (seqnn.data.outputs): links in results folders, device nodes and
FIFOs, standard output that fills up, outputs inside the folders a command reads, the state
file on a full disk, file modes, folders as outputs and scratch files of a killed run.

Every case of issue 24's "Reliability round two" (writes) has its regression test here; the
CLI ends of the same cases are in tests/cli/test_cli_outputs.py.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from seqnn.data import outputs
from seqnn.data.outputs import (
    atomic_path,
    check_not_in_folder,
    remove_stale_temps,
    temp_beside,
    write_table,
    write_text,
)
from seqnn.errors import OutputError

FASTA = ">a\nACDEFG\n>b\nKLMNPQ\n"


def _dead_pid() -> int:
    """The pid of a process that has finished."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


# ----------------------------------------------------------------------------- links


def test_a_link_at_a_derived_name_is_replaced_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("precious\n")
    model = tmp_path / "results" / "d" / "models" / "cnn"
    model.mkdir(parents=True)
    (model / "reliability.json").symlink_to(outside)
    write_text("{}\n", model / "reliability.json", inside=tmp_path / "results" / "d")
    assert outside.read_text() == "precious\n"
    assert not (model / "reliability.json").is_symlink()
    assert (model / "reliability.json").read_text() == "{}\n"


def test_check_never_writes_reliability_through_a_planted_link(tmp_path: Path) -> None:
    from seqnn.checks.reliability import mark_no_reliability

    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    model = tmp_path / "d" / "models" / "cnn"
    model.mkdir(parents=True)
    (model / "reliability.json").symlink_to(outside)
    mark_no_reliability(model)
    assert outside.read_text() == "precious\n"
    assert json.loads((model / "reliability.json").read_text())["available"] is False


def test_a_linked_model_folder_inside_the_results_folder_is_refused(tmp_path: Path) -> None:
    from seqnn.checks.reliability import mark_no_reliability

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "d" / "models").mkdir(parents=True)
    (tmp_path / "d" / "models" / "cnn").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputError, match=r"models/cnn' is a symbolic link inside") as info:
        mark_no_reliability(tmp_path / "d" / "models" / "cnn")
    assert "\n" not in str(info.value)
    assert list(elsewhere.iterdir()) == []


def test_a_user_path_that_is_a_link_is_still_written_through(tmp_path: Path) -> None:
    target = tmp_path / "target.tsv"
    target.write_text("old\n")
    (tmp_path / "link.tsv").symlink_to(target)
    write_table(pd.DataFrame({"a": [1]}), tmp_path / "link.tsv")
    assert (tmp_path / "link.tsv").is_symlink() and target.read_text() == "a\n1\n"


def test_save_model_replaces_a_planted_weights_link(tmp_path: Path) -> None:
    from seqnn.models import get_model
    from seqnn.runtime.checkpoint import load_model, save_model

    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"precious")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.safetensors").symlink_to(outside)
    model = get_model("mlp", n_tokens=22, n_outputs=1, task="binary", hidden=[4])
    save_model(tmp_path / "m", model, {"task": "binary", "class_names": ["a", "b"],
                                       "n_outputs": 1, "max_len": 10, "truncate": "right"})
    assert outside.read_bytes() == b"precious"
    assert not (tmp_path / "m" / "model.safetensors").is_symlink()
    load_model(tmp_path / "m")


# ----------------------------------------------------------------------------- not a file


def test_a_fifo_is_written_in_place_never_renamed_over(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the other end, open before writing
    try:
        write_text("hello\n", fifo)
        got = os.read(reader, 100)
    finally:
        os.close(reader)
    assert got == b"hello\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_full_device_is_one_line_and_stays_a_device(tmp_path: Path) -> None:
    full = tmp_path / "full"
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # our own /dev/full
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here (not root)")
    with pytest.raises(OutputError) as info:
        write_text("x" * 10000, full)
    assert str(info.value) == f"{full}: cannot write (No space left on device)"
    assert stat.S_ISCHR(os.lstat(full).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_dash_is_standard_output(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    write_table(pd.DataFrame({"a": [1, 2]}), "-")
    write_text("done\n", "-")
    assert capfdbinary.readouterr().out == b"a\n1\n2\ndone\n"


def test_nothing_reaches_standard_output_when_the_writer_fails(
        capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    with pytest.raises(RuntimeError), atomic_path("-") as tmp:
        Path(tmp).write_text("half")
        raise RuntimeError("boom")
    assert capfdbinary.readouterr().out == b""


@pytest.mark.parametrize("out", ["d/", "d"])
def test_a_folder_as_output_is_refused(tmp_path: Path, out: str) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match=r"cannot write \(is a folder; give a file name\)"):
        write_text("x", f"{tmp_path}/{out}")
    with pytest.raises(OutputError, match="is a folder"):
        write_text("x", f"{tmp_path}/new/")  # not there yet: still a folder name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    assert list((tmp_path / "d").iterdir()) == []


# ----------------------------------------------------------------------------- same file


def test_an_output_inside_a_folder_argument_under_a_kept_name_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "d"
    (d / "models" / "cnn").mkdir(parents=True)
    kept = ["checks.json", "metrics.json", "reliability.json"]
    for out in (d / "checks.json", d / "models" / "cnn" / "metrics.json",
                tmp_path / "d" / "models" / ".." / "models" / "cnn" / "reliability.json"):
        with pytest.raises(OutputError, match="which this command reads"):
            check_not_in_folder(out, d, kept)
    (tmp_path / "alias").symlink_to(d, target_is_directory=True)
    with pytest.raises(OutputError, match=r"would replace 'checks.json' of"):
        check_not_in_folder(tmp_path / "alias" / "checks.json", d, kept)
    check_not_in_folder(d / "report.html", d, kept)  # the command's own output
    check_not_in_folder(tmp_path / "checks.json", d, kept)  # outside the folder
    check_not_in_folder("-", d, kept)


# ----------------------------------------------------------------------------- state.pt


def test_a_full_disk_while_saving_the_state_keeps_the_last_good_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from seqnn.training import state as st

    st.save_state(tmp_path, {"epoch": 1, "w": torch.ones(3)})
    good = (tmp_path / "state.pt").read_bytes()

    def full(obj: object, fh: object, *args: object, **kwargs: object) -> None:
        fh.write(b"partial")  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(st.torch, "save", full)
    with pytest.raises(OutputError) as info:
        st.save_state(tmp_path, {"epoch": 2, "w": torch.zeros(3)})
    assert str(info.value) == f"{tmp_path / 'state.pt'}: cannot write (No space left on device)"
    assert (tmp_path / "state.pt").read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.pt"]
    monkeypatch.undo()
    assert st.load_state(tmp_path)["epoch"] == 1


def test_a_real_write_error_of_torch_save_is_one_line(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.save writes through a Python file, so the reason of a failed write arrives (a
    path given to torch.save gave 'unexpected pos ...' or 'basic_ios::clear' instead)."""
    full = tmp_path / "full"
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here (not root)")
    import tempfile

    import torch

    from seqnn.training import state as st

    real_mkstemp = tempfile.mkstemp

    def onto_a_full_disk(*args: object, **kwargs: object) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)  # type: ignore[call-overload]
        os.unlink(name)
        os.symlink(full, name)  # the temporary file is on a full disk
        return fd, name

    (tmp_path / "m").mkdir()
    monkeypatch.setattr("seqnn.data.outputs.tempfile.mkstemp", onto_a_full_disk)
    with pytest.raises(OutputError) as info:
        st.save_state(tmp_path / "m", {"epoch": 1, "w": torch.zeros(10000)})
    assert str(info.value) == (f"{tmp_path / 'm' / 'state.pt'}: cannot write (No space left "
                               "on device)")
    assert list((tmp_path / "m").iterdir()) == []
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_a_full_disk_while_saving_the_weights_is_one_line(tmp_path: Path) -> None:
    """safetensors raises its own error type: it becomes one line naming the weights."""
    import resource

    code = ("import sys\nfrom seqnn.models import get_model\n"
            "from seqnn.runtime.checkpoint import save_model\n"
            "m = get_model('mlp', n_tokens=22, n_outputs=1, task='binary', hidden=[256])\n"
            "save_model(sys.argv[1], m, {'task': 'binary', 'class_names': ['a', 'b'], "
            "'n_outputs': 1, 'max_len': 500, 'truncate': 'right'})\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m")], check=False,
                         capture_output=True, text=True, preexec_fn=limit)
    assert res.returncode == 1
    assert res.stderr.splitlines()[-1] == (f"seqnn.errors.OutputError: {tmp_path / 'm'}/"
                                           "model.safetensors: cannot write (File too large)")
    assert list((tmp_path / "m").iterdir()) == []


# ----------------------------------------------------------------------------- modes


def test_final_files_get_the_umask_mode_also_from_safetensors(tmp_path: Path) -> None:
    from seqnn.models import get_model
    from seqnn.runtime.checkpoint import save_model

    old = os.umask(0o022)
    try:
        model = get_model("mlp", n_tokens=22, n_outputs=1, task="binary", hidden=[4])
        save_model(tmp_path / "m", model, {"task": "binary", "class_names": ["a", "b"],
                                           "n_outputs": 1, "max_len": 10, "truncate": "right"})
        write_text("x\n", tmp_path / "t.txt")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode)
             for p in [*(tmp_path / "m").iterdir(), tmp_path / "t.txt"]}
    assert modes == {"model.safetensors": 0o644, "model.json": 0o644, "t.txt": 0o644}


def test_the_explain_plot_folder_gets_the_umask_mode(tmp_path: Path) -> None:
    from seqnn.report.explain_plots import PlotDir

    old = os.umask(0o022)
    try:
        with PlotDir(tmp_path / "plots", "saliency"):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "plots").stat().st_mode) == 0o755


# ----------------------------------------------------------------------------- scratch


def test_scratch_files_are_named_for_their_output_and_removed_when_stale(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = [f".x.npz.{dead}.abcd1234.tmp", ".tokens.k2j4h5g6", ".ingest.zz_99xyz"]
    for name in [*stale, "keep.tmp"]:
        (tmp_path / name).write_text("x")
        old = outputs.RUN_STARTED - 60  # before this process started (the module's import)
        os.utime(tmp_path / name, (old, old))
    with temp_beside(tmp_path / "x.npz") as fh:
        names = sorted(p.name for p in tmp_path.iterdir())
        assert len(names) == 2 and names[0].startswith(f".x.npz.{os.getpid()}.")
        assert names[0].endswith(".tmp") and names[1] == "keep.tmp"
        fh.write(b"tokens")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.tmp"]
    assert remove_stale_temps(tmp_path / "x.npz") == []


def test_a_full_disk_while_writing_scratch_names_the_output(tmp_path: Path) -> None:
    full = tmp_path / "full"
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here (not root)")
    scratch = temp_beside(tmp_path / "x.npz")
    scratch._fh.close()
    scratch._fh = open(full, "wb", buffering=0)  # noqa: SIM115 - the scratch's disk is full
    with pytest.raises(OutputError) as info, scratch:
        scratch.write(b"tokens")
    assert str(info.value) == f"{tmp_path / 'x.npz'}: cannot write (No space left on device)"


# ----------------------------------------------------------------------------- standard output


def _seqnn(args: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqnn", *args], stderr=subprocess.PIPE,
                          text=True, check=False, **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("dash", [False, True])
def test_standard_output_on_a_full_disk_is_one_line_exit_2(tmp_path: Path, unbuffered: bool,
                                                           dash: bool) -> None:
    fa = tmp_path / "in.fa"
    fa.write_text(FASTA)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "wb") as full:
        res = _seqnn(["inspect", str(fa), *(["-o", "-"] if dash else [])], stdout=full, env=env)
    assert (res.returncode, res.stderr) == (
        2, "seqnn: error: <stdout>: cannot write (No space left on device)\n")


@pytest.mark.parametrize("unbuffered", [False, True])
def test_standard_output_over_the_file_size_limit_is_one_line_exit_2(tmp_path: Path,
                                                                     unbuffered: bool) -> None:
    import resource

    fa = tmp_path / "in.fa"
    fa.write_text(FASTA)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))

    with open(tmp_path / "out.txt", "wb") as out:
        res = _seqnn(["inspect", str(fa)], stdout=out, env=env, preexec_fn=limit)
    assert (res.returncode, res.stderr) == (2, "seqnn: error: <stdout>: cannot write "
                                               "(File too large)\n")
    assert (tmp_path / "out.txt").stat().st_size == 100


def test_a_closed_pipe_on_standard_output_ends_quietly(tmp_path: Path) -> None:
    fa = tmp_path / "in.fa"
    fa.write_text(FASTA)
    read, write = os.pipe()
    os.close(read)  # like `| head` that has already exited
    try:
        res = _seqnn(["inspect", str(fa)], stdout=write)
    finally:
        os.close(write)
    assert (res.returncode, res.stderr) == (141, "")
