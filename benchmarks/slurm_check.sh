#!/usr/bin/env bash
# The workflow on a real Slurm: start a single-node cluster on this machine (slurmctld +
# slurmd on localhost, munge for authentication), run the tiny test workflow through
# profiles/slurm (snakemake --executor slurm), check every output, stop the cluster.
#
#   make slurm-check            (or: bash benchmarks/slurm_check.sh)
#
# Needs root (it installs Debian's slurm-wlm and munge with apt-get when missing and starts
# the daemons) and the `slurm` extra in the venv (snakemake-executor-plugin-slurm). The
# cluster's files live in a temporary folder, its slurm.conf linked from /etc/slurm/ for the
# run (the plugin's job step drops SLURM_CONF from the environment of the srun it starts
# inside each job, so srun reads the default path); the script refuses to run when a
# slurm.conf is already there. KEEP=1 keeps the folder for a look afterwards.
# The tiny config is the one of tests/test_workflow.py, with the cnn trained by 2 processes
# (train: nproc: 2, so its jobs run torchrun inside a Slurm job). Prints the wall time.
# PYTHON (default: the repository's .venv/bin/python) may be relative to the folder the
# script is started from, or a command name found on PATH: it is made absolute first, since
# the script changes folder. DRY_RUN=1 prints the interpreter it would use and stops there.
set -euo pipefail

say() { echo "slurm-check: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$REPO/.venv/bin/python}
case "$PY" in
  /*) ;;
  */*) PY="$PWD/$PY" ;;
  *) PY=$(command -v -- "$PY") || die "PYTHON=$PYTHON: no such command on PATH" ;;
esac
[ -x "$PY" ] || die "PYTHON=$PY is not an executable interpreter"
if [ "${DRY_RUN:-0}" = 1 ]; then
  (cd / && "$PY" -c 'import sys; print(sys.executable)') \
    || die "PYTHON=$PY does not run from another folder"
  say "dry run: interpreter $PY, repository $REPO"
  exit 0
fi
START=$(date +%s)
WORK=$(mktemp -d /tmp/seqnn-slurm.XXXXXX)
STARTED_MUNGE=0
LINKED_CONF=0

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts the Slurm daemons)"
"$PY" -c "import snakemake_executor_plugin_slurm" 2>/dev/null \
  || die "the slurm extra is missing: $PY -m pip install -c constraints.txt -e '.[slurm]'"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  say "installing slurm-wlm and munge (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

stop_cluster() {
  local rc=$?
  export SLURM_CONF="$WORK/slurm.conf"
  for pidfile in "$WORK/slurmd.pid" "$WORK/slurmctld.pid"; do
    if [ -s "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
  if [ "$STARTED_MUNGE" = 1 ] && [ -s "$WORK/munged.pid" ]; then
    kill "$(cat "$WORK/munged.pid")" 2>/dev/null || true
  fi
  if [ "$LINKED_CONF" = 1 ]; then rm -f /etc/slurm/slurm.conf; fi
  sleep 1
  if [ "${KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap stop_cluster EXIT

# -- munge: the Debian package's key, our own daemon unless one already runs ----------------
if ! pgrep -x munged >/dev/null; then
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile /etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged --pid-file "$WORK/munged.pid.tmp" 2>/dev/null \
    || runuser -u munge -- /usr/sbin/munged
  STARTED_MUNGE=1
  for _ in $(seq 20); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.5; done
  pgrep -x -n munged > "$WORK/munged.pid"
fi
munge -n | unmunge >/dev/null || die "munge does not work"

# -- slurmctld + slurmd on this machine ----------------------------------------------------
NODE=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 8 / 10 ))
mkdir -p "$WORK/state" "$WORK/spool" "$WORK/run"
cat > "$WORK/slurm.conf" <<EOF
ClusterName=seqnncheck
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=86400
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE Default=NO MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$WORK/slurm.conf"
[ -e /etc/slurm/slurm.conf ] && die "/etc/slurm/slurm.conf exists: this machine has a Slurm \
setup already; the check starts its own cluster and leaves that one alone"
mkdir -p /etc/slurm && ln -s "$SLURM_CONF" /etc/slurm/slurm.conf && LINKED_CONF=1
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  state=$(sinfo -h -n "$NODE" -p cpu -o %t 2>/dev/null || true)
  case "$state" in idle*|mix*|alloc*) break ;; esac
  sleep 1
