"""CLI exit codes and the ingest step (labels from files, tables, headers)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqnn.cli import main
from seqnn.config import ConfigError, dataset_from_dict
from seqnn.data.ingest import load_dataset
from seqnn.errors import SeqnnInputError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_version_and_help(runner: CliRunner) -> None:
    assert runner.invoke(main, ["--version"]).output.startswith("seqnn, version ")
    res = runner.invoke(main, ["--help"])
    assert res.exit_code == 0
    assert "inspect" in res.output and "encode" in res.output


def test_help_does_not_import_torch() -> None:
    code = "import sys; from seqnn.cli import main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_inspect_summary(runner: CliRunner, tmp_path: Path) -> None:
    fa = write(tmp_path / "a.fa", ">a\nACDu\n>b\nACD\n>c\nWWWWB\n")
    res = runner.invoke(main, ["inspect", str(fa), "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["records"] == 3
    assert s["length"]["min"] == 3 and s["length"]["max"] == 5
    assert s["substitutions"] == {"lowercase": 1, "U->C": 1, "B->X": 1}
    assert s["duplicate_sequence_groups"] == 0  # ACDC vs ACD differ


def test_inspect_bad_input_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    fa = write(tmp_path / "bad.fa", ">a\nAC-D\n")
    res = runner.invoke(main, ["inspect", str(fa)])
    assert res.exit_code == 2
    assert "bad.fa, record 'a': position 3: gap character" in res.output
    assert "Traceback" not in res.output


def test_strict_policy_error_one_line(tmp_path: Path) -> None:
    fa = write(tmp_path / "s.fa", ">p1\nACDU\n")
    res = subprocess.run([sys.executable, "-m", "seqnn", "inspect", "--policy", "strict",
                          str(fa)], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1
    assert "record 'p1': position 4" in res.stderr and "'U'" in res.stderr


def test_encode_writes_npz_and_no_partial_on_error(runner: CliRunner, tmp_path: Path) -> None:
    from seqnn.encode import load_encoded

    fa = tmp_path / "a.fa.gz"
    fa.write_bytes(gzip.compress(b">a\nACD\n>b\nW\n"))
    out = tmp_path / "o.npz"
    res = runner.invoke(main, ["encode", str(fa), "-o", str(out)])
    assert res.exit_code == 0, res.output
    ds = load_encoded(str(out))
    assert ds.tokens.tolist() == [1, 2, 3, 19] and ds.offsets.tolist() == [0, 3, 4]
    out2 = tmp_path / "o2.npz"
    res = runner.invoke(main, ["encode", str(fa), "-o", str(out2), "--max-len", "2"])
    assert res.exit_code == 2 and "record 'a': length 3 > --max-len 2" in res.output
    assert not out2.exists() and list(tmp_path.glob(".o2*")) == []


def _spec(**kw: object) -> dict:
    return {"task": "binary", **kw}


def test_ingest_constant_labels_and_given_split(tmp_path: Path) -> None:
    pos = write(tmp_path / "pos.fa", ">p1\nKKKK\n>p2\nKRKR\n")
    neg = write(tmp_path / "neg.fa", ">n1\nEEEE\n")
    ds = dataset_from_dict("t", _spec(inputs=[
        {"fasta": str(pos), "label": "AMP", "split": "tr"},
        {"fasta": str(neg), "label": "nonAMP", "split": "eval"},
    ]))
    df, rep = load_dataset(ds)
    assert df.to_dict("list") == {
        "id": ["p1", "p2", "n1"], "sequence": ["KKKK", "KRKR", "EEEE"],
        "label": ["AMP", "AMP", "nonAMP"], "source": ["pos.fa", "pos.fa", "neg.fa"],
        "split": ["train", "train", "valid"],
    }
    assert rep.per_source == {"pos.fa": 2, "neg.fa": 1}


def test_ingest_labels_from_table_missing_label(tmp_path: Path) -> None:
    fa = write(tmp_path / "x.fa", ">a\nACD\n>b\nKLM\n>c\nWWW\n")
    lab = write(tmp_path / "lab.tsv", "name\tclass\na\tx\nb\ty\nzz\tx\n")
    spec = _spec(inputs=[{"fasta": str(fa), "labels": str(lab), "id_column": "name",
                          "label_column": "class"}])
    with pytest.raises(SeqnnInputError, match=r"record 'c': no label in .*lab.tsv"):
        load_dataset(dataset_from_dict("t", spec))


def test_ingest_labels_from_table_warns_unused(tmp_path: Path) -> None:
    fa = write(tmp_path / "x.fa", ">a\nACD\n>b\nKLM\n")
    lab = write(tmp_path / "lab.csv", "id,label\na,x\nb,y\nzz,x\n")
    ds = dataset_from_dict("t", _spec(inputs=[{"fasta": str(fa), "labels": str(lab)}]))
    with pytest.warns(UserWarning, match="1 label"):
        df, _ = load_dataset(ds)
    assert df["label"].tolist() == ["x", "y"]


def test_ingest_key_value_headers_regression(tmp_path: Path) -> None:
    fa = write(tmp_path / "h.fa", ">P1 TARGET=0.83 SET=train VALIDATION=False\nACDE\n"
                                  ">P2 TARGET=1.5 SET=test VALIDATION=False\nKLMN\n")
    ds = dataset_from_dict("t", {"task": "regression", "inputs": [
        {"fasta": str(fa), "header_field": "TARGET", "split_field": "SET"}]})
    df, _ = load_dataset(ds)
    assert df["label"].tolist() == [0.83, 1.5]
    assert df["split"].tolist() == ["train", "test"]


def test_ingest_regression_label_not_number(tmp_path: Path) -> None:
    fa = write(tmp_path / "h.fa", ">P1 TARGET=high\nACDE\n>P2 TARGET=1\nKLMN\n")
    ds = dataset_from_dict("t", {"task": "regression", "inputs": [
        {"fasta": str(fa), "header_field": "TARGET"}]})
    with pytest.raises(SeqnnInputError, match=r"record 'P1': label 'high' is not a number"):
        load_dataset(ds)


def test_ingest_table_with_sequence_column(tmp_path: Path) -> None:
    tab = write(tmp_path / "t.csv", "sequence,target,set\nACDE,0.5,train\nKLMN,0.7,valid\n")
    ds = dataset_from_dict("t", {"task": "regression", "inputs": [
        {"table": str(tab), "label_column": "target", "split_column": "set"}]})
    df, _ = load_dataset(ds)
    assert df["id"].tolist() == ["t_1", "t_2"]
    assert df["split"].tolist() == ["train", "valid"]


def test_ingest_header_regex_and_duplicates(tmp_path: Path) -> None:
    fa = write(tmp_path / "r.fa", ">a|pos\nACDE\n>b|neg\nACDE\n>c|neg\nKLMN\n>d|pos\nKLMN\n"
                                  ">e|pos\nWWWW\n")
    spec = _spec(inputs=[{"fasta": str(fa), "header_regex": r"\|(\w+)$"}], drop_duplicates=True)
    df, rep = load_dataset(dataset_from_dict("t", spec))
    assert rep.duplicate_groups == 2 and rep.conflicting_groups == 2
    assert df["id"].tolist() == ["e|pos"]
    assert rep.duplicate_rows_dropped == 4


def test_ingest_id_across_files(tmp_path: Path) -> None:
    a = write(tmp_path / "a.fa", ">x\nACDE\n")
    b = write(tmp_path / "b.fa", ">x\nKLMN\n")
    ds = dataset_from_dict("t", _spec(inputs=[{"fasta": str(a), "label": "p"},
                                              {"fasta": str(b), "label": "n"}]))
    with pytest.raises(SeqnnInputError, match="record 'x': the same id appears"):
        load_dataset(ds)


def test_config_unknown_key() -> None:
    with pytest.raises(ConfigError, match=r"datasets.t.inputs\[0\]: unknown key\(s\) lable"):
        dataset_from_dict("t", _spec(inputs=[{"fasta": "x.fa", "lable": "p"}]))


def test_cli_ingest_spec(runner: CliRunner, tmp_path: Path) -> None:
    fa = write(tmp_path / "p.fa", ">a\nACDE\n>b\nKLMN\n")
    lab = write(tmp_path / "l.tsv", "id\tlabel\na\tx\nb\ty\n")
    spec = json.dumps(_spec(inputs=[{"fasta": str(fa), "labels": str(lab)}]))
    out = tmp_path / "seqs.tsv"
    res = runner.invoke(main, ["ingest", "--spec", spec, "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out, sep="\t").columns.tolist() == ["id", "sequence", "label", "source"]
    res = runner.invoke(main, ["ingest", "--spec", '{"task": "binary"}', "-o", str(out)])
    assert res.exit_code == 2 and "'inputs' must list" in res.output


def test_cli_split_with_folds_and_audit_without_mmseqs(runner: CliRunner, tmp_path: Path) -> None:
    seqs = tmp_path / "seqs.tsv"
    seqs.write_text("id\tsequence\tlabel\tsource\n" + "\n".join(
        f"s{i}\t{'ACDEFGHIKL'[i % 10] * 5}KLMW{'Y' * (i % 7)}\t{'ab'[i % 2]}\tx"
        for i in range(40)) + "\n")
    out = tmp_path / "splits.tsv"
    res = runner.invoke(main, ["split", str(seqs), "--method", "stratified", "--task", "binary",
                               "--fractions", "0.5,0.25,0.25", "--folds", "4", "-o", str(out),
                               "--summary", str(tmp_path / "s.json")])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, sep="\t")
    assert table.columns.tolist() == ["id", "split", "cluster", "fold"]
    assert table["split"].value_counts().to_dict() == {"train": 20, "valid": 10, "test": 10}
    assert sorted(table["fold"].value_counts().tolist()) == [10, 10, 10, 10]
    audit = tmp_path / "audit.json"
    res = runner.invoke(main, ["audit", str(seqs), str(out), "--no-mmseqs", "-o", str(audit)])
    assert res.exit_code == 0, res.output
    assert json.loads(audit.read_text())["duplicates"]["n_across_splits"] == 0


def test_encode_class_order_and_unknown_class(runner: CliRunner, tmp_path: Path) -> None:
    from seqnn.encode import load_encoded

    seqs = tmp_path / "s.tsv"
    seqs.write_text("id\tsequence\tlabel\tsource\na\tACD\tAMP\tx\nb\tKLM\tnonAMP\tx\n")
    out = tmp_path / "e.npz"
    res = runner.invoke(main, ["encode", str(seqs), "--task", "binary", "--classes",
                               "nonAMP,AMP", "-o", str(out)])
    assert res.exit_code == 0, res.output
    ds = load_encoded(str(out))
    assert ds.class_names == ["nonAMP", "AMP"] and ds.labels.tolist() == [1, 0]
    res = runner.invoke(main, ["encode", str(seqs), "--task", "binary", "--classes",
                               "neg,AMP", "-o", str(tmp_path / "f.npz")])
    assert res.exit_code == 2 and "labels ['nonAMP'] are not among the class names" in res.output


@pytest.mark.parametrize("table, task, classes, reason", [
    ("id\tsequence\na\tACD\n", "binary", None,
     "missing column(s) label; columns are id, sequence"),
    ("id\tsequence\tlabel\na\tACD\t1.5\nb\tKLM\tnan\n", "regression", None,
     "record 'b': label 'nan' is not a number (task regression)"),
    ("id\tsequence\tlabel\na\tACD\tinf\nb\tKLM\t2\n", "regression", None,
     "record 'a': label 'inf' is not a number (task regression)"),
    ("id\tsequence\tlabel\na\tACD\t1e300\nb\tKLM\t2\n", "regression", None,
     "record 'a': label '1e300' is out of range (task regression)"),
    ("id\tsequence\tlabel\na\tACD\tpos\nb\tKLM\tpos\n", "binary", None,
     "task binary needs at least 2 classes in the table, found 1"),
    ("id\tsequence\tlabel\na\tACD\tpos\nb\tKLM\tpos\n", "binary", "neg,pos",
     "task binary needs at least 2 classes in the table, found 1"),
    ("id\tsequence\tlabel\na\tACD\tpos\nb\tKLM\tneg\n", "binary", "neg,pos,other",
     "task binary needs exactly 2 class names, got 3"),
    ("id\tsequence\tlabel\na\tACD\tpos\nb\tKLM\tpos\n", "multiclass", "pos,pos",
     "class names must be distinct and non-empty"),
])
def test_encode_from_a_table_checks_labels(runner: CliRunner, tmp_path: Path, table: str,
                                           task: str, classes: str | None,
                                           reason: str) -> None:
    """The label checks of ingest and train: one line naming the file, exit 2, no output."""
    seqs = tmp_path / "s.tsv"
    seqs.write_text(table)
    res = runner.invoke(main, ["encode", str(seqs), "--task", task, "-o", str(tmp_path / "e.npz"),
                               *(["--classes", classes] if classes else [])])
    assert res.exit_code == 2, res.output
    assert res.output.startswith(f"seqnn: error: {seqs}") and reason in res.output
    assert res.output.count("\n") == 1 and sorted(os.listdir(tmp_path)) == ["s.tsv"]


def test_train_takes_one_model_of_a_workflow_config(runner: CliRunner, tmp_path: Path) -> None:
    seqs = ["KKKKAAGG", "AAGGLLVV", "KKKKLLAA", "GGAAVVLL"] * 4
    pd.DataFrame({"id": [f"s{i}" for i in range(16)], "sequence": seqs,
                  "label": ["pos", "neg"] * 8}).to_csv(tmp_path / "seqs.tsv", sep="\t",
                                                       index=False)
    pd.DataFrame({"id": [f"s{i}" for i in range(16)], "split": ["train"] * 12 + ["valid"] * 4}
                 ).to_csv(tmp_path / "splits.tsv", sep="\t", index=False)
    write(tmp_path / "wf.yaml", "models:\n"
          "  small: {model: mlp, params: {hidden: [4]}, train: {epochs: 1, batch_size: 4}}\n"
          "  big: {model: mlp, params: {hidden: [8]}, train: {epochs: 1, batch_size: 4}}\n")
    args = ["train", str(tmp_path / "seqs.tsv"), str(tmp_path / "splits.tsv"), "--task",
            "binary", "--config", str(tmp_path / "wf.yaml"), "--quiet", "--device", "cpu"]
    res = runner.invoke(main, [*args, "--out", str(tmp_path / "none")])
    assert res.exit_code == 2
    assert res.output.strip().endswith("give --name, one of the config's models: small, big")
    res = runner.invoke(main, [*args, "--name", "big", "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["params"]["hidden"] == [8] and meta["name"] == "big"


def _tiny_train_files(tmp_path: Path) -> list[str]:
    """A 16-sequence binary table and its split table, as ``seqnn train`` arguments."""
    ids = [f"s{i}" for i in range(16)]
    pd.DataFrame({"id": ids, "sequence": ["KKKKAAGG", "AAGGLLVV", "KKKKLLAA", "GGAAVVLL"] * 4,
                  "label": ["pos", "neg"] * 8}).to_csv(tmp_path / "seqs.tsv", sep="\t",
                                                       index=False)
    pd.DataFrame({"id": ids, "split": ["train"] * 12 + ["valid"] * 4}).to_csv(
        tmp_path / "splits.tsv", sep="\t", index=False)
    return ["train", str(tmp_path / "seqs.tsv"), str(tmp_path / "splits.tsv"), "--task",
            "binary", "--quiet", "--device", "cpu"]


@pytest.mark.parametrize(("train", "options", "expected"), [
    ({}, [], 1000),  # the one default
    ({}, ["--max-len", "7"], 7),  # the dataset's max_len
    ({"max_len": 5}, ["--max-len", "7"], 5),  # a model's own train.max_len wins
    ({"max_len": 5}, [], 5),
])
def test_train_max_len_precedence(runner: CliRunner, tmp_path: Path, train: dict,
                                  options: list[str], expected: int) -> None:
    spec = {"model": "mlp", "params": {"hidden": [4]}, "train": {"epochs": 1, **train}}
    res = runner.invoke(main, [*_tiny_train_files(tmp_path), "--spec", json.dumps(spec),
                               *options, "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "m" / "model.json").read_text())["max_len"] == expected


@pytest.mark.parametrize(("train", "options", "message"), [
    ({"epochz": 1}, [], "models.mlp.train: unknown training setting(s) epochz"),
    ({"epochs": "two"}, [], "models.mlp.train: epochs: invalid value 'two' (str)"),
    ({"optimizer": "rmsprop"}, [],
     "models.mlp.train: optimizer must be one of adam, adamw, sgd, got 'rmsprop'"),
    ({}, ["--epochs", "0"], "train options: epochs must be >= 1, got 0"),
])
def test_train_bad_setting_is_one_line_naming_the_key(runner: CliRunner, tmp_path: Path,
                                                      train: dict, options: list[str],
                                                      message: str) -> None:
    spec = {"model": "mlp", "params": {"hidden": [4]}, "train": train}
    res = runner.invoke(main, [*_tiny_train_files(tmp_path), "--spec", json.dumps(spec),
                               *options, "--out", str(tmp_path / "m")])
    assert res.exit_code == 2
    assert res.output.strip() == f"seqnn: error: {message}"
    assert not (tmp_path / "m").exists()


def test_train_bad_model_parameter_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(main, [*_tiny_train_files(tmp_path), "--model", "cnn", "--params",
                               '{"channels": []}', "--out", str(tmp_path / "m")])
    assert res.exit_code == 2
    assert res.output.strip() == ("seqnn: error: model 'cnn': cnn needs at least one conv layer "
                                  "in channels")


def test_train_ensemble_then_predict_with_it(runner: CliRunner, tmp_path: Path) -> None:
    seqs = ["KKKKAAGG", "AAGGLLVV", "KKKKLLAA", "GGAAVVLL"] * 4
    ids = [f"s{i}" for i in range(16)]
    pd.DataFrame({"id": ids, "sequence": seqs, "label": ["pos", "neg"] * 8}).to_csv(
        tmp_path / "seqs.tsv", sep="\t", index=False)
    pd.DataFrame({"id": ids, "split": ["train"] * 12 + ["valid"] * 4}).to_csv(
        tmp_path / "splits.tsv", sep="\t", index=False)
    res = runner.invoke(main, [
        "train", str(tmp_path / "seqs.tsv"), str(tmp_path / "splits.tsv"), "--task", "binary",
        "--model", "mlp", "--params", '{"hidden": [4]}', "--epochs", "2", "--ensemble", "2",
        "--seed", "7", "--quiet", "--device", "cpu", "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert (meta["ensemble"], meta["ensemble_seeds"]) == (2, [7, 8])
    assert sorted(p.name for p in (tmp_path / "m" / "members").iterdir()) == ["0", "1"]
    write(tmp_path / "new.fa", ">a\nKKKKAAGG\n>b\nGGAAVVLL\n")
    res = runner.invoke(main, ["predict", str(tmp_path / "m"), str(tmp_path / "new.fa"),
                               "-o", str(tmp_path / "p.tsv"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    ref = pd.read_csv(tmp_path / "m" / "predictions.tsv", sep="\t").set_index("id")
    from seqnn.calibration import scale  # predict applies the ensemble's own temperature

    probs = ref.loc[["s0", "s3"], ["p_neg", "p_pos"]].to_numpy()
    np.testing.assert_allclose(got["p_pos"], scale(probs, meta["temperature"])[:, 1],
                               rtol=5e-4, atol=1e-5)  # predict writes 4 significant digits
    res = runner.invoke(main, ["embed", str(tmp_path / "m"), str(tmp_path / "new.fa"),
                               "-o", str(tmp_path / "e.tsv"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / "e.tsv", sep="\t").shape == (2, 1 + 2 * 4)


# ----------------------------------------------------------------------------- outputs


def test_output_onto_an_input_is_refused_before_anything_runs(runner: CliRunner,
                                                              tmp_path: Path) -> None:
    fa = write(tmp_path / "in.fa", ">a\nMKVL\n")
    seqs = write(tmp_path / "s.tsv", "id\tsequence\tlabel\na\tMKV\tx\n")
    splits = write(tmp_path / "sp.tsv", "id\tsplit\na\ttrain\n")
    cases = [["encode", fa, "-o", fa], ["inspect", fa, "-o", fa],
             ["split", seqs, "--method", "random", "-o", tmp_path / "x.tsv", "--summary", seqs],
             ["audit", seqs, splits, "--no-mmseqs", "-o", splits],
             ["baselines", seqs, splits, "--task", "binary", "-o", seqs],
             ["ingest", "--spec", json.dumps({"task": "binary", "inputs": [
                 {"fasta": str(fa), "label": "x"}]}), "-o", fa]]
    for args in cases:
        res = runner.invoke(main, [str(a) for a in args])
        assert res.exit_code == 2, (args, res.output)
        err = [ln for ln in res.output.splitlines() if ln.startswith("seqnn: error:")]
        assert len(err) == 1 and "is the same file as the input" in err[0], res.output
    assert fa.read_text() == ">a\nMKVL\n"
    assert seqs.read_text() == "id\tsequence\tlabel\na\tMKV\tx\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa", "s.tsv", "sp.tsv"]


def test_dash_output_is_stdout_or_refused(runner: CliRunner, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fa = write(tmp_path / "in.fa", ">a\nMKVL\n")
    res = runner.invoke(main, ["inspect", str(fa), "--json", "-o", "-"])
    assert res.exit_code == 0 and json.loads(res.output)["records"] == 1
    res = runner.invoke(main, ["inspect", str(fa), "--json", "-o", "s.json"])
    assert res.exit_code == 0 and json.loads((tmp_path / "s.json").read_text())["records"] == 1
    res = runner.invoke(main, ["encode", str(fa), "-o", "-"])
    assert res.exit_code == 2
    assert res.output.startswith("seqnn: error: -: cannot write this output to standard output")
    assert not (tmp_path / "-").exists()


def test_unwritable_output_path_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    fa = write(tmp_path / "in.fa", ">a\nMKVL\n")
    res = runner.invoke(main, ["encode", str(fa), "-o", str(fa / "x.npz")])  # under a file
    assert res.exit_code == 2
    assert res.output.splitlines()[-1].startswith(f"seqnn: error: {fa / 'x.npz'}: cannot write (")
    assert "Traceback" not in res.output


def test_sigterm_during_a_write_leaves_no_temporary_file(runner: CliRunner, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    fa = write(tmp_path / "in.fa", ">a\nMKVL\n")

    def killed_while_writing(fh, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        fh.write(b"partial")
        assert list(tmp_path.glob(".out.npz.*.tmp"))  # the temporary file exists now
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr("seqnn.data.store.np.lib.format.write_array", killed_while_writing)
    before = signal.getsignal(signal.SIGTERM)
    res = runner.invoke(main, ["encode", str(fa), "-o", str(tmp_path / "out.npz")])
    assert res.exit_code == 143
    assert res.output.strip().splitlines()[-1] == "seqnn: terminated"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa"]
    assert signal.getsignal(signal.SIGTERM) is before


# ----------------------------------------------------------------------------- conventions

def test_bare_seqnn_prints_help_and_exits_0(runner: CliRunner) -> None:
    res = runner.invoke(main, [])
    assert res.exit_code == 0
    assert res.output.startswith("Usage:") and "Commands:" in res.output


def test_version_is_the_package_version(runner: CliRunner) -> None:
    from seqnn import __version__

    res = runner.invoke(main, ["--version"])
    assert (res.exit_code, res.output) == (0, f"seqnn, version {__version__}\n")


def _help_records(name: str) -> dict[str, tuple[object, str]]:
    """``{option name: (default, help text)}`` of one command, as ``--help`` shows them."""
    import click

    cmd = main.commands[name]
    parent = click.Context(main, info_name="seqnn", show_default=True)
    ctx = click.Context(cmd, info_name=name, parent=parent)
    return {p.name: (p.get_default(ctx, call=False), p.get_help_record(ctx)[1])
            for p in cmd.params if isinstance(p, click.Option)}


def test_every_default_is_shown_in_help() -> None:
    for name in main.commands:
        for opt, (default, text) in _help_records(name).items():
            unset = default is None or type(default).__name__ == "Sentinel"  # click's UNSET
            if not unset and default not in (False, ()) and opt != "help":
                assert "default:" in text, f"seqnn {name} --{opt}: default not shown"


def test_device_choices_are_the_same_everywhere(runner: CliRunner, tmp_path: Path) -> None:
    for name in ("train", "predict", "embed"):
        assert "auto|cpu|cuda|cuda:N|mps" in runner.invoke(main, [name, "--help"]).output
    from seqnn.cli.options import DEVICE

    assert [DEVICE.convert(d, None, None) for d in ("auto", "cpu", "cuda", "cuda:1", "mps")] \
        == ["auto", "cpu", "cuda", "cuda:1", "mps"]
    for name in ("predict", "embed"):
        res = runner.invoke(main, [name, str(tmp_path), "x.fa", "--device", "gpu"])
        assert res.exit_code == 2
        assert "'gpu' is not one of auto, cpu, cuda, cuda:N, mps" in res.output


def test_option_spellings_train_o_and_embed_stdout_default() -> None:
    train_out = next(p for p in main.commands["train"].params if p.name == "out")
    assert train_out.opts == ["-o", "--out"]
    default, text = _help_records("embed")["out"]
    assert default == "-" and "standard output" in text and "default: -" in text


def test_numbers_are_printed_to_4_significant_digits() -> None:
    from seqnn.cli.options import fmt

    assert fmt(0.5909090909090909) == "0.5909"
    assert fmt(1234.4) == "1234"
    assert fmt(-0.000123456) == "-0.0001235"
    assert (fmt(3), fmt(None), fmt(True)) == ("3", "None", "True")


def test_inspect_takes_several_files(runner: CliRunner, tmp_path: Path) -> None:
    a = write(tmp_path / "a.fa", ">a\nACDE\n>b\nKK\n")
    b = write(tmp_path / "b.fa", ">c\nWWW\n")
    res = runner.invoke(main, ["inspect", str(a), str(b), "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    assert [(s["file"], s["records"]) for s in got] == [(str(a), 2), (str(b), 1)]
    one = json.loads(runner.invoke(main, ["inspect", str(b), "--json"]).output)
    assert one["records"] == 1  # one file: one summary object, as before
    text = runner.invoke(main, ["inspect", str(a), str(b)]).output
    assert text.count("records ") == 2 and f"file        {b}" in text


# ----------------------------------------------------------------------------- seqnn models

def test_models_lists_every_model_with_a_description(runner: CliRunner) -> None:
    from seqnn.models import list_models

    res = runner.invoke(main, ["models"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    for name in list_models():
        line = next(ln for ln in lines if ln.split()[:1] == [name])
        assert len(line.split()) > 3  # name plus a description
    got = json.loads(runner.invoke(main, ["models", "--json"]).output)
    assert sorted(got["models"]) == sorted(list_models())


def test_models_name_shows_params_and_training_settings(runner: CliRunner) -> None:
    res = runner.invoke(main, ["models", "cnn"])
    assert res.exit_code == 0, res.output
    assert '  pool = "max"  (str; one of max, mean, meanmax, attention)  global pooling' \
        in res.output
    assert "  patience = 10  (int)  early stopping" in res.output
    data = json.loads(runner.invoke(main, ["models", "rnn", "--json"]).output)
    assert data["params"]["cell"] == {"type": "str", "default": "lstm",
                                      "choices": ["lstm", "gru"], "help": "recurrent cell"}
    assert data["train"]["truncate"]["default"] == "ends"
    res = runner.invoke(main, ["models", "transformer"])
    assert res.exit_code == 2
    assert res.output == ("seqnn: error: unknown model 'transformer'; known: mlp, cnn, rnn, "
                          "autoencoder, vae, gan\n")


def test_model_catalog_matches_the_registry_and_train_config() -> None:
    """The torch-free table `seqnn models` prints describes exactly what the registry builds."""
    from dataclasses import fields

    from seqnn.catalog import MODELS, TRAIN_SETTINGS
    from seqnn.config import TrainConfig
    from seqnn.models import list_models, model_params

    assert sorted(MODELS) == sorted(list_models())
    for name in list_models():
        params = MODELS[name][1]
        assert {k: p.default for k, p in params.items()} == model_params(name), name
        assert all(p.help and p.type for p in params.values())
    from seqnn import catalog
    from seqnn.models import layers

    assert (catalog.ACTIVATIONS, catalog.INPUTS, catalog.POOLS) == (
        layers.ACTIVATIONS, layers.INPUTS, layers.POOLS)
    defaults = TrainConfig()
    assert list(TRAIN_SETTINGS) == [f.name for f in fields(TrainConfig)]
    for key, p in TRAIN_SETTINGS.items():
        assert p.default == getattr(defaults, key), key


def test_models_does_not_import_torch() -> None:
    code = ("import sys; from click.testing import CliRunner; from seqnn.cli import main; "
            "CliRunner().invoke(main, ['models', 'cnn']); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_max_record_option_overrides_the_environment(runner: CliRunner, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from seqnn.data.fasta import MAX_RECORD

    for command in ("inspect", "encode", "ingest", "predict", "embed"):
        out = " ".join(runner.invoke(main, [command, "--help"]).output.split())
        assert f"--max-record N Refuse a FASTA record longer than N residues (read in bounded " \
               f"memory) [default: {MAX_RECORD}, or $SEQNN_MAX_RECORD]." in out, command
    fa = write(tmp_path / "p.fa", ">a\nACDEF\n>b\nKLMN\n")
    spec = json.dumps({"task": "unsupervised", "inputs": [{"fasta": str(fa)}]})
    commands = {"inspect": ["inspect", str(fa), "-o", str(tmp_path / "i.txt")],
                "encode": ["encode", str(fa), "-o", str(tmp_path / "e.npz")],
                "ingest": ["ingest", "--spec", spec, "-o", str(tmp_path / "s.tsv")]}
    monkeypatch.setenv("SEQNN_MAX_RECORD", "4")
    for args in commands.values():
        res = runner.invoke(main, args)
        assert res.exit_code == 2 and res.output == (
            f"seqnn: error: {fa}, record 'a': record longer than the limit of 4 residues "
            "(raise it with --max-record or SEQNN_MAX_RECORD)\n"), args
        assert runner.invoke(main, [*args, "--max-record", "5"]).exit_code == 0, args
    monkeypatch.delenv("SEQNN_MAX_RECORD")
    res = runner.invoke(main, [*commands["inspect"], "--max-record", "4"])
    assert res.exit_code == 2 and "limit of 4 residues" in res.output
    assert runner.invoke(main, [*commands["encode"], "--max-record", "0"]).exit_code == 2
