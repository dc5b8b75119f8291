"""Public face of encoding: sequences -> tokens -> one-hot / BLOSUM62 / composition, the
ragged :class:`EncodedDataset`, and the scikit-learn encoders.

The code lives in :mod:`seqnn.data.encoding` and :mod:`seqnn.data.estimators`; this module
re-exports it. The encoders are imported on first use, so that importing this module (as
prediction does) does not load scikit-learn.
"""

from __future__ import annotations

from .config import TRUNCATE_MODES
from .data.alphabet import UNKNOWN_ID
from .data.encoding import (
    PAD_MODES,
    EncodedDataset,
    aa_composition,
    blosum62_table,
    crop,
    decode_padded,
    dipeptide_composition,
    encode_table,
    load_encoded,
    one_hot,
    one_hot_tokens,
    one_hot_with_mask,
    onehot_table,
    over_length,
    pad_tokens,
    padding_mask,
    save_encoded,
    tokenize,
    too_long,
)

_ESTIMATORS = ("TokenEncoder", "OneHotEncoder", "Blosum62Encoder", "CompositionEncoder")


def __getattr__(name: str) -> object:
    """The scikit-learn style encoders (:mod:`seqnn.data.estimators`), imported lazily."""
    if name in _ESTIMATORS:
        from .data import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PAD_MODES",
    "TRUNCATE_MODES",
    "UNKNOWN_ID",
    "tokenize",
    "crop",
    "pad_tokens",
    "padding_mask",
    "one_hot",
    "one_hot_with_mask",
    "one_hot_tokens",
    "onehot_table",
    "blosum62_table",
    "decode_padded",
    "aa_composition",
    "dipeptide_composition",
    "EncodedDataset",
    "encode_table",
    "save_encoded",
    "load_encoded",
    "over_length",
    "too_long",
    *_ESTIMATORS,
]
