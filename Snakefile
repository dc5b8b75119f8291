"""seqnn workflow: FASTA -> ingest -> split -> audit -> encode -> train -> evaluate ->
baselines, controls and checks -> one report per dataset (+ results/index.html).

Thin on purpose: every rule calls one `seqnn` subcommand of the interpreter that runs
Snakemake (the project's .venv), and all logic lives in the seqnn package.
"""

import json
import os
import shlex
import sys

from snakemake.utils import min_version, validate

from seqnn.config import DEFAULT_MAX_LEN

min_version("8.0")


# The default config, unless the user gives their own with --configfile (a given config
# replaces the default instead of being merged into it, so its datasets and models are the
# only ones that run).
if not config:

    configfile: "config/config.yaml"


try:  # one clear line naming the wrong key or value, before any job starts
    from seqnn.config_results import claim_results_folder
    from seqnn.workflow import (
        SAFE_PATH,
        ConfigError,
        check_config_files,
        check_workflow,
        model_nproc,
        run_summary,
        seqnn_command,
    )

    check_config_files(workflow.configfiles)  # duplicate keys, which Snakemake lets pass
    # a local run bounds each model's train: nproc by --cores (workflow._cores: None when unset)
    check_workflow(config, cores=workflow._cores if workflow.local_exec else None)
except ConfigError as exc:
    sys.exit(f"seqnn: {exc}")
validate(config, "config/schema.yaml")

R = config.get("results", "results")
SEQNN = f"{SAFE_PATH} {shlex.quote(sys.executable)} -m seqnn"  # cwd off sys.path
THREADS = int(config.get("threads", 1))
DEVICE = config.get("device", "auto")
DATASETS = list(config["datasets"])
MODELS = list(config["models"])
CHECKS = config.get("checks", {})
# task: generative datasets train only the generative families (vae, gan) and end in
# generation.html; every other dataset trains the other models and ends in report.html.
GENERATIVE = [d for d in DATASETS if config["datasets"][d]["task"] == "generative"]
GEN_MODELS = [m for m in MODELS if config["models"][m].get("model", m) in ("vae", "gan")]
CLASSIC = [d for d in DATASETS if d not in GENERATIVE]
MODELS = [m for m in MODELS if m not in GEN_MODELS]
SUPERVISED = [m for m in MODELS if config["models"][m].get("model", m) != "autoencoder"]
PERMUTATION_RUNS = int(CHECKS.get("permutation_runs", 3))
CONTROLS = (["permutation"] + [f"permutation-{k}" for k in range(2, PERMUTATION_RUNS + 1)]
            if CHECKS.get("permutation", True) else [])
CONTROLS += ["shuffle"] if CHECKS.get("shuffle", True) else []


# Every value in a shell string below is quoted: with {x:q}, or, for the params that are
# whole shell words already (seqnn, spec, classes, sep, options), with shlex.quote here.
# Snakemake's :q leaves an empty value unquoted (nothing at all in the command), so a value
# that can be empty (a comma-joined list: --controls with both controls off) is written
# --option={x:q}: an empty value then stays the option's value, never the next word.
def q(obj):
    """A config block as one shell-quoted JSON word."""
    return shlex.quote(json.dumps(obj, sort_keys=True))


def dataset_inputs(wildcards):
    files = []
    for item in config["datasets"][wildcards.ds]["inputs"]:
        files += [item[k] for k in ("fasta", "table", "labels") if k in item]
    return files


def data_task(name):
    """The task the data steps see: a generative dataset's sequences are unlabelled."""
    task = config["datasets"][name]["task"]
    return "unsupervised" if task == "generative" else task


def split_block(wildcards):
    ds = config["datasets"][wildcards.ds]
    return q({"task": data_task(wildcards.ds), **ds.get("split", {})})


def classes(wildcards):
    """`--classes A,B` when the dataset fixes its class order (binary: the second is positive)."""
    names = config["datasets"][wildcards.ds].get("classes")
    return f"--classes {shlex.quote(','.join(map(str, names)))}" if names else ""


