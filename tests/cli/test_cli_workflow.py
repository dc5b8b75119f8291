"""``seqnn run``: the workflow on a config that seqnn reads and checks before Snakemake does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_workflow import TINY_CONFIG, write_tiny_data

REPO = Path(__file__).resolve().parents[2]
SEQNN = [sys.executable, "-m", "seqnn"]


def seqnn_run(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([*SEQNN, "run", *args], cwd=work, capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "my proteins").mkdir()
    write_tiny_data(tmp_path / "my proteins")
    (tmp_path / "tiny.yaml").write_text(TINY_CONFIG)
    return tmp_path


def test_dry_run_of_the_tiny_config(work: Path) -> None:
    res = seqnn_run(work, "tiny.yaml", "--cores", "1", "--", "-n")
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout + res.stderr
    assert re.search(r"^train +3$", out, re.M) and re.search(r"^total +21$", out, re.M), out
    assert "my results/tiny/models/cnn" in out  # the config seqnn checked is the one that ran
    assert not (work / "my results").exists()  # a dry run writes no output
    assert list((work / ".snakemake" / "seqnn-run").iterdir()) == []  # the temp JSON is gone


@pytest.mark.parametrize("where", ["top", "nested"])
def test_a_yte_template_is_refused_before_snakemake(work: Path, where: str) -> None:
    """yte would evaluate ``?...`` as Python; seqnn run refuses the config in one line and
    Snakemake never starts (the marker file is not created)."""
    marker = work / "pwned"
    template = f'?__import__("pathlib").Path("{marker}").touch()'
    if where == "top":
        text = f"__use_yte__: true\nresults: '{template}'\n" + TINY_CONFIG
    else:
        text = TINY_CONFIG.replace("threads: 1", "threads: 1\nnote: {__use_yte__: true}")
    (work / "yte.yaml").write_text(text)
    res = seqnn_run(work, "yte.yaml", "--", "-n")
    assert res.returncode == 2, res.stderr
    assert res.stderr == ("seqnn: error: yte.yaml: __use_yte__ (a yte template, evaluated as "
                          "Python) is not allowed in a config run by seqnn run\n")
    assert not marker.exists() and not (work / ".snakemake").exists()


def test_an_unsafe_name_is_refused_in_one_line(work: Path) -> None:
    (work / "bad.yaml").write_text(TINY_CONFIG.replace("  tiny:", "  $(touch pwned):"))
    res = seqnn_run(work, "bad.yaml", "--", "-n")
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("seqnn: error: ") and "datasets" in res.stderr
    assert not (work / "pwned").exists()


def test_a_bad_cores_value_and_a_missing_config(work: Path) -> None:
    res = seqnn_run(work, "tiny.yaml", "--cores", "0")
    assert res.returncode == 2 and "'0' is not a positive number or 'all'" in res.stderr
    res = seqnn_run(work, "nowhere.yaml")
    assert res.returncode == 2
    assert res.stderr == "seqnn: error: nowhere.yaml: config file not found\n"
