#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Build ktapvm.ko out of the source tree (meson's custom_target for it).

Kbuild writes objects next to the sources, so the module is built in a mirror
of kmod/ and proto/ under the build directory: one symlink per source file,
kept in sync on every run (new kmod/vm files appear, deleted ones vanish),
plus copies of generated headers. make's output is shown when it failed or
warned (meson runs this on every build). With --no-warnings (the kbuild-warnings
test, which builds from scratch) any compiler or modpost warning fails it.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

# Directories mirrored, relative to the project root, and the files taken.
MIRRORED = {
    "kmod": (".c", ".h", "Kbuild"),
    "kmod/vm": (".c", ".h"),
    "proto": (".h",),
}


def wanted(name, kinds):
    return any(name == k or (k.startswith(".") and name.endswith(k))
               for k in kinds)


def sync_dir(src, dst, kinds):
    os.makedirs(dst, exist_ok=True)
    names = {n for n in os.listdir(src)
             if wanted(n, kinds) and os.path.isfile(os.path.join(src, n))}
    for n in os.listdir(dst):
        p = os.path.join(dst, n)
        if os.path.islink(p) and n not in names:
            os.unlink(p)
    for n in names:
        target = os.path.join(src, n)
        p = os.path.join(dst, n)
        if os.path.islink(p) and os.readlink(p) == target:
            continue
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink(target, p)


def copy_if_changed(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    if os.path.exists(dst):
        with open(dst, "rb") as f:
            if f.read() == data:
                return
    with open(dst, "wb") as f:
        f.write(data)


def newest_kdir():
    """The newest /usr/src/linux-headers-*-amd64 that is a build tree."""
    trees = [d for d in glob.glob("/usr/src/linux-headers-*-amd64")
             if os.path.exists(os.path.join(d, "Module.symvers"))]
    trees.sort(key=lambda d: [int(n) for n in re.findall(r"\d+", d)])
    return trees[-1] if trees else ""


def kernel_release(kdir):
    """The release the tree builds for, as vermagic and /boot name it."""
    path = os.path.join(kdir, "include/generated/utsrelease.h")
    with open(path) as f:
        m = re.search(r'UTS_RELEASE\s+"([^"]+)"', f.read())
    if not m:
        sys.exit("kbuild.py: no UTS_RELEASE in " + path)
    return m.group(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--find-kdir", action="store_true",
                    help="print the kernel build tree to use, and exit")
    ap.add_argument("--kdir", help="kernel build tree")
    ap.add_argument("--print-release", action="store_true",
                    help="print the kernel release of --kdir, and exit")
    ap.add_argument("--srcroot", help="project source root")
    ap.add_argument("--tree", help="mirror directory to build in")
    ap.add_argument("--clean", action="store_true",
                    help="remove the mirror first: a build from scratch")
    ap.add_argument("--extra", action="append", default=[],
                    help="generated file to copy into the mirrored kmod/")
    ap.add_argument("--no-warnings", action="store_true",
                    help="fail when the build prints any warning")
    ap.add_argument("-o", "--output", help="ktapvm.ko to write")
    a = ap.parse_args()
    if a.find_kdir:
        print(newest_kdir())
        return 0
    if a.print_release and a.kdir:
        print(kernel_release(a.kdir))
        return 0
    if not (a.kdir and a.srcroot and a.tree and a.output):
        ap.error("--kdir, --srcroot, --tree and --output are needed")

    srcroot = os.path.abspath(a.srcroot)
    tree = os.path.abspath(a.tree)
    if a.clean:
        shutil.rmtree(tree, ignore_errors=True)
    for sub, kinds in MIRRORED.items():
        sync_dir(os.path.join(srcroot, sub), os.path.join(tree, sub), kinds)
    moddir = os.path.join(tree, "kmod")
    for e in a.extra:
        copy_if_changed(e, os.path.join(moddir, os.path.basename(e)))

    cmd = ["make", "-C", a.kdir, "M=" + moddir, "-j%d" % (os.cpu_count() or 1),
           "modules"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    warnings = [l for l in proc.stdout.splitlines()
                if re.search(r"warning", l, re.IGNORECASE)]
    if proc.returncode != 0 or warnings:
        sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write("kbuild.py: '%s' failed (status %d)\n"
                         % (" ".join(cmd), proc.returncode))
        return 1
    if a.no_warnings and warnings:
        sys.stderr.write("kbuild.py: %d warning line(s) in the build\n"
                         % len(warnings))
        return 1
    shutil.copyfile(os.path.join(moddir, "ktapvm.ko"), a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
