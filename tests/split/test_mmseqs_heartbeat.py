"""MMseqs2 runs are logged: a long command says what it does (sizes, the command) with its
first heartbeat, repeats the heartbeat and ends with its elapsed time; a quick one logs at
DEBUG only; a failure raises with the output's tail."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from seqnn.split import mmseqs


def _fake(tmp_path: Path, body: str) -> str:
    path = tmp_path / "mmseqs"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "seqnn.mmseqs" and r.levelno == level]


def test_a_long_mmseqs_step_logs_what_it_does_and_a_heartbeat(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(mmseqs, "HEARTBEAT_S", 0.01)
    binary = _fake(tmp_path, "sleep 1")
    with caplog.at_level(logging.INFO, logger="seqnn.mmseqs"), mmseqs._describing("about"):
        mmseqs._mmseqs(binary, "search", str(tmp_path / "qdb"), str(tmp_path / "tdb"), "-e", "10")
    lines = _lines(caplog, logging.INFO)
    assert lines[:2] == ["about", "mmseqs search qdb tdb -e 10"]
    assert lines[2].startswith("still running: mmseqs search, 0.")
    assert all(x.startswith("still running: mmseqs search, ") for x in lines[2:-1])
    assert lines[-1].startswith("mmseqs search: done in ")


def test_a_quick_step_logs_at_debug_only(tmp_path, caplog):
    binary = _fake(tmp_path, "exit 0")
    with caplog.at_level(logging.DEBUG, logger="seqnn.mmseqs"):
        mmseqs._mmseqs(binary, "createdb", "x.fa", str(tmp_path / "db"))
    assert _lines(caplog, logging.INFO) == []
    debug = _lines(caplog, logging.DEBUG)
    assert debug[0] == "mmseqs createdb x.fa db"
    assert debug[1].startswith("mmseqs createdb: done in ")


def test_a_failed_mmseqs_step_raises_with_its_output(tmp_path):
    binary = _fake(tmp_path, "echo 'first line'; echo 'Error: bad database' >&2; exit 3")
    with pytest.raises(RuntimeError) as info:
        mmseqs._mmseqs(binary, "createdb", "x.fa", "db")
    assert str(info.value) == "mmseqs createdb failed (exit 3):\nfirst line\nError: bad database"


def test_elapsed_reads_in_seconds_then_minutes():
    assert mmseqs._elapsed(4.26) == "4.3 s"
    assert mmseqs._elapsed(315.2) == "5 min 15 s"


def test_align_describes_its_sizes(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(mmseqs, "find_mmseqs", lambda: _fake(tmp_path, "exit 0"))
    with caplog.at_level(logging.DEBUG, logger="seqnn.mmseqs"), \
            pytest.raises(FileNotFoundError):  # the stand-in writes no alignments
        mmseqs.align(["MKV", "MKVL"], ["MKVLA"], tmp_path / "w", 2, 0.8, 10.0)
    assert _lines(caplog, logging.DEBUG)[0] == (
        "aligning 2 queries (7 residues) against 1 targets (5 residues): exhaustive search "
        "(35 DP cells), 2 thread(s)")
    assert getattr(mmseqs._about, "text", "") == ""
