#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The user engine against this machine's kernel: each case runs scripts in
# engine_drive (the engine in-process, as ktapd runs it) while `workload`
# does a known number of system calls, and checks what the script saw.
#
# usage: test_engine.py ENGINE_DRIVE WORKLOAD CASE | --list
# Exit 77 (skipped) when not root or without tracefs.

import json
import os
import re
import subprocess
import sys
import tempfile
import time

DRIVE = WORKLOAD = None
TRACEFS = '/sys/kernel/tracing'
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


class Run:
    def __init__(self, p):
        self.status = p.returncode
        self.out = p.stdout
        self.err = p.stderr
        m = re.search(r'armed in ([0-9.]+) ms', p.stderr)
        self.armed_ms = float(m.group(1)) if m else None
        m = re.search(r'stats: (.*)', p.stderr)
        self.stats = dict(kv.split('=') for kv in m.group(1).split()) if m else {}

    def lines(self, prefix):
        """Tab-separated fields of the output lines starting with prefix."""
        return [l.split('\t')[1:] for l in self.out.splitlines()
                if l.split('\t')[0] == prefix]


def drive(script, *opts, cmd=None, check=True, timeout=60):
    argv = [DRIVE, '--stats', *opts, '-e', script]
    if cmd:
        argv += ['--', *cmd]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    r = Run(p)
    if check and r.status != 0:
        fail('engine_drive exited %d\nstdout:\n%s\nstderr:\n%s'
             % (r.status, r.out[-3000:], r.err[-3000:]))
    return r


def fail(msg):
    print('FAIL: ' + msg)
    sys.exit(1)


def expect(cond, msg, run=None):
    if not cond:
        if run:
            msg += '\nstdout:\n%s\nstderr:\n%s' % (run.out[-4000:],
                                                   run.err[-2000:])
        fail(msg)


def workload(*steps):
    return [WORKLOAD, *map(str, steps)]


def workload_pid(run):
    """engine_drive runs the command as its child; the script prints it."""
    pids = {int(f[0]) for f in run.lines('EXEC')}
    expect(len(pids) == 1, 'expected one workload exec, got %s' % pids, run)
    return pids.pop()


# An exec probe in every script that needs the workload's pid.
EXEC_PROBE = ('trace sched:sched_process_exec /execname == "workload"/ '
              '{ printf("EXEC\\t%d\\n", pid) }\n')


@case
def open_fields():
    """sys_enter/exit_openat: counts, args, argstr, pid, execname, and the
    path through user_string (read after the fact from the process's
    memory: the workload waits a little before exiting)."""
    n = 50
    r = drive(EXEC_PROBE + '''
trace syscalls:sys_enter_openat /execname == "workload"/ {
    printf("E\\t%d\\t%d\\t%d\\t%d\\t%d\\t%s\\t%s\\t%s\\t%s\\n", pid, tid,
           arg0, arg1, arg3, execname, probename, argstr,
           user_string(arg2))
}
trace syscalls:sys_exit_openat /execname == "workload"/ {
    printf("X\\t%d\\t%d\\t%s\\n", arg0, arg1, argstr)
}''', cmd=workload('open', '/etc/hostname', n, 'sleep', 500))
    pid = workload_pid(r)
    ent = [f for f in r.lines('E') if f[8] == '/etc/hostname']
    expect(len(ent) == n, 'expected %d opens of /etc/hostname, got %d'
           % (n, len(ent)), r)
    for f in ent:
        expect(int(f[0]) == pid and int(f[1]) == pid, 'pid/tid %s/%s != %d'
               % (f[0], f[1], pid), r)
        expect(f[2] == '257', 'arg0 (syscall number) %s != 257' % f[2], r)
        # dfd AT_FDCWD as the kernel records it: an 8-byte unsigned field
        expect(f[3] == str(0xffffff9c), 'arg1 (dfd) %s' % f[3], r)
        expect(f[4] == '0', 'arg3 (flags) %s != 0' % f[4], r)
        expect(f[5] == 'workload', 'execname %s' % f[5], r)
        expect(f[6] == 'sys_enter_openat', 'probename %s' % f[6], r)
        expect(re.fullmatch(r'sys_openat\(dfd: 0xffffff9c, filename: 0x[0-9a-f]+'
                            r', flags: 0, mode: 0\)', f[7]),
               'argstr %r' % f[7], r)
    ext = r.lines('X')
    fds = [f for f in ext if f[0] == '257' and int(f[1]) >= 3]
    expect(len(fds) >= n, 'expected %d successful exits, got %d'
           % (n, len(fds)), r)
    for f in fds:
        expect(f[2] == 'sys_openat -> 0x%x' % int(f[1]), 'exit argstr %r'
               % f[2], r)


