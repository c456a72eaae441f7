#!/usr/bin/env bash
# The hardening checks of docs/HARDENING.md, bounded for CI (2 cores):
#   asan  native library + every src/test/native/test_*.cpp built with AddressSanitizer and
#         UndefinedBehaviorSanitizer (build-asan, -DSA_SANITIZE=ON -DSA_CUDA=OFF), ctest;
#         fails on a failing test or on any sanitizer report;
#   fuzz  the libFuzzer target src/test/fuzz/fuzz_entry.cpp (clang, ASan+UBSan, build-fuzz)
#         for SA_FUZZ_SECONDS (default 60); fails on any finding; the corpus is kept in
#         build-fuzz/corpus, findings go to build-fuzz/artifacts;
#   jni   the Java suites (the library's, hardening tests included, and the CLI's) under
#         -Xcheck:jni: mvn install -Dsa.test.argLine=-Xcheck:jni, then the same test in cli/;
#         fails if Maven fails or if the JVM reports
#         any JNI problem (in the Maven log, Surefire's reports and its .dumpstream files);
#   ptxas the device code's static budget (scripts/ptxas-budget.sh: ptxas -v for sm_80 and
#         sm_90, no spills or stack beyond scripts/ptxas-budget.txt); skipped without nvcc;
#   sass  SASS instructions per output of every kernel (scripts/sass-count.sh --fetch: cuobjdump
#         from Debian's CUDA 11.8 when none is installed), against scripts/sass-budget.txt;
#         skipped without nvcc or when the download fails.
# The asan step includes the emulated GPU (src/test/native/emu, docs/EMULATOR.md): the CUDA
# kernels compiled for the host and run by ctest under ASan+UBSan, with or without nvcc.
# Usage: scripts/hardening.sh [asan] [fuzz] [jni] [ptxas] [sass]   (no argument: all five, in that order)
# Environment: SA_FUZZ_SECONDS (60), SA_FUZZ_SEED (0 = random), SA_JOBS (2),
#   SA_INSTALL_CLANG (1: apt-get install clang and its libFuzzer runtime when missing; 0: skip
#   the fuzz step with a message instead), SA_MVN_ARGS (extra Maven arguments, e.g. -o).
# Logs: build-hardening/*.log. Exit status: non-zero if any step failed.
# compute-sanitizer (CUDA memcheck/racecheck/synccheck) needs a GPU: scripts/gpu-native.sh.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${SA_JOBS:-2}"
FUZZ_SECONDS="${SA_FUZZ_SECONDS:-60}"
LOGS="$ROOT/build-hardening"
mkdir -p "$LOGS"
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(asan fuzz jni ptxas sass)

failed=()
t_all=$(date +%s)
note() { echo "hardening: $*"; }
fail() {
    note "FAILED: $*"
    failed+=("$1")
}

# Sanitizer reports in a log: ASan, LSan, UBSan (UBSan's "runtime error:" lines included).
SAN_PATTERN='ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer|runtime error:'
# What HotSpot's -Xcheck:jni prints (warnings and fatal errors). Maven's own "[WARNING]" lines
# are not JNI reports, so "WARNING" alone is not the pattern.
JNI_PATTERN='WARNING in native method|FATAL ERROR in native method|Warning: Calling other JNI functions|WARNING: JNI local refs|JNI (WARNING|ERROR)'

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

step_asan() {
    local t0=$(date +%s) log="$LOGS/asan.log"
    note "asan: configure + build build-asan (ASan+UBSan, CPU only), then ctest"
    (
        cmake -S "$ROOT" -B "$ROOT/build-asan" -DSA_SANITIZE=ON -DSA_CUDA=OFF -DSA_BUILD_TESTS=ON \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo || exit 1
        # Only the library and the test programs (ctest -N lists them); benchmarks are not run.
        local tests
        # (the emulated GPU's emu_* tests run three programs: their target is sa_emu_tests)
        local all
        all=$(ctest --test-dir "$ROOT/build-asan" -N | sed -n 's/^ *Test *#[0-9]*: *//p')
        tests=$(echo "$all" | grep -v '^emu_' | tr '\n' ' ')
        case "$all" in *emu_*) tests="$tests sa_emu_tests" ;; esac
        echo "test programs: $tests"
        [ -n "$tests" ] || { echo "no test programs found"; exit 1; }
        # shellcheck disable=SC2086
        cmake --build "$ROOT/build-asan" -j "$JOBS" --target spatialact $tests || exit 1
        # -j: the test programs are independent (no shared files; test_emu forks per device)
        timeout 1800 ctest --test-dir "$ROOT/build-asan" -j "$JOBS" --output-on-failure --timeout 1200
    ) >"$log" 2>&1
    local rc=$?
    grep -E "Test +#|tests passed|tests failed" "$log" | sed 's/^/    /'
    # the emulated GPU's summary (its programs' output is in ctest's log)
    grep -hE "^emulated GPU: [0-9]+ passed|^(GPU FReLU outputs|  \[h100|broken kernels|  \[(h100|tiny) smem)" \
        "$ROOT/build-asan/Testing/Temporary/LastTest.log" 2>/dev/null | sed 's/^/    /' | sed -n 1,40p
    if grep -qE "$SAN_PATTERN" "$log"; then
        grep -E "$SAN_PATTERN" "$log" | sed -n 1,20p | sed 's/^/    /'
        fail "asan: sanitizer reports (see $log)"
    elif [ $rc -ne 0 ]; then
        fail "asan: build or ctest failed (exit $rc, see $log)"
    else
        note "asan: ok, no sanitizer reports ($(($(date +%s) - t0)) s)"
    fi
}

