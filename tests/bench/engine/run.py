#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The user engine against bpftrace, in one run, on this machine's kernel:
#
#   cost   the time tracing adds per event to a syscall-heavy workload
#          (N getppid() calls, timed by the workload itself), ktap's
#          `trace syscalls:sys_enter_* { s[probename] += 1 }` next to
#          bpftrace's `tracepoint:syscalls:sys_enter_* { @[probe] = count(); }`;
#          also the tracer's own CPU time per event (ktap handles events in
#          user space, bpftrace in the kernel, inside the workload's time).
#          --perf-path adds the engine without its BPF fast path
#          (KTAPD_BPF=0: a perf sample per event).
#   arm    the time from starting the tracer until it traces: ktap's
#          `trace syscalls:*` (engine_drive prints when the engine is armed)
#          against bpftrace's `tracepoint:syscalls:sys_enter_*` (its BEGIN
#          probe fires once every probe is attached).
#
# Figures and ratios are printed; nothing is asserted. Runs are interleaved
# and medians reported, as the machine may be busy. Needs root.
#
# usage: run.py --drive ENGINE_DRIVE --workload WORKLOAD [--runs N]
#               [--calls N] [--no-bpftrace] [cost] [arm]

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

KTAP_COST = 'var s = {}\ntrace syscalls:sys_enter_* { s[probename] += 1 }'
BPF_COST = ('BEGIN { printf("ready\\n"); } '
            'tracepoint:syscalls:sys_enter_* { @[probe] = count(); }')
KTAP_ARM = 'var n = 0\ntrace syscalls:* { n += 1 }'
BPF_ARM = ('BEGIN { printf("ready\\n"); exit(); } '
           'tracepoint:syscalls:sys_enter_* { @[probe] = count(); }')


def pinned(cpu, argv):
    """Tracer and workload on CPUs of their own when there are two."""
    if (os.cpu_count() or 1) < 2 or not shutil.which('taskset'):
        return argv
    return ['taskset', '-c', str(cpu), *argv]


def wait_for(stream, pattern, timeout, proc=None):
    """Read lines until one matches; returns (match, seconds waited).
    With proc, a tracer still silent after timeout seconds is killed (its
    output then ends) rather than waited for forever."""
    t0 = time.monotonic()
    watchdog = threading.Timer(timeout, proc.kill) if proc else None
    if watchdog:
        watchdog.start()
    try:
        while time.monotonic() - t0 < timeout:
            line = stream.readline()
            if not line:
                break
            m = re.search(pattern, line)
            if m:
                return m, time.monotonic() - t0
    finally:
        if watchdog:
            watchdog.cancel()
    raise RuntimeError('tracer never printed %r' % pattern)