done
case "$state" in idle*|mix*|alloc*) ;; *) cat "$WORK/slurmctld.log" >&2; die "node state '$state'" ;; esac
say "cluster up: $(sinfo -h -o '%P %D %c %t' | tr '\n' ';')"
srun -p cpu -N1 -n1 true || die "srun cannot run a job step"

# -- the tiny workflow through the profile ---------------------------------------------------
mkdir -p "$WORK/run/my proteins"
PYTHONPATH="$REPO/tests:$REPO" "$PY" - "$WORK/run" <<'EOF'
import sys
from pathlib import Path

from test_workflow import TINY_CONFIG, write_tiny_data

work = Path(sys.argv[1])
write_tiny_data(work / "my proteins")
config = TINY_CONFIG.replace("train: {epochs: 2, batch_size: 16}\n  rnn",
                             "train: {epochs: 2, batch_size: 16, nproc: 2}\n  rnn")
assert config != TINY_CONFIG
(work / "tiny.yaml").write_text(config)
EOF
say "running the workflow through profiles/slurm"
cd "$WORK/run"
# this cluster keeps no accounting database, so job states come from squeue (MinJobAge=86400
# keeps finished jobs listed); status checks start after 5 s instead of the plugin's 40
PYTHONPATH="$REPO" "$PY" -m snakemake -s "$REPO/Snakefile" --profile "$REPO/profiles/slurm" \
  --configfile tiny.yaml --slurm-status-command squeue \
  --slurm-init-seconds-before-status-checks 5 > "$WORK/snakemake.log" 2>&1 \
  || { tail -50 "$WORK/snakemake.log" >&2; die "the workflow failed under Slurm"; }

# -- every output, and proof that Slurm ran the jobs ---------------------------------------
PYTHONPATH="$REPO" "$PY" -m snakemake -s "$REPO/Snakefile" --configfile tiny.yaml -n \
  2>&1 | grep -q "Nothing to be done" || die "outputs missing or out of date after the run"
"$PY" - "$WORK" <<'EOF'
import json
import sys
from pathlib import Path

work = Path(sys.argv[1])
d = work / "run" / "my results" / "tiny"
for model in ("cnn", "rnn", "ae"):
    for name in ("model.safetensors", "model.json", "metrics.json", "predictions.tsv",
                 "history.csv", "train_sequences.fa"):
        assert (d / "models" / model / name).stat().st_size > 0, (model, name)
    assert set(json.loads((d / "models" / model / "metrics.json").read_text())) == {
        "train", "valid", "test"}
for model in ("cnn", "rnn"):
    for control in ("permutation", "permutation-2", "shuffle"):
        assert (d / "controls" / model / control / "metrics.json").exists(), (model, control)
checks = json.loads((d / "checks.json").read_text())
assert set(checks["models"]) == {"cnn", "rnn", "ae"}
assert (d / "report.html").read_text().startswith("<!DOCTYPE html>")
assert (work / "run" / "my results" / "index.html").exists()
log = (work / "run" / "logs" / "tiny" / "train_cnn.log").read_text()
assert "data-parallel over 2 processes (gloo)" in log, log[-2000:]
EOF
# every job of the run, from Slurm's own list (MinJobAge=86400 keeps finished jobs there);
# the plugin comments each job with its rule
squeue -h --states=all -o '%i|%T|%k' > "$WORK/jobs.txt"
JOBS=$(grep -c '|rule_' "$WORK/jobs.txt" || true)
FAILED=$(grep '|rule_' "$WORK/jobs.txt" | grep -vc '|COMPLETED|' || true)
[ "$FAILED" = 0 ] || { cat "$WORK/jobs.txt" >&2; die "$FAILED Slurm job(s) did not complete"; }
for rule in ingest split audit encode train control evaluate baselines check report index; do
  grep -q "|rule_${rule}_wildcards\||rule_${rule}\$" "$WORK/jobs.txt" \
    || { cat "$WORK/jobs.txt" >&2; die "no Slurm job ran rule $rule"; }
done
say "OK: $JOBS Slurm jobs completed (every rule), every output checked; wall time" \
    "$(( $(date +%s) - START )) s"
