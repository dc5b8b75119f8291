"""Public face of the per-class diagnostics of a trained model, as tables:

* :func:`class_table`: test precision, recall, F1 and support per class from a model's
  ``predictions.tsv``, so a class that the model never gets right (recall 0) is named
  instead of hiding inside a macro average; :func:`zero_recall` lists those classes;
* :func:`cut_counts`: how many sequences per split are longer than the model's ``max_len``
  and so were cut by its truncation rule (``ends`` keeps both termini).

The code lives in :mod:`seqnn.report.classes`; this module re-exports it.
"""

from __future__ import annotations

from .report.classes import class_table, count_cuts, cut_counts, split_lengths, zero_recall

__all__ = ["class_table", "zero_recall", "split_lengths", "count_cuts", "cut_counts"]
