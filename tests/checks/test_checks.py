"""The honesty checks: control transforms, per-bin metrics, verdicts on planted cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqnn.checks.baselines import baselines_from_files
from seqnn.checks.bins import length_bins, metric_by_bins
from seqnn.checks.verdict import CheckSettings, run_checks
from seqnn.config import TrainConfig
from seqnn.data.controls import permute_labels, shuffle_residues
from seqnn.data.files import write_table
from seqnn.encode import encode_table
from seqnn.training.job import run_training

AA = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


def test_shuffle_residues_keeps_length_and_composition() -> None:
    ds = encode_table(["a", "b", "c"], ["ACDEFGHIKL", "KKKKE", "W"], ["x", "y", "x"], "binary")
    sh = shuffle_residues(ds, seed=1)
    assert sh.offsets.tolist() == ds.offsets.tolist()
    for i in range(3):
        assert sorted(sh.sequence(i)) == sorted(ds.sequence(i))
    assert sh.sequence(0) != ds.sequence(0)
    assert sh.labels.tolist() == ds.labels.tolist()


def test_permute_labels_keeps_counts_and_sequences() -> None:
    ds = encode_table([str(i) for i in range(20)], ["ACD"] * 20, ["x"] * 5 + ["y"] * 15, "binary")
    perm = permute_labels(ds, seed=0)
    assert np.bincount(perm.labels).tolist() == [5, 15]
    assert perm.labels.tolist() != ds.labels.tolist()
    assert perm.tokens is ds.tokens


def test_length_bins_and_metric_by_bins_known_answer() -> None:
    lengths = pd.Series([10, 20, 30, 40, 50, 60, 70, 80])
    bins = length_bins(lengths)
    assert [b[2] for b in bins] == ["10-27", "28-44", "45-61", "62-80"]
    pred = pd.DataFrame({"true": ["a", "b", "a", "b", "a", "a"],
                         "predicted": ["a", "b", "b", "b", "a", "b"]})
    ident = pd.Series([0.1, 0.2, 0.6, 0.65, 0.9, 0.95])
    bins = [(0, 0.3, "low"), (0.3, 0.7, "mid"), (0.7, 1.01, "high")]
    out = metric_by_bins(pred, ident, bins, "binary", [], "mcc")
    assert out["low"] == {"n": 2, "metric": 1.0, "accuracy": 1.0, "classes": {"a": 1, "b": 1},
                          "recall": {"a": 1.0, "b": 1.0}, "one_class": False}
    assert out["mid"] == {"n": 2, "metric": 0.0, "accuracy": 0.5, "classes": {"a": 1, "b": 1},
                          "recall": {"a": 0.0, "b": 1.0}, "one_class": False}
    # one true class only: MCC is undefined there (None), accuracy still says something
    assert out["high"] == {"n": 2, "metric": None, "accuracy": 0.5, "classes": {"a": 2},
                           "recall": {"a": 0.5}, "one_class": True}


def _composition_dataset(folder: Path, n: int = 240) -> tuple[str, str, str]:
    """Labels decided by composition alone (K-rich vs E-rich), residue order random."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        w = np.ones(20)
        w[8 if label == "pos" else 3] = 4.0  # K (index 8) or E (index 3)
        seq = "".join(rng.choice(AA, size=int(rng.integers(20, 40)), p=w / w.sum()))
        rows.append((f"s{i}", seq, label))
    seqs = pd.DataFrame(rows, columns=["id", "sequence", "label"]).assign(source="x")
    k = np.arange(n) % 10
    split = np.where(k < 6, "train", np.where(k < 8, "valid", "test"))
    splits = pd.DataFrame({"id": seqs["id"], "split": split, "cluster": seqs["id"]})
    write_table(seqs, folder / "sequences.tsv")
    write_table(splits, folder / "splits.tsv")
    ds = encode_table(seqs["id"], seqs["sequence"], seqs["label"], "binary")
    from seqnn.encode import save_encoded

    save_encoded(ds, str(folder / "encoded.npz"))
    return str(folder / "encoded.npz"), str(folder / "splits.tsv"), str(folder / "sequences.tsv")


