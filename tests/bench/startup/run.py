#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Start-up time: `ktapctl run -e 'print("hi")'` against bpftrace.

Times, from launch to exit, the same one-line job three ways:
  ktapctl, daemon    ktapd already running (on a temporary socket)
  ktapctl, private   no daemon: ktapctl starts a private ktapd and stops it
  bpftrace           bpftrace -e 'BEGIN { printf("hi\\n"); exit(); }'
Runs are interleaved; prints the best and the median of each and the
ratios to bpftrace. Asserts nothing (the goal is a tenth of bpftrace's
time or less). Needs root for bpftrace.

  tests/bench/startup/run.py --ktapctl build/ktapctl/ktapctl --ktapd build/ktapd/ktapd
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

KTAP_SCRIPT = 'print("hi")'
BPFTRACE_SCRIPT = 'BEGIN { printf("hi\\n"); exit(); }'


def start_daemon(ktapd, tmp):
    path = os.path.join(tmp, 'ktapd.sock')
    log = open(os.path.join(tmp, 'ktapd.log'), 'wb')
    proc = subprocess.Popen([ktapd, '--socket', path], stdout=log, stderr=log)
    deadline = time.time() + 10
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
            return proc, path
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError('ktapd did not come up')
            time.sleep(0.01)


def timed(argv, env):
    """Seconds from launch to exit; the output must be "hi"."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    t = time.perf_counter() - t0
    if r.returncode != 0 or b'hi\n' not in r.stdout:
        raise RuntimeError('%s: status %d, output %r' % (argv[0], r.returncode, r.stdout))
    return t


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.path.join(here, '..', '..', '..', 'build')
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ktapctl', default=os.path.join(build, 'ktapctl', 'ktapctl'))
    ap.add_argument('--ktapd', default=os.path.join(build, 'ktapd', 'ktapd'))
    ap.add_argument('--runs', type=int, default=10)
    ap.add_argument('--no-bpftrace', action='store_true')
    args = ap.parse_args()

    bpftrace = None if args.no_bpftrace else shutil.which('bpftrace')
    if bpftrace and os.getuid() != 0:
        print('# bpftrace needs root: left out')
        bpftrace = None
    tmp = tempfile.mkdtemp(prefix='ktap-bench-startup-')
    daemon, path = start_daemon(os.path.abspath(args.ktapd), tmp)
    env_daemon = dict(os.environ, KTAP_SOCKET=path)
    env_private = {k: v for k, v in os.environ.items() if k != 'KTAP_SOCKET'}
    ktapctl = os.path.abspath(args.ktapctl)
    cases = [
        ('ktapctl run, daemon', [ktapctl, 'run', '-e', KTAP_SCRIPT], env_daemon),
        ('ktapctl run, private ktapd', [ktapctl, 'run', '--private', '-e', KTAP_SCRIPT],
         env_private),
    ]
    if bpftrace:
        cases.append(('bpftrace', [bpftrace, '-e', BPFTRACE_SCRIPT], env_private))
    times = {name: [] for name, _, _ in cases}
    try:
        # One untimed round: page cache, dynamic linker caches.
        for name, argv, env in cases:
            timed(argv, env)
        for _ in range(args.runs):
            for name, argv, env in cases:
                times[name].append(timed(argv, env))
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(15)
        shutil.rmtree(tmp, ignore_errors=True)

    ref = min(times['bpftrace']) if bpftrace else None
    print('start-up, launch to exit, best and median of %d runs' % args.runs)
    print('%-28s %10s %10s %12s' % ('', 'best ms', 'median ms', 'vs bpftrace'))
    for name, _, _ in cases:
        best, med = min(times[name]), statistics.median(times[name])
        ratio = '%11.3fx' % (best / ref) if ref else ''
        print('%-28s %10.2f %10.2f %12s' % (name, best * 1e3, med * 1e3, ratio))
    if ref:
        print('goal: a tenth of bpftrace (0.100x) or less')
    return 0


if __name__ == '__main__':
    sys.exit(main())
