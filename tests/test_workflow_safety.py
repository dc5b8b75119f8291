"""The workflow config can never run a command, lead outside the results folder or exhaust
memory: unit tests of the checks in seqnn.config, and `snakemake` runs that show the
Snakefile refusing hostile names at start and quoting every path it puts into a shell."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seqnn.config import ConfigError, load_workflow, workflow_from_dict
from seqnn.config_safety import (
    check_config_size,
    check_names,
    check_paths,
    excerpt,
    output_dir,
)

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
HOSTILE = ["$(touch MARKER)", "`touch MARKER`", "x; touch MARKER", "../../MARKER", "..",
           "a/b", "", ".hidden", "-x", "a..b", "a b", "a\nb", "x" * 101, 7]


def base_config() -> dict:
    """A small valid config (random split, so that no MMseqs2 run is needed)."""
    return {
        "results": "results", "threads": 1, "device": "cpu",
        "datasets": {"tiny": {
            "task": "binary", "max_len": 64,
            "inputs": [{"fasta": "pos.fa", "label": "pos"}, {"fasta": "neg.fa", "label": "neg"}],
            "split": {"method": "random", "fractions": [0.6, 0.2, 0.2]},
        }},
        "models": {"cnn": {"model": "cnn",
                           "params": {"channels": [8], "kernel_size": 3, "head_hidden": 0},
                           "train": {"epochs": 2, "batch_size": 16}}},
        "checks": {"control_epochs": 1, "bootstrap": 50, "permutation_runs": 2},
    }


def bomb_text(levels: int = 9, width: int = 9) -> str:
    """A "billion laughs" config: `levels` anchors, each a list of `width` aliases of the
    previous one (9 x 9 expands to 387 million strings)."""
    chain = ["&a0 [" + ", ".join(["lol"] * width) + "]"]
    chain += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return ("datasets: {tiny: {task: binary, inputs: [{fasta: pos.fa}], drop_gaps: ["
            + ", ".join(chain) + "]}}\nmodels: {cnn: {model: cnn}}\n")


# --- names ---------------------------------------------------------------------------------

def test_plain_names_pass() -> None:
    long_name = "".join(chr(97 + i % 26) for i in range(100))  # 100 characters, not periodic
    check_names({"datasets": {"amp_v2.1": {}, "A-1": {}, long_name: {}},
                 "models": {"cnn": {}, "rnn.big_2": {}}})


@pytest.mark.parametrize("section", ["datasets", "models"])
@pytest.mark.parametrize("name", HOSTILE)
def test_unsafe_names_are_refused_with_one_short_line(section: str, name: object) -> None:
    data = base_config()
    data[section] = {name: data[section][next(iter(data[section]))]}
    with pytest.raises(ConfigError) as err:
        workflow_from_dict(data)
    msg = str(err.value)
    assert msg.startswith(f"config {section}.") and "name must match" in msg, msg
    assert "\n" not in msg and len(msg) < 200


def test_a_long_bad_name_is_shown_as_a_short_excerpt() -> None:
    with pytest.raises(ConfigError) as err:
        check_names({"datasets": {"$(rm -rf ~)" * 10_000: {}}})
    assert str(err.value).startswith('config datasets."$(rm -rf ~)$(rm -rf ~)')
    assert len(str(err.value)) < 200


@pytest.mark.parametrize("name", ["external", "benchmarks", "index.html"])
def test_dataset_names_that_the_results_folder_uses_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=f"config datasets.{name}: name is taken"):
        check_names({"datasets": {name: {}}})


# --- paths ---------------------------------------------------------------------------------

def test_output_folders_stay_inside_the_results_folder() -> None:
    assert output_dir("my results", "tiny") == "my results/tiny"
    assert output_dir("/abs/res", "tiny", "models", "cnn") == "/abs/res/tiny/models/cnn"
    assert output_dir("../elsewhere", "tiny") == "../elsewhere/tiny"  # results may be anywhere
    for names in (("..", "x"), ("/etc",), (".",), ("tiny", "models", "../../..")):
        with pytest.raises(ConfigError, match="leads outside the results folder"):
            output_dir("results", *names)


@pytest.mark.parametrize("results", ["my results", "/tmp/a b/out", "out $(x) `y`; 'z' \"w\""])
def test_unusual_but_legal_results_folders_pass(results: str) -> None:
    check_paths({"results": results})


@pytest.mark.parametrize(("data", "message"), [
    ({"results": ""}, "config results: '' is not a usable path"),
    ({"results": "a\x00b"}, "config results: 'a\\x00b' is not a usable path"),
    ({"results": "a\nb"}, "config results: 'a\\nb' is not a usable path"),
    ({"results": "res{ds}"}, "config results: 'res{ds}' may not hold { or }"),
    ({"datasets": {"tiny": {"inputs": [{"fasta": "a.fa"}, {"fasta": "b\x00.fa"}]}}},
     "config datasets.tiny.inputs[1].fasta: 'b\\x00.fa' is not a usable path"),
])
def test_unusable_paths_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_paths(data)
    assert str(err.value).startswith(message), str(err.value)


# --- size, depth and plain data ------------------------------------------------------------

def test_expanded_size_counts_every_use_of_an_alias() -> None:
    assert check_config_size({"a": [1, "xy"]}) == 5  # mapping, key, list, two items
    shared = [1, 2]
    assert check_config_size({"a": shared, "b": shared}) == 1 + 2 * (1 + 3)
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert 100 < check_config_size(default) < 1000


def test_an_alias_bomb_is_refused_naming_its_key() -> None:
    data = yaml.safe_load(bomb_text())  # shared objects: loading is instant
    with pytest.raises(ConfigError) as err:
        check_config_size(data)
    msg = str(err.value)
    assert msg.startswith("config datasets.tiny.drop_gaps[")
    assert msg.endswith("more than 100,000 values once YAML aliases are expanded; refused")


@pytest.mark.parametrize(("data", "message"), [
    ({"results": "x" * 1_000_001}, "config results: a string of 1,000,001 characters"),
    ({"a": ["x" * 600_000] * 20}, "config a[16]: more than 10,000,000 characters of text"),
    ({"x" * 1_000_001: 1}, "config "),
])
def test_long_strings_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_config_size(data)
    assert str(err.value).startswith(message) and len(str(err.value)) < 200


def test_deep_nesting_and_loops_are_refused() -> None:
    deep: list = []
    for _ in range(40):
        deep = [deep]
    with pytest.raises(ConfigError, match=r"^config a(\[0\])+: nested more than 32 levels"):
        check_config_size({"a": deep})
    with pytest.raises(ConfigError, match=r"^config a\[0\]: the value contains itself"):
        check_config_size(yaml.safe_load("a: &x [*x]"))


@pytest.mark.parametrize(("text", "message"), [
    ("results: 2020-01-01", "config results: a date value is not allowed"),
    ("a: !!python/tuple [1, 2]", "config a: a tuple value is not allowed"),
    ("? !!python/tuple [1, 2]\n: x", "config (top level): a tuple key is not allowed"),
])
def test_values_that_are_not_plain_data_are_refused(text: str, message: str) -> None:
    data = yaml.load(text, Loader=yaml.FullLoader)  # Snakemake reads --configfile like this
    with pytest.raises(ConfigError) as err:
        check_config_size(data)
    assert str(err.value).startswith(message)


def test_schema_errors_show_an_excerpt_not_the_whole_value() -> None:
    data = base_config()
    data["datasets"]["tiny"]["drop_gaps"] = ["word"] * 50_000
    with pytest.raises(ConfigError) as err:
        workflow_from_dict(data)
    msg = str(err.value)
    assert msg.startswith("config datasets.tiny.drop_gaps: ['word', 'word'")
    assert msg.endswith("is not of type 'boolean'") and len(msg) < 150


def test_excerpt_is_short_for_any_value() -> None:
    assert excerpt("abc") == "'abc'"
    assert len(excerpt({"k": ["v" * 10_000] * 10_000})) <= 60


def test_load_workflow_refuses_a_bomb_file_and_bad_yaml_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(bomb_text())
    with pytest.raises(ConfigError, match="more than 100,000 values"):
        load_workflow(tmp_path / "bomb.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1,\nb: 2\n")
    with pytest.raises(ConfigError) as err:
        load_workflow(tmp_path / "bad.yaml")
    assert "not valid YAML" in str(err.value) and "\n" not in str(err.value)


# --- the Snakefile -------------------------------------------------------------------------

def _snakemake(tmp_path: Path, config: dict | str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "config.yaml"
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    return subprocess.run([*SNAKEMAKE, *args, "--directory", str(tmp_path),
                           "--configfile", str(path)],
                          capture_output=True, text=True, cwd=tmp_path)


@pytest.mark.parametrize(("section", "name"), [
    ("datasets", "$(touch MARKER)"), ("datasets", "`touch MARKER`"),
    ("datasets", "x; touch MARKER"), ("datasets", "../../MARKER"),
    ("models", "$(touch MARKER)"),
])
def test_snakemake_refuses_hostile_names_at_start(tmp_path: Path, section: str,
                                                  name: str) -> None:
    data = base_config()
    data[section] = {name: data[section][next(iter(data[section]))]}
    res = _snakemake(tmp_path, data, "-n")
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        f"seqnn: config {section}.{json.dumps(name)}: "
        "name must match [A-Za-z0-9][A-Za-z0-9_.-]*, without '..', at most 100 characters"]
    assert not (tmp_path / "MARKER").exists() and not (tmp_path.parent / "MARKER").exists()


@pytest.mark.parametrize(("change", "args", "line"), [
    ({"datasets": "a" * 50 + "b" * 50}, [],
     f"seqnn: config datasets.\"{'a' * 50 + 'bbbb'}...\": name ends in a part repeated 20 or "
     "more times, which Snakemake refuses as a wildcard value"),
    ({"nproc": 4}, ["--cores", "1"],
     "seqnn: models.cnn.train.nproc: 4 processes, but Snakemake was given --cores 1; give "
     "--cores 4 or more, or lower nproc"),
    ({"results": "/etc"}, [],
     "seqnn: config results: '/etc' is a system folder or someone's home folder; choose a "
     "folder of its own"),
    ({"text": "results: a\nresults: b\n"}, [], None),
])
def test_snakemake_refuses_round_two_configs_at_start(tmp_path: Path, change: dict,
                                                       args: list[str], line: str | None) -> None:
    data = base_config()
    if "datasets" in change:
        data["datasets"] = {change["datasets"]: data["datasets"]["tiny"]}
    if "nproc" in change:
        data["models"]["cnn"]["train"]["nproc"] = change["nproc"]
    if "results" in change:
        data["results"] = change["results"]
    text = yaml.safe_dump(data) + change.get("text", "")
    res = _snakemake(tmp_path, text, "-n", *args)
    assert res.returncode == 1, res.stderr[-2000:]
    last = res.stderr.strip().splitlines()[-1]
    if line is None:
        assert last == (f"seqnn: {tmp_path / 'config.yaml'}: duplicate key 'results' (line "
                        f"{text.count(chr(10)) - 1}); each key may appear once"), last
    else:
        assert last == line, res.stderr[-2000:]


def test_snakemake_refuses_an_alias_bomb_at_start(tmp_path: Path) -> None:
    res = _snakemake(tmp_path, bomb_text(), "-n")
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1].startswith(
        "seqnn: config datasets.tiny.drop_gaps[")
    assert len(res.stderr) < 500


def test_hostile_but_legal_paths_are_quoted_in_every_shell_command(tmp_path: Path) -> None:
    from test_workflow import write_tiny_data

    results = "out $(touch MARKER) `touch MARKER`; 'x"
    data_dir = tmp_path / 'in $(touch MARKER); "y"'
    data_dir.mkdir()
    write_tiny_data(data_dir)
    data = base_config()
    data["results"] = results
    data["datasets"]["tiny"]["inputs"] = [{"fasta": f"{data_dir.name}/{k}.fa", "label": k}
                                          for k in ("pos", "neg")]
    res = _snakemake(tmp_path, data, "-n", "-p")
    assert res.returncode == 0, res.stderr[-2000:]
    assert not (tmp_path / results / ".seqnn-results").exists()  # a dry run claims nothing
    commands = [line.split("Shell command: ", 1)[1]
                for line in (res.stdout + res.stderr).splitlines()
                if "Shell command: " in line and not line.endswith(": None")]  # rule all
    seen = set()
    for cmd in commands:
        words = shlex.split(cmd)  # env PYTHONSAFEPATH=1 PYTHON -m seqnn COMMAND ...
        assert words[:2] == ["env", "PYTHONSAFEPATH=1"] and words[3:5] == ["-m", "seqnn"], cmd
        seen.add(words[5])
        for word in words:
            if "MARKER" in word:  # one whole word: results/, a path under it, a JSON block
                assert word == results or word.startswith((results + "/", "{")), (word, cmd)
    assert seen == {"ingest", "split", "audit", "encode", "train", "evaluate", "baselines",
                    "check", "report", "report-index"}
    targets = [f"{results}/tiny/splits.tsv", f"{results}/tiny/encoded.npz"]
    res = subprocess.run([*SNAKEMAKE, *targets, "--cores", "1", "--directory", str(tmp_path),
                          "--configfile", str(tmp_path / "config.yaml")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    out = tmp_path / results / "tiny"
    assert (out / "sequences.tsv").read_text().count("\n") == 61
    assert (out / "splits.tsv").stat().st_size > 0 and (out / "encoded.npz").stat().st_size > 0
    assert not list(tmp_path.rglob("MARKER"))
    assert (tmp_path / results / ".seqnn-results").is_file()  # the run claimed its folder