@pytest.fixture(scope="module")
def composition_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("comp")
    data, splits, seqs = _composition_dataset(d)
    params = {"channels": [8], "kernel_size": 3, "head_hidden": 0}
    train = TrainConfig(epochs=8, batch_size=32, lr=0.01, threads=1, quiet=True)
    run_training(data, splits, str(d / "models" / "cnn"), "cnn", params, train)
    for control in ("permutation", "shuffle"):
        run_training(data, splits, str(d / "controls" / "cnn" / control), "cnn", params, train,
                     control=control)
    baselines_from_files(seqs, splits, "binary", 0, str(d / "baselines.json"))
    return d


def test_composition_dataset_gets_shortcut_warning(composition_run: Path) -> None:
    result = run_checks(composition_run, ["cnn"], CheckSettings(bootstrap=100))
    entry = result["models"]["cnn"]
    assert entry["best_shortcut"]["name"] == "aa_composition"
    assert entry["best_shortcut"]["test_metric"] > 0.6
    assert entry["status"] == "warning"
    assert any(w.startswith("SHORTCUT: does not beat amino-acid composition") for w in
               entry["warnings"])
    assert "leakage not audited" in entry["verdict"]
    lo, hi = entry["ci"]
    assert lo <= entry["test_metric"] <= hi


def test_permutation_control_falls_to_chance(composition_run: Path) -> None:
    perm = json.loads((composition_run / "controls/cnn/permutation/metrics.json").read_text())
    real = json.loads((composition_run / "models/cnn/metrics.json").read_text())
    band = 2 / np.sqrt(perm["test"]["n"])  # 48 test sequences: 0.289
    assert abs(perm["test"]["mcc"]) <= band
    assert real["test"]["mcc"] > 0.5
    entry = run_checks(composition_run, ["cnn"], CheckSettings(bootstrap=10))["models"]["cnn"]
    assert entry["controls"]["permutation"]["chance"] is True
    assert entry["controls"]["permutation"]["chance_band"] == pytest.approx(band)
    assert entry["controls"]["permutation"]["chance_band"] == pytest.approx(band)
    # order carries no signal here: the shuffle control scores about as well as the model
    assert abs(entry["controls"]["shuffle"]["delta"]) < 0.2


def test_repeated_control_of_an_ensemble_shares_no_member_seed(tmp_path: Path) -> None:
    data, splits, _ = _composition_dataset(tmp_path)
    train = TrainConfig(epochs=1, batch_size=32, threads=1, quiet=True, ensemble=2, seed=5)
    seeds = []
    for run in (1, 2):
        out = tmp_path / f"perm{run}"
        run_training(data, splits, str(out), "mlp", {"hidden": [4]}, train,
                     control="permutation", control_run=run)
        seeds.append(json.loads((out / "model.json").read_text())["ensemble_seeds"])
    assert seeds == [[5, 6], [7, 8]]


