"""A finite but huge weight (3e38) makes the outputs overflow: predict raises one
CheckpointError naming the model and the first bad record, never an empty cell (issue 24,
item 13)."""

from __future__ import annotations

import pytest
import torch

from seqnn.errors import CheckpointError
from seqnn.inference.predictor import Predictor
from seqnn.models import get_model

META = {"model": "mlp", "max_len": 50, "truncate": "ends", "class_names": ["neg", "pos"]}


def _predictor(huge: bool) -> Predictor:
    torch.manual_seed(0)
    model = get_model("mlp", n_outputs=1, task="binary", hidden=[4], dropout=0.0)
    if huge:
        with torch.no_grad():
            for p in model.parameters():  # +-3e38 alternating: inf - inf = NaN
                sign = torch.arange(p.numel()).remainder(2).mul(-2).add(1).reshape(p.shape)
                p.copy_(sign * 3e38)
    return Predictor(model, META, torch.device("cpu"))


def test_non_finite_outputs_are_an_error_naming_model_and_record() -> None:
    with pytest.raises(CheckpointError, match=r"model 'mlp': non-finite output for record "
                                              r"'first' \(2 of 2 records"):
        _predictor(True).predict({"first": "ACDEFGHIK", "second": "KKKKLLLL"})


def test_finite_outputs_pass() -> None:
    table = _predictor(False).predict({"first": "ACDEFGHIK"})
    assert table["id"].tolist() == ["first"]
    assert table["p_pos"].notna().all()
