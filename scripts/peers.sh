#!/usr/bin/env bash
# The peer benchmarks of issue 10 (item 5), one command: spatialact and ONNX Runtime Java in one
# JMH run (PeerBench), PyTorch eager on the CPU in its own process (torch_cpu_bench.py), then the
# summary table and chart (PeerChart). Same shapes and threads everywhere.
#   scripts/peers.sh [OUT_DIR=jmh/target/peers] [THREADS=2]
# Needs the library installed (mvn install), jmh/ and cli/ packaged (done here if missing),
# python3 with onnx and numpy (Debian: python3-onnx), optionally python3-torch.
# Environment: PEER_JMH_ARGS (extra JMH options, e.g. "-wi 1 -i 1" for a quick look).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-jmh/target/peers}"
THREADS="${2:-2}"
mkdir -p "$OUT"
PY=python3
# Debian's python3-onnx / python3-torch live in the system interpreter (pyenv may shadow it).
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import onnx" 2>/dev/null; then PY=/usr/bin/python3; fi
[ -f jmh/target/benchmarks.jar ] || mvn -B -q -f jmh/pom.xml package -DskipTests
[ -f cli/target/spatialact-cli.jar ] || mvn -B -q -f cli/pom.xml package -DskipTests
SHAPES="1x64x256x256,1x8x32x32"
for c in $(echo "$SHAPES" | tr ',' '\n' | cut -dx -f2 | sort -u); do
    "$PY" scripts/onnx_models.py --out "$OUT/onnx/C$c" --channels "$c"
done
echo "== JMH PeerBench (spatialact, ONNX Runtime Java; $THREADS threads)"
# shellcheck disable=SC2086
java -Dpeer.models="$OUT/onnx" -jar jmh/target/benchmarks.jar PeerBench -p shape="$SHAPES" -p threads="$THREADS" \
    -rf csv -rff "$OUT/peers.csv" ${PEER_JMH_ARGS:-} | grep -E "^(Benchmark|PeerBench)"
rm -f "$OUT/torch.tsv"
if "$PY" -c "import torch" 2>/dev/null; then
    echo "== PyTorch eager, CPU ($THREADS threads)"
    "$PY" scripts/torch_cpu_bench.py --threads "$THREADS" --shape 1x64x256x256 --shape 1x8x32x32 --tsv "$OUT/torch.tsv"
else
    echo "== PyTorch not installed: the chart has no PyTorch bars (Debian: apt install python3-torch)"
fi
echo "== summary"
caption="$(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) vCPUs, $THREADS threads, commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
java -cp cli/target/spatialact-cli.jar dev.spatialact.cli.PeerChart "$OUT/peers.csv" "$OUT/torch.tsv" "$OUT/peers.png" "$caption"