# True if clang++ can link a libFuzzer program.
have_libfuzzer() {
    command -v clang++ >/dev/null 2>&1 || return 1
    local d
    d=$(mktemp -d)
    printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$d/t.cpp"
    clang++ -fsanitize=fuzzer,address,undefined "$d/t.cpp" -o "$d/t" >/dev/null 2>&1
    local rc=$?
    rm -rf "$d"
    return $rc
}

install_clang() {
    [ "${SA_INSTALL_CLANG:-1}" = 1 ] || return 1
    command -v apt-get >/dev/null 2>&1 || return 1
    local SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    note "fuzz: installing clang and its libFuzzer runtime (apt-get)"
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    # Debian 12: clang 14's libFuzzer (libclang_rt.fuzzer) is in libclang-rt-14-dev, which
    # clang only recommends: name it, so that --no-install-recommends setups get it too.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang >/dev/null 2>&1 || return 1
    local v
    v=$(clang++ --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | sed -n 1p)
    if [ -n "$v" ] && ! have_libfuzzer; then
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "libclang-rt-$v-dev" >/dev/null 2>&1 || true
    fi
    have_libfuzzer
}

step_fuzz() {
    local t0=$(date +%s) log="$LOGS/fuzz.log"
    if ! have_libfuzzer && ! install_clang; then
        fail "fuzz: clang++ with libFuzzer is not available (apt-get install clang libclang-rt-14-dev)"
        return
    fi
    note "fuzz: build build-fuzz (clang $(clang++ --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | sed -n 1p), ASan+UBSan), run ${FUZZ_SECONDS} s"
    (
        CC=clang CXX=clang++ cmake -S "$ROOT" -B "$ROOT/build-fuzz" -DSA_FUZZ=ON -DSA_SANITIZE=ON -DSA_CUDA=OFF \
            -DSA_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo || exit 1
        cmake --build "$ROOT/build-fuzz" -j "$JOBS" --target fuzz_entry || exit 1
    ) >"$LOGS/fuzz-build.log" 2>&1
    if [ $? -ne 0 ]; then
        tail -20 "$LOGS/fuzz-build.log" | sed 's/^/    /'
        fail "fuzz: build failed (see $LOGS/fuzz-build.log)"
        return
    fi
    local bin corpus artifacts
    bin=$(find "$ROOT/build-fuzz" -name fuzz_entry -type f -perm -u+x | sed -n 1p)
    corpus="$ROOT/build-fuzz/corpus"
    artifacts="$ROOT/build-fuzz/artifacts/"
    mkdir -p "$corpus" "$artifacts"
    SA_FUZZ_STATS=1 timeout $((FUZZ_SECONDS + 300)) "$bin" -max_total_time="$FUZZ_SECONDS" -max_len=256 -timeout=30 \
        -rss_limit_mb=2048 -seed="${SA_FUZZ_SEED:-0}" -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" >"$log" 2>&1
    local rc=$?
    grep -E "^INFO: Seed|^Done [0-9]+ runs|calls per entry point|^  [a-z_]+ +[0-9]|total [0-9]+ calls|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" "$log" |
        sed 's/^/    /'
    if [ $rc -ne 0 ] || grep -qE "$SAN_PATTERN|CONTRACT VIOLATION|ERROR: libFuzzer" "$log"; then
        grep -E "$SAN_PATTERN|CONTRACT VIOLATION|ERROR: libFuzzer|Test unit written" "$log" | sed -n 1,20p | sed 's/^/    /'
        fail "fuzz: finding or failure (exit $rc, see $log; reproduce: $bin <artifact>)"
    else
        note "fuzz: ok, no findings ($(($(date +%s) - t0)) s)"
    fi
}

