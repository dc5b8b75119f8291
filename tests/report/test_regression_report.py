"""The report's regression block and the split section's note on a carved validation part."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from test_report import PNG_MAGIC, make_dataset

from seqnn.report.html import Plots
from seqnn.report.models import models_section
from seqnn.report.regression import (
    plot_scatter_by_identity,
    regression_figure,
    regression_table,
)
from seqnn.report.results import load_results
from seqnn.report.sections import split_section


def _small(root: Path) -> Path:
    """A regression results folder with one model and fewer plots (fast to report)."""
    ds = make_dataset(root, task="regression")
    for model in ("rnn", "autoencoder"):
        shutil.rmtree(ds / "models" / model)
    (ds / "models/cnn/history.csv").unlink()
    return ds


def _img(text: str, alt: str) -> bool:
    """Whether an embedded PNG with this alt text is in the page."""
    return re.search(r'<img src="data:image/png;base64,[^"]+" alt="' + re.escape(alt) + '"',
                     text) is not None


def test_regression_block_scatter_by_identity_and_spearman_interval(tmp_path: Path):
    ds = _small(tmp_path / "results" / "dms")
    (tmp_path / "plots").mkdir()
    d = load_results(ds)
    text = models_section(d, Plots(tmp_path / "plots"))
    assert _img(text, "cnn predicted vs true")
    assert "Test Spearman with its 95% bootstrap interval" in text
    assert "0.610 [0.510, 0.710]" in text  # cnn: test Spearman and its interval
    assert "identity to train &lt;0.3" in text and "identity to train 0.3-0.5" in text
    (ds / "nearest_train.tsv").unlink()  # without the audit's table: the plain scatter
    d = load_results(ds)
    img = regression_figure(d, "cnn", d.models["cnn"], Plots(tmp_path / "plots"))
    assert _img(img, "cnn predicted vs true")


def test_scatter_by_identity_writes_a_png(tmp_path: Path):
    ds = _small(tmp_path / "results" / "dms")
    out = tmp_path / "scatter.png"
    plot_scatter_by_identity(ds / "models/cnn/predictions.tsv", ds / "nearest_train.tsv", out,
                             ci=[0.1, 0.5])
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_regression_table_rows():
    html = regression_table({"test_metric": 0.7, "ci": [0.6, 0.8], "by_identity_bin": {
        "<0.3": {"n": 5, "metric": 0.4, "mae": 0.3}, ">=0.7": {"n": 1, "metric": None}}})
    assert "0.700 [0.600, 0.800]" in html and "0.400" in html and "0.300" in html
    assert regression_table({}) == ""


def test_split_section_says_validation_was_carved(tmp_path: Path):
    ds = _small(tmp_path / "results" / "flip")
    summary = json.loads((ds / "split_summary.json").read_text())
    summary.update(method="given", valid_carved={
        "from": "train", "how": "whole MMseqs2 clusters of the training sequences",
        "valid_fraction": 0.1, "seed": 0, "n_train_before": 44, "n_valid": 4, "n_train": 40,
        "clusters": 30, "identity": 0.3, "coverage": 0.8})
    (ds / "split_summary.json").write_text(json.dumps(summary))
    text = split_section(load_results(ds), lambda fn, *args, alt, **kw: alt)
    assert ("The given split had no validation records: 4 of 44 training sequences were carved "
            "out as valid (whole MMseqs2 clusters of the training sequences at identity 0.300; "
            "valid_fraction 0.100, seed 0).") in text
