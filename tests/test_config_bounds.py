"""Config and command-line safety, round two (issue 24): no config value imports code, every
count and setting has a type and a documented range, config files are read bounded and
without duplicate keys, user regexes are checked before ingest, the results folder cannot be
a system folder or someone else's, nproc follows --cores, and a model too large for memory is
refused before anything is allocated."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from seqnn.cli import main
from seqnn.config import (
    ChecksSpec,
    ConfigError,
    DatasetSpec,
    SplitSpec,
    TrainConfig,
    parse_json_arg,
    read_workflow_file,
    train_config,
    workflow_from_dict,
)
from seqnn.config_bounds import (
    MAX_CONFIG_BYTES,
    bounds_of,
    check_value,
    load_yaml,
    read_bounded,
)
from seqnn.config_generate import GenerateSpec
from seqnn.config_results import MARKER, check_results_folder, claim_results_folder
from seqnn.config_safety import check_header_regex, check_names, check_paths
from seqnn.workflow import check_config_files, check_workflow

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "seqnn" / "schema.yaml").read_text())


def base_config(results: str = "results") -> dict:
    """A small valid config (random split; no file is read by the checks)."""
    return {
        "results": results, "threads": 1, "device": "cpu",
        "datasets": {"tiny": {
            "task": "binary", "max_len": 64,
            "inputs": [{"fasta": "pos.fa", "label": "pos"}, {"fasta": "neg.fa", "label": "neg"}],
            "split": {"method": "random", "fractions": [0.6, 0.2, 0.2]},
        }},
        "models": {"cnn": {"model": "cnn", "params": {"channels": [8], "kernel_size": 3},
                           "train": {"epochs": 2, "batch_size": 16}}},
        "checks": {"control_epochs": 1, "bootstrap": 50, "permutation_runs": 2},
    }


def refusal(data: dict, **kwargs: object) -> str:
    """The one-line ConfigError check_workflow raises for ``data``."""
    with pytest.raises(ConfigError) as err:
        check_workflow(data, **kwargs)
    msg = str(err.value)
    assert "\n" not in msg and len(msg) < 400, msg
    return msg


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative results folders resolve inside the test's folder


def test_the_base_config_passes() -> None:
    check_workflow(base_config())


# --- item 1: a config never runs code --------------------------------------------------------

def test_a_module_path_loss_is_refused_without_importing_it(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "helper.py").write_text(
        "import pathlib\npathlib.Path('PWNED').write_text('ran')\ndef f(a, b):\n    return 0\n")
    data = base_config()
    data["models"]["cnn"]["train"]["loss"] = "data.helper:f"
    assert refusal(data) == (
        "models.cnn.train: loss 'data.helper:f': a config never imports code; register your "
        "own loss as an entry point in the group 'seqnn.losses' of an installed package and "
        "name it here by its entry-point name")
    assert not (tmp_path / "PWNED").exists()
    assert "data.helper" not in sys.modules


@pytest.mark.parametrize("loss", ["os:system", "data.helper", "a/b", "..x", "pkg.mod:f"])
def test_every_dotted_or_colon_loss_is_refused(loss: str) -> None:
    with pytest.raises(ConfigError, match="a config never imports code"):
        train_config({"loss": loss}, "models.m.train")


def test_an_unregistered_loss_name_lists_the_registry() -> None:
    with pytest.raises(ConfigError) as err:
        train_config({"loss": "focal"}, "t")
    assert str(err.value) == ("t: loss must be auto, cross_entropy, bce, mse or a loss "
                              "registered under the entry-point group 'seqnn.losses' (none "
                              "installed), got 'focal'")


def test_a_registered_entry_point_is_the_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata as md

    import torch

    from seqnn.training.parts import build_loss

    ep = md.EntryPoint("half_mse", "tests_config_bounds_loss:half", "seqnn.losses")
    real = md.entry_points
    monkeypatch.setattr(md, "entry_points",
                        lambda **kw: [ep] if kw.get("group") == "seqnn.losses" else real(**kw))
    module = type(sys)("tests_config_bounds_loss")
    module.half = lambda out, y: ((out.reshape(-1) - y) ** 2).mean() / 2
    monkeypatch.setitem(sys.modules, "tests_config_bounds_loss", module)
    assert train_config({"loss": "half_mse"}, "t").loss == "half_mse"
    fn = build_loss("half_mse", "regression", None, torch.device("cpu"))
    assert fn(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0])).item() == 1.25


def test_no_module_of_seqnn_imports_by_a_string() -> None:
    pattern = re.compile(r"import_module\(|__import__\(|importlib\.util\.spec_from|runpy|"
                         r"(?<![.\w])(exec|eval)\(")
    hits = [f"{p.relative_to(REPO)}:{i}" for p in (REPO / "seqnn").rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []


def test_seqnn_train_refuses_a_module_loss_on_one_line(tmp_path: Path) -> None:
    spec = {"model": "mlp", "params": {"hidden": [4]}, "train": {"loss": "os:system"}}
    res = CliRunner().invoke(main, ["train", "x.npz", "y.tsv", "--spec", json.dumps(spec),
                                    "--out", str(tmp_path / "m")])
    assert res.exit_code == 2
    assert res.output.startswith("seqnn: error: models.mlp.train: loss 'os:system': a config "
                                 "never imports code") and res.output.count("\n") == 1
    assert not (tmp_path / "m").exists()


# --- item 3: the results folder --------------------------------------------------------------

@pytest.mark.parametrize("results", ["/", "/etc", "/usr", "/bin", "/dev", "/proc", "/sys",
                                     "/tmp", "/home", "/etc/seqnn", "/usr/local/out",
                                     "/proc/self", "/./", "/etc/../etc"])
def test_system_folders_are_refused(results: str) -> None:
    msg = refusal(base_config(results))
    assert msg.startswith(f"config results: {results!r} ")
    assert "system folder" in msg


def test_the_home_folder_itself_is_refused() -> None:
    msg = refusal(base_config(str(Path.home())))
    assert msg.endswith("is your home folder itself; choose a folder of its own") or \
        "system folder" in msg  # root's home, /root, is a system folder too


def test_a_foreign_non_empty_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("my page")
    (site / "notes.txt").write_text("mine")
    msg = refusal(base_config(str(site)))
    assert msg == (f"config results: {str(site)!r} is a folder seqnn did not create and it "
                   "holds other files (e.g. 'index.html'); choose an empty or new folder, or "
                   "set force_results: true (seqnn run --force-results) if it is yours")
    assert (site / "index.html").read_text() == "my page"
    assert sorted(os.listdir(site)) == ["index.html", "notes.txt"]


def test_an_index_html_alone_is_no_sign_of_seqnn(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("x")
    assert "seqnn did not create" in refusal(base_config("site"))


def test_force_results_lets_a_foreign_folder_through_but_never_a_system_one(
        tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    check_workflow({**base_config("mine"), "force_results": True})
    assert "system folder" in refusal({**base_config("/etc"), "force_results": True})


def test_new_empty_marked_and_old_seqnn_folders_pass(tmp_path: Path) -> None:
    check_results_folder("new/deeper")
    (tmp_path / "empty").mkdir()
    check_results_folder("empty")
    (tmp_path / "marked").mkdir()
    (tmp_path / "marked" / "anything.txt").write_text("x")
    (tmp_path / "marked" / MARKER).write_text("")
    check_results_folder("marked")
    old = tmp_path / "old"  # results/ of a checkout from before the marker
    (old / "amp" / "models").mkdir(parents=True)
    (old / "amp" / "sequences.tsv").write_text("id\tsequence\n")
    (old / "external").mkdir()
    (old / "index.html").write_text("<html>")
    check_results_folder("old")
    (old / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="seqnn did not create"):
        check_results_folder("old")


def test_a_file_is_not_a_results_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert refusal(base_config("f")) == "config results: 'f' exists and is not a folder"


def test_claim_writes_the_marker_once(tmp_path: Path) -> None:
    claim_results_folder("out/r")
    marker = tmp_path / "out" / "r" / MARKER
    assert marker.read_text().startswith("This folder holds seqnn results")
    marker.write_text("kept")
    claim_results_folder("out/r")
    assert marker.read_text() == "kept"


def test_seqnn_run_force_results_flag_reaches_the_check(tmp_path: Path) -> None:
    from seqnn.cli.workflow import checked_config

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(base_config("mine")))
    with pytest.raises(ConfigError, match="seqnn did not create"):
        checked_config("c.yaml")
    assert checked_config("c.yaml", force_results=True)["force_results"] is True


# --- item 5: nproc ---------------------------------------------------------------------------

def test_nproc_is_bounded_by_the_documented_maximum() -> None:
    data = base_config()
    data["models"]["cnn"]["train"]["nproc"] = 100_000
    assert refusal(data) == "models.cnn.train: nproc must be <= 64, got 100000"


def test_nproc_is_bounded_by_cores_and_cpus() -> None:
    data = base_config()
    data["models"]["cnn"]["train"]["nproc"] = 4
    assert refusal(data, cores=1) == (
        "models.cnn.train.nproc: 4 processes, but Snakemake was given --cores 1; give --cores "
        "4 or more, or lower nproc")
    check_workflow(data)  # a cluster run (no local cores): the job's own node decides
    data["models"]["cnn"]["train"]["nproc"] = 64
    if (os.cpu_count() or 1) < 64:
        assert refusal(data, cores=64).endswith(f"but this machine has {os.cpu_count()} CPUs")


# --- item 7: bounded reading -----------------------------------------------------------------

def test_dev_zero_and_folders_are_refused_unread(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^/dev/zero: the config file is not a regular file$"):
        read_workflow_file("/dev/zero")
    with pytest.raises(ConfigError, match="is not a regular file$"):
        read_workflow_file(str(tmp_path))
    with pytest.raises(ConfigError, match=r"^/dev/zero: the --spec file is not a regular"):
        parse_json_arg("@/dev/zero", "--spec")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code = ("from seqnn.config import read_workflow_file\n"
            f"read_workflow_file({str(fifo)!r})\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)  # a guard against a hang, not a timing assertion
    assert res.stderr.strip().splitlines()[-1] == (
        f"seqnn.errors.ConfigError: {fifo}: the config file is not a regular file")


def test_files_over_the_cap_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigError, match=r"big.yaml: config file larger than 1,000,000 bytes"):
        read_workflow_file(big)
    big.write_bytes(b"#" * MAX_CONFIG_BYTES)
    assert read_bounded(big) == b"#" * MAX_CONFIG_BYTES


def test_spec_at_file_on_the_command_line(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["train", "x.npz", "y.tsv", "--spec", "@/dev/zero",
                                    "--out", str(tmp_path / "m")])
    assert res.exit_code == 2
    assert res.output == "seqnn: error: /dev/zero: the --spec file is not a regular file\n"
    res = CliRunner().invoke(main, ["train", "x.npz", "y.tsv", "--config", "/dev/zero",
                                    "--out", str(tmp_path / "m")])
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert "not a regular file" in res.output


# --- low items: duplicate keys, names, paths --------------------------------------------------

def test_duplicate_yaml_keys_are_refused_at_any_depth(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("results: a\nresults: b\n")
    with pytest.raises(ConfigError) as err:
        read_workflow_file(path)
    assert str(err.value) == f"{path}: duplicate key 'results' (line 2); each key may appear once"
    with pytest.raises(ConfigError) as err:
        load_yaml("models:\n  m:\n    train: {epochs: 1,\n      epochs: 2}\n", "c.yaml")
    assert str(err.value) == "c.yaml: duplicate key 'epochs' (line 4); each key may appear once"
    assert load_yaml("a: 1\nb: {a: 2}\n") == {"a": 1, "b": {"a": 2}}  # same key, two maps
    assert load_yaml("x: &x {a: 1}\ny: {<<: *x, b: 2}\n")["y"] == {"a": 1, "b": 2}


def test_duplicate_json_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^--spec: duplicate key 'model'; each key may"):
        parse_json_arg('{"model": "cnn", "model": "rnn"}', "--spec")


def test_config_files_snakemake_read_are_checked_for_duplicates(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("a: 1\n")
    (tmp_path / "ok.json").write_text('{"a": "\\ud83d\\ude00"}')
    check_config_files([tmp_path / "ok.yaml", tmp_path / "ok.json"])
    (tmp_path / "dup.yaml").write_text("a: 1\na: 2\n")
    with pytest.raises(ConfigError, match="duplicate key 'a'"):
        check_config_files([tmp_path / "dup.yaml"])


@pytest.mark.parametrize("name", ["a" * 100 + "b" * 100, "a" * 20, "x" + "ab" * 20,
                                  "run" + "-1" * 20])
def test_names_snakemake_sees_as_periodic_are_refused(name: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_names({"datasets": {name[:100]: {}}})
    assert "repeated 20 or more times" in str(err.value) or "name must match" in str(err.value)


def test_names_that_repeat_less_pass() -> None:
    check_names({"models": {"a" * 19: {}, "ab" * 19 + "c": {}, "cnn_2020": {}}})


@pytest.mark.parametrize(("data", "message"), [
    ({"results": "r/" + "x" * 256}, "config results: 'r/xxxxx"),
    ({"results": "/x" * 1600}, "config results: '/x/x/x"),
    ({"datasets": {"d": {"inputs": [{"fasta": "{ds}.fa"}]}}},
     "config datasets.d.inputs[0].fasta: '{ds}.fa' may not hold { or }"),
    ({"datasets": {"d": {"inputs": [{"table": "a}.tsv"}]}}},
     "config datasets.d.inputs[0].table: 'a}.tsv' may not hold { or }"),
    ({"datasets": {"d": {"inputs": [{"fasta": "a.fa", "labels": "{x}"}]}}},
     "config datasets.d.inputs[0].labels: '{x}' may not hold { or }"),
    ({"datasets": {"d": {"generate": {"classifier": "m/{ds}"}}}},
     "config datasets.d.generate.classifier: 'm/{ds}' may not hold { or }"),
    ({"datasets": {"d": {"inputs": [{"fasta": "x" * 300}]}}},
     "config datasets.d.inputs[0].fasta: 'xxxx"),
])
def test_unusable_paths_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_paths(data)
    assert str(err.value).startswith(message), str(err.value)
    assert "long" in str(err.value) or "{ or }" in str(err.value)


# --- items 8 and 10: every count and setting ----------------------------------------------------

@pytest.mark.parametrize(("where", "value", "message"), [
    (("checks", "permutation_runs"), 1_000_000, "permutation_runs"),
    (("checks", "bootstrap"), 10**12, "bootstrap"),
    (("checks", "control_epochs"), 10**9, "control_epochs"),
    (("checks", "margin"), float("nan"), "margin"),
    (("checks", "min_test"), 10**12, "min_test"),
    (("threads",), 100_000, "threads"),
    (("datasets", "tiny", "max_len"), 10**9, "max_len"),
    (("datasets", "tiny", "split", "folds"), 10**6, "folds"),
    (("datasets", "tiny", "split", "seed"), -1, "seed"),
    (("models", "cnn", "train", "epochs"), 2.5, "epochs"),
    (("models", "cnn", "train", "epochs"), 10**9, "epochs"),
    (("models", "cnn", "train", "batch_size"), 1.5, "batch_size"),
    (("models", "cnn", "train", "batch_size"), 10**7, "batch_size"),
    (("models", "cnn", "train", "grad_clip"), -1, "grad_clip"),
    (("models", "cnn", "train", "lr"), float("nan"), "lr"),
    (("models", "cnn", "train", "lr"), float("inf"), "lr"),
    (("models", "cnn", "train", "seed"), -1, "seed"),
    (("models", "cnn", "train", "threads"), -3, "threads"),
    (("models", "cnn", "train", "threads"), 100_000, "threads"),
    (("models", "cnn", "train", "num_workers"), 10**6, "num_workers"),
    (("models", "cnn", "train", "patience"), 10**9, "patience"),
    (("models", "cnn", "train", "device"), "gpu0", "device"),
    (("models", "cnn", "train", "amp"), "yes", "amp"),
])
def test_every_count_and_setting_is_bounded(where: tuple, value: object, message: str) -> None:
    data = base_config()
    node = data
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    msg = refusal(data)
    assert message in msg, msg


def test_the_exact_messages_of_training_settings() -> None:
    cases = {"grad_clip": (-1, "grad_clip must be >= 0, got -1"),
             "epochs": (2.5, "epochs: invalid value 2.5 (float)"),
             "lr": (float("nan"), "lr must be a finite number, got nan"),
             "seed": (-1, "seed must be >= 0, got -1"),
             "threads": (-3, "threads must be >= 1, got -3"),
             "device": ("cuda:99999", "device must be auto, cpu, cuda, cuda:N or mps, got "
                                      "'cuda:99999'"),
             "ema": (1.0, "ema must be in [0, 1), got 1.0")}
    for key, (value, message) in cases.items():
        with pytest.raises(ConfigError) as err:
            train_config({key: value}, "t")
        assert str(err.value) == f"t: {message}"


def test_monitor_must_be_a_metric_of_the_dataset_task() -> None:
    data = base_config()
    data["models"]["cnn"]["train"]["monitor"] = "bogus"
    assert refusal(data) == ("models.cnn.train.monitor: 'bogus' is not a metric of dataset "
                             "tiny (task binary); use loss or one of "
                             + ", ".join(__import__("seqnn.metrics").metrics.metrics_of("binary")))
    data["models"]["cnn"]["train"]["monitor"] = "spearman"  # a regression metric
    assert "not a metric of dataset tiny" in refusal(data)
    data["models"]["cnn"]["train"]["monitor"] = "loss"
    check_workflow(data)


def test_a_missing_gpu_is_one_line_not_a_traceback() -> None:
    from seqnn.runtime.device import select_device

    with pytest.raises(ConfigError, match="cuda:999"):
        select_device("cuda:999")


def test_train_cli_options_are_bounded(tmp_path: Path) -> None:
    spec = json.dumps({"model": "mlp", "params": {"hidden": [4]}})
    for options, message in ((["--seed", "-1"], "train options: seed must be >= 0, got -1"),
                             (["--threads", "100000"], "train options: threads must be <= 1024"),
                             (["--epochs", "1000000"], "train options: epochs must be <= 100000")):
        res = CliRunner().invoke(main, ["train", "x.npz", "y.tsv", "--spec", spec, *options,
                                        "--out", str(tmp_path / "m")])
        assert res.exit_code == 2 and res.output.startswith(f"seqnn: error: {message}"), \
            res.output


@pytest.mark.parametrize("args", [
    ["check", "d", "--bootstrap", str(10**12)], ["generate", "m", "-n", str(10**9)],
    ["split", "s.tsv", "-o", "o", "--threads", "100000"], ["split", "s.tsv", "-o", "o",
                                                           "--folds", "1000000"],
    ["predict", "m", "x.fa", "--batch-size", "100000000"], ["train", "x", "y", "--out", "o",
                                                            "--max-epochs", "0"],
    ["generate", "m", "--seed", "-5"], ["check", "d", "--margin", "nan"],
])
def test_cli_counts_are_refused_by_click_before_any_work(args: list[str]) -> None:
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2
    assert "Invalid value" in res.output and "Traceback" not in res.output


def test_schema_and_dataclasses_declare_the_same_bounds() -> None:
    """Each bounded key: the schema's minimum/maximum equal the dataclass declaration."""
    props = SCHEMA["properties"]
    ds = props["datasets"]["additionalProperties"]["properties"]
    blocks = {ChecksSpec: props["checks"]["properties"],
              SplitSpec: ds["split"]["properties"], GenerateSpec: ds["generate"]["properties"],
              DatasetSpec: ds}
    checked = 0
    for cls, schema in blocks.items():
        for key, meta in bounds_of(cls).items():
            entry = schema[key]
            if meta["low"] is not None:
                bound = entry.get("exclusiveMinimum" if meta["low_open"] else "minimum")
                assert bound == meta["low"], (cls.__name__, key)
            if meta["high"] is not None:
                bound = entry.get("exclusiveMaximum" if meta["high_open"] else "maximum")
                assert bound == meta["high"], (cls.__name__, key)
            if meta["choices"] is not None:  # the schema's YAML values, in the same order
                assert entry["enum"] == list(meta["choices"])[:len(entry["enum"])], key
            checked += 1
    assert checked == 8 + 11 + 4 + 1


