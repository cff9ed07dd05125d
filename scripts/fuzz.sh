#!/usr/bin/env bash
# Runs taskd's libFuzzer targets, one per decoder of stored files (journal lines, checkpoints and version 1
# documents, whole workspaces as the store reads them, change-log records, the keys file, tenant exports), each for
# FUZZ_SECONDS (default 30). Usage: scripts/fuzz.sh [target ...] (names as below; default: all).
#
# The targets are built with `swift build --sanitize=fuzzer` in their own scratch directory (.build-fuzz), as debug
# builds: Swift checks every array and unsafe-buffer index there, so an out-of-bounds read traps instead of going
# unnoticed. Each run starts from the seed corpus in Tests/FuzzCorpus/<target> plus what earlier runs found
# (.build-fuzz/corpus/<target>; the repo's seeds are never written). A crash, a trap, an oracle that fails, a leak
# past FUZZ_RSS_MB or an input slower than FUZZ_TIMEOUT seconds stops the run with the input saved under
# .build-fuzz/artifacts/<target>/; the script prints how to replay it, and exits non-zero. Turn every finding into a
# unit test (see docs/state-directory.md, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
SWIFT=${SWIFT:-swift}
SCRATCH=.build-fuzz
ALL_TARGETS=(journal-line checkpoint workspace change-record keys-file tenant-export)
targets=("$@")
((${#targets[@]} > 0)) || targets=("${ALL_TARGETS[@]}")

for target in "${targets[@]}"; do
    case " ${ALL_TARGETS[*]} " in
        *" $target "*) ;;
        *) echo "fuzz: unknown target '$target' (known: ${ALL_TARGETS[*]})" >&2; exit 64 ;;
    esac
done

for target in "${targets[@]}"; do
    echo "fuzz: building taskd-fuzz-$target" >&2
    "$SWIFT" build --sanitize=fuzzer --scratch-path "$SCRATCH" --product "taskd-fuzz-$target" >&2
done
bin=$("$SWIFT" build --sanitize=fuzzer --scratch-path "$SCRATCH" --show-bin-path)

# libFuzzer handles crashes itself (and saves the input); Swift's backtracer would get there first and hide them.
export SWIFT_BACKTRACE=enable=no
failed=()
for target in "${targets[@]}"; do
    corpus="$SCRATCH/corpus/$target"
    artifacts="$SCRATCH/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    echo "fuzz: taskd-fuzz-$target for ${FUZZ_SECONDS}s" >&2
    if ! "$bin/taskd-fuzz-$target" "$corpus" "Tests/FuzzCorpus/$target" \
        -dict=Tests/FuzzCorpus/taskd.dict -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" \
        -rss_limit_mb="$FUZZ_RSS_MB" -max_len=16384 -artifact_prefix="$artifacts/" -print_final_stats=1 \
        2> "$SCRATCH/$target.log"; then
        tail -n 60 "$SCRATCH/$target.log" >&2
        echo "fuzz: taskd-fuzz-$target FAILED; the input is in $artifacts/. Replay it with:" >&2
        echo "  SWIFT_BACKTRACE=enable=no $bin/taskd-fuzz-$target $artifacts/<file>" >&2
        failed+=("$target")
    else
        grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|Done [0-9]+ runs" "$SCRATCH/$target.log" >&2 || true
    fi
done
if ((${#failed[@]} > 0)); then
    echo "fuzz: findings in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: no findings in ${targets[*]} (${FUZZ_SECONDS}s each)" >&2
