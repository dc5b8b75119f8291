"""Integrity of the files seqnn reads (issue 24, "Reliability round two"): the encoded store,
label tables, model folders, plus the calibration keys of ``metrics.json``.

Every user mistake here must end in one :class:`~seqnn.errors.SeqnnError` line (exit 2 at
the CLI), never a traceback, a huge allocation or a partial output.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from seqnn.cli import main
from seqnn.data.tables import read_table, read_text_table

# ----------------------------------------------------------------------------- helpers


def invoke(*args: object) -> Result:
    """``seqnn ARGS`` in-process (click's runner, stdout and stderr apart)."""
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(res: Result, *needles: str) -> None:
    """Exit 2, no traceback, exactly one ``seqnn: error:`` line holding every needle."""
    assert res.exit_code == 2, (res.exit_code, res.output[-2000:], res.exception)
    assert "Traceback" not in res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("seqnn: error:")]
    assert len(errors) == 1, res.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def tsv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a TSV as dicts of verbatim strings (the csv module: no NA guessing)."""
    return list(csv.DictReader(io.StringIO(path.read_text()), delimiter="\t"))


# ----------------------------------------------------------------------------- item 12:
# label, id and class-name strings read verbatim everywhere

ODD_NAMES = ["NA", "null", "None", "nan", "1", "1.0", "001", "TRUE"]


def test_read_table_keeps_every_field_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "labels.tsv"
    path.write_text("id\tlabel\n" + "".join(f"{n}\t{n}\n" for n in ODD_NAMES))
    df = read_table(path, ["id", "label"])
    assert df["id"].tolist() == ODD_NAMES
    assert df["label"].tolist() == ODD_NAMES


def test_read_text_table_names_verbatim_numbers_parsed(tmp_path: Path) -> None:
    path = tmp_path / "nearest.tsv"
    path.write_text("id\tsplit\ttrue\tidentity\tnearest_train_id\n"
                    "NA\ttest\t\tNA\tnull\n001\ttest\tnan\t0.5\t1.0\n")
    df = read_text_table(path)
    assert df["id"].tolist() == ["NA", "001"]
    assert df["nearest_train_id"].tolist() == ["null", "1.0"]
    assert pd.isna(df["true"].iloc[0]) and df["true"].iloc[1] == "nan"  # only '' is missing
    assert pd.isna(df["identity"].iloc[0]) and df["identity"].iloc[1] == 0.5


def _odd_dataset(root: Path) -> None:
    """A FASTA, an id-keyed label table and a splits table where every id and every class
    name is one that a careless reader turns into a missing value or a number."""
    rng = np.random.default_rng(0)
    fasta, labels, splits = [], ["id\tlabel\n"], ["id\tsplit\n"]
    for k, name in enumerate(ODD_NAMES):
        for j, split in enumerate(("train", "train", "valid", "test")):
            rid = name if j == 0 else f"{name}_{j}"  # ids 'NA', 'null', '001', ...
            seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), 12)) + "KDEW"[k % 4] * 4
            fasta.append(f">{rid}\n{seq}\n")
            labels.append(f"{rid}\t{name}\n")
            splits.append(f"{rid}\t{split}\n")
    (root / "in.fa").write_text("".join(fasta))
    (root / "labels.tsv").write_text("".join(labels))
    (root / "splits.tsv").write_text("".join(splits))


def test_odd_class_names_round_trip_through_the_cli(tmp_path: Path) -> None:
    """ingest -> encode -> train -> model.json -> predictions -> predict -> check: the names
    'NA', 'null', 'None', 'nan', '1', '1.0', '001', 'TRUE' stay themselves (once `seqnn
    check` failed with "label '' is not one of the classes")."""
    _odd_dataset(tmp_path)
    d = tmp_path / "ds"
    d.mkdir()
    spec = {"task": "multiclass", "inputs": [{"fasta": str(tmp_path / "in.fa"),
                                              "labels": str(tmp_path / "labels.tsv")}]}
    res = invoke("ingest", "--spec", json.dumps(spec), "-o", d / "sequences.tsv")
    assert res.exit_code == 0, res.output
    rows = tsv_rows(d / "sequences.tsv")
    assert [r["id"] for r in rows[::4]] == ODD_NAMES
    assert [r["label"] for r in rows[::4]] == ODD_NAMES
    (d / "splits.tsv").write_text((tmp_path / "splits.tsv").read_text())
    res = invoke("encode", d / "sequences.tsv", "--task", "multiclass", "-o", d / "encoded.npz")
    assert res.exit_code == 0, res.output
    model = d / "models" / "mlp"
    train = {"model": "mlp", "params": {"hidden": [4]},
             "train": {"epochs": 1, "batch_size": 8, "max_len": 20}}
    res = invoke("train", d / "encoded.npz", d / "splits.tsv", "--spec", json.dumps(train),
                 "--name", "mlp", "--out", model, "--device", "cpu", "--quiet", "--seed", "0")
    assert res.exit_code == 0, res.output
    names = json.loads((model / "model.json").read_text())["class_names"]
    assert sorted(names) == sorted(ODD_NAMES)
    pred = tsv_rows(model / "predictions.tsv")
    assert {r["true"] for r in pred} == set(ODD_NAMES)
    assert {r["predicted"] for r in pred} <= set(ODD_NAMES)
    assert {f"p_{n}" for n in ODD_NAMES} <= set(pred[0])
    res = invoke("predict", model, tmp_path / "in.fa", "-o", tmp_path / "out.tsv",
                 "--device", "cpu", "--no-nearest")
    assert res.exit_code == 0, res.output
    out = tsv_rows(tmp_path / "out.tsv")
    assert [r["id"] for r in out[::4]] == ODD_NAMES
    assert {r["predicted"] for r in out} <= set(ODD_NAMES)
    res = invoke("baselines", d / "sequences.tsv", d / "splits.tsv", "--task", "multiclass",
                 "-o", d / "baselines.json")
    assert res.exit_code == 0, res.output
    res = invoke("check", d, "--models", "mlp", "--controls", "", "--bootstrap", "10",
                 "-o", d / "checks.json")
    assert res.exit_code == 0, (res.output, res.exception)
    checks = json.loads((d / "checks.json").read_text())
    assert checks["models"]["mlp"]["task"] == "multiclass"


# ----------------------------------------------------------------------------- item 6 and
# the low items: the encoded store is validated on load

def _store_arrays() -> dict[str, np.ndarray]:
    """The members of a small valid binary store (3 records, 10 residues)."""
    return {"tokens": np.array([1, 2, 3, 4, 21, 5, 6, 7, 8, 9], np.uint8),
            "offsets": np.array([0, 4, 5, 10], np.int64),
            "ids": np.array(["a", "b", "c"]), "labels": np.array([0, 1, 0], np.int64),
            "task": np.array("binary"), "class_names": np.array(["neg", "pos"])}


def _load(path: Path):  # noqa: ANN202 - an EncodedDataset
    from seqnn.data.store import load_encoded

    return load_encoded(path)


def test_a_valid_uncompressed_store_loads_mapped(tmp_path: Path) -> None:
    np.savez(tmp_path / "e.npz", **_store_arrays())
    ds = _load(tmp_path / "e.npz")
    assert isinstance(ds.tokens, np.memmap)
    assert [ds.sequence(i) for i in range(3)] == ["ACDE", "X", "FGHIK"]


def test_a_small_compressed_store_is_still_read(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "c.npz", **_store_arrays())
    assert _load(tmp_path / "c.npz").ids.tolist() == ["a", "b", "c"]


def test_a_deflated_member_too_large_to_read_is_refused_unread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The zip bomb of item 6 at a small scale: 8 MiB of deflated zeros (a few KB on disk)
    against a 1 MiB limit, refused from the central directory before any byte is inflated."""
    from seqnn.data import store

    monkeypatch.setattr(store, "MAX_READ_BYTES", 1 << 20)
    arrays = _store_arrays()
    arrays["tokens"] = np.zeros(8 << 20, np.uint8)
    arrays["offsets"] = np.array([0, 4, 5, 8 << 20], np.int64)
    np.savez_compressed(tmp_path / "bomb.npz", **arrays)
    assert (tmp_path / "bomb.npz").stat().st_size < 100_000

    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was opened for reading")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_read)
    with pytest.raises(store.SeqnnInputError) as err:
        _load(tmp_path / "bomb.npz")
    assert str(err.value) == (
        f"{tmp_path / 'bomb.npz'}: member tokens.npy (compressed) expands to "
        f"{(8 << 20) + 128} bytes, over the 1048576 bytes read into memory; write the store "
        "with `seqnn encode` (uncompressed, memory-mapped)")


