"""`seqnn predict` and `seqnn.load(...).predict(...)` are one code path (issue 26, items 4 and
6): the same columns by default (nearest_identity, expected_<metric>, expected_from, the
extrapolating flag), the same values, the TSV being the library's table to 4 significant
digits; expected_<metric> falls back to all test sequences where the query's bin had none."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import seqnn
from seqnn.cli import main
from seqnn.inference.predictor import format_table
from seqnn.metrics import IDENTITY_BINS

TRAIN = [("t0", "MKKLLVAGTRWQSDEFGHIK"), ("t1", "MSTNPKRAGLLVVEEDDKKW"),
         ("t2", "MAAGHHKRRSTVLLIPQEEN")]
QUERIES = [("copy", TRAIN[0][1]), ("novel", "W" * 12 + "P" * 4 + "H" * 8),
           ("long", TRAIN[1][1] * 3)]


def _folder(root: Path, task: str = "binary", expected_all: float | None = 0.61) -> Path:
    """A tiny untrained CNN folder with train_sequences.fa and reliability.json (the
    >=0.7 bin has a test value, <0.3 none)."""
    from seqnn.models import get_model
    from seqnn.runtime.checkpoint import save_model

    names = ["neg", "pos"] if task == "binary" else []
    model = get_model("cnn", n_outputs=1, task=task, channels=[4], kernel_size=3,
                      head_hidden=0)
    folder = root / f"m_{task}"
    save_model(folder, model, {"task": task, "class_names": names, "n_outputs": 1,
                               "max_len": 25, "truncate": "right",
                               "identity_threshold": 0.3})
    (folder / "train_sequences.fa").write_text("".join(f">{i}\n{s}\n" for i, s in TRAIN))
    record = {"metric": "mcc", "task": task, "class_names": names, "temperature": 1.0,
              "bins": [list(b) for b in IDENTITY_BINS],
              "expected": {">=0.7": 0.823456789, "<0.3": None}, "min_bin": 30,
              "scores": {"global": [0.05 * k for k in range(20)]}}
    if expected_all is not None:
        record["expected_all"] = expected_all
    (folder / "reliability.json").write_text(json.dumps(record))
    (root / "q.fa").write_text("".join(f">{i}\n{s}\n" for i, s in QUERIES))
    return folder


def _cli(folder: Path, *args: str) -> str:
    res = CliRunner().invoke(main, ["predict", str(folder), str(folder.parent / "q.fa"),
                                    "--threads", "1", "--device", "cpu", *args])
    assert res.exit_code == 0, res.output
    return res.stdout


def _tsv(frame: pd.DataFrame) -> str:
    return format_table(frame).to_csv(sep="\t", index=False, lineterminator="\n")


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_cli_tsv_is_the_library_table_to_four_significant_digits(tmp_path, task) -> None:
    folder = _folder(tmp_path, task)
    lib = seqnn.load(str(folder), device="cpu").predict(dict(QUERIES), threads=1)
    body = ["p_neg", "p_pos"] if task == "binary" else []
    assert list(lib.columns) == ["id", "length", "truncated", "predicted", *body,
                                 "nearest_identity", "expected_mcc", "expected_from", "flags"]
    assert _cli(folder) == _tsv(lib)
    assert lib["nearest_identity"].tolist()[0] == 1.0 and lib["nearest_identity"][1] < 0.3
    assert lib["expected_mcc"].tolist() == [0.823456789, 0.61, lib["expected_mcc"][2]]
    assert lib["expected_from"].tolist()[:2] == ["bin", "all"]
    assert lib["flags"].tolist()[:2] == ["", "extrapolating"]
    assert lib["flags"][2].split(";")[0] == "truncated"
    # the library keeps full precision; the TSV has 4 significant digits
    cli = pd.read_csv(io.StringIO(_cli(folder)), sep="\t", keep_default_na=False, dtype=str)
    assert cli["expected_mcc"].tolist()[:2] == ["0.8235", "0.61"]
    value = "p_pos" if task == "binary" else "predicted"
    assert cli[value].tolist() == [f"{v:.4g}" for v in lib[value]]
    assert any(len(str(v)) > 8 for v in lib[value])


def test_switches_and_coverage_agree(tmp_path) -> None:
    folder = _folder(tmp_path)
    predictor = seqnn.load(str(folder), device="cpu")
    off = predictor.predict(dict(QUERIES), nearest=False)
    assert list(off.columns) == ["id", "length", "truncated", "predicted", "p_neg", "p_pos",
                                 "flags"]
    assert _cli(folder, "--no-nearest") == _tsv(off)
    sets = predictor.predict(dict(QUERIES), coverage=0.5, threads=1)
    assert list(sets.columns)[-2:] == ["prediction_set", "flags"]
    assert _cli(folder, "--coverage", "0.5") == _tsv(sets)


def test_a_record_without_expected_all_leaves_the_cell_empty_and_says_so(tmp_path) -> None:
    folder = _folder(tmp_path, expected_all=None)
    lib = seqnn.load(str(folder), device="cpu").predict(dict(QUERIES[:2]), threads=1)
    assert lib["expected_from"].tolist() == ["bin", ""]
    assert np.isnan(lib["expected_mcc"][1])
    cli = pd.read_csv(io.StringIO(_cli(folder)), sep="\t", keep_default_na=False, dtype=str)
    assert cli["expected_mcc"].tolist()[:2] == ["0.8235", ""]


def test_a_folder_without_train_sequences_predicts_without_the_check(tmp_path) -> None:
    folder = _folder(tmp_path)
    (folder / "train_sequences.fa").unlink()
    predictor = seqnn.load(str(folder), device="cpu")
    lib = predictor.predict(dict(QUERIES))
    assert "nearest_identity" not in lib.columns and "expected_mcc" not in lib.columns
    assert predictor.applicability()[1].startswith("no train_sequences.fa in ")
    with pytest.raises(seqnn.errors.SeqnnInputError, match="train_sequences.fa: missing"):
        predictor.predict(dict(QUERIES), nearest=True)


def test_check_stores_the_metric_over_all_test_sequences(tmp_path) -> None:
    from seqnn.checks import reliability as rel

    pred = pd.DataFrame({"id": ["a", "b", "c"], "split": ["valid", "valid", "test"],
                         "true": ["pos", "neg", "pos"], "predicted": ["pos", "neg", "neg"],
                         "p_neg": [0.2, 0.7, 0.6], "p_pos": [0.8, 0.3, 0.4]})
    nearest = pd.DataFrame({"id": ["a", "b", "c"], "identity": [0.9, 0.1, 0.2]})
    meta = {"task": "binary", "class_names": ["neg", "pos"], "temperature": 1.0}
    rel.store_reliability(tmp_path, pred, nearest, meta, "mcc", {"<0.3": {"metric": None}},
                          0.25)
    stored = json.loads((tmp_path / "reliability.json").read_text())
    assert stored["expected"] == {"<0.3": None} and stored["expected_all"] == 0.25
