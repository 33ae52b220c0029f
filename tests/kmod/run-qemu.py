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
import base64
import os
import re
import shutil
import subprocess
import sys
import socket
import tempfile
import threading
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
# Where the kernel and the modules sit, for the hang report: KASLR moves
# the kernel, and modules load wherever vmalloc puts them.
echo "MARK kernel $(grep -m1 ' _stext$' /proc/kallsyms)"
(
	seen=
	while :; do
		# /proc/modules through builtins (no fork a second); the
		# section files (read whole: cat) once per module load.
		while read -r mod size refs deps state base rest; do
			case "$seen" in *"|$mod $base|"*) continue ;; esac
			seen="$seen|$mod $base|"
			for s in /sys/module/$mod/sections/.text*; do
				[ -r "$s" ] &&
					echo "MARK section $mod ${s##*/} $(cat "$s")"
			done
		done </proc/modules
		sleep 1
	done
) &
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


# TCG_THREAD: the guest's vCPUs share one host thread by default
# (-accel tcg,thread=single). With a thread each (multi), qemu 7.2 (Debian
# 12) can keep running a stale translation of kernel text that another
# vCPU patched. The kernel flips a jump label through an int3
# (text_poke_bp) when a tracepoint is armed or disarmed; a vCPU that
# still runs the int3 traps, the kprobes handler sees the byte is no
# longer int3 and sends it back to run the new instruction, and it runs
# the stale int3 again, forever. kmod-ktapd-qemu hung so 3 times in about
# 100 runs; the hang report showed both vCPUs on syscall_trace_enter's
# sys_enter static branch, interrupts on, the memory there already the
# new jmp. No module is needed: two tasks calling getppid() in a loop
# while a shell writes 1 and 0 to
# /sys/kernel/tracing/events/raw_syscalls/sys_enter/enable hang a multi
# guest within seconds, and a single one goes on (tcg-stale-text.sh). One thread runs the
# vCPUs in turn and drops a stale translation before any of them runs
# again. It costs about a quarter more time (kmod-ktapd-qemu: 52 s multi,
# 65 s single).
#
# Console lines that mean a CPU is stuck: the guest is dumped through the
# qemu monitor (registers and a scan of each CPU's stack) before it is
# killed, since a CPU spinning with interrupts off never prints its stack.
HANG = re.compile(r"soft lockup|rcu: INFO|rcu_sched self-detected|"
                  r"rcu_preempt self-detected|hung_task|blocked for more than")


def monitor(path, commands):
    """Run HMP commands on the qemu monitor at path; their output."""
    out = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)

        def until_prompt():
            buf = b""
            while not buf.endswith(b"(qemu) "):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            return buf.decode("utf-8", "replace")
        until_prompt()
        for c in commands:
            s.sendall(c.encode() + b"\n")
            text = until_prompt()
            # The monitor echoes the command line with terminal escapes.
            text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
            lines = text.replace("\r", "").split("\n")[1:-1]
            out.append("(qemu) %s\n%s" % (c, "\n".join(lines)))
    return "\n".join(out)


KALLSYMS = r"""echo KALLSYMS-BEGIN
grep -i ' t ' /proc/kallsyms | gzip -1 | base64
echo KALLSYMS-END
"""


def kernel_text_symbols(kernel, a, work):
    """(offset from _stext, name) of the kernel's text symbols. Debian ships
    no System.map, so a second guest prints its /proc/kallsyms."""
    frag = os.path.join(work, "kallsyms.sh")
    with open(frag, "w") as f:
        f.write(KALLSYMS)
    b = argparse.Namespace(module=[], bin=[], file=[], dir=[], init=[frag],
                           append="", timeout=120, memory=a.memory, smp=1,
                           qemu=a.qemu, tcg_thread=a.tcg_thread)
    sub = os.path.join(work, "kallsyms")
    os.makedirs(sub, exist_ok=True)
    text, timed_out, _, _, _ = boot(kernel, build_initramfs(sub, b), b, sub)
    m = re.search(r"KALLSYMS-BEGIN\n(.*?)KALLSYMS-END", text, re.S)
    if timed_out or not m:
        return []
    raw = subprocess.run(["gzip", "-dc"], input=base64.b64decode(m.group(1)),
                         stdout=subprocess.PIPE).stdout.decode()
    syms = []
    for line in raw.splitlines():
        f = line.split()
        if len(f) >= 3:
            syms.append((int(f[0], 16), f[2]))
    stext = [addr for addr, name in syms if name == "_stext"]
    return [(addr - stext[0], name) for addr, name in syms] if stext else []


