#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# uprobes, uretprobes and SDT markers in the user engine, for real: each
# case runs scripts in engine_drive (tests/engine's driver and helpers)
# on this directory's programs and checks what the script saw; listings
# and one start failure go through ktapctl.
#
# usage: test_uprobe.py ENGINE_DRIVE KTAPCTL BUILDDIR CASE | --list
# Exit 77 (skipped) when not root or without the uprobe PMU.

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'engine'))
import test_engine as te  # noqa: E402
from test_engine import expect  # noqa: E402

KTAPCTL = BUILD = None
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def prog(name):
    return os.path.join(BUILD, name)


def drive(script, *opts, cmd=None, check=True):
    return te.drive(script, *opts, cmd=cmd and list(map(str, cmd)),
                    check=check)


def rows(run, prefix):
    return run.lines(prefix)


def file_offset(path, sym):
    """sym's file offset: its address (nm) through the PT_LOAD headers."""
    nm = subprocess.run(['nm', path], capture_output=True, text=True,
                        check=True).stdout
    addr = next(int(l.split()[0], 16) for l in nm.splitlines()
                if l.split()[-1] == sym)
    ph = subprocess.run(['readelf', '-lW', path], capture_output=True,
                        text=True, check=True).stdout
    for l in ph.splitlines():
        f = l.split()
        if f and f[0] == 'LOAD':
            off, vaddr, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if vaddr <= addr < vaddr + filesz:
                return addr, addr - vaddr + off
    te.fail('%s not in a PT_LOAD segment of %s' % (sym, path))


def libc_of(path):
    """The libc a program loads, as ldd says."""
    out = subprocess.run(['ldd', path], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r'libc\.so\.6 => (\S+)', out)
    expect(m, 'no libc in ldd %s:\n%s' % (path, out))
    return m.group(1)


@case
def uprobe_args():
    """Entry: arg0 the function's address, arg1..arg3 the SysV argument
    registers; return: retval, the same arg0; in a PIE and in a fixed
    executable (whose runtime address is its link address). Entry probes
    go through BPF unless KTAPD_BPF=0, return probes through perf."""
    for name in ('uptest_pie', 'uptest_exec'):
        path = prog(name)
        r = drive('''
trace probe:%(p)s:add3 /execname == "%(n)s"/ {
    printf("E\\t%%d\\t%%d\\t%%d\\t%%d\\t%%d\\t%%s\\t%%s\\t%%s\\n", pid, arg0, arg1,
           arg2, arg3, execname, probename, argstr)
}
trace probe:%(p)s:add3%%return /execname == "%(n)s"/ {
    printf("R\\t%%d\\t%%d\\t%%d\\t%%s\\t%%s\\n", pid, arg0, retval, probename,
           argstr)
}''' % {'p': path, 'n': name}, '--debug', cmd=[path, 5])
        bpf = re.search(r'through BPF: 1 events', r.err)
        expect(bool(bpf) != (os.environ.get('KTAPD_BPF') == '0'),
               'BPF path used: %s' % bool(bpf), r)
        ent, ret = rows(r, 'E'), rows(r, 'R')
        expect(len(ent) == 5 and len(ret) == 5,
               '%s: %d entries, %d returns' % (name, len(ent), len(ret)), r)
        pids = {f[0] for f in ent + ret}
        expect(len(pids) == 1 and int(pids.pop()) > 0, 'pids %s' % pids, r)
        fn = int(ent[0][1])
        for i, f in enumerate(ent):
            expect([int(x) for x in f[1:5]] == [fn, i, 10, 100],
                   '%s: entry %d: %s' % (name, i, f), r)
            expect(f[5] == name and f[6] == 'add3', 'names %s' % f, r)
            expect(f[7] == 'add3: (0x%x)' % fn, 'argstr %r' % f[7], r)
        for i, f in enumerate(ret):
            expect(int(f[1]) == fn and int(f[2]) == i + 110 and
                   f[3] == 'add3%return', '%s: return %d: %s' % (name, i, f),
                   r)
            expect(re.fullmatch(r'add3%%return: \(0x[0-9a-f]+ <- 0x%x\)' % fn,
                                f[4]), 'return argstr %r' % f[4], r)
        if name == 'uptest_exec':
            addr, _ = file_offset(path, 'add3')
            expect(fn == addr, 'arg0 0x%x != add3 at 0x%x' % (fn, addr), r)


