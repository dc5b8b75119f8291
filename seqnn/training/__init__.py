"""Training: ``run`` (:func:`train_model`, one network or a seed ensemble), ``single`` (the
steps around one network's run), ``loop`` (the epoch loop, resumable), ``parts`` (losses,
class weights, optimisers, schedules, the monitor), ``state`` (seeds, RNG, ``state.pt``),
``evaluation`` (metrics per split, ``metrics.json``, ``predictions.tsv``), ``ensemble``
(k members and their average) and ``job`` (one workflow training job from files,
controls included). Imports ``runtime``, ``models``, ``data`` and below; never
``inference``, ``checks``, ``report`` or ``cli``.
"""
