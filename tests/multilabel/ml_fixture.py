"""A multi-label fixture: label ``motif`` depends on a motif, ``long`` on length.

Every sequence is pieces of 12 random residues (seeded), each followed by a block of the
four residues of the motif ``KWDE``: all scrambled, but for ``motif`` proteins one block is
the motif itself, so amino-acid composition carries no trace of either label (the blocks'
share is a quarter at any length). ``long`` proteins have 4-6 pieces (64-96 residues), the
others one (16). A protein with neither label carries ``plain``. Label sets are written
with ``|`` to exercise ``label_separator``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ALPHABET = "ACDEFGHIKLMNPQRSTVWY"
MOTIF = "KWDE"
SCRAMBLES = ("WKED", "DEKW", "EDWK", "WEKD")


def multilabel_table(n: int = 240, seed: int = 0, sep: str = "|") -> pd.DataFrame:
    """``n`` proteins: ``id``, ``sequence``, ``label`` (a ``sep``-joined label set), ``split``."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        motif, long = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
        blocks = [SCRAMBLES[int(k)] for k in rng.integers(len(SCRAMBLES),
                                                          size=rng.integers(4, 7) if long else 1)]
        if motif:
            blocks[int(rng.integers(len(blocks)))] = MOTIF
        pieces = ["".join(rng.choice(list(ALPHABET), size=12)) for _ in blocks]
        seq = "".join(p + b for p, b in zip(pieces, blocks, strict=True))
        labels = [name for name, on in (("motif", motif), ("long", long)) if on] or ["plain"]
        split = "train" if i < 0.7 * n else "valid" if i < 0.85 * n else "test"
        rows.append((f"p{i}", seq, sep.join(labels), split))
    return pd.DataFrame(rows, columns=["id", "sequence", "label", "split"])
