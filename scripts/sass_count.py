#!/usr/bin/env python3
"""Counts SASS instructions of the CUDA kernels (issue 12, item 6): reads `cuobjdump -sass`
output, finds each kernel's loops (backward branches) and reports, for the steady-state loop -
the innermost loop that stores outputs to global memory - its instructions per output element.

The steady-state loop is the one that stores the most output words per pass (the main loop,
not a scalar tail); of equals, the innermost. Per output = instructions of one pass through the loop body / output words it stores (STG.E 1,
STG.E.64 2, STG.E.128 4) per thread. The count is static: a body with branches (tails, the first
step of a strip) counts both sides, so it is an upper bound of what one steady-state pass issues
where a branch is skipped, and exact for a straight-line body. A body that contains inner loops
(runtime trip counts) is flagged "inner": its figure counts each inner loop's body once and is a
lower bound then.

The bit wavefront of TD-LReLU (td_bit_kernel<R>, src/main/cuda/td_lrelu.cu) stores its outputs
in a loop that is not where its work is (level 0 writes y out of the o ring), so its row is a
composite instead (note "composite"): for T = 5 and the planner's widest strip (TW = 256 -
2 T R: a ring of 256 columns), the instructions every thread of a block issues in one step of
its rows (as many as level 0's loop loads per column) - level 0 (its loop without row checks,
one column per thread), the levels 1 .. T - 1 (the item loop with the warp votes, less its
guarded branch to the out-of-line border path, per warp of items of each 8-row block) and level
T (the item loop that stages y: the shorter of its two variants, alpha != 0 and alpha == 0),
plus every level's set-up around its item loop for all 256 threads - divided by the step's
rows x TW outputs. It relies on ptxas's layout: the fast path first, jumping over the guarded
call site (`@P BRA X ... BRA J`); a different layout shows as an implausible figure. Idle
lanes of a partly used warp, the halo columns of the strip and the chunks rounded to 8 columns
are all counted; the border path (rows within R of the plane's top or bottom, items at the
image's left or right edge) is not.

Usage: sass_count.py SASS_FILE [ARCH]   (one row per kernel instantiation); sass_count.py --header;
       sass_count.py --loops SASS_FILE KERNEL   (every loop of one kernel, e.g. td_wave_kernel<3,false>)
       sass_count.py --td-bits SASS_FILE KERNEL [T]   (the composite's terms, e.g. td_bit_kernel<3>)
Instructions that this cuobjdump cannot name (newer ones, e.g. sm_90's VIADD when CUDA 11.8's
disassembler reads CUDA 13's code) are still counted: each SASS instruction of sm_70+ is 16 bytes.
"""
import re
import subprocess
import sys

# Opcodes (low 12 bits of the first word) newer than CUDA 11.8's disassembler, where known.
NEW_OPCODES = {0x836: "VIADD", 0xC36: "VIADD", 0x848: "VIMNMX", 0x248: "VIMNMX"}

INST = re.compile(r"^\s+/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;\s*/\* 0x([0-9a-f]{16}) \*/")
RAW = re.compile(r"^\s+/\* 0x([0-9a-f]{16}) \*/\s*$")
BRANCH = re.compile(r"\bBRA(?:\.\S+)? (?:\S+, )?0x([0-9a-f]+)")


def parse(lines):
    funcs, cur, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^\s+Function : (\S+)", line)
        if m:
            cur = [m.group(1), []]
            funcs.append(cur)
            i += 1
            continue
        m = INST.match(line)
        if m and cur is not None:
            cur[1].append((int(m.group(1), 16), m.group(2)))
            i += 2  # the second line holds the instruction's upper 64 bits
            continue
        m = RAW.match(line)
        if m and cur is not None and cur[1] and i + 1 < len(lines) and RAW.match(lines[i + 1]):
            op = int(m.group(1), 16) & 0xFFF
            cur[1].append((cur[1][-1][0] + 16, "%s?" % NEW_OPCODES.get(op, "op%03x" % op)))
            i += 2
            continue
        i += 1
    return funcs


def stg_words(t):
    m = re.search(r"\bSTG\.E(?:\.EF|\.EL|\.LU|\.STRONG\.\w+)*(?:\.(64|128))?\b", t)
    if not m:
        return 0
    return {None: 1, "64": 2, "128": 4}[m.group(1)]


