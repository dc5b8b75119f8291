"""``seqnn train`` and ``seqnn models``: training (:mod:`seqnn.training`) and the registry."""

from __future__ import annotations

import json
from typing import Any

import click

from ..config import DEFAULT_MAX_LEN, MAX_LEN_LIMIT
from ..config_bounds import MAX_EPOCHS, MAX_PERMUTATION_RUNS
from .options import DEVICE, DEVICE_HELP, fmt, spec_arg


def _model_block(data: Any, name: str | None, path: str) -> dict:
    """The model block of a YAML file: the file itself, or ``models[name]`` of a workflow
    config (its only model when ``name`` is None)."""
    from ..errors import ConfigError

    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping (a model block or a workflow config)")
    if "models" not in data:
        return data
    models = data["models"] if isinstance(data["models"], dict) else {}
    if name is None and len(models) == 1:
        name = next(iter(models))
    if name not in models:
        raise ConfigError(f"{path}: give --name, one of the config's models: "
                          f"{', '.join(map(str, models)) or '(none)'}")
    block = models[name]
    if not isinstance(block, dict):
        raise ConfigError(f"{path}: models.{name} is not a mapping")
    return dict(block)


@click.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.argument("splits", type=click.Path(dir_okay=False))
@click.option("--spec", help="Model block as JSON: model, params, train (as in config.yaml).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="The same model block as a YAML file, or a workflow config: then the "
                   "block of --name under its models: (the only one, without --name).")
@click.option("--model", "model_name", help="Registry name (mlp, cnn, rnn, autoencoder).")
@click.option("--params", help="Model parameters as JSON.")
@click.option("--name", help="Name of this model (default: the registry name).")
@click.option("--task", help="Task, when DATA is a sequences table rather than .npz.")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False),
              help="Model folder to write.")
@click.option("--device", type=DEVICE, default=None,
              help=f"{DEVICE_HELP} [default: the block's train setting, else auto]")
@click.option("--seed", type=int, default=None,
              help="[default: the block's train setting, else 0]")
@click.option("--threads", type=int, default=None,
              help="CPU threads for torch [default: the block's train setting, else torch's "
                   "choice]")
@click.option("--epochs", type=int, default=None,
              help="[default: the block's train setting, else 100]")
@click.option("--max-epochs", type=click.IntRange(1, MAX_EPOCHS), default=None,
              help="Cap on epochs (controls).")
@click.option("--max-len", type=click.IntRange(1, MAX_LEN_LIMIT), default=DEFAULT_MAX_LEN,
              show_default=True,
              help="The dataset's max_len: longer sequences are cut (or refused) by the "
                   "truncate rule; a train.max_len in the model block wins over it.")
@click.option("--ensemble", type=int, default=None,
              help="Train K members (seeds seed..seed+K-1) and save their average "
                   "[default: the block's train setting, else 1].")
@click.option("--control", type=click.Choice(["permutation", "shuffle"]), default=None,
              help="Train a control: shuffled labels or residue-shuffled sequences.")
@click.option("--control-run", type=click.IntRange(1, MAX_PERMUTATION_RUNS), default=1,
              show_default=True,
              help="Repeat number of a control (run k uses seed + (k - 1) x ensemble).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.option("--quiet", is_flag=True,
              help="No progress bar and no per-epoch log lines (results are the same).")
def train(data: str, splits: str, spec: str | None, config_file: str | None,
          model_name: str | None, params: str | None, name: str | None, task: str | None,
          out: str, device: str | None, seed: int | None, threads: int | None,
          epochs: int | None, max_epochs: int | None, max_len: int, ensemble: int | None,
          control: str | None, control_run: int, resume: bool, quiet: bool) -> None:
    """Train one model on an encoded dataset and a split table; write its folder."""
    from ..config import model_from_dict, parse_json_arg, replace_train, train_config
    from ..errors import ConfigError
    from ..training.distributed import is_main_process
    from ..training.job import run_training

    block = spec_arg(spec, "--spec")
    if config_file:
        from ..config_bounds import read_yaml_file

        block = read_yaml_file(config_file, "model config") or {}
        block = _model_block(block, name, config_file)
    if model_name:
        block["model"] = model_name
    if params:
        block["params"] = parse_json_arg(params, "--params")
    if "model" not in block:
        raise ConfigError("give --model NAME, or --spec/--config with a 'model' key")
    m = model_from_dict(name or block["model"], block)
    # the dataset's max_len unless the block's train: sets its own; the other options
    # given on the command line win over the block
    config = train_config({"max_len": max_len, **m.train}, f"models.{m.name}.train")
    given = {"device": device, "seed": seed, "threads": threads, "epochs": epochs,
             "ensemble": ensemble, "quiet": True if quiet else None}
    config = replace_train(config, "train options",
                           **{k: v for k, v in given.items() if v is not None})
    summary = run_training(data, splits, out, m.model, m.params, config, task=task,
                           control=control, control_run=control_run,
                           max_epochs=max_epochs, resume=resume,
                           meta={"name": m.name})
    if not is_main_process():  # one line per run under torchrun, not per process
        return
    click.echo(f"{m.name}: best epoch {summary.get('best_epoch')} "
               f"({summary.get('monitor')} {fmt(summary.get('best_metric'))}) -> {out}",
               err=True)


def _param_lines(params: dict[str, dict]) -> list[str]:
    """One line per parameter: ``name = default  (type; one of a, b)  description``."""
    lines = []
    for key, p in params.items():
        kind = p["type"] + (f"; one of {', '.join(map(str, p['choices']))}"
                            if p["choices"] else "")
        lines.append(f"  {key} = {json.dumps(p['default'])}  ({kind})  {p['help']}")
    return lines


@click.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def models(name: str | None, as_json: bool) -> None:
    """List the models with a one-line description; with NAME, its parameters (type,
    default, allowed values, meaning) and the training settings of a model block."""
    from ..catalog import MODELS, describe
    from ..errors import ConfigError

    if name is not None and name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    data = describe(name)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    elif name is None:
        width = max(map(len, data["models"]))
        for key, text in data["models"].items():
            click.echo(f"{key:<{width}}  {text}")
        click.echo("\n`seqnn models NAME` shows a model's parameters and the training settings.")
    else:
        click.echo(f"{name}: {data['description']}\n\nparams: (model block 'params:')")
        click.echo("\n".join(_param_lines(data["params"])))
        click.echo("\ntrain: (model block 'train:')")
        click.echo("\n".join(_param_lines(data["train"])))
