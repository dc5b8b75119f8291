"""Tests for seqnn.data.fasta, seqnn.data.tables and seqnn.data.files: FASTA and table
reading, every input check, atomic writes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from seqnn.data import read_fasta
from seqnn.data.alphabet import Substitutions
from seqnn.data.fasta import parse_header_fields
from seqnn.data.files import atomic_path, write_table
from seqnn.data.tables import check_labels, normalise_split, read_table
from seqnn.errors import SeqnnInputError

FASTA = ">P1 first protein\nMKV\n>P2\nWYX\n"


def _write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def _pairs(records) -> list[tuple[str, str]]:
    return [(r.id, r.sequence) for r in records]


def _error(path: Path, **kwargs) -> SeqnnInputError:
    with pytest.raises(SeqnnInputError) as info:
        read_fasta(path, **kwargs)
    err = info.value
    assert err.file == str(path)
    assert str(err).startswith(str(path))
    assert "\n" not in str(err)  # one line
    return err


# ----------------------------------------------------------------------------- read_fasta: ok


def test_read_fasta_plain(tmp_path):
    records = read_fasta(_write(tmp_path / "a.fasta", FASTA))
    assert _pairs(records) == [("P1", "MKV"), ("P2", "WYX")]
    assert records[0].header == "P1 first protein"
    assert records[1].header == "P2"


def test_read_fasta_gzip_detected_by_content(tmp_path):
    path = _write(tmp_path / "seqs.txt", gzip.compress(FASTA.encode()))
    assert _pairs(read_fasta(path)) == [("P1", "MKV"), ("P2", "WYX")]
    path = _write(tmp_path / "seqs.fa.gz", gzip.compress(FASTA.encode()))
    assert _pairs(read_fasta(path)) == [("P1", "MKV"), ("P2", "WYX")]


def test_read_fasta_multi_line_records(tmp_path):
    text = ">P1\nMKV\nLLA\nG\n>P2\nWY\n  X \n\n"
    assert _pairs(read_fasta(_write(tmp_path / "m.fa", text))) == [
        ("P1", "MKVLLAG"), ("P2", "WYX"),
    ]


def test_read_fasta_windows_line_endings(tmp_path):
    text = ">P1 desc\r\nMKV\r\nLL\r\n>P2\r\nWYX\r\n"
    records = read_fasta(_write(tmp_path / "w.fa", text))
    assert _pairs(records) == [("P1", "MKVLL"), ("P2", "WYX")]
    assert records[0].header == "P1 desc"


def test_read_fasta_map_policy_counts_substitutions(tmp_path):
    subs = Substitutions()
    records = read_fasta(_write(tmp_path / "s.fa", ">P1\nmkuB*\n>P2\nWY\n"), subs=subs)
    assert _pairs(records) == [("P1", "MKCX"), ("P2", "WY")]
    assert subs.counts == {"lowercase": 3, "U->C": 1, "B->X": 1, "trailing * dropped": 1}
    assert subs.records == {"P1": 6}


def test_read_fasta_drop_gaps(tmp_path):
    path = _write(tmp_path / "g.fa", ">P1\nMK-V.\n")
    err = _error(path)
    assert err.record == "P1"
    assert "position 3" in err.reason and "gap character '-'" in err.reason
    assert _pairs(read_fasta(path, drop_gaps=True)) == [("P1", "MKV")]


# ----------------------------------------------------------------------------- read_fasta: errors


def test_missing_file(tmp_path):
    err = _error(tmp_path / "nope.fa")
    assert err.record is None
    assert err.reason == "file not found"
    assert str(err) == f"{tmp_path / 'nope.fa'}: file not found"


def test_directory_is_not_a_file(tmp_path):
    assert "directory" in _error(tmp_path).reason


@pytest.mark.parametrize("content", [b"", b"\n  \n", gzip.compress(b"")])
def test_empty_file(tmp_path, content):
    err = _error(_write(tmp_path / "empty.fa", content))
    assert err.reason == "file is empty"


def test_no_header_record(tmp_path):
    err = _error(_write(tmp_path / "plain.fa", "MKVLLA\nWYX\n"))
    assert "no '>'" in err.reason
    assert "'MKVLLA'" in err.reason


def test_binary_content(tmp_path):
    err = _error(_write(tmp_path / "bin.fa", b">P1\nMK\x00\x01V\n"))
    assert "binary" in err.reason and "NUL" in err.reason


def test_non_utf8_content(tmp_path):
    err = _error(_write(tmp_path / "latin.fa", b">P1 caf\xe9\nMKV\n"))
    assert "not UTF-8" in err.reason
    assert "0xe9" in err.reason and "offset 7" in err.reason


def test_empty_sequence_names_record(tmp_path):
    err = _error(_write(tmp_path / "e.fa", ">P1\nMKV\n>P2\n\n>P3\nW\n"))
    assert err.record == "P2"
    assert err.reason == "empty sequence"
    assert str(err) == f"{tmp_path / 'e.fa'}, record 'P2': empty sequence"


def test_empty_header(tmp_path):
    err = _error(_write(tmp_path / "h.fa", ">P1\nMKV\n>\nWY\n"))
    assert "empty header" in err.reason


def test_duplicate_ids(tmp_path):
    err = _error(_write(tmp_path / "d.fa", ">P1 a\nMKV\n>P2\nW\n>P1 b\nWY\n"))
    assert err.record == "P1"
    assert err.reason == "duplicate id"


def test_invalid_character_map_policy_names_record_and_position(tmp_path):
    err = _error(_write(tmp_path / "i.fa", ">P1\nMKV\n>P2\nWY\nK1L\n"))
    assert err.record == "P2"
    assert err.reason == "position 4: invalid character '1'"
    assert str(err) == f"{tmp_path / 'i.fa'}, record 'P2': position 4: invalid character '1'"


def test_invalid_character_strict_policy(tmp_path):
    path = _write(tmp_path / "u.fa", ">P1\nMKUV\n")
    assert _pairs(read_fasta(path)) == [("P1", "MKCV")]  # map: U -> C
    err = _error(path, policy="strict")
    assert err.record == "P1"
    assert err.reason.startswith("position 3: character 'U'")
    assert "strict" in err.reason


def test_strict_refuses_lowercase_and_trailing_stop(tmp_path):
    err = _error(_write(tmp_path / "l.fa", ">P1\nMkV\n"), policy="strict")
    assert err.reason.startswith("position 2: character 'k'")
    err = _error(_write(tmp_path / "s.fa", ">P1\nMKV*\n"), policy="strict")
    assert err.reason.startswith("position 4: trailing '*'")


def test_unknown_policy(tmp_path):
    with pytest.raises(ValueError, match="unknown alphabet policy"):
        read_fasta(_write(tmp_path / "a.fa", FASTA), policy="lenient")


@pytest.mark.parametrize("seq", ["ACGTACGTTAGCCGATACGTAGCT", "acguacguuagccgauacguagcu"])
def test_dna_or_rna_file(tmp_path, seq):
    err = _error(_write(tmp_path / "dna.fa", f">g1\n{seq}\n>g2\nACGTNACGT\n"))
    assert "DNA/RNA" in err.reason
    assert "100%" in err.reason
    # the check can be switched off; then it is an (odd) protein file
    records = read_fasta(tmp_path / "dna.fa", check_nucleotide=False)
    assert [r.id for r in records] == ["g1", "g2"]


def test_protein_rich_in_acgt_is_not_flagged(tmp_path):
    seq = "ACGTACGTACGTACGTACMKWLLE"  # 18/24 = 75% ACGT letters
    assert _pairs(read_fasta(_write(tmp_path / "p.fa", f">P1\n{seq}\n"))) == [("P1", seq)]


# ----------------------------------------------------------------------------- headers


def test_parse_header_fields():
    assert parse_header_fields(">P1 TARGET=0.83 SET=train VALIDATION=False") == {
        "TARGET": "0.83", "SET": "train", "VALIDATION": "False",
    }
    assert parse_header_fields("P2 target=1 some words") == {"TARGET": "1"}
    assert parse_header_fields("P3 no fields here") == {}


# ----------------------------------------------------------------------------- tables


def test_read_table_tsv(tmp_path):
    path = _write(tmp_path / "labels.tsv", "id\tlabel\nP1\t0.5\nP2\t\n")
    df = read_table(path, required=["id", "label"])
    assert list(df.columns) == ["id", "label"]
    assert df["id"].tolist() == ["P1", "P2"]
    assert df["label"].tolist() == ["0.5", ""]  # strings, empty kept as ""


def test_read_table_csv_with_padded_header(tmp_path):
    path = _write(tmp_path / "labels.csv", "id, label\nP1,pos\nP2,neg\n")
    df = read_table(path, required=["id", "label"])
    assert list(df.columns) == ["id", "label"]
    assert df["label"].tolist() == ["pos", "neg"]


def test_read_table_missing_column(tmp_path):
    path = _write(tmp_path / "labels.tsv", "id\tclass\nP1\tpos\n")
    with pytest.raises(SeqnnInputError) as info:
        read_table(path, required=["id", "label"])
    assert info.value.file == str(path)
    assert info.value.reason == "missing column(s) label; columns are id, class"


def test_read_table_missing_file(tmp_path):
    with pytest.raises(SeqnnInputError, match="file not found"):
        read_table(tmp_path / "x.tsv")


@pytest.mark.parametrize(
    ("value", "split"),
    [
        ("train", "train"), ("Training", "train"), (" trn ", "train"),
        ("VALID", "valid"), ("validation", "valid"), ("val", "valid"), ("eval", "valid"),
        ("dev", "valid"), ("test", "test"), ("TST", "test"), ("held-out", "test"),
    ],
)
def test_normalise_split_aliases(value, split):
    assert normalise_split(value, "s.tsv", "P1") == split


def test_normalise_split_error():
    with pytest.raises(SeqnnInputError) as info:
        normalise_split("holdback", "s.tsv", "P7")
    err = info.value
    assert (err.file, err.record) == ("s.tsv", "P7")
    assert "unknown split 'holdback'" in err.reason


# ----------------------------------------------------------------------------- check_labels


def _df(labels: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"P{i}" for i in range(1, len(labels) + 1)], "label": labels})


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_check_labels_missing_label_names_record(task):
    with pytest.raises(SeqnnInputError) as info:
        check_labels(_df(["1", "0", "  ", ""]), task, "l.tsv")
    err = info.value
    assert err.record == "P3"
    assert err.reason == "no label (2 record(s) without one)"
    assert str(err) == "l.tsv, record 'P3': no label (2 record(s) without one)"


def test_check_labels_non_numeric_regression_label():
    with pytest.raises(SeqnnInputError) as info:
        check_labels(_df(["0.5", "1e3", "high"]), "regression", "l.tsv")
    assert info.value.record == "P3"
    assert info.value.reason == "label 'high' is not a number (task regression)"
    with pytest.raises(SeqnnInputError) as info:
        check_labels(_df(["0.5", "inf"]), "regression", "l.tsv")
    assert info.value.record == "P2"


def test_check_labels_regression_converts_to_float():
    out = check_labels(_df(["0.5", "-2", "1e3"]), "regression", "l.tsv")
    assert out["label"].tolist() == [0.5, -2.0, 1000.0]
    assert out["label"].dtype == float


def test_check_labels_binary_with_three_classes():
    with pytest.raises(SeqnnInputError) as info:
        check_labels(_df(["a", "b", "c", "a"]), "binary", "l.tsv")
    assert info.value.record is None
    assert info.value.reason == "task binary needs exactly 2 classes, found 3: a, b, c"


def test_check_labels_one_class_and_ok_cases():
    with pytest.raises(SeqnnInputError, match="at least 2 classes, found 1"):
        check_labels(_df(["a", "a"]), "multiclass", "l.tsv")
    out = check_labels(_df([" pos", "neg "]), "binary", "l.tsv")
    assert out["label"].tolist() == ["pos", "neg"]
    assert check_labels(_df(["a", "b", "c"]), "multiclass", "l.tsv")["label"].nunique() == 3
    unsup = _df(["", ""])
    assert check_labels(unsup, "unsupervised", "l.tsv") is unsup
    with pytest.raises(SeqnnInputError, match="unknown task 'ranking'"):
        check_labels(_df(["a"]), "ranking", "l.tsv")


# ----------------------------------------------------------------------------- writing


def test_atomic_path_leaves_no_file_when_body_raises(tmp_path):
    target = tmp_path / "out" / "result.tsv"
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        Path(tmp).write_text("half")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # the temporary file is gone too


def test_atomic_path_keeps_old_target_when_body_raises(tmp_path):
    target = tmp_path / "result.tsv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        Path(tmp).write_text("new, half")
        raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.tsv"]


def test_atomic_path_complete_after_success(tmp_path):
    target = tmp_path / "result.tsv"
    with atomic_path(target) as tmp:
        assert Path(tmp).parent == tmp_path
        assert Path(tmp) != target
        Path(tmp).write_text("line1\nline2\n")
        assert not target.exists()  # nothing visible until the body finishes
    assert target.read_text() == "line1\nline2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.tsv"]


def test_write_table_tsv_and_csv(tmp_path):
    df = pd.DataFrame({"id": ["P1", "P2"], "split": ["train", "test"], "cluster": [3, 4]})
    tsv = tmp_path / "res" / "splits.tsv"
    write_table(df, tsv)
    assert tsv.read_text() == "id\tsplit\tcluster\nP1\ttrain\t3\nP2\ttest\t4\n"
    csv = tmp_path / "splits.csv"
    write_table(df, csv)
    assert csv.read_text() == "id,split,cluster\nP1,train,3\nP2,test,4\n"
    back = read_table(tsv, required=["id", "split", "cluster"])
    assert back.to_dict("list") == {
        "id": ["P1", "P2"], "split": ["train", "test"], "cluster": ["3", "4"],
    }
    assert sorted(p.name for p in tsv.parent.iterdir()) == ["splits.tsv"]


# ----------------------------------------------------------------------------- regressions
# Both of these failed against the first version of seqnn/io.py and seqnn/alphabet.py.


def test_gapped_dna_alignment_is_flagged_with_drop_gaps(tmp_path):
    # 20 nucleotides + 8 gaps: after the gaps are dropped the record is 100% ACGT, but the
    # nucleotide check looks at the raw (gapped) sequences, where ACGT is only 71%.
    path = _write(tmp_path / "aln.fa", ">g1\nAC--GTAC--GTAC--GTACGTAC--GT\n")
    err = _error(path, drop_gaps=True)
    assert "DNA/RNA" in err.reason


def test_error_position_counts_dropped_gaps(tmp_path):
    # the position must point into the record as written in the file, where '@' is 4th
    err = _error(_write(tmp_path / "p.fa", ">P1\nA--@KV\n"), drop_gaps=True)
    assert err.record == "P1"
    assert err.reason == "position 4: invalid character '@'"