@case
def uprobe_offset():
    """probe:/path:0xOFF is a file offset, %return works on it too."""
    path = prog('uptest_exec')
    _, off = file_offset(path, 'add3')
    r = drive('''
trace probe:%s:0x%x { printf("E\\t%%s\\t%%d\\n", probename, arg2) }
trace probe:%s:0x%x%%return { printf("R\\t%%d\\n", retval) }'''
              % (path, off, path, off), cmd=[path, 4])
    expect([f for f in rows(r, 'E')] == [['0x%x' % off, '10']] * 4,
           'entries at 0x%x' % off, r)
    expect([int(f[0]) for f in rows(r, 'R')] == [110, 111, 112, 113],
           'returns', r)


@case
def uprobe_glob():
    """A glob probes every matching function, each named by probename."""
    path = prog('uptest_pie')
    r = drive('''
var s = {}
trace probe:%s:add* { s[probename] += 1 }
trace_end { for (k, v in pairs(s)) { printf("C\\t%%s\\t%%d\\n", k, v) } }'''
              % path, cmd=[path, 3, 0, 'x'])
    got = {f[0]: int(f[1]) for f in rows(r, 'C')}
    expect(got == {'add3': 3, 'add_never': 1}, 'counts %s' % got, r)


@case
def shared_library():
    """A function and a marker (no semaphore) of a shared library, by the
    library's path, in a program using it."""
    lib = prog('libuptest.so')
    r = drive('''
trace probe:%(l)s:uptest_lib_mul { printf("E\\t%%d\\t%%d\\n", arg1, arg2) }
trace probe:%(l)s:uptest_lib_mul%%return { printf("R\\t%%d\\n", retval) }
trace sdt:%(l)s:uptestlib:mul { printf("M\\t%%s\\t%%d\\t%%d\\n", probename, arg1,
                                      arg2) }''' % {'l': lib},
              cmd=[prog('uptest_pie'), 4])
    expect(rows(r, 'E') == [[str(i), '3'] for i in range(4)], 'entries', r)
    expect(rows(r, 'R') == [[str(3 * i)] for i in range(4)], 'returns', r)
    expect(rows(r, 'M') == [['mul', str(i), str(3 * i)] for i in range(4)],
           'marker', r)


def sdt_expected(n):
    tick = [['tick', str(i), str(i * 1000), '-5000000000', 'nil', 'nil']
            for i in range(n)]
    mixed = [['mixed', '-3', '200', str(8 + i), '42'] for i in range(n)]
    glob = [['global', str(7 + n), str([11, 22, 33, 44][n & 3]), '33',
             'nil', 'nil']]
    return tick, mixed, glob


@case
def sdt_markers():
    """Marker operands of every kind (-O0: frame slots; -O2: registers,
    constants, a global through %rip, an indexed table), the markers'
    semaphores set while (and only while) they are traced."""
    n = 3
    for name in ('sdt_o0', 'sdt_o2'):
        path = prog(name)
        r = drive('''
trace sdt:%s:* {
    printf("M\\t%%s\\t%%s\\t%%s\\t%%s\\t%%s\\t%%s\\n", probename, arg1, arg2, arg3,
           arg4, arg5)
}''' % path, cmd=[path, n, 200])
        tick, mixed, glob = sdt_expected(n)
        got = rows(r, 'M')
        expect([f for f in got if f[0] == 'tick'] == tick, 'tick', r)
        # arg5 is &sink: an address, not a known value
        expect([f[:5] for f in got if f[0] == 'mixed'] == mixed, 'mixed', r)
        expect(all(int(f[5]) > 0 for f in got if f[0] == 'mixed'),
               'mixed arg5', r)
        expect([f for f in got if f[0] == 'global'] == glob, 'global', r)
        expect('enabled %d' % n in r.out, 'semaphore not set', r)
    # provider:marker names one; the others' semaphores stay clear
    path = prog('sdt_o2')
    r = drive('trace sdt:%s:ktaptest:mixed { printf("M\\t%%s\\n", probename) }'
              % path, cmd=[path, n])
    expect(rows(r, 'M') == [['mixed']] * n and 'enabled 0' in r.out,
           'only mixed', r)
    out = subprocess.run([path, str(n)], capture_output=True,
                         text=True).stdout
    expect(out.startswith('enabled 0'), 'untraced: %r' % out)


@case
def target_only():
    """With a target (-p, -- cmd) a uprobe fires in it alone, not in
    another process running the same code."""
    path = prog('uptest_pie')
    bg = subprocess.Popen([path, '-t', '4000000000'], stdout=subprocess.DEVNULL)
    try:
        r = drive('''
var p = {}
trace probe:%s:add3 { p[pid] += 1 }
trace_end { for (k, v in pairs(p)) { printf("P\\t%%d\\t%%d\\n", k, v) } }'''
                  % path, '--target', cmd=[path, 7, 100])
    finally:
        bg.kill()
        bg.wait()
    got = rows(r, 'P')
    expect(len(got) == 1 and got[0][1] == '7' and int(got[0][0]) != bg.pid,
           'per-pid counts %s (background %d)' % (got, bg.pid), r)


