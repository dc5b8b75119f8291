"""The residue alphabet: token ids, the pad id and the policy for non-standard letters.

Token scheme (``uint8``):

* ``0`` is padding (never a residue);
* the 20 standard residues ``ACDEFGHIKLMNPQRSTVWY`` are ``1..20`` in that order;
* ``X`` (unknown) is ``21``.

Policy for everything else, applied by :func:`clean`:

``map`` (the default)
    lowercase is upper-cased; ``U`` (selenocysteine) -> ``C``; ``O`` (pyrrolysine) -> ``K``;
    ``B``, ``Z``, ``J`` (ambiguous) -> ``X``; one trailing ``*`` (stop) is dropped. Every
    substitution is counted and reported, never silent.
``strict``
    anything outside the 20 letters and ``X`` is an error naming the record, the 1-based
    position and the character. Lowercase is an error too.

Under both policies gaps (``-``, ``.``) and an inner ``*`` are errors, unless the caller
passes ``drop_gaps=True``, which removes gap characters (and counts them). Nothing is ever
deleted silently: deletion shifts positions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..errors import PolicyError

STANDARD = "ACDEFGHIKLMNPQRSTVWY"
UNKNOWN = "X"
PAD_ID = 0
UNKNOWN_ID = 21
N_TOKENS = 22  # pad + 20 + X
N_CHANNELS = 21  # one-hot channels: 20 residues + X (pad is the all-zero column)
POLICIES = ("map", "strict")
GAPS = "-."

#: substitutions applied under the ``map`` policy (after upper-casing)
MAP_SUBSTITUTIONS = {"U": "C", "O": "K", "B": "X", "Z": "X", "J": "X"}

_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(STANDARD, start=1):
    _LUT[ord(_c)] = _i
_LUT[ord(UNKNOWN)] = UNKNOWN_ID
#: byte -> token id lookup table for clean upper-case sequences; 255 marks an invalid byte
TOKEN_LUT = _LUT
#: the same table as bytes, for ``bytes.translate`` (the fastest whole-buffer lookup)
TOKEN_TABLE = _LUT.tobytes()
#: token id -> letter (index 0, the pad, maps to ``-``)
ID_TO_LETTER = np.frombuffer(("-" + STANDARD + UNKNOWN).encode(), dtype=np.uint8).copy()

_VALID = set(STANDARD + UNKNOWN)


@dataclass
class Substitutions:
    """Counts of every change the policy made, by kind (e.g. ``'U->C'``, ``'lowercase'``)."""

    counts: Counter = field(default_factory=Counter)
    records: Counter = field(default_factory=Counter)

    def add(self, kind: str, n: int, record: str) -> None:
        """Count ``n`` changes of ``kind`` in ``record``."""
        if n:
            self.counts[kind] += n
            self.records[record] += n

    def summary(self) -> str:
        """One line naming every substitution kind and count, or ``'none'``."""
        if not self.counts:
            return "none"
        parts = [f"{k} x{v}" for k, v in sorted(self.counts.items())]
        return ", ".join(parts) + f" in {len(self.records)} record(s)"


def check_policy(policy: str) -> str:
    """Return ``policy`` if it is known, else raise ``ValueError`` listing the known ones."""
    if policy not in POLICIES:
        raise ValueError(f"unknown alphabet policy {policy!r}; choose one of {', '.join(POLICIES)}")
    return policy


def clean(
    seq: str,
    record: str = "?",
    policy: str = "map",
    drop_gaps: bool = False,
    subs: Substitutions | None = None,
) -> str:
    """Apply the alphabet policy to one sequence and return the cleaned upper-case string.

    Raises :class:`PolicyError` naming ``record``, the 1-based position and the character
    for anything the policy does not allow. Substitutions are counted into ``subs``.
    """
    check_policy(policy)
    if not seq:
        raise PolicyError(record, "empty sequence")
    if set(seq) <= _VALID:  # fast path: already clean
        return seq
    original = seq
    n_gaps = 0
    if drop_gaps:
        n_gaps = sum(seq.count(g) for g in GAPS)
        if n_gaps:
            seq = seq.replace("-", "").replace(".", "")
            if subs is not None:
                subs.add("gap dropped", n_gaps, record)
    if policy == "map":
        if seq.endswith("*"):
            seq = seq[:-1]
            if subs is not None:
                subs.add("trailing * dropped", 1, record)
        n_lower = sum(1 for c in seq if c.islower())
        if n_lower:
            seq = seq.upper()
            if subs is not None:
                subs.add("lowercase", n_lower, record)
        for src, dst in MAP_SUBSTITUTIONS.items():
            n = seq.count(src)
            if n:
                seq = seq.replace(src, dst)
                if subs is not None:
                    subs.add(f"{src}->{dst}", n, record)
    for pos, char in enumerate(seq, start=1):
        if char not in _VALID:
            last = pos == len(seq)
            if n_gaps:  # report the position as written in the file
                kept = [i for i, c in enumerate(original) if c not in GAPS]
                pos = kept[pos - 1] + 1
            raise PolicyError(record, _reason(char, policy, last), pos)
    if not seq:
        raise PolicyError(record, "empty sequence after applying the policy")
    return seq


def _reason(char: str, policy: str, last: bool) -> str:
    if char in GAPS:
        return f"gap character {char!r} (pass drop_gaps / --drop-gaps to remove gaps)"
    if char == "*":
        if policy == "strict" and last:
            return "trailing '*' is not allowed under the strict policy"
        return "'*' (stop) inside the sequence"
    if policy == "strict":
        return f"character {char!r} is not one of the 20 standard residues or X (policy strict)"
    return f"invalid character {char!r}"


def decode(tokens: np.ndarray) -> str:
    """Turn a 1-D array of token ids back into a residue string (pads become ``-``)."""
    return ID_TO_LETTER[np.asarray(tokens, dtype=np.intp)].tobytes().decode()
