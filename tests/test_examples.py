"""The example project in examples/amp_tiny: its config passes the start check, and its data
are what its SOURCE.md says (every 12th record of the shipped AMP files)."""

from __future__ import annotations

from pathlib import Path

import yaml

from seqnn.data import read_fasta
from seqnn.workflow import check_workflow

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "amp_tiny"


def test_config_passes_the_start_check_and_names_existing_files() -> None:
    wf = check_workflow(yaml.safe_load((EXAMPLE / "config.yaml").read_text()))
    assert list(wf.datasets) == ["amp_tiny"]
    assert set(wf.models) == {"mlp", "rnn"}
    for spec in wf.datasets["amp_tiny"].inputs:
        assert (REPO / spec.fasta).is_file(), spec.fasta  # paths relative to the repository root


def test_data_are_every_12th_record_of_the_shipped_files() -> None:
    for kind, name in (("AMP", "amp.fa"), ("DECOY", "decoy.fa")):
        full = [r for split in ("tr", "eval", "te")
                for r in read_fasta(REPO / "data" / "amp" / f"{kind}.{split}.fa")]
        subset = read_fasta(EXAMPLE / name)
        assert len(subset) == 149
        assert [(r.id, r.sequence) for r in subset] == [(r.id, r.sequence) for r in full[::12]]


def test_new_peptides_are_not_in_the_example_data() -> None:
    known = {r.sequence for name in ("amp.fa", "decoy.fa") for r in read_fasta(EXAMPLE / name)}
    new = read_fasta(EXAMPLE / "new.fa")
    assert [r.id for r in new] == ["LL-37", "magainin-2", "melittin", "insulin-B",
                                   "ubiquitin-1-40"]
    assert not known & {r.sequence for r in new}
