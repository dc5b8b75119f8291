"""An ensemble of independently trained copies of one model, averaged in probability space.

:class:`Ensemble` wraps ``k`` members of the same registered model (same parameters, other
seeds; see ``ensemble`` in :class:`seqnn.train.TrainConfig`). Its output has the members'
shape and meaning, so everything that runs a model (metrics, ``seqnn predict``, the report)
runs an ensemble unchanged:

- binary: the logit of the members' mean probability;
- multiclass: the log of the members' mean class probabilities (a softmax of it gives them);
- multilabel: per label, the logit of the members' mean probability;
- regression: the members' mean.

``embed`` concatenates the members' representations ``(N, k * D)``. It is not in the model
registry: an ensemble is made by training, and ``model.json`` records it as the member's
``model`` and ``params`` plus ``"ensemble": k``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .layers import SeqModel


class Ensemble(SeqModel):
    """``k`` trained members of one model; ``forward`` averages their predictions."""

    def __init__(self, members: Sequence[nn.Module]):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        first = members[0]
        super().__init__(first.n_outputs, first.task)
        if getattr(first, "unsupervised", False):
            raise ValueError(f"model {getattr(first, 'name', '?')!r} is unsupervised: an "
                             "ensemble averages predictions, so it needs a supervised model")
        self.members = nn.ModuleList(members)
        self.name = getattr(first, "name", None)
        self.config = dict(getattr(first, "config", {}))
        self.embed_size = sum(int(getattr(m, "embed_size", 0)) for m in members)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> the averaged outputs ``(N, n_outputs)``."""
        outs = torch.stack([m(x, mask) for m in self.members]).float()  # (k, N, n_outputs)
        log_k = math.log(len(self.members))
        if self.task == "binary":
            log_p = torch.logsumexp(nn.functional.logsigmoid(outs), dim=0) - log_k
            log_q = torch.logsumexp(nn.functional.logsigmoid(-outs), dim=0) - log_k
            return log_p - log_q
        if self.task == "multiclass":
            return torch.logsumexp(torch.log_softmax(outs, dim=-1), dim=0) - log_k
        if self.task == "multilabel":  # per label, the logit of the mean probability
            log_p = torch.logsumexp(nn.functional.logsigmoid(outs), dim=0) - log_k
            log_q = torch.logsumexp(nn.functional.logsigmoid(-outs), dim=0) - log_k
            return log_p - log_q
        return outs.mean(dim=0)

    def embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> the members' representations side by side."""
        return torch.cat([m.embed(x, mask) for m in self.members], dim=1)
