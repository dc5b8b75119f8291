"""Public face of prediction: :func:`load` a model folder as a :class:`Predictor`, then
``predict`` / ``embed`` / ``explain`` sequences, or stream whole FASTA files with
:func:`predict_file`, :func:`embed_file` and :func:`explain_file`. The code lives in
:mod:`seqnn.inference`; this module re-exports it. The prediction table's columns are
described in :mod:`seqnn.inference.predictor`; ``Predictor.predict`` gives the same table
as ``seqnn predict`` (the applicability check on by default where the model folder keeps
``train_sequences.fa``), at full precision: :func:`format_table` writes it as the CLI does.
"""

from __future__ import annotations

from .data.fasta import SeenIds, iter_fasta_chunks, open_fasta, source_name
from .inference.explain_files import explain_file
from .inference.files import embed_file, predict_file
from .inference.nearest import NearestTrain
from .inference.predictor import FLAGS, Chunk, Predictor, finish_rows, format_table, load
from .layout import TRAIN_SEQUENCES

__all__ = [
    "FLAGS", "TRAIN_SEQUENCES", "Chunk", "NearestTrain", "Predictor", "SeenIds", "embed_file",
    "explain_file", "finish_rows", "format_table", "iter_fasta_chunks", "load", "open_fasta",
    "predict_file", "source_name",
]