def _hand_built(root: Path, *, n_test: int = 60, n_valid: int = 40, train: float = 0.85,
                test: float = 0.80, shortcut: float = 0.30, leak: bool = False,
                permutation: float | None = 0.0, collapsed: bool = False,
                probe: float | None = None) -> Path:
    """A results folder written by hand: one binary model ``m`` (90% of test right unless
    ``collapsed``), its metrics, a permutation control, a shortcut, an audit; with ``probe``
    also an autoencoder ``ae`` whose linear probe reaches that test MCC."""
    n_train = 100
    ids = [f"s{i}" for i in range(n_train + n_valid + n_test)]
    split = ["train"] * n_train + ["valid"] * n_valid + ["test"] * n_test
    labels = ["a" if i % 2 else "b" for i in range(len(ids))]
    write_table(pd.DataFrame({"id": ids, "sequence": ["ACDEFGHIK"] * len(ids),
                              "label": labels}), root / "sequences.tsv")
    write_table(pd.DataFrame({"id": ids, "split": split}), root / "splits.tsv")
    pred = pd.DataFrame({"id": ids, "split": split, "true": labels})
    right = np.arange(len(ids)) % 10 != 0
    pred["predicted"] = np.where(right, pred["true"], np.where(pred["true"] == "a", "b", "a"))
    if collapsed:
        pred["predicted"] = "a"
    pred["p_b"] = 0.5
    pred["p_a"] = np.where(pred["predicted"] == "a", 0.9, 0.1)
    model = root / "models" / "m"
    model.mkdir(parents=True)
    write_table(pred, model / "predictions.tsv")
    (model / "model.json").write_text(json.dumps(
        {"task": "binary", "model": "cnn", "class_names": ["b", "a"], "best_epoch": 5}))
    (model / "metrics.json").write_text(json.dumps(
        {s: {"mcc": v, "n": 10} for s, v in (("train", train), ("valid", test),
                                             ("test", test))}))
    if permutation is not None:
        ctl = root / "controls" / "m" / "permutation"
        ctl.mkdir(parents=True)
        (ctl / "metrics.json").write_text(json.dumps({"test": {"mcc": permutation,
                                                                "n": n_test}}))
    (root / "baselines.json").write_text(json.dumps(
        {"aa_composition": {"test": {"mcc": shortcut}}, "majority": {"test": {"mcc": 0.0}}}))
    (root / "audit.json").write_text(json.dumps(
        {"identity_threshold": 0.3, "leak": leak,
         "fraction_above_threshold": {"test": 0.4 if leak else 0.0}}))
    if probe is not None:
        ae = root / "models" / "ae"
        ae.mkdir(parents=True)
        (ae / "model.json").write_text(json.dumps({"task": "unsupervised",
                                                   "model": "autoencoder", "best_epoch": 3}))
        (ae / "metrics.json").write_text(json.dumps(
            {s: {"reconstruction_accuracy": 0.7} for s in ("train", "valid", "test")}))
        (ae / "probe.json").write_text(json.dumps({"metric": "mcc", "test": probe}))
    return root


def _judge(root: Path, models: tuple[str, ...] = ("m",), **kw: object) -> dict:
    return run_checks(root, list(models), CheckSettings(bootstrap=50, **kw))


def test_beats_shortcuts_on_a_clean_split_passes(tmp_path: Path) -> None:
    entry = _judge(_hand_built(tmp_path))["models"]["m"]
    assert (entry["level"], entry["reasons"], entry["status"]) == ("pass", [], "ok")
    assert entry["why"].startswith("PASS: beats amino-acid composition by +0.500")


def test_leakage_fails(tmp_path: Path) -> None:
    result = _judge(_hand_built(tmp_path, leak=True))
    entry = result["models"]["m"]
    assert entry["level"] == result["level"] == "fail"
    assert [(r["level"], r["code"]) for r in entry["reasons"]] == [("fail", "LEAKAGE")]
    assert entry["why"] == "FAIL: leakage (40.0% of test above 30% identity)"
    assert entry["warnings"][0].startswith("LEAKAGE: 40.0% of test sequences")


def test_only_a_large_gap_gets_a_caution(tmp_path: Path) -> None:
    entry = _judge(_hand_built(tmp_path, train=1.0, test=0.6))["models"]["m"]
    assert entry["level"] == "caution" and entry["status"] == "warning"
    assert [r["code"] for r in entry["reasons"]] == ["OVERFITTING"]
    assert entry["why"] == "CAUTION: large train–test gap (0.400)"


def test_fails_come_before_cautions_in_the_why_line(tmp_path: Path) -> None:
    entry = _judge(_hand_built(tmp_path, train=1.0, test=0.32, permutation=0.5))["models"]["m"]
    assert [r["level"] for r in entry["reasons"]] == ["fail", "fail", "caution"]
    assert entry["why"] == ("FAIL: does not beat amino-acid composition; permutation control "
                            "not at chance; caution: large train–test gap (0.680)")


def test_a_collapsed_model_fails(tmp_path: Path) -> None:
    entry = _judge(_hand_built(tmp_path, collapsed=True, test=0.0, train=0.0,
                               shortcut=-0.1))["models"]["m"]
    assert entry["level"] == "fail"
    assert "COLLAPSED" in [r["code"] for r in entry["reasons"]]
    assert "collapsed to one class (a)" in entry["why"]


