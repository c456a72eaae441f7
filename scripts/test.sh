#!/usr/bin/env bash
# The project's test command (README): the Java suite and the native ctest programs, then the
# hardening checks (sanitizers, fuzzing, -Xcheck:jni). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== mvn test (JUnit 5, then the native ctest programs)"
mvn -B -ntp test

if [ -x scripts/hardening.sh ]; then
    echo "== scripts/hardening.sh"
    scripts/hardening.sh
fi