def label_separator(wildcards):
    """`--label-separator X` for a multilabel dataset (joins predicted label sets)."""
    ds = config["datasets"][wildcards.ds]
    if ds["task"] != "multilabel":
        return ""
    return f"--label-separator {shlex.quote(ds.get('label_separator', ';'))}"


def outdir(wildcards, output):
    """The folder of a rule's first output (derived, not hard-coded)."""
    return os.path.dirname(output[0])


def dsdir(wildcards, input):
    """results/<dataset>/, derived from the rule's first input."""
    return os.path.dirname(input[0])


def model_block(wildcards):
    return q(config["models"][wildcards.model])


def nproc(wildcards):
    """Processes of a model's training jobs (its train: nproc; torchrun when > 1)."""
    return model_nproc(config["models"][wildcards.model])


def max_len(wildcards):
    """The dataset's max_len (a model's own train.max_len wins over it in `seqnn train`)."""
    return config["datasets"][wildcards.ds].get("max_len", DEFAULT_MAX_LEN)


rule all:
    input:
        expand(f"{R}/{{ds}}/report.html", ds=CLASSIC),
        [f"{R}/index.html"] if CLASSIC else [],
        expand(f"{R}/{{ds}}/generation.html", ds=GENERATIVE),


onstart:  # not on a dry run: mark the results folder as seqnn's (seqnn.config_results)
    claim_results_folder(R)


# When the run ends well: each dataset's verdicts (from checks.json) and where its report is.
onsuccess:
    print(run_summary(R, CLASSIC, GENERATIVE), file=sys.stderr)


rule prepare:
    output:
        f"{R}/external/{{name}}.tsv",
    params:
        seqnn=SEQNN,
    wildcard_constraints:
        name="scl2205",
    threads: 1
    log:
        "logs/prepare_{name}.log",
    benchmark:
        f"{R}/external/benchmarks/prepare_{{name}}.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} prepare {wildcards.name:q} -o {output:q} 2> {log:q}"


rule ingest:
    input:
        dataset_inputs,
    output:
        seqs=f"{R}/{{ds}}/sequences.tsv",
        report=f"{R}/{{ds}}/ingest.json",
    params:
        seqnn=SEQNN,
        spec=lambda w: q({**config["datasets"][w.ds], "task": data_task(w.ds)}),
    threads: 1
    log:
        "logs/{ds}/ingest.log",
    benchmark:
        f"{R}/{{ds}}/benchmarks/ingest.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} ingest --spec {params.spec} --name {wildcards.ds:q} "
        "-o {output.seqs:q} --report {output.report:q} 2> {log:q}"


rule split:
    input:
        f"{R}/{{ds}}/sequences.tsv",
    output:
        splits=f"{R}/{{ds}}/splits.tsv",
        summary=f"{R}/{{ds}}/split_summary.json",
    params:
        seqnn=SEQNN,
        spec=split_block,
        workdir=lambda w, output: os.path.join(outdir(w, output), "tmp_split"),
    threads: 2
    log:
        "logs/{ds}/split.log",
    benchmark:
        f"{R}/{{ds}}/benchmarks/split.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} split {input:q} --spec {params.spec} --workdir {params.workdir:q} "
        "--threads {threads:q} -o {output.splits:q} --summary {output.summary:q} 2> {log:q}"


rule audit:
    input:
        seqs=f"{R}/{{ds}}/sequences.tsv",
        splits=f"{R}/{{ds}}/splits.tsv",
    output:
        audit=f"{R}/{{ds}}/audit.json",
        nearest=f"{R}/{{ds}}/nearest_train.tsv",
    params:
        seqnn=SEQNN,
        spec=split_block,
        workdir=lambda w, output: os.path.join(outdir(w, output), "tmp_audit"),
    threads: 2
    log:
        "logs/{ds}/audit.log",
    benchmark:
        f"{R}/{{ds}}/benchmarks/audit.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} audit {input.seqs:q} {input.splits:q} --spec {params.spec} "
        "--workdir {params.workdir:q} --threads {threads:q} -o {output.audit:q} "
        "--nearest {output.nearest:q} 2> {log:q}"


