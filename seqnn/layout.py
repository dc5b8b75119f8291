"""Every file name seqnn writes or reads in a results folder and in a model folder.

A new output gets its name here; modules import the names, never spell them.

``results/`` (the workflow's ``results:`` folder)

* :data:`INDEX_HTML` ``index.html``: the datasets side by side (``seqnn report-index``).

``results/<dataset>/`` (one dataset; each file written by one workflow step)

* :data:`SEQUENCES` ``sequences.tsv``: ``id``, ``sequence``, ``label``, ``source`` [, ``split``]
  (``seqnn ingest``); :data:`INGEST_REPORT` ``ingest.json``: what ingest changed and found;
* :data:`SPLITS` ``splits.tsv``: ``id``, ``split``, ``cluster`` [, ``fold``] (``seqnn split``);
  :data:`SPLIT_SUMMARY` ``split_summary.json``; :data:`SPLIT_WORKDIR` ``tmp_split/``
  (temporary, removed);
* :data:`AUDIT` ``audit.json`` and :data:`NEAREST_TRAIN` ``nearest_train.tsv``: the leakage
  audit (``seqnn audit``); :data:`AUDIT_WORKDIR` ``tmp_audit/`` (temporary, removed);
* :data:`ENCODED` ``encoded.npz``: ragged tokens, offsets, ids, labels, uncompressed and
  read as memory maps (``seqnn encode``; :mod:`seqnn.data.store`);
* :data:`MODELS_DIR` ``models/<model>/``: one model folder per model (below);
* :data:`CONTROLS_DIR` ``controls/<model>/<control>/``: the same layout for each control run
  (``permutation``, ``permutation-2``, ..., ``shuffle``);
* :data:`BASELINES` ``baselines.json``: the shortcut baselines (``seqnn baselines``);
* :data:`CHECKS` ``checks.json``: the honesty checks and verdicts (``seqnn check``);
* :data:`REPORT_HTML` ``report.html``: the self-contained report (``seqnn report``);
* :data:`GENERATION_HTML` ``generation.html``: a ``task: generative`` dataset's report
  (``seqnn report-generation``) instead of checks and ``report.html``.

A model folder (``models/<model>/``, written by ``seqnn train``)

* :data:`WEIGHTS` ``model.safetensors`` and :data:`MODEL_META` ``model.json``: the model
  and its recipe (:mod:`seqnn.runtime.checkpoint`);
* :data:`METRICS` ``metrics.json``: metrics per split; :data:`PREDICTIONS`
  ``predictions.tsv``: ``id``, ``split``, ``true``, ``predicted``, ``p_<class>``...;
* :data:`HISTORY` ``history.csv``: one row per epoch (an ensemble adds ``member``);
* :data:`STATE` ``state.pt``: the resumable training state, rewritten after every epoch;
* :data:`TRAIN_SEQUENCES` ``train_sequences.fa``: the training sequences
  (``seqnn predict --nearest``); :data:`PROBE` ``probe.json``: an autoencoder's linear probe;
* :data:`MEMBERS_DIR` ``members/<i>/``: an ensemble's members, each a model folder;
* :data:`PLOTS_DIR` ``plots/``: the PNGs of ``seqnn evaluate``, with
  :data:`ATTRIBUTIONS` ``attributions.json``: what the attributions say about shortcuts
  (:mod:`seqnn.inference.attribution_summary`);
* :data:`RELIABILITY` ``reliability.json``: expected metric per identity bin and the
  conformal scores of ``seqnn predict`` (written by ``seqnn check``);
* :data:`GENERATED` ``generated.fa`` and :data:`GENERATION` ``generation.json``: a generative
  model's sampled sequences (``seqnn generate``) and their evaluation next to three
  baselines (``seqnn check-generated``).
"""

from __future__ import annotations

from pathlib import Path

# results/
INDEX_HTML = "index.html"

# results/<dataset>/
SEQUENCES = "sequences.tsv"
INGEST_REPORT = "ingest.json"
SPLITS = "splits.tsv"
SPLIT_SUMMARY = "split_summary.json"
SPLIT_WORKDIR = "tmp_split"
AUDIT = "audit.json"
NEAREST_TRAIN = "nearest_train.tsv"
AUDIT_WORKDIR = "tmp_audit"
ENCODED = "encoded.npz"
MODELS_DIR = "models"
CONTROLS_DIR = "controls"
BASELINES = "baselines.json"
CHECKS = "checks.json"
REPORT_HTML = "report.html"
GENERATION_HTML = "generation.html"  # task generative: the generation report

# a model folder
WEIGHTS = "model.safetensors"
MODEL_META = "model.json"
METRICS = "metrics.json"
PREDICTIONS = "predictions.tsv"
HISTORY = "history.csv"
STATE = "state.pt"
TRAIN_SEQUENCES = "train_sequences.fa"
PROBE = "probe.json"
MEMBERS_DIR = "members"
PLOTS_DIR = "plots"
RELIABILITY = "reliability.json"
ATTRIBUTIONS = "attributions.json"
GENERATED = "generated.fa"  # a generative model's sampled sequences (workflow)
GENERATION = "generation.json"  # their evaluation beside three baselines


def model_dir(dataset_dir: str | Path, model: str) -> Path:
    """``<dataset_dir>/models/<model>``."""
    return Path(dataset_dir) / MODELS_DIR / model


def controls_dir(dataset_dir: str | Path, model: str) -> Path:
    """``<dataset_dir>/controls/<model>`` (one sub-folder per control run)."""
    return Path(dataset_dir) / CONTROLS_DIR / model


def member_dir(out_dir: str | Path, i: int) -> Path:
    """Where member ``i`` of an ensemble in ``out_dir`` is trained."""
    return Path(out_dir) / MEMBERS_DIR / str(i)
