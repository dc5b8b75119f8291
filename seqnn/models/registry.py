"""The model registry: build any model family by name with keyword-only parameters.

>>> model = get_model("cnn", n_outputs=1, task="binary", channels=[32, 32])
>>> logits = model(x, mask)          # x: (N, L) token ids, mask: (N, L) bool -> (N, 1)
>>> z = model.embed(x, mask)         # (N, D)
>>> same = get_model("cnn", n_outputs=1, task="binary", **model.config)

Registered: ``mlp``, ``cnn``, ``rnn``, ``autoencoder``, ``vae`` and ``gan`` (the two
generative families); :func:`list_models` is the authoritative list. A new family is one new
module that decorates its class with :func:`register_model` and one import line in
:mod:`seqnn.models` (the package ``__init__``), which imports this registry first.
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Callable
from typing import Any

from torch import nn

from ..data.alphabet import N_TOKENS

# An even kernel (the AMP Scanner architecture's 16) with padding="same" makes PyTorch warn
# that it pads with a copy; that is expected here and not actionable for users.
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel",
                        category=UserWarning)

TASKS = ("binary", "multiclass", "multilabel", "regression", "unsupervised")
_RESERVED = ("n_outputs", "task")
_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Class/function decorator registering a model builder under ``name``.

    The builder is called as ``builder(n_outputs=..., task=..., **params)``; every other
    parameter must be keyword-only with a default. A builder with ``unsupervised = True``
    accepts any task and ignores ``n_outputs``.
    """

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        """Check every parameter has a default and store ``builder`` under ``name``."""
        if name in _REGISTRY and _REGISTRY[name] is not builder:
            raise ValueError(f"model {name!r} is already registered")
        for pname, p in _signature_params(builder).items():
            if p.default is inspect.Parameter.empty:
                raise TypeError(f"model {name!r}: parameter {pname!r} needs a default")
        _REGISTRY[name] = builder
        return builder

    return decorate


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(_REGISTRY)


def _lookup(name: str) -> Callable[..., nn.Module]:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(list_models())}")
    return _REGISTRY[name]


def _signature_params(builder: Callable[..., nn.Module]) -> dict[str, inspect.Parameter]:
    params = inspect.signature(builder).parameters
    return {
        k: p for k, p in params.items()
        if k not in _RESERVED and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


def _plain(value: Any) -> Any:
    """Tuples -> lists, numpy/torch scalars -> Python scalars, recursively."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def model_params(name: str) -> dict[str, Any]:
    """Default keyword parameters of model ``name`` (a fresh JSON-serialisable dict)."""
    builder = _lookup(name)
    return {k: _plain(p.default) for k, p in _signature_params(builder).items()}


def _check_outputs(name: str, n_outputs: int, task: str) -> None:
    if task == "unsupervised":
        raise ValueError(
            f"model {name!r} is supervised and cannot be trained on task 'unsupervised'; "
            f"unsupervised models: "
            + ", ".join(m for m in list_models() if getattr(_REGISTRY[m], "unsupervised", False))
        )
    if isinstance(n_outputs, bool) or not isinstance(n_outputs, int) or n_outputs < 1:
        raise ValueError(f"n_outputs must be a positive int, got {n_outputs!r}")
    if task == "binary" and n_outputs != 1:
        raise ValueError(f"task 'binary' uses a single logit: n_outputs must be 1, got {n_outputs}")
    if task == "multiclass" and n_outputs < 2:
        raise ValueError(f"task 'multiclass' needs n_outputs >= 2 classes, got {n_outputs}")


def get_model(
    name: str, *, n_outputs: int, task: str, n_tokens: int = N_TOKENS, **params: Any
) -> nn.Module:
    """Build registered model ``name`` for ``task`` with ``n_outputs`` outputs and ``params``.

    ``n_tokens`` is the token vocabulary (pad + 20 residues + X = 22, seqnn's alphabet); it
    is accepted so that ``get_model("cnn", n_tokens=22, ...)`` works; any other value is
    refused.

    ``task`` is one of :data:`TASKS`; binary models have ``n_outputs=1`` (one logit),
    multiclass ``n_classes`` logits, regression ``n_outputs`` values. Unknown names, tasks or
    parameters raise ``ValueError`` listing what exists. The returned module has
    ``model.config`` (all keyword parameters incl. defaults, JSON-serialisable),
    ``model.name``, ``model.task``, ``model.n_outputs`` and ``model.unsupervised``.
    """
    builder = _lookup(name)
    if n_tokens != N_TOKENS:
        raise ValueError(f"n_tokens must be {N_TOKENS} (seqnn's alphabet), got {n_tokens}")
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    defaults = model_params(name)
    unknown = [k for k in params if k not in defaults]
    if unknown:
        raise ValueError(
            f"unknown parameter {unknown[0]!r} for model {name!r}; known: {', '.join(defaults)}"
        )
    n_outputs = _plain(n_outputs)  # numpy integers are fine too
    if not getattr(builder, "unsupervised", False):
        _check_outputs(name, n_outputs, task)
    config = {**defaults, **_plain(params)}
    try:
        json.dumps(config)
    except TypeError as err:
        raise ValueError(f"parameters of model {name!r} must be JSON-serialisable: {err}") from None
    model = builder(n_outputs=n_outputs, task=task, **config)
    model.config = config
    model.name = name
    return model


__all__ = ["TASKS", "get_model", "list_models", "model_params", "register_model"]
