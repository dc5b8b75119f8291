"""What the attributions say about shortcuts, in the report: the flags in a model's summary
box and, in its block, the termini and residue-composition plots and a few test proteins'
attribution maps. Read from ``plots/attributions.json`` (written by ``seqnn evaluate``, see
:mod:`seqnn.inference.attribution_summary` for the numbers and the flag rule); no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import layout
from ..data.files import read_json
from .figures import WIDE, PlotUnavailable, pyplot, save_png
from .html import Plots, esc


def read_attributions(model_dir: Path) -> dict | None:
    """``attributions.json`` of a model folder (``None`` when missing or not an object)."""
    try:
        data = read_json(Path(model_dir) / layout.PLOTS_DIR / layout.ATTRIBUTIONS)
    except ValueError:
        return None
    ok = isinstance(data, dict) and isinstance(data.get("termini"), dict) \
        and isinstance(data.get("residues"), dict)
    return data if ok else None


def attribution_flags(model_dir: Path) -> str:
    """The attribution line of a model's summary box: each flag in red, or that none fired."""
    s = read_attributions(model_dir)
    if s is None:
        return ""
    found = [str(f) for f in s.get("flags") or []]
    if found:
        return "".join(f'<p class="bad">Attribution shortcut: {esc(f)}.</p>' for f in found)
    return (f'<p class="muted">Attributions ({esc(str(s.get("n")))} test sequences): neither '
            "the termini nor composition flag.</p>")


def plot_attribution_summary(summary: Mapping, path: Any) -> None:
    """Left: attribution share vs residue share on the termini. Right: attribution share of
    each residue type against its composition difference, one letter per class x residue."""
    t, r = summary["termini"], summary["residues"]
    if t.get("attribution_share") is None:
        raise PlotUnavailable("no attributions")
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=WIDE, gridspec_kw={"width_ratios": [1, 2]})
    ax.bar(["attribution", "residues"], [t["attribution_share"], t["residue_share"]],
           color=["#b2182b", "0.6"])
    ax.set_ylabel(f"share on first/last {t['fraction']:.0%}")
    ax.set_title(f"Termini (ratio {t['ratio']:.2f})", fontsize=9)
    alphabet = summary.get("alphabet", "ACDEFGHIKLMNPQRSTVWY")
    for k, (c, v) in enumerate((r.get("by_class") or {}).items()):
        x, y = np.asarray(v["composition_diff"]), np.asarray(v["attribution"])
        color = f"C{k % 10}"
        for letter, xi, yi in zip(alphabet, x, y, strict=False):
            bx.text(xi, yi, letter, color=color, ha="center", va="center", fontsize=8)
        bx.plot([], [], "s", color=color, label=str(c)[:20])  # legend entry in the colour
        bx.update_datalim(np.column_stack([x, y]))
    bx.autoscale_view()
    bx.axhline(0, color="0.8", lw=0.5)
    bx.axvline(0, color="0.8", lw=0.5)
    rho, eta = r.get("rho"), r.get("eta2")
    bx.set(xlabel="composition difference (class - rest)", ylabel="attribution share")
    bx.set_title("Residues: Spearman " + (f"{rho:.2f}" if rho is not None else "n/a")
                 + ", residue type explains " + (f"{eta:.0%}" if eta is not None else "n/a"),
                 fontsize=9)
    bx.legend(fontsize=8, title="target class", title_fontsize=8)
    save_png(fig, path)


def plot_attribution_maps(summary: Mapping, path: Any) -> None:
    """One attribution track per stored test protein (a few of each class)."""
    maps = [m for m in summary.get("maps") or [] if m.get("scores")]
    if not maps:
        raise PlotUnavailable("no attribution maps")
    plt = pyplot()
    fig, axes = plt.subplots(len(maps), 1, figsize=(WIDE[0], 0.9 + 1.0 * len(maps)),
                             squeeze=False)
    for ax, m in zip(axes[:, 0], maps, strict=True):
        a = np.asarray(m["scores"], float)
        ax.bar(np.arange(1, len(a) + 1), a, width=1.0,
               color=np.where(a >= 0, "#b2182b", "#2166ac"))
        ax.set_title(f"{m['id']} (class {m['class']}, target {m['target']})", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("position")
    save_png(fig, path)


def attribution_detail(model_dir: Path, name: str, plot: Plots) -> str:
    """The attribution part of a model's block (empty without ``attributions.json``)."""
    s = read_attributions(model_dir)
    if s is None:
        return ""
    return ("<p>Attributions (gradient x input toward the true class on "
            f"{esc(str(s.get('n')))} test sequences). Flag rule: {esc(str(s.get('rule')))}.</p>"
            f'<div class="plots">'
            + plot(plot_attribution_summary, s, alt=f"{name} attribution shortcuts")
            + plot(plot_attribution_maps, s, alt=f"{name} attribution maps") + "</div>")


__all__ = ["attribution_detail", "attribution_flags", "plot_attribution_maps",
           "plot_attribution_summary", "read_attributions"]
