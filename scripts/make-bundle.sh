#!/usr/bin/env bash
# Builds a self-contained bundle that runs the Java tests and the JMH benchmarks on a GPU host
# that has no JDK and no Maven (for example the lent H100/H200 machines):
#   bundle/spatialact/jre/          a jlink runtime (Temurin 25 by default: needs only glibc 2.17+)
#   bundle/spatialact/lib/          the library jar (native libraries inside), JavaCPP, JUnit, JMH jars
#   bundle/spatialact/test-classes/ the compiled JUnit tests
#   bundle/spatialact/run-tests.sh  runs every JUnit test (GPU tests included) with the console launcher
#   bundle/spatialact/run-jmh.sh    runs the JMH benchmarks (args passed to JMH), JSON into $OUT or ./
# Size: about 52 MB unpacked (48 MB of it the runtime); bundle/spatialact.tar.gz is what travels.
#
# Usage: scripts/make-bundle.sh [--no-jmh]     env: JLINK_JDK (a JDK home with jlink)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bundle/spatialact
with_jmh=1
[ "${1:-}" = "--no-jmh" ] && with_jmh=0

jdk=${JLINK_JDK:-}
if [ -z "$jdk" ]; then
    for d in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 "${JAVA_HOME:-}"; do
        if [ -n "$d" ] && [ -x "$d/bin/jlink" ]; then jdk=$d; break; fi
    done
fi
[ -n "$jdk" ] || { echo "make-bundle: no JDK with jlink found; set JLINK_JDK" >&2; exit 1; }

echo "make-bundle: building the library and the tests"
mvn -B -q -ntp package -DskipTests
mvn -B -q -ntp dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$root/target/bundle-deps"
mvn -B -q -ntp dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4 \
    -DoutputDirectory="$root/target/bundle-deps"
if [ $with_jmh = 1 ] && [ -f jmh/pom.xml ]; then
    echo "make-bundle: building the JMH benchmarks"
    mvn -B -q -ntp install -DskipTests
    mvn -B -q -ntp -f jmh/pom.xml package
fi

rm -rf "$out"
mkdir -p "$out/lib"
echo "make-bundle: jlink runtime from $jdk"
"$jdk/bin/jlink" --add-modules java.base,java.logging,java.xml,java.management,jdk.management,jdk.unsupported,jdk.zipfs \
    --strip-debug --no-header-files --no-man-pages --compress=zip-6 --output "$out/jre"
cp target/spatialact-0.1.0-SNAPSHOT.jar target/spatialact-0.1.0-SNAPSHOT-linux-x86_64.jar "$out/lib/"  # classes + natives
# JUnit's own jars are inside the console launcher; the rest (JavaCPP) goes on the class path.
for j in target/bundle-deps/*.jar; do
    case "$(basename "$j")" in
        junit-jupiter*|junit-platform-commons*|junit-platform-engine*|opentest4j*|apiguardian*) ;;
        *) cp "$j" "$out/lib/" ;;
    esac
done
cp -r target/test-classes "$out/test-classes"
# benchmarks.jar carries ONNX Runtime (PeerBench, ~140 MB): too big for a device call's 64 MiB.
if [ -f jmh/target/benchmarks.jar ] && [ "$(stat -c %s jmh/target/benchmarks.jar)" -lt 33554432 ]; then
    cp jmh/target/benchmarks.jar "$out/lib/"
elif [ -f jmh/target/benchmarks.jar ]; then
    echo "make-bundle: jmh/target/benchmarks.jar left out (over 32 MiB: it carries ONNX Runtime)" >&2
fi

cat > "$out/run-tests.sh" <<'RUN'
#!/usr/bin/env bash
# Runs every JUnit test of spatialact with the bundled runtime. Extra args go to the launcher
# (e.g. --select-class dev.spatialact.GpuOperatorTest). Reports land in ${OUT:-.}/junit-reports.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cp=$(ls "$here"/lib/*.jar | grep -v -e console-standalone -e benchmarks.jar | tr '\n' ':')
reports=${OUT:-.}/junit-reports
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--scan-class-path)
exec "$here/jre/bin/java" --enable-native-access=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED \
    -Dorg.bytedeco.javacpp.cachedir="${TMPDIR:-/tmp}/spatialact-javacpp-cache" \
    -jar "$here"/lib/junit-platform-console-standalone-*.jar execute \
    --class-path "$cp$here/test-classes" --reports-dir "$reports" --details=tree "${args[@]}"
RUN
cat > "$out/run-jmh.sh" <<'RUN'
#!/usr/bin/env bash
# Runs the JMH benchmarks with the bundled runtime; arguments go to JMH (a regex, -p, -wi, ...).
# JSON results: ${OUT:-.}/jmh-result.json
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$here/lib/benchmarks.jar" ] || { echo "no benchmarks.jar in this bundle" >&2; exit 1; }
exec "$here/jre/bin/java" --enable-native-access=ALL-UNNAMED \
    -Dorg.bytedeco.javacpp.cachedir="${TMPDIR:-/tmp}/spatialact-javacpp-cache" \
    -jar "$here/lib/benchmarks.jar" -rf json -rff "${OUT:-.}/jmh-result.json" "$@"
RUN
chmod +x "$out/run-tests.sh" "$out/run-jmh.sh"
du -sh "$out" | awk '{print "make-bundle: " $1 " in " $2}'
# The tarball is what travels to a GPU host (about half the size): carry bundle/spatialact.tar.gz,
# then there: tar -xzf bundle/spatialact.tar.gz -C /tmp && /tmp/spatialact/run-tests.sh
tar -C "$root/bundle" -czf "$root/bundle/spatialact.tar.gz" spatialact
ls -la "$root/bundle/spatialact.tar.gz" | awk '{print "make-bundle: " $5 " bytes in " $9}'
