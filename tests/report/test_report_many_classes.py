"""The report of a 12-class run with long class names (the many-classes layout of issue 26):
rendered from a hand-made results folder (no training, no torch), every figure checked for a
legend or label cut at the figure's edge, full class names, integer epoch and position
ticks, verdict colours reserved for verdicts and the models table's columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqnn.report import figures
from seqnn.report.page import build_report

CLASSES = sorted(["Cell.membrane", "Cell.membrane/Cytoplasm-Nucleus", "Cytoplasm",
                  "Cytoplasm/Nucleus", "Endoplasmic.reticulum", "Extracellular",
                  "Golgi.apparatus", "Lysosome/Vacuole", "Mitochondrion", "Nucleus",
                  "Peroxisome", "Plastid"])
NEVER_RECALLED = CLASSES[7:]  # 5 of 12 classes never predicted on test
AA = "ACDEFGHIKLMNPQRSTVWY"
SPLIT_SIZES = (("train", 240), ("valid", 48), ("test", 72))


def _dump(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(obj, pd.DataFrame):
        obj.to_csv(path, sep="," if path.suffix == ".csv" else "\t", index=False)
    else:
        path.write_text(json.dumps(obj, indent=1))


def _bins(test: pd.DataFrame, key: pd.Series, names: list[str]) -> dict:
    """``by_*_bin`` entries as seqnn.checks.bins writes them (accuracy, recall, classes)."""
    out = {}
    for name in names:
        part = test[(key == name).to_numpy()]
        out[name] = {"n": len(part), "metric": 0.3, "accuracy": float(
            (part["true"] == part["predicted"]).mean()),
            "classes": {str(k): int(v) for k, v in part["true"].value_counts().items()},
            "recall": {str(k): float((g["predicted"] == k).mean())
                       for k, g in part.groupby("true")},
            "one_class": bool(part["true"].nunique() < 2)}
    return out


def _check(name: str, level: str, value: float, test: pd.DataFrame, lengths: pd.Series) -> dict:
    ident = pd.Series(np.array(["<0.3", "0.3-0.5", "0.5-0.7", ">=0.7"])[
        np.minimum(np.arange(len(test)) % 9 // 2, 3)])
    length = pd.Series(np.where(lengths < 80, "30-79", "80-160"))
    reasons = [] if level == "pass" else [
        {"level": "caution", "code": "GAP", "short": "large gap",
         "message": "GAP: train 0.95 vs test 0.41"}]
    return {
        "task": "multiclass", "metric": "mcc", "level": level, "reasons": reasons,
        "why": "PASS: beats dipeptide composition by +0.120" if level == "pass"
        else "CAUTION: large gap",
        "verdict": f"{name} beats dipeptide composition by {value - 0.3:+.2f} MCC.",
        "test_metric": value, "ci": [value - 0.08, value + 0.08],
        "best_shortcut": {"name": "dipeptide", "label": "dipeptide composition",
                          "test_metric": 0.3},
        "delta_vs_best_shortcut": value - 0.3, "best_epoch": 7,
        "gap": {"train": 0.95, "valid": value, "test": value, "train_test_gap": 0.95 - value},
        "controls": {"permutation": {"test_metric": 0.01, "chance": True},
                     "shuffle": {"test_metric": 0.2, "delta": value - 0.2}},
        "by_identity_bin": _bins(test, ident, ["<0.3", "0.3-0.5", "0.5-0.7", ">=0.7"]),
        "by_length_bin": _bins(test, length, ["30-79", "80-160"])}


def _attributions(rng: np.random.Generator, test: pd.DataFrame, classes: list[str]) -> dict:
    maps = []
    for c in classes:
        for _, row in test[test["true"] == c].head(2).iterrows():
            maps.append({"id": row["id"], "class": c, "target": c, "sequence": "A" * 40,
                         "scores": rng.normal(0, 0.05, 40).round(4).tolist()})
    return {"method": "gradxinput", "n": len(test), "rule": "termini ratio >= 2",
            "alphabet": AA, "flags": ["attributions concentrate on the termini: 41% of the "
                                      "attribution on the first/last 10% of residues"],
            "termini": {"fraction": 0.1, "attribution_share": 0.41, "residue_share": 0.2,
                        "ratio": 2.05},
            "residues": {"rho": 0.35, "eta2": 0.4, "by_class": {
                c: {"attribution": rng.normal(0.05, 0.02, 20).tolist(),
                    "composition_diff": rng.normal(0, 0.01, 20).tolist()} for c in classes}},
            "maps": maps}


def make_many_classes(root: Path, classes: list[str] = CLASSES) -> Path:
    """A results folder of a 12-class run (or of ``classes``): sequences, split, an audit
    whose identity counts span two orders of magnitude, two models (the cnn with
    attributions and every plot; the rnn without history or predictions), four shortcut
    baselines and checks with levels; 5 of the 12 classes are never recalled on test."""
    rng = np.random.default_rng(3)
    split = np.concatenate([[s] * n for s, n in SPLIT_SIZES])
    n = len(split)
    ids = [f"Q{i:04d}" for i in range(n)]
    labels = np.array(classes)[np.arange(n) % len(classes)]
    seqs = ["".join(rng.choice(list(AA), int(rng.integers(30, 160)))) for _ in ids]
    _dump(root / "sequences.tsv", pd.DataFrame({"id": ids, "sequence": seqs, "label": labels,
                                                "source": "deeploc.fasta"}))
    _dump(root / "splits.tsv", pd.DataFrame({"id": ids, "split": split, "cluster": ids}))
    edges = [round(0.1 * i, 1) for i in range(11)]
    _dump(root / "audit.json", {
        "identity_threshold": 0.3, "leak": False, "warnings": [],
        "fraction_above_threshold": {"valid": 1 / 48, "test": 4 / 110},
        "n": {"train": 240, "valid": 48, "test": 110}, "n_above_threshold": {"test": 4},
        "histogram": {"edges": edges, "valid": [40, 5, 2, 1, 0, 0, 0, 0, 0, 0],
                      "test": [80, 20, 6, 2, 0, 0, 0, 1, 0, 1]}})
    _dump(root / "split_summary.json", {"method": "cluster", "identity": 0.3, "seed": 0})
    for name, value in (("cnn", 0.42), ("rnn", 0.38)):
        mdir = root / "models" / name
        _dump(mdir / "model.json", {"model": name, "task": "multiclass", "class_names": classes,
                                    "best_epoch": 7, "temperature": 1.3, "params": {}})
        e = np.arange(1, 5 if name == "cnn" else 11)  # 4 epochs: fractional ticks by default
        _dump(mdir / "history.csv", pd.DataFrame({
            "epoch": e, "train_loss": 2 / e, "valid_loss": 1 + (e - 7) ** 2 / 50,
            "train_mcc": 1 - 1 / (e + 1), "valid_mcc": 0.4 - (e - 7) ** 2 / 200,
            "seconds": 2.0, "samples_per_sec": 500.0}))
        true = pd.Series(labels)
        pred = np.where(rng.uniform(size=n) < 0.6, true, rng.choice(classes[:7], n))
        pred = np.where(np.isin(pred, NEVER_RECALLED), classes[0], pred)
        prob = rng.dirichlet(np.ones(len(classes)), n) * 0.4
        prob[np.arange(n), [classes.index(p) for p in pred]] += 0.6
        df = pd.DataFrame({"id": ids, "split": split, "true": labels, "predicted": pred,
                           **{f"p_{c}": prob[:, k] for k, c in enumerate(classes)}})
        if name == "cnn":  # the rnn has no plots: fewer figures, a faster test
            _dump(mdir / "predictions.tsv", df)
        else:
            (mdir / "history.csv").unlink()
        _dump(mdir / "metrics.json", {s: {"accuracy": 0.5, "balanced_accuracy": 0.4,
                                          "mcc": value, "macro_f1": 0.3, "roc_auc": 0.8,
                                          "n": int((split == s).sum())}
                                      for s, _ in SPLIT_SIZES})
        test = df[df["split"] == "test"].reset_index(drop=True)
        lengths = pd.Series([len(seqs[ids.index(i)]) for i in test["id"]])
        entry = _check(name, "pass" if name == "cnn" else "caution", value, test, lengths)
        checks = json.loads((root / "checks.json").read_text()) if name == "rnn" else {
            "task": "multiclass", "metric": "mcc", "margin": 0.05, "models": {}}
        checks["models"][name] = entry
        _dump(root / "checks.json", checks)
    _dump(root / "models" / "cnn" / "plots" / "attributions.json",
          _attributions(rng, df[df["split"] == "test"], classes))
    _dump(root / "baselines.json", {b: {"test": {"mcc": v}, "train": {"mcc": v},
                                        "valid": {"mcc": v}}
                                    for b, v in (("majority", 0.0), ("length", 0.05),
                                                 ("aa_composition", 0.25),
                                                 ("dipeptide", 0.3))})
    return root




def _cut(fig) -> list[str]:
    """Every text, legend and axis (its tick labels and label) of ``fig`` whose drawn extent
    reaches past the figure's edge (1 px of rounding allowed)."""
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    edge = fig.bbox
    axes_parts = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
                  for t in axis.findobj(Text)}
    found = []
    for artist in fig.findobj(lambda a: isinstance(a, Text | Legend)):
        if id(artist) in axes_parts or not artist.get_visible() or (
                isinstance(artist, Text) and not artist.get_text().strip()):
            continue
        found.append((artist, artist.get_window_extent(renderer)))
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            box = axis.get_tightbbox(renderer)
            if box is not None:
                found.append((f"{axis.axis_name} axis of {ax.get_title()!r}", box))
    return [f"{a.get_text() if isinstance(a, Text) else a}: {b}" for a, b in found
            if b.x0 < edge.x0 - 1 or b.y0 < edge.y0 - 1 or b.x1 > edge.x1 + 1
            or b.y1 > edge.y1 + 1]


