#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The kmod engine against the user engine, inside the qemu guest of the
# kmod tests (the only place ktapvm.ko loads here): the same syscall-heavy
# workload (N getppid() calls, timed by tests/engine/workload) untraced,
# traced by ktapd's user engine and by its kmod engine, with
#   var s = {}
#   trace syscalls:sys_enter_getppid { s[probename] += 1 }
# Rounds are interleaved; medians are printed: the time added per event
# to the workload, ktapd's own CPU time per event (the user engine runs
# handlers there; the kmod engine in the traced task, inside its time),
# their sum, and kmod/user. A script, not a test: nothing is asserted.
# Under TCG absolute figures are those of an emulated CPU; the ratio is
# the point.
#
# usage: run.py [--build DIR] [--calls N] [--rounds N] [--handler TEXT]
#   --handler: the handler's body instead of `s[probename] += 1` (an empty
#   one gives the cost of the event path alone)

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys

HZ = 100  # /proc/PID/stat clock ticks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--calls', type=int, default=200000)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--handler', default='s[probename] += 1')
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.normpath(os.path.join(here, '..', '..', '..'))
    b = os.path.abspath(a.build)
    env_frag = os.path.join(b, 'bench-kmod-env.sh')
    with open(env_frag, 'w') as f:
        f.write('export BENCH_CALLS=%d BENCH_ROUNDS=%d\n'
                'BENCH_HANDLER=%s\n'
                % (a.calls, a.rounds, shlex.quote(a.handler)))
    cmd = [sys.executable, os.path.join(src, 'tests/kmod/run-qemu.py'),
           '--module', os.path.join(b, 'kmod/ktapvm.ko'),
           '--bin', os.path.join(b, 'ktapd/ktapd'),
           '--bin', os.path.join(b, 'ktapctl/ktapctl'),
           '--bin', os.path.join(b, 'tests/engine/workload'),
           '--file', env_frag + ':/etc/bench-env.sh',
           '--init', os.path.join(here, 'guest.sh'),
           # A thread per vCPU: the workload and ktapd's reader run in
           # parallel, as on hardware (run-qemu.py, TCG_THREAD: a hang
           # it may cause shows in the output with its report).
           '--tcg-thread', 'multi',
           '--timeout', '900']
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True).stdout
    rows = []
    for line in out.splitlines():
        if 'engine:' in line:
            print(line.strip())
        m = re.match(r'bench: round \d+ calls (\d+) base (\S+) '
                     r'user (\S+) (\d+) (\d+) kmod (\S+) (\d+) (\d+)$', line)
        if m:
            print(line)
            rows.append(m.groups())
    if not rows:
        print(out)
        sys.exit('bench: no figures (see the guest log above)')
    n = int(rows[0][0])
    for r in rows:
        for col, name in ((4, 'user'), (7, 'kmod')):
            if int(r[col]) != n:
                print('warning: %s counted %s of %d events'
                      % (name, r[col], n))

    def med(i, scale=1.0):
        return statistics.median(float(r[i]) * scale for r in rows)

    base = med(1)
    res = {}
    for name, t, cpu in (('user', 2, 3), ('kmod', 5, 6)):
        added = (med(t) - base) / n * 1e9
        daemon = med(cpu, 1.0 / HZ) / n * 1e9
        res[name] = added + daemon
        print('%s: %.0f ns added to the workload per event, %.0f ns of '
              'ktapd CPU per event, %.0f ns in all'
              % (name, added, daemon, res[name]))
    print('untraced: %.0f ns per getppid()' % (base / n * 1e9))
    print('kmod/user: %.2f (goal: at most 0.5)' % (res['kmod'] / res['user']))


if __name__ == '__main__':
    main()
