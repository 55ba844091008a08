#!/bin/bash
# lbsim on Slurm: a job array whose task K simulates shard K of N into results/shard-K,
# and a merge job that starts once every task has succeeded and writes results/merged —
# byte for byte what `lbsim run scenarios` writes.
#
# From the project folder, on a filesystem every node sees, on the login node:
#   bash deploy/slurm/array.sh          # submits the array and the dependent merge
# N is the size of the array: change --array=1-N below, nothing else.
# Environment (optional): LBSIM (the binary, default: lbsim on PATH), SCENARIOS (default:
# scenarios), RESULTS (default: results). Merge with --check by setting CHECK=--check.
#
#SBATCH --job-name=lbsim-shard
#SBATCH --array=1-8
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=04:00:00
#SBATCH --output=results/logs/shard-%a.out
set -euo pipefail

LBSIM=${LBSIM:-lbsim}
SCENARIOS=${SCENARIOS:-scenarios}
RESULTS=${RESULTS:-results}

if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    # Not inside the array: submit it, then the merge, which waits for every task.
    mkdir -p "$RESULTS/logs"
    array=$(sbatch --parsable --export=ALL --output="$RESULTS/logs/shard-%a.out" "$0")
    array=${array%%;*}
    sbatch --parsable --dependency="afterok:$array" --job-name=lbsim-merge \
        --cpus-per-task=1 --mem=2G --time=01:00:00 --output="$RESULTS/logs/merge.out" \
        --wrap="$LBSIM merge $RESULTS/shard-* --out $RESULTS/merged ${CHECK:-}"
    echo "submitted the shards as job $array, and their merge after it"
    exit 0
fi

# Inside the array: task K of N. The array must be 1-N with no gaps.
K=$SLURM_ARRAY_TASK_ID
N=$SLURM_ARRAY_TASK_COUNT
if [[ "$SLURM_ARRAY_TASK_MIN" != 1 || "$SLURM_ARRAY_TASK_MAX" != "$N" ]]; then
    echo "lbsim: the array must be --array=1-N" >&2
    exit 2
fi
exec "$LBSIM" run "$SCENARIOS" --shard "$K/$N" --jobs "${SLURM_CPUS_PER_TASK:-1}" \
    --out "$RESULTS/shard-$K" --quiet