def test_the_top_level_threads_share_the_maximum() -> None:
    from seqnn.config_bounds import MAX_THREADS

    assert SCHEMA["properties"]["threads"]["maximum"] == MAX_THREADS
    assert bounds_of(TrainConfig)["threads"]["high"] == MAX_THREADS


def test_every_training_setting_declares_its_bounds() -> None:
    declared = set(bounds_of(TrainConfig))
    assert {f.name for f in fields(TrainConfig)} - declared == {"class_weights"}
    assert not check_value(True, bounds_of(TrainConfig)["epochs"])
    assert check_value(1, bounds_of(TrainConfig)["lr"])  # an integer is a number


# --- item 9: user regexes --------------------------------------------------------------------

@pytest.mark.parametrize("pattern", [r"^\S+ ((a+)+)+$", r"(a|ab)+", r"(\w+\s?)+$", r"(.*)*x",
                                     r"(?:a*)*", r"((ab)*)+"])
def test_catastrophic_regexes_are_refused_at_config_check(pattern: str) -> None:
    data = base_config()
    data["datasets"]["tiny"]["inputs"][0] = {"fasta": "pos.fa", "header_regex": pattern}
    assert "which can take exponential time" in refusal(data)


def test_an_invalid_regex_is_one_line_before_ingest() -> None:
    data = base_config()
    data["datasets"]["tiny"]["inputs"][0] = {"fasta": "pos.fa", "header_regex": "class=(["}
    assert refusal(data) == ("config datasets.tiny.inputs[0].header_regex: not a regular "
                             "expression (unterminated character set at position 7)")


