"""Per-residue explanations of a trained model's output (``seqnn explain``).

Three methods, each for one scalar *target score* per record:

* ``gradxinput``: the gradient of the target score with respect to the model's input-layer
  features ``(N, C, L)`` times those features, summed over channels. With one-hot input
  only the observed residue's channel is non-zero, so the score of a position is the
  gradient at its observed residue.
* ``ig``: Integrated Gradients (Sundararajan et al. 2017) on the same features,
  ``(h - h0) * mean_k grad(h0 + a_k (h - h0))`` summed over channels, with ``steps``
  midpoint values ``a_k``. It is computed here with plain autograd (no Captum): forward
  hooks on every :class:`~seqnn.models.layers.InputLayer` of the model (all members of an
  ensemble) swap in the interpolated features, so it works for every family and input kind.
  **Baseline** ``h0``: at every real position, the mean input feature of the 20 standard
  residues (for one-hot input, 1/20 on each residue channel: the "average residue"),
  padding kept at zero. The sequence keeps its length and mask, so the attribution
  explains the target score against a sequence of the same length with no residue
  information. An all-zero baseline would look like padding that the mask calls residues,
  an input the model never sees; the average residue is inside the range it was trained on.
  The attributions of a record sum (up to the integration error) to ``score(h) - score(h0)``.
* ``ism``: in-silico saturation mutagenesis: every position to each of the other standard
  residues, batched; ``delta = score(mutant) - score(wild type)``. A record longer than
  ``ism_max_len`` is scored in consecutive windows of that length (the last one ending at
  the record's end); each mutant is then scored with the model seeing only its window.

**Target score**: the model's raw output before the final sigmoid/softmax: the logit of
the target class (binary: ``+logit`` for the positive class, ``-logit`` for the other;
multiclass: that class's logit); for regression the output value (``--target`` picks the
output index for several outputs). The default target is the predicted class (of the wild
type); an autoencoder is refused. Scores cover the residues the model saw: a record longer
than the model's ``max_len`` is cropped by its truncation rule first, and ``positions``
(1-based, in the cleaned sequence) say which residues those are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.alphabet import STANDARD
from ..data.encoding import crop, tokenize
from ..errors import CheckpointError, SeqnnInputError
from ..models.layers import InputLayer
from ..runtime.forward import model_task

METHODS = ("gradxinput", "ig", "ism")
DEFAULT_ISM_MAX_LEN = 1000
DEFAULT_IG_STEPS = 32
#: ``ism`` refuses a record with more mutants (19 per standard residue, 20 per ``X``) than
#: this unless the caller raises it (``seqnn explain --ism-max-mutants``): one mutant is one
#: forward pass over its window, so 1,000,000 mutants of 1,000-residue windows is about
#: 10^9 residue-forwards (hours on a CPU); a 100,000-residue protein has 1.9 million
DEFAULT_ISM_MAX_MUTANTS = 1_000_000
#: token ids of the 20 standard residues, in :data:`~seqnn.data.alphabet.STANDARD` order
_RESIDUE_IDS = np.arange(1, 21, dtype=np.int64)


@dataclass
class Explanation:
    """One record's explanation.

    ``seq``: the residues the model saw; ``positions`` ``(L,)`` their 1-based positions in
    the cleaned sequence; ``target`` the explained class name (or output index);
    ``scores`` ``(L,)`` ``float32`` per-residue attribution, positive where the residue
    supports the target (for ``ism``: minus the mean ``delta`` over the mutants of each
    position: how much the target score drops on average when the residue is replaced);
    ``matrix`` ``(L, 20)`` ``float32`` over ``ACDEFGHIKLMNPQRSTVWY``: the ``ism`` deltas (0
    at the wild type) or, for the gradient methods with one-hot input, the input gradient
    minus its value at the observed residue (the first-order estimate of each
    substitution); ``None`` otherwise. ``truncated``: how many residues of the cleaned
    sequence the model did not see (the length rule, or a flattening ``mlp``'s width); they
    have no score.
    """

    id: str
    seq: str
    positions: np.ndarray
    target: str
    scores: np.ndarray
    matrix: np.ndarray | None = None
    truncated: int = 0


class _Swap:
    """Forward hooks that replace every input layer's features ``h`` by a leaf tensor
    ``h0 + alpha (h - h0)`` (``h0`` the average-residue baseline, or zero when
    ``baseline`` is false) and keep ``(h - h0, leaf)`` for the attribution."""

    def __init__(self, model: nn.Module, alpha: float, baseline: bool):
        self.alpha, self.kept = alpha, []
        layers = [m for m in model.modules() if isinstance(m, InputLayer)]
        if not layers:
            raise ValueError("model has no InputLayer to explain")
        self.base = {id(m): self._mean_residue(m) if baseline else None for m in layers}
        self.handles = [m.register_forward_hook(self._hook) for m in layers]

    @staticmethod
    def _mean_residue(layer: InputLayer) -> torch.Tensor:
        ref = next(layer.buffers(), None)
        ref = ref if ref is not None else next(layer.parameters())
        tok = torch.as_tensor(_RESIDUE_IDS, device=ref.device).unsqueeze(0)
        with torch.no_grad():
            return layer(tok, torch.ones_like(tok, dtype=torch.bool)).mean(2, keepdim=True)

    def _hook(self, module: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor:
        mask = args[1].unsqueeze(1).to(out.dtype)
        base = self.base[id(module)]
        h0 = torch.zeros_like(out) if base is None else base * mask
        diff = (out - h0).detach()
        leaf = (h0 + self.alpha * diff).detach().requires_grad_(True)
        self.kept.append((diff, leaf))
        return leaf

    def close(self) -> None:
        for h in self.handles:
            h.remove()


def _batch(rows: list[np.ndarray], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded tokens ``(N, L)`` ``int64`` and mask ``(N, L)`` on ``device``."""
    width = max(len(r) for r in rows)
    x = np.zeros((len(rows), width), np.int64)
    for i, r in enumerate(rows):
        x[i, : len(r)] = r
    xt = torch.from_numpy(x).to(device)
    return xt, xt != 0


def target_scores(model: nn.Module, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The target score ``(N,)`` (module doc) from raw outputs ``(N, K)`` and per-record
    target indices ``(N,)`` (a class index, or the output index for regression)."""
    raw = raw.float().reshape(raw.shape[0], -1)
    if model_task(model) == "binary":
        return torch.where(target == 1, raw[:, 0], -raw[:, 0])
    return raw.gather(1, target.view(-1, 1)).squeeze(1)


class Explainer:
    """Explanations of one loaded model: ``explain(ids, seqs, method, target)``.

    ``class_names`` name the classes (targets are given by name); ``max_len`` and
    ``truncate`` are the model's length rule; ``batch_size`` records (or mutants) run at once.
    """

    def __init__(self, model: nn.Module, class_names: list[str], max_len: int, truncate: str,
                 device: torch.device, batch_size: int = 64):
        self.task = model_task(model)
        if self.task not in ("binary", "multiclass", "regression"):
            raise SeqnnInputError("model.json", f"explain needs a supervised model; this one "
                                  f"is {self.task!r} (nothing to attribute)")
        self.model, self.class_names, self.device = model.eval(), class_names, device
        self.max_len, self.truncate, self.batch_size = max_len, truncate, batch_size
        self.n_outputs = int(getattr(model, "n_outputs", 1))
        #: the ``ism`` cap per record (:data:`DEFAULT_ISM_MAX_MUTANTS`)
        self.ism_max_mutants = DEFAULT_ISM_MAX_MUTANTS
        #: the input width of a model that flattens (``mlp`` with ``flatten: true`` cuts its
        #: input to its own ``max_len``, keeping the first residues); ``None`` otherwise
        widths = [int(m.max_len) for m in model.modules() if getattr(m, "flatten", False)
                  and isinstance(getattr(m, "max_len", None), int)]
        self.width: int | None = min(widths) if widths else None
        #: the model's name in messages (``model.json``'s ``model``; set by
        #: :func:`explainer_for`)
        self.model_name = "?"

    def target_index(self, target: str | None) -> int | None:
        """The index of ``target`` (a class name, or an output index for regression);
        ``None`` (the predicted class) when not given. Raises :class:`SeqnnInputError`."""
        if target is None:
            return None if self.task != "regression" else 0
        if self.task == "regression":
            if not target.isdigit() or int(target) >= self.n_outputs:
                raise SeqnnInputError("--target", f"{target!r} is not an output index of this "
                                      f"regression model (0..{self.n_outputs - 1})")
            return int(target)
        if target not in self.class_names:
            raise SeqnnInputError("--target", f"{target!r} is not a class of this model "
                                  f"(classes: {', '.join(self.class_names)})")
        return self.class_names.index(target)

    def _name(self, index: int) -> str:
        return self.class_names[index] if self.task != "regression" else str(index)

    def _forward(self, rows: list[np.ndarray]) -> torch.Tensor:
        x, mask = _batch(rows, self.device)
        return self.model(x, mask)

    def _targets(self, rows: list[np.ndarray], fixed: int | None) -> torch.Tensor:
        if fixed is not None:
            return torch.full((len(rows),), fixed, dtype=torch.long, device=self.device)
        with torch.no_grad():
            raw = self._forward(rows).float().reshape(len(rows), -1)
        if self.task == "binary":
            return (raw[:, 0] > 0).long()
        return raw.argmax(1)

    def _gradients(self, rows: list[np.ndarray], target: torch.Tensor, steps: int,
                   baseline: bool) -> tuple[np.ndarray, np.ndarray]:
        """Summed-over-channels attributions ``(N, L)`` and input gradients ``(N, C, L)``
        (averaged over the steps, summed over ensemble members) for one batch."""
        attr, grad_sum = None, None
        alphas = [1.0] if steps == 1 else [(k + 0.5) / steps for k in range(steps)]
        for alpha in alphas:
            swap = _Swap(self.model, alpha, baseline)
            try:
                with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
                    score = target_scores(self.model, self._forward(rows), target)
                    leaves = [leaf for _, leaf in swap.kept]
                    grads = torch.autograd.grad(score.sum(), leaves, allow_unused=True)
            finally:
                swap.close()
            for (diff, _), g in zip(swap.kept, grads, strict=True):
                if g is None:
                    continue
                a = (diff * g).sum(1) / len(alphas)
                attr = a if attr is None else attr + a
                gs = g / len(alphas)
                grad_sum = gs if grad_sum is None else grad_sum + gs
        n, width = len(rows), max(len(r) for r in rows)
        if attr is None:  # no gradient reaches the input (e.g. a constant model)
            return np.zeros((n, width), np.float32), np.zeros((n, 1, width), np.float32)
        return attr.detach().float().cpu().numpy(), grad_sum.detach().float().cpu().numpy()

    def _cropped(self, seqs: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        rows, positions = [], []
        for s in seqs:
            tok = tokenize([s])[0].astype(np.int64)
            index = np.arange(1, len(tok) + 1, dtype=np.int64)
            row, pos = crop(tok, self.max_len, self.truncate), crop(index, self.max_len,
                                                                  self.truncate)
            if self.width is not None:  # a flattening mlp keeps its first ``width`` tokens
                row, pos = row[: self.width], pos[: self.width]
            rows.append(row)
            positions.append(pos)
        return rows, positions

    def explain(self, ids: list[str], seqs: list[str], method: str = "gradxinput",
                target: str | None = None, steps: int = DEFAULT_IG_STEPS,
                ism_max_len: int = DEFAULT_ISM_MAX_LEN) -> list[Explanation]:
        """Explain policy-cleaned ``seqs`` (module doc); one :class:`Explanation` per record."""
        if method not in METHODS:
            raise SeqnnInputError("--method", f"unknown method {method!r}; choose one of "
                                  f"{', '.join(METHODS)}")
        fixed = self.target_index(target)
        rows, positions = self._cropped(seqs)
        if method == "ism":
            for rid, r in zip(ids, rows, strict=True):
                n_mut = int(np.where(r <= 20, 19, 20).sum())
                if n_mut > self.ism_max_mutants:
                    raise SeqnnInputError("--method ism", f"{n_mut:,} mutants (forward passes) "
                                          f"for {len(r):,} residues exceed the cap of "
                                          f"{self.ism_max_mutants:,}; raise it with "
                                          "--ism-max-mutants or use gradxinput/ig", rid)
            return self._finish([self._ism(i, r, p, fixed, ism_max_len)
                                 for i, r, p in zip(ids, rows, positions, strict=True)],
                                seqs, method)
        out: list[Explanation] = []
        onehot = all(m.kind == "onehot" for m in self.model.modules()
                     if isinstance(m, InputLayer))
        for start in range(0, len(rows), self.batch_size):
            part = rows[start : start + self.batch_size]
            tgt = self._targets(part, fixed)
            attr, grad = self._gradients(part, tgt, steps if method == "ig" else 1,
                                         method == "ig")
            for k, r in enumerate(part):
                i = start + k
                length = len(r)
                matrix = None
                if onehot and grad.shape[1] > 20:
                    g = grad[k, :20, :length].T  # (L, 20) residue channels
                    observed = np.where(r <= 20, g[np.arange(length), np.clip(r - 1, 0, 19)], 0)
                    matrix = (g - observed[:, None]).astype(np.float32)
                out.append(Explanation(ids[i], _decode(r), positions[i],
                                       self._name(int(tgt[k])),
                                       attr[k, :length].astype(np.float32), matrix))
        return self._finish(out, seqs, method)

    def _finish(self, items: list[Explanation], seqs: list[str], method: str
                ) -> list[Explanation]:
        """``items`` with their ``truncated`` counts, or :class:`~seqnn.errors.CheckpointError`
        naming the model and the first record whose scores hold a NaN or an infinity (e.g. a
        finite but huge weight), as ``predict`` does: never a silent NaN in the table."""
        for e, seq in zip(items, seqs, strict=True):
            e.truncated = len(seq) - len(e.seq)
        bad = [e.id for e in items if not (np.isfinite(e.scores).all() and (
            e.matrix is None or np.isfinite(e.matrix).all()))]
        if bad:
            raise CheckpointError(f"model {self.model_name!r}: non-finite {method} scores for "
                                  f"record {bad[0]!r} ({len(bad)} of {len(items)} records in "
                                  "this chunk); its weights overflow")
        return items

    def _ism(self, rid: str, row: np.ndarray, pos: np.ndarray, fixed: int | None,
             limit: int) -> Explanation:
        """Saturation mutagenesis of one record (windows of ``limit`` residues when longer)."""
        length = len(row)
        delta = np.zeros((length, 20), np.float32)
        starts = list(range(0, max(length - limit, 0) + 1, limit)) if length > limit else [0]
        if length > limit and starts[-1] + limit < length:
            starts.append(length - limit)
        done = np.zeros(length, bool)
        tgt = None
        for s in starts:
            window = row[s : s + limit]
            todo = [p for p in range(len(window)) if not done[s + p]]
            wt_t = self._targets([window], fixed)
            tgt = wt_t if tgt is None else tgt
            with torch.no_grad():
                wt = float(target_scores(self.model, self._forward([window]), tgt)[0])
            muts = [(p, a) for p in todo for a in _RESIDUE_IDS if a != window[p]]
            for b in range(0, len(muts), self.batch_size):
                part = muts[b : b + self.batch_size]
                batch = []
                for p, a in part:
                    m = window.copy()
                    m[p] = a
                    batch.append(m)
                t = tgt.expand(len(batch))
                with torch.no_grad():
                    sc = target_scores(self.model, self._forward(batch), t).cpu().numpy()
                for (p, a), v in zip(part, sc, strict=True):
                    delta[s + p, a - 1] = v - wt
            done[s + np.asarray(todo, dtype=np.int64)] = True
        n_mut = np.where(row <= 20, 19, 20)
        scores = (-delta.sum(1) / n_mut).astype(np.float32)
        return Explanation(rid, _decode(row), pos, self._name(int(tgt[0])), scores, delta)


def _decode(row: np.ndarray) -> str:
    letters = np.frombuffer(("-" + STANDARD + "X").encode(), dtype="S1")
    return letters[row].tobytes().decode()


def explainer_for(predictor: Any, batch_size: int | None = None) -> Explainer:
    """An :class:`Explainer` for a loaded :class:`~seqnn.inference.predictor.Predictor`."""
    explainer = Explainer(predictor.model, predictor.class_names, predictor.max_len,
                          predictor.truncate, predictor.device,
                          batch_size or predictor.batch_size)
    explainer.model_name = str(predictor.meta.get("model", "?"))
    return explainer


__all__ = ["DEFAULT_IG_STEPS", "DEFAULT_ISM_MAX_LEN", "DEFAULT_ISM_MAX_MUTANTS", "METHODS",
           "Explainer", "Explanation", "explainer_for", "target_scores"]
