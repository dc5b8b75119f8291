"""Every registered model family on sequences longer than its max_len (issue 24, item 24):
predict and explain (gradxinput, ig, ism) run without error and say how many residues the
model did not see (predict's ``truncated`` column, explain's note and ``.npz`` key)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from seqnn.cli import main
from seqnn.models import get_model, list_models
from seqnn.runtime.checkpoint import save_model

MAX_LEN = 20
LONG, SHORT = "ACDEFGHIKLMNPQRSTVWY" * 2 + "MKV", "MKVLAAG"  # 43 and 7 residues
#: a tiny version of every registered family (a new family must be added here)
TINY = {
    "mlp": {"hidden": [8], "dropout": 0.0},
    "cnn": {"channels": [4], "kernel_size": 3, "head_hidden": 0, "dropout": 0.0},
    "rnn": {"hidden_size": 4, "dropout": 0.0},
    "autoencoder": {"channels": [4], "decoder_channels": [4], "kernel_size": 3,
                    "hidden_size": 4, "latent_dim": 4, "pos_dim": 4},
    "vae": {"channels": [4], "decoder_channels": [4], "kernel_size": 3, "hidden_size": 4,
            "latent_dim": 4, "pos_dim": 4, "max_gen_len": 16},
    "gan": {"channels": [4], "critic_channels": [4], "kernel_size": 3, "latent_dim": 4,
            "max_gen_len": 16, "eval_samples": 16},
}
#: ``(family, extra params, residues the model sees)``: the flattening mlp's own width (12)
#: is below the folder's max_len
CASES = [(name, {}, MAX_LEN) for name in sorted(TINY)] + [
    ("mlp", {"flatten": True, "max_len": 12}, 12)]
SUPERVISED = ("mlp", "cnn", "rnn")


def test_every_registered_family_has_a_case() -> None:
    assert sorted(TINY) == list_models()


def _folder(root: Path, name: str, extra: dict) -> Path:
    supervised = name in SUPERVISED
    task = "binary" if supervised else "unsupervised"
    torch.manual_seed(0)
    model = get_model(name, n_outputs=1, task=task, **{**TINY[name], **extra})
    folder = root / "m"
    save_model(folder, model, {"task": task, "class_names": ["neg", "pos"] if supervised
                               else [], "n_outputs": 1, "max_len": MAX_LEN, "truncate": "ends"})
    (root / "in.fa").write_text(f">long\n{LONG}\n>short\n{SHORT}\n")
    return folder


def _run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize(("name", "extra", "width"), CASES,
                         ids=[f"{c[0]}{'-flatten' if c[1] else ''}" for c in CASES])
def test_predict_and_explain_longer_than_max_len(tmp_path, name, extra, width) -> None:
    folder = _folder(tmp_path, name, extra)
    fa = tmp_path / "in.fa"
    res = _run("predict", folder, fa, "-o", tmp_path / "p.tsv", "--no-nearest",
               "--device", "cpu")
    assert res.exit_code == 0, res.output
    pred = pd.read_csv(tmp_path / "p.tsv", sep="\t", keep_default_na=False)
    assert pred["length"].tolist() == [len(LONG), len(SHORT)]
    assert pred["truncated"].tolist() == [len(LONG) - width, 0]
    assert pred["flags"].tolist() == ["truncated", ""]
    for method in ("gradxinput", "ig", "ism"):
        out = tmp_path / f"{method}.npz"
        res = _run("explain", folder, fa, "-o", out, "--method", method, "--steps", "2",
                   "--device", "cpu")
        if name not in SUPERVISED:
            assert res.exit_code == 2 and "explain needs a supervised model" in res.output
            continue
        assert res.exit_code == 0, res.output
        assert (f"seqnn explain: 1 of 2 records longer than the model's input ({width} "
                f"residues): {len(LONG) - width} residues cut") in res.stderr
        got = np.load(out)
        assert got["truncated"].tolist() == [len(LONG) - width, 0]
        assert np.diff(got["offsets"]).tolist() == [width, len(SHORT)]
        assert np.isfinite(got["scores"]).all()
