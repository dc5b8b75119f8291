"""Fixtures of the multi-label tests: the data of :mod:`ml_fixture` written as files."""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_fixture import multilabel_table


@pytest.fixture
def ml_table(tmp_path: Path) -> Path:
    """The fixture written as a TSV (labels joined by ``|``, a given split column)."""
    path = tmp_path / "ml.tsv"
    multilabel_table().to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture
def ml_fasta(tmp_path: Path) -> Path:
    """The fixture as a FASTA with ``LOC=`` header fields (labels joined by ``;``)."""
    path = tmp_path / "ml.fasta"
    table = multilabel_table(60, seed=1, sep=";")
    path.write_text("".join(f">{r.id} LOC={r.label} SET={r.split}\n{r.sequence}\n"
                            for r in table.itertuples()))
    return path
