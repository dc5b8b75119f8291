"""``seqnn train`` and ``seqnn models``: training (:mod:`seqnn.training`) and the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .options import spec_arg


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
@click.option("--out", required=True, type=click.Path(file_okay=False))
@click.option("--device", default=None, help="auto | cpu | cuda | mps [auto].")
@click.option("--seed", type=int, default=None)
@click.option("--threads", type=int, default=None)
@click.option("--epochs", type=int, default=None)
@click.option("--max-epochs", type=int, default=None, help="Cap on epochs (controls).")
@click.option("--ensemble", type=int, default=None,
              help="Train K members (seeds seed..seed+K-1) and save their average.")
@click.option("--control", type=click.Choice(["permutation", "shuffle"]), default=None,
              help="Train a control: shuffled labels or residue-shuffled sequences.")
@click.option("--control-run", type=int, default=1, show_default=True,
              help="Repeat number of a control (run k uses seed + (k - 1) x ensemble).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(data: str, splits: str, spec: str | None, config_file: str | None,
          model_name: str | None, params: str | None, name: str | None, task: str | None,
          out: str, device: str | None, seed: int | None, threads: int | None,
          epochs: int | None, max_epochs: int | None, ensemble: int | None,
          control: str | None, control_run: int, resume: bool, quiet: bool) -> None:
    """Train one model on an encoded dataset and a split table; write its folder."""
    from ..config import model_from_dict, parse_json_arg
    from ..errors import ConfigError
    from ..training.job import run_training

    block = spec_arg(spec, "--spec")
    if config_file:
        import yaml

        block = yaml.safe_load(Path(config_file).read_text()) or {}
        block = _model_block(block, name, config_file)
    max_len = block.pop("max_len", None)
    if model_name:
        block["model"] = model_name
    if params:
        block["params"] = parse_json_arg(params, "--params")
    if "model" not in block:
        raise ConfigError("give --model NAME, or --spec/--config with a 'model' key")
    m = model_from_dict(name or block["model"], block)
    settings = dict(m.train)
    given = {"device": device, "seed": seed, "threads": threads, "epochs": epochs,
             "ensemble": ensemble}
    settings.update({k: v for k, v in given.items() if v is not None})
    if max_len is not None:
        settings.setdefault("max_len", max_len)
    settings["quiet"] = quiet or settings.get("quiet", False)
    summary = run_training(data, splits, out, m.model, m.params, settings, task=task,
                           control=control, control_run=control_run,
                           max_epochs=max_epochs, resume=resume,
                           meta={"name": m.name})
    click.echo(f"{m.name}: best epoch {summary.get('best_epoch')} "
               f"({summary.get('monitor')} {summary.get('best_metric')}) -> {out}", err=True)


@click.command()
def models() -> None:
    """List the registered models and their parameters with defaults."""
    from ..models import list_models, model_params

    for name in list_models():
        click.echo(name)
        for key, value in model_params(name).items():
            click.echo(f"  {key} = {json.dumps(value)}")
