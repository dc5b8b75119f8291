"""The report: ``results`` (a results folder loaded once), ``page`` (the HTML report and
the index page), ``sections`` and ``models`` (its sections), ``html`` (building blocks),
``figures``, ``plots`` and ``data_plots`` (the PNGs) and ``classes`` (per-class tables and
length cuts). Works from files only: imports ``data`` and below, never torch.
"""
