"""Model families by name: the registry, the shared layers, one module per family
(``mlp``, ``cnn``, ``rnn``, ``autoencoder`` and the generative ``vae`` and ``gan``) and the
seed ensemble. ``list_models()`` gives the registered names.

>>> model = get_model("cnn", n_outputs=1, task="binary", channels=[32, 32])
>>> logits = model(x, mask)          # x: (N, L) token ids, mask: (N, L) bool -> (N, 1)

The registry lives in :mod:`seqnn.models.registry`; each family module imports it and
registers itself, so importing the families here fills it. A new family is one module
decorating its class with :func:`register_model`, plus its import line here. Imports
``data`` and below.
"""

from __future__ import annotations

from . import autoencoder, cnn, gan, mlp, rnn, vae  # noqa: F401 - importing a family registers it
from .registry import TASKS, get_model, list_models, model_params, register_model

__all__ = ["TASKS", "get_model", "list_models", "model_params", "register_model"]
