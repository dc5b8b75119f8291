"""`seqnn prepare scl2205` on a tiny SCL2205-shaped fixture, and its duplicate handling."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from seqnn.cli import main
from seqnn.config import dataset_from_dict
from seqnn.data.ingest import load_dataset
from seqnn.data.prepare import prepare
from seqnn.errors import SeqnnInputError
from seqnn.split import exact_duplicates, split_given

ROWS = [  # entry, seq, scl ; rows 0..6
    ("P1", "MKKLLPTAAAGLLLLAAQPAMA", 2),
    ("P2", "MSDEEKKRRKKSPEEVKRPK", 6),
    ("P3", "MSDEEKKRRKKSPEEVKRPK", 6),  # same sequence as P2, same label, P2 trn / P3 tst
    ("P4", "MLSRAVCGTSRQLAPVLGYLGSRQ", 3),
    ("P5", "MLSRAVCGTSRQLAPVLGYLGSRQ", 0),  # same as P4, conflicting label
    ("P6", "MAEEVKKLLEEAKKUGIEV", 0),  # U -> C under the map policy
    ("P7", "MTTQAPTFTQPLQSVVVLEGSTATFEAHISGF", 4),
]


def write_fixture(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["entry,seq,scl"] + [f"{e},{s},{c}" for e, s, c in ROWS]
    (folder / "scl2205.csv").write_text("\n".join(lines) + "\n")
    (folder / "entries.json").write_text(json.dumps({str(i): r[0] for i, r in enumerate(ROWS)}))
    names = {"0": "Cytoplasm", "2": "Secreted", "3": "Mitochondrion", "4": "Membrane",
             "6": "Nucleus"}
    (folder / "labels.json").write_text(json.dumps({"index_to_label": names}))
    # rows listed out of order, as in the package (which interleaves indices)
    splits = {"cv": {}, "trn": [3, 0, 1, 5], "evl": [6], "tst": [2, 4]}
    (folder / "splits.json").write_text(json.dumps(splits))
    return folder


def test_prepare_table(tmp_path: Path) -> None:
    out = tmp_path / "scl.tsv"
    table = prepare("scl2205", str(out), str(write_fixture(tmp_path / "pkg")))
    assert table.to_dict("list") == {
        "id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7"],
        "sequence": [r[1] for r in ROWS],
        "label": ["Secreted", "Nucleus", "Nucleus", "Mitochondrion", "Cytoplasm", "Cytoplasm",
                  "Membrane"],
        "split": ["train", "train", "test", "train", "test", "train", "valid"],
    }
    assert pd.read_csv(out, sep="\t").shape == (7, 4)


def test_prepare_cli_and_errors(tmp_path: Path) -> None:
    pkg = write_fixture(tmp_path / "pkg")
    res = CliRunner().invoke(main, ["prepare", "scl2205", "--from", str(pkg), "-o",
                                    str(tmp_path / "o.tsv")])
    assert res.exit_code == 0, res.output
    (pkg / "splits.json").write_text(json.dumps({"trn": [0, 1, 2, 3, 4, 5], "evl": [],
                                                 "tst": []}))
    with pytest.raises(SeqnnInputError, match="record 'P7': entry in no split"):
        prepare("scl2205", str(tmp_path / "x.tsv"), str(pkg))
    assert not (tmp_path / "x.tsv").exists()


def _spec(table: Path, drop: bool) -> dict:
    return {"task": "multiclass", "drop_duplicates": drop, "inputs": [
        {"table": str(table), "split_column": "split"}], "split": {"method": "given"}}


def test_ingest_and_audit_catch_the_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "scl.tsv"
    prepare("scl2205", str(out), str(write_fixture(tmp_path / "pkg")))
    df, report = load_dataset(dataset_from_dict("scl", _spec(out, drop=False)))
    assert (report.duplicate_groups, report.cross_split_groups,
            report.conflicting_groups) == (2, 2, 1)
    assert report.substitutions.counts == {"U->C": 1}
    dups = exact_duplicates(df, split_given(df))
    assert dups["n_across_splits"] == 2 and dups["n_conflicting_labels"] == 1
    # the config then chooses to drop them: one row per sequence (train first), no conflicts
    df, report = load_dataset(dataset_from_dict("scl", _spec(out, drop=True)))
    assert df["id"].tolist() == ["P1", "P2", "P6", "P7"]
    assert report.duplicate_rows_dropped == 3


@pytest.mark.parametrize("name", ["config.yaml", "scl2205.yaml", "amp_ensemble.yaml"])
def test_shipped_configs_pass_the_start_check(name: str) -> None:
    import yaml

    from seqnn.workflow import check_workflow

    root = Path(__file__).resolve().parents[2]
    wf = check_workflow(yaml.safe_load((root / "config" / name).read_text()))
    assert set(wf.models) & {"cnn", "rnn"}
