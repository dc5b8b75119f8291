"""Every subcommand, given a user mistake (a missing file, wrong classes, an empty FASTA, a bad
option value, a folder that is not a results or model folder), exits 2 with one error line
on stderr and no traceback. A new subcommand must add its cases here (see
``test_every_subcommand_is_covered``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from seqnn.cli.main import main

SEQ = "MKTAYIAKQRQISFVKSHFSRQ"


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny inputs: a FASTA, an empty FASTA, a labelled sequences table (AMP / nonAMP) and
    its split, a header-only table, invalid YAML, a folder that is nothing of seqnn's."""
    d = tmp_path_factory.mktemp("user_errors")
    (d / "empty.fa").write_text("")
    (d / "a.fa").write_text(">P1\nMKTAYIAKQR\n>P2\nMKVLAAGIVG\n")
    rows = [f"P{i}\t{SEQ[i % 5:]}\t{'AMP' if i % 2 else 'nonAMP'}\ta.fa" for i in range(20)]
    (d / "seqs.tsv").write_text("id\tsequence\tlabel\tsource\n" + "\n".join(rows) + "\n")
    (d / "splits.tsv").write_text("id\tsplit\tcluster\n" + "".join(
        f"P{i}\t{'train' if i < 12 else 'valid' if i < 16 else 'test'}\t{i}\n" for i in range(20)))
    (d / "header_only.tsv").write_text("id\tsequence\tlabel\n")
    (d / "bad.yaml").write_text("a: [1,\n  b: }\n")
    (d / "no_models.yaml").write_text("datasets: {}\n")
    (d / "plain").mkdir()
    return d


