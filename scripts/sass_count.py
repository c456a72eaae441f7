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

Usage: sass_count.py SASS_FILE [ARCH]   (one row per kernel instantiation); sass_count.py --header;
       sass_count.py --loops SASS_FILE KERNEL   (every loop of one kernel, e.g. td_wave_kernel<3,false>)
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
    lines = open(sys.argv[1]).read().splitlines()
    arch = sys.argv[2] if len(sys.argv) > 2 else "?"
    funcs = parse(lines)
    names = demangle([f[0] for f in funcs])
    for (mangled, insts), name in sorted(zip(funcs, names), key=lambda z: z[1]):
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
