"""Training over several processes started by ``torchrun`` (PyTorch's launcher).

``torchrun --nproc-per-node N -m seqnn train ...`` starts N copies of ``seqnn train``; each
finds its place in the environment torchrun sets (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``).
A process not started that way (``WORLD_SIZE`` unset or 1) never reaches this module's
process group: :func:`seqnn.training.run.train_model` asks :func:`launched` first.

* **One network** (``ensemble: 1``): data-parallel, PyTorch's ``DistributedDataParallel``
  (backend ``gloo`` on CPU, ``nccl`` on CUDA, where rank r uses GPU ``LOCAL_RANK``). Every
  rank reads the same encoded data and builds the same global length-bucketed batches from
  ``(seed, epoch)``; rank r trains on its share of each (:mod:`seqnn.runtime.shards`), its
  loss weighted by its share of the records, so that the averaged gradient is the gradient
  of the global batch's mean loss: ``batch_size`` is the global batch, and N processes follow
  the single-process run with that ``batch_size``. Dropout masks come from a generator seeded
  by ``(seed, epoch, rank)``. Validation is sharded: each rank runs its share, the outputs are
  gathered to every rank, every rank computes the metric from the same numbers and takes rank
  0's value for the early-stopping decision, so all ranks stop together. Training metrics in
  ``history.csv`` cover all ranks' records.
* **An ensemble** (``ensemble: k > 1``): members are spread over the ranks, member i on rank
  ``i mod N``, each trained by one process alone (no gradient exchange) into
  ``members/<i>/``; when every rank is done, rank 0 assembles and evaluates the ensemble
  exactly as a single process would, reusing the finished members.

Only rank 0 writes ``state.pt``, ``history.csv``, ``metrics.json``, ``predictions.tsv`` and
the model files, in the format of a single-process run, so ``seqnn predict`` loads the folder
unchanged. ``--resume`` continues from rank 0's last ``state.pt`` with any number of ranks
(torchrun stops every rank when one fails; ``torchrun --max-restarts K`` restarts them).

Where exact equality with one process is impossible: the all-reduce sums gradients in
another order (float rounding, ~1e-7 relative per step, growing over steps); masked batch
norm computes its statistics per rank on that rank's share (as plain DDP does; the running
statistics kept are rank 0's); a loss that is not a plain mean over records (class weights,
the autoencoder's mean over residues) is averaged with record weights, so its gradient is a
close approximation of the global one; dropout draws other masks.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..config import TrainConfig
from ..data.encoding import EncodedDataset
from ..errors import ConfigError
from ..layout import member_dir
from ..runtime.batches import make_loader
from ..runtime.device import autocast, limit_primitive_cache, select_device
from ..runtime.forward import batch_loss, batch_outputs, run_model, to_device
from ..runtime.shards import RankBatchSampler, shard_indices
from .ensemble import train_ensemble
from .evaluation import split_metrics
from .loop import Trainer, gather_outputs
from .single import finish_model, restore_state, run_summary, train_single

log = logging.getLogger("seqnn.train")
#: how long a rank waits for the others in one collective: data-parallel steps are short,
#: but an ensemble's ranks wait for the slowest member
STEP_TIMEOUT = timedelta(hours=2)
MEMBERS_TIMEOUT = timedelta(days=7)


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def world_size() -> int:
    """The number of processes torchrun started (1 when not launched by it)."""
    return max(_env_int("WORLD_SIZE", 1), 1)


def rank() -> int:
    """This process's rank (0 when not launched by torchrun)."""
    return _env_int("RANK", 0)


def launched() -> bool:
    """Whether this process is one of several started by torchrun (``WORLD_SIZE`` > 1)."""
    return world_size() > 1


def is_main_process() -> bool:
    """Rank 0, or a process on its own: the one that writes files and prints summaries."""
    return rank() == 0


