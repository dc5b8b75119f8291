"""The verdict of a model trained on a variant library names mutational distance, not a leak."""

from __future__ import annotations

from seqnn.checks.verdict import _leak_phrase


def test_variant_library_phrase_replaces_identity_leak():
    audit = {"identity_threshold": 0.3, "fraction_above_threshold": {"test": 1.0},
             "leak": False, "variants": {"is_variant_library": True,
                                         "summary": "variant library: test variants carry 3..5"}}
    why: list = []
    assert _leak_phrase(audit, why) == "variant library: test variants carry 3..5" and not why
    audit["leak"] = True  # an identical training copy is still a leak
    assert "above 30% identity" in _leak_phrase(audit, why) and why
    plain = {"identity_threshold": 0.3, "fraction_above_threshold": {"test": 0.0}, "leak": False,
             "variants": {"is_variant_library": False}}
    assert _leak_phrase(plain, []) == "no test sequence above 30% identity to train"
