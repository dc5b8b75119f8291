"""Shared pytest set-up: the Hypothesis profiles of the property-based tests (tests/test_fuzz.py).

``ci`` (the default) is deterministic and sized so the fuzz file runs in about a minute on two
cores; ``HYPOTHESIS_PROFILE=long`` runs 2000 examples per property for a longer search.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_FIXTURES = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          max_examples=100, print_blob=True,
                          suppress_health_check=_SLOW_FIXTURES)
settings.register_profile("long", max_examples=2000, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW_FIXTURES)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