rule encode:
    input:
        f"{R}/{{ds}}/sequences.tsv",
    output:
        f"{R}/{{ds}}/encoded.npz",
    params:
        seqnn=SEQNN,
        task=lambda w: data_task(w.ds),
        classes=classes,
        sep=label_separator,
    threads: 1
    log:
        "logs/{ds}/encode.log",
    benchmark:
        f"{R}/{{ds}}/benchmarks/encode.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} encode {input:q} --task {params.task:q} {params.classes} {params.sep} -o {output:q} 2> {log:q}"


rule train:
    input:
        data=f"{R}/{{ds}}/encoded.npz",
        splits=f"{R}/{{ds}}/splits.tsv",
    output:
        model=f"{R}/{{ds}}/models/{{model}}/model.safetensors",
        meta=f"{R}/{{ds}}/models/{{model}}/model.json",
        metrics=f"{R}/{{ds}}/models/{{model}}/metrics.json",
        predictions=f"{R}/{{ds}}/models/{{model}}/predictions.tsv",
        history=f"{R}/{{ds}}/models/{{model}}/history.csv",
    params:
        seqnn=lambda w: seqnn_command(sys.executable, config["models"][w.model]),
        spec=model_block,
        max_len=max_len,
        outdir=outdir,
        device=DEVICE,
        threads=lambda w, threads: max(1, threads // nproc(w)),  # per process
    threads: lambda w: THREADS * nproc(w)
    resources:
        mem_mb=lambda w: 2000 * nproc(w),
        gpu=lambda w: nproc(w) if DEVICE == "cuda" else 0,
    log:
        "logs/{ds}/train_{model}.log",
    benchmark:
        f"{R}/{{ds}}/benchmarks/train_{{model}}.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} train {input.data:q} {input.splits:q} --spec {params.spec} "
        "--name {wildcards.model:q} --out {params.outdir:q} --threads {params.threads:q} "
        "--max-len {params.max_len:q} --device {params.device:q} --resume 2> {log:q}"


rule control:
    input:
        data=f"{R}/{{ds}}/encoded.npz",
        splits=f"{R}/{{ds}}/splits.tsv",
    output:
        f"{R}/{{ds}}/controls/{{model}}/{{control}}/metrics.json",
    params:
        seqnn=lambda w: seqnn_command(sys.executable, config["models"][w.model]),
        spec=model_block,
        max_len=max_len,
        outdir=outdir,
        device=DEVICE,
        threads=lambda w, threads: max(1, threads // nproc(w)),  # per process
        epochs=CHECKS.get("control_epochs", 30),
        kind=lambda w: w.control.split("-")[0],
        run=lambda w: int(w.control.split("-")[1]) if "-" in w.control else 1,
    wildcard_constraints:
        control=r"permutation(-\d+)?|shuffle",
    threads: lambda w: THREADS * nproc(w)
    resources:
        mem_mb=lambda w: 2000 * nproc(w),
        gpu=lambda w: nproc(w) if DEVICE == "cuda" else 0,
    log:
        "logs/{ds}/control_{model}_{control}.log",
    benchmark:
        f"{R}/{{ds}}/benchmarks/control_{{model}}_{{control}}.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} train {input.data:q} {input.splits:q} --spec {params.spec} "
        "--name {wildcards.model:q} --out {params.outdir:q} --threads {params.threads:q} "
        "--max-len {params.max_len:q} --device {params.device:q} --control {params.kind:q} --control-run {params.run:q} "
        "--max-epochs {params.epochs:q} "
        "--resume 2> {log:q}"


rule evaluate:
    input:
        f"{R}/{{ds}}/models/{{model}}/predictions.tsv",
        f"{R}/{{ds}}/models/{{model}}/history.csv",
        sequences=f"{R}/{{ds}}/sequences.tsv",
        splits=f"{R}/{{ds}}/splits.tsv",
    output:
        directory(f"{R}/{{ds}}/models/{{model}}/plots"),
    params:
        seqnn=SEQNN,
        modeldir=lambda w, input: os.path.dirname(input[0]),
    threads: 1
    log:
        "logs/{ds}/evaluate_{model}.log",
    benchmark:
        f"{R}/{{ds}}/benchmarks/evaluate_{{model}}.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} evaluate {params.modeldir:q} -o {output:q} 2> {log:q}"


rule baselines:
    input:
        seqs=f"{R}/{{ds}}/sequences.tsv",
        splits=f"{R}/{{ds}}/splits.tsv",
    output:
        f"{R}/{{ds}}/baselines.json",
    params:
        seqnn=SEQNN,
        task=lambda w: config["datasets"][w.ds]["task"],
        classes=classes,
    threads: 1
    log:
        "logs/{ds}/baselines.log",
    benchmark:
        f"{R}/{{ds}}/benchmarks/baselines.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} baselines {input.seqs:q} {input.splits:q} --task {params.task:q} {params.classes} "
        "-o {output:q} 2> {log:q}"


rule check:
    input:
        baselines=f"{R}/{{ds}}/baselines.json",
        audit=f"{R}/{{ds}}/audit.json",
        metrics=expand(f"{R}/{{{{ds}}}}/models/{{model}}/metrics.json", model=MODELS),
        controls=expand(
            f"{R}/{{{{ds}}}}/controls/{{model}}/{{control}}/metrics.json",
            model=SUPERVISED,
            control=CONTROLS,
        ),
    output:
        checks=f"{R}/{{ds}}/checks.json",
        # written into each model folder (the conformal scores of `seqnn predict --coverage`)
        reliability=expand(f"{R}/{{{{ds}}}}/models/{{model}}/reliability.json", model=MODELS),
    params:
        seqnn=SEQNN,
        dsdir=lambda w, input: os.path.dirname(input.baselines),
        models=",".join(MODELS),
        margin=CHECKS.get("margin", 0.05),
        bootstrap=CHECKS.get("bootstrap", 1000),
        controls=",".join(dict.fromkeys(c.split("-")[0] for c in CONTROLS)),
        min_valid=CHECKS.get("min_valid", 30),
        min_test=CHECKS.get("min_test", 50),
    threads: 1
    log:
        "logs/{ds}/check.log",
    benchmark:
        f"{R}/{{ds}}/benchmarks/check.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} check {params.dsdir:q} --models={params.models:q} --margin {params.margin:q} "
        "--bootstrap {params.bootstrap:q} --controls={params.controls:q} --min-valid {params.min_valid:q} "
        "--min-test {params.min_test:q} -o {output.checks:q} 2> {log:q}"


rule report:
    input:
        checks=f"{R}/{{ds}}/checks.json",
        plots=expand(f"{R}/{{{{ds}}}}/models/{{model}}/plots", model=MODELS),
    output:
        f"{R}/{{ds}}/report.html",
    params:
        seqnn=SEQNN,
        dsdir=lambda w, input: os.path.dirname(input.checks),
    threads: 1
    log:
        "logs/{ds}/report.log",
    benchmark:
        f"{R}/{{ds}}/benchmarks/report.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} report {params.dsdir:q} -o {output:q} 2> {log:q}"


rule index:
    input:
        expand(f"{R}/{{ds}}/report.html", ds=CLASSIC),
    output:
        f"{R}/index.html",
    params:
        seqnn=SEQNN,
        names=",".join(CLASSIC),
        results=lambda w, output: os.path.dirname(output[0]),
    threads: 1
    log:
        "logs/index.log",
    benchmark:
        f"{R}/benchmarks/index.tsv"
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} report-index {params.results:q} --datasets={params.names:q} -o {output:q} 2> {log:q}"


# ---- task: generative (additive: these rules only run for generative datasets) ----------


def gen_block(wildcards):
    return config["datasets"][wildcards.ds].get("generate", {})


def gen_extra_inputs(wildcards):
    """The classifier / embedding model folders a generation check reads (built first when
    they are results of this workflow)."""
    block = gen_block(wildcards)
    return [os.path.join(block[k], "model.json") for k in ("classifier", "embed_model")
            if block.get(k)]


def gen_options(wildcards):
    """--classifier / --embed-model (default: the dataset's vae, when it trains one)."""
    block, opts = gen_block(wildcards), []
    if block.get("classifier"):
        opts.append(f"--classifier {shlex.quote(block['classifier'])}")
    embed = block.get("embed_model")
    vaes = [m for m in GEN_MODELS if config["models"][m].get("model", m) == "vae"]
    if embed is None and vaes:
        embed = f"{R}/{wildcards.ds}/models/{vaes[0]}"
    if embed:
        opts.append(f"--embed-model {shlex.quote(embed)}")
    return " ".join(opts)


def gen_embed_input(wildcards):
    vaes = [m for m in GEN_MODELS if config["models"][m].get("model", m) == "vae"]
    if gen_block(wildcards).get("embed_model") is None and vaes:
        return [f"{R}/{wildcards.ds}/models/{vaes[0]}/model.json"]
    return []


rule generate:
    input:
        f"{R}/{{ds}}/models/{{model}}/model.json",
    output:
        f"{R}/{{ds}}/models/{{model}}/generated.fa",
    params:
        seqnn=SEQNN,
        modeldir=lambda w, input: os.path.dirname(input[0]),
        n=lambda w: gen_block(w).get("n", 1000),
        seed=lambda w: gen_block(w).get("seed", 0),
        temperature=lambda w: gen_block(w).get("temperature", 1.0),
    threads: 1
    log:
        "logs/{ds}/generate_{model}.log",
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} generate {params.modeldir:q} -n {params.n:q} --seed {params.seed:q} "
        "--temperature {params.temperature:q} --device cpu -o {output:q} 2> {log:q}"