@case
def syscalls_all():
    """syscalls:* arms well under a second and sees exact counts."""
    n = 2000
    r = drive(EXEC_PROBE + '''
var s = {}
trace syscalls:* /execname == "workload"/ { s[probename] += 1 }
trace_end { for (k, v in pairs(s)) { printf("C\\t%s\\t%d\\n", k, v) } }''',
              '--ring', str(16 << 20), cmd=workload('getppid', n, 'read', n))
    counts = {f[0]: int(f[1]) for f in r.lines('C')}
    expect(r.stats.get('lost') == '0', 'events lost: %s' % r.stats, r)
    expect(r.armed_ms is not None and r.armed_ms < 1000,
           'syscalls:* armed in %s ms' % r.armed_ms, r)
    for ev in ('sys_enter_getppid', 'sys_exit_getppid'):
        expect(counts.get(ev) == n, '%s: %s != %d' % (ev, counts.get(ev), n),
               r)
    for ev in ('sys_enter_read', 'sys_exit_read'):
        expect(counts.get(ev, 0) >= n, '%s: %s < %d'
               % (ev, counts.get(ev), n), r)
    expect(counts.get('sys_enter_exit_group') == 1, 'exit_group: %s'
           % counts.get('sys_enter_exit_group'), r)
    print('syscalls:* armed in %.1f ms' % r.armed_ms)


@case
def syscalls_exit_retval():
    """sys_exit_* arg1 is the return value, arg0 the number."""
    r = drive('''
trace syscalls:sys_exit_getppid /execname == "workload"/ {
    printf("R\\t%d\\t%d\\t%d\\n", arg0, arg1, pid)
}''', cmd=workload('getppid', 5))
    rows = r.lines('R')
    expect(len(rows) == 5, 'expected 5 getppid exits, got %d' % len(rows), r)
    for f in rows:
        # the workload's parent is engine_drive itself
        expect(f[0] == '110', 'getppid number %s' % f[0], r)
        expect(int(f[1]) > 1 and int(f[1]) != int(f[2]),
               'getppid returned %s' % f[1], r)


@case
def string_fields():
    """String fields are strings: sched_process_exec's filename
    (__data_loc char[]) and sched_switch's prev_comm (char[16])."""
    r = drive('''
trace sched:sched_process_exec /execname == "workload"/ {
    printf("X\\t%s\\t%d\\n", arg0, len(arg0))
}
trace sched:sched_switch /arg0 == "workload"/ {
    printf("W\\t%s\\t%d\\n", arg0, arg1)
}''', cmd=workload('spin', 20))
    rows = r.lines('X')
    expect(rows == [[WORKLOAD, str(len(WORKLOAD))]],
           'exec filename %s, expected %s' % (rows, WORKLOAD), r)
    rows = r.lines('W')
    expect(rows and all(f[0] == 'workload' and int(f[1]) > 0 for f in rows),
           'sched_switch prev_comm/prev_pid %s' % rows, r)


@case
def sched_glob():
    """sched:* sees the workload's forks, their exits and its exec."""
    r = drive(EXEC_PROBE + '''
var s = {}
trace sched:* { if (execname == "workload") { s[probename] += 1 } }
trace_end { for (k, v in pairs(s)) { printf("C\\t%s\\t%d\\n", k, v) } }''',
              cmd=workload('fork', 5, 'sleep', 20))
    counts = {f[0]: int(f[1]) for f in r.lines('C')}
    expect(counts.get('sched_process_fork', 0) == 5, 'forks: %s' % counts, r)
    # five children and the workload itself
    expect(counts.get('sched_process_exit', 0) == 6, 'exits: %s' % counts, r)
    expect(counts.get('sched_process_exec', 0) == 1, 'execs: %s' % counts, r)
    expect(counts.get('sched_switch', 0) >= 1, 'switches: %s' % counts, r)


