"""One PNG per explained record (``seqnn explain --plot DIR``): the attribution track over
the sequence, a position x residue heatmap (the mutagenesis deltas, or the first-order
substitution estimate of the gradient methods), and a sequence logo of the observed
residues scaled by their attribution when ``logomaker`` (the ``explain`` extra) is installed.

Takes plain arrays (no torch), so it sits with the other plots.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..data.outputs import file_mode
from ..errors import OutputError
from .figures import pyplot, save_png

ALPHABET = "ACDEFGHIKLMNPQRSTVWY"
#: records longer than this get no logo (unreadable letters)
LOGO_MAX_LEN = 120


def has_logomaker() -> bool:
    """Whether the optional ``logomaker`` package (``pip install seqnn[explain]``) imports."""
    try:
        import logomaker  # noqa: F401
    except ImportError:
        return False
    return True


def plot_name(record_id: str, taken: set[str]) -> str:
    """A file name ``<id>.png`` safe on every file system (other characters become ``_``),
    made unique against ``taken`` (which it updates) with ``_2``, ``_3``..."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", record_id)[:100].lstrip(".") or "record"
    name, k = f"{base}.png", 2
    while name in taken:
        name, k = f"{base}_{k}.png", k + 1
    taken.add(name)
    return name


def plot_explanation(item: Any, method: str, path: str | os.PathLike,
                     logo: bool | None = None) -> Path:
    """Draw one explanation (``id``, ``seq``, ``positions``, ``target``, ``scores``,
    ``matrix`` as :class:`seqnn.inference.explain.Explanation`) into PNG ``path``."""
    plt = pyplot()
    logo = has_logomaker() if logo is None else logo
    length = len(item.seq)
    draw_logo = logo and length <= LOGO_MAX_LEN
    panels = 1 + (item.matrix is not None) + draw_logo
    width = min(4.0 + length * 0.06, 16.0)
    fig, axes = plt.subplots(panels, 1, figsize=(width, 2.0 + 1.6 * panels), squeeze=False,
                             sharex=True)
    ax = axes[0, 0]
    x = np.arange(length)
    colors = np.where(item.scores >= 0, "#b2182b", "#2166ac")
    ax.bar(x, item.scores, color=colors, width=1.0)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel("attribution")
    ax.set_title(f"{item.id}: {method}, target {item.target}")
    row = 1
    if item.matrix is not None:
        hm = axes[row, 0]
        lim = float(np.nanmax(np.abs(item.matrix))) or 1.0
        im = hm.imshow(item.matrix.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                       interpolation="nearest", extent=(-0.5, length - 0.5, 19.5, -0.5))
        hm.set_yticks(range(20))
        hm.set_yticklabels(list(ALPHABET), fontsize=6)
        hm.set_ylabel("substituted by")
        fig.colorbar(im, ax=hm, pad=0.01, label="delta" if method == "ism" else "est. delta")
        row += 1
    if draw_logo:
        import logomaker
        import pandas as pd

        frame = pd.DataFrame(0.0, index=x, columns=list(ALPHABET))
        for i, (c, s) in enumerate(zip(item.seq, item.scores, strict=True)):
            if c in frame.columns:
                frame.iat[i, ALPHABET.index(c)] = float(s)
        logomaker.Logo(frame, ax=axes[row, 0], color_scheme="chemistry")
        axes[row, 0].set_ylabel("logo")
    last = axes[-1, 0]
    step = max(1, length // 20)
    ticks = x[::step]
    last.set_xticks(ticks)
    last.set_xticklabels([str(int(item.positions[t])) for t in ticks], fontsize=7)
    last.set_xlabel("position" if length > 60 else "position (" + item.seq + ")")
    save_png(fig, path)
    return Path(path)




class PlotDir:
    """The ``--plot`` folder of ``seqnn explain``, filled without partial output.

    ``PlotDir(None, method)`` does nothing. Otherwise the folder must not exist or be empty
    (:class:`~seqnn.errors.OutputError`); PNGs go to a hidden temporary folder beside it,
    renamed onto it when the ``with`` block ends without an error and removed when it
    fails. ``note`` says when the logo panel was left out (no ``logomaker``).
    """

    def __init__(self, folder: str | os.PathLike | None, method: str):
        self.folder, self.method, self.note = folder, method, ""
        self.tmp: Path | None = None
        self.taken: set[str] = set()
        self.logo = False

    def __enter__(self) -> PlotDir:
        if self.folder is None:
            return self
        import tempfile

        target = Path(self.folder)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise OutputError(target, "--plot needs a new or empty folder")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp",
                                             dir=target.parent))
        except OSError as exc:
            raise OutputError(target, f"cannot write ({exc.strerror or exc})") from None
        self.logo = has_logomaker()
        if not self.logo:
            self.note = "no sequence logo in the plots (install seqnn[explain] for logomaker)"
        return self

    def add(self, item: Any) -> None:
        """Plot one explanation into the temporary folder."""
        if self.tmp is not None:
            plot_explanation(item, self.method, self.tmp / plot_name(item.id, self.taken),
                             self.logo)

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if self.tmp is None:
            return
        import shutil

        if kind is None:
            target = Path(self.folder)
            if target.is_dir():
                target.rmdir()
            os.chmod(self.tmp, file_mode(0o777))  # mkdtemp makes 0700; a folder gets 0755
            os.replace(self.tmp, target)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


__all__ = ["LOGO_MAX_LEN", "PlotDir", "has_logomaker", "plot_explanation", "plot_name"]