@pytest.mark.parametrize("pattern", [r"class=(\w+)", r"^(\S+)\s+(\S+)", r"(?:pos|neg)+",
                                     r"OS=(.*?) OX", r"\|(\w+)\|", r"(\d{1,3}\.){3}"])
def test_ordinary_regexes_pass(pattern: str) -> None:
    check_header_regex(pattern, "x")


def test_headers_are_matched_within_a_bounded_length() -> None:
    from seqnn.config_safety import MAX_REGEX_TEXT
    from seqnn.data.labelfilter import regex_labels

    pattern = re.compile(r"label=(\w+)")
    headers = ["a label=pos", "b " + "x" * MAX_REGEX_TEXT + " label=neg"]
    assert regex_labels(pattern, headers) == ["pos", ""]


def test_ingest_refuses_a_backtracking_regex_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.fa").write_text(">x " + "a" * 40 + "b\nKKKK\n")
    spec = {"task": "binary", "inputs": [{"fasta": "a.fa", "header_regex": r"^\S+ ((a+)+)+$"}]}
    res = CliRunner().invoke(main, ["ingest", "--spec", json.dumps(spec), "--name", "d",
                                    "-o", str(tmp_path / "s.tsv")])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "exponential time" in res.output and not (tmp_path / "s.tsv").exists()


