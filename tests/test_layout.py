"""The package's house plan: user errors under one base, the file names of a results
folder in one place, the public faces, torch-free settings, one JSON reader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import seqnn
from seqnn import errors, layout
from seqnn.cli import main
from seqnn.data.files import read_json

PACKAGE = Path(seqnn.__file__).parent
COMMANDS = {"audit", "baselines", "check", "check-generated", "embed", "encode", "evaluate",
            "explain", "generate", "ingest", "inspect", "models", "predict", "prepare", "report",
            "report-generation", "report-index", "run", "split", "train"}


@pytest.mark.parametrize(("cls", "base"), [
    (errors.SeqnnInputError, ValueError), (errors.PolicyError, ValueError),
    (errors.ConfigError, ValueError), (errors.CheckpointError, ValueError),
    (errors.MMseqsNotFound, RuntimeError), (errors.TrainingError, RuntimeError),
])
def test_every_user_error_has_the_one_base_and_keeps_its_builtin_base(cls: type,
                                                                      base: type) -> None:
    assert issubclass(cls, errors.SeqnnError) and issubclass(cls, base)


def test_the_cli_reports_any_seqnn_error_in_one_line_with_exit_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["predict", str(tmp_path / "nope"), "-"], input=">a\nACD\n")
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        f"seqnn: error: {tmp_path / 'nope'}: model directory does not exist"]


def test_help_lists_the_same_commands() -> None:
    assert set(main.commands) == COMMANDS
    out = CliRunner().invoke(main, ["--help"]).output
    assert all(f"  {c} " in out for c in COMMANDS)


def test_layout_lists_every_name_in_its_docstring() -> None:
    names = [n for n in dir(layout) if n.isupper()]
    assert len(names) == 30
    for name in names:
        value = getattr(layout, name)
        assert f":data:`{name}`" in layout.__doc__ and f"``{value}" in layout.__doc__, name
    assert len({getattr(layout, n) for n in names}) == len(names)  # no name used twice
    assert layout.member_dir("out", 2) == Path("out/members/2")
    assert layout.model_dir("r/ds", "cnn") == Path("r/ds/models/cnn")


def test_public_faces_keep_their_names() -> None:
    from seqnn.data import read_fasta
    from seqnn.encode import OneHotEncoder, one_hot, tokenize
    from seqnn.predict import Predictor, load
    from seqnn.train import TrainConfig, train_model

    assert seqnn.__version__ == "0.1.0" and callable(seqnn.load)
    assert TrainConfig().max_len == 1000 and OneHotEncoder().max_len is None
    assert all(callable(f) for f in (read_fasta, one_hot, tokenize, load, train_model))
    assert Predictor.__module__ == "seqnn.inference.predictor"


@pytest.mark.parametrize("module", ["seqnn.config", "seqnn.report.page", "seqnn.checks.verdict",
                                    "seqnn.split.stage", "seqnn.data.ingest", "seqnn.train"])
def test_settings_files_and_report_modules_start_without_torch(module: str) -> None:
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ("True" if module == "seqnn.train" else "False")


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_read_json_tolerant_for_the_report_strict_for_the_checks(tmp_path: Path) -> None:
    bad, listed = tmp_path / "bad.json", tmp_path / "list.json"
    bad.write_text("{not json")
    listed.write_text("[1, 2]")
    assert read_json(tmp_path / "missing.json") is None
    assert read_json(bad) is None and read_json(listed) is None
    assert read_json(tmp_path / "missing.json", strict=True) is None
    assert read_json(listed, strict=True) == [1, 2]
    with pytest.raises(ValueError):
        read_json(bad, strict=True)
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "missing.json", strict=True, missing_ok=False)
