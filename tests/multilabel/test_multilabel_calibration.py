"""Per-label temperatures of multi-label models: the fit (seqnn.calibration), model.json's
label -> T mapping, thresholds chosen on the calibrated probabilities, predict and
predictions.tsv applying the temperatures, and the report's per-label ECE / Brier."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from ml_fixture import multilabel_table
from scipy.special import expit

import seqnn
from seqnn import calibration as cal
from seqnn.config import TrainConfig
from seqnn.data.encoding import encode_table
from seqnn.data.labelsets import canonical_label_sets
from seqnn.errors import CheckpointError
from seqnn.metrics import choose_thresholds
from seqnn.modelmeta import check_model_info
from seqnn.report.calibration_plots import (
    calibration_note,
    labelwise_calibration,
    plot_reliability,
)
from seqnn.training.run import train_model

NAMES = ["long", "motif", "plain"]


def overconfident(n: int, sharpen: tuple[float, ...], seed: int):
    """0/1 targets drawn per label from true probabilities, and a model reporting each
    label's logit times its ``sharpen`` factor (1.0: calibrated)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, len(sharpen)))
    y = (rng.random(logits.shape) < expit(logits)).astype(int)
    return expit(logits * np.asarray(sharpen)), y


def test_per_label_fit_lowers_each_labels_nll_and_ece_on_held_out_data():
    sharpen = (3.0, 1.0, 0.5)
    pv, yv = overconfident(4000, sharpen, 0)
    pt, yt = overconfident(4000, sharpen, 1)
    temps = cal.fit_label_temperatures(pv, yv)
    np.testing.assert_allclose(temps, sharpen, rtol=0.15)  # T undoes each label's factor
    s = cal.label_calibration_summary(pt, yt, temps, NAMES)
    assert list(s["per_label"]) == NAMES
    assert s["temperature"] == dict(zip(NAMES, temps, strict=True))
    for name in ("long", "plain"):  # mis-calibrated both ways: better after
        row = s["per_label"][name]
        assert row["nll_after"] < row["nll_before"] and row["ece_after"] < row["ece_before"]
    assert s["per_label"]["motif"]["ece_after"] < 0.03  # calibrated one stays so
    assert s["ece_after"] < s["ece_before"] and s["brier_after"] < s["brier_before"]
    assert s["ece_before"] == pytest.approx(np.mean([r["ece_before"]
                                                     for r in s["per_label"].values()]))
    # scale_labels matches a manual per-label logit division; a label with one class keeps 1
    pc = np.clip(pt, 1e-7, 1 - 1e-7)  # as logits_of: exact away from 0 and 1
    manual = expit(np.log(pc / (1 - pc)) / np.asarray(temps))
    np.testing.assert_allclose(cal.scale_labels(pt, temps), manual, rtol=1e-9)
    assert cal.fit_label_temperatures(pv[:, :1], np.zeros((len(pv), 1))) == [1.0]


META = {"format_version": 1, "model": "cnn", "task": "multilabel", "n_outputs": 3,
        "class_names": NAMES}


@pytest.mark.parametrize("meta", [
    {**META, "temperature": {"motif": 1.0, "long": 1.0, "plain": 1.0}},  # not in class order
    {**META, "temperature": {"long": 1.0, "motif": 1.0}},  # a label missing
    {**META, "temperature": {"long": 1.0, "motif": 0.0, "plain": 1.0}},  # out of range
    {**META, "temperature": {"long": 1.0, "motif": "2", "plain": 1.0}},
    {**META, "task": "multiclass", "temperature": dict.fromkeys(NAMES, 1.0)},
])
def test_model_json_refuses_a_bad_temperature_mapping(tmp_path, meta):
    with pytest.raises(CheckpointError, match="temperature") as err:
        check_model_info(meta, tmp_path / "model.json")
    assert "\n" not in str(err.value)