@case
def counted():
    """A probe that only adds a constant to a global is counted by its BPF
    program (no record per hit) and applied before anything reads it;
    one with a filter beside it, or a global another probe reads, keeps
    the records. Same figures either way (and with KTAPD_BPF=0)."""
    bpf = os.environ.get('KTAPD_BPF') != '0'
    with tempfile.TemporaryDirectory() as tmp:
        # A copy of its own: nothing else runs this file's add3.
        path = os.path.join(tmp, 'uptest_counted')
        shutil.copy(prog('uptest_pie'), path)
        r = drive('''
var n = 0
var seen = -1
trace probe:%s:add3 { n += 1 }
trace probe:%s:add3 { n += 2 }
tick-10ms { seen = n }
trace_end { printf("N\\t%%d\\t%%d\\n", n, seen) }''' % (path, path),
                  '--debug', cmd=[path, 7, 300])
        # The last ticks come while the program lingers: all calls seen.
        expect(rows(r, 'N') == [['21', '21']], 'n (7 calls, 1 + 2 each)',
               r)
        expect(bool(re.search(r'uprobe add3: hits counted by BPF', r.err))
               == bpf, 'counted by BPF: %s' % bpf, r)
        r = drive('''
var n = 0
var k = 0
trace probe:%s:add3 { n += 1 }
trace probe:%s:add3 /arg1 > 2/ { k += 1 }
trace_end { printf("N\\t%%d\\t%%d\\n", n, k) }''' % (path, path),
                  '--debug', cmd=[path, 7])
        expect(rows(r, 'N') == [['7', '4']], 'n and k beside a filter', r)
        expect('hits counted by BPF' not in r.err, 'not counted', r)
        r = drive('''
var n = 0
var last = -1
trace probe:%s:add3 { n += 1 }
trace probe:%s:add3%%return { last = n }
trace_end { printf("N\\t%%d\\t%%d\\n", n, last) }''' % (path, path),
                  '--debug', cmd=[path, 7])
        expect(rows(r, 'N') == [['7', '7']], 'n read by another probe', r)
        expect('hits counted by BPF' not in r.err, 'not counted', r)


@case
def malloc_libc():
    """libc's malloc (found through the program's ldd) sees the sizes a
    known program asks for; samples/malloc_sizes.kp, on that libc,
    buckets them."""
    path = prog('uptest_pie')
    libc = libc_of(path)
    n = 20
    r = drive('''
var s = {}
trace probe:%s:malloc { s[arg1] += 1 }
trace_end { for (k, v in pairs(s)) { printf("S\\t%%d\\t%%d\\n", k, v) } }'''
              % libc, '--target', cmd=[path, n])
    sizes = {int(f[0]): int(f[1]) for f in rows(r, 'S')}
    expect(sizes.get(1234) == n and sizes.get(56789) == n, 'sizes %s'
           % sizes, r)
    expect(all(sizes.get(777 + i) == 1 for i in range(n)), 'sizes %s'
           % sizes, r)
    with open(os.path.join(HERE, '..', '..', 'samples', 'malloc_sizes.kp')) as f:
        sample = f.read()
    sample = sample.replace('/lib/x86_64-linux-gnu/libc.so.6', libc)
    r = drive(sample, '--target', cmd=[path, n])
    hist = dict(re.findall(r'^\s+(\d+) \|@*\s+(\d+)$', r.out, re.M))
    expect(hist.get('2048') == str(n) and hist.get('65536') == str(n) and
           int(hist.get('1024', 0)) >= n, 'histogram %s' % hist, r)