def run_workload(args):
    out = subprocess.run(pinned(0, [args.workload, '-t', 'getppid',
                                    str(args.calls)]),
                         capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def stop(p, timeout=60):
    """SIGINT the tracer; returns its stderr and CPU seconds. One that
    has not exited after timeout seconds (bpftrace once sat in epoll_wait
    here) is killed, and says so."""
    p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + timeout
    while True:
        pid, _, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            print('warning: %s ignored SIGINT for %d s, killed'
                  % (p.args[-1] if isinstance(p.args, list) else p.args,
                     timeout), file=sys.stderr)
            p.kill()
            _, _, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    p.returncode = 0
    err = p.stderr.read() if p.stderr else ''
    return err, ru.ru_utime + ru.ru_stime


def traced_ktap(args, bpf=True, script=KTAP_COST, work=run_workload):
    """work(args) timed under script; returns its seconds, the tracer's
    CPU seconds, events handled and lost (uprobe/run.py uses it too)."""
    env = dict(os.environ, KTAPD_BPF='1' if bpf else '0')
    p = subprocess.Popen(pinned(1, [args.drive, '--stats', '-e', script]),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, env=env)
    wait_for(p.stderr, r'armed in', 30, p)
    secs = work(args)
    err, cpu = stop(p)
    stats = dict(kv.split('=') for kv in
                 re.search(r'stats: (.*)', err).group(1).split())
    return secs, cpu, int(stats['events']), int(stats['lost'])


def traced_bpftrace(args, script=BPF_COST, work=run_workload):
    p = subprocess.Popen(pinned(1, ['bpftrace', '-e', script]),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    wait_for(p.stdout, r'^ready', 120, p)
    secs = work(args)
    p.stdout.close()
    _, cpu = stop(p)
    return secs, cpu


def bench_cost(args):
    base, ktap, bpf, kcpu, kev, klost, bcpu = [], [], [], [], [], [], []
    kperf = []
    for _ in range(args.runs):
        base.append(run_workload(args))
        s, c, e, lost = traced_ktap(args)
        ktap.append(s)
        kcpu.append(c)
        kev.append(e)
        klost.append(lost)
        if args.perf_path:
            kperf.append(traced_ktap(args, bpf=False)[0])
        if args.bpftrace:
            s, c = traced_bpftrace(args)
            bpf.append(s)
            bcpu.append(c)
    n = args.calls
    b = statistics.median(base)
    k = statistics.median(ktap)
    print('cost: %d getppid() per run, %d runs (medians)' % (n, args.runs))
    print('  %-34s %8.1f ns/call' % ('no tracing', b / n * 1e9))
    added_k = (k - b) / n * 1e9
    print('  %-34s %8.1f ns/call  added %7.1f ns/event'
          % ('ktap (user engine)', k / n * 1e9, added_k))
    if kperf:
        kp = statistics.median(kperf)
        print('  %-34s %8.1f ns/call  added %7.1f ns/event'
              % ('ktap, perf samples (KTAPD_BPF=0)', kp / n * 1e9,
                 (kp - b) / n * 1e9))
    per_ev = statistics.median(c / max(e, 1) for c, e in zip(kcpu, kev))
    print('  %-34s %8.1f ns/event  (%d events handled, %d lost, median)'
          % ('ktap engine CPU (in ktapd)', per_ev * 1e9,
             statistics.median(kev), statistics.median(klost)))
    if bpf:
        p = statistics.median(bpf)
        added_b = (p - b) / n * 1e9
        print('  %-34s %8.1f ns/call  added %7.1f ns/event'
              % ('bpftrace', p / n * 1e9, added_b))
        print('  %-34s %8.1f ms per run (in-kernel work is in the'
              ' workload\'s time)' % ('bpftrace process CPU',
                                      statistics.median(bcpu) * 1e3))
        print('  ratio added cost ktap / bpftrace: %.2f'
              % (added_k / added_b if added_b > 0 else float('nan')))


def arm_ktap(args):
    t0 = time.monotonic()
    p = subprocess.Popen([args.drive, '-e', KTAP_ARM], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    m, _ = wait_for(p.stderr, r'armed in ([0-9.]+) ms', 30, p)
    ready = time.monotonic() - t0
    stop(p)
    return ready, float(m.group(1)) / 1e3, time.monotonic() - t0


def arm_bpftrace(args):
    t0 = time.monotonic()
    p = subprocess.Popen(['bpftrace', '-e', BPF_ARM], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    m, _ = wait_for(p.stdout, r'^ready', 300, p)
    ready = time.monotonic() - t0
    p.stdout.read()
    p.wait()
    return ready, time.monotonic() - t0


def bench_arm(args):
    kr, ke, kt, br, bt = [], [], [], [], []
    for _ in range(args.runs):
        r, e, t = arm_ktap(args)
        kr.append(r)
        ke.append(e)
        kt.append(t)
        if args.bpftrace:
            r, t = arm_bpftrace(args)
            br.append(r)
            bt.append(t)
    med = statistics.median
    print('arm: %d runs (medians)' % args.runs)
    print('  %-46s %8.1f ms  (engine start alone %.1f ms; until exit %.1f ms)'
          % ('ktap trace syscalls:* (launch to armed)', med(kr) * 1e3,
             med(ke) * 1e3, med(kt) * 1e3))
    if br:
        print('  %-46s %8.1f ms  (until exit %.1f ms)'
              % ('bpftrace tracepoint:syscalls:sys_enter_*', med(br) * 1e3,
                 med(bt) * 1e3))
        print('  ratio ktap / bpftrace: %.3f' % (med(kr) / med(br)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--drive', required=True)
    ap.add_argument('--workload', required=True)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--calls', type=int, default=1000000)
    ap.add_argument('--no-bpftrace', dest='bpftrace', action='store_false')
    ap.add_argument('--perf-path', action='store_true',
                    help='also time the engine without its BPF fast path')
    ap.add_argument('which', nargs='*', default=['cost', 'arm'])
    args = ap.parse_args()
    args.drive = os.path.abspath(args.drive)
    args.workload = os.path.abspath(args.workload)
    if os.geteuid() != 0:
        print('engine benchmark: needs root (perf events, bpftrace)')
        return 0
    if args.bpftrace and not shutil.which('bpftrace'):
        print('engine benchmark: bpftrace not found, ktap alone')
        args.bpftrace = False
    print('load average before: %.2f %.2f %.2f' % os.getloadavg())
    if 'cost' in args.which:
        bench_cost(args)
    if 'arm' in args.which:
        bench_arm(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