def test_inspect_header_regex_option_gets_the_same_check(tmp_path: Path) -> None:
    (tmp_path / "a.fa").write_text(">x " + "a" * 40 + "b\nKKKK\n")
    res = CliRunner().invoke(main, ["inspect", str(tmp_path / "a.fa"), "--header-regex",
                                    r"(\w+\s?)+$"])
    assert res.exit_code == 2
    assert res.output == ("seqnn: error: --header-regex: '(\\\\w+\\\\s?)+$' repeats a repeat or "
                          "alternatives that start alike (like (a+)+ or (a|ab)+), which can "
                          "take exponential time; write it without that nesting\n")


# --- item 11: the model's size ---------------------------------------------------------------

def test_a_huge_model_is_refused_before_allocation() -> None:
    data = base_config()
    data["models"]["cnn"]["params"]["channels"] = [10_000_000]
    assert refusal(data) == (
        "models.cnn: 'params.channels' must be an integer in 0..1000000 or a list of at most "
        "64 such, got [10000000]")
    data["models"]["cnn"]["params"]["channels"] = [100_000, 100_000]
    assert re.fullmatch(r"models\.cnn: model 'cnn' would have 30,0\d\d,\d{3},\d{3} parameters "
                        r"\(limit 500,000,000\); use smaller widths", refusal(data))
    data["models"]["cnn"]["params"]["channels"] = [20_000]
    data["datasets"]["tiny"]["max_len"] = 100_000
    # 20,000 channels x 100,000 positions x 4 bytes = 7.45 GiB for each of conv, batch norm,
    # activation and dropout
    assert refusal(data) == ("models.cnn: model 'cnn' needs 29.8 GiB of activations per "
                             "sequence of 100000 residues (limit 2 GiB); use smaller widths or "
                             "max_len")


