#!/usr/bin/env bash
# fuzz.sh [TARGET...] [--seconds N | --runs N] [--seed S]: builds the libFuzzer targets of tests/fuzz (clang,
# -fsanitize=fuzzer,address,undefined, in build-fuzz/ or $FUZZ_BUILD_DIR) and runs each
# named target (default: all) for N seconds (default 60) over its corpus: the seeds kept in
# tests/fuzz/corpus/TARGET plus what earlier runs found (build-fuzz/corpus/TARGET). A crash,
# a sanitizer report, a leak, an input slower than 20 s (a hang) or one using over 2 GiB is
# saved in build-fuzz/artifacts/ and fails the run; once fixed, add it to the target's seed
# folder as a regression case. Ends with one summary line per target (executions, coverage,
# features, corpus size, problems) and "N passed, N failed" (targets). --runs N (with
# --seed S) does a fixed number of inputs instead, repeatable: CI runs `--runs 20000 --seed 1`
# (every seed, then mutations, the same ones each time).
#   TARGETS: decoder interp pc replay_log boot snapshot monitor
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=60
runs=
seed=
targets=()
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --seed) seed=${2:?--seed needs a number}; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
    esac
done
all=(decoder interp pc replay_log boot snapshot monitor)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (known: ${all[*]})" >&2; exit 2; }
done
for n in "$seconds" ${runs:+"$runs"} ${seed:+"$seed"}; do
    case $n in ''|*[!0-9]*) echo "fuzz.sh: --seconds, --runs and --seed take whole numbers" >&2; exit 2 ;; esac
done
if [ -n "$runs" ]; then limit=(-runs="$runs"); what="$runs inputs"; else limit=(-max_total_time="$seconds"); what="$seconds s"; fi
[ -n "$seed" ] && limit+=(-seed="$seed")
"$root/scripts/setup.sh" --sanitizers || exit 2
if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRV_FUZZ=ON >/dev/null || exit 2
fi
cmake --build "$build" --target $(printf 'fuzz_%s ' "${targets[@]}") || exit 2
mkdir -p "$build/artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
passed=0 failed=0 summary=()
for t in "${targets[@]}"; do
    corpus=$build/corpus/$t
    mkdir -p "$corpus"
    log=$build/fuzz-$t.log
    echo "fuzz.sh: $t for $what (log: $log)"
    "$build/tests/fuzz/fuzz_$t" "${limit[@]}" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$t-" "$corpus" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1
    st=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*'); ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
    files=$(find "$corpus" -type f | wc -l)
    problems=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|==ERROR' "$log")
    line=$(printf '%-11s execs=%s cov=%s ft=%s corpus=%s problems=%s' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files" "$problems")
    if [ $st -eq 0 ] && [ "$problems" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); line+="  FAILED (status $st; $log)"; fi
    summary+=("$line")
done
echo "fuzz summary ($what per target):"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