@case
def execname_tracking():
    """execname follows exec and prctl(PR_SET_NAME) as they happen, even
    for children that live for a moment."""
    r = drive('''
trace syscalls:sys_enter_getppid {
    if (execname == "workload" || execname == "renamed") {
        printf("N\\t%s\\t%d\\n", execname, pid)
    }
}''', cmd=workload('getppid', 3, 'rename', 'renamed', 'getppid', 4))
    names = [f[0] for f in r.lines('N')]
    expect(names == ['workload'] * 3 + ['renamed'] * 4,
           'execname sequence %s' % names, r)


@case
def unknown_events():
    """Events that do not exist, and kinds this engine lacks, fail start
    with a message naming them; nothing runs."""
    cases = [
        ('trace sched:nope {}', "event 'sched:nope' not found"),
        ('trace nosuchsys:* {}', "event 'nosuchsys:*' not found"),
        ('trace sched:sched_switch, sched:nope2 {}',
         "event 'sched:nope2' not found"),
        ('trace probe:do_sys_open {}',
         "event 'probe:do_sys_open': kprobes are not"),
        # more uprobe and marker cases in tests/uprobe
        ('trace probe:/bin/true:main {}', '/bin/true has no symbols'),
        ('trace sdt:/bin/true:x {}', '/bin/true has no SDT markers'),
    ]
    for script, msg in cases:
        r = drive('print("main ran")\n' + script, check=False)
        expect(r.status == 1, '%r: status %d' % (script, r.status), r)
        expect(msg in r.err, '%r: expected %r' % (script, msg), r)
        expect('main ran' not in r.out, '%r: main ran' % script, r)


@case
def target_pid():
    """-p (here: --target, the command's pid): only that process and its
    threads; the session ends by itself when it exits."""
    bg = subprocess.Popen(workload('spin', 100, 'getppid', 3000))
    try:
        r = drive('''
var pids = {}
trace syscalls:sys_enter_getppid { pids[pid] += 1 }
trace_end { for (k, v in pairs(pids)) { printf("P\\t%d\\t%d\\n", k, v) } }''',
                  '--target', cmd=workload('threads', 4, 'getppid', 100),
                  timeout=30)
    finally:
        bg.wait()
    rows = r.lines('P')
    expect(len(rows) == 1, 'pids seen: %s' % rows, r)
    expect(int(rows[0][1]) == 4 * 10 + 100, 'getppid count %s' % rows[0][1],
           r)


@case
def attach_pid():
    """-p PID of a process already running, with threads."""
    bg = subprocess.Popen(workload('sleep', 300, 'threads', 3, 'getppid', 50),
                          stdout=subprocess.DEVNULL)
    try:
        r = drive('''
var n = 0
var tids = {}
trace syscalls:sys_enter_getppid { n += 1; tids[tid] = 1;
    if (pid != %d) { print("BAD", pid) } }
trace_end { printf("N\\t%%d\\t%%d\\n", n, len(tids)) }''' % bg.pid,
                  '-p', str(bg.pid), timeout=30)
    finally:
        bg.wait()
    rows = r.lines('N')
    expect(rows and int(rows[0][0]) == 80, 'getppid count %s' % rows, r)
    expect(int(rows[0][1]) == 4, 'distinct tids %s' % rows, r)
    expect('BAD' not in r.out, 'events of another pid', r)


@case
def cpu_restrict():
    """-C CPU: only events on that CPU."""
    if os.cpu_count() < 2:
        print('SKIP: one CPU')
        sys.exit(77)
    r = drive('''
var c = {}
trace syscalls:sys_enter_getppid /execname == "workload"/ { c[cpu] += 1 }
trace_end { for (k, v in pairs(c)) { printf("C\\t%d\\t%d\\n", k, v) } }''',
              '-C', '1', cmd=workload('pin', 0, 'getppid', 100, 'pin', 1,
                                      'getppid', 30))
    rows = {int(f[0]): int(f[1]) for f in r.lines('C')}
    expect(rows == {1: 30}, 'per-CPU counts %s' % rows, r)


