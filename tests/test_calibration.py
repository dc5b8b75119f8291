"""Temperature scaling, ECE and Brier (seqnn.calibration), the temperature training stores in
model.json, and predict applying it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import softmax

import seqnn
from seqnn import calibration as cal
from seqnn.errors import CheckpointError
from seqnn.modelmeta import check_model_info


def overconfident(n: int, k: int, seed: int, sharpen: float = 3.0):
    """Labels drawn from true probabilities, and a model reporting those logits x ``sharpen``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.0, (n, k))
    true_p = softmax(logits, axis=1)
    y = np.array([rng.choice(k, p=p) for p in true_p])
    return softmax(sharpen * logits, axis=1), y


@pytest.mark.parametrize("k", [2, 4])
def test_temperature_fitted_on_valid_lowers_test_ece_of_an_overconfident_model(k):
    valid_p, valid_y = overconfident(3000, k, seed=1)
    test_p, test_y = overconfident(3000, k, seed=2)
    t = cal.fit_temperature(valid_p, valid_y)
    assert t == pytest.approx(3.0, rel=0.15)
    s = cal.calibration_summary(test_p, test_y, t)
    assert s["ece_after"] < 0.5 * s["ece_before"] and s["ece_before"] > 0.1
    assert s["brier_after"] < s["brier_before"] and s["nll_after"] < s["nll_before"]
    assert (cal.scale(test_p, t).argmax(1) == test_p.argmax(1)).all()  # classes unchanged
    assert sum(s["reliability_after"]["count"]) == 3000


def test_a_calibrated_model_keeps_temperature_one_and_edge_cases():
    p, y = overconfident(4000, 3, seed=3, sharpen=1.0)
    assert cal.fit_temperature(p, y) == pytest.approx(1.0, abs=0.15)
    assert cal.fit_temperature(p[:1], y[:1]) == 1.0
    assert cal.fit_temperature(p, np.zeros(len(y), int)) == 1.0
    assert cal.ece(p[:0], y[:0]) is None and cal.brier(p[:0], y[:0]) is None
    perfect = np.eye(2)[[0, 1, 1]]
    assert cal.ece(perfect, np.array([0, 1, 1])) == 0.0
    assert cal.brier(perfect, np.array([1, 1, 1])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("value", [0, -1.0, "2", True, 1e9])
def test_model_json_refuses_a_bad_temperature(tmp_path, value):
    with pytest.raises(CheckpointError, match="'temperature' must be a number"):
        check_model_info({"task": "binary", "temperature": value}, tmp_path / "model.json")


def test_training_stores_a_temperature_and_predict_applies_it(tmp_path):
    from seqnn.encode import encode_table
    from seqnn.train import TrainConfig, train_model

    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), 20)) for _ in range(48)]
    labels = ["pos" if s.count("K") + s.count("R") > 2 else "neg" for s in seqs]
    ds = [encode_table([str(i) for i in range(a, b)], seqs[a:b], labels[a:b], "binary",
                       ["neg", "pos"]) for a, b in ((0, 32), (32, 48))]
    cfg = TrainConfig(epochs=2, batch_size=8, device="cpu", quiet=True, max_len=20)
    train_model(ds[0], ds[1], model_name="cnn", config=cfg, out_dir=tmp_path / "m",
                model_params={"channels": [4], "kernel_size": 3, "head_hidden": 0})
    meta_path = tmp_path / "m" / "model.json"
    meta = json.loads(meta_path.read_text())
    assert cal.T_RANGE[0] <= meta["temperature"] <= cal.T_RANGE[1]
    meta["temperature"] = 2.0
    meta_path.write_text(json.dumps(meta))
    pred = seqnn.load(tmp_path / "m", device="cpu")
    hot = pred.predict(seqs[:5])["p_pos"].to_numpy()
    pred.temperature = 1.0
    raw = pred.predict(seqs[:5])["p_pos"].to_numpy()

    def logit(p):
        return np.log(p) - np.log1p(-p)

    np.testing.assert_allclose(logit(hot), logit(raw) / 2.0, rtol=1e-4, atol=1e-5)