def demangle(names):
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout.split("\n")
    res = []
    for d in out[: len(names)]:
        d = d.replace("(anonymous namespace)::", "").replace("void ", "", 1)
        d = re.sub(r"\(.*\)$", "", d).replace(" ", "")
        res.append(d)
    return res


def loops_of(insts):
    out = []
    for a, t in insts:
        m = BRANCH.search(t)
        if m and int(m.group(1), 16) <= a:
            out.append((int(m.group(1), 16), a))
    return out


def without_guarded(insts, s, e):
    """Instructions of the loop [s, e] less its guarded regions: wherever a forward branch's
    target X follows an unconditional BRA J past X (a fast path jumping over a guarded one),
    [X, J) is left out (regions that nest or overlap counted once). Returns (count, guarded)."""
    body = [(a, t) for a, t in insts if s <= a <= e]
    index = {a: i for i, (a, _) in enumerate(body)}
    skip = set()
    for a, t in body:
        m = re.match(r"@!?P\d\s+BRA\s+(?:!?P\d,\s*)?0x([0-9a-f]+)", t)
        if not m:
            continue
        x = int(m.group(1), 16)
        if x <= a or x not in index or index[x] == 0:
            continue
        m2 = re.match(r"BRA\s+0x([0-9a-f]+)", body[index[x] - 1][1])
        if m2 and int(m2.group(1), 16) > x:
            j = int(m2.group(1), 16)
            skip.update(range(index[x], index.get(j, len(body))))
    return len(body) - len(skip), len(skip)


