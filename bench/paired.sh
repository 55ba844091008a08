#!/usr/bin/env bash
# Compares two builds of lbsim on the reference model by running them at the same time,
# one on each of two cores, and swapping the cores every round.
#
# On a machine that shares its cores with others, one run's wall clock moves by ±15%
# with what the neighbours do; two runs taken at the same moment share the neighbours'
# moment. A build against itself, 60 rounds: the ratio's quartiles 0.92 and 1.12, its
# median 1.006. The median of N ratios is good to about 0.2/sqrt(N): 300 rounds (a
# minute and a half at the default size) resolve about 1%.
#
# usage: bench/paired.sh A B [ROUNDS (300)] [REQUESTS (1000000)]
#   ALGORITHM (least-connections) and SERVERS (16) may be set in the environment.
# Prints the quartiles of B's time per request over A's, and each build's lowest and
# median time per request.
set -euo pipefail

if (($# < 2)); then
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
    exit 2
fi
a=$1
b=$2
rounds=${3:-300}
requests=${4:-1000000}
algorithm=${ALGORITHM:-least-connections}
servers=${SERVERS:-16}
command -v taskset >/dev/null || { echo "paired.sh: needs taskset (util-linux)" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Nanoseconds per request of one run of build $2 on core $1.
run_on() {
    taskset -c "$1" "$2" bench --algorithm "$algorithm" --servers "$servers" \
        --requests "$requests" --rounds 1 | awk 'NR == 2 { print $6 }'
}

for ((round = 0; round < rounds; round++)); do
    core_a=$((round % 2))
    run_on "$core_a" "$a" >"$scratch/a" &
    run_on $((1 - core_a)) "$b" >"$scratch/b" &
    wait
    time_a=$(cat "$scratch/a")
    time_b=$(cat "$scratch/b")
    if [[ -z $time_a || -z $time_b ]]; then
        echo "paired.sh: a run printed no time; run each build's bench alone to see why" >&2
        exit 2
    fi
    echo "$time_a $time_b" >>"$scratch/times"
done

# Quartiles by nearest rank.
quartiles='{ v[NR] = $1 } END { printf "%.3f %.3f %.3f\n", v[int((NR + 3) / 4)], v[int((NR + 1) / 2)], v[int((3 * NR + 3) / 4)] }'
read -r q1 median q3 < <(awk '{ print $2 / $1 }' "$scratch/times" | sort -g | awk "$quartiles")
echo "B/A, $rounds rounds: median $median (quartiles $q1 to $q3)"
for column in 1 2; do
    name=$([ "$column" = 1 ] && echo A || echo B)
    read -r low mid < <(cut -d' ' -f"$column" "$scratch/times" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.1f %.1f\n", v[1], v[int((NR + 1) / 2)] }')
    echo "$name: lowest $low ns, median $mid ns a request"
done
