"""The torch plumbing shared by training and inference (below both, so that inference never
imports training): ``batches`` (Dataset, length-bucketed sampler, per-batch padding),
``device`` (device choice, mixed precision, memory limits), ``forward`` (running a model
over a dataset: outputs, embeddings, batch loss), ``checkpoint`` (the model folder:
``model.safetensors`` + ``model.json``) and ``table`` (the one prediction table).
Imports ``models``, ``data`` and below.
"""