@case
def ticks():
    """tick-N fires about duration/N times; faster ticks fire more."""
    r = drive('''
var a = 0
var b = 0
tick-100ms { a += 1 }
tick-10ms { b += 1 }
trace_end { printf("T\\t%d\\t%d\\n", a, b) }''', '--duration', '1000')
    a, b = map(int, r.lines('T')[0])
    expect(6 <= a <= 11, 'tick-100ms fired %d times in 1 s' % a, r)
    expect(5 * a <= b <= 12 * a + 10, 'tick-10ms %d vs tick-100ms %d'
           % (b, a), r)
    expect(r.stats.get('nprobes') == '2', 'nprobes %s' % r.stats, r)


@case
def profile():
    """profile-N samples whatever runs, every N of CPU time, on every CPU:
    a workload burning 400 ms of CPU gets about 400 samples of 1 ms; with
    --target only its samples come."""
    script = '''
var s = {}
profile-1ms { s[execname] += 1; if (probename != "profile-1ms") { print("BAD", probename) } }
trace_end { for (k, v in pairs(s)) { printf("S\\t%s\\t%d\\n", k, v) } }'''
    r = drive(script, cmd=workload('spin', 400))
    got = {f[0]: int(f[1]) for f in r.lines('S')}
    expect(200 <= got.get('workload', 0) <= 450, 'samples %s' % got, r)
    expect('BAD' not in r.out, 'probename', r)
    r = drive(script, '--target', cmd=workload('spin', 200))
    got = {f[0]: int(f[1]) for f in r.lines('S')}
    # The target is a forked engine_drive until it execs the workload: a
    # slow (sanitized) exec may be sampled under the driver's name. Nothing
    # else may appear.
    pre_exec = got.pop('engine_drive', 0)
    expect(list(got) == ['workload'] and 100 <= got['workload'] <= 250 and
           pre_exec <= 5, 'samples with --target %s' % got, r)


@case
def bpf_path():
    """Fixed-size tracepoints go through BPF programs unless KTAPD_BPF=0
    (the suite 'engine-perf' runs every case that way): exact syscall
    counts, only the wanted syscall numbers, and -C checked by the
    program, on one path as on the other."""
    script = '''
var s = {}
trace syscalls:sys_enter_getppid, syscalls:sys_exit_getppid
    /execname == "workload"/ { s[probename] += 1 }
trace_end { for (k, v in pairs(s)) { printf("S\\t%s\\t%d\\n", k, v) } }'''
    r = drive(script, '--debug', cmd=workload('getppid', 20000))
    if os.environ.get('KTAPD_BPF') == '0':
        expect('through BPF' not in r.err, 'BPF used with KTAPD_BPF=0', r)
    else:
        expect(re.search(r'Tracepoints through BPF: 2 events', r.err),
               'the BPF fast path was not used', r)
    got = {f[0]: int(f[1]) for f in r.lines('S')}
    expect(got == {'sys_enter_getppid': 20000, 'sys_exit_getppid': 20000},
           'counts %s' % got, r)
    r = drive('''
var n = {}
trace sched:sched_process_exec { n[cpu] += 1 }
trace_end { for (k, v in pairs(n)) { printf("C\\t%d\\t%d\\n", k, v) } }''',
              '-C', '0', cmd=['sh', '-c', 'taskset -c 1 true; taskset -c 0 true'])
    cpus = {int(f[0]) for f in r.lines('C')}
    expect(cpus == {0}, 'CPUs seen with -C 0: %s' % cpus, r)


