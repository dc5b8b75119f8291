"""``gan``: a Wasserstein GAN with gradient penalty (WGAN-GP) over one-hot sequences.

**Generator.** Noise ``z`` (``latent_dim``) -> a linear map to ``channels[0]`` features at each
of ``max_gen_len`` positions -> a conv stack -> 21 logits per position: the end symbol
(token 0) and the 20 standard residues (tokens 1..20). **Variable length by an end token**: a
sequence is the residues before the first end symbol; what follows is rewritten as end
symbols before the critic sees it (a differentiable cumulative product), so the critic sees
fake sequences exactly as it sees real ones (residues, then end symbols to ``max_gen_len``).
An end token, rather than a length head, because the generator makes the whole sequence at
once and the critic must judge residues and length together (a peptide's length and its
composition are not independent). The first position is never the end (no empty sequences).
Real sequences longer than ``max_gen_len`` are cut to it.

**Discrete outputs.** Training passes the generator's logits through a straight-through
Gumbel-softmax (``tau``): the critic sees hard one-hot sequences like the real ones, the
gradient flows through the soft relaxation.

**Training in the shared loop.** One training batch is one optimiser step over both networks:
the critic loss (Wasserstein estimate + ``gp_weight`` x gradient penalty + a small drift term)
always, and every ``n_critic``-th batch also the generator loss, computed through the critic
with its parameters detached (so each loss moves only its own network; on critic-only batches
the generator has no gradient and the optimiser leaves it untouched).

**Validation criterion** (what early stopping watches, lower is better): the sum of the
Jensen–Shannon divergences of the length, residue and dipeptide profiles
(:mod:`seqnn.data.profiles`) between ``eval_samples`` sequences generated from a fixed seed and
each validation batch (batch-weighted mean over the validation set). It is deterministic given
the weights and cheap, unlike the critic's own estimate, which is not comparable between
epochs because the critic changes too. ``forward`` returns the critic's score of each real
sequence ``(N, 1)``; ``embed`` the critic's pooled features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.profiles import profile_distances
from .cnn import ConvStack
from .layers import ACTIVATIONS, SeqModel, check_choice
from .registry import register_model
from .sampling import (
    sample_categorical,
    sample_sequences,
    tokens_to_strings,
)

#: symbols per position: the end symbol (token 0) and the 20 standard residues
N_SYMBOLS = 21
#: weight of the drift term ``E[critic(real)^2]`` that keeps the critic's output near 0
DRIFT = 1e-3
#: seed of the fixed noise behind the validation criterion
EVAL_SEED = 0


class Critic(nn.Module):
    """Conv stack over ``(N, 21, L)`` one-hot (leaky ReLU) -> mean and max pooling -> score."""

    def __init__(self, channels: Sequence[int], kernel_size: int):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = N_SYMBOLS
        for c in channels:
            layers += [nn.Conv1d(c_in, int(c), kernel_size, padding="same"), nn.LeakyReLU(0.2)]
            c_in = int(c)
        self.convs = nn.Sequential(*layers)
        self.out_features = 2 * c_in
        self.score = nn.Linear(self.out_features, 1)

    def features(self, onehot: torch.Tensor) -> torch.Tensor:
        """``(N, 21, L)`` -> pooled features ``(N, 2 * channels[-1])``."""
        h = self.convs(onehot)
        return torch.cat([h.mean(2), h.amax(2)], 1)

    def forward(self, onehot: torch.Tensor) -> torch.Tensor:
        """``(N, 21, L)`` -> scores ``(N, 1)``."""
        return self.score(self.features(onehot))


@register_model("gan")
class GAN(SeqModel):
    """WGAN-GP sequence generator (module doc). Unsupervised: ``n_outputs``/``task`` ignored."""

    unsupervised = True
    generative = True
    #: Adam's betas for this family (the usual WGAN-GP setting; the loop applies them)
    adam_betas = (0.5, 0.9)

    def __init__(
        self, *, n_outputs: int | None = None, task: str = "unsupervised", latent_dim: int = 64,
        channels: Sequence[int] = (128, 128), kernel_size: int = 5,
        critic_channels: Sequence[int] = (64, 64), activation: str = "relu",
        max_gen_len: int = 64, gp_weight: float = 10.0, n_critic: int = 5, tau: float = 1.0,
        eval_samples: int = 256,
    ):
        super().__init__(n_outputs, task)
        check_choice("activation", activation, ACTIVATIONS)
        if not channels or not critic_channels:
            raise ValueError("the generator and the critic need at least one layer of channels")
        if min(latent_dim, max_gen_len, n_critic, eval_samples) < 1 or gp_weight < 0 or tau <= 0:
            raise ValueError("need latent_dim, max_gen_len, n_critic, eval_samples >= 1, "
                             "gp_weight >= 0 and tau > 0")
        self.latent_dim, self.max_gen_len = int(latent_dim), int(max_gen_len)
        self.gp_weight, self.n_critic, self.tau = float(gp_weight), int(n_critic), float(tau)
        self.eval_samples = int(eval_samples)
        c0 = int(channels[0])
        self.project = nn.Linear(self.latent_dim, c0 * self.max_gen_len)
        self.body = ConvStack(c0, channels, kernel_size, 1, activation, False, 0.0)
        self.to_symbols = nn.Conv1d(self.body.out_channels, N_SYMBOLS, 1)
        end_bias = torch.zeros(1, N_SYMBOLS, self.max_gen_len)
        end_bias[0, 0, 0] = -1e4  # the first position is never the end
        self.register_buffer("end_bias", end_bias, persistent=False)
        self.critic = Critic(critic_channels, int(kernel_size))
        self.embed_size = self.critic.out_features
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self._loss: torch.Tensor | None = None
        self._bank: list[str] | None = None

    # -- pieces ------------------------------------------------------------------------
    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Noise ``(N, latent_dim)`` -> symbol logits ``(N, 21, max_gen_len)``."""
        h = self.project(z).reshape(len(z), -1, self.max_gen_len)
        full = torch.ones(len(z), self.max_gen_len, dtype=torch.bool, device=z.device)
        return self.to_symbols(self.body(h, full)) + self.end_bias

    @staticmethod
    def after_end(onehot: torch.Tensor) -> torch.Tensor:
        """Every position after the first end symbol becomes an end symbol (differentiable)."""
        alive = torch.cumprod(1.0 - onehot[:, 0], dim=1)  # (N, L): 1 before the first end
        return torch.cat([(1.0 - alive).unsqueeze(1), onehot[:, 1:] * alive.unsqueeze(1)], 1)

    def real_onehot(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)`` -> ``(N, 21, max_gen_len)``: residues then end symbols (cut at
        ``max_gen_len``; an unknown ``X`` is an all-zero column)."""
        tokens = (x.long() * mask)[:, : self.max_gen_len]
        tokens = F.pad(tokens, (0, self.max_gen_len - tokens.shape[1]))
        return F.one_hot(tokens, N_SYMBOLS + 1)[..., :N_SYMBOLS].transpose(1, 2).float()

    def embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> critic features ``(N, embed_size)``."""
        return self.critic.features(self.real_onehot(x, mask))

    # -- training and validation -------------------------------------------------------
    def train(self, mode: bool = True) -> GAN:
        """Switch mode; the validation sample is drawn again (the weights may have changed,
        e.g. the best epoch's restored)."""
        self._bank = None
        return super().train(mode)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L)``, mask ``(N, L)`` -> critic scores of the real sequences ``(N, 1)``;
        keeps the batch's loss for :meth:`batch_loss` (training: the WGAN-GP losses;
        evaluation: the validation criterion)."""
        real = self.real_onehot(x, mask)
        if not self.training:
            if self._bank is None:
                self._bank = self.generate(self.eval_samples,
                                           generator=torch.Generator().manual_seed(EVAL_SEED))
            seqs = tokens_to_strings(x.long() * mask)
            dist = profile_distances(self._bank, seqs, self.max_gen_len)
            self._loss = torch.tensor(float(np.nansum(list(dist.values()))), device=x.device)
            return self.critic(real)
        self._bank = None  # the weights are about to change
        generator_step = int(self.steps) % self.n_critic == 0
        self.steps += 1
        z = torch.randn(len(x), self.latent_dim, device=x.device)
        with torch.set_grad_enabled(generator_step):
            hard = F.gumbel_softmax(self.logits(z).float(), tau=self.tau, hard=True, dim=1)
            fake = self.after_end(hard)
        d_real, d_fake = self.critic(real), self.critic(fake.detach())
        loss = (d_fake.mean() - d_real.mean() + DRIFT * d_real.square().mean()
                + self.gp_weight * self._penalty(real, fake.detach()))
        if generator_step:
            frozen = {k: v.detach() for k, v in self.critic.named_parameters()}
            loss = loss - torch.func.functional_call(self.critic, frozen, (fake,)).mean()
        self._loss = loss
        return d_real.detach()

    def _penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        eps = torch.rand(len(real), 1, 1, device=real.device)
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.critic(mixed).sum(), mixed, create_graph=True)
        return (grad.flatten(1).norm(dim=1) - 1.0).square().mean()

    def batch_loss(self, raw: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        """The loss kept by the last :meth:`forward` (0-dim)."""
        return self._loss

    def batch_outputs(self, raw: torch.Tensor, batch: dict[str, Any]) -> np.ndarray:
        """Per record ``[NaN, length]``: a GAN reconstructs nothing (``(N, 2)``)."""
        lengths = batch["mask"].sum(1).cpu().numpy().astype(np.float64)
        return np.stack([np.full_like(lengths, np.nan), lengths], 1)

    @torch.no_grad()
    def generate(self, n: int, *, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> list[str]:
        """``n`` new sequences; ``generator`` (CPU) makes them reproducible."""
        return sample_sequences(
            self, n, temperature, generator,
            lambda z, gen: sample_categorical(self.logits(z), temperature, gen))