@case
def bad_inputs():
    """A missing or non-ELF file, a stripped binary, an unknown function,
    offset or marker: the start fails naming it; main never runs. Through
    ktapd too, as an EventNotFound error."""
    pie = prog('uptest_pie')
    tmp = tempfile.mkdtemp(prefix='ktap_uprobe_')
    try:
        stripped = os.path.join(tmp, 'stripped')
        subprocess.run(['strip', '-o', stripped, pie], check=True)
        cases = [
            ('probe:/nonexistent/bin:foo',
             '/nonexistent/bin: No such file or directory'),
            ('probe:/etc/hostname:foo', '/etc/hostname: not an ELF file'),
            ('probe:%s:add3' % stripped,
             '%s has no symbols (stripped)' % stripped),
            ('probe:%s:no_such_function' % pie,
             "no function 'no_such_function' in %s" % pie),
            ('probe:%s:zz*' % pie, "no function matching 'zz*' in %s" % pie),
            ('probe:%s:0xzz' % pie, "'0xzz' is not a file offset"),
            ('sdt:%s:nomarker' % prog('sdt_o2'),
             "no SDT marker 'nomarker' in %s" % prog('sdt_o2')),
            ('sdt:%s:x' % pie, '%s has no SDT markers' % pie),
            ('sdt:/nonexistent/bin:x',
             '/nonexistent/bin: No such file or directory'),
        ]
        for spec, msg in cases:
            r = drive('print("main ran")\ntrace %s { }' % spec, check=False)
            expect(r.status == 1, '%s: status %d' % (spec, r.status), r)
            expect("event '%s': %s" % (spec, msg) in r.err,
                   '%s: expected %r' % (spec, msg), r)
            expect('main ran' not in r.out, '%s: main ran' % spec, r)
    finally:
        shutil.rmtree(tmp)
    p = subprocess.run([KTAPCTL, 'run', '--private', '-e',
                        'trace probe:%s:no_such_function { }' % pie],
                       capture_output=True, text=True, timeout=60)
    expect(p.returncode == 1 and
           "no function 'no_such_function' in %s" % pie in p.stderr,
           'ktapctl run: status %d, stderr %r' % (p.returncode, p.stderr))


def ctl(*argv, name=None):
    """ktapctl ARGS, or (name='ktap') the classic front end."""
    args = [name or KTAPCTL, *map(str, argv)]
    return subprocess.run(args, executable=KTAPCTL, capture_output=True,
                          text=True, timeout=30)


@case
def listings():
    """ktapctl list-funcs / list-markers and ktap -lf / -lm print event
    specs, sorted, each once; errors name the file."""
    pie, lib, sdt = prog('uptest_pie'), prog('libuptest.so'), prog('sdt_o2')
    for p in (ctl('list-funcs', pie, 'add*'), ctl('-lf', pie, 'add*',
                                                  name='ktap')):
        expect(p.returncode == 0 and p.stdout.splitlines() ==
               ['probe:%s:add3' % pie, 'probe:%s:add_never' % pie],
               'funcs: %d %r %r' % (p.returncode, p.stdout, p.stderr))
    p = ctl('list-funcs', lib)
    expect('probe:%s:uptest_lib_mul' % lib in p.stdout.splitlines(),
           'library funcs %r' % p.stdout)
    want = ['sdt:%s:ktaptest:%s' % (sdt, m) for m in ('global', 'mixed',
                                                        'tick')]
    for p in (ctl('list-markers', sdt), ctl('-lm', sdt, name='ktap')):
        expect(p.returncode == 0 and p.stdout.splitlines() == want,
               'markers: %r %r' % (p.stdout, p.stderr))
    p = ctl('list-markers', sdt, 'ktaptest:t*')
    expect(p.stdout.splitlines() == want[2:], 'glob %r' % p.stdout)
    p = ctl('list-markers', lib)
    expect(p.stdout.splitlines() == ['sdt:%s:uptestlib:mul' % lib],
           'library markers %r' % p.stdout)
    for argv, msg in [(('list-funcs', '/nonexistent'),
                       '/nonexistent: No such file or directory'),
                      (('list-funcs', '/etc/hostname'), 'not an ELF file'),
                      (('list-markers', pie), 'no SDT markers'),
                      (('list-funcs', pie, 'zz*'), "matches 'zz*'")]:
        p = ctl(*argv)
        expect(p.returncode == 1 and msg in p.stderr,
               '%s: %d %r' % (argv, p.returncode, p.stderr))


def main():
    global KTAPCTL, BUILD
    if sys.argv[1:] == ['--list']:
        print('\n'.join(CASES))
        return 0
    if len(sys.argv) != 5 or sys.argv[4] not in CASES:
        print('usage: test_uprobe.py ENGINE_DRIVE KTAPCTL BUILDDIR CASE\n'
              'cases: ' + ' '.join(CASES))
        return 2
    te.DRIVE, KTAPCTL, BUILD = sys.argv[1], sys.argv[2], sys.argv[3]
    if sys.argv[4] != 'listings' and (
            os.geteuid() != 0 or
            not os.path.exists('/sys/bus/event_source/devices/uprobe')):
        print('SKIP: needs root and the uprobe PMU')
        return 77
    CASES[sys.argv[4]]()
    return 0


if __name__ == '__main__':
    sys.exit(main())
