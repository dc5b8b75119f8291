"""`seqnn explain` and `Predictor.explain`: attributions and mutagenesis of a tiny CNN trained
once on a planted motif."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import seqnn
from seqnn.cli import main
from seqnn.encode import encode_table
from seqnn.inference.explain import explainer_for
from seqnn.models import get_model
from seqnn.runtime.checkpoint import save_model
from seqnn.train import TrainConfig, train_model

MOTIF = "WHW"
BACKGROUND = [c for c in "ACDEFGHIKLMNPQRSTVWY" if c not in "WH"]


def records(n: int, seed: int) -> list[tuple[str, str, str, int]]:
    """``(id, seq, label, start)``: 30 residues without W/H except three at ``start``: the
    motif WHW in 'pos' records, HWW or WWH (same composition) in 'neg' ones."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        s = list(rng.choice(BACKGROUND, 30))
        start = int(rng.integers(0, 27))
        s[start : start + 3] = MOTIF if i % 2 == 0 else ("HWW" if i % 4 == 1 else "WWH")
        out.append((f"r{seed}_{i}", "".join(s), "pos" if i % 2 == 0 else "neg", start))
    return out


def encode(recs):
    return encode_table([r[0] for r in recs], [r[1] for r in recs], [r[2] for r in recs],
                        "binary", ["neg", "pos"])


@pytest.fixture(scope="module")
def motif_model(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("explain")
    cfg = TrainConfig(epochs=12, batch_size=16, device="cpu", quiet=True, max_len=30, seed=0,
                      lr=0.01)
    train_model(encode(records(160, 1)), encode(records(40, 2)), model_name="cnn",
                model_params={"channels": [8], "kernel_size": 3, "head_hidden": 0,
                              "dropout": 0.0}, config=cfg, out_dir=root / "m")
    test = records(16, 3)
    fa = root / "test.fa"
    fa.write_text("".join(f">{r[0]}\n{r[1]}\n" for r in test))
    return {"dir": root / "m", "test": test, "fa": fa, "predictor": seqnn.load(root / "m", "cpu")}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("method", ["gradxinput", "ig", "ism"])
def test_attributions_peak_on_the_planted_motif(motif_model, method) -> None:
    test = motif_model["test"]
    ex = explainer_for(motif_model["predictor"])
    items = ex.explain([r[0] for r in test], [r[1] for r in test], method, target="pos")
    for rec, item in zip(test, items, strict=True):
        assert item.target == "pos" and item.seq == rec[1]
        assert item.positions.tolist() == list(range(1, 31))
        if rec[2] == "pos":
            motif = {rec[3], rec[3] + 1, rec[3] + 2}
            assert set(np.argsort(-item.scores)[:2].tolist()) <= motif, (method, rec)


def test_mutating_the_motif_lowers_the_positive_logit_by_the_predicted_change(motif_model):
    pred = motif_model["predictor"]
    rid, seq, label, start = next(r for r in motif_model["test"] if r[2] == "pos")
    table = pred.explain({rid: seq}, method="ism")
    assert list(table.columns) == ["id", "position", "wt", "mt", "delta", "target"]
    assert len(table) == 30 * 19 and (table["wt"] != table["mt"]).all()
    assert set(table["target"]) == {"pos"}  # the predicted class of the wild type
    motif = table[table["position"].between(start + 1, start + 3)]
    assert (motif["delta"] < 0).mean() > 0.9  # breaking WHW lowers the positive logit
    row = motif.iloc[0]
    mutant = seq[: row.position - 1] + row.mt + seq[row.position:]
    raw = seqnn.load(motif_model["dir"], "cpu")
    raw.temperature = 1.0  # the logit itself, before the calibration predict applies
    p = raw.predict({"wt": seq, "mt": mutant})["p_pos"].to_numpy(dtype=float)
    logit = np.log(p / (1 - p))
    assert row.delta == pytest.approx(logit[1] - logit[0], abs=1e-4)


def test_ism_windows_cover_every_position(motif_model):
    ex = explainer_for(motif_model["predictor"])
    seq = motif_model["test"][0][1]
    [whole] = ex.explain(["a"], [seq], "ism")
    [windowed] = ex.explain(["a"], [seq], "ism", ism_max_len=12)
    assert (np.count_nonzero(windowed.matrix, axis=1) > 0).all()
    assert windowed.matrix.shape == whole.matrix.shape == (30, 20)


def test_positions_follow_the_truncation_rule(motif_model):
    ex = explainer_for(motif_model["predictor"])
    [item] = ex.explain(["long"], ["A" * 20 + "W" * 20], "gradxinput")  # max_len 30, 'ends'
    assert item.positions.tolist() == [*range(1, 16), *range(26, 41)]
    assert item.seq == "A" * 15 + "W" * 15


def test_cli_writes_tsv_npz_and_plots(motif_model, tmp_path):
    two = tmp_path / "two.fa"
    two.write_text(">a/1\nACDWHWKLMNPQ\n>a:1\nWWHAAA\n")  # both ids sanitise to a_1
    res = run("explain", motif_model["dir"], two, "--plot", tmp_path / "png")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(io.StringIO(res.stdout), sep="\t")
    assert list(df.columns) == ["id", "position", "residue", "score", "target"]
    assert df["id"].tolist() == ["a/1"] * 12 + ["a:1"] * 6
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["a_1.png", "a_1_2.png"]
    res = run("explain", motif_model["dir"], motif_model["fa"], "-o", tmp_path / "x.tsv")
    assert res.exit_code == 0 and len(pd.read_csv(tmp_path / "x.tsv", sep="\t")) == 16 * 30
    res = run("explain", motif_model["dir"], motif_model["fa"], "-o", tmp_path / "x.npz",
              "--method", "ism", "--target", "neg")
    assert res.exit_code == 0, res.output
    d = np.load(tmp_path / "x.npz")
    assert d["delta"].shape == (16 * 30, 20) and d["offsets"][-1] == 16 * 30
    assert set(d["targets"].tolist()) == {"neg"}


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "maybe"], "'maybe' is not a class of this model (classes: neg, pos)"),
    (["-o", "{tmp}/x.csv"], "must end in .tsv or .npz"),
    (["--plot", "{tmp}/full"], "--plot needs a new or empty folder"),
    (["--chunk-size", "1", "--plot", "{tmp}/new"], "empty sequence"),
])
def test_cli_errors_are_one_line_exit_2_without_output(motif_model, tmp_path, args, message):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    fa = tmp_path / "in.fa"
    fa.write_text(">a\nACDWHWKLMNPQ\n>bad\n\n")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out.tsv")]
    res = run("explain", motif_model["dir"], fa, *args)
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1 and message in res.output, res.output
    assert not (tmp_path / "out.tsv").exists() and not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "in.fa"]


