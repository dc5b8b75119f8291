"""Sequences in, tokens out; no torch.

``alphabet`` (tokens and the policy for non-standard letters), ``fasta`` (reading FASTA),
``tables`` (TSV/CSV, labels, split names), ``files`` (reading text and JSON),
``outputs`` (atomic writes: links, devices, standard output, modes, scratch files),
``ingest`` (a dataset's inputs -> ``sequences.tsv``), ``prepare`` (published benchmark
packages), ``inspect`` (a first look at a FASTA file), ``encoding`` (tokens, one-hot,
BLOSUM62, composition), ``ragged`` (the :class:`EncodedDataset`), ``store`` (the
memory-mapped token store on disk), ``streaming`` (chunked reading and encoding),
``estimators`` (the scikit-learn encoders) and ``controls`` (the data transforms of the
honesty controls).
"""

from __future__ import annotations

from .fasta import FastaRecord, read_fasta

__all__ = ["FastaRecord", "read_fasta"]
