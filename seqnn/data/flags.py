"""The validation flag of the biotrainer/FLIP input format.

FLIP's splits and biotrainer's ``sequence_to_value`` protocol write a record's split in two
fields: ``>Seq12 TARGET=1.44 SET=train VALIDATION=True``. ``SET`` is ``train`` or ``test``
and ``VALIDATION=True`` marks the training records held out for validation. With a split
read per record (``split_field`` from a FASTA header, or ``split_column`` of a table), a
true flag in the ``valid_field`` (default ``VALIDATION``; a table column matches in any
letter case, e.g. FLIP's CSV column ``validation``) moves a ``train`` record to ``valid``;
``valid_field: null`` switches this off.

Booleans are ``True``/``true``/``1``/``yes`` and ``False``/``false``/``0``/``no`` (any letter
case); a missing field or an empty table cell (FLIP leaves it empty on test rows) reads as
false. Anything else, or a true flag on a ``test`` record, is a
:class:`~seqnn.errors.SeqnnInputError` naming the file and the record.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from ..config import DEFAULT_VALID_FIELD
from ..errors import SeqnnInputError
from .tables import normalise_split

TRUE = frozenset({"true", "1", "yes"})
FALSE = frozenset({"false", "0", "no", ""})


def parse_flag(value: object, field: str, path: str | os.PathLike, record: str) -> bool:
    """``value`` of the boolean ``field`` as a bool (spellings in the module docstring);
    ``None`` (field absent) is false."""
    key = "" if value is None else str(value).strip().lower()
    if key in TRUE:
        return True
    if key in FALSE:
        return False
    raise SeqnnInputError(path, f"{field}={value!r} is not a boolean (use True, true, 1 or "
                          "yes; False, false, 0 or no)", record)


def apply_valid_flags(splits: Sequence[str], flags: Sequence[object], ids: Sequence[str],
                      field: str, path: str | os.PathLike) -> list[str]:
    """The split names of ``splits`` (normalised to train/valid/test) with every ``train``
    record whose flag is true moved to ``valid``; a true flag on a test record raises."""
    out = []
    for raw, flag, rid in zip(splits, flags, ids, strict=True):
        split = normalise_split(raw, path, rid)
        if parse_flag(flag, field, path, rid):
            if split == "test":
                raise SeqnnInputError(path, f"{field} is true on a test record (only train "
                                      "records move to valid)", rid)
            split = "valid"
        out.append(split)
    return out


def flag_column(table: pd.DataFrame, field: str | None) -> str | None:
    """The column of ``table`` named ``field`` in any letter case, or None."""
    if not field:
        return None
    found = [c for c in table.columns if str(c).strip().upper() == field.strip().upper()]
    return found[0] if found else None


__all__ = ["DEFAULT_VALID_FIELD", "apply_valid_flags", "flag_column", "parse_flag"]
