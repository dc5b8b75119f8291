"""``seqnn baselines`` and ``seqnn check``: the honesty checks (:mod:`seqnn.checks`)."""

from __future__ import annotations

import json

import click

from ..config_bounds import MAX_BOOTSTRAP, MAX_MIN_SIZE
from .options import SEED, check_outputs


@click.command()
@click.argument("sequences", type=click.Path(dir_okay=False))
@click.argument("splits", type=click.Path(dir_okay=False))
@click.option("--task", required=True,
              type=click.Choice(["binary", "multiclass", "multilabel", "regression",
                                 "unsupervised"]))
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--classes", help="Class order, comma-separated (binary: the second is positive).")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
def baselines(sequences: str, splits: str, task: str, seed: int, classes: str | None,
              out: str) -> None:
    """Shortcut baselines: majority, length, amino-acid and dipeptide composition (and, for
    regression on one sequence length, ridge on the flattened one-hot)."""
    from ..checks.baselines import baselines_from_files

    check_outputs([out], [sequences, splits])
    baselines_from_files(sequences, splits, task, seed, out,
                         classes.split(",") if classes else None)


#: exit code of ``seqnn check --strict`` when a model's verdict is ``fail`` (2 is a user error)
STRICT_FAIL_EXIT = 3


@click.command()
@click.argument("dataset_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--models", required=True, help="Comma-separated model names.")
@click.option("--margin", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="A model must beat the best shortcut by this much (MCC / Spearman).")
@click.option("--bootstrap", type=click.IntRange(0, MAX_BOOTSTRAP), default=1000,
              show_default=True)
@click.option("--controls", default="permutation,shuffle", show_default=True,
              help="The controls that were run, comma-separated; the others read \"off\".")
@click.option("--min-valid", type=click.IntRange(0, MAX_MIN_SIZE), default=30, show_default=True,
              help="Caution when the valid split has fewer sequences.")
@click.option("--min-test", type=click.IntRange(0, MAX_MIN_SIZE), default=50, show_default=True,
              help="Caution when the test split has fewer sequences.")
@click.option("--strict", is_flag=True,
              help=f"Exit {STRICT_FAIL_EXIT} when any model's verdict is fail (after writing "
                   "checks.json).")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
def check(dataset_dir: str, models: str, margin: float, bootstrap: int, controls: str,
          min_valid: int, min_test: int, strict: bool, out: str) -> None:
    """The honesty checks and a verdict per model (checks.json): fail, caution or pass, with
    one line saying why."""
    from .. import layout
    from ..checks.levels import CONTROLS
    from ..checks.reliability import mark_no_reliability
    from ..checks.verdict import CheckSettings, run_checks
    from ..data.files import write_text
    from ..errors import SeqnnError

    check_outputs([out], [], folders=[dataset_dir], own=(layout.CHECKS,))
    ran = tuple(c.strip() for c in controls.split(",") if c.strip())
    unknown = sorted(set(ran) - set(CONTROLS))
    if unknown:
        raise SeqnnError(f"--controls: unknown control(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(CONTROLS)}")
    names = [m for m in models.split(",") if m]
    before = {m: _identity(layout.model_dir(dataset_dir, m) / layout.RELIABILITY) for m in names}
    result = run_checks(dataset_dir, names,
                        CheckSettings(margin=margin, bootstrap=bootstrap, controls=ran,
                                      min_valid=min_valid, min_test=min_test))
    for name in names:  # every checked model gets reliability.json (a declared output)
        if _identity(layout.model_dir(dataset_dir, name) / layout.RELIABILITY) == before[name]:
            mark_no_reliability(layout.model_dir(dataset_dir, name))  # none written, or stale
    write_text(json.dumps(result, indent=2), out)
    for name, entry in result["models"].items():
        click.echo(f"{name}: {entry['why']}", err=True)
        click.echo(f"  {entry['verdict']}", err=True)
    if strict and any(e["level"] == "fail" for e in result["models"].values()):
        raise SystemExit(STRICT_FAIL_EXIT)


def _identity(path: object) -> tuple[int, int] | None:
    """The file's (device, inode), ``None`` when absent: every write of seqnn renames a new
    file onto the name, so a changed identity means that the file was written."""
    import os

    try:
        st = os.stat(path, follow_symlinks=False)  # type: ignore[arg-type]
    except OSError:
        return None
    return st.st_dev, st.st_ino