def test_an_autoencoder_is_refused(tmp_path):
    model = get_model("autoencoder", n_outputs=1, task="unsupervised", channels=[8],
                      decoder_channels=[8], latent_dim=4, kernel_size=3)
    save_model(tmp_path / "ae", model, {"task": "unsupervised", "class_names": [],
                                        "n_outputs": 1, "max_len": 20, "truncate": "right"})
    (tmp_path / "x.fa").write_text(">a\nMKVLAAGIC\n")
    res = run("explain", tmp_path / "ae", tmp_path / "x.fa", "-o", tmp_path / "o.tsv")
    assert res.exit_code == 2 and "explain needs a supervised model" in res.output
    assert not (tmp_path / "o.tsv").exists()


def composition_model(tmp_path):
    """A hand-built linear model on residue frequencies (mean-pooled one-hot): a pure
    composition shortcut, weights = 10 x (class frequency difference)."""
    from seqnn.data.alphabet import STANDARD

    model = get_model("mlp", n_outputs=1, task="binary", pool="mean", log_length=False,
                      hidden=[], dropout=0.0)
    pos, neg = composition_probs()
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.weight[0, :20] = torch.tensor(10 * (pos - neg) * 20, dtype=torch.float32)
        model.out.bias.zero_()
    save_model(tmp_path / "comp", model, {"task": "binary", "class_names": ["neg", "pos"],
                                          "n_outputs": 1, "max_len": 60, "truncate": "right"})
    assert len(STANDARD) == 20
    return seqnn.load(tmp_path / "comp", "cpu")


def composition_probs():
    from seqnn.data.alphabet import STANDARD

    pos, neg = np.ones(20), np.ones(20)
    for r, w in (("K", 4), ("R", 2)):
        pos[STANDARD.index(r)] = w
    for r, w in (("D", 4), ("E", 2)):
        neg[STANDARD.index(r)] = w
    return pos / pos.sum(), neg / neg.sum()