def test_the_meta_count_equals_the_real_model() -> None:
    from seqnn.models import get_model
    from seqnn.training.model_size import model_footprint

    for name, params in (("cnn", {"channels": [8, 4]}), ("mlp", {"hidden": [4]}),
                         ("rnn", {"hidden_size": 8})):
        real = get_model(name, n_outputs=1, task="binary", **params)
        n_params, _ = model_footprint(name, params, "binary", 1, 50)
        assert n_params == sum(p.numel() for p in real.parameters())


def train_tiny(tmp_path: Path, spec: dict, *options: str) -> object:
    """``seqnn train`` on an 8-sequence binary table (6 train, 2 valid) with ``spec``."""
    ids = [f"s{i}" for i in range(8)]
    pd.DataFrame({"id": ids, "sequence": ["KKKKAAGG", "AAGGLLVV"] * 4,
                  "label": ["pos", "neg"] * 4}).to_csv(tmp_path / "s.tsv", sep="\t", index=False)
    pd.DataFrame({"id": ids, "split": ["train"] * 6 + ["valid"] * 2}).to_csv(
        tmp_path / "p.tsv", sep="\t", index=False)
    return CliRunner().invoke(main, ["train", str(tmp_path / "s.tsv"), str(tmp_path / "p.tsv"),
                                     "--task", "binary", "--quiet", "--spec", json.dumps(spec),
                                     *options, "--out", str(tmp_path / "m")])