rule check_generation:
    input:
        generated=f"{R}/{{ds}}/models/{{model}}/generated.fa",
        seqs=f"{R}/{{ds}}/sequences.tsv",
        splits=f"{R}/{{ds}}/splits.tsv",
        extra=gen_extra_inputs,
        embed=gen_embed_input,
    output:
        f"{R}/{{ds}}/models/{{model}}/generation.json",
    params:
        seqnn=SEQNN,
        options=gen_options,
        reference=lambda w: gen_block(w).get("reference", "test"),
        seed=lambda w: gen_block(w).get("seed", 0),
    threads: 2
    log:
        "logs/{ds}/check_generation_{model}.log",
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} check-generated {input.generated:q} --data {input.seqs:q} "
        "--splits {input.splits:q} --reference-split {params.reference:q} {params.options} "
        "--seed {params.seed:q} --threads {threads:q} -o {output:q} 2> {log:q}"


rule generation_report:
    input:
        expand(f"{R}/{{{{ds}}}}/models/{{model}}/generation.json", model=GEN_MODELS),
    output:
        f"{R}/{{ds}}/generation.html",
    params:
        seqnn=SEQNN,
        dsdir=lambda w, input: os.path.dirname(os.path.dirname(os.path.dirname(input[0]))),
        models=",".join(GEN_MODELS),
    threads: 1
    log:
        "logs/{ds}/generation_report.log",
    conda:
        "envs/seqnn.yaml"
    shell:
        "{params.seqnn} report-generation {params.dsdir:q} --models={params.models:q} "
        "-o {output:q} 2> {log:q}"