class Symbols:
    """Kernel and module text addresses to names: the kernel's symbols moved
    to where this boot's KASLR put _stext, and module .ko symbols placed at
    the section addresses the guest printed."""

    def __init__(self, kernel, text, a, work):
        self.syms = []
        m = re.search(re.escape(MARK) + r" kernel ([0-9a-f]+) \S+ _stext", text)
        if m:
            base = int(m.group(1), 16)
            self.syms += [(base + off, name, "") for off, name in
                          kernel_text_symbols(kernel, a, work)]
        sections = {}
        for m in re.finditer(re.escape(MARK) + r" section (\S+) (\S+) 0x([0-9a-f]+)", text):
            sections.setdefault(m.group(1), {})[m.group(2)] = int(m.group(3), 16)
        for ko in a.module:
            name = os.path.basename(ko)[:-3].replace("-", "_")
            if name in sections:
                self.syms += self.ko_symbols(ko, name, sections[name])
        self.syms.sort()

    @staticmethod
    def ko_symbols(ko, name, where):
        p = subprocess.run(["readelf", "-SWs", ko], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        index = {}
        for m in re.finditer(r"^\s*\[\s*(\d+)\]\s+(\S+)", p.stdout, re.M):
            index[m.group(1)] = m.group(2)
        out = []
        for m in re.finditer(r"^\s*\d+:\s+([0-9a-f]+)\s+\d+\s+FUNC\s+\S+\s+\S+\s+(\d+)\s+(\S+)",
                             p.stdout, re.M):
            sec = index.get(m.group(2))
            if sec in where:
                out.append((where[sec] + int(m.group(1), 16), m.group(3), name))
        return out

    def name(self, addr):
        lo, hi = 0, len(self.syms)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.syms[mid][0] <= addr:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            return None
        base, sym, mod = self.syms[lo - 1]
        if addr - base > 0x10000:
            return None
        return "%s+0x%x%s" % (sym, addr - base, " [%s]" % mod if mod else "")


def read_guest(mon):
    """The registers of every vCPU and the top of each one's stack."""
    try:
        regs = monitor(mon, ["info registers -a"])
        # Each stack through its own CPU's page tables (cpu N).
        stacks = [monitor(mon, ["cpu %d" % cpu, "x/512gx 0x" + rsp])
                  for cpu, rsp in enumerate(re.findall(r"RSP=([0-9a-f]+)", regs))]
    except OSError as e:
        return "qemu monitor: %s" % e, []
    return regs, stacks


def hang_report(guest, text, kernel, a, work):
    """read_guest's registers, each vCPU's RIP named with whether it runs
    with interrupts on, and the text addresses found on its stack."""
    regs, stacks = guest
    syms = Symbols(kernel, text, a, work)
    out = ["%s hang report (qemu monitor)" % MARK, regs]
    blocks = re.split(r"\nCPU#\d+\n", "\n" + regs.split("\n", 1)[-1])[1:]
    for cpu, block in enumerate(blocks):
        rip = re.search(r"RIP=([0-9a-f]+)", block)
        rfl = re.search(r"RFL=([0-9a-f]+)", block)
        if not rip:
            continue
        flags = int(rfl.group(1), 16) if rfl else 0
        out.append("CPU %d: RIP %s %s, interrupts %s"
                   % (cpu, rip.group(1),
                      syms.name(int(rip.group(1), 16)) or "(no symbol)",
                      "on" if flags & 0x200 else "off"))
        dump = stacks[cpu] if cpu < len(stacks) else ""
        for m in re.finditer(r"0x([0-9a-f]{16})\b", dump):
            n = syms.name(int(m.group(1), 16))
            if n:
                out.append("  ? %s" % n)
    return "\n".join(out) + "\n"


def boot(kernel, initrd, a, work):
    """Run the guest; its console text, whether it timed out, qemu's status,
    the seconds taken, and read_guest's dump when a CPU got stuck."""
    append = "console=ttyS0 panic=-1 oops=panic quiet loglevel=5 " \
        "softlockup_all_cpu_backtrace=1 " + a.append
    mon = os.path.join(work, "monitor.sock")
    cmd = [a.qemu, "-accel", "tcg,thread=" + a.tcg_thread,
           "-m", str(a.memory), "-smp", str(a.smp),
           "-nodefaults", "-nographic", "-serial", "stdio", "-no-reboot",
           "-monitor", "unix:%s,server=on,wait=off" % mon,
           "-kernel", kernel, "-initrd", initrd, "-append", append.strip()]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []

    def read_console():
        for line in proc.stdout:
            lines.append(line)
    reader = threading.Thread(target=read_console, daemon=True)
    reader.start()
    timed_out = False
    hung_at = None
    guest = None
    seen = 0
    while proc.poll() is None:
        time.sleep(0.5)
        now = time.monotonic()
        n = len(lines)
        if hung_at is None and any(HANG.search(l.decode("utf-8", "replace"))
                                   for l in lines[seen:n]):
            hung_at = now
        seen = n
        # Time for the kernel's own backtraces, then the monitor.
        timed_out = now - start > a.timeout
        if timed_out or (hung_at is not None and now - hung_at > 20):
            guest = read_guest(mon)
            proc.kill()
            break
    proc.wait()
    reader.join(10)
    text = b"".join(lines).decode("utf-8", "replace").replace("\r\n", "\n")
    return text, timed_out, proc.returncode, time.monotonic() - start, guest


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
    ap.add_argument("--tcg-thread", choices=("single", "multi"),
                    default="single",
                    help="one host thread for every vCPU (default), or one "
                    "each: see TCG_THREAD")
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
        text, timed_out, rc, secs, guest = boot(kernel, initrd, a, work)
        report = hang_report(guest, text, kernel, a, work) if guest else ""
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
    # After the check: the report's symbol names are not kernel messages.
    sys.stdout.write(report)
    if a.log and report:
        with open(a.log, "a") as f:
            f.write(report)
    print("run-qemu: %s, %.1f s, qemu status %s"
          % (os.path.basename(kernel), secs, "timeout" if timed_out else rc))
    for e in errors:
        print("run-qemu: FAIL: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
