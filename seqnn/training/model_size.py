"""The size of a model before it is built for real: parameters and activation memory per
sequence, counted on PyTorch's ``meta`` device (which allocates nothing).

:func:`check_model_size` builds the registry model on ``torch.device("meta")``, counts its
parameters, and runs one forward pass of a single ``max_len`` sequence there with hooks that
add up every module's output size. A model over :data:`MAX_PARAMETERS` parameters or
:data:`MAX_ACTIVATION_BYTES` of activations per sequence is refused with one
:class:`~seqnn.errors.ConfigError` line, as are parameter values outside the bounds that
``model.json`` loading enforces (:data:`seqnn.runtime.recipe.MAX_PARAM_INT`). ``seqnn train``
runs it at start and the workflow's start-up check (:func:`seqnn.workflow.check_workflow`) for
every model block, so ``params: {channels: [10000000]}`` never reaches an allocation.
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import CheckpointError, ConfigError
from ..models import get_model
from ..runtime.recipe import check_meta_params

#: the most parameters a model may have (4 bytes each: 2 GB of float32 weights, about four
#: times that while training with Adam)
MAX_PARAMETERS = 500_000_000
#: the most bytes of module outputs one sequence of ``max_len`` residues may need (forward)
MAX_ACTIVATION_BYTES = 2 << 30


def _count_activations(model: torch.nn.Module, max_len: int) -> int | None:
    """Bytes of all module outputs for one sequence of ``max_len`` tokens on the meta
    device, or ``None`` when the model's forward cannot run there."""
    total = [0]

    def add(module: torch.nn.Module, args: Any, out: Any) -> None:
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                total[0] += t.numel() * t.element_size()

    hooks = [m.register_forward_hook(add) for m in model.modules()
             if not list(m.children())]
    try:
        model.to("meta")  # buffers made from numpy start on the CPU
        x = torch.ones((1, max_len), dtype=torch.int64, device="meta")
        mask = torch.ones((1, max_len), dtype=torch.bool, device="meta")
        model(x, mask)
    except Exception:  # noqa: BLE001 - an op without a meta kernel: parameters only
        return None
    finally:
        for h in hooks:
            h.remove()
    return total[0]


def model_footprint(model: str, params: dict[str, Any], task: str, n_outputs: int,
                    max_len: int) -> tuple[int, int | None]:
    """``(parameters, activation bytes per sequence or None)`` of registry model ``model``
    built with ``params`` on the meta device."""
    with torch.device("meta"):
        net = get_model(model, n_outputs=n_outputs, task=task, **params)
    n_params = sum(p.numel() for p in net.parameters())
    if n_params > MAX_PARAMETERS:
        return n_params, None
    return n_params, _count_activations(net.train(), max_len)


def check_model_size(model: str, params: dict[str, Any], task: str, n_outputs: int,
                     max_len: int, where: str) -> tuple[int, int | None]:
    """Refuse (one :class:`ConfigError` line starting with ``where``) parameter values
    outside model.json's bounds, a model the registry cannot build, and one over
    :data:`MAX_PARAMETERS` parameters or :data:`MAX_ACTIVATION_BYTES` of activations per
    sequence (rnn and gan run ops the meta device lacks: parameters only); return the
    footprint (:func:`model_footprint`) otherwise."""
    at = f"{where}: " if where else ""
    try:
        check_meta_params(model, params, where or "params")
    except CheckpointError as exc:
        raise ConfigError(str(exc)) from None
    except ValueError as exc:  # an unknown model name
        raise ConfigError(f"{at}{exc}") from None
    try:
        n_params, acts = model_footprint(model, params, task, n_outputs, max_len)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise ConfigError(f"{at}model {model!r}: {' '.join(str(exc).split())}") from None
    if n_params > MAX_PARAMETERS:
        raise ConfigError(f"{at}model {model!r} would have {n_params:,} parameters "
                          f"(limit {MAX_PARAMETERS:,}); use smaller widths")
    if acts is not None and acts > MAX_ACTIVATION_BYTES:
        raise ConfigError(f"{at}model {model!r} needs {acts / 2**30:,.1f} GiB of "
                          f"activations per sequence of {max_len} residues (limit "
                          f"{MAX_ACTIVATION_BYTES / 2**30:g} GiB); use smaller widths or "
                          "max_len")
    return n_params, acts


__all__ = ["MAX_ACTIVATION_BYTES", "MAX_PARAMETERS", "check_model_size", "model_footprint"]
