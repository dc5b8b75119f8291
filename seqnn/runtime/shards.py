"""Batches of one data-parallel rank: the global length-bucketed batches of
:class:`~seqnn.runtime.batches.BucketBatchSampler`, each dealt out over the ranks.

Every rank builds the same global batches from ``(seed, epoch)`` (the single-process
sampler with the global ``batch_size``), and rank ``r`` of ``world`` takes records
``r, r + world, ...`` of each one. Global batches are sorted by length inside, so the
ranks' pieces are similar in length to each other (no rank waits long for a wider one)
and within themselves (little padding). The union of the pieces of one step is exactly
the batch a single process would train on in that step, so a run with ``N`` ranks follows
the single-process run with the same ``batch_size``.

A piece may hold fewer records than another (a last batch that does not divide) or none
(a batch smaller than ``world``): :meth:`RankBatchSampler.plan` gives each step's
``(records of this rank, records of the global batch)``, from which the trainer weights
its loss so that the averaged gradient is the global batch's mean; an empty piece is
replaced by one record of the batch, trained with weight 0, because every rank must run
the same number of forward and backward passes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

from .batches import BucketBatchSampler


class RankBatchSampler(Sampler[list[int]]):
    """Rank ``rank``'s share of the batches of ``base`` (see the module doc).

    ``set_epoch``, ``state_dict`` and ``load_state_dict`` act on ``base``, so the state of
    a run is the same ``{"seed", "epoch"}`` whatever the number of ranks.
    """

    def __init__(self, base: BucketBatchSampler, rank: int, world: int):
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} outside a world of {world}")
        self.base, self.rank, self.world = base, int(rank), int(world)

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch`` (0-based), on every rank alike."""
        self.base.set_epoch(epoch)

    def state_dict(self) -> dict[str, int]:
        return self.base.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.base.load_state_dict(state)

    def __len__(self) -> int:
        return len(self.base)

    def pieces(self) -> Iterator[tuple[list[int], int, int]]:
        """``(indices, records of this rank, records of the global batch)`` per step;
        ``indices`` holds one record of the batch when this rank's share is empty."""
        for batch in self.base:
            piece = batch[self.rank :: self.world]
            yield (piece or batch[:1]), len(piece), len(batch)

    def plan(self) -> list[tuple[int, int]]:
        """``(records of this rank, records of the global batch)`` for every step of the
        current epoch, in order."""
        return [(n, total) for _, n, total in self.pieces()]

    def __iter__(self) -> Iterator[list[int]]:
        for indices, _, _ in self.pieces():
            yield indices


def shard_indices(lengths: np.ndarray, rank: int, world: int) -> np.ndarray:
    """Rank ``rank``'s share of a dataset for evaluation: every ``world``-th record of the
    length-sorted order, so that the ranks get similar lengths and counts."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return np.sort(order[rank::world])


__all__ = ["RankBatchSampler", "shard_indices"]