@pytest.mark.parametrize(("train", "options", "message"), [
    ({"monitor": "bogus"}, [], "monitor 'bogus' is not available; use loss or one of "),
    ({}, ["--device", "cuda:999"], "device 'cuda:"),
])
def test_seqnn_train_refuses_a_bad_monitor_or_device_on_one_line(
        tmp_path: Path, train: dict, options: list[str], message: str) -> None:
    spec = {"model": "mlp", "params": {"hidden": [4]}, "train": {"epochs": 1, **train}}
    res = train_tiny(tmp_path, spec, *(options or ["--device", "cpu"]))
    assert res.exit_code == 2, res.output
    assert res.output.startswith(f"seqnn: error: {message}") and res.output.count("\n") == 1
    assert not [p for p in tmp_path.joinpath("m").rglob("*") if p.is_file()]


def test_seqnn_train_checks_the_size_at_start(tmp_path: Path) -> None:
    spec = {"model": "mlp", "params": {"hidden": [1_000_000, 1_000_000]}}
    res = train_tiny(tmp_path, spec, "--device", "cpu")
    assert res.exit_code == 2, res.output
    assert res.output == ("seqnn: error: model 'mlp' would have 1,000,046,000,001 parameters "
                          "(limit 500,000,000); use smaller widths\n")
    assert not [p for p in tmp_path.joinpath("m").rglob("*") if p.is_file()]  # nothing written


