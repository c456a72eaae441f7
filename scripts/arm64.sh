#!/usr/bin/env bash
# linux-arm64 (issue 14, item 2): the native library cross-built with Debian's aarch64 toolchain
# (cmake/aarch64-linux-gnu.cmake; the CPU kernels' NEON path in kernels/simd.h, no CUDA), the
# native test programs run under qemu-user (every operator against the float64 references), the
# JNI glue cross-compiled through JavaCPP's linux-arm64 platform properties, and the platform jar
# target/spatialact-VERSION-linux-arm64.jar (installed into the local repository with -i).
#   scripts/arm64.sh [-i]
# Needs g++-aarch64-linux-gnu and qemu-user (.ci/run installs them), and target/classes (mvn
# install first). test_cancel is left out under qemu: its stop latency is one TD tile through
# all iterations, minutes when emulated (it runs natively in ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
INSTALL=0
[ "${1:-}" = "-i" ] && INSTALL=1
VERSION=0.1.0-SNAPSHOT
B=build-arm64
t0=$(date +%s)
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
    command -v "$tool" >/dev/null || { echo "arm64: $tool is missing (apt install g++-aarch64-linux-gnu qemu-user)"; exit 1; }
done
[ -d target/classes/dev/spatialact/internal ] || { echo "arm64: build the Java classes first (mvn install)"; exit 1; }
echo "== arm64: cross build ($B)"
mkdir -p "$B"
cmake -S . -B "$B" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release -DSA_CUDA=OFF \
    -DSA_BUILD_TESTS=ON >"$B/build.log" 2>&1 || { tail -20 "$B/build.log"; exit 1; }
cmake --build "$B" -j "${SA_JOBS:-2}" >>"$B/build.log" 2>&1 || { grep -E "error" "$B/build.log" | head -20; exit 1; }
file "$B/libspatialact.so" | grep -q "ARM aarch64" || { echo "arm64: $B/libspatialact.so is not an arm64 library"; exit 1; }
echo "== arm64: native tests under qemu-aarch64"
failed=0
for t in "$B"/src/test/native/test_*; do
    name=$(basename "$t")
    [ "$name" = test_cancel ] && continue
    if out=$(qemu-aarch64 -L /usr/aarch64-linux-gnu "$t" 2>&1); then :; else failed=1; fi
    echo "$out" | grep -E "passed, [0-9]+ failed|FAIL" | tail -3 | sed "s/^/    $name: /"
done
[ $failed -eq 0 ] || { echo "arm64: a native test failed under qemu"; exit 1; }
echo "== arm64: JNI glue (JavaCPP, platform linux-arm64)"
JAVACPP=$(ls ~/.m2/repository/org/bytedeco/javacpp/1.5.14/javacpp-1.5.14.jar)
out="$B/jar/dev/spatialact/internal/linux-arm64"
rm -rf "$B/jar" && mkdir -p "$out"
java -jar "$JAVACPP" -classpath target/classes -properties linux-arm64 -Dplatform.compiler=aarch64-linux-gnu-g++ \
    -Dplatform.includepath=src/main/cpp/include:src/main/cpp/jni -Dplatform.linkpath="$B" \
    -d "$out" dev.spatialact.internal.SpatialActNative >"$B/javacpp.log" 2>&1 || { tail -20 "$B/javacpp.log"; exit 1; }
cp "$B/libspatialact.so" "$out/"
file "$out/libjnispatialact.so" | grep -q "ARM aarch64" || { echo "arm64: the JNI glue is not arm64"; exit 1; }
jar="target/spatialact-$VERSION-linux-arm64.jar"
printf 'Automatic-Module-Name: dev.spatialact.linux.arm64\n' >"$B/manifest.txt"
(cd "$B/jar" && jar cfm "../../$jar" ../manifest.txt dev)
echo "arm64: $jar: $(unzip -l "$jar" | grep -c '\.so$') native libraries ($(du -h "$jar" | cut -f1))"
if [ $INSTALL -eq 1 ]; then
    mvn -B -ntp -q install:install-file -Dfile="$jar" -DgroupId=dev.spatialact -DartifactId=spatialact -Dversion=$VERSION \
        -Dclassifier=linux-arm64 -Dpackaging=jar -DgeneratePom=false
    echo "arm64: installed dev.spatialact:spatialact:$VERSION:linux-arm64"
fi
echo "arm64: ok ($(($(date +%s) - t0)) s)"
