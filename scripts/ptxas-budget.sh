#!/usr/bin/env bash
# Static check of the device code (issue 11, item 4): every kernel of src/main/cuda compiled by
# ptxas for sm_80 and sm_90 (nvcc -cubin -Xptxas -v: no host compile, no GPU needed), its
# registers, stack frame and spills tabulated; fails when a kernel spills or its stack frame
# (local memory) exceeds its budget in scripts/ptxas-budget.txt (kernels not listed: 0 bytes
# of stack, no spills).
# Usage: scripts/ptxas-budget.sh [out.txt]   (needs nvcc; exits 0 with a note when absent)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v nvcc >/dev/null 2>&1; then
    echo "ptxas-budget: no nvcc here: skipped"
    exit 0
fi
out="${1:-$ROOT/build-hardening/ptxas.txt}"
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
budget="$ROOT/scripts/ptxas-budget.txt"
nvcc --version | tail -1
for arch in 80 90; do
    for cu in src/main/cuda/*.cu; do
        nvcc -cubin -arch=sm_$arch -O3 --expt-relaxed-constexpr -Xptxas -v -I src/main/cpp/include \
            -o "$tmp/k.cubin" "$cu" 2>&1 | sed "s|^|sm_$arch $(basename "$cu") |"
    done
done >"$tmp/log"
# One line per kernel instantiation: arch file registers stack spill_stores spill_loads mangled
awk '
    /Compiling entry function/ { match($0, /function .[^ ]*. for/); fn = substr($0, RSTART + 10, RLENGTH - 15); arch = $1; file = $2 }
    /bytes stack frame/ { for (i = 1; i <= NF; i++) { if ($(i) == "bytes" && $(i+1) == "stack") st = $(i-1); if ($(i) == "spill" && $(i+1) == "stores,") ss = $(i-2); if ($(i) == "spill" && $(i+1) == "loads") sl = $(i-2) } }
    /Used [0-9]+ registers/ { match($0, /Used [0-9]+ registers/); reg = substr($0, RSTART + 5, RLENGTH - 15); print arch, file, reg, st, ss, sl, fn }
' "$tmp/log" >"$tmp/rows"
fail=0
{
    printf "%-6s %-16s %-44s %5s %6s %7s\n" arch file kernel regs stack spills
    while read -r arch file reg st ss sl fn; do
        name=$(echo "$fn" | c++filt | sed 's/(anonymous namespace):://g; s/^void //; s/(.*//' | tr -d ' ')
        base=${name%%<*}
        # the instantiation's own line first, else the kernel's
        line=$(awk -v k="$name" '$1 == k { print $2, $3; exit }' "$budget")
        [ -n "$line" ] || line=$(awk -v k="$base" '$1 == k { print $2, $3; exit }' "$budget")
        read -r allowed spill_ok <<<"${line:-0 0}"
        spill_ok=${spill_ok:-0}
        verdict=""
        if [ "$((ss + sl))" -gt "$spill_ok" ]; then verdict="SPILLS>${spill_ok}"; fi
        if [ "$st" -gt "$allowed" ]; then verdict="$verdict STACK>${allowed}"; fi
        [ -n "$verdict" ] && fail=1
        printf "%-6s %-16s %-44s %5s %6s %7s %s\n" "$arch" "$file" "$name" "$reg" "$st" "$((ss + sl))" "$verdict"
    done <"$tmp/rows"
} | tee "$out"
n=$(wc -l <"$tmp/rows")
[ "$n" -gt 0 ] || { echo "ptxas-budget: no kernels parsed (see the nvcc output)"; cat "$tmp/log"; exit 1; }
if grep -qE "SPILLS>|STACK>" "$out"; then
    echo "ptxas-budget: FAILED: a kernel spills or its stack frame exceeds scripts/ptxas-budget.txt"
    exit 1
fi
echo "ptxas-budget: ok, $n kernel instantiations (sm_80, sm_90) within budget"
