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



def test_gzip_bomb_table_is_refused_in_bounded_memory(tmp_path, monkeypatch):
    import tracemalloc
    import zlib

    from seqnn.errors import ConfigError

    limit = 1 << 20
    monkeypatch.setenv("SEQNN_MAX_TABLE_BYTES", str(limit))
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip format
    data = packer.compress(b"id\tlabel\n") + b"".join(
        packer.compress(b"P1\t0.5\n" * (1 << 17)) for _ in range(64))  # 64 MB of rows
    path = _write(tmp_path / "labels.tsv.gz", data + packer.flush())
    tracemalloc.start()
    try:
        with pytest.raises(SeqnnInputError) as info:
            read_table(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == (f"{path}: larger than the table limit of 1,048,576 bytes "
                               "(decompressed; set SEQNN_MAX_TABLE_BYTES to raise it)")
    assert peak < 8 * limit
    monkeypatch.setenv("SEQNN_MAX_TABLE_BYTES", str(1 << 30))
    small = _write(tmp_path / "small.tsv.gz", gzip.compress(b"id\tlabel\nP1\t0.5\n"))
    assert read_table(small)["label"].tolist() == ["0.5"]
    monkeypatch.setenv("SEQNN_MAX_TABLE_BYTES", "lots")
    with pytest.raises(ConfigError, match="SEQNN_MAX_TABLE_BYTES='lots': expected a positive"):
        read_table(small)

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


# ----------------------------------------------------------------------------- the one reader


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_every_line_end_reads_the_same(tmp_path, eol):
    text = ">P1 first\nMKV\nLL\n\n>P2\nWYX".replace("\n", eol)
    records = read_fasta(_write(tmp_path / "e.fa", text))
    assert _pairs(records) == [("P1", "MKVLL"), ("P2", "WYX")]
    assert records[0].header == "P1 first"


def test_lines_longer_than_a_block_and_crlf_split_between_blocks(tmp_path):
    from seqnn.data.fasta import _BLOCK, iter_fasta

    seq = "A" * (_BLOCK - 5)  # the block ends between \r and \n
    text = f">P1\r\n{seq}\r\n{'C' * (3 * _BLOCK)}\r\n>P2 {'é' * _BLOCK}\r\nW"
    records = list(iter_fasta(_write(tmp_path / "l.fa", text), max_record=10 * _BLOCK))
    assert [(r.id, len(r.sequence)) for r in records] == [("P1", 4 * _BLOCK - 5), ("P2", 1)]
    assert records[1].header == "P2 " + "é" * _BLOCK


def test_record_over_the_limit_is_refused_while_reading(tmp_path, monkeypatch):
    path = _write(tmp_path / "big.fa", ">P1\nMKV\n>P2\n" + "W" * 60 + "\nWWWW\n")
    err = _error(path, max_record=60)
    assert err.record == "P2"
    assert err.reason == ("record longer than the limit of 60 residues "
                          "(raise it with --max-record or SEQNN_MAX_RECORD)")
    assert len(read_fasta(path, max_record=64)) == 2
    monkeypatch.setenv("SEQNN_MAX_RECORD", "63")
    assert _error(path).record == "P2"
    monkeypatch.setenv("SEQNN_MAX_RECORD", "64")
    assert len(read_fasta(path)) == 2
    monkeypatch.setenv("SEQNN_MAX_RECORD", "lots")
    from seqnn.errors import ConfigError

    with pytest.raises(ConfigError, match="SEQNN_MAX_RECORD='lots': expected a positive"):
        read_fasta(path)


def test_gzip_bomb_of_one_record_stops_in_bounded_memory(tmp_path):
    import tracemalloc
    import zlib

    from seqnn.data.fasta import MAX_RECORD

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip format
    block = b"A" * (1 << 20)
    data = packer.compress(b">bomb\n") + b"".join(packer.compress(block) for _ in range(64))
    path = _write(tmp_path / "bomb.fa.gz", data + packer.flush())  # 64 MB of one record
    tracemalloc.start()
    try:
        err = _error(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.record == "bomb" and f"{MAX_RECORD:,} residues" in err.reason
    assert peak < 8 * MAX_RECORD


@pytest.mark.parametrize("header", ["P1 a\x0bb", "P1\x1bx", "P1 \x7f", "P1 \x85"])
def test_control_characters_in_a_header_are_refused(tmp_path, header):
    err = _error(_write(tmp_path / "c.fa", f">{header}\nMKV\n"))
    assert err.record == "P1" and "control character" in err.reason


def test_nul_in_a_header_is_refused(tmp_path):
    err = _error(_write(tmp_path / "n.fa", b">P1\x00x desc\nMKV\n"))
    assert "binary content (NUL bytes" in err.reason and "offset 3" in err.reason


def test_tab_in_a_header_is_a_word_break(tmp_path):
    records = read_fasta(_write(tmp_path / "t.fa", ">P1\tdesc\nMKV\n"))
    assert records[0].id == "P1" and records[0].header == "P1\tdesc"


def test_inspect_streams_and_counts_duplicates(tmp_path):
    from seqnn.data.inspect import inspect_fasta

    path = _write(tmp_path / "i.fa", gzip.compress(b">a L=x\rMKV\r>b L=y\rMKV\r>c\rWu\r"))
    s = inspect_fasta(str(path), header_field="L")
    assert s["records"] == 3 and s["residues"] == 8
    assert s["length"] == {"min": 2, "p25": 2.5, "median": 3.0, "p75": 3.0, "p95": 3.0,
                           "max": 3, "mean": 2.7}
    assert (s["duplicate_sequence_groups"], s["duplicate_sequence_rows"]) == (1, 1)
    assert s["missing_labels"] == 1 and s["label_counts"] == {"x": 1, "y": 1}
    with pytest.raises(SeqnnInputError, match="duplicate id"):
        inspect_fasta(str(_write(tmp_path / "d.fa", ">a\nMKV\n>a\nW\n")))


# ----------------------------------------------------------------------------- outputs


def test_output_that_is_an_input_is_refused(tmp_path):
    from seqnn.data.files import check_output
    from seqnn.errors import OutputError

    src = _write(tmp_path / "in.fa", FASTA)
    (tmp_path / "link.fa").symlink_to(src)
    for out in (src, tmp_path / "link.fa", tmp_path / "sub" / ".." / "in.fa"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(OutputError, match="is the same file as the input"):
            check_output(out, [None, "-", src])
    check_output(tmp_path / "new.tsv", [src])  # a new file, stdout, no inputs: fine
    check_output("-", [src])
    check_output(src, [])


def test_symlink_output_is_written_through(tmp_path):
    (tmp_path / "real").mkdir()
    target = _write(tmp_path / "real" / "t.tsv", "old\n")
    link = tmp_path / "link.tsv"
    link.symlink_to(target)
    with atomic_path(link) as tmp:
        Path(tmp).write_text("new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.tsv", "real"]
    assert [p.name for p in target.parent.iterdir()] == ["t.tsv"]


@pytest.mark.parametrize("case", ["directory", "read-only folder"])
def test_unwritable_output_is_one_line(tmp_path, case):
    import os

    from seqnn.errors import OutputError

    if case == "directory":
        out = tmp_path / "d"
        out.mkdir()
    elif case == "read-only folder":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        (tmp_path / "ro").mkdir(mode=0o555)
        out = tmp_path / "ro" / "x.tsv"
    with pytest.raises(OutputError) as info:
        write_table(pd.DataFrame({"a": [1]}), out)
    assert str(info.value).startswith(f"{out}: cannot write")
    assert "\n" not in str(info.value)
    assert not Path("-").exists()


def test_disk_full_while_writing_is_one_line(tmp_path):
    import errno

    from seqnn.errors import OutputError

    with (pytest.raises(OutputError, match=r"x.tsv: cannot write \(No space left on device\)"),
          atomic_path(tmp_path / "x.tsv")):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_stale_temporary_files_of_a_killed_run_are_removed(tmp_path):
    import os
    import time

    from seqnn.data.files import remove_stale_temps

    dead = subprocess_pid_that_exited()
    names = {
        "stale": f".out.tsv.{dead}.abcd1234.tmp",
        "old_style": ".out.tsv.zz_99xyz.tmp",
        "ours": f".out.tsv.{os.getpid()}.abcd1234.tmp",  # this process: in progress
        "other_output": f".out.tsv.ids.txt.{dead}.abcd1234.tmp",
        "not_ours": "out.tsv.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_text("x")
    old = time.time() - 60
    for name in names.values():
        os.utime(tmp_path / name, (old, old))
    fresh = tmp_path / f".out.tsv.{dead}.fresh123.tmp"  # newer than the run: left alone
    fresh.write_text("x")
    removed = remove_stale_temps(tmp_path / "out.tsv", before=time.time() - 30)
    assert sorted(removed) == sorted([names["stale"], names["old_style"]])
    with atomic_path(tmp_path / "out.tsv") as tmp:
        Path(tmp).write_text("done\n")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"out.tsv", fresh.name, names["ours"], names["other_output"],
                    names["not_ours"]}


def subprocess_pid_that_exited() -> int:
    """The pid of a process that has finished (so no process runs under it now)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)