def test_tiny_splits_get_a_caution_in_reasons_and_top_level_warnings(tmp_path: Path) -> None:
    result = _judge(_hand_built(tmp_path, n_valid=8, n_test=16), ci_width_warn=9.0)
    entry = result["models"]["m"]
    assert entry["level"] == "caution"
    assert [r["short"] for r in entry["reasons"]] == ["tiny valid split (8 sequences)",
                                                      "tiny test split (16 sequences)"]
    assert result["split_sizes"] == {"train": 100, "valid": 8, "test": 16}
    assert result["warnings"][0].startswith("SMALL DATA: the valid split has 8 sequences")


def test_controls_switched_off_are_recorded(tmp_path: Path) -> None:
    result = _judge(_hand_built(tmp_path, permutation=None), controls=())
    assert result["controls_off"] == ["permutation", "shuffle"]
    entry = result["models"]["m"]
    assert entry["controls_off"] == ["permutation", "shuffle"] and entry["level"] == "pass"
    assert entry["why"].endswith("no leakage, permutation control off")
    assert "label-permutation control off" in entry["verdict"]


@pytest.mark.parametrize(("probe", "leak", "level", "code"), [
    (0.2, False, "fail", "SHORTCUT"), (0.6, False, "pass", None), (0.6, True, "fail", "LEAKAGE")])
def test_autoencoder_is_judged_by_its_probe(tmp_path: Path, probe: float, leak: bool,
                                            level: str, code: str | None) -> None:
    entry = _judge(_hand_built(tmp_path, probe=probe, leak=leak), ("m", "ae"))["models"]["ae"]
    assert entry["level"] == level
    assert [r["code"] for r in entry["reasons"]] == ([code] if code else [])
    assert entry["delta_vs_best_shortcut"] == pytest.approx(probe - 0.3)


def test_check_strict_exits_3_on_a_fail(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from seqnn.cli.main import main

    root = _hand_built(tmp_path, leak=True)
    args = ["check", str(root), "--models", "m", "--bootstrap", "20", "-o",
            str(tmp_path / "checks.json")]
    relaxed = CliRunner().invoke(main, args)
    assert relaxed.exit_code == 0 and "m: FAIL: leakage" in relaxed.output
    strict = CliRunner().invoke(main, [*args, "--strict"])
    assert strict.exit_code == 3
    assert json.loads((tmp_path / "checks.json").read_text())["level"] == "fail"
    bad = CliRunner().invoke(main, [*args, "--controls", "permutaton"])
    assert bad.exit_code == 2 and "unknown control(s) permutaton" in bad.output


def test_python_warnings_print_as_one_plain_line(tmp_path: Path, capsys) -> None:
    import warnings

    from click.testing import CliRunner

    from seqnn.cli.main import main, show_warning

    show_warning(UserWarning("x.tsv: 2 label(s) for ids not in the FASTA were ignored"),
                 UserWarning, "/site-packages/seqnn/data/tables.py", 113)
    err = capsys.readouterr().err
    assert err == "seqnn: warning: x.tsv: 2 label(s) for ids not in the FASTA were ignored\n"
    with warnings.catch_warnings():
        CliRunner().invoke(main, ["check", str(_hand_built(tmp_path)), "--models", "m",
                                  "--bootstrap", "5", "-o", str(tmp_path / "c.json")])
        assert warnings.showwarning is show_warning


def test_a_control_turned_off_is_not_read_from_a_folder_left_behind(tmp_path) -> None:
    import json

    from seqnn.checks.controls import summarize_controls

    for name, mcc in (("permutation", 0.01), ("shuffle", 0.3)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps({"test": {"mcc": mcc, "n": 100}}))
    both = summarize_controls(tmp_path, "mcc", 0.5, 0.05)
    assert set(both) == {"permutation", "shuffle"} and both["shuffle"]["delta"] == 0.2
    assert set(summarize_controls(tmp_path, "mcc", 0.5, 0.05, ran=("shuffle",))) == {"shuffle"}
    assert summarize_controls(tmp_path, "mcc", 0.5, 0.05, ran=()) == {}
