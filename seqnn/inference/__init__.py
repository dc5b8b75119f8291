"""A trained model applied to new sequences: ``predictor`` (:class:`Predictor`, ``load``),
``files`` (streaming a FASTA file into a prediction table or embeddings) and ``nearest``
(each sequence's identity to the training set). Imports ``runtime``, ``split``, ``data`` and
below; never ``training``.
"""