def _texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def _render(ds: Path, out: Path) -> tuple[str, list]:
    """The report's HTML and its figures, kept open as they were saved."""
    with figures.keep_figures() as figs:
        build_report(ds, out)
    return out.read_text(), list(figs)


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory):
    """The 12-class report, rendered once for this module: ``(html, figures)``."""
    root = tmp_path_factory.mktemp("many")
    text, figs = _render(make_many_classes(root / "results" / "deeploc"), root / "report.html")
    yield text, figs
    for f in figs:
        figures.pyplot().close(f)


def _find(figs: list, text: str):
    hits = [f for f in figs if any(text in t for t in _texts(f))]
    assert len(hits) >= 1, text
    return hits[0]


def _assert_nothing_cut(text: str, figs: list) -> None:
    # summary chart, length, composition, identity; cnn: curves, confusion, ROC, reliability,
    # bins, attribution summary and maps; rnn: bins (from checks.json)
    assert len(figs) == text.count("data:image/png;base64,") == 12
    cut = {i: _cut(f) for i, f in enumerate(figs)}
    assert {i: c for i, c in cut.items() if c} == {}


def test_no_legend_or_label_is_cut_at_the_figure_edge(many: tuple) -> None:
    _assert_nothing_cut(*many)


@pytest.mark.filterwarnings("ignore:More than 20 figures")
def test_nothing_is_cut_in_a_binary_report_either(tmp_path: Path) -> None:
    ds = make_many_classes(tmp_path / "results" / "amp", ["neg", "pos"])
    text, figs = _render(ds, tmp_path / "report.html")
    try:
        _assert_nothing_cut(text, figs)
        residues = _find(figs, "Residues: Spearman")  # two classes: one panel, legend beside
        assert [t.get_text() for t in residues.axes[1].get_legend().get_texts()] == [
            "neg", "pos"]
    finally:
        for f in figs:
            figures.pyplot().close(f)


