#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boot Debian's kernel under qemu (TCG) with a busybox initramfs and check
the kernel log.

The initramfs holds busybox, the given modules (/modules/NAME.ko), binaries
with the shared libraries ldd finds for them, extra files and directories
(their files, not subdirectories), and init script
fragments (/init.d/NN-NAME.sh) that /init runs in order with `sh -e` after
mounting proc, sys, devtmpfs, debugfs and tracefs. /init then prints dmesg
and powers off.

The run fails when qemu does not finish in time, when a fragment exits
non-zero, when the kernel log shows a warning, BUG, oops, lockdep, KASAN or
similar report, or when an --expect pattern does not match the console.

Used by the kmod suite (the in-kernel self-test) and meant to carry ktapd,
ktapctl and their tests into the same guest: add --bin, --file, --init.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BUSYBOX = "/bin/busybox"
MARK = "qemu-run:"

INIT = r"""#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t tmpfs tmpfs /tmp
cd /
for f in /init.d/*.sh; do
	[ -e "$f" ] || continue
	echo "MARK start $f"
	sh -e "$f"
	echo "MARK status $? $f"
done
echo "MARK dmesg"
dmesg
echo "MARK done"
poweroff -f
""".replace("MARK", MARK)

# Kernel log reports that fail a run whatever the fragments said.
BAD = [
    r"WARNING:", r"\bBUG[: ]", r"Oops", r"Call Trace", r"general protection",
    r"Kernel panic", r"kernel BUG", r"lockdep", r"possible recursive locking",
    r"possible circular locking", r"KASAN", r"UBSAN", r"kmemleak",
    r"soft lockup", r"hard LOCKUP", r"rcu: INFO", r"kernel stack overflow",
    r"\bsegfault at\b", r"hung_task", r"blocked for more than",
]


def vermagic_release(ko):
    with open(ko, "rb") as f:
        m = re.search(rb"vermagic=([^ \0]+)", f.read())
    if not m:
        sys.exit("run-qemu: no vermagic in %s" % ko)
    return m.group(1).decode()


