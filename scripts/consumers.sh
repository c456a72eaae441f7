#!/usr/bin/env bash
# spatialact used as a dependency (issue 14, item 3): the library and spatialact-platform are
# installed into a FRESH local Maven repository (nothing left over from ~/.m2 can make it pass),
# then the two example projects run against it, each from a JUnit test and from a plain main:
#   examples/consumer             depends on dev.spatialact:spatialact-platform only
#   examples/consumer-classifier  depends on dev.spatialact:spatialact + classifier linux-x86_64
# and builds examples/cuda-interop (run; it skips without a GPU) and examples/jmh-user.
# The library's build tree (target/) is reused, so its install is quick; the fresh repository
# downloads the plugins and JavaCPP, JUnit from Maven Central (about 60 MB).
#   scripts/consumers.sh [REPO_DIR]      (default: a new temporary directory, removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="${1:-}"
if [ -z "$REPO" ]; then
    REPO="$(mktemp -d /tmp/sa-fresh-repo.XXXXXX)"
    trap 'rm -rf "$REPO"' EXIT
fi
M=(mvn -B -ntp -q -Dstyle.color=never -Dmaven.repo.local="$REPO")
t0=$(date +%s)
echo "== consumers: install spatialact and spatialact-platform into the fresh repository $REPO"
"${M[@]}" install -Dmaven.test.skip=true -DskipTests
"${M[@]}" -f platform/pom.xml install
for p in consumer consumer-classifier; do
    echo "== consumers: examples/$p: mvn test, then its main"
    "${M[@]}" -f "examples/$p/pom.xml" test
    out=$("${M[@]}" -f "examples/$p/pom.xml" compile exec:java)
    echo "$out" | sed 's/^/    /'
    echo "$out" | grep -q "^$p: ok$" || { echo "consumers: examples/$p: its main did not end with '$p: ok'"; exit 1; }
done
# The other examples users copy must at least build against the same repository: the CUDA interop
# (run: it says "skipped" without a GPU) and a JMH benchmark in a user's project (packaged).
echo "== consumers: examples/cuda-interop (runs; skips without a GPU) and examples/jmh-user (packaged)"
"${M[@]}" -f examples/cuda-interop/pom.xml compile exec:java | sed 's/^/    /'
"${M[@]}" -f examples/jmh-user/pom.xml package
[ -f examples/jmh-user/target/benchmarks.jar ] || { echo "consumers: examples/jmh-user built no benchmarks.jar"; exit 1; }
# What a user's class path holds: only spatialact's artifacts and JavaCPP.
"${M[@]}" -f examples/consumer/pom.xml dependency:list -DincludeScope=runtime -DoutputFile=/dev/stdout -DoutputAbsoluteArtifactFilename=false |
    grep -E "^ +[a-z]" | sed 's/^ */    runtime: /'
echo "consumers: both projects passed from a fresh local repository ($(($(date +%s) - t0)) s)"