# (case id, arguments with {w} for the inputs' folder, a fragment of the one error line)
CASES = [
    ("inspect", "missing", ["inspect", "{w}/missing.fa"], "missing.fa: file not found"),
    ("inspect", "empty", ["inspect", "{w}/empty.fa"], "empty.fa: file is empty"),
    ("inspect", "bad regex", ["inspect", "{w}/a.fa", "--header-regex", "("],
     "--header-regex: not a regular expression"),
    ("inspect", "table not FASTA", ["inspect", "{w}/seqs.tsv"], "not FASTA"),
    ("inspect", "bad value", ["inspect", "{w}/a.fa", "--max-record", "-3"], "--max-record"),
    ("encode", "missing", ["encode", "{w}/missing.fa", "-o", "{w}/e.npz"], "file not found"),
    ("encode", "empty", ["encode", "{w}/empty.fa", "-o", "{w}/e.npz"], "file is empty"),
    ("encode", "wrong classes", ["encode", "{w}/seqs.tsv", "--task", "binary", "--classes",
                                 "x,y", "-o", "{w}/e.npz"], "are not among the class names"),
    ("encode", "labels from a FASTA", ["encode", "{w}/a.fa", "--task", "binary", "-o",
                                       "{w}/e.npz"], "--task binary needs labels"),
    ("ingest", "bad JSON", ["ingest", "--spec", "{nope", "-o", "{w}/i.tsv"], "--spec"),
    ("ingest", "missing", ["ingest", "--spec", '{"task": "binary", "inputs": [{"fasta": '
                           '"{w}/missing.fa", "label": "a"}]}', "-o", "{w}/i.tsv"],
     "missing.fa: file not found"),
    ("ingest", "bad YAML", ["ingest", "--config", "{w}/bad.yaml", "--dataset", "x", "-o",
                            "{w}/i.tsv"], "not valid YAML"),
    ("ingest", "wrong classes", ["ingest", "--spec", '{"task": "binary", "classes": ["x", "y"],'
                                 ' "inputs": [{"fasta": "{w}/a.fa", "label": "a"}]}',
                                 "-o", "{w}/i.tsv"], "label not in classes: 'a' (2)"),
    ("prepare", "not its folder", ["prepare", "scl2205", "-o", "{w}/p.tsv", "--from",
                                   "{w}/plain"], "file not found"),
    ("split", "missing", ["split", "{w}/missing.tsv", "-o", "{w}/s.tsv", "--method", "random",
                          "--task", "binary"], "file not found"),
    ("split", "fractions", ["split", "{w}/seqs.tsv", "-o", "{w}/s.tsv", "--method", "random",
                            "--task", "binary", "--fractions", "a,b"],
     "--fractions: three comma-separated numbers expected"),
    ("split", "unknown task", ["split", "{w}/seqs.tsv", "-o", "{w}/s.tsv", "--method",
                               "random", "--task", "bogus"], "unknown task 'bogus'"),
    ("split", "identity", ["split", "{w}/seqs.tsv", "-o", "{w}/s.tsv", "--task", "binary",
                           "--identity", "2"], "identity must be"),
    ("split", "folds", ["split", "{w}/seqs.tsv", "-o", "{w}/s.tsv", "--method", "random",
                        "--task", "binary", "--folds", "-1"], "folds"),
    ("split", "threads", ["split", "{w}/seqs.tsv", "-o", "{w}/s.tsv", "--threads", "0"],
     "--threads"),
    ("split", "a FASTA", ["split", "{w}/a.fa", "-o", "{w}/s.tsv", "--method", "random"],
     "missing column(s) id, sequence"),
    ("audit", "missing", ["audit", "{w}/seqs.tsv", "{w}/missing.tsv", "-o", "{w}/a.json",
                          "--no-mmseqs"], "missing.tsv: file not found"),
    ("audit", "identity", ["audit", "{w}/seqs.tsv", "{w}/splits.tsv", "-o", "{w}/a.json",
                           "--no-mmseqs", "--identity", "-1"], "identity must be"),
    ("audit", "swapped", ["audit", "{w}/seqs.tsv", "{w}/seqs.tsv", "-o", "{w}/a.json",
                          "--no-mmseqs"], "missing column(s) split"),
    ("baselines", "wrong classes", ["baselines", "{w}/seqs.tsv", "{w}/splits.tsv", "--task",
                                    "binary", "--classes", "nonAMP,antimicrobial", "-o",
                                    "{w}/b.json"],
     "labels ['AMP'] are not among the class names ['nonAMP', 'antimicrobial'] (--classes)"),
    ("baselines", "text as regression", ["baselines", "{w}/seqs.tsv", "{w}/splits.tsv",
                                         "--task", "regression", "-o", "{w}/b.json"],
     "record 'P0': label 'nonAMP' is not a number"),
    ("baselines", "no data", ["baselines", "{w}/header_only.tsv", "{w}/splits.tsv", "--task",
                              "binary", "-o", "{w}/b.json"], "no sequence of the training"),
    ("train", "missing", ["train", "{w}/missing.npz", "{w}/splits.tsv", "--model", "cnn", "-o",
                          "{w}/m"], "missing.npz"),
    ("train", "bad YAML", ["train", "{w}/seqs.tsv", "{w}/splits.tsv", "--config",
                           "{w}/bad.yaml", "-o", "{w}/m"], "not valid YAML"),
    ("train", "unknown model", ["train", "{w}/seqs.tsv", "{w}/splits.tsv", "--task", "binary",
                                "--model", "nosuch", "-o", "{w}/m"], "unknown model 'nosuch'"),
    ("train", "bad epochs", ["train", "{w}/seqs.tsv", "{w}/splits.tsv", "--task", "binary",
                             "--model", "cnn", "--epochs", "-1", "-o", "{w}/m"], "epochs"),
    ("models", "unknown", ["models", "nosuch"], "unknown model 'nosuch'"),
    ("evaluate", "not a model", ["evaluate", "{w}/plain", "-o", "{w}/ev"],
     "plain/model.json: missing (not a seqnn model directory)"),
    ("check", "not results", ["check", "{w}/plain", "--models", "cnn", "-o", "{w}/c.json"],
     "plain"),
    ("check", "bad controls", ["check", "{w}/plain", "--models", "cnn", "--controls", "bogus",
                               "-o", "{w}/c.json"], "--controls: unknown control(s) bogus"),
    ("report", "not results", ["report", "{w}/plain", "-o", "{w}/r.html"],
     "plain: not a seqnn results folder (no sequences.tsv)"),
    ("report-index", "not results", ["report-index", "{w}", "--datasets", "plain", "-o",
                                     "{w}/r.html"], "not a seqnn results folder"),
    ("report-generation", "not results", ["report-generation", "{w}/plain", "--models", "x",
                                          "-o", "{w}/r.html"], "plain"),
    ("predict", "not a model", ["predict", "{w}/plain", "{w}/a.fa"],
     "not a seqnn model directory"),
    ("embed", "not a model", ["embed", "{w}/plain", "{w}/a.fa", "-o", "{w}/e.npy"],
     "not a seqnn model directory"),
    ("explain", "not a model", ["explain", "{w}/plain", "{w}/a.fa", "-o", "{w}/x.tsv"],
     "not a seqnn model directory"),
    ("generate", "not a model", ["generate", "{w}/plain", "-o", "{w}/g.fa"],
     "not a seqnn model directory"),
    ("check-generated", "missing", ["check-generated", "{w}/missing.fa", "-o", "{w}/g.json",
                                    "--no-mmseqs"], "missing.fa"),
    ("check-generated", "empty", ["check-generated", "{w}/empty.fa", "--train", "{w}/a.fa",
                                  "--reference", "{w}/a.fa", "-o", "{w}/g.json",
                                  "--no-mmseqs"], "empty.fa: file is empty"),
    ("run", "missing", ["run", "{w}/missing.yaml", "--", "-n"], "config file not found"),
    ("run", "bad YAML", ["run", "{w}/bad.yaml", "--", "-n"], "not valid YAML"),
    ("run", "no models", ["run", "{w}/no_models.yaml", "--", "-n"],
     "'models' is a required property"),
]


def _error_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are not click's usage hint (``Usage:``, ``Try ...``)."""
    return [line for line in stderr.splitlines()
            if line.strip() and not line.startswith(("Usage: ", "Try '"))]


@pytest.mark.parametrize(("command", "case", "args", "fragment"), CASES,
                         ids=[f"{c}-{k}" for c, k, _, _ in CASES])
def test_user_mistake_is_one_line_and_exit_2(w, command, case, args, fragment):
    res = CliRunner().invoke(main, [a.replace("{w}", str(w)) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exc_info
    assert "Traceback" not in res.output
    lines = _error_lines(res.stderr)
    assert res.exit_code == 2, res.output
    assert len(lines) == 1, lines
    assert lines[0].startswith(("seqnn: error: ", "Error: ")), lines[0]
    assert fragment in lines[0]
    assert res.stdout == ""


def test_every_subcommand_is_covered():
    assert {c for c, _, _, _ in CASES} == set(main.commands)


def test_help_lists_every_command_uncut():
    res = CliRunner().invoke(main, ["--help"], terminal_width=80)
    listing = res.output.split("Commands:\n", 1)[1]
    assert res.exit_code == 0 and "..." not in listing
    assert "baselines          Shortcut baselines: majority, length, amino-acid and\n" in listing
    assert "                     dipeptide composition (and, for regression on one" in listing
    names = [line.split()[0] for line in listing.splitlines()
             if line.startswith("  ") and not line.startswith("   ")]
    assert names == sorted(main.commands)
