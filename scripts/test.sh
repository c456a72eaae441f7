#!/usr/bin/env bash
# The project's test command (README): the library's Java suite and native ctest programs, the
# CLI's suite, then the hardening checks (sanitizers, fuzzing, -Xcheck:jni). Exits non-zero on
# the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== mvn install (the library: JUnit 5, then the native ctest programs; installed for the CLI)"
mvn -B -ntp install
# The emulated GPU's summary (src/test/native/emu: the CUDA kernels run by ctest above).
grep -hE "^emulated GPU: [0-9]+ passed|^GPU FReLU outputs bit-identical|^  .*(no_barrier|short|unguarded)[a-z_]*: " \
    target/native/Testing/Temporary/LastTest.log 2>/dev/null | sed 's/^/  /' || true

# The Java GPU tests on the emulated GPU: the same test classes, with the emulated backend
# (target/native/emu-java/libspatialact.so, built by ctest's tree above; never in the jar)
# loaded through NativeLoader's spatialact.library.path. They must run, not skip.
echo "== Java GPU tests on the emulated GPU (docs/EMULATOR.md)"
scripts/emu-java.sh

echo "== platform: mvn install (spatialact-platform, the aggregator the CLI and users depend on)"
mvn -B -ntp -q -f platform/pom.xml install

echo "== cli: mvn test (the command-line tool and demo, against the installed library)"
mvn -B -ntp -f cli/pom.xml test

if command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null; then
    echo "== scripts/arm64.sh (linux-arm64: cross build, native tests under qemu, the platform jar)"
    scripts/arm64.sh -i
else
    echo "== linux-arm64 skipped: no aarch64-linux-gnu-g++ / qemu-aarch64 (.ci/run installs them)"
fi

echo "== scripts/consumers.sh (the examples as users' projects, from a fresh local Maven repository)"
scripts/consumers.sh

if [ -x scripts/hardening.sh ]; then
    echo "== scripts/hardening.sh"
    scripts/hardening.sh
fi