BAD_STORES = [
    ("token 22", {"tokens": np.array([1, 2, 3, 4, 22, 5, 6, 7, 8, 9], np.uint8)},
     "member tokens.npy: holds token 22; residues are 1..21"),
    ("token 0", {"tokens": np.array([1, 2, 3, 4, 0, 5, 6, 7, 8, 9], np.uint8)},
     "member tokens.npy: holds token 0; residues are 1..21"),
    ("tokens int64", {"tokens": np.arange(1, 11, dtype=np.int64)},
     "member tokens.npy: must be 1-d uint8, got 1-d int64"),
    ("decreasing", {"offsets": np.array([0, 6, 5, 10], np.int64)},
     "member offsets.npy: decrease at record 1"),
    ("last != len", {"offsets": np.array([0, 4, 5, 9], np.int64)},
     "member offsets.npy: must run from 0 to the 10 tokens, got 0..9"),
    ("negative", {"offsets": np.array([-1, 4, 5, 10], np.int64)},
     "member offsets.npy: must run from 0 to the 10 tokens, got -1..10"),
    ("float offsets", {"offsets": np.array([0, 4, 5, 10], np.float64)},
     "member offsets.npy: must be 1-d integers"),
    ("ids short", {"ids": np.array(["a", "b"])},
     "member ids.npy: must be 3 strings (one per record), got shape (2,)"),
    ("labels long", {"labels": np.array([0, 1, 0, 1], np.int64)},
     "member labels.npy: must be 3 numbers (one row per record), got shape (4,)"),
    ("task", {"task": np.array("binary\n")}, "member task.npy: must be one of"),
    ("class newline", {"class_names": np.array(["neg", "p\nos"])},
     "class names must hold no control character, got 'p\\nos'"),
    ("class empty", {"class_names": np.array(["neg", ""])},
     "class names must be distinct and non-empty strings, got ''"),
    ("class twice", {"class_names": np.array(["neg", "neg"])},
     "class names must be distinct and non-empty, got 'neg' twice"),
    ("class long", {"class_names": np.array(["neg", "p" * 201])},
     "class names must be at most 200 characters"),
]


