#!/usr/bin/env bash
# Fuzzes the SASL and sasldb parsers with libFuzzer (see Fuzz/README.md): builds the separate package in Fuzz/ with
# -sanitize=fuzzer,address, runs each target for a bounded time on a temporary copy of its seed corpus (the repo is
# not modified), prints one summary line per target, and exits non-zero if any target crashed or failed to run.
#
#   scripts/fuzz.sh                                    # every target, 20 s each (CI: build ~1-2 min + ~2.5 min)
#   scripts/fuzz.sh FuzzDigestMD5 FuzzSCRAM            # some targets
#   FUZZ_SECONDS=3600 scripts/fuzz.sh FuzzDigestMD5    # a long run of one target
#   FUZZ_SECONDS=3600 FUZZ_KEEP_CORPUS=/tmp/grown scripts/fuzz.sh FuzzSCRAM   # ... keeping the grown corpus
#
# Environment:
#   FUZZ_SECONDS      seconds per target (default 20)
#   FUZZ_TIMEOUT      seconds one input may take before it counts as a hang (default 10)
#   FUZZ_CONFIG       release (default: -O specialises the standard library's generics into the instrumented code,
#                     which is what gives the fuzzer coverage feedback inside the parsers) or debug
#   FUZZ_SCRATCH      build directory (default .build-fuzz); crash inputs go to $FUZZ_SCRATCH/fuzz-artifacts/<target>/
#   FUZZ_KEEP_CORPUS  directory to copy each target's grown corpus to (<dir>/<target>/), to add to Fuzz/Corpus by hand
#   FUZZ_ARGS         extra libFuzzer arguments, e.g. "-use_value_profile=1 -max_len=8192"
#
# Reproduce a crash:  .build-fuzz/release/<target> <crash file>     (FUZZ_TRACE=1 prints every step of an exchange)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

all_targets=(FuzzPlainLogin FuzzCRAMMD5 FuzzDigestMD5 FuzzSCRAM FuzzSCRAMFirst FuzzDumpFormat FuzzPasswordList FuzzRecords FuzzSMTPSession FuzzDovecotAuth FuzzSaslauthdRequest FuzzPostgresLocation)
seconds=${FUZZ_SECONDS:-20}
timeout=${FUZZ_TIMEOUT:-10}
config=${FUZZ_CONFIG:-release}
scratch=${FUZZ_SCRATCH:-$root/.build-fuzz}
read -r -a extra_args <<<"${FUZZ_ARGS:-}"

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=("${all_targets[@]}"); fi
for target in "${targets[@]}"; do
    if [[ ! " ${all_targets[*]} " =~ " ${target} " ]]; then
        echo "fuzz.sh: unknown target '$target'; targets: ${all_targets[*]}" >&2
        exit 2
    fi
done

# -parse-as-library: the targets have no top-level code; libFuzzer's driver is the entry point (see FuzzSupport).
build_flags=(--package-path Fuzz --scratch-path "$scratch" -c "$config"
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
mkdir -p "$scratch"
build_log=$scratch/fuzz-build.log
echo "fuzz: building Fuzz/ ($config, -sanitize=fuzzer,address) into $scratch"
build_start=$(date +%s)
if ! swift build "${build_flags[@]}" >"$build_log" 2>&1; then
    # gold warns about every ASan helper symbol; the errors are what matters.
    grep -v "Cannot export local symbol" "$build_log" | tail -60 >&2
    echo "fuzz: build FAILED (full log: $build_log)" >&2
    exit 1
fi
echo "fuzz: build took $(($(date +%s) - build_start)) s"
bin=$(swift build "${build_flags[@]}" --show-bin-path)

work=$(mktemp -d "${TMPDIR:-/tmp}/sasldb-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

demangle() { if command -v swift-demangle >/dev/null; then swift-demangle --simplified; else cat; fi; }

failed=()
summaries=()
for target in "${targets[@]}"; do
    corpus=$work/corpus/$target
    mkdir -p "$corpus"
    if [[ -d Fuzz/Corpus/$target ]]; then cp -R Fuzz/Corpus/"$target"/. "$corpus"/; fi
    artifacts=$scratch/fuzz-artifacts/$target
    mkdir -p "$artifacts"
    dict=()
    if [[ -f Fuzz/Dictionaries/$target.dict ]]; then dict=(-dict="$root/Fuzz/Dictionaries/$target.dict"); fi
    log=$work/$target.log
    echo "fuzz: running $target for $seconds s"
    status=0
    # The Swift runtime's own backtracer would race libFuzzer's crash handler (and trips ASan); libFuzzer's is enough.
    SWIFT_BACKTRACE=enable=no ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer || true)} \
        "$bin/$target" "$corpus" "${dict[@]}" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout="$timeout" \
        -artifact_prefix="$artifacts/" -print_final_stats=1 "${extra_args[@]}" >"$log" 2>&1 || status=$?

    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$done_line")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    if [[ $status -eq 0 ]]; then
        summary=$(printf '%-17s ok     %9s execs (%s/s)  cov %s  ft %s  corpus %s  rss %s MB' \
            "$target" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}")
        if [[ -n ${FUZZ_KEEP_CORPUS:-} ]]; then
            mkdir -p "$FUZZ_KEEP_CORPUS/$target" && cp -R "$corpus"/. "$FUZZ_KEEP_CORPUS/$target"/
        fi
    else
        failed+=("$target")
        crash=$(sed -n "s/.*Test unit written to \(.*\)$/\1/p" "$log" | tail -1)
        summary=$(printf '%-17s FAILED exit %s after %s execs  cov %s  input: %s' \
            "$target" "$status" "${runs:-?}" "${cov:-?}" "${crash:-none}")
        {
            echo "---------------------------------------------------------------- $target (exit $status)"
            # The report: from the first error line, without ASan's shadow-memory dump.
            sed -n '/Fatal error\|==ERROR\|ERROR: libFuzzer\|^SUMMARY/,$p' "$log" \
                | grep -v -e '^  0x' -e '^=>0x' -e '^Shadow' -e '^  [A-Z][A-Za-z ]*: ' -e '^0x[0-9a-f]*,' -e '^stat::' \
                | head -80 | demangle
            if [[ -n $crash && -f $crash ]]; then
                echo "input ($(wc -c <"$crash") bytes), hex:"
                od -An -tx1 -v "$crash" | tr -s ' \n' ' ' | fold -w 96
                echo
                echo "reproduce: $bin/$target $crash   (FUZZ_TRACE=1 to see each step)"
            fi
        } >&2
    fi
    summaries+=("$summary")
done

echo "fuzz: summary ($seconds s per target)"
printf '  %s\n' "${summaries[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran without a crash"
