#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The VM benchmark: each NAME.kp here under ktaprun against NAME.lua under
lua5.4, best wall-clock time of --runs runs, printed as a table.

usage: run.py [--runner PATH] [--lua PROG] [--runs N] [NAME...]

Both programs of a pair print one result; a mismatch is reported next to the
figures (a benchmark asserts nothing, but a wrong answer voids its time).
"""
import argparse
import glob
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KTAP_OPTS = ["--budget", "4294967295", "--arena", "256M"]


def best_time(cmd, runs):
    best, out = None, None
    for _ in range(runs):
        start = time.perf_counter()
        res = subprocess.run(cmd, cwd=HERE, capture_output=True,
                             stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        if res.returncode != 0:
            return None, "exit %d: %s" % (res.returncode,
                                          (res.stdout + res.stderr).decode(
                                              errors="replace").strip())
        out = res.stdout
        best = elapsed if best is None else min(best, elapsed)
    return best, out


def seconds(t):
    return "-" if t is None else "%.3f" % t


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runner", default=os.path.join(
        root, "build", "tests", "runner", "ktaprun"))
    ap.add_argument("--lua", default="lua5.4")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    runner = os.path.abspath(args.runner)  # the programs run from HERE
    names = args.names or sorted(
        os.path.basename(p)[:-3] for p in glob.glob(os.path.join(HERE, "*.kp")))

    print("%-12s %10s %10s %7s" % ("benchmark", "ktap s", "lua s", "ratio"))
    for name in names:
        kt, kout = best_time([runner] + KTAP_OPTS + [name + ".kp"],
                             args.runs)
        lt, lout = best_time([args.lua, name + ".lua"], args.runs)
        note = ""
        if kt is None or lt is None:
            note = "  failed: " + (kout if kt is None else lout)
        elif kout != lout:
            note = "  results differ: ktap %r, lua %r" % (
                kout.decode(errors="replace").strip(),
                lout.decode(errors="replace").strip())
        ratio = "-" if kt is None or lt is None else "%.2f" % (kt / lt)
        print("%-12s %10s %10s %7s%s" % (name, seconds(kt), seconds(lt), ratio,
                                         note))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
