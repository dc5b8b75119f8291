"""The workflow's rules run ``seqnn`` with the working folder off Python's import path: a
module planted in the folder a run starts from (``click.py``, ``numpy.py`` ...) is never
imported, although ``python -m`` alone would import it first."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from seqnn.workflow import seqnn_command


def test_a_module_planted_in_the_working_folder_is_not_imported(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "click.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    command = f"{seqnn_command(sys.executable, {'model': 'cnn'})} --version"
    done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    # the same command without the prefix would have run it: the test can fail
    bare = f"{shlex.quote(sys.executable)} -m seqnn --version"
    subprocess.run(bare, shell=True, cwd=tmp_path, capture_output=True, timeout=120)
    assert marker.exists()
