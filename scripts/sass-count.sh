#!/usr/bin/env bash
# SASS instructions per output of every CUDA kernel (issue 12, item 6), without a GPU: each
# src/main/cuda/*.cu compiled by nvcc to a cubin for sm_80 and sm_90 (as scripts/ptxas-budget.sh
# does), disassembled by cuobjdump -sass, counted by scripts/sass_count.py (the steady-state
# loop's instructions per output element; see its header for what the figure means).
#
# cuobjdump and nvdisasm: from PATH, else $SA_SASS_TOOLS (default ~/.cache/spatialact/cuda-11.8).
# With --fetch, where neither has them, they are taken from Debian's nvidia-cuda-toolkit 11.8
# (bookworm non-free: an 84 MB .deb, checked against its SHA-256 below; only the two programs
# are kept). CUDA 11.8's tools read CUDA 13's cubins once the ELF header is given the old
# layout (OS/ABI 0x33, ABI version 7, e_flags sm | sm << 16 | 0x500): the code itself is
# untouched, and instructions newer than 11.8 are still counted (unnamed, 16 bytes each).
#
# Budget: scripts/sass-budget.txt caps the instructions per output of the kernels it names (on
# both architectures); the script fails when one exceeds its cap. Kernels not named: counted,
# not checked.
# Usage: scripts/sass-count.sh [--fetch] [out.txt]   (exits 0 with a note when nvcc or the
# disassembler is absent, or the download fails)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
fetch=0
if [ "${1:-}" = "--fetch" ]; then fetch=1; shift; fi
out="${1:-$ROOT/build-hardening/sass.txt}"
if ! command -v nvcc >/dev/null 2>&1; then
    echo "sass-count: no nvcc here: skipped"
    exit 0
fi
tools="${SA_SASS_TOOLS:-$HOME/.cache/spatialact/cuda-11.8}"
deb_url="http://deb.debian.org/debian/pool/non-free/n/nvidia-cuda-toolkit/nvidia-cuda-toolkit_11.8.89~11.8.0-5~deb12u1_amd64.deb"
deb_sha256="d1156026e704fe0368b6295db06224ed00a727966fb13454f34e3f3102db0457"
if command -v cuobjdump >/dev/null 2>&1 && command -v nvdisasm >/dev/null 2>&1; then
    cuobjdump=cuobjdump
elif [ -x "$tools/cuobjdump" ] && [ -x "$tools/nvdisasm" ]; then
    cuobjdump="$tools/cuobjdump"
    export PATH="$tools:$PATH"
elif [ "$fetch" = 1 ]; then
    mkdir -p "$tools"
    dl=$(mktemp -d)
    echo "sass-count: fetching cuobjdump and nvdisasm from Debian's nvidia-cuda-toolkit 11.8"
    if ! curl -fsS --retry 3 -o "$dl/tk.deb" "$deb_url"; then
        echo "sass-count: the download failed: skipped"
        rm -rf "$dl"
        exit 0
    fi
    echo "$deb_sha256  $dl/tk.deb" | sha256sum -c --quiet || { rm -rf "$dl"; exit 1; }
    dpkg-deb --fsys-tarfile "$dl/tk.deb" | tar -x -C "$dl" ./usr/bin/cuobjdump ./usr/bin/nvdisasm
    mv "$dl/usr/bin/cuobjdump" "$dl/usr/bin/nvdisasm" "$tools/"
    rm -rf "$dl"
    cuobjdump="$tools/cuobjdump"
    export PATH="$tools:$PATH"
else
    echo "sass-count: no cuobjdump/nvdisasm (PATH or $tools): skipped; --fetch takes them from Debian"
    exit 0
fi
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nvcc --version | tail -1
"$cuobjdump" --version | tail -1
# Rewrites a CUDA 12.8+/13 cubin header (OS/ABI 0x41, ABI version 8) into the layout older
# disassemblers read; other cubins are left as they are.
old_header() {
    python3 - "$1" <<'EOF'
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
if b[7] == 0x41:
    sm = (struct.unpack_from("<I", b, 0x30)[0] >> 8) & 0xFF
    b[7], b[8] = 0x33, 7
    struct.pack_into("<I", b, 0x14, 0x76)
    struct.pack_into("<I", b, 0x30, (sm << 16) | 0x0500 | sm)
    open(p, "wb").write(b)
EOF
}
{
python3 scripts/sass_count.py --header
for arch in 80 90; do
    for cu in src/main/cuda/*.cu; do
        name=$(basename "$cu" .cu)
        nvcc -cubin -arch=sm_$arch -O3 --expt-relaxed-constexpr -I src/main/cpp/include \
            -o "$tmp/$name.cubin" "$cu"
        "$cuobjdump" -sass "$tmp/$name.cubin" >"$tmp/$name.sass" 2>/dev/null || {
            old_header "$tmp/$name.cubin"
            "$cuobjdump" -sass "$tmp/$name.cubin" >"$tmp/$name.sass"
        }
        python3 scripts/sass_count.py "$tmp/$name.sass" "sm_$arch"
    done
done
} | tee "$out"
n=$(($(wc -l <"$out") - 1))
[ "$n" -gt 0 ] || { echo "sass-count: no kernels parsed"; exit 1; }
# The budget: name cap; the table's per_out column is field 6.
fail=0
while read -r name cap; do
    case "$name" in ''|'#'*) continue ;; esac
    rows=$(awk -v k="$name" '$2 == k' "$out")
    if [ -z "$rows" ]; then
        echo "sass-count: FAILED: $name (scripts/sass-budget.txt) is not in the table"
        fail=1
        continue
    fi
    while read -r arch _ _ _ _ per _; do
        if ! [[ "$per" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
            echo "sass-count: FAILED: $arch $name: no steady-state loop counted ($per)"
            fail=1
        elif awk -v p="$per" -v c="$cap" 'BEGIN { exit !(p > c) }'; then
            echo "sass-count: FAILED: $arch $name: $per instructions per output, budget $cap"
            fail=1
        else
            echo "sass-count: $arch $name: $per instructions per output (budget $cap)"
        fi
    done <<<"$rows"
done <"$ROOT/scripts/sass-budget.txt"
[ "$fail" = 0 ] || exit 1
echo "sass-count: ok, $n kernel instantiations counted, the budget's kernels within it"
