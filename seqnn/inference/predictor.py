"""A trained model applied to new sequences: :class:`Predictor` (``seqnn.load(dir)``).

Every input goes through exactly what training recorded in ``model.json``: the alphabet
policy (``alphabet_policy``, plus ``drop_gaps`` when recorded), tokenising, and the length
rule (``max_len``, ``truncate``: longer sequences are cut as at training, or refused when the
rule is ``error``).

Prediction table (TSV with a header, rows in input order): ``id``, ``length`` (residues
after the policy, before truncation), ``truncated`` (how many of them the model did not
see: ``length`` minus ``max_len``, or minus a flattening ``mlp``'s smaller input width;
0 when none), then the output columns of :mod:`seqnn.runtime.table`
(``predicted`` and one ``p_<class>`` probability per class, as in training's
``predictions.tsv`` but calibrated by the ``temperature`` that training fitted on the
validation split and stored in ``model.json``, see :mod:`seqnn.calibration`; multilabel:
calibrated per label in both; the value for
regression; ``reconstruction_accuracy`` for an autoencoder); ``nearest_identity`` (by
default where the model folder keeps ``train_sequences.fa``; ``nearest=False`` /
``--no-nearest`` turns it off); with the folder's ``reliability.json`` the columns of
:mod:`seqnn.inference.reliability`; and ``flags``: ``;``-separated, empty when none, from
:data:`FLAGS` --
``truncated`` (longer than ``max_len``: the model saw the kept part only),
``substituted:U->C`` (one per kind: ``U->C``, ``O->K``, ``B->X``, ``Z->X``, ``J->X``),
``lowercase``, ``stop_dropped`` (a trailing ``*``), ``gaps_dropped`` and ``extrapolating``
(nearest training identity below the model's ``identity_threshold``, default 0.3).
The library returns full-precision floats; ``seqnn predict`` writes :func:`format_table` of
the same table (floats to 4 significant digits).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..data.alphabet import Substitutions, clean
from ..data.encoding import encode_table, too_long
from ..data.fasta import SeenIds, check_not_nucleotide
from ..errors import ConfigError, PolicyError, SeqnnInputError
from ..runtime.checkpoint import load_model
from ..runtime.device import select_device
from ..runtime.fastpath import for_inference
from ..runtime.forward import OnBatch, embed_dataset, model_task, predict_dataset
from ..runtime.table import prediction_columns, prediction_table
from .outputs import check_finite, format_table, input_width

DEFAULT_THRESHOLD = 0.3
#: padded residues per inference batch (records sorted by length; ``batch_size`` still caps
#: the records): short sequences come in large batches, long ones in small; chosen by
#: measurement (``benchmarks/README.md``, "Roofline")
BATCH_RESIDUES = 16384
#: every flag that can appear in the ``flags`` column (``substituted:`` takes a kind)
FLAGS = ("truncated", "substituted:", "lowercase", "stop_dropped", "gaps_dropped",
         "extrapolating")
_SUB_FLAGS = {"lowercase": "lowercase", "trailing * dropped": "stop_dropped",
              "gap dropped": "gaps_dropped"}
API_SOURCE = "<sequences>"


@dataclass
class Chunk:
    """Records ready for the model: ``ids``, policy-cleaned ``seqs`` (uncropped) and the
    ``flags`` (list of flag strings) of each record."""

    ids: list[str]
    seqs: list[str]
    flags: list[list[str]]


def _as_pairs(sequences: Any) -> list[tuple[str, str]]:
    """A str, list of str, dict id->seq or list of (id, seq) pairs -> (id, seq) pairs."""
    if isinstance(sequences, str):
        sequences = [sequences]
    if isinstance(sequences, Mapping):
        return [(str(k), str(v)) for k, v in sequences.items()]
    items = list(sequences)
    if all(isinstance(s, str) for s in items):
        return [(str(i), s) for i, s in enumerate(items)]
    return [(str(rid), str(seq)) for rid, seq in items]


def _temperature(value: Any, class_names: list[str]) -> float | list[float]:
    """``model.json``'s ``temperature``: a number, or a label -> T mapping as a list in
    class order (a label it lacks keeps 1.0)."""
    if isinstance(value, dict):
        return [float(value.get(c, 1.0)) for c in class_names]
    return float(value)


class Predictor:
    """A loaded model with its recipe; predicts and embeds sequences as training encoded them.

    ``meta`` is ``model.json``; ``task`` is ``binary | multiclass | multilabel | regression |
    unsupervised``; ``class_names`` the class order of the ``p_<class>`` columns;
    multilabel: ``thresholds`` (per label, from ``model.json``) decide the ``predicted``
    label set, joined by ``label_separator``.
    Records are run through the model sorted by length, in batches of at most ``batch_size``
    records and, on CPU, ``batch_residues`` padded residues; rows come back in input order.
    """

    def __init__(self, model: Any, meta: dict[str, Any], device: Any, batch_size: int = 256,
                 batch_residues: int = BATCH_RESIDUES):
        self.model, self.meta, self.device, self.batch_size = model, meta, device, batch_size
        self.batch_residues = int(batch_residues)
        self.task: str = model_task(model)
        self.class_names: list[str] = [str(c) for c in meta.get("class_names", [])]
        self.max_len, self.truncate = int(meta["max_len"]), str(meta["truncate"])
        self.policy = str(meta.get("alphabet_policy", "map"))
        self.drop_gaps = bool(meta.get("drop_gaps", False))
        cuts = meta.get("thresholds") or {}  # multilabel: chosen on the validation split
        self.thresholds: list[float] | None = (
            [float(cuts.get(c, 0.5)) for c in self.class_names] if self.task == "multilabel"
            else None)
        self.label_separator = str(meta.get("label_separator", ";"))
        #: divides the logits before the probabilities (``model.json``; 1.0 = as trained);
        #: multilabel: one per label in class order (``model.json`` maps label -> T)
        self.temperature: float | list[float] = _temperature(meta.get("temperature", 1.0),
                                                             self.class_names)
        self._fast: Any = None
        self._cpu = getattr(device, "type", str(device)) == "cpu"
        #: the model folder (set by :func:`load`): its ``train_sequences.fa`` and
        #: ``reliability.json`` give the applicability columns; ``None`` = none of them
        self.model_dir: Path | None = None
        self.identity_threshold = float(meta.get("identity_threshold", DEFAULT_THRESHOLD))
        self._nearest: dict[int, Any] = {}
        #: residues the model sees at most: ``max_len``, or a flattening ``mlp``'s own
        #: smaller input width (it keeps the first residues of what the length rule kept)
        self.input_width = input_width(model, self.max_len)

    @property
    def fast_model(self) -> Any:
        """The model rewritten for inference (:func:`seqnn.runtime.fastpath.for_inference`:
        batch norm folded, channels-last convolutions; same outputs within float rounding),
        built on first use; on CPU only (elsewhere the model itself)."""
        if self._fast is None:
            self._fast = for_inference(self.model) if self._cpu else self.model.eval()
        return self._fast

    @property
    def _max_residues(self) -> int | None:
        return self.batch_residues if self._cpu else None

    def prepare(self, records: list[tuple[str, str]], source: str | os.PathLike = API_SOURCE,
                seen: SeenIds | None = None, check_nucleotide: bool = True) -> Chunk:
        """Apply the recorded policy and length rule to raw ``(id, seq)`` records.

        Raises :class:`SeqnnInputError` naming ``source``, the record and the reason for an
        empty sequence, a policy violation, a duplicate id (tracked across chunks by
        ``seen``), a DNA/RNA input or, under ``truncate='error'``, a sequence over ``max_len``.
        """
        seen = seen if seen is not None else SeenIds(source)
        seen.add([rid for rid, _ in records])
        if check_nucleotide:
            check_not_nucleotide([s for _, s in records], source)
        subs, ids, seqs, flags = Substitutions(), [], [], []
        for rid, raw in records:
            if not raw:
                raise SeqnnInputError(source, "empty sequence", rid)
            try:
                seq = clean(raw, rid, self.policy, self.drop_gaps, subs)
            except PolicyError as exc:
                where = f"position {exc.position}: " if exc.position else ""
                reason = exc.reason.split(" (pass drop_gaps")[0]
                if reason != exc.reason:  # no --drop-gaps here: the model's recipe decides
                    reason += f" (the model's alphabet policy {self.policy!r} keeps no gaps)"
                raise SeqnnInputError(source, where + reason, rid) from None
            flag = []
            if len(seq) > self.max_len and self.truncate == "error":
                reason = too_long(len(seq), self.max_len, "the model's max_len")
                raise SeqnnInputError(source, f"{reason} (truncate rule 'error')", rid)
            if len(seq) > self.input_width:
                flag.append("truncated")
            if subs.counts:
                flag += [_SUB_FLAGS.get(k, f"substituted:{k}") for k in sorted(subs.counts)]
                subs.counts.clear()
                subs.records.clear()
            ids.append(rid)
            seqs.append(seq)
            flags.append(flag)
        return Chunk(ids, seqs, flags)

    def columns(self, nearest: bool = False) -> list[str]:
        """The columns of this model's prediction table (module doc), in order."""
        body = prediction_columns(self.task, self.class_names)
        return ["id", "length", "truncated", *body,
                *(["nearest_identity"] if nearest else []), "flags"]

    def _dataset(self, chunk: Chunk) -> Any:
        return encode_table(chunk.ids, chunk.seqs)

    def predict_chunk(self, chunk: Chunk, on_batch: OnBatch | None = None) -> pd.DataFrame:
        """The prediction table (module doc) of one prepared chunk, without ``flags``;
        ``on_batch(n)`` is called after each batch of ``n`` records (a progress bar)."""
        if not chunk.ids:
            return pd.DataFrame({c: [] for c in self.columns()[:-1]})
        with torch.inference_mode():
            pred = predict_dataset(self.fast_model, self._dataset(chunk),
                                   batch_size=self.batch_size, device=self.device,
                                   max_len=self.max_len, truncate=self.truncate,
                                   on_batch=on_batch, max_residues=self._max_residues,
                                   temperature=self.temperature)
        if self.task != "unsupervised":  # a GAN reconstructs nothing: NaN by design
            check_finite(pred["outputs"], chunk.ids, self.meta)
        lengths = np.fromiter(map(len, chunk.seqs), np.int64, len(chunk.seqs))
        cut = np.maximum(lengths - self.input_width, 0)
        return prediction_table({"id": chunk.ids, "length": lengths, "truncated": cut}, self.task,
                                self.class_names, pred["outputs"], pred["predicted"],
                                thresholds=self.thresholds, separator=self.label_separator)

    def embed_chunk(self, chunk: Chunk, on_batch: OnBatch | None = None) -> np.ndarray:
        """``model.embed`` of one prepared chunk: ``(N, D)`` ``float32``, input order;
        ``on_batch`` as in :meth:`predict_chunk`."""
        with torch.inference_mode():
            return embed_dataset(self.fast_model, self._dataset(chunk),
                                 batch_size=self.batch_size, device=self.device,
                                 max_len=self.max_len, truncate=self.truncate,
                                 on_batch=on_batch, max_residues=self._max_residues)

    def applicability(self, wanted: bool | None = None, threads: int | None = None
                      ) -> tuple[Any, str]:
        """The nearest-train check (:class:`~seqnn.inference.nearest.NearestTrain`, cached)
        and, when it is skipped without being asked for, why: ``(NearestTrain | None,
        reason | "")``. ``wanted`` ``None`` (the default of ``predict`` and ``seqnn
        predict``): on when the model folder has ``train_sequences.fa`` and MMseqs2 is
        found; ``True``: required (a missing file or MMseqs2 raises); ``False``: off."""
        from ..errors import MMseqsNotFound
        from ..layout import TRAIN_SEQUENCES
        from .nearest import NearestTrain

        if wanted is False:
            return None, ""
        n = threads or os.cpu_count() or 1
        folder = self.model_dir if self.model_dir is not None else Path(API_SOURCE)
        if wanted is None and not (folder / TRAIN_SEQUENCES).is_file():
            return None, (f"no {TRAIN_SEQUENCES} in {folder}: applicability check skipped "
                          "(no nearest_identity, no 'extrapolating' flag)")
        if n not in self._nearest:
            try:
                self._nearest[n] = NearestTrain(folder, self.policy, n)
            except MMseqsNotFound as exc:
                if wanted:
                    raise
                return None, f"applicability check skipped: {exc}"
        return self._nearest[n], ""

    def reliability(self, coverage: float | None = None) -> Any:
        """The model folder's ``reliability.json`` as a
        :class:`~seqnn.inference.reliability.Reliability` (``coverage``: conformal sets or
        intervals), or ``None`` where the folder has none (``coverage`` then raises)."""
        from .reliability import Reliability

        folder = self.model_dir if self.model_dir is not None else Path(API_SOURCE)
        found = Reliability(folder, coverage)
        return found if found.available else None

    def predict_table(self, chunk: Chunk, nearest: Any = None, reliability: Any = None,
                      on_batch: OnBatch | None = None) -> pd.DataFrame:
        """The full prediction table of one prepared chunk (module doc), full-precision
        floats: the model's columns, ``nearest_identity`` with ``nearest`` (a
        ``NearestTrain``), the ``reliability`` columns and ``flags``. The one code path of
        :meth:`predict` and ``seqnn predict`` (which writes :func:`format_table` of it)."""
        ident = None
        if nearest is not None:
            ident = nearest.identity(chunk.seqs) if chunk.ids else np.zeros(0)
        frame = finish_rows(self.predict_chunk(chunk, on_batch), chunk, ident,
                            self.identity_threshold)
        if reliability is not None:
            names = self.class_names if self.task != "regression" else []
            frame = reliability.add_columns(frame, ident, names)
        return frame

    def predict(self, sequences: Any, nearest: bool | None = None,
                coverage: float | None = None, threads: int | None = None) -> pd.DataFrame:
        """Predict a list of sequences (ids ``"0"``, ``"1"``, ...), a dict id -> sequence or a
        list of ``(id, seq)`` pairs; returns the prediction table (module doc) as a DataFrame
        with the same columns as ``seqnn predict`` (whose TSV is :func:`format_table` of it).

        As in the CLI, ``nearest`` (``--nearest/--no-nearest``) defaults to on when the model
        folder keeps ``train_sequences.fa`` (adds ``nearest_identity``, the ``extrapolating``
        flag and, with the folder's ``reliability.json``, ``expected_<metric>`` and
        ``expected_from``); ``coverage`` adds a conformal ``prediction_set`` or
        ``lower``/``upper``; ``threads`` is MMseqs2's thread count (default: all CPUs)."""
        near, _ = self.applicability(nearest, threads)
        reliability = self.reliability(coverage)
        chunk = self.prepare(_as_pairs(sequences))
        return self.predict_table(chunk, near, reliability)

    def embed(self, sequences: Any) -> np.ndarray:
        """Embeddings ``(N, D)`` ``float32`` of sequences given as for :meth:`predict`."""
        return self.embed_chunk(self.prepare(_as_pairs(sequences)))

    def explain(self, sequences: Any, method: str = "gradxinput", target: str | None = None,
                steps: int = 32, ism_max_len: int = 1000) -> pd.DataFrame:
        """Per-residue explanations of sequences given as for :meth:`predict`: the long table
        of ``seqnn explain`` (:mod:`seqnn.inference.explain_files`) as a DataFrame.
        ``method`` is ``gradxinput``, ``ig`` (``steps`` interpolation steps) or ``ism``
        (windows of ``ism_max_len``); ``target`` a class name (default: the predicted one).
        ``frame.attrs["truncated"]`` maps each id to the residues the model did not see
        (they have no row)."""
        from .explain import explainer_for
        from .explain_files import explain_frame

        chunk = self.prepare(_as_pairs(sequences))
        items = explainer_for(self).explain(chunk.ids, chunk.seqs, method, target, steps,
                                            ism_max_len)
        frame = explain_frame(items, method)
        frame.attrs["truncated"] = {e.id: e.truncated for e in items}
        return frame

    def generate(self, n: int, *, seed: int = 0, temperature: float = 1.0) -> list[str]:
        """``n`` new sequences from a generative model (``vae``, ``gan``), reproducible from
        ``seed`` on any device; ``temperature`` > 1 flattens the sampling, < 1 sharpens it.
        Any other model raises :class:`~seqnn.errors.ConfigError` in one line."""
        return [s for chunk in self.generate_chunks(n, seed=seed, temperature=temperature)
                for s in chunk]

    def generate_chunks(self, n: int, *, seed: int = 0, temperature: float = 1.0
                        ) -> Iterator[list[str]]:
        """:meth:`generate` one forward pass at a time (at most
        :data:`seqnn.models.sampling.CHUNK` sequences each), so a caller can stream them to a
        file; the same sequences as :meth:`generate` (one generator runs through all)."""
        if not getattr(self.model, "generative", False):
            raise ConfigError(f"model {self.meta.get('model')!r} is not generative (task "
                              f"{self.task}); generate needs a vae or gan model folder")
        from ..models.sampling import check_sampling, chunks

        try:
            check_sampling(n, temperature)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        generator = torch.Generator().manual_seed(int(seed))
        for size in chunks(n):
            try:
                yield self.model.generate(size, temperature=temperature, generator=generator)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None


