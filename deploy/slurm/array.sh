#!/bin/bash
# lbsim on Slurm: a job array whose task K simulates shard K of N into results/shard-K,
# and a merge job that starts once every task has succeeded and writes results/merged —
# byte for byte what `lbsim run scenarios` writes.
#
# On the login node, from the project folder, on a filesystem every node sees:
#   bash deploy/slurm/array.sh                  # 8 shards, then their merge
#   SHARDS=4 bash deploy/slurm/array.sh         # 4 shards
#   CHECK=--check bash deploy/slurm/array.sh    # merge, then evaluate [[expect]]
#   squeue --me                                 # logs in results/logs/
#
# It first builds lbsim once with cargo (`cargo build --release --locked`) into this
# checkout's target/release/lbsim, and every node runs that binary from the shared
# filesystem: a fresh checkout needs nothing on the nodes' PATH. The login node and the
# compute nodes must therefore share the CPU architecture and the C library (they nearly
# always do); otherwise build on a compute node and point LBSIM at the result.
#
# Environment, all optional:
#   SHARDS     N, the number of shards (array tasks); default 8
#   LBSIM      the lbsim binary to run instead of building one: a path every node sees,
#              or a name on the compute nodes' PATH
#   SCENARIOS  the scenario file or folder; default scenarios
#   RESULTS    where shards, merged results and logs go; default results. It must not
#              exist yet, or be empty: shards left there by an earlier submission (of
#              another N, or other scenarios) would be merged with the new ones
#   CHECK      set to --check to evaluate the scenarios' [[expect]] bounds after merging
#
# If a shard fails, Slurm cancels the merge (--kill-on-invalid-dep=yes) rather than
# leaving it pending forever, and the shard says why in its log and in results/logs/merge.out.
#
# Each shard's resources (the merge's are set where it is submitted, below):
#SBATCH --job-name=lbsim-shard
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=04:00:00
set -euo pipefail

SCENARIOS=${SCENARIOS:-scenarios}
RESULTS=${RESULTS:-results}

fail() {
    echo "lbsim: $*" >&2
    exit 2
}

# A word for `sh -c`, single-quoted: the merge job's command line is a string.
quote() {
    printf "'%s'" "${1//\'/\'\\\'\'}"
}

if [[ -z "${SLURM_ARRAY_TASK_ID:-}" && "${ENVIRONMENT:-}" == BATCH ]]; then
    # `sbatch deploy/slurm/array.sh`: one job, on a compute node, that is no array.
    fail "run this script with bash on the login node (bash deploy/slurm/array.sh), not with" \
        "sbatch: it builds lbsim, then submits the array and the merge itself"
fi
if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    # Not inside the array: check, build, submit the array, then the merge.
    SHARDS=${SHARDS:-8}
    [[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || fail "SHARDS is the number of shards, at least 1; found '$SHARDS'"
    [[ -e "$SCENARIOS" ]] || fail "no scenarios at '$SCENARIOS' (run from the project folder, or set SCENARIOS)"
    if [[ -e "$RESULTS" && -n "$(ls -A "$RESULTS")" ]]; then
        fail "'$RESULTS' already holds files, from an earlier submission: its shards would be" \
            "merged with the new ones. Remove it (rm -r '$RESULTS'), or submit into another" \
            "folder (RESULTS=$RESULTS-2 bash $0)"
    fi
    if [[ -z "${LBSIM:-}" ]]; then
        root=$(cd "$(dirname "$0")/../.." && pwd)
        command -v cargo >/dev/null ||
            fail "cargo not found: install Rust (https://rustup.rs), or set LBSIM to an lbsim binary every node can run"
        echo "lbsim: building $root/target/release/lbsim (cargo build --release --locked)" >&2
        cargo build --release --locked --manifest-path "$root/Cargo.toml" >&2
        target=${CARGO_TARGET_DIR:-$root/target}
        [[ "$target" == /* ]] || target=$PWD/$target
        LBSIM=$target/release/lbsim
    elif [[ "$LBSIM" == */* ]]; then
        # A path: made absolute, so that it means the same file in every job.
        [[ -x "$LBSIM" ]] || fail "LBSIM=$LBSIM is not an executable file"
        LBSIM=$(cd "$(dirname "$LBSIM")" && pwd)/$(basename "$LBSIM")
    fi
    version=$("$LBSIM" --version) || fail "LBSIM=$LBSIM does not run here"
    export LBSIM SCENARIOS RESULTS

    mkdir -p "$RESULTS/logs"
    array=$(sbatch --parsable --array="1-$SHARDS" --chdir="$PWD" --export=ALL \
        --output="$RESULTS/logs/shard-%a.out" "$0")
    array=${array%%;*}
    merge=$(quote "$LBSIM")
    merge+=" merge"
    for ((k = 1; k <= SHARDS; k++)); do
        merge+=" $(quote "$RESULTS/shard-$k")"
    done
    merge+=" --out $(quote "$RESULTS/merged")${CHECK:+ $(quote "$CHECK")}"
    merge_job=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
        --job-name=lbsim-merge --chdir="$PWD" --export=ALL --cpus-per-task=1 --mem=2G \
        --time=01:00:00 --output="$RESULTS/logs/merge.out" --wrap="$merge")
    merge_job=${merge_job%%;*}
    echo "lbsim: submitted $SHARDS shards ($version) as job $array (logs: $RESULTS/logs/shard-K.out)"
    echo "lbsim: and their merge as job $merge_job, into $RESULTS/merged (log: $RESULTS/logs/merge.out);"
    echo "lbsim: a failed shard cancels the merge and says why in its log and in merge.out"
    exit 0
fi

# Inside the array: task K of N. The array must be 1-N with no gaps.
K=$SLURM_ARRAY_TASK_ID
N=${SLURM_ARRAY_TASK_COUNT:?"the array's size; submit with bash deploy/slurm/array.sh"}
if [[ "${SLURM_ARRAY_TASK_MIN:-}" != 1 || "${SLURM_ARRAY_TASK_MAX:-}" != "$N" ]]; then
    echo "lbsim: the array must be --array=1-N; submit it with: bash deploy/slurm/array.sh" >&2
    exit 2
fi
LBSIM=${LBSIM:?"submit with bash deploy/slurm/array.sh, which sets LBSIM"}
status=0
"$LBSIM" run "$SCENARIOS" --shard "$K/$N" --jobs "${SLURM_CPUS_PER_TASK:-1}" \
    --out "$RESULTS/shard-$K" --quiet || status=$?
if ((status != 0)); then
    message="lbsim: shard $K of $N (job ${SLURM_ARRAY_JOB_ID:-?}_$K) failed with exit status $status,"
    message+=" so Slurm cancels the merge; see $RESULTS/logs/shard-$K.out"
    echo "$message" >&2
    echo "$message" >>"$RESULTS/logs/merge.out"
    exit "$status"
fi