def test_many_classes_plots_name_every_class_in_full_and_tick_whole_numbers(many: tuple):
    _, figs = many
    residues = _find(figs, "one panel per target class")
    titles = [ax.get_title().replace("\n", "") for ax in residues.axes[1:]]
    assert titles == CLASSES  # small multiples, each class named in full
    assert residues.legends == [] and all(ax.get_legend() is None for ax in residues.axes)
    bins = _find(figs, "Test accuracy and recall by bin")
    (legend,) = bins.legends
    entries = [t.get_text().replace("\n", "") for t in legend.get_texts()]
    assert entries == ["accuracy", *(f"recall {c}" for c in CLASSES)]
    for ax in bins.axes:  # the legend sits outside every panel
        assert not legend.get_window_extent().overlaps(ax.get_window_extent())
    curves = _find(figs, "Learning curves")  # the cnn's: 4 epochs
    for ax in (*curves.axes, _find(figs, "past its end").axes[0]):
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks), ticks
    hist = _find(figs, "Held-out vs train identity")
    ax = hist.axes[0]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "threshold 0.3", "valid: 2.1% ≥ 0.3", "test: 3.6% ≥ 0.3"]
    assert {"1", "2", "80"} <= set(_texts(hist))  # every bar's count is written on it


def test_summary_chart_keeps_verdict_colours_for_the_models(many: tuple):
    import colorsys

    from matplotlib.colors import to_hex, to_rgb

    from seqnn.report.summary_chart import LEVEL_COLOURS

    _, figs = many
    ax = _find(figs, "shortcut baselines").axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()
             if not line.get_label().startswith("_")}
    assert sorted(lines) == ["aa_composition 0.250", "dipeptide 0.300", "length 0.050",
                             "majority 0.000"]
    for line in lines.values():  # blue or grey, never red, amber or green
        h, s, _ = colorsys.rgb_to_hsv(*to_rgb(line.get_color()))
        assert s < 0.15 or 0.5 < h < 0.7, line.get_label()
    assert len({to_hex(line.get_color()) for line in lines.values()}) == 4
    dots = [to_hex(line.get_color()) for line in ax.get_lines()
            if line.get_label().startswith("_") and line.get_marker() == "o"]
    assert dots == [LEVEL_COLOURS["caution"], LEVEL_COLOURS["pass"]]  # rnn, cnn