def copy_into(root, src, dst):
    """Copy src (following symlinks) to the absolute guest path dst."""
    out = os.path.join(root, dst.lstrip("/"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    shutil.copy2(os.path.realpath(src), out)


def shared_libs(binary):
    """Absolute paths of the shared objects ldd lists for binary."""
    p = subprocess.run(["ldd", binary], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    libs = []
    for line in p.stdout.splitlines():
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


def guest_path(opt, spec):
    src, sep, dst = spec.partition(":")
    if not sep or not dst.startswith("/"):
        sys.exit("run-qemu: %s wants SRC:/ABS/DST, got %s" % (opt, spec))
    return src, dst


def build_initramfs(work, a):
    root = os.path.join(work, "root")
    for d in ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "run",
              "modules", "init.d"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    copy_into(root, BUSYBOX, "/bin/busybox")
    os.symlink("busybox", os.path.join(root, "bin/sh"))
    for ko in a.module:
        copy_into(root, ko, "/modules/" + os.path.basename(ko))
    for b in a.bin:
        copy_into(root, b, "/bin/" + os.path.basename(b))
        for lib in shared_libs(b):
            copy_into(root, lib, lib)
    for spec in a.file:
        src, dst = guest_path("--file", spec)
        copy_into(root, src, dst)
    for spec in a.dir:
        src, dst = guest_path("--dir", spec)
        for name in sorted(os.listdir(src)):
            if os.path.isfile(os.path.join(src, name)):
                copy_into(root, os.path.join(src, name), dst + "/" + name)
    for i, frag in enumerate(a.init):
        name = "%02d-%s" % (i, os.path.basename(frag))
        if not name.endswith(".sh"):
            name += ".sh"
        copy_into(root, frag, "/init.d/" + name)
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INIT)
    os.chmod(os.path.join(root, "init"), 0o755)

    image = os.path.join(work, "initramfs.cpio.gz")
    files = subprocess.run(["find", "."], cwd=root, stdout=subprocess.PIPE,
                           check=True).stdout
    cpio = subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"],
                          cwd=root, input=files, stdout=subprocess.PIPE,
                          check=True).stdout
    with open(image, "wb") as f:
        f.write(subprocess.run(["gzip", "-1"], input=cpio,
                               stdout=subprocess.PIPE, check=True).stdout)
    return image


def boot(kernel, initrd, a):
    append = "console=ttyS0 panic=-1 oops=panic quiet " + a.append
    cmd = [a.qemu, "-accel", "tcg", "-m", str(a.memory), "-smp", str(a.smp),
           "-nodefaults", "-nographic", "-serial", "stdio", "-no-reboot",
           "-kernel", kernel, "-initrd", initrd, "-append", append.strip()]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=a.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        timed_out = True
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    return text, timed_out, proc.returncode, time.monotonic() - start


def check(text, timed_out, a):
    errors = []
    if timed_out:
        errors.append("qemu did not finish within %d s" % a.timeout)
    elif MARK + " done" not in text:
        errors.append("the guest never reached the end of /init")
    for m in re.finditer(re.escape(MARK) + r" status (\d+) (\S+)", text):
        if m.group(1) != "0":
            errors.append("%s exited with status %s" % (m.group(2), m.group(1)))
    bad = re.compile("|".join(BAD))
    for line in text.splitlines():
        if line.startswith(MARK):
            continue
        if bad.search(line):
            errors.append("kernel log: " + line.strip())
    for pat in a.expect:
        if not re.search(pat, text, re.MULTILINE):
            errors.append("no line matches %r" % pat)
    return errors


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", action="append", default=[],
                    help="kernel module, copied to /modules/")
    ap.add_argument("--kernel", help="kernel image (default: "
                    "/boot/vmlinuz-RELEASE, RELEASE from the first module's "
                    "vermagic)")
    ap.add_argument("--bin", action="append", default=[],
                    help="executable, copied to /bin/ with its shared libraries")
    ap.add_argument("--file", action="append", default=[],
                    help="SRC:/GUEST/PATH, any other file")
    ap.add_argument("--dir", action="append", default=[],
                    help="SRC:/GUEST/DIR, the files of a directory")
    ap.add_argument("--init", action="append", default=[],
                    help="shell fragment run by /init (in the order given)")
    ap.add_argument("--expect", action="append", default=[],
                    help="regular expression the console output must match")
    ap.add_argument("--append", default="", help="extra kernel command line")
    ap.add_argument("--timeout", type=int, default=300, help="seconds")
    ap.add_argument("--memory", type=int, default=512, help="MiB")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--log", help="also save the console output here")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (initramfs)")
    a = ap.parse_args()

    if not a.kernel and not a.module:
        sys.exit("run-qemu: --kernel or --module is needed")
    kernel = a.kernel
    if a.module:
        release = vermagic_release(a.module[0])
        if not kernel:
            kernel = "/boot/vmlinuz-" + release
        elif os.path.basename(kernel) != "vmlinuz-" + release:
            sys.exit("run-qemu: %s was built for %s, not for %s"
                     % (a.module[0], release, kernel))
    if not os.path.exists(kernel):
        sys.exit("run-qemu: no kernel image %s (the module's vermagic must "
                 "match an installed linux-image)" % kernel)

    work = tempfile.mkdtemp(prefix="ktap-qemu-")
    try:
        initrd = build_initramfs(work, a)
        text, timed_out, rc, secs = boot(kernel, initrd, a)
    finally:
        if a.keep:
            print("run-qemu: kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    sys.stdout.write(text)
    if a.log:
        with open(a.log, "w") as f:
            f.write(text)
    errors = check(text, timed_out, a)
    print("run-qemu: %s, %.1f s, qemu status %s"
          % (os.path.basename(kernel), secs, "timeout" if timed_out else rc))
    for e in errors:
        print("run-qemu: FAIL: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