@pytest.mark.parametrize("change, reason", [c[1:] for c in BAD_STORES],
                         ids=[c[0] for c in BAD_STORES])
def test_an_inconsistent_store_is_refused_in_one_line(tmp_path: Path, change: dict,
                                                      reason: str) -> None:
    from seqnn.errors import SeqnnInputError

    for save in (np.savez, np.savez_compressed):
        save(tmp_path / "e.npz", **{**_store_arrays(), **change})
        with pytest.raises(SeqnnInputError) as err:
            _load(tmp_path / "e.npz")
        assert str(err.value).startswith(f"{tmp_path / 'e.npz'}: ")
        assert reason in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_a_mapped_header_that_overruns_its_member_is_refused(tmp_path: Path) -> None:
    """A stored tokens.npy whose header claims more residues than the member holds (it
    would map the bytes of the next members, or past the end of the file)."""
    from seqnn.errors import SeqnnInputError

    arrays = _store_arrays()
    arrays["tokens"] = np.full(40, 3, np.uint8)
    arrays["offsets"] = np.array([0, 4, 5, 40], np.int64)
    np.savez(tmp_path / "e.npz", **arrays)
    raw = (tmp_path / "e.npz").read_bytes()
    assert raw.count(b"'shape': (40,)") == 1
    (tmp_path / "e.npz").write_bytes(raw.replace(b"'shape': (40,)", b"'shape': (90,)"))
    with pytest.raises(SeqnnInputError, match=r"member tokens.npy: its header describes 90 "
                       r"bytes of data, the member holds 40"):
        _load(tmp_path / "e.npz")