def test_workflow_json_duplicate_free_roundtrip(tmp_path: Path) -> None:
    """The JSON `seqnn run` hands Snakemake parses back to the same config."""
    text = json.dumps(base_config())
    assert parse_json_arg(text, "c") == base_config()
    assert workflow_from_dict(json.loads(text)).checks.bootstrap == 50


# --- item 8: generate streams its sequences ---------------------------------------------------

@pytest.mark.parametrize("family", ["vae", "gan"])
def test_generate_in_chunks_gives_the_same_sequences(monkeypatch: pytest.MonkeyPatch,
                                                     family: str) -> None:
    """seqnn generate writes one forward pass at a time; with one generator running through
    the passes the sequences equal those of one call, which samples the same passes
    (3 sequences each here instead of 4096)."""
    import torch

    import seqnn.models.sampling as sampling
    from seqnn.inference.predictor import Predictor
    from seqnn.models import get_model

    torch.manual_seed(0)
    model = get_model(family, n_outputs=1, task="unsupervised", max_gen_len=12)
    predictor = Predictor(model, {"max_len": 12, "truncate": "right"}, torch.device("cpu"))
    monkeypatch.setattr(sampling, "CHUNK", 3)  # one call also samples 3 per forward pass
    whole = model.generate(7, generator=torch.Generator().manual_seed(5))
    parts = list(predictor.generate_chunks(7, seed=5))
    assert [len(p) for p in parts] == [3, 3, 1]
    assert [s for p in parts for s in p] == whole == predictor.generate(7, seed=5)
