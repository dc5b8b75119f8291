"""Non-finite outputs are an error in `seqnn explain` and in the evaluation after training, as
in predict (issue 24, item 13): one line naming the model and the first bad record."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from seqnn.cli import main
from seqnn.encode import encode_table
from seqnn.errors import CheckpointError, TrainingError
from seqnn.inference.predictor import Predictor
from seqnn.models import get_model
from seqnn.runtime.checkpoint import save_model
from seqnn.training.evaluation import evaluate_splits, valid_temperature

META = {"model": "mlp", "task": "binary", "max_len": 50, "truncate": "ends",
        "class_names": ["neg", "pos"], "n_outputs": 1}
RECORDS = {"first": "ACDEFGHIK", "second": "KKKKLLLL"}


def _model(huge: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    model = get_model("mlp", n_outputs=1, task="binary", hidden=[4], dropout=0.0)
    if huge:
        with torch.no_grad():
            for p in model.parameters():  # +-3e38 alternating: inf - inf = NaN
                sign = torch.arange(p.numel()).remainder(2).mul(-2).add(1).reshape(p.shape)
                p.copy_(sign * 3e38)
    return model


@pytest.mark.parametrize("method", ["gradxinput", "ig", "ism"])
def test_explain_raises_on_non_finite_scores(method) -> None:
    predictor = Predictor(_model(True), META, torch.device("cpu"))
    with pytest.raises(CheckpointError, match=rf"^model 'mlp': non-finite {method} scores for "
                                              r"record 'first' \(2 of 2 records"):
        predictor.explain(RECORDS, method=method, steps=2)


def test_explain_of_a_finite_model_passes() -> None:
    table = Predictor(_model(False), META, torch.device("cpu")).explain(RECORDS)
    assert table["id"].unique().tolist() == ["first", "second"]
    assert table["score"].notna().all()


def test_explain_cli_says_one_line_and_writes_nothing(tmp_path) -> None:
    save_model(tmp_path / "m", _model(True), META)
    (tmp_path / "in.fa").write_text("".join(f">{k}\n{v}\n" for k, v in RECORDS.items()))
    out = tmp_path / "e.tsv"
    res = CliRunner().invoke(main, ["explain", str(tmp_path / "m"), str(tmp_path / "in.fa"),
                                    "-o", str(out), "--device", "cpu"])
    assert res.exit_code == 2, res.output
    assert res.output == ("seqnn: error: model 'mlp': non-finite gradxinput scores for record "
                          "'first' (2 of 2 records in this chunk); its weights overflow\n")
    assert not out.exists()


def _dataset():
    return encode_table(list(RECORDS), list(RECORDS.values()), ["neg", "pos"], "binary",
                        ["neg", "pos"])


def test_evaluation_after_training_raises_on_non_finite_outputs(tmp_path) -> None:
    with pytest.raises(TrainingError, match=r"^model 'mlp': non-finite output for record "
                                            r"'first' of the test split \(2 of 2 records\)"):
        evaluate_splits(_model(True), {"test": _dataset()}, out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    from seqnn.config import TrainConfig

    with pytest.raises(TrainingError, match="'first' of the valid split"):
        valid_temperature(_model(True), _dataset(), TrainConfig(), torch.device("cpu"))


def test_evaluation_of_a_finite_model_passes(tmp_path) -> None:
    result = evaluate_splits(_model(False), {"test": _dataset()}, out_dir=tmp_path)
    assert result["test"]["n"] == 2