@case
def counted_tracepoints():
    """Tracepoint probes that only add constants (counter probes) are
    counted by their BPF program, no record per hit, and applied before
    anything reads them (a tick does); in the same raw_syscalls program a
    syscall counted beside one recorded. Same figures with KTAPD_BPF=0.
    Counts are system-wide: at least the workload's, the rest exact."""
    n = 20000
    r = drive('''
var n = 0
var s = {}
var seen = -1
var opens = 0
trace syscalls:sys_enter_getppid, syscalls:sys_exit_getppid {
    n += 1
    s[probename] += 1
}
trace syscalls:sys_enter_openat /execname == "ktap-opens"/ { opens += 1 }
tick-10ms { seen = n }
trace_end {
    printf("N\\t%d\\t%d\\t%d\\t%d\\t%d\\n", n, s["sys_enter_getppid"],
           s["sys_exit_getppid"], seen, opens)
}''', '--debug', cmd=workload('getppid', n, 'rename', 'ktap-opens',
                            'open', '/dev/null', 3, 'sleep', 300))
    bpf = os.environ.get('KTAPD_BPF') != '0'
    expect(bool(re.search(r'raw_syscalls:sys_enter: 1 syscall events '
                          r'counted by BPF', r.err)) == bpf,
           'counted by BPF: %s' % bpf, r)
    total, enter, exit_, seen, opens = map(int, r.lines('N')[0])
    expect(enter >= n and exit_ >= n and total == enter + exit_,
           'counts %d %d %d' % (total, enter, exit_), r)
    # The last ticks come while the workload sleeps, its calls all made.
    expect(seen >= 2 * n, 'a tick saw %d of %d' % (seen, total), r)
    expect(opens == 3, 'opens %d' % opens, r)


@case
def lost_events():
    """A one-page ring, a heavy workload and a slow handler: losses
    counted and reported."""
    r = drive('''
var n = 0
trace syscalls:sys_enter_getppid { n += 1; for (i = 1, 2000) { } }
trace_end { printf("N\\t%d\\n", n) }''', '--ring', '4096',
              cmd=workload('getppid', 300000))
    n = int(r.lines('N')[0][0])
    lost = int(r.stats['lost'])
    expect(lost > 0, 'nothing lost with a 4 KiB ring', r)
    expect(re.search(r'^ktap: %d events lost$' % lost, r.out, re.M),
           'no loss report', r)
    expect(n + lost >= 300000, 'seen %d + lost %d < 300000' % (n, lost), r)
    print('seen %d, lost %d' % (n, lost))


@case
def session_end():
    """exit(n) in a handler ends the session with n after trace_end; a
    runtime error ends it with 3 and no trace_end; exit() in main arms
    nothing."""
    r = drive('''
var n = 0
trace syscalls:sys_enter_getppid /execname == "workload"/ { n += 1; exit(7) }
trace_end { print("END", n) }''', cmd=workload('getppid', 10, 'sleep', 200),
              check=False)
    expect(r.status == 7, 'exit(7): status %d' % r.status, r)
    expect(r.out == 'END\t1\n', 'handlers after exit() or no trace_end', r)
    r = drive('''
trace syscalls:sys_enter_getppid /execname == "workload"/ { var x = 1 / 0 }
trace_end { print("END") }''', cmd=workload('getppid', 10, 'sleep', 200),
              check=False)
    expect(r.status == 3, 'runtime error status %d' % r.status, r)
    expect(re.search(r'^error: -e:2: divide by zero$', r.out, re.M),
           'error line', r)
    expect('END' not in r.out, 'trace_end ran after an error', r)
    r = drive('''
print("main"); exit(5)
trace syscalls:* { print("event") }
trace_end { print("END") }''', check=False, timeout=10)
    expect(r.status == 5 and r.out == 'main\nEND\n', 'exit in main', r)


@case
def dump_and_args():
    """Script arguments reach arg[], globals dump as one JSON object."""
    r = drive('''
var count = {}
var label = arg[1]
trace syscalls:sys_enter_getppid /execname == "workload"/ { count[label] += arg[2] }''',
              '--dump', '--arg', 'calls', '--arg', '3',
              cmd=workload('getppid', 4))
    dump = [f for f in r.lines('DUMP')]
    expect(len(dump) == 1, 'no dump', r)
    data = json.loads(dump[0][0])
    expect(data.get('count') == {'calls': 12} and data.get('label') == 'calls',
           'dump %r' % data, r)


# argstr against the kernel's own trace output

