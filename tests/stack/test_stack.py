#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# stack() and ustack() in the user engine, against this machine's kernel:
# `hot` spins in hot_spin() (called from hot_outer(), from main()) and calls
# getppid() from hot_syscall(); profiles and tracepoints must name those
# frames. Also `ktapctl dump --folded` on a kept session of a real ktapd,
# and `ktapctl run --folded` at the end of a run.
#
# usage: test_stack.py --drive ENGINE_DRIVE --hot HOT --ktapd KTAPD
#                      --ktapctl KTAPCTL CASE | --list
# Exit 77 (skipped) when not root or without tracefs.

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TRACEFS = '/sys/kernel/tracing'
CASES = {}
A = None


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def fail(msg):
    print('FAIL: ' + msg)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


def drive(script, *opts, ms=1500):
    """Run script in the engine while hot spins for ms of CPU time;
    returns the globals (engine_drive --dump)."""
    argv = [A.drive, '--dump', *opts, '-e', script, '--', A.hot, str(ms)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        fail('engine_drive exited %d\nstdout:\n%s\nstderr:\n%s'
             % (p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    for line in p.stdout.splitlines():
        if line.startswith('DUMP\t'):
            return json.loads(line[5:]), p.stdout
    fail('no DUMP line in:\n' + p.stdout[-3000:])


def top(table, what):
    expect(table, '%s: no samples' % what)
    return max(table.items(), key=lambda kv: kv[1])


def frames(key):
    return key.split('\n')


def expect_frames(key, names, what):
    """The first frames of key are names[0]+0x..., names[1]+0x..., ..."""
    got = frames(key)
    ok = len(got) >= len(names) and all(
        re.fullmatch(re.escape(n) + r'\+0x[0-9a-f]+', f)
        for n, f in zip(names, got))
    expect(ok, '%s: expected frames %s..., got:\n%s' % (what, names, key))


@case
def profile_ustack():
    """profile-N on every CPU: hot's samples name hot_spin, hot_outer and
    main, innermost first."""
    g, _ = drive('var s = {}\n'
                 'profile-1ms { if (execname == "hot") { s[ustack()] += 1 } }')
    key, n = top(g['s'], 'ustack()')
    expect_frames(key, ['hot_spin', 'hot_outer', 'main'], 'ustack()')
    expect(n >= 100, 'only %d samples of hot_spin in 1.5 s of CPU' % n)


@case
def profile_target():
    """With a target (-- cmd, -p), profile samples its CPU time only."""
    g, _ = drive('var s = {}\nprofile-1ms { s[ustack()] += 1 }', '--target')
    key, _ = top(g['s'], 'ustack() of the target')
    expect_frames(key, ['hot_spin', 'hot_outer', 'main'], 'ustack()')


@case
def depth_skip():
    """ustack(depth, skip): at most depth frames after the first skip."""
    g, _ = drive('var a = {}\nvar b = {}\n'
                 'profile-1ms { if (execname == "hot") {'
                 ' a[ustack(1)] += 1; b[ustack(2, 1)] += 1 } }')
    key, _ = top(g['a'], 'ustack(1)')
    expect(len(frames(key)) == 1, 'ustack(1) gave:\n' + key)
    expect_frames(key, ['hot_spin'], 'ustack(1)')
    key, _ = top(g['b'], 'ustack(2, 1)')
    expect(len(frames(key)) == 2, 'ustack(2, 1) gave:\n' + key)
    expect_frames(key, ['hot_outer', 'main'], 'ustack(2, 1)')


def kernel_functions():
    names = set()
    with open('/proc/kallsyms') as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in 'tTwW' and \
                    int(parts[0], 16):
                names.add(parts[2])
    return names


@case
def tracepoint_stacks():
    """stack() on a syscall tracepoint names the kernel's syscall entry,
    ustack() the calls that made it. sched_switch, which needs no stack,
    may still take the BPF path beside them."""
    g, _ = drive('var k = {}\nvar u = {}\nvar n = 0\n'
                 'trace syscalls:sys_enter_getppid {'
                 ' if (execname == "hot") { k[stack()] += 1;'
                 ' u[ustack()] += 1 } }\n'
                 'trace sched:sched_switch { n += 1 }', ms=500)
    ksyms = kernel_functions()
    key, _ = top(g['k'], 'stack()')
    names = [re.sub(r'\+0x[0-9a-f]+$', '', f) for f in frames(key)]
    expect(all(n in ksyms or re.fullmatch('0x[0-9a-f]+', n) for n in names),
           'stack() frames that are not kernel functions:\n' + key)
    entry = 'do_syscall_64'
    if entry in ksyms:
        expect(entry in names, 'no %s in stack():\n%s' % (entry, key))
    # libc's getppid() makes no frame of its own: the frame pointer chain
    # goes from it to hot_syscall()'s caller.
    key, _ = top(g['u'], 'ustack()')
    expect_frames(key, ['getppid', 'hot_outer', 'main'],
                  'ustack() at sys_enter_getppid')
    expect(g['n'] > 0, 'no sched_switch seen')


@case
def short_lived():
    """A process that is gone before its samples are handled still has
    names: its exec's mappings came as records, in event order."""
    g, _ = drive('var u = {}\n'
                 'trace syscalls:sys_enter_getppid {'
                 ' if (execname == "hot") { u[ustack()] += 1 } }', ms=2)
    key, _ = top(g['u'], 'ustack() of a short-lived process')
    expect_frames(key, ['getppid', 'hot_outer', 'main'],
                  'ustack() of a short-lived process')


@case
def uprobe_ustack():
    """A uprobe's samples carry the user stack too. At a function's entry
    its frame is not made yet: kernels that only follow frame pointers go
    on from its caller's caller (this one finds hot_outer)."""
    g, _ = drive('var u = {}\n'
                 'trace probe:%s:hot_syscall { u[ustack()] += 1 }'
                 % os.path.abspath(A.hot),
                 ms=300)
    key, _ = top(g['u'], 'ustack() at a uprobe')
    got = frames(key)
    names = [re.sub(r'\+0x[0-9a-f]+$', '', f) for f in got]
    expect(got[0] == 'hot_syscall+0x0' and len(names) > 2 and
           (names[1] == 'main' or names[1:3] == ['hot_outer', 'main']),
           'ustack() at a uprobe:\n' + key)


@case
def no_stack_in_tick():
    """A tick interrupted nothing: stack() and ustack() are nil."""
    g, out = drive('tick-10ms { print("T", stack() == nil, ustack() == nil);'
                   ' exit() }', ms=100)
    expect('T\ttrue\ttrue' in out, 'tick printed:\n' + out)


FOLDED_LINE = re.compile(r'[^ ;]+(;[^ ;]+)* [0-9]+')


@case
def folded():
    """ktapctl dump --folded: lines flamegraph.pl reads, outermost frame
    first, offsets gone; hot's own stack is the biggest."""
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, 'ktapd.sock')
        script = os.path.join(d, 'prof.kp')
        # A name of its own: other cases of the suite may run hot at the
        # same time, and this profile is system-wide.
        hot = os.path.join(d, 'hotfold')
        shutil.copy(A.hot, hot)
        with open(script, 'w') as f:
            f.write('var s = {}\n'
                    'profile-1ms { if (execname == "hotfold") {'
                    ' s[ustack()] += 1 } }\n')
        env = dict(os.environ, KTAP_SOCKET=sock)
        daemon = subprocess.Popen([A.ktapd, '--socket', sock],
                                  stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if os.path.exists(sock):
                    break
                time.sleep(0.05)

            def ctl(*args, check=True):
                p = subprocess.run([A.ktapctl, *args], env=env, text=True,
                                   capture_output=True, timeout=30)
                if check and p.returncode != 0:
                    fail('ktapctl %s exited %d: %s' % (' '.join(args),
                                                       p.returncode, p.stderr))
                return p

            ctl('submit', '--name', 'prof', '--keep', script)
            subprocess.run([hot, '1000'], check=True, timeout=60)
            # Samples taken before hot exited may still be in the rings:
            # wait until the table stops growing.
            out = None
            for _ in range(50):
                last, out = out, ctl('dump', '--folded=s', 'prof').stdout
                if out and out == last:
                    break
                time.sleep(0.1)
            every = ctl('dump', '--folded', 'prof').stdout
            p = ctl('dump', '--folded=nope', 'prof', check=False)
            ctl('stop', 'prof')
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
    lines = out.splitlines()
    expect(lines, 'dump --folded printed nothing')
    for line in lines:
        expect(FOLDED_LINE.fullmatch(line), 'not a folded line: %r' % line)
    expect(every == out, 'dump --folded (every table) differs from =s')
    best = max(lines, key=lambda l: int(l.rsplit(' ', 1)[1]))
    expect(re.search(r'(^|;)main;hot_outer;hot_spin [0-9]+$', best),
           'the biggest folded stack is not hot_spin\'s: ' + best)
    expect(len(set(l.rsplit(' ', 1)[0] for l in lines)) == len(lines),
           'a stack folded twice:\n' + out)
    expect(p.returncode == 1 and 'nope' in p.stderr,
           'dump --folded=nope: %d %s' % (p.returncode, p.stderr))


@case
def run_folded():
    """ktapctl run --folded: at the end, stdout holds only folded lines
    (the script's output went to stderr); hot's stack is the biggest."""
    with tempfile.TemporaryDirectory() as d:
        # A name of its own, as in folded: the profile is of hot only,
        # but another case may run a hot of its own at the same time.
        hot = os.path.join(d, 'hotrun')
        shutil.copy(A.hot, hot)
        run = [A.ktapctl, 'run', '--private']
        p = subprocess.run(
            run + ['--folded=s', '-e',
                   'var s = {}\nvar other = {}\n'
                   'profile-1ms { s[ustack()] += 1 }\n'
                   'trace_end { other["x"] = 1 print("ended") }',
                   '--', hot, '500'],
            capture_output=True, text=True, timeout=60)
        nope = subprocess.run(run + ['--folded=nope', '-e', 'var s = {}'],
                              capture_output=True, text=True, timeout=30)
    expect(p.returncode == 0, 'run --folded exited %d: %s'
           % (p.returncode, p.stderr))
    expect(p.stderr.splitlines() == ['ended'],
           'the script\'s output is not on stderr: %r' % p.stderr)
    lines = p.stdout.splitlines()
    expect(lines, 'run --folded printed nothing')
    for line in lines:
        expect(FOLDED_LINE.fullmatch(line), 'not a folded line: %r' % line)
    best = max(lines, key=lambda l: int(l.rsplit(' ', 1)[1]))
    expect(re.search(r'(^|;)main;hot_outer;hot_spin [0-9]+$', best),
           'the biggest folded stack is not hot_spin\'s: ' + best)
    expect(not any(l.startswith('x ') for l in lines),
           'run --folded=s printed another table:\n' + p.stdout)
    expect(nope.returncode == 1 and 'nope' in nope.stderr,
           'run --folded=nope: %d %s' % (nope.returncode, nope.stderr))


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument('--list', action='store_true')
    for opt in ('drive', 'hot', 'ktapd', 'ktapctl'):
        ap.add_argument('--' + opt)
    ap.add_argument('case', nargs='?')
    A = ap.parse_args()
    if A.list:
        print('\n'.join(CASES))
        return 0
    if os.geteuid() != 0 or not os.path.exists(TRACEFS + '/events'):
        print('SKIP: needs root and tracefs')
        return 77
    CASES[A.case]()
    print('ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
