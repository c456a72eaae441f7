#!/usr/bin/env bash
# Builds spatialact and its JMH benchmarks, runs them, and leaves the results in jmh/results/.
#
#   jmh/run.sh [REGEX] [EXTRA JMH ARGS...]
#
#   REGEX       benchmarks to run (JMH regex; default: all; env BENCH works too), e.g.
#               'ActivationBench|OverheadBench', 'OverheadBench', 'ActivationBench.frelu$'
#   EXTRA ARGS  passed to JMH after the defaults (env JMH_ARGS works too), e.g.
#               -p shape=1x64x256x256   -prof gc   -wi 2 -i 3 -f 1
#
# Environment:
#   QUICK=1           quick mode: -wi 2 -i 3 -f 1 (about a third of the full time)
#   THREADS=n         JMH threads (default 2, one per core of the reference machine)
#   SKIP_BUILD=1      do not rebuild the library or the benchmarks
#   OUT=dir           results directory (default jmh/results; ignored by git via jmh/.gitignore)
#   TAG=name          file name stem of this run (default: date-time)
#
# Defaults (from the annotations): ActivationBench and CudaBench 2 forks x (3 warm-up + 3
# measured) x 1 s, OverheadBench 2 forks x (3 + 5) x 1 s. All of ActivationBench (40
# configurations) and OverheadBench (16) take about 15 minutes on a 2-core machine; QUICK=1
# about 6. CudaBench runs only where the CUDA backend is usable (see Env --cuda); elsewhere it is
# excluded (-e CudaBench).
#
# Files: results/TAG.json (JMH -rf json), TAG.log (console), TAG.env (machine, commit, command),
# TAG.load (load average every 5 s during the run: the machine may be shared), TAG.md
# (summarize.py: medians, elements/s, GB/s, ratios and bars).
#
# On a loaded machine, two interleaved (paired) checks complement the JMH scores (not JMH):
#   java -cp jmh/target/benchmarks.jar dev.spatialact.jmh.OverheadPaired 1x8x32x32 2
#   java -Xmx2g -cp jmh/target/benchmarks.jar dev.spatialact.jmh.RatioPaired 1x64x256x256 2
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="${OUT:-$HERE/results}"
TAG="${TAG:-$(date +%Y%m%d-%H%M%S)}"
THREADS="${THREADS:-2}"
JAR="$HERE/target/benchmarks.jar"

REGEX="${BENCH:-}"
if [[ $# -gt 0 && "$1" != -* ]]; then REGEX="$1"; shift; fi
EXTRA=()
if [[ -n "${JMH_ARGS:-}" ]]; then read -r -a EXTRA <<<"$JMH_ARGS"; fi
EXTRA+=("$@")
# JMH rejects an option given twice: a default is added only if EXTRA does not set it.
has_opt() { local o; for o in "${EXTRA[@]}"; do [[ "$o" == "$1" ]] && return 0; done; return 1; }
DEFAULTS=()
has_opt -t || DEFAULTS+=(-t "$THREADS")
if [[ "${QUICK:-0}" == 1 ]]; then
    has_opt -wi || DEFAULTS+=(-wi 2)
    has_opt -i || DEFAULTS+=(-i 3)
    has_opt -f || DEFAULTS+=(-f 1)
fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo ">> building the library (mvn -q install -DskipTests in $ROOT)"
    (cd "$ROOT" && mvn -q install -DskipTests)
    echo ">> building the benchmarks (mvn -q package in $HERE)"
    (cd "$HERE" && mvn -q package)
fi
[[ -f "$JAR" ]] || { echo "no $JAR: build first (without SKIP_BUILD=1)" >&2; exit 1; }

mkdir -p "$OUT"
EXCLUDE=()
if ! java -cp "$JAR" dev.spatialact.jmh.Env --cuda >/dev/null 2>&1; then
    echo ">> CUDA backend unavailable here: CudaBench excluded"
    EXCLUDE=(-e CudaBench)
fi

CMD=(java -jar "$JAR" "${DEFAULTS[@]}" "${EXCLUDE[@]}" -rf json -rff "$OUT/$TAG.json" "${EXTRA[@]}")
[[ -n "$REGEX" ]] && CMD+=("$REGEX")

{
    echo "date: $(date -Is)"
    echo "host: $(uname -srm)"
    echo "cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | sed -n 1p), $(nproc) CPUs"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ has uncommitted changes)')"
    if [[ "${SKIP_BUILD:-0}" == 1 ]]; then
        echo "SKIP_BUILD=1: benchmarks.jar (with the library inside) built $(date -Is -r "$JAR"), not from this commit necessarily"
    fi
    echo "load before: $(cat /proc/loadavg)"
    echo "command: ${CMD[*]}"
    java -cp "$JAR" dev.spatialact.jmh.Env
} | tee "$OUT/$TAG.env"

# Load sampler: the machine may be shared; the load during the run says how much to trust it.
( while true; do echo "$(date +%T) $(cut -d' ' -f1-4 /proc/loadavg)"; sleep 5; done ) >"$OUT/$TAG.load" &
SAMPLER=$!
trap 'kill "$SAMPLER" 2>/dev/null || true' EXIT

echo ">> ${CMD[*]}"
"${CMD[@]}" 2>&1 | tee "$OUT/$TAG.log"

echo "load after: $(cat /proc/loadavg)" | tee -a "$OUT/$TAG.env"
python3 "$HERE/summarize.py" "$OUT/$TAG.json" | tee "$OUT/$TAG.md"
echo ">> results: $OUT/$TAG.{json,log,env,load,md}"
