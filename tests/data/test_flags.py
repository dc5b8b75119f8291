"""The biotrainer/FLIP validation flag: FASTA headers, tables, inspect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqnn.cli import main
from seqnn.config import ConfigError, dataset_from_dict, workflow_from_dict
from seqnn.data.flags import parse_flag
from seqnn.data.ingest import load_dataset
from seqnn.errors import SeqnnInputError

# the FLIP / biotrainer sequence_to_value format, with both spellings of the booleans
FLIP = (">S1 TARGET=0.1 SET=train VALIDATION=False\nACDEF\n"
        ">S2 TARGET=0.2 SET=train VALIDATION=True\nKLMNP\n"
        ">S3 TARGET=0.3 SET=train VALIDATION=true\nQRSTV\n"
        ">S4 TARGET=0.4 SET=train VALIDATION=0\nWYACD\n"
        ">S5 TARGET=0.5 SET=test VALIDATION=False\nEFGHI\n"
        ">S6 TARGET=0.6 SET=test\nGHIKL\n")


def _load(tmp_path: Path, text: str, **spec: object):
    fa = tmp_path / "flip.fa"
    fa.write_text(text)
    ds = dataset_from_dict("t", {"task": "regression", "inputs": [
        {"fasta": str(fa), "header_field": "TARGET", "split_field": "SET", **spec}]})
    return load_dataset(ds)[0]


@pytest.mark.parametrize("value, expected", [
    ("True", True), ("true", True), ("1", True), ("yes", True), ("TRUE", True),
    ("False", False), ("false", False), ("0", False), ("no", False), ("", False), (None, False),
])
def test_parse_flag_spellings(value, expected):
    assert parse_flag(value, "VALIDATION", "f.fa", "S1") is expected


def test_fasta_validation_flag_moves_train_to_valid(tmp_path: Path):
    df = _load(tmp_path, FLIP)
    assert df["split"].tolist() == ["train", "valid", "valid", "train", "test", "test"]


def test_fasta_without_validation_field_keeps_train(tmp_path: Path):
    text = "".join(line for line in FLIP.splitlines(keepends=True))
    text = text.replace(" VALIDATION=True", "").replace(" VALIDATION=true", "")
    df = _load(tmp_path, text)
    assert df["split"].tolist() == ["train"] * 4 + ["test"] * 2


def test_valid_field_null_switches_off_and_rename_works(tmp_path: Path):
    assert _load(tmp_path, FLIP, valid_field=None)["split"].tolist() == \
        ["train"] * 4 + ["test"] * 2
    renamed = FLIP.replace("VALIDATION=", "HOLDOUT=")
    df = _load(tmp_path, renamed, valid_field="holdout")
    assert df["split"].tolist() == ["train", "valid", "valid", "train", "test", "test"]


def test_workflow_schema_accepts_null_valid_field(tmp_path: Path):
    wf = workflow_from_dict({"datasets": {"d": {"task": "regression", "inputs": [
        {"fasta": "x.fa", "header_field": "TARGET", "split_field": "SET", "valid_field": None}]}},
        "models": {"mlp": {"model": "mlp"}}})
    assert wf.datasets["d"].inputs[0].valid_field is None
    with pytest.raises(ConfigError, match="valid_field"):
        workflow_from_dict({"datasets": {"d": {"task": "regression", "inputs": [
            {"fasta": "x.fa", "valid_field": 3}]}}, "models": {"mlp": {"model": "mlp"}}})


@pytest.mark.parametrize("bad, reason", [
    ("VALIDATION=maybe", "VALIDATION='maybe' is not a boolean"),
    ("VALIDATION=True", "VALIDATION is true on a test record"),
])
def test_bad_flag_is_one_line_naming_file_and_record(tmp_path: Path, bad: str, reason: str):
    text = FLIP.replace("SET=test VALIDATION=False", f"SET=test {bad}")
    with pytest.raises(SeqnnInputError, match="flip.fa, record 'S5': " + reason):
        _load(tmp_path, text)


def test_table_with_validation_column(tmp_path: Path):
    """FLIP's CSV layout: sequence,target,set,validation with an empty cell on test rows."""
    tab = tmp_path / "flip.csv"
    tab.write_text("sequence,target,set,validation\nACDEF,0.1,train,False\nKLMNP,0.2,train,True\n"
                   "QRSTV,0.3,train,1\nEFGHI,0.5,test,\n")
    spec = {"table": str(tab), "label_column": "target", "split_column": "set"}
    ds = dataset_from_dict("t", {"task": "regression", "inputs": [spec]})
    assert load_dataset(ds)[0]["split"].tolist() == ["train", "valid", "valid", "test"]
    ds = dataset_from_dict("t", {"task": "regression", "inputs": [{**spec, "valid_field": None}]})
    assert load_dataset(ds)[0]["split"].tolist() == ["train", "train", "train", "test"]
    tab.write_text("sequence,target,set,validation\nACDEF,0.1,train,perhaps\n")
    with pytest.raises(SeqnnInputError, match="record 'flip_1': validation='perhaps'"):
        load_dataset(dataset_from_dict("t", {"task": "regression", "inputs": [spec]}))


def test_label_table_with_validation_column(tmp_path: Path):
    fa = tmp_path / "x.fa"
    fa.write_text(">a\nACDEF\n>b\nKLMNP\n>c\nQRSTV\n")
    lab = tmp_path / "lab.tsv"
    lab.write_text("id\tlabel\tset\tVALIDATION\na\t1.0\ttrain\tno\nb\t2.0\ttrain\tyes\n"
                   "c\t3.0\ttest\t\n")
    ds = dataset_from_dict("t", {"task": "regression", "inputs": [
        {"fasta": str(fa), "labels": str(lab), "split_column": "set"}]})
    assert load_dataset(ds)[0]["split"].tolist() == ["train", "valid", "test"]


def test_inspect_counts_the_split_with_the_flag(tmp_path: Path):
    fa = tmp_path / "flip.fa"
    fa.write_text(FLIP)
    runner = CliRunner()
    res = runner.invoke(main, ["inspect", str(fa), "--header-field", "TARGET",
                               "--split-field", "SET", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["split_counts"] == {"train": 2, "valid": 2, "test": 2}
    res = runner.invoke(main, ["inspect", str(fa), "--split-field", "SET", "--valid-field", ""])
    assert res.exit_code == 0, res.output
    assert "train: 4, valid: 0, test: 2" in res.output and "carves" in res.output
    fa.write_text(FLIP.replace("VALIDATION=0", "VALIDATION=nope"))
    res = runner.invoke(main, ["inspect", str(fa), "--split-field", "SET"])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "record 'S4'" in res.output