def test_attribution_summary_flags_a_composition_model_not_a_motif_model(motif_model,
                                                                       tmp_path):
    from seqnn.data.alphabet import STANDARD
    from seqnn.inference.attribution_summary import summarize

    rng = np.random.default_rng(5)
    pos, neg = composition_probs()
    labels = ["pos", "neg"] * 20
    seqs = ["".join(rng.choice(list(STANDARD), 50, p=pos if c == "pos" else neg))
            for c in labels]
    comp = summarize(composition_model(tmp_path), [f"c{i}" for i in range(40)], seqs, labels)
    assert comp["residues"]["eta2"] == pytest.approx(1.0)
    assert comp["residues"]["rho"] > 0.6
    assert any(f.startswith("attributions track composition") for f in comp["flags"])
    assert comp["termini"]["residue_share"] == pytest.approx(0.2)
    assert len(comp["maps"]) == 4 and {m["class"] for m in comp["maps"]} == {"pos", "neg"}
    test = motif_model["test"]
    motif = summarize(motif_model["predictor"], [r[0] for r in test], [r[1] for r in test],
                      [r[2] for r in test])
    assert motif["flags"] == [] and motif["n"] == 16


def test_a_terminal_attribution_is_flagged():
    from seqnn.inference.attribution_summary import _record_stats, flags

    a = np.zeros(40)
    a[[0, 1, 39]] = 1.0
    a[20] = 0.5
    s = _record_stats("A" * 40, a)
    assert s["term_mass"] == pytest.approx(3 / 3.5) and s["term_res"] == pytest.approx(0.2)
    summary = {"termini": {"fraction": 0.1, "attribution_share": s["term_mass"],
                           "residue_share": s["term_res"],
                           "ratio": s["term_mass"] / s["term_res"]},
               "residues": {"eta2": None, "rho": None}}
    assert flags(summary)[0].startswith("attributions concentrate on the termini: 86%")


def test_evaluate_writes_the_attribution_summary(motif_model, tmp_path):
    import shutil

    ds = tmp_path / "results" / "motif"
    shutil.copytree(motif_model["dir"], ds / "models" / "cnn")
    test = motif_model["test"]
    pd.DataFrame({"id": [r[0] for r in test], "sequence": [r[1] for r in test],
                  "label": [r[2] for r in test], "source": "x"}).to_csv(
        ds / "sequences.tsv", sep="\t", index=False)
    pd.DataFrame({"id": [r[0] for r in test], "split": ["test"] * 16, "cluster": 0}).to_csv(
        ds / "splits.tsv", sep="\t", index=False)
    res = run("evaluate", ds / "models" / "cnn", "-o", ds / "models" / "cnn" / "plots")
    assert res.exit_code == 0, res.output
    summary = json.loads((ds / "models" / "cnn" / "plots" / "attributions.json").read_text())
    assert summary["n"] == 16 and summary["flags"] == []
    assert set(summary["residues"]["by_class"]) == {"pos", "neg"}


@pytest.mark.parametrize("method", ["gradxinput", "ig"])
def test_attributions_of_an_embedding_rnn_whose_conv_is_folded_in_training(tmp_path, method):
    # the AMP Scanner shape: training folds the embedding into the conv; attributions need
    # the input features, so the hooked input layer keeps the unfolded path
    torch.manual_seed(0)
    model = get_model("rnn", n_outputs=1, task="binary", input="embedding", embed_dim=32,
                      conv_channels=4, conv_kernel=4, conv_pool=2, hidden_size=3,
                      bidirectional=False, dropout=0.0)
    save_model(tmp_path / "m", model, {"model": "rnn", "params": model.config, "task": "binary",
                                       "class_names": ["neg", "pos"], "n_outputs": 1,
                                       "max_len": 30, "truncate": "ends"})
    ex = explainer_for(seqnn.load(tmp_path / "m", "cpu"))
    items = ex.explain(["a", "b"], ["ACDEFGHIKLMNPQ", "KKKWWW"], method, target="pos")
    assert [len(i.scores) for i in items] == [14, 6]
    assert all(np.isfinite(i.scores).all() and np.abs(i.scores).sum() > 0 for i in items)
