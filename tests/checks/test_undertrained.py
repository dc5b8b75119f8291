"""Cautions from where the best epoch fell: the last epoch at the cap (train longer) or the
first of several (learning rate too high / overfits at once)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from seqnn.checks.epochs import epoch_reasons
from seqnn.checks.levels import CheckSettings
from seqnn.checks.verdict import run_checks
from tests.checks.test_checks import _hand_built

UNDER = ("stopped at the epoch cap while validation still improved: train longer")
FIRST = "best epoch was the first: learning rate too high or the model overfits at once"


def _model(folder: Path, best: int | list[int], runs: list[int], cap: int | None) -> Path:
    """A model folder with ``model.json`` and ``history.csv`` (one member per ``runs`` entry
    when ``best`` is a list)."""
    folder.mkdir(parents=True, exist_ok=True)
    meta: dict = {"task": "binary", "model": "cnn", "class_names": ["b", "a"]}
    if isinstance(best, list):
        meta.update(best_epoch=best[0], member_best_epochs=best)
        rows = [{"member": m, "epoch": e, "valid_mcc": 0.1 * e}
                for m, n in enumerate(runs) for e in range(1, n + 1)]
    else:
        meta["best_epoch"] = best
        rows = [{"epoch": e, "valid_mcc": 0.1 * e} for e in range(1, runs[0] + 1)]
    if cap is not None:
        meta["train_config"] = {"epochs": cap, "patience": 3}
    meta["epochs_run"] = sum(runs)
    (folder / "model.json").write_text(json.dumps(meta))
    pd.DataFrame(rows).to_csv(folder / "history.csv", index=False)
    return folder


def _codes(folder: Path) -> list[tuple[str, str, str]]:
    meta = json.loads((folder / "model.json").read_text())
    return [(r["level"], r["code"], r["short"]) for r in epoch_reasons(folder, meta)]


@pytest.mark.parametrize(("best", "runs", "cap", "expected"), [
    (8, [8], 8, [("caution", "UNDERTRAINED", UNDER)]),           # still improving at the cap
    (5, [8], 8, []),                                             # best before the cap
    (5, [8], 20, []),                                            # stopped early
    (8, [8], 20, []),                                            # stopped by hand, not the cap
    (1, [4], 20, [("caution", "BEST_EPOCH_FIRST", FIRST)]),      # nothing after epoch 1
    (1, [1], 1, []),                                             # one epoch: nothing to say
    ([6, 3], [6, 6], 6, [("caution", "UNDERTRAINED", UNDER)]),   # one member at the cap
    ([4, 1], [7, 4], 10, [("caution", "BEST_EPOCH_FIRST", FIRST)]),
    (8, [8], None, []),                                          # no recipe: no claim
])
def test_epoch_reasons(tmp_path, best, runs, cap, expected):
    assert _codes(_model(tmp_path / "m", best, runs, cap)) == expected


def test_undertrained_model_gets_a_caution_in_the_verdict(tmp_path):
    root = _hand_built(tmp_path)
    folder = root / "models" / "m"
    meta = json.loads((folder / "model.json").read_text())
    meta.update(best_epoch=30, epochs_run=30, train_config={"epochs": 30})
    (folder / "model.json").write_text(json.dumps(meta))
    pd.DataFrame({"epoch": range(1, 31), "valid_mcc": [i / 30 for i in range(30)]}).to_csv(
        folder / "history.csv", index=False)
    entry = run_checks(root, ["m"], CheckSettings(bootstrap=50))["models"]["m"]
    assert entry["level"] == "caution"
    assert [r["code"] for r in entry["reasons"]] == ["UNDERTRAINED"]
    assert entry["why"] == f"CAUTION: {UNDER}"
