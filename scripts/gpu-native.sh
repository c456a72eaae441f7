#!/usr/bin/env bash
# Native checks on a GPU host that has nvcc, cmake and g++ but no Java:
#   1. configure + build into build-gpu with SA_CUDA=ON (Release),
#   2. ctest --output-on-failure,
#   3. test_ops with SA_TEST_HUGE=1 (GPU cases with more than 2^31 elements),
#   4. bench_ops (with its workbench of numbered kernel versions; the cuDNN baseline when
#      libcudnn.so.9 is found; SA_CUDNN_DIR is taken from PyTorch's bundled cuDNN when unset),
#      scripts/torch_frelu_bench.py and scripts/torch_td_bench.py (PyTorch eager beside this
#      library's TD / NTD kernels) when PyTorch is installed,
#   5. compute-sanitizer memcheck, racecheck, synccheck and initcheck on test_ops and test_td,
#      when present. SA_REQUIRE_GPU=1: the native tests fail instead of skipping without a GPU.
# Every step logs to $1 (default ./gpu-out). A failing step after the build does not stop
# the others, so that all logs are collected; the exit status is non-zero if any failed.
#
# Environment: SA_CUDA_ARCH (CMAKE_CUDA_ARCHITECTURES, default the project's 80/90 set),
# SA_SKIP_HUGE=1, SA_SKIP_SANITIZERS=1, SA_CUDNN_DIR, JOBS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-./gpu-out}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
BUILD="$ROOT/build-gpu"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 4)}"

failed=()
# step NAME CMD...: runs CMD with stdout+stderr into $OUT/NAME.log (and the console), records
# a failure instead of exiting.
step() {
    local name="$1"
    shift
    echo "==> $name: $*"
    local rc=0
    "$@" 2>&1 | tee "$OUT/$name.log" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "==> $name FAILED (exit $rc); log: $OUT/$name.log"
        failed+=("$name")
    else
        echo "==> $name ok"
    fi
}

{
    echo "date: $(date -u +%FT%TZ)"
    echo "host: $(uname -a)"
    git -C "$ROOT" rev-parse HEAD 2>/dev/null | sed 's/^/commit: /' || true
    command -v nvidia-smi >/dev/null && nvidia-smi || echo "nvidia-smi: not found"
    # the driver (CUDA 13's static runtime needs R580+); test_ops prints the library's runtime
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | sed 's/^/driver: /'

    command -v nvcc >/dev/null && nvcc --version || echo "nvcc: not found"
    cmake --version | sed -n 1p
    g++ --version | sed -n 1p
} >"$OUT/env.log" 2>&1 || true
cat "$OUT/env.log"

# Configure and build: without a build there is nothing to run, so these stop the script.
cmake_args=(-S "$ROOT" -B "$BUILD" -DSA_CUDA=ON -DCMAKE_BUILD_TYPE=Release)
if [ -n "${SA_CUDA_ARCH:-}" ]; then cmake_args+=("-DCMAKE_CUDA_ARCHITECTURES=$SA_CUDA_ARCH"); fi
cmake "${cmake_args[@]}" 2>&1 | tee "$OUT/configure.log"
cmake --build "$BUILD" -j "$JOBS" 2>&1 | tee "$OUT/build.log"

TESTS="$BUILD/src/test/native"

# The GPU cases must run here: a test program that finds no GPU fails instead of skipping.
export SA_REQUIRE_GPU=1
step ctest ctest --test-dir "$BUILD" --output-on-failure

if [ "${SA_SKIP_HUGE:-0}" != "1" ]; then
    step test_ops_huge env SA_TEST_HUGE=1 "$TESTS/test_ops"
fi

# cuDNN for the baseline: PyTorch wheels bundle it (nvidia-cudnn-cu*); use that unless told.
if [ -z "${SA_CUDNN_DIR:-}" ] && command -v python3 >/dev/null; then
    SA_CUDNN_DIR="$(python3 -c 'import os, nvidia.cudnn as m; print(os.path.join(list(m.__path__)[0], "lib"))' \
        2>/dev/null || true)"
fi
if [ -n "${SA_CUDNN_DIR:-}" ]; then
    export SA_CUDNN_DIR
    export LD_LIBRARY_PATH="$SA_CUDNN_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "cuDNN directory: $SA_CUDNN_DIR"
fi
step bench "$TESTS/bench_ops"

if command -v python3 >/dev/null && python3 -c 'import torch' >/dev/null 2>&1; then
    step torch_bench python3 "$ROOT/scripts/torch_frelu_bench.py"
    # TD and NTD as PyTorch eager ops beside this library's kernels (ctypes, the same stream)
    step torch_td_bench python3 "$ROOT/scripts/torch_td_bench.py" --lib "$BUILD/libspatialact.so"
else
    echo "torch_frelu_bench: skipped (python3 with torch not found)" | tee "$OUT/torch_bench.log"
fi

SANITIZER="$(command -v compute-sanitizer || true)"
if [ -z "$SANITIZER" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ]; then
    SANITIZER=/usr/local/cuda/bin/compute-sanitizer
fi
if [ "${SA_SKIP_SANITIZERS:-0}" = "1" ]; then
    echo "compute-sanitizer: skipped (SA_SKIP_SANITIZERS=1)"
elif [ -z "$SANITIZER" ]; then
    echo "compute-sanitizer: not found, skipped" | tee "$OUT/sanitizer.log"
else
    # Every shape up to 1x1x300x301 (100 FReLU tiles per plane) runs; the 1M-element one is
    # left out to keep the instrumented runs to minutes.
    export SA_TEST_MAX_NUMEL="${SA_TEST_MAX_NUMEL:-100000}"
    step sanitizer-memcheck "$SANITIZER" --tool memcheck --leak-check full --error-exitcode 99 "$TESTS/test_ops"
    step sanitizer-racecheck "$SANITIZER" --tool racecheck --racecheck-report all --error-exitcode 99 "$TESTS/test_ops"
    step sanitizer-synccheck "$SANITIZER" --tool synccheck --error-exitcode 99 "$TESTS/test_ops"
    step sanitizer-initcheck "$SANITIZER" --tool initcheck --error-exitcode 99 "$TESTS/test_ops"
    for tool in memcheck racecheck synccheck initcheck; do
        step "sanitizer-$tool-td" "$SANITIZER" --tool "$tool" --error-exitcode 99 "$TESTS/test_td"
    done
    unset SA_TEST_MAX_NUMEL
fi

echo
if [ "${#failed[@]}" -ne 0 ]; then
    echo "FAILED steps: ${failed[*]} (logs in $OUT)"
    exit 1
fi
echo "all steps passed (logs in $OUT)"
