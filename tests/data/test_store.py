"""The encoded store: memory-mapped reading, views, streaming writes, old and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqnn.data.controls import permute_labels, shuffle_residues
from seqnn.data.ragged import EncodedDataset
from seqnn.data.store import load_encoded, save_encoded
from seqnn.data.streaming import encode_stream, iter_fasta_clean, iter_table
from seqnn.encode import encode_table
from seqnn.errors import SeqnnInputError

IDS = [f"p{i}" for i in range(9)]
SEQS = ["ACDEFG", "W", "KLMNPQRST", "AAAA", "CY", "MKV", "GGGGGGGG", "HIK", "Q"]
LABELS = ["pos", "neg", "pos", "neg", "neg", "pos", "pos", "neg", "pos"]


def _dataset() -> EncodedDataset:
    return encode_table(IDS, SEQS, LABELS, "binary", ["neg", "pos"])


def _same(a: EncodedDataset, b: EncodedDataset) -> None:
    assert len(a) == len(b)
    assert [a.sequence(i) for i in range(len(a))] == [b.sequence(i) for i in range(len(b))]
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert (a.task, a.class_names) == (b.task, b.class_names)


def test_store_is_memory_mapped_and_round_trips(tmp_path: Path) -> None:
    ds = _dataset()
    save_encoded(ds, tmp_path / "e.npz")
    back = load_encoded(tmp_path / "e.npz")
    assert isinstance(back.tokens, np.memmap) and back.mapped
    assert not back.tokens.flags.writeable
    _same(ds, back)
    with np.load(tmp_path / "e.npz", allow_pickle=False) as z:  # still a plain .npz
        np.testing.assert_array_equal(z["tokens"], ds.tokens)


def test_mapped_subsets_are_views_with_the_same_batches(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from seqnn.runtime.batches import dataset_hash, make_loader

    ds = _dataset()
    save_encoded(ds, tmp_path / "e.npz")
    mapped = load_encoded(tmp_path / "e.npz")
    index = np.array([7, 2, 0, 5, 8])
    view, copy = mapped.subset(index), ds.subset(index)
    assert view.tokens is mapped.tokens and view.starts is not None  # no residue copied
    assert copy.starts is None
    _same(view, copy)
    _same(view.subset(np.array([3, 1])), copy.subset(np.array([3, 1])))
    assert dataset_hash(view) == dataset_hash(copy)
    for a, b in zip(make_loader(view, batch_size=2, shuffle=True, seed=3)[0],
                    make_loader(copy, batch_size=2, shuffle=True, seed=3)[0], strict=True):
        for key in ("x", "mask", "lengths", "y", "index"):
            assert torch.equal(a[key], b[key])
    _same(permute_labels(view, 1), permute_labels(copy, 1))
    _same(shuffle_residues(view, 2), shuffle_residues(copy, 2))


def test_view_saves_as_a_contiguous_store(tmp_path: Path) -> None:
    save_encoded(_dataset(), tmp_path / "e.npz")
    view = load_encoded(tmp_path / "e.npz").subset(np.array([4, 1, 6]))
    save_encoded(view, tmp_path / "v.npz")
    _same(load_encoded(tmp_path / "v.npz"), _dataset().subset(np.array([4, 1, 6])))


def test_old_and_compressed_stores_are_read_and_junk_is_refused(tmp_path: Path) -> None:
    ds = _dataset()
    np.savez_compressed(tmp_path / "c.npz", tokens=ds.tokens, offsets=ds.offsets, ids=ds.ids,
                        labels=ds.labels, task=np.array(ds.task),
                        class_names=np.array(ds.class_names))
    _same(load_encoded(tmp_path / "c.npz"), ds)
    np.savez(tmp_path / "old.npz", tokens=ds.tokens, offsets=ds.offsets, ids=ds.ids,
             labels=ds.labels, task=np.array(ds.task), class_names=np.array(ds.class_names))
    old = load_encoded(tmp_path / "old.npz")  # a store of earlier versions is mapped too
    assert isinstance(old.tokens, np.memmap)
    _same(old, ds)
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(SeqnnInputError, match="not an encoded store"):
        load_encoded(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(SeqnnInputError, match="no tokens"):
        load_encoded(tmp_path / "other.npz")
    with pytest.raises(SeqnnInputError, match="file not found"):
        load_encoded(tmp_path / "missing.npz")


def test_streaming_encode_of_many_chunks_equals_one_shot(tmp_path: Path) -> None:
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">{i}\n{s.lower()}\n" for i, s in zip(IDS, SEQS, strict=True)))
    chunks = list(iter_fasta_clean(fasta, chunk_size=2))
    assert [len(c[0]) for c in chunks] == [2, 2, 2, 2, 1]
    n, residues = encode_stream(((i, s, None) for i, s in chunks), tmp_path / "s.npz")
    assert (n, residues) == (9, sum(map(len, SEQS)))
    _same(load_encoded(tmp_path / "s.npz"), encode_table(IDS, SEQS))

    table = tmp_path / "t.tsv"
    table.write_text("id\tsequence\tlabel\n" + "".join(
        f"{i}\t{s}\t{y}\n" for i, s, y in zip(IDS, SEQS, LABELS, strict=True)))
    parts = ((df["id"].tolist(), df["sequence"].tolist(), df["label"].tolist())
             for df in iter_table(table, ["id", "sequence", "label"], chunk_size=4))
    encode_stream(parts, tmp_path / "t.npz", "binary", source=str(table))
    _same(load_encoded(tmp_path / "t.npz"), _dataset())


def test_streaming_encode_errors_leave_no_output(tmp_path: Path) -> None:
    fasta = tmp_path / "dup.fa"
    fasta.write_text(">a\nACD\n>b\nKL\n>c\nW\n>a\nMM\n")
    chunks = ((i, s, None) for i, s in iter_fasta_clean(fasta, chunk_size=2))
    with pytest.raises(SeqnnInputError, match="duplicate id"):
        encode_stream(chunks, tmp_path / "o.npz")
    chunks = ((IDS[:2], SEQS[:2], ["x", "y"]), (IDS[2:4], SEQS[2:4], ["x", "z"]))
    with pytest.raises(SeqnnInputError, match="not among the class names"):
        encode_stream(iter(chunks), tmp_path / "o.npz", "multiclass", ["x", "y"])
    with pytest.raises(SeqnnInputError, match="--max-len 5"):
        encode_stream(iter([(IDS, SEQS, None)]), tmp_path / "o.npz", max_len=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dup.fa"]


def test_streaming_ingest_of_many_chunks_equals_the_table_in_memory(tmp_path: Path) -> None:
    from seqnn.config import dataset_from_dict
    from seqnn.data.ingest import load_dataset, write_dataset
    from seqnn.data.tables import read_table

    a = tmp_path / "a.fa"
    a.write_text(">a1 s=train\nACDE\n>a2 s=test\nKLMN\n>a3 s=valid\nACDE\n>a4 s=train\nWWY\n"
                 ">a5 s=train\nKLMN\n")
    b = tmp_path / "b.tsv"
    b.write_text("sequence\tlabel\tset\nACDE\tpos\ttest\nMKV\tneg\ttrain\nGGH\tneg\tvalid\n")
    ds = dataset_from_dict("t", {"task": "binary", "drop_duplicates": True, "inputs": [
        {"fasta": str(a), "label": "pos", "split_field": "s"},
        {"table": str(b), "split_column": "set"}]})
    df, rep = load_dataset(ds)
    rows, srep = write_dataset(ds, tmp_path / "out.tsv", chunk_size=2)
    assert rows == len(df) and srep.as_dict() == rep.as_dict()
    assert rep.duplicate_groups == 2 and rep.duplicate_rows_dropped == 3
    table = read_table(tmp_path / "out.tsv")
    assert table.to_dict("list") == df.astype(str).to_dict("list")
    assert table["id"].tolist() == ["a1", "a4", "a5", "b_2", "b_3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fa", "b.tsv", "out.tsv"]
