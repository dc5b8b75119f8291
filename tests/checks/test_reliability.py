"""Split-conformal sets and intervals per identity bin (seqnn.checks.reliability) and the
reliability columns of `seqnn predict`."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.special import softmax

from seqnn.checks import reliability as rel
from seqnn.cli import main

N = 3000


def classification_table(seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Valid and test rows of an over-confident 3-class model; identity uniform in [0, 1]."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.2, (2 * N, 3))
    y = np.array([rng.choice(3, p=p) for p in softmax(logits, axis=1)])
    p = softmax(2.5 * logits, axis=1)
    names = np.array(["a", "b", "c"])
    df = pd.DataFrame({"id": [f"s{i}" for i in range(2 * N)],
                       "split": ["valid"] * N + ["test"] * N, "true": names[y],
                       "predicted": names[p.argmax(1)], "p_a": p[:, 0], "p_b": p[:, 1],
                       "p_c": p[:, 2]})
    return df, pd.Series(rng.uniform(0, 1, 2 * N))


def within_sampling_error(cell: dict, nominal: float) -> bool:
    """Conformal coverage lies in [nominal, nominal + 1/(n+1)] in expectation; allow 3 SE."""
    se = math.sqrt(nominal * (1 - nominal) / cell["n"])
    return nominal - 3 * se <= cell["coverage"] <= nominal + 3 * se + 1 / (cell["n"] + 1)


def test_conformal_sets_reach_nominal_coverage_overall_and_per_bin() -> None:
    df, ident = classification_table(0)
    record = rel.reliability_record(df, ident, "multiclass", ["a", "b", "c"], 1.0, "mcc",
                                    {"<0.3": {"metric": 0.4}})
    assert set(record["scores"]) == {"global", "<0.3", "0.3-0.5", "0.5-0.7", ">=0.7"}
    cov = rel.test_coverage(record, df, ident)
    for level in rel.NOMINAL:
        row = cov[str(level)]
        assert all(within_sampling_error(c, level) for c in row.values()), (level, row)
    assert 1 <= cov["0.9"]["all"]["mean_size"] <= 3
    assert record["expected"] == {"<0.3": 0.4}


def test_per_bin_intervals_cover_where_one_global_interval_would_not() -> None:
    """Regression with noise 4x larger far from train: the per-bin intervals keep 90 % in
    each bin, a global one under-covers the far bin."""
    rng = np.random.default_rng(1)
    ident = pd.Series(rng.uniform(0, 1, 2 * N))
    noise = np.where(ident < 0.3, 4.0, 1.0) * rng.normal(size=2 * N)
    pred = rng.normal(size=2 * N)
    df = pd.DataFrame({"id": range(2 * N), "split": ["valid"] * N + ["test"] * N,
                       "true": pred + noise, "predicted": pred})
    record = rel.reliability_record(df, ident, "regression", [], 1.0, "spearman", None)
    cov = rel.test_coverage(record, df, ident, levels=(0.9,))["0.9"]
    assert all(within_sampling_error(c, 0.9) for c in cov.values()), cov
    one = {"global": record["scores"]["global"]}
    far = rel.test_coverage({**record, "scores": one}, df, ident, levels=(0.9,))["0.9"]["<0.3"]
    assert far["coverage"] < 0.8


def test_threshold_is_the_conformal_order_statistic() -> None:
    scores = list(range(1, 10))  # n = 9
    assert rel.threshold(scores, 0.5) == 5  # ceil(10 * 0.5) = 5th smallest
    assert rel.threshold(scores, 0.9) == 9
    assert rel.threshold(scores, 0.95) == math.inf  # ceil(9.5) = 10 > n: every class
    assert rel.bin_of(np.array([0.0, 0.3, 0.99, 1.0]), [list(b) for b in rel.IDENTITY_BINS]) \
        == ["<0.3", "0.3-0.5", ">=0.7", ">=0.7"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from seqnn.models import get_model
    from seqnn.runtime.checkpoint import save_model

    root = tmp_path_factory.mktemp("rel")
    model = get_model("cnn", n_outputs=1, task="binary", channels=[4], kernel_size=3,
                      head_hidden=0)
    save_model(root / "m", model, {"task": "binary", "class_names": ["neg", "pos"],
                                   "n_outputs": 1, "max_len": 50, "truncate": "right"})
    (root / "in.fa").write_text(">a\nMKVLAAGICW\n>b\nKKKKRRRRAAD\n")
    return root


def test_predict_adds_a_prediction_set_from_the_stored_scores(model_dir) -> None:
    record = {"metric": "mcc", "task": "binary", "class_names": ["neg", "pos"],
              "temperature": 1.0, "bins": [list(b) for b in rel.IDENTITY_BINS],
              "expected": {"<0.3": 0.2}, "min_bin": 30,
              "scores": {"global": [0.0] * 5 + [0.9] * 5}}
    (model_dir / "m" / "reliability.json").write_text(json.dumps(record))
    sets = {}
    try:
        for coverage in ("0.4", "0.5"):
            res = CliRunner().invoke(main, ["predict", str(model_dir / "m"),
                                            str(model_dir / "in.fa"), "--no-nearest",
                                            "--coverage", coverage])
            assert res.exit_code == 0, res.output
            assert res.stdout.splitlines()[0].split("\t")[-2:] == ["prediction_set", "flags"]
            df = pd.read_csv(io.StringIO(res.stdout), sep="\t", keep_default_na=False)
            sets[coverage] = df["prediction_set"].tolist()
    finally:
        (model_dir / "m" / "reliability.json").unlink()
    assert df[["p_neg", "p_pos"]].to_numpy().min() >= 0.1  # an untrained model: p near 0.5
    # n = 10 scores: 0.4 -> the 5th smallest (0.0): no class; 0.5 -> the 6th (0.9): p >= 0.1
    assert sets == {"0.4": ["", ""], "0.5": ["neg;pos", "neg;pos"]}


@pytest.mark.parametrize(("args", "message"), [
    (["--coverage", "0.9"], "reliability.json: missing: --coverage needs"),
    (["--coverage", "1.5"], "Invalid value for '--coverage'"),
])
def test_predict_coverage_errors(model_dir, tmp_path, args, message) -> None:
    out = tmp_path / "o.tsv"
    res = CliRunner().invoke(main, ["predict", str(model_dir / "m"), str(model_dir / "in.fa"),
                                    "--no-nearest", "-o", str(out), *args])
    assert res.exit_code == 2 and message in res.output, res.output
    assert not out.exists()


def test_check_stores_reliability_json_beside_the_model(tmp_path) -> None:
    df, ident = classification_table(2)
    nearest = pd.DataFrame({"id": df["id"], "identity": ident})
    meta = {"task": "multiclass", "class_names": ["a", "b", "c"], "temperature": 0.8}
    cov = rel.store_reliability(tmp_path, df, nearest, meta, "mcc", {">=0.7": {"metric": 0.9}})
    stored = json.loads((tmp_path / "reliability.json").read_text())
    assert stored["temperature"] == 0.8 and stored["expected"] == {">=0.7": 0.9}
    assert set(cov) == {"0.8", "0.9", "0.95"} and cov["0.9"]["all"]["n"] == N
    assert rel.store_reliability(tmp_path, df[df["split"] == "test"], nearest, meta, "mcc",
                                 None) == {}