step_jni() {
    local t0=$(date +%s) log="$LOGS/jni.log"
    note "jni: mvn install, then the CLI's mvn test, both with -Dsa.test.argLine=-Xcheck:jni"
    rm -rf "$ROOT/target/surefire-reports" "$ROOT/cli/target/surefire-reports"
    # install: the CLI project (cli/) tests against the library in the local repository.
    # shellcheck disable=SC2086
    mvn -B -ntp ${SA_MVN_ARGS:-} install -Dsa.test.argLine=-Xcheck:jni >"$log" 2>&1 &&
        mvn -B -ntp ${SA_MVN_ARGS:-} -f "$ROOT/cli/pom.xml" test -Dsa.test.argLine=-Xcheck:jni >>"$log" 2>&1
    local rc=$?
    grep -E "Tests run:.*Fail|^(fuzz summary|concurrency|memory|loading|campaign):" "$log" | sed 's/^\[[A-Z]*\] //; s/^/    /'
    local hits reports=("$ROOT"/target/surefire-reports "$ROOT"/cli/target/surefire-reports)
    hits=$(cat "$log" "${reports[0]}"/*.txt "${reports[0]}"/*.dumpstream "${reports[1]}"/*.txt "${reports[1]}"/*.dumpstream 2>/dev/null |
        grep -cE "$JNI_PATTERN")
    if [ "$hits" -gt 0 ]; then
        cat "$log" "${reports[0]}"/*.txt "${reports[0]}"/*.dumpstream "${reports[1]}"/*.txt "${reports[1]}"/*.dumpstream 2>/dev/null |
            grep -E "$JNI_PATTERN" | sort | uniq -c | sort -rn | sed -n 1,20p | sed 's/^/    /'
        fail "jni: $hits JNI report line(s) under -Xcheck:jni (see $log)"
    elif [ $rc -ne 0 ]; then
        grep -E "FAIL|ERROR\]" "$log" | sed -n 1,20p | sed 's/^/    /'
        fail "jni: mvn test failed (exit $rc, see $log)"
    else
        note "jni: ok, no JNI warnings ($(($(date +%s) - t0)) s)"
    fi
}

# A device-code budget step: runs `script [args] table` with its log in $LOGS/<name>.log, shows
# the log lines matching `pattern`, fails with `why` when the script fails.
budget_step() {
    local name=$1 pattern=$2 why=$3
    shift 3
    local t0=$(date +%s) log="$LOGS/$name.log"
    "$@" "$LOGS/$name.txt" >"$log" 2>&1
    local rc=$?
    grep -E "$pattern" "$log" | sed 's/^/    /'
    if [ $rc -ne 0 ]; then
        fail "$name: $why (see $log)"
    else
        note "$name: ok ($(($(date +%s) - t0)) s; table in $LOGS/$name.txt)"
    fi
}

step_ptxas() {
    if ! command -v nvcc >/dev/null 2>&1; then
        note "ptxas: no nvcc on this machine: the static device-code check is skipped"
        return
    fi
    note "ptxas: every kernel through ptxas -v for sm_80 and sm_90 against scripts/ptxas-budget.txt"
    budget_step ptxas "SPILLS>|STACK>|ptxas-budget" "a kernel spills or exceeds its stack budget, or nvcc failed" \
        "$ROOT/scripts/ptxas-budget.sh"
}

step_sass() {
    note "sass: SASS instructions per output of every kernel against scripts/sass-budget.txt"
    budget_step sass "^sass-count" "a kernel exceeds its instruction budget, or the count failed" \
        "$ROOT/scripts/sass-count.sh" --fetch
}

for s in "${steps[@]}"; do
    case "$s" in
        asan) step_asan ;;
        fuzz) step_fuzz ;;
        jni) step_jni ;;
        ptxas) step_ptxas ;;
        sass) step_sass ;;
        *) fail "unknown step '$s' (asan, fuzz, jni, ptxas, sass)" ;;
    esac
done

note "total $(($(date +%s) - t_all)) s"
if [ ${#failed[@]} -gt 0 ]; then
    note "FAILED steps: ${failed[*]}"
    exit 1
fi
note "all steps passed"