def test_model_json_accepts_a_label_mapping_and_a_number(tmp_path):
    temps = dict(zip(NAMES, [0.5, 1.0, 2.0], strict=True))
    check_model_info({**META, "temperature": temps}, tmp_path)
    check_model_info({**META, "temperature": 1.5}, tmp_path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("mlcal")
    df = multilabel_table(90, seed=3)
    df["label"] = canonical_label_sets(df["label"], df["id"].tolist(), "|", "fixture")
    ds = encode_table(df["id"], df["sequence"], df["label"], "multilabel", label_separator="|")
    part = {s: ds.subset((df["split"] == s).to_numpy()) for s in ("train", "valid", "test")}
    config = TrainConfig(epochs=3, batch_size=16, lr=1e-2, quiet=True, seed=0, threads=1)
    train_model(part["train"], part["valid"], model_name="cnn", config=config,
                model_params={"channels": [8], "kernel_size": 5, "head_hidden": 0},
                out_dir=out / "model", test=part["test"])
    return {"dir": out / "model", "df": df, "valid": part["valid"]}


def test_training_stores_label_temperatures_and_thresholds_on_calibrated_valid(tiny):
    meta = json.loads((tiny["dir"] / "model.json").read_text())
    temps = meta["temperature"]
    assert list(temps) == NAMES
    assert all(cal.T_RANGE[0] <= t <= cal.T_RANGE[1] for t in temps.values())
    # thresholds are those chosen on the valid probabilities after the temperatures
    pred = pd.read_csv(tiny["dir"] / "predictions.tsv", sep="\t", keep_default_na=False)
    valid = pred[pred["split"] == "valid"].set_index("id").loc[list(tiny["valid"].ids)]
    probs = valid[[f"p_{c}" for c in NAMES]].to_numpy(float)
    assert choose_thresholds(tiny["valid"].labels, probs) == list(meta["thresholds"].values())
    # the predicted sets of predictions.tsv are its (calibrated) probabilities at the cuts
    cut = np.array(list(meta["thresholds"].values()))
    sets = [";".join(n for n, on in zip(NAMES, row, strict=True) if on)
            for row in pred[[f"p_{c}" for c in NAMES]].to_numpy(float) >= cut]
    assert pred["predicted"].tolist() == sets


def test_predict_applies_the_label_temperatures_as_predictions_tsv_does(tiny, tmp_path):
    df = tiny["df"][tiny["df"]["split"] == "test"]
    seqs, ids = df["sequence"].tolist(), df["id"].tolist()
    train_pred = pd.read_csv(tiny["dir"] / "predictions.tsv", sep="\t", keep_default_na=False)
    train_pred = train_pred[train_pred["split"] == "test"].set_index("id").loc[ids]
    model, queries = seqnn.load(tiny["dir"], device="cpu"), dict(zip(ids, seqs, strict=True))
    got = model.predict(queries)
    cols = [f"p_{c}" for c in NAMES]
    np.testing.assert_allclose(got[cols].to_numpy(float), train_pred[cols].to_numpy(float),
                               rtol=1e-4, atol=1e-6)
    assert got["predicted"].str.replace("|", ";").tolist() == train_pred["predicted"].tolist()
    # against manual scaling: predict at T = 1, then divide each label's logit by its T
    temps = np.array([0.5, 1.0, 3.0])
    model.temperature = list(temps)
    hot = model.predict(queries)[cols].to_numpy(float)
    model.temperature = 1.0
    raw = model.predict(queries)[cols].to_numpy(float)

    def logit(p):
        return np.log(p) - np.log1p(-p)

    np.testing.assert_allclose(logit(hot), logit(raw) / temps, rtol=1e-3, atol=1e-4)


def test_report_gives_per_label_and_mean_ece_and_brier(tiny, tmp_path):
    info = json.loads((tiny["dir"] / "model.json").read_text())
    s = labelwise_calibration(tiny["dir"] / "predictions.tsv", NAMES, info["temperature"])
    assert list(s["per_label"]) == NAMES and s["n"] > 0
    assert s["ece_after"] == pytest.approx(np.mean([r["ece_after"]
                                                    for r in s["per_label"].values()]))
    note = calibration_note(tiny["dir"] / "predictions.tsv", info)
    assert "one temperature per label" in note and "means over 3 labels" in note
    plot_reliability(tiny["dir"] / "predictions.tsv", NAMES, info["temperature"],
                     tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 0


def test_label_summary_names_labels_by_index_without_names() -> None:
    assert cal.label_calibration_summary(np.full((2, 2), 0.5), np.eye(2), [1.0, 2.0])[
        "temperature"] == {"0": 1.0, "1": 2.0}