def test_models_table_summary_tags_and_split_table(many: tuple):
    text, _ = many
    models = text.split('id="models"')[1]
    head = models.split("<thead><tr>")[1].split("</tr>")[0]
    assert head == "".join(f"<th>{h}</th>" for h in (
        "Model", "Verdict", "Test MCC [95% CI]", "Accuracy", "Bal. acc.", "Macro-F1",
        "ROC AUC", "Δ vs best shortcut", "Train–test gap", "Best epoch", "Permutation control",
        "Shuffle control"))
    assert '<td><b>cnn</b></td><td><span class="badge ok">pass</span></td><td>0.420 [' in models
    summary = text.split('id="summary"')[1].split('id="dataset"')[0]
    assert '<p class="note-line"><span class="tag note">note</span> Attribution check (not ' \
        "part of the verdict): attributions concentrate on the termini" in summary
    assert 'class="bad"' not in summary
    never = ("<li><span class=\"lvl-caution\">caution</span>: 5 of 12 classes are never "
             f"recalled on test (recall 0): {'; '.join(NEVER_RECALLED)}.")
    assert summary.count(never) == 1  # the cnn (the rnn has no predictions.tsv)
    split = text.split('id="split"')[1].split('id="models"')[0]
    assert "<th>Class</th><th>train</th><th>valid</th><th>test</th>" in split
    assert "<td>Endoplasmic.reticulum</td><td>20 (8.3%)</td><td>4 (8.3%)</td>" in split
    assert "<span class=\"plain\">3.6%</span>" in split  # the audit passed: not red