def test_train_on_a_corrupt_store_exits_2_without_output(tmp_path: Path) -> None:
    arrays = _store_arrays()
    arrays["tokens"][0] = 200
    np.savez(tmp_path / "e.npz", **arrays)
    (tmp_path / "splits.tsv").write_text("id\tsplit\na\ttrain\nb\ttrain\nc\tvalid\n")
    res = invoke("train", tmp_path / "e.npz", tmp_path / "splits.tsv", "--spec",
                 json.dumps({"model": "mlp", "train": {"epochs": 1}}), "--out",
                 tmp_path / "m", "--device", "cpu", "--quiet")
    assert_one_line_error(res, "member tokens.npy: holds token 200")
    assert not (tmp_path / "m").exists()


# ----------------------------------------------------------------------------- item 23:
# calibration before/after temperature scaling in metrics.json

@pytest.fixture(scope="module")
def binary_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny binary mlp trained by the CLI on two of the odd classes ('NA', '001'): the
    folder holds s.tsv, splits.tsv, e.npz and the model folder m."""
    tmp_path = tmp_path_factory.mktemp("binary")
    _odd_dataset(tmp_path)
    rows = tsv_rows(tmp_path / "labels.tsv")
    seqs = {r.split("\n")[0]: r.split("\n")[1] for r in
            (tmp_path / "in.fa").read_text().lstrip(">").split("\n>")}
    keep = [r for r in rows if r["label"] in ("NA", "001")]
    (tmp_path / "s.tsv").write_text("id\tsequence\tlabel\n" + "".join(
        f"{r['id']}\t{seqs[r['id']]}\t{r['label']}\n" for r in keep))
    res = invoke("encode", tmp_path / "s.tsv", "--task", "binary", "-o", tmp_path / "e.npz")
    assert res.exit_code == 0, res.output
    spec = {"model": "mlp", "params": {"hidden": [4]},
            "train": {"epochs": 2, "batch_size": 4, "max_len": 20}}
    res = invoke("train", tmp_path / "e.npz", tmp_path / "splits.tsv", "--spec",
                 json.dumps(spec), "--out", tmp_path / "m", "--device", "cpu", "--quiet",
                 "--seed", "0")
    assert res.exit_code == 0, res.output
    return tmp_path


def test_metrics_json_holds_calibration_per_split(binary_run: Path) -> None:
    """Binary training writes ``calibration`` for every labelled split; the temperature is
    model.json's and the test split's numbers are the ones the report plots."""
    from seqnn.report.calibration_plots import test_calibration
    from seqnn.training.evaluation import CALIBRATION_KEYS

    tmp_path = binary_run
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    for split in ("train", "valid", "test"):
        calib = metrics[split]["calibration"]
        assert tuple(calib) == CALIBRATION_KEYS
        assert calib["temperature"] == meta["temperature"]
        assert calib["n"] == metrics[split]["n"]
    assert metrics["train"]["calibration"]["n"] == 4 and metrics["test"]["calibration"]["n"] == 2
    plotted = test_calibration(tmp_path / "m" / "predictions.tsv", meta["class_names"],
                               meta["temperature"])
    for key in CALIBRATION_KEYS[2:]:
        assert metrics["test"]["calibration"][key] == pytest.approx(plotted[key], abs=1e-6)


def test_the_report_metrics_table_leaves_the_calibration_object_out() -> None:
    from seqnn.report.models import _metrics_table

    table = _metrics_table({"test": {"mcc": 0.5, "n": 3, "calibration": {"ece_before": 0.1}}})
    assert "0.500" in table and "calibration" not in table and "ece_before" not in table


def test_calibration_metrics_by_task() -> None:
    from seqnn.calibration import calibration_summary, label_calibration_summary
    from seqnn.training.evaluation import calibration_metrics

    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    y = np.array([0, 1, 1, 1])
    got = calibration_metrics("binary", y, probs, 2.0, ["a", "b"])
    want = calibration_summary(probs, y, 2.0)
    assert got == {k: want[k] for k in ("temperature", "n", "ece_before", "ece_after",
                                        "brier_before", "brier_after", "nll_before",
                                        "nll_after")}
    # top-label gaps |1 - .9|, |1 - .8|, |0 - .6|, |1 - .7|, one per bin
    assert got["ece_before"] == pytest.approx(0.3) and got["temperature"] == 2.0
    multi = np.array([[0.9, 0.2], [0.3, 0.6]])
    targets = np.array([[1, 0], [0, 1]], np.float32)
    got = calibration_metrics("multilabel", targets, multi, [1.5, 0.5], ["x", "y"])
    want = label_calibration_summary(multi, targets, [1.5, 0.5], ["x", "y"])
    assert got["temperature"] == {"x": 1.5, "y": 0.5}
    assert got["brier_before"] == pytest.approx(want["brier_before"])
    assert got["brier_before"] == pytest.approx(((0.1**2 + 0.3**2) / 2 + (0.2**2 + 0.4**2) / 2) / 2)
    assert calibration_metrics("regression", np.zeros(2), np.zeros((2, 1)), 1.0, []) is None
    assert calibration_metrics("binary", None, probs, 1.0, ["a", "b"]) is None
    assert calibration_metrics("binary", y, probs, None, ["a", "b"]) is None


# ----------------------------------------------------------------------------- model.json:
# the input encoding and the class names are checked on load

def _edited_model(run: Path, dest: Path, change: dict, drop: tuple[str, ...] = ()) -> Path:
    """A copy of the trained model folder whose model.json has ``change`` applied (a
    ``params`` dict is merged) and the keys ``drop`` removed."""
    import shutil

    shutil.copytree(run / "m", dest)
    meta = json.loads((dest / "model.json").read_text())
    for key, value in change.items():
        meta[key] = {**meta[key], **value} if key == "params" else value
    for key in drop:
        meta.pop(key)
    (dest / "model.json").write_text(json.dumps(meta))
    return dest


def test_the_input_encoding_is_recorded(binary_run: Path) -> None:
    from safetensors import safe_open

    from seqnn.modelmeta import input_encoding

    meta = json.loads((binary_run / "m" / "model.json").read_text())
    assert meta["input_encoding"] == input_encoding("onehot")
    assert input_encoding("onehot").startswith("onehot:sha256:")
    assert input_encoding("blosum62").startswith("blosum62:sha256:")
    assert input_encoding("onehot") != input_encoding("blosum62").replace("blosum62", "onehot")
    with safe_open(str(binary_run / "m" / "model.safetensors"), framework="pt") as fh:
        assert fh.metadata()["seqnn_input_encoding"] == input_encoding("onehot")


def test_predict_refuses_a_model_json_edited_to_another_input(binary_run: Path,
                                                              tmp_path: Path) -> None:
    """onehot -> blosum62 keeps every shape (21 channels), so only the record can tell."""
    model = _edited_model(binary_run, tmp_path / "m", {"params": {"input": "blosum62"}})
    res = invoke("predict", model, binary_run / "in.fa", "-o", tmp_path / "out.tsv",
                 "--device", "cpu", "--no-nearest")
    assert_one_line_error(res, f"{model / 'model.json'}: 'input_encoding' is 'onehot:sha256:",
                          "but params.input 'blosum62' is 'blosum62:sha256:",
                          "model.json was edited after training")
    assert not (tmp_path / "out.tsv").exists()


def test_the_weights_refuse_an_edited_input_without_the_record(binary_run: Path,
                                                               tmp_path: Path) -> None:
    import seqnn
    from seqnn.errors import CheckpointError

    model = _edited_model(binary_run, tmp_path / "m", {"params": {"input": "blosum62"}},
                          drop=("input_encoding",))
    with pytest.raises(CheckpointError) as err:
        seqnn.load(str(model), device="cpu")
    assert str(err.value) == (
        f"{model / 'model.json'}: 'params.input' 'blosum62' does not match the weights, "
        "trained on 'onehot' input: model.json was edited after training (restore "
        "params.input)")


def test_a_model_json_without_the_record_still_loads(binary_run: Path, tmp_path: Path) -> None:
    """Model folders of earlier versions have no input_encoding."""
    import seqnn

    model = _edited_model(binary_run, tmp_path / "m", {}, drop=("input_encoding",))
    out = seqnn.load(str(model), device="cpu").predict([("a", "KKKKWLRAGG")])
    assert len(out) == 1


@pytest.mark.parametrize("names, reason", [
    (["NA", "0\t01"], "class names must hold no control character, got '0\\t01'"),
    (["NA", "0\x1b[2J"], "class names must hold no control character"),
    (["NA", "a\u202eb"], "class names must hold no control character"),
    (["NA", ""], "class names must be distinct and non-empty strings, got ''"),
    (["NA", "x" * 201], "class names must be at most 200 characters"),
])
def test_a_model_json_with_unusable_class_names_is_refused(binary_run: Path, tmp_path: Path,
                                                           names: list, reason: str) -> None:
    import seqnn
    from seqnn.errors import CheckpointError
    from seqnn.modelmeta import read_model_info

    model = _edited_model(binary_run, tmp_path / "m", {"class_names": names})
    for load in (lambda: seqnn.load(str(model), device="cpu"), lambda: read_model_info(model)):
        with pytest.raises(CheckpointError) as err:
            load()
        assert str(err.value).startswith(f"{model / 'model.json'}: 'class_names' is invalid: ")
        assert reason in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("label", ["p\tos", "p\x07os", "p\u2028os"])
def test_training_refuses_class_names_with_control_characters(tmp_path: Path,
                                                              label: str) -> None:
    """Label strings of a FASTA header (a tab or a control character inside a field) never
    become class names: encode and train stop with one line."""
    from seqnn.data.tables import check_label_set
    from seqnn.errors import SeqnnInputError

    with pytest.raises(SeqnnInputError, match="class names must hold no control character"):
        check_label_set("binary", np.array([0, 1]), ["neg", label], "e.npz")
    arrays = {**_store_arrays(), "class_names": np.array(["neg", label])}
    np.savez(tmp_path / "e.npz", **arrays)
    (tmp_path / "splits.tsv").write_text("id\tsplit\na\ttrain\nb\ttrain\nc\tvalid\n")
    res = invoke("train", tmp_path / "e.npz", tmp_path / "splits.tsv", "--spec",
                 json.dumps({"model": "mlp", "train": {"epochs": 1}}), "--out",
                 tmp_path / "m", "--device", "cpu", "--quiet")
    assert_one_line_error(res, "class names must hold no control character")


# ----------------------------------------------------------------------------- what an error
# message shows of a wrong file, non-regular label tables, --prefix

def test_a_non_fasta_file_is_echoed_at_most_20_escaped_characters(tmp_path: Path) -> None:
    secret = "-----BEGIN OPENSSH PRIVATE KEY-----\x1b[31mb3BlbnNzaC1rZXktdjEAAAA\n"
    (tmp_path / "key").write_text(secret)
    res = invoke("inspect", tmp_path / "key")
    assert_one_line_error(res)
    assert res.stderr == (f"seqnn: error: {tmp_path / 'key'}: not FASTA: no '>' header "
                          "before '-----BEGIN OPENSSH P'...\n")


def test_a_header_with_a_control_character_is_echoed_short(tmp_path: Path) -> None:
    from seqnn.data.fasta import read_fasta
    from seqnn.errors import SeqnnInputError

    (tmp_path / "in.fa").write_text(">P1 some very long description\x1b[2J of it\nACDE\n")
    with pytest.raises(SeqnnInputError) as err:
        read_fasta(tmp_path / "in.fa")
    assert err.value.reason == ("control character '\\x1b' in the header "
                                "'P1 some very long de'...")


def test_a_table_that_is_not_one_shows_its_header_short(tmp_path: Path) -> None:
    from seqnn.errors import SeqnnInputError

    (tmp_path / "l.tsv").write_text("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 user@host\n"
                                    "x\n")
    with pytest.raises(SeqnnInputError) as err:
        read_table(tmp_path / "l.tsv", ["id", "label"])
    assert err.value.reason == ("missing column(s) id, label; columns are "
                                "'ssh-rsa AAAAB3NzaC1y'...")


def test_a_label_table_that_is_a_device_is_refused_before_reading() -> None:
    from seqnn.errors import SeqnnInputError

    with pytest.raises(SeqnnInputError) as err:
        read_table("/dev/zero", ["id", "label"])
    assert str(err.value) == ("/dev/zero: is not a regular file (a device, pipe or socket); "
                              "give a file or - for stdin")


def test_ingest_with_labels_from_a_device_exits_2(tmp_path: Path) -> None:
    (tmp_path / "in.fa").write_text(">a\nACDE\n>b\nKLMN\n")
    spec = {"task": "binary", "inputs": [{"fasta": str(tmp_path / "in.fa"),
                                          "labels": "/dev/zero"}]}
    res = invoke("ingest", "--spec", json.dumps(spec), "-o", tmp_path / "s.tsv")
    assert_one_line_error(res, "/dev/zero: is not a regular file")
    assert not (tmp_path / "s.tsv").exists()


@pytest.mark.parametrize("prefix, shown", [
    ("gen\nACDE", "'gen\\nACDE'"), ("a b", "'a b'"), (">x", "'>x'"), ("", "''"),
    ("g\x00", "'g\\x00'"), ("x" * 65, "'xxxxxxxxxxxxxxxxxxxx'..."),
])
def test_generate_refuses_a_prefix_that_breaks_the_fasta(tmp_path: Path, prefix: str,
                                                         shown: str) -> None:
    res = invoke("generate", tmp_path / "no-model", "--prefix", prefix, "-n", "2",
                 "-o", tmp_path / "g.fa")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr == (f"seqnn: error: --prefix {shown}: a record id prefix must be 1 to "
                          "64 printable characters without spaces or '>'\n")
    assert not (tmp_path / "g.fa").exists()


# ----------------------------------------------------------------------------- properties:
# a model folder or an encoded store mutated at random loads or raises a SeqnnError

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ODD_TEXT = st.sampled_from(["onehot", "blosum62", "embedding", "NA", "null", "a\nb", "\x00",
                            "x" * 300, "\u202e", "", "binary", "multiclass", "mlp", ";"])
SCALARS = (st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats()
           | st.text(max_size=6) | ODD_TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=4) | ODD_TEXT, inner, max_size=3),
                      max_leaves=6)
META_KEYS = ["format_version", "model", "task", "class_names", "n_outputs", "max_len",
             "truncate", "alphabet_policy", "drop_gaps", "ensemble", "identity_threshold",
             "temperature", "thresholds", "label_separator", "input_encoding", "best_epoch",
             "member_best_epochs"]
PARAM_KEYS = ["input", "hidden", "embed_dim", "pool", "activation", "dropout"]
DELETE = object()


@st.composite
def meta_changes(draw: st.DrawFn) -> list[tuple[tuple[str, ...], object]]:
    """One to three ``(key path, value)`` changes; ``DELETE`` removes the key."""
    changes = []
    for _ in range(draw(st.integers(1, 3))):
        path = (draw(st.sampled_from(META_KEYS)),) if draw(st.booleans()) else (
            "params", draw(st.sampled_from(PARAM_KEYS)))
        changes.append((path, draw(st.just(DELETE) | VALUES)))
    return changes


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@example(changes=[(("params", "input"), "blosum62")])
@example(changes=[(("class_names",), ["NA", "a\nb"])])
@example(changes=[(("input_encoding",), DELETE), (("params", "input"), "embedding")])
@given(changes=meta_changes())
def test_a_mutated_model_json_loads_or_raises_a_seqnn_error(binary_run: Path,
                                                            changes: list) -> None:
    import shutil
    import tempfile

    import seqnn
    from seqnn.errors import SeqnnError
    from seqnn.modelmeta import read_model_info

    meta = json.loads((binary_run / "m" / "model.json").read_text())
    for path, value in changes:
        node = meta
        for key in path[:-1]:
            node = node.setdefault(key, {}) if isinstance(node, dict) else None
        if isinstance(node, dict):
            if value is DELETE:
                node.pop(path[-1], None)
            else:
                node[path[-1]] = value
    with tempfile.TemporaryDirectory(prefix="seqnn-integrity-") as name:
        model = Path(name) / "m"
        shutil.copytree(binary_run / "m", model)
        (model / "model.json").write_text(json.dumps(meta))
        try:
            read_model_info(model)
        except SeqnnError as exc:
            assert "\n" not in str(exc), str(exc)
        try:
            out = seqnn.load(str(model), device="cpu").predict([("a", "KKKKWLRAGG")])
        except SeqnnError as exc:
            assert "\n" not in str(exc), str(exc)
        else:
            assert len(out) == 1


DTYPES = st.sampled_from(["u1", "i1", "i8", "u8", "f4", "f8", "?", "U3", "S2"])


@st.composite
def store_changes(draw: st.DrawFn) -> tuple[dict, bool, list[tuple[int, int]], float]:
    """Member replacements (``DELETE`` removes one), compression, byte flips (position
    fraction, xor) and the kept fraction of the file."""
    members: dict = {}
    for name in draw(st.lists(st.sampled_from(["tokens", "offsets", "ids", "labels", "task",
                                               "class_names", "label_separator", "extra"]),
                              max_size=2, unique=True)):
        if draw(st.booleans()):
            members[name] = DELETE
            continue
        shape = tuple(draw(st.lists(st.integers(0, 5), max_size=2)))
        dtype = np.dtype(draw(DTYPES))
        raw = draw(st.lists(st.integers(0, 255), min_size=max(1, int(np.prod(shape))),
                            max_size=max(1, int(np.prod(shape)))))
        members[name] = np.array(raw[:int(np.prod(shape))]).astype(dtype).reshape(shape)
    flips = draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=3))
    keep = draw(st.sampled_from([1.0, 1.0, 1.0, 0.9, 0.5]))
    return members, draw(st.booleans()), flips, keep


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@example(change=({"tokens": np.array([1, 30], np.uint8)}, False, [], 1.0))
@example(change=({"offsets": np.array([0, 3, 2, 10])}, True, [], 1.0))
@example(change=({}, True, [(28, 1)], 1.0))  # zlib.error: invalid code lengths set
@given(change=store_changes())
def test_a_mutated_store_loads_or_raises_a_seqnn_error(change: tuple) -> None:
    import tempfile

    from seqnn.errors import SeqnnError

    members, compressed, flips, keep = change
    arrays = {**_store_arrays(), **members}
    arrays = {k: v for k, v in arrays.items() if v is not DELETE}
    with tempfile.TemporaryDirectory(prefix="seqnn-integrity-") as name:
        path = Path(name) / "e.npz"
        (np.savez_compressed if compressed else np.savez)(path, **arrays)
        data = bytearray(path.read_bytes())
        for where, xor in flips:
            data[where % len(data)] ^= xor
        path.write_bytes(bytes(data[:max(1, int(len(data) * keep))]))
        try:
            ds = _load(path)
        except SeqnnError as exc:
            assert "\n" not in str(exc), str(exc)
            return
        n = len(ds)
        seqs = [ds.sequence(i) for i in range(n)]  # every record readable, in range
        assert all(set(s) <= set("ACDEFGHIKLMNPQRSTVWYX") for s in seqs)
        assert len(ds.ids) == n and (ds.labels is None or len(ds.labels) == n)
        sub = ds.subset(np.arange(n)[::-1])
        assert [sub.sequence(i) for i in range(n)] == seqs[::-1]
