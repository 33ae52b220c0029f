#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# What a uprobe costs the traced program, ktap's user engine next to
# bpftrace: `uptest_prog -t N` (tests/uprobe) calls a noinline function
# N times and times the loop itself; untraced, traced by ktap's
# `trace probe:PROG:add3 { n += 1 }` (engine_drive), and traced by
# bpftrace's `uprobe:PROG:add3 { @n = count(); }`. Prints ns per call,
# the added ns per call of each tracer and their ratio, and ktap's events
# handled and lost (a loss flatters ktap). Nothing is asserted; runs are
# interleaved and medians printed. Needs root.
#
# usage: run.py --drive ENGINE_DRIVE --prog UPTEST_PROG [--runs N]
#               [--calls N] [--no-bpftrace]

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'engine'))
from run import pinned, stop, wait_for  # noqa: E402


def run_prog(args):
    out = subprocess.run(pinned(0, [args.prog, '-t', str(args.calls)]),
                         capture_output=True, text=True, check=True).stdout
    return int(re.search(r'ns (\d+)', out).group(1)) / 1e9


def traced_ktap(args):
    script = 'var n = 0\ntrace probe:%s:add3 { n += 1 }' % args.prog
    p = subprocess.Popen(pinned(1, [args.drive, '--stats', '-e', script]),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    wait_for(p.stderr, r'armed in', 30)
    secs = run_prog(args)
    err, cpu = stop(p)
    stats = dict(kv.split('=') for kv in
                 re.search(r'stats: (.*)', err).group(1).split())
    return secs, cpu, int(stats['events']), int(stats['lost'])


def traced_bpftrace(args):
    script = ('BEGIN { printf("ready\\n"); } uprobe:%s:add3 { @n = count(); }'
              % args.prog)
    p = subprocess.Popen(pinned(1, ['bpftrace', '-e', script]),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    wait_for(p.stdout, r'^ready', 120)
    secs = run_prog(args)
    p.stdout.close()
    stop(p)
    return secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--drive', required=True)
    ap.add_argument('--prog', required=True)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--calls', type=int, default=200000)
    ap.add_argument('--no-bpftrace', dest='bpftrace', action='store_false')
    args = ap.parse_args()
    args.drive = os.path.abspath(args.drive)
    args.prog = os.path.abspath(args.prog)
    if os.geteuid() != 0:
        print('uprobe benchmark: needs root (perf events, bpftrace)')
        return 0
    if args.bpftrace and not shutil.which('bpftrace'):
        print('uprobe benchmark: bpftrace not found, ktap alone')
        args.bpftrace = False
    print('load average before: %.2f %.2f %.2f' % os.getloadavg())
    base, ktap, kcpu, kev, klost, bpf = [], [], [], [], [], []
    for _ in range(args.runs):
        base.append(run_prog(args))
        s, c, e, lost = traced_ktap(args)
        ktap.append(s)
        kcpu.append(c)
        kev.append(e)
        klost.append(lost)
        if args.bpftrace:
            bpf.append(traced_bpftrace(args))
    med = statistics.median
    n = args.calls
    b, k = med(base), med(ktap)
    added_k = (k - b) / n * 1e9
    print('uprobe cost: %d calls of a traced function per run, %d runs '
          '(medians)' % (n, args.runs))
    print('  %-30s %9.1f ns/call' % ('no tracing', b / n * 1e9))
    print('  %-30s %9.1f ns/call  added %8.1f ns/call'
          % ('ktap (user engine)', k / n * 1e9, added_k))
    print('  %-30s %9.1f ns/event  (%d events handled, %d lost, median)'
          % ('ktap engine CPU (in ktapd)',
             med(c / max(e, 1) for c, e in zip(kcpu, kev)) * 1e9,
             med(kev), med(klost)))
    if bpf:
        p = med(bpf)
        added_b = (p - b) / n * 1e9
        print('  %-30s %9.1f ns/call  added %8.1f ns/call'
              % ('bpftrace', p / n * 1e9, added_b))
        print('  ratio added cost ktap / bpftrace: %.2f'
              % (added_k / added_b if added_b > 0 else float('nan')))
    return 0


if __name__ == '__main__':
    sys.exit(main())