def rank_device(name: str) -> torch.device:
    """The device of this rank: CUDA's ``LOCAL_RANK``-th GPU (``cuda`` or ``auto`` with a
    GPU), else the CPU. Other devices have no data-parallel backend here."""
    device = select_device(name)
    if device.type == "cuda":
        local = _env_int("LOCAL_RANK", 0)
        if local >= torch.cuda.device_count():
            raise ConfigError(f"rank {rank()}: LOCAL_RANK {local} but only "
                              f"{torch.cuda.device_count()} GPU(s) visible")
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    if device.type != "cpu":
        raise ConfigError(f"device {name!r}: torchrun training runs on cpu or cuda")
    return device


@contextmanager
def process_group(backend: str, timeout: timedelta) -> Iterator[None]:
    """torch.distributed's default group over torchrun's processes, destroyed on exit."""
    import torch.distributed as dist

    dist.init_process_group(backend, timeout=timeout)
    try:
        yield
    finally:
        dist.destroy_process_group()


def _all_gather(obj: Any) -> list[Any]:
    import torch.distributed as dist

    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def _check_batch(config: TrainConfig, world: int) -> None:
    if config.batch_size < world:
        raise ConfigError(f"batch_size {config.batch_size} is smaller than the {world} "
                          "processes; the batch size is the global batch, split over them")


class DistributedTrainer(Trainer):
    """:class:`~seqnn.training.loop.Trainer` for one rank of a data-parallel run (module
    doc); the underlying network stays ``self.model``, its DDP wrapper is ``self.net``."""

    def __init__(self, train: EncodedDataset, valid: EncodedDataset, model_name: str,
                 model_params: dict[str, Any], config: TrainConfig, out_dir: Path, *,
                 rank: int, world: int):
        _check_batch(config, world)
        super().__init__(train, valid, model_name, model_params, config, out_dir)
        from torch.nn.parallel import DistributedDataParallel

        self.rank, self.world = rank, world
        ids = [self.device.index] if self.device.type == "cuda" else None
        self.net = DistributedDataParallel(self.model, device_ids=ids)
        self.sampler = RankBatchSampler(self.sampler, rank, world)
        self.loader = DataLoader(self.loader.dataset, batch_sampler=self.sampler,
                                 collate_fn=self.loader.collate_fn,
                                 num_workers=config.num_workers,
                                 pin_memory=self.device.type == "cuda")
        self.valid_shard = shard_indices(valid.lengths, rank, world)
        self.valid_loader = make_loader(
            valid.subset(self.valid_shard), batch_size=config.batch_size, shuffle=False,
            max_len=config.max_len, truncate=config.truncate, num_workers=config.num_workers,
        )[0] if len(self.valid_shard) else None

    def train_epoch(self) -> tuple[float, dict[str, Any], int]:
        self.sampler.set_epoch(self.epoch)
        seed = np.random.SeedSequence([self.cfg.seed, self.epoch, self.rank])
        torch.manual_seed(int(seed.generate_state(1)[0]))
        self.model.train()
        parts, total, n = [], 0.0, 0
        plan = self.sampler.plan()
        for b, (cpu_batch, (mine, whole)) in enumerate(zip(self.loader, plan, strict=True)):
            batch = to_device(cpu_batch, self.device)
            with autocast(self.device, self.cfg.amp):
                raw = self.net(batch["x"], batch["mask"])
                loss = batch_loss(self.model, raw, batch, self.loss_fn)
            self.check_loss(loss, b)
            self._step(loss * (mine * self.world / whole))
            if mine:
                parts.append((cpu_batch["index"].numpy(), batch_outputs(self.model, raw, batch)))
                total, n = total + loss.item() * mine, n + mine
        gathered = _all_gather((parts, total, n))
        parts = [p for g in gathered for p in g[0]]
        total, n = sum(g[1] for g in gathered), sum(g[2] for g in gathered)
        outputs = gather_outputs(parts, len(self.train_ds))
        metrics = split_metrics(self.task, self.train_ds.labels, outputs, self.train_ds.class_names)
        return total / max(n, 1), metrics, n

    def validate(self) -> tuple[np.ndarray, float]:
        """Each rank runs its shard; every rank gets all outputs and the mean loss."""
        import torch.distributed as dist

        for buf in self.eval_model.buffers():  # batch-norm statistics: rank 0's everywhere
            dist.broadcast(buf, 0)
        out, loss = (run_model(self.eval_model, self.valid_loader, self.device, self.cfg.amp,
                               self.loss_fn)
                     if self.valid_loader is not None else (None, math.nan))
        gathered = _all_gather((self.valid_shard, out, loss))
        parts = [(idx, o) for idx, o, _ in gathered if len(idx)]
        counted = [(len(idx), v) for idx, _, v in gathered if len(idx) and not math.isnan(v)]
        count = sum(k for k, _ in counted)
        return gather_outputs(parts, len(self.valid_ds)), (
            sum(k * v for k, v in counted) / count if count else math.nan)

    def _after_epoch(self, value: float) -> None:
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, 0)  # one decision for all ranks
        super()._after_epoch(box[0])

    def save(self) -> None:
        if self.rank == 0:
            super().save()