def td_bits(insts, R, T=5):
    """The bit wavefront's composite (see the module's doc): (per output, terms)."""
    loops = loops_of(insts)
    cnt = lambda s, e, p: sum(1 for a, t in insts if s <= a <= e and re.search(p, t))
    size = lambda l: cnt(l[0], l[1], r".")
    lvl0 = [l for l in loops if cnt(*l, r"\bLDG") and cnt(*l, r"\bSTG") and not cnt(*l, r"\bFFMA")]
    items = [l for l in loops if cnt(*l, r"\bFFMA") and cnt(*l, r"\bLDS") and not any(
        o != l and l[0] <= o[0] and o[1] <= l[1] and cnt(*o, r"\bFFMA") for o in loops)]
    voting = [l for l in items if cnt(*l, r"\bVOTE")]
    last = [l for l in items if not cnt(*l, r"\bVOTE")]
    if not lvl0 or len(voting) != 1 or len(last) != 2:
        return None, "unexpected loops"
    l0loop = min(lvl0, key=size)
    l0 = size(l0loop)
    rows = cnt(*l0loop, r"\bLDG")  # rows per step: level 0 loads one o per row and column
    # row blocks of 8 per pass of an item loop: 8 votes each, or 2 float4 stores of y each
    per_v = max(1, cnt(*voting[0], r"\bVOTE") // 8)
    iv = without_guarded(insts, *voting[0])[0] / per_v
    il = min(without_guarded(insts, *l)[0] / max(1, cnt(*l, r"\bSTS\.128") // 2) for l in last)  # alpha != 0
    outer = min((o for o in loops if o != voting[0] and o[0] <= voting[0][0] and voting[0][1] <= o[1]),
                key=lambda o: o[1] - o[0])
    setup = size(outer) - size(voting[0])
    TW = 256 - 2 * T * R
    EW = TW + 2 * T * R
    total = -(-EW // 32) * 32 * l0
    for t in range(1, T + 1):
        c0, c1 = t * R, EW - t * R
        n = -(-(c1 - (c0 & ~7)) // 8) * 8  # items (8 columns) per row block of 8
        total += (rows // 8) * -(-n // 32) * 32 * (iv if t < T else il) + 256 * setup
    per = total / (float(rows) * TW)
    return per, "composite T=%d TW=%d, %d rows per step: level 0 %d, item %.0f (votes) / %.0f (y), level set-up %d" % (
        T, TW, rows, l0, iv, il, setup)


HEADER = "%-6s %-44s %7s %9s %6s %7s %6s %5s %5s %5s %4s %s" % (
    "arch", "kernel", "static", "loop", "outs", "per_out", "FFMA", "LDG", "LDS", "STS", "BAR", "note")


def main():
    if sys.argv[1] == "--header":
        print(HEADER)
        return
    if sys.argv[1] == "--loops":  # sass_count.py --loops SASS_FILE KERNEL: every loop of a kernel
        funcs = parse(open(sys.argv[2]).read().splitlines())
        for (mangled, insts), name in zip(funcs, demangle([f[0] for f in funcs])):
            if name != sys.argv[3]:
                continue
            for a, t in insts:
                m = BRANCH.search(t)
                if m and int(m.group(1), 16) <= a:
                    s = int(m.group(1), 16)
                    body = [u for b, u in insts if s <= b <= a]
                    cnt = lambda p: sum(1 for u in body if re.search(p, u))
                    print("%s loop %5x-%5x: %4d instructions, %3d FFMA, %2d LDG, %2d STG words, %2d LDS, %2d STS, %d BAR"
                          % (name, s, a, len(body), cnt(r"\bFFMA"), cnt(r"\bLDG"), sum(stg_words(u) for u in body),
                             cnt(r"\bLDS"), cnt(r"\bSTS"), cnt(r"\bBAR")))
        return
    if sys.argv[1] == "--td-bits":  # sass_count.py --td-bits SASS_FILE KERNEL [T]
        funcs = parse(open(sys.argv[2]).read().splitlines())
        for (mangled, insts), name in zip(funcs, demangle([f[0] for f in funcs])):
            if name == sys.argv[3]:
                R = int(re.search(r"<(\d+)>", name).group(1))
                per, what = td_bits(insts, R, int(sys.argv[4]) if len(sys.argv) > 4 else 5)
                print("%s: %s per output; %s" % (name, "-" if per is None else "%.1f" % per, what))
        return
    lines = open(sys.argv[1]).read().splitlines()
    arch = sys.argv[2] if len(sys.argv) > 2 else "?"
    funcs = parse(lines)
    names = demangle([f[0] for f in funcs])
    for (mangled, insts), name in sorted(zip(funcs, names), key=lambda z: z[1]):
        mb = re.match(r"td_bit_kernel<(\d+)>$", name)
        if mb:
            per, what = td_bits(insts, int(mb.group(1)))
            if per is not None:
                print("%-6s %-44s %7d %9s %6s %7.1f %6s %5s %5s %5s %4s %s" % (
                    arch, name, len(insts), "-", "-", per, "-", "-", "-", "-", "-", what))
                continue
        loops = []
        for a, t in insts:
            m = BRANCH.search(t)
            if m and int(m.group(1), 16) <= a:
                loops.append((int(m.group(1), 16), a))
        best = None
        for s, e in loops:
            body = [t for a, t in insts if s <= a <= e]
            outs = sum(stg_words(t) for t in body)
            if outs == 0:
                continue
            inner = [l for l in loops if l != (s, e) and s <= l[0] and l[1] <= e]
            # the loop that stores the most output words per pass (not a scalar tail loop);
            # of equals, the innermost
            if best is None or outs > best[3] or (outs == best[3] and (e - s) < (best[1] - best[0])):
                best = (s, e, body, outs, inner)
        if best is None:
            print("%-6s %-44s %7d %9s %6s %7s %6s %5s %5s %5s %4s %s" % (
                arch, name, len(insts), "-", "-", "-", "-", "-", "-", "-", "-", "no loop stores outputs"))
            continue
        s, e, body, outs, inner = best
        cnt = lambda p: sum(1 for t in body if re.search(p, t))
        note = []
        if inner:
            note.append("inner %d (lower bound)" % len(inner))
        unk = cnt(r"\?$")
        if unk:
            note.append("%d unnamed" % unk)
        print("%-6s %-44s %7d %9s %6d %7.1f %6d %5d %5d %5d %4d %s" % (
            arch, name, len(insts), "%x-%x" % (s, e), outs, len(body) / outs, cnt(r"\bFFMA"), cnt(r"\bLDG"), cnt(r"\bLDS"),
            cnt(r"\bSTS"), cnt(r"\bBAR"), ", ".join(note)))


if __name__ == "__main__":
    main()
