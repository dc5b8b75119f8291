"""Explain follows a flattening mlp's own input width (issue 24, item 24): a sequence longer
than the mlp's ``max_len`` (but within the model folder's ``max_len``) used to raise
``IndexError: index 20 is out of bounds for axis 0 with size 20``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqnn.inference.explain import Explainer
from seqnn.models import get_model

SEQ = "ACDEFGHIKLMNPQRSTVWY" * 2  # 40 residues, the mlp sees the first 20


@pytest.mark.parametrize("method", ["gradxinput", "ig", "ism"])
def test_explain_a_flattening_mlp_on_a_sequence_longer_than_its_width(method) -> None:
    torch.manual_seed(0)
    model = get_model("mlp", n_outputs=1, task="binary", flatten=True, max_len=20)
    ex = Explainer(model, ["neg", "pos"], 1000, "ends", torch.device("cpu"))
    got = ex.explain(["long", "short"], [SEQ, SEQ[:10]], method, steps=2)
    assert [len(e.scores) for e in got] == [20, 10]
    np.testing.assert_array_equal(got[0].positions, np.arange(1, 21))
    assert got[0].seq == SEQ[:20]


def test_ism_refuses_a_record_over_the_mutant_cap_naming_it() -> None:
    from seqnn.errors import SeqnnInputError

    model = get_model("mlp", n_outputs=1, task="binary")
    ex = Explainer(model, ["neg", "pos"], 1000, "ends", torch.device("cpu"))
    ex.ism_max_mutants = 19 * 10  # 10 residues fit, 11 do not
    assert len(ex.explain(["ok"], [SEQ[:10]], "ism")[0].scores) == 10
    with pytest.raises(SeqnnInputError, match=r"'big'.*209 mutants .* for 11 residues exceed "
                                              r"the cap of 190; raise it with --ism-max-mutants"):
        ex.explain(["ok", "big"], [SEQ[:10], SEQ[:11]], "ism")