def train_data_parallel(
    train: EncodedDataset, valid: EncodedDataset, *, model_name: str,
    model_params: dict[str, Any], config: TrainConfig, out_dir: str | os.PathLike,
    resume: bool = False, meta: dict[str, Any] | None = None,
    test: EncodedDataset | None = None, evaluate: bool = True,
    restart_on_change: bool = False, notes: list[str] | None = None,
) -> dict[str, Any]:
    """:func:`seqnn.training.single.train_single` as one rank of a data-parallel run (module
    doc): same arguments and files, written by rank 0 only. Every rank returns the summary;
    ``metrics`` is ``None`` except on rank 0."""
    limit_primitive_cache()
    if config.threads:
        torch.set_num_threads(config.threads)
    me, world = rank(), world_size()
    _check_batch(config, world)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = rank_device(config.device)
    config = replace(config, device=str(device) if device.type == "cuda" else config.device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    with process_group(backend, STEP_TIMEOUT):
        cfg = config if me == 0 else replace(config, quiet=True)
        trainer = DistributedTrainer(train, valid, model_name, model_params, cfg, out,
                                     rank=me, world=world)
        restore_state(trainer, out, resume, restart_on_change)
        if me == 0:
            log.info("data-parallel over %d processes (%s), %d records per global batch",
                     world, backend, config.batch_size)
        trainer.fit()
    metrics = None
    if me == 0:
        metrics = finish_model(trainer, train, valid, test, config, out, model_name, meta,
                               notes, evaluate)
    return run_summary(trainer, out, metrics)


def train_members_spread(
    train: EncodedDataset, valid: EncodedDataset, *, config: TrainConfig,
    out_dir: str | os.PathLike, test: EncodedDataset | None = None, evaluate: bool = True,
    notes: list[str] | None = None, **member_args: Any,
) -> dict[str, Any]:
    """:func:`seqnn.training.ensemble.train_ensemble` with its members spread over the ranks
    (member i on rank ``i mod N``, module doc); rank 0 then assembles the ensemble from the
    finished members. Other ranks return the summaries of their members only."""
    me, world = rank(), world_size()
    device = rank_device(config.device)
    member_device = str(device) if device.type == "cuda" else config.device
    if config.ensemble < world and me == 0:
        log.warning("ensemble of %d over %d processes: %d process(es) have no member",
                    config.ensemble, world, world - config.ensemble)
    mine = []
    for i in range(me, config.ensemble, world):
        member = replace(config, ensemble=1, seed=config.seed + i, device=member_device)
        mine.append(train_single(train, valid, config=member, out_dir=member_dir(Path(out_dir), i),
                                 evaluate=False, order_seed=config.seed, **member_args))
    import torch.distributed as dist

    with process_group("gloo", MEMBERS_TIMEOUT):
        dist.barrier()  # every member is finished before rank 0 reads them
    if me != 0:
        return {"model_dir": str(out_dir), "metrics": None, "members": mine}
    # the finished members resume with no epoch left to run: they are not trained again
    return train_ensemble(train, valid, config=config, out_dir=out_dir, test=test,
                          evaluate=evaluate, notes=notes, **{**member_args, "resume": True})


__all__ = ["DistributedTrainer", "is_main_process", "launched", "rank", "rank_device",
           "train_data_parallel", "train_members_spread", "world_size"]