def tracefs_instance():
    path = tempfile.mkdtemp(prefix='ktap_test_', dir='/tmp')
    name = os.path.basename(path)
    os.rmdir(path)
    inst = os.path.join(TRACEFS, 'instances', name)
    os.mkdir(inst)
    return inst


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


TRACE_LINE = re.compile(r'^\s*(.*)-(\d+)\s+\[(\d+)\]\s+\S+\s+[\d.]+: (.*)$')


def compare_with_kernel(events, steps):
    """Run steps under both the kernel's tracer (a private tracefs instance)
    and a script printing argstr; the workload's lines must be equal."""
    inst = tracefs_instance()
    try:
        write(os.path.join(inst, 'buffer_size_kb'), '8192')
        for ev in events:
            write(os.path.join(inst, 'events', ev.replace(':', '/'),
                               'enable'), '1')
        r = drive('''
trace %s { printf("L\\t%%d\\t%%s\\t%%s\\n", tid, execname, argstr) }'''
                  % ','.join(events), cmd=workload(*steps))
        write(os.path.join(inst, 'tracing_on'), '0')
        with open(os.path.join(inst, 'trace')) as f:
            ktext = f.read()
    finally:
        os.rmdir(inst)
    ours = [f for f in r.lines('L')]
    tids = {f[0] for f in ours if f[1] == 'workload'}
    expect(tids, 'no events from the workload', r)
    mine = sorted((f[0], f[2]) for f in ours if f[0] in tids)
    kern = []
    for line in ktext.splitlines():
        m = TRACE_LINE.match(line)
        if m and m.group(2) in tids:
            kern.append((m.group(2), m.group(4)))
    kern.sort()
    if mine != kern:
        a, b = set(mine), set(kern)
        fail('argstr differs from the kernel trace (%d vs %d lines)\n'
             'only ours:\n%s\nonly the kernel\'s:\n%s'
             % (len(mine), len(kern),
                '\n'.join('  %s %s' % x for x in sorted(a - b)[:15]),
                '\n'.join('  %s %s' % x for x in sorted(b - a)[:15])))
    print('%d lines identical' % len(mine))


@case
def argstr_syscalls():
    """argstr of syscall events (fed by raw_syscalls) is the kernel's."""
    compare_with_kernel(['syscalls:sys_enter_openat', 'syscalls:sys_exit_openat',
                         'syscalls:sys_enter_getppid', 'syscalls:sys_exit_getppid',
                         'syscalls:sys_enter_read', 'syscalls:sys_exit_read',
                         'syscalls:sys_enter_close', 'syscalls:sys_exit_close',
                         'syscalls:sys_enter_prctl', 'syscalls:sys_exit_prctl',
                         'syscalls:sys_enter_exit_group'],
                        ['open', '/etc/hostname', 20, 'getppid', 20, 'read', 5,
                         'open', '/nonexistent', 3, 'rename', 'workload'])


@case
def argstr_tracepoints():
    """argstr of tracepoints (print programs, libtraceevent's twins) is the
    kernel's: plain fields, and sched_switch's __print_flags and ?:."""
    compare_with_kernel(['sched:sched_switch',
                         'sched:sched_process_fork', 'sched:sched_process_exit',
                         'sched:sched_process_exec', 'sched:sched_process_wait',
                         'sched:sched_process_free', 'sched:sched_wakeup_new',
                         'signal:signal_generate', 'signal:signal_deliver',
                         'task:task_newtask', 'task:task_rename',
                         'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit'],
                        ['fork', 3, 'signal', 'getppid', 5, 'rename', 'workload'])


def main():
    global DRIVE, WORKLOAD
    if sys.argv[1:] == ['--list']:
        print('\n'.join(CASES))
        return 0
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print('usage: test_engine.py ENGINE_DRIVE WORKLOAD CASE\ncases: '
              + ' '.join(CASES))
        return 2
    DRIVE, WORKLOAD = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0 or not os.path.exists(os.path.join(TRACEFS, 'events')):
        print('SKIP: needs root and tracefs at ' + TRACEFS)
        return 77
    CASES[sys.argv[3]]()
    return 0


if __name__ == '__main__':
    sys.exit(main())