def finish_rows(frame: pd.DataFrame, chunk: Chunk, identity: np.ndarray | None = None,
                threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Add ``nearest_identity`` (when ``identity`` is given, flagging ``extrapolating`` below
    ``threshold``) and the ``;``-joined ``flags`` column to a chunk's prediction table."""
    flags = chunk.flags
    if identity is not None:
        frame["nearest_identity"] = np.asarray(identity, dtype=float)
        flags = [f + ["extrapolating"] if ident < threshold else f
                 for f, ident in zip(flags, identity.tolist(), strict=True)]
    frame["flags"] = [";".join(f) for f in flags]
    return frame


def load(model_dir: str | os.PathLike, device: str = "auto", batch_size: int = 256) -> Predictor:
    """Load a model directory (``model.json`` + ``model.safetensors``) as a :class:`Predictor`.

    ``device`` is ``auto | cpu | cuda | cuda:N | mps`` (default ``auto``, as the CLI: CUDA,
    then MPS, then CPU). Raises
    :class:`~seqnn.errors.CheckpointError` for a missing, incomplete or newer-format
    model directory.
    """
    dev = select_device(device)
    model, meta = load_model(model_dir, dev)
    predictor = Predictor(model, meta, dev, batch_size)
    predictor.model_dir = Path(model_dir)
    return predictor


__all__ = ["API_SOURCE", "DEFAULT_THRESHOLD", "FLAGS", "Chunk", "Predictor", "finish_rows",
           "format_table", "load"]
