#!/usr/bin/env bash
# The Java GPU tests (GpuOperatorTest: every operator on DeviceTensors against the CPU, host
# staging, an own CudaStream and raw device addresses, stream-ordered copies, two GPUs, the debug
# mode; MemoryHardeningTest's DeviceTensor cases) against the emulated GPU (docs/EMULATOR.md):
# after `mvn install` (or test) has built target/native and target/classes, the emulated backend
# target/native/emu-java/libspatialact.so and the JNI glue beside it are loaded through
# NativeLoader's spatialact.library.path (reports in target/surefire-reports). Fails if
# a test fails or if any test of these classes was skipped (no emulated GPU found).
# Environment: SA_EMU_DEVICE (h100), SA_EMU_JAVA_TESTS (the test classes), SA_MVN_ARGS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
dir="$ROOT/target/native/emu-java"
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "emu-java: the emulated GPU is built on x86-64 Linux only: skipped"
    exit 0
fi
tests="${SA_EMU_JAVA_TESTS:-GpuOperatorTest,MemoryHardeningTest#deviceTensorCyclesLeaveRssFlat+closedDeviceTensorIsClosed}"
[ -f "$dir/libspatialact.so" ] || { echo "emu-java: $dir/libspatialact.so not built (run mvn install first)"; exit 1; }
jni=$(find "$ROOT/target/classes" -name libjnispatialact.so | head -1)
[ -n "$jni" ] || { echo "emu-java: libjnispatialact.so not found under target/classes"; exit 1; }
cp "$jni" "$dir/"
rm -rf "$ROOT/target/surefire-reports"
export SA_EMU_DEVICE="${SA_EMU_DEVICE:-h100}"
# two emulated GPUs: GpuOperatorTest.callsRunOnTheTensorsGpu needs them
export SA_EMU_DEVICES="${SA_EMU_DEVICES:-2}"
# shellcheck disable=SC2086
mvn -B -ntp ${SA_MVN_ARGS:-} surefire:test -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false \
    -Dsa.test.argLine="-Dspatialact.library.path=$dir"
run=0 skipped=0
for f in "$ROOT"/target/surefire-reports/TEST-*.xml; do
    [ -f "$f" ] || continue
    t=$(sed -n 's/.*<testsuite [^>]*tests="\([0-9]*\)".*/\1/p' "$f" | head -1)
    s=$(sed -n 's/.*<testsuite [^>]*skipped="\([0-9]*\)".*/\1/p' "$f" | head -1)
    run=$((run + ${t:-0}))
    skipped=$((skipped + ${s:-0}))
done
echo "emu-java: $run Java GPU tests on the emulated GPU ($SA_EMU_DEVICES x $SA_EMU_DEVICE), $skipped skipped"
[ "$run" -gt 0 ] && [ "$skipped" -eq 0 ] || { echo "emu-java: FAILED: the GPU tests did not all run"; exit 1; }
