"""Labels outside ``classes`` and records without a label: refused with every label counted
(``unknown_labels`` / ``missing_labels: error``) or dropped and counted (``drop``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from seqnn.cli.main import main
from seqnn.config import dataset_from_dict, validate_schema
from seqnn.data.ingest import write_dataset
from seqnn.data.inspect import inspect_fasta
from seqnn.data.labelfilter import compile_header_regex, regex_labels
from seqnn.errors import ConfigError, SeqnnInputError

# light-attention style headers: ">ID Class-M test"
RECORDS = [("P1", "Cytoplasm-M"), ("P2", "Nucleus-S"), ("P3", "Cytoplasm-Nucleus-U"),
           ("P4", "Nucleus-M"), ("P5", "Cytoplasm-S"), ("P6", "Cytoplasm-Nucleus-M"),
           ("P7", "Golgi-U"), ("P8", "Nucleus-S"), ("P9", "Cytoplasm-M")]
SEQS = ["MKTAYIAKQRQISFVKSHFS", "MKTLLLTLVVVTIVCLDLGY", "MSTNPKPQRKTKRNTNRRPQ",
        "MADEEKLPPGWEKRMSRSSG", "MGSSHHHHHHSSGLVPRGSH", "MKVLAAGIVGLLLAAQPAMA",
        "MQIFVKTLTGKTITLEVEPS", "MHHHHHHGSDKIIHLTDDSF", "MSKGEELFTGVVPILVELDG"]
REGEX = r"^\S+ (.+)-[MSU] "


def _fasta(tmp_path: Path, records=RECORDS, extra: str = "") -> Path:
    path = tmp_path / "loc.fa"
    path.write_text("".join(f">{rid} {lab} test\n{seq}\n"
                            for (rid, lab), seq in zip(records, SEQS, strict=False)) + extra)
    return path


def _ds(tmp_path: Path, **over):
    block = {"task": "multiclass", "classes": ["Cytoplasm", "Nucleus"],
             "inputs": [{"fasta": str(_fasta(tmp_path)), "header_regex": REGEX}], **over}
    return dataset_from_dict("loc", block)


def test_unknown_labels_error_names_every_label_with_counts(tmp_path):
    out = tmp_path / "sequences.tsv"
    with pytest.raises(SeqnnInputError) as info:
        write_dataset(_ds(tmp_path), out, chunk_size=2)  # counts span chunks
    err = info.value
    assert (Path(err.file).name, err.record) == ("loc.fa", "P3")
    assert err.reason == ("3 record(s) with a label not in classes: 'Cytoplasm-Nucleus' (2), "
                          "'Golgi' (1) (add them to classes, or set unknown_labels: drop to "
                          "leave them out)")
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "loc.fa"]


def test_a_typo_in_classes_is_named(tmp_path):
    with pytest.raises(SeqnnInputError) as info:
        write_dataset(_ds(tmp_path, classes=["Cytoplasm", "Nucleas", "Golgi",
                                             "Cytoplasm-Nucleus"]), tmp_path / "s.tsv")
    assert info.value.reason.startswith("3 record(s) with a label not in classes: 'Nucleus' (3)"
                                        "; classes without any record: 'Nucleas' (")


def test_unknown_labels_drop_keeps_the_rest_and_counts(tmp_path):
    out = tmp_path / "sequences.tsv"
    rows, report = write_dataset(_ds(tmp_path, unknown_labels="drop"), out, chunk_size=2)
    table = pd.read_csv(out, sep="\t", dtype=str)
    assert rows == 6 and table["id"].tolist() == ["P1", "P2", "P4", "P5", "P8", "P9"]
    assert table["label"].tolist() == ["Cytoplasm", "Nucleus", "Nucleus", "Cytoplasm",
                                       "Nucleus", "Cytoplasm"]
    info = report.as_dict()
    assert info["dropped_unknown_labels"] == {"Cytoplasm-Nucleus": 2, "Golgi": 1}
    assert info["dropped_unknown_label_records"] == 3
    assert "dropped_missing_labels" not in info


def test_a_valid_dataset_keeps_its_ingest_report(tmp_path):
    ds = _ds(tmp_path, classes=["Cytoplasm", "Nucleus", "Cytoplasm-Nucleus", "Golgi"])
    _, report = write_dataset(ds, tmp_path / "s.tsv")
    assert not any(k.startswith("dropped_") for k in report.as_dict())


def test_missing_labels_error_counts_all_chunks(tmp_path):
    ds = _ds(tmp_path, classes=[], inputs=[{"fasta": str(_fasta(tmp_path)),
                                            "header_regex": r"^\S+ (Nucleus|Golgi)-"}])
    with pytest.raises(SeqnnInputError) as info:
        write_dataset(ds, tmp_path / "s.tsv", chunk_size=2)
    assert info.value.record == "P1"
    assert info.value.reason == ("no label (5 record(s) without one; set missing_labels: drop "
                                 "to leave them out)")


def test_missing_labels_drop_with_header_regex(tmp_path):
    ds = _ds(tmp_path, classes=[], missing_labels="drop",
             inputs=[{"fasta": str(_fasta(tmp_path)), "header_regex": r"^\S+ (Nucleus|Golgi)-"}])
    rows, report = write_dataset(ds, tmp_path / "s.tsv", chunk_size=2)
    assert rows == 4
    assert report.as_dict()["dropped_missing_labels"] == 5
    assert "dropped_unknown_labels" not in report.as_dict()


def test_missing_labels_drop_with_a_label_table(tmp_path):
    labels = tmp_path / "labels.tsv"
    labels.write_text("id\tlabel\tsplit\nP1\ta\ttrain\nP2\tb\ttest\nP4\ta\ttrain\nP5\tb\tvalid\n")
    inputs = [{"fasta": str(_fasta(tmp_path)), "labels": str(labels), "split_column": "split"}]
    with pytest.raises(SeqnnInputError, match="set missing_labels: drop"):
        write_dataset(_ds(tmp_path, classes=[], inputs=inputs), tmp_path / "s.tsv")
    rows, report = write_dataset(_ds(tmp_path, classes=[], inputs=inputs,
                                     missing_labels="drop"), tmp_path / "s.tsv", chunk_size=3)
    table = pd.read_csv(tmp_path / "s.tsv", sep="\t", dtype=str)
    assert rows == 4 and table["split"].tolist() == ["train", "test", "train", "valid"]
    assert report.as_dict()["dropped_missing_labels"] == 5


def test_multilabel_record_with_an_unknown_label_is_dropped(tmp_path):
    path = tmp_path / "ml.fa"
    path.write_text("".join(f">{r} L={lab}\n{s}\n" for r, lab, s in [
        ("A1", "x;y", SEQS[0]), ("A2", "y;z", SEQS[1]), ("A3", "x", SEQS[2]),
        ("A4", "y", SEQS[3])]))
    block = {"task": "multilabel", "classes": ["x", "y"],
             "inputs": [{"fasta": str(path), "header_field": "L"}]}
    with pytest.raises(SeqnnInputError, match=r"^.*record 'A2': 1 record\(s\) with a label not "
                       r"in classes: 'z' \(1\)"):
        write_dataset(dataset_from_dict("ml", block), tmp_path / "s.tsv")
    rows, report = write_dataset(dataset_from_dict("ml", {**block, "unknown_labels": "drop"}),
                                 tmp_path / "s.tsv")
    assert rows == 3 and report.as_dict()["dropped_unknown_labels"] == {"z": 1}


@pytest.mark.parametrize("key", ["unknown_labels", "missing_labels"])
def test_label_modes_are_checked(tmp_path, key):
    with pytest.raises(ConfigError, match=rf"datasets.loc.{key}: 'skip'; use error or drop"):
        _ds(tmp_path, **{key: "skip"})
    block = {"task": "multiclass", "inputs": [{"fasta": "x.fa"}], key: "drop"}
    validate_schema({"datasets": {"loc": block}, "models": {"cnn": {}}})
    with pytest.raises(ConfigError):
        validate_schema({"datasets": {"loc": {**block, key: "skip"}}, "models": {"cnn": {}}})


def test_header_regex_is_searched_in_the_header_without_the_marker():
    headers = ["P1 Cytoplasm-M test", "P2 no class here"]
    assert regex_labels(compile_header_regex(r"^P1 (\w+)"), headers) == ["Cytoplasm", ""]
    assert regex_labels(compile_header_regex(r"\w+-M"), headers) == ["Cytoplasm-M", ""]
    assert regex_labels(compile_header_regex(r"^>"), headers) == ["", ""]
    with pytest.raises(ConfigError, match=r"^x: not a regular expression"):
        compile_header_regex("(", "x")


def test_bad_header_regex_in_a_dataset_is_one_error(tmp_path):
    # refused by the config check or, at the latest, by ingest; never a re.error
    with pytest.raises(ConfigError, match="header_regex"):
        ds = _ds(tmp_path, inputs=[{"fasta": str(_fasta(tmp_path)), "header_regex": "(["}])
        write_dataset(ds, tmp_path / "s.tsv")


def test_inspect_previews_labels_and_unknown_ones(tmp_path):
    path = _fasta(tmp_path, extra=">P10 nolabel\nMKKLLPT\n")
    s = inspect_fasta(str(path), header_regex=REGEX, classes=("Cytoplasm", "Nucleus"))
    assert s["label_counts"] == {"Cytoplasm": 3, "Cytoplasm-Nucleus": 2, "Golgi": 1,
                                 "Nucleus": 3}
    assert s["unknown_labels"] == {"Cytoplasm-Nucleus": 2, "Golgi": 1}
    assert s["missing_labels"] == 1
    res = CliRunner().invoke(main, ["inspect", str(path), "--header-regex", REGEX,
                                    "--classes", "Cytoplasm,Nucleus", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["unknown_labels"] == {
        "Cytoplasm-Nucleus": 2, "Golgi": 1}
    res = CliRunner().invoke(main, ["inspect", str(path), "--header-regex", REGEX,
                                    "--classes", "Cytoplasm,Nucleus"])
    assert ("WARNING     3 record(s) with a label not in --classes: 'Cytoplasm-Nucleus' (2), "
            "'Golgi' (1)") in res.stdout


def test_multilabel_empty_set_is_a_missing_label(tmp_path):
    table = tmp_path / "t.tsv"
    table.write_text("id\tsequence\tlabel\na\tMKVLA\tA;B\nb\tMKWLA\t ; \nc\tMKYLA\tB\n")
    block = {"task": "multilabel", "inputs": [{"table": str(table)}]}
    with pytest.raises(SeqnnInputError) as info:
        write_dataset(dataset_from_dict("ml", block), tmp_path / "s.tsv")
    assert (info.value.record, info.value.reason) == (
        "b", "no label in the label set (1 record(s) without one; set missing_labels: drop to "
        "leave them out)")
    rows, report = write_dataset(dataset_from_dict("ml", {**block, "missing_labels": "drop"}),
                                 tmp_path / "s.tsv")
    assert rows == 2 and report.as_dict()["dropped_missing_labels"] == 1
