#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compile the kmod tests' scripts into chunks for the qemu guest.

compile-scripts.py --ktapctl KTAPCTL --src DIR -o OUTDIR --stamp FILE NAME.kp...

Each NAME.kp of DIR is compiled with `KTAPCTL compile` in DIR (so that
runtime errors read "NAME.kp:LINE: ...") to OUTDIR/NAME.kpc; FILE is
written last, for meson (a directory cannot be a target's output).
"""
import argparse
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ktapctl", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("-o", "--outdir", required=True)
    ap.add_argument("--stamp", required=True)
    ap.add_argument("scripts", nargs="+")
    a = ap.parse_args()
    ktapctl = os.path.abspath(a.ktapctl)
    outdir = os.path.abspath(a.outdir)
    os.makedirs(outdir, exist_ok=True)
    for script in a.scripts:
        name = os.path.basename(script)
        out = os.path.join(outdir, name[:-3] + ".kpc")
        res = subprocess.run([ktapctl, "compile", "-o", out, name],
                             cwd=a.src, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        if res.returncode != 0:
            sys.exit("compile-scripts: %s: ktapctl compile failed:\n%s"
                     % (name, res.stdout))
    with open(a.stamp, "w") as f:
        f.write("".join(os.path.basename(s) + "\n" for s in a.scripts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
