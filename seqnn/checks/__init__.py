"""The honesty checks: ``baselines`` (shortcut models on length and composition),
``controls`` (what the permutation and shuffle runs scored), ``bins`` (metric by identity
and length bin) and ``verdict`` (everything gathered into ``checks.json`` with one
plain-words verdict per model). Works from files, without torch; imports ``data`` and below.
"""
