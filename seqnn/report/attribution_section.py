"""What the attributions say about shortcuts, in the report: the flags in a model's summary
box and, in its block, the termini and residue-composition plots and a few test proteins'
attribution maps. Read from ``plots/attributions.json`` (written by ``seqnn evaluate``, see
:mod:`seqnn.inference.attribution_summary` for the numbers and the flag rule); no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import layout
from ..data.files import read_json
from .figures import (
    WIDE,
    PlotUnavailable,
    class_colours,
    integer_ticks,
    pyplot,
    save_png,
    wrap_label,
)
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
    """The attribution line of a model's summary box: each flag as a neutral note (the
    attribution check informs, it is not a reason of the verdict), or that none fired."""
    s = read_attributions(model_dir)
    if s is None:
        return ""
    found = [str(f) for f in s.get("flags") or []]
    if found:
        return "".join(f'<p class="note-line"><span class="tag note">note</span> Attribution '
                       f"check (not part of the verdict): {esc(f)}.</p>" for f in found)
    return (f'<p class="muted">Attributions ({esc(str(s.get("n")))} test sequences): neither '
            "the termini nor composition flag.</p>")


#: above this many classes the residue panel becomes one small panel per class
FEW_CLASSES = 3
#: above this many stored maps they are drawn as one heatmap instead of one track each
FEW_MAPS = 6
ATTRIBUTION_COLOUR = "#4477aa"  # the termini bar: neither a verdict colour nor a class's


def _letters(ax: Any, x: np.ndarray, y: np.ndarray, alphabet: str, color: str,
             size: float) -> None:
    """One residue letter per (composition difference, attribution share) point."""
    for letter, xi, yi in zip(alphabet, x, y, strict=False):
        ax.text(xi, yi, letter, color=color, ha="center", va="center", fontsize=size)
    ax.update_datalim(np.column_stack([x, y]))


def _residue_title(r: Mapping) -> str:
    rho, eta = r.get("rho"), r.get("eta2")
    return ("Residues: Spearman " + (f"{rho:.2f}" if rho is not None else "n/a")
            + ", residue type explains " + (f"{eta:.0%}" if eta is not None else "n/a"))


def plot_attribution_summary(summary: Mapping, path: Any,
                             class_names: Sequence[str] | None = None) -> None:
    """Left: attribution share vs residue share on the termini. Right: attribution share of
    each residue type against its composition difference, one letter per residue in the
    colour of its class; above :data:`FEW_CLASSES` classes, one small panel per class on
    shared axes (the class named above its panel, in full). ``class_names`` (the model's)
    fix the colours of the page's class palette."""
    t, r = summary["termini"], summary["residues"]
    if t.get("attribution_share") is None:
        raise PlotUnavailable("no attributions")
    plt = pyplot()
    alphabet = summary.get("alphabet", "ACDEFGHIKLMNPQRSTVWY")
    by_class = {str(c): v for c, v in (r.get("by_class") or {}).items()}
    colours = class_colours([*by_class, *(class_names or [])])
    many = len(by_class) > FEW_CLASSES
    ncols = 4 if many else 1
    nrows = -(-len(by_class) // ncols) if many else 1
    fig = plt.figure(figsize=(WIDE[0], max(WIDE[1], 0.9 + 2.1 * nrows)))
    grid = fig.add_gridspec(nrows, ncols + 1, width_ratios=[1.3 if many else 1, *[
        1 if many else 2] * ncols])
    ax = fig.add_subplot(grid[:, 0])
    ax.bar(["attribution", "residues"], [t["attribution_share"], t["residue_share"]],
           color=[ATTRIBUTION_COLOUR, "0.7"])
    ax.set_ylabel(f"share on first/last {t['fraction']:.0%}")
    ax.set_title(f"Termini (ratio {t['ratio']:.2f})", fontsize=9)
    if not many:
        bx = fig.add_subplot(grid[0, 1])
        for c, v in by_class.items():
            _letters(bx, np.asarray(v["composition_diff"]), np.asarray(v["attribution"]),
                     alphabet, colours[c], 8)
            bx.plot([], [], "s", color=colours[c], label=wrap_label(c))  # legend entry
        panels = [bx]
        bx.set(xlabel="composition difference (class - rest)", ylabel="attribution share")
        bx.set_title(_residue_title(r), fontsize=9)
        if by_class:
            bx.legend(fontsize=8, title="target class", title_fontsize=8, loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        panels = []
        for k, (c, v) in enumerate(by_class.items()):
            bx = fig.add_subplot(grid[k // ncols, 1 + k % ncols],
                                 sharex=panels[0] if panels else None,
                                 sharey=panels[0] if panels else None)
            _letters(bx, np.asarray(v["composition_diff"]), np.asarray(v["attribution"]),
                     alphabet, "0.15", 7)
            bx.set_title(wrap_label(c, 24), fontsize=8)
            for spine in bx.spines.values():  # the class's colour, as in every plot
                spine.set(color=colours[c], linewidth=2)
            bottom = k + ncols >= len(by_class)  # no panel below this one
            bx.tick_params(labelsize=7, labelleft=k % ncols == 0, labelbottom=bottom)
            bx.set(xlabel="composition diff." if bottom else "",
                   ylabel="attribution share" if k % ncols == 0 else "")
            panels.append(bx)
        fig.suptitle(_residue_title(r) + "; one panel per target class (x: its composition "
                     "minus the rest's)", fontsize=9)
    for bx in panels:
        bx.autoscale_view()
        bx.axhline(0, color="0.8", lw=0.5)
        bx.axvline(0, color="0.8", lw=0.5)
    save_png(fig, path)


def plot_attribution_maps(summary: Mapping, path: Any) -> None:
    """The stored test proteins' attributions (a few of each class): one bar track each, or
    above :data:`FEW_MAPS` maps one heatmap with a row per protein (red toward the class,
    blue against it, grey past a protein's end)."""
    maps = [m for m in summary.get("maps") or [] if m.get("scores")]
    if not maps:
        raise PlotUnavailable("no attribution maps")
    plt = pyplot()
    if len(maps) > FEW_MAPS:
        _map_heatmap(plt, maps, path)
        return
    fig, axes = plt.subplots(len(maps), 1, figsize=(WIDE[0], 0.9 + 1.0 * len(maps)),
                             squeeze=False)
    for ax, m in zip(axes[:, 0], maps, strict=True):
        a = np.asarray(m["scores"], float)
        ax.bar(np.arange(1, len(a) + 1), a, width=1.0,
               color=np.where(a >= 0, "#b2182b", "#2166ac"))
        ax.set_title(f"{m['id']} (class {m['class']}, target {m['target']})", fontsize=8)
        ax.tick_params(labelsize=7)
        integer_ticks(ax.xaxis)
    axes[-1, 0].set_xlabel("position")
    save_png(fig, path)


def _map_heatmap(plt: Any, maps: list, path: Any) -> None:
    """:func:`plot_attribution_maps` as one heatmap, its rows labelled "id (class)"."""
    width = max(len(m["scores"]) for m in maps)
    grid = np.full((len(maps), width), np.nan)
    for i, m in enumerate(maps):
        grid[i, : len(m["scores"])] = np.asarray(m["scores"], float)
    top = float(np.nanpercentile(np.abs(grid), 99)) or 1.0
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.92")
    fig, ax = plt.subplots(figsize=(WIDE[0], 1.3 + 0.24 * len(maps)))
    im = ax.imshow(grid, cmap=cmap, vmin=-top, vmax=top, aspect="auto", interpolation="none",
                   extent=(0.5, width + 0.5, len(maps) - 0.5, -0.5))
    ax.set_yticks(range(len(maps)), [f"{m['id']} ({m['class']})" for m in maps], fontsize=7)
    integer_ticks(ax.xaxis)
    ax.set_xlabel("position")
    ax.set_title("Attribution toward the true class per test protein (grey: past its end)",
                 fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="gradient x input")
    save_png(fig, path)


def attribution_detail(model_dir: Path, name: str, plot: Plots,
                       class_names: Sequence[str] | None = None) -> str:
    """The attribution part of a model's block (empty without ``attributions.json``)."""
    s = read_attributions(model_dir)
    if s is None:
        return ""
    return ("<p>Attributions (gradient x input toward the true class on "
            f"{esc(str(s.get('n')))} test sequences). Flag rule: {esc(str(s.get('rule')))}.</p>"
            f'<div class="plots">'
            + plot(plot_attribution_summary, s, alt=f"{name} attribution shortcuts",
                   class_names=class_names)
            + plot(plot_attribution_maps, s, alt=f"{name} attribution maps") + "</div>")


__all__ = ["attribution_detail", "attribution_flags", "plot_attribution_maps",
           "plot_attribution_summary", "read_attributions"]
