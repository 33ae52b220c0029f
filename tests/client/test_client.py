#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Integration tests of ktapctl and ktap against a real ktapd.

Starts ktapd on a temporary socket (KTAP_SOCKET points the clients at it)
and runs the command-line tools as a user would: run and its exit
statuses, submit/list/attach/dump/stop/status, Ctrl-C, two attached
clients, an unprivileged user, the private-daemon path (no socket at all),
ktap's options, `-- cmd`, a socket forwarded the way `ssh -L` does, and
ktapd's declared errors (from a stand-in daemon that answers with them).
Prints TAP.

Run by `meson test --suite client`; by hand:
  tests/client/test_client.py --ktapd build/ktapd/ktapd \\
      --ktapctl build/ktapctl/ktapctl --ktap build/ktap
"""
import argparse
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, 'scripts')
TEST_USER = 'ktaptest'
TEST_GROUP = 'ktap'
BANNER = 'Tracing... Hit Ctrl-C to end.'
TIMESTAMP = re.compile(r'^\d\d:\d\d:\d\d\.\d{6} ')


class Daemon:
    """A ktapd on a socket in a temporary directory."""

    def __init__(self, ktapd, tmp, *extra):
        self.path = os.path.join(tmp, 'ktapd.sock')
        self.log = open(os.path.join(tmp, 'ktapd.log'), 'ab')
        self.proc = subprocess.Popen([ktapd, '--socket', self.path, *extra],
                                     stdout=self.log, stderr=self.log)
        deadline = time.time() + 10
        while True:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(self.path)
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError('ktapd did not come up (%s)' % self.log.name)
                time.sleep(0.02)

    def call(self, method, params=None):
        """One Varlink call, for checks behind the client's back."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.path)
            msg = {'method': method}
            if params is not None:
                msg['parameters'] = params
            s.sendall(json.dumps(msg).encode() + b'\0')
            buf = b''
            while not buf.endswith(b'\0'):
                data = s.recv(65536)
                assert data, 'ktapd closed the connection'
                buf += data
        reply = json.loads(buf[:-1])
        assert 'error' not in reply, reply
        return reply['parameters']

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return self.proc.returncode


class Server:
    """A Unix socket served by a thread, until close() has joined it."""

    def __init__(self, path):
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        # Wakes the thread's accept(): closing alone would leave it waiting
        # there, and its next accept() could take a later server's fd.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(10)
        assert not self.thread.is_alive(), 'the server thread did not end'
        self.sock.close()


class FakeDaemon(Server):
    """Answers every call with one canned reply: ktapd's errors, on demand."""

    def __init__(self, tmp, reply):
        self.reply = reply
        super().__init__(os.path.join(tmp, 'fake.sock'))

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            buf = b''
            while b'\0' not in buf:
                data = c.recv(65536)
                if not data:
                    break
                buf += data
            # None: hang up without a word.
            if buf and self.reply is not None:
                c.sendall(json.dumps(self.reply).encode() + b'\0')
            c.close()


class Relay(Server):
    """A forwarded socket, as `ssh -L LOCAL:REMOTE` makes one."""

    def __init__(self, tmp, target):
        self.target = target
        super().__init__(os.path.join(tmp, 'forwarded.sock'))

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.socket(socket.AF_UNIX)
            u.connect(self.target)
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Suite:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix='ktapctl-test-')
        # Reachable by the unprivileged test user.
        os.chmod(self.tmp, 0o755)
        self.daemon = None

    def env(self, socket_path=None, **extra):
        env = dict(os.environ)
        env.pop('KTAP_SOCKET', None)
        if socket_path is not False:
            env['KTAP_SOCKET'] = socket_path or self.daemon.path
        env.update(extra)
        return env

    def tool(self, tool, args, socket_path=None, timeout=30, env=None, **kw):
        return subprocess.run([tool] + list(args), capture_output=True, text=True,
                              timeout=timeout, env=env or self.env(socket_path), **kw)

    def ctl(self, *args, **kw):
        return self.tool(self.args.ktapctl, args, **kw)

    def ktap(self, *args, **kw):
        return self.tool(self.args.ktap, args, **kw)

    def spawn(self, tool, args, socket_path=None, **kw):
        return subprocess.Popen([tool] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=self.env(socket_path), **kw)

    def script(self, name):
        return os.path.join(SCRIPTS, name)

    def sessions(self):
        return self.daemon.call('io.ktap.List')['sessions']


def check(r, status, stdout=None, stderr=None):
    """r exited with status; stdout equals, stderr contains what is given."""
    where = 'status %s, stdout %r, stderr %r' % (r.returncode, r.stdout, r.stderr)
    assert r.returncode == status, 'expected status %d: %s' % (status, where)
    if stdout is not None:
        assert r.stdout == stdout, 'expected stdout %r: %s' % (stdout, where)
    if stderr is not None:
        assert stderr in r.stderr, 'expected %r on stderr: %s' % (stderr, where)


def wait_for(pred, timeout=10, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError('timed out waiting for ' + what)


def session_named(s, name):
    for x in s.sessions():
        if x.get('name') == name:
            return x
    return None


def wait_records(s, name, n):
    """The session has produced at least n records."""
    return wait_for(lambda: (session_named(s, name) or {}).get('next_seq', 0) >= n,
                    what='%d records of %s' % (n, name))


# ---- ktapctl run ----

def test_run_output_and_statuses(s):
    check(s.ctl('run', '-e', 'print("hi")'), 0, 'hi\n')
    check(s.ctl('run', s.script('exit7.kp')), 7, 'tick 1\ntick 2\ntick 3\nend 3\n')
    r = s.ctl('run', '-e', 'var z = 0\nprint("before")\nprint(1 / z)')
    check(r, 3, 'before\nerror: -e:3: divide by zero\n')
    r = s.ctl('run', '-e', 'print(1 +')
    check(r, 1, '', '-e:1:')
    # Nothing was submitted for the compile error.
    assert s.sessions() == []
    check(s.ctl('run', s.script('args.kp'), 'word', '42'), 0,
          '%s\tword\t42\t84\n' % s.script('args.kp'))
    check(s.ctl('run', '-e', 'print(arg[0], arg[1])', 'x'), 0, '-e\tx\n')
    check(s.ctl('run', '-e', 'exit(5)'), 5, '')


def test_run_errors(s):
    check(s.ctl('run', '-e', 'trace nope:nope { print(1) }'), 1, '',
          "ktapctl: event 'nope:nope' not found")
    check(s.ctl('run', os.path.join(s.tmp, 'missing.kp')), 1, '', 'cannot read')
    check(s.ctl('run'), 2, '', 'usage: ktapctl run')
    r = s.ctl('run', '--socket', os.path.join(s.tmp, 'none.sock'), '-e', 'print(1)')
    check(r, 1, '', 'cannot connect to ktapd at %s' % os.path.join(s.tmp, 'none.sock'))
    r = s.ctl('run', '-e', 'print(1)', socket_path=os.path.join(s.tmp, 'none.sock'))
    check(r, 1, '', 'cannot connect to ktapd')


def test_run_json(s):
    r = s.ctl('run', '--json', s.script('exit7.kp'))
    check(r, 7)
    replies = [json.loads(line) for line in r.stdout.splitlines()]
    assert 'session' in replies[0], replies[0]
    text = ''.join(x['record']['text'] for x in replies if 'record' in x)
    assert text == 'tick 1\ntick 2\ntick 3\nend 3\n', text
    assert replies[-1]['end'] == {'exit_status': 7} and replies[-1]['cursor'] == 4, replies[-1]


def interrupted_run(s, sig, tool, args):
    p = s.spawn(tool, args)
    line = p.stdout.readline()
    assert line == 'tick 1\n', line
    p.send_signal(sig)
    out, err = p.communicate(timeout=15)
    return p.returncode, line + out, err


def test_run_sigint_prints_trace_end(s):
    for sig in (signal.SIGINT, signal.SIGTERM):
        rc, out, err = interrupted_run(s, sig, s.args.ktapctl, ['run', s.script('ticker.kp')])
        assert rc == 0, (sig, rc, out, err)
        lines = out.splitlines()
        assert lines[-1].startswith('end '), (sig, out)
        n = int(lines[-1].split()[1])
        assert lines[:-1] == ['tick %d' % i for i in range(1, n + 1)], (sig, out)
        assert s.sessions() == [], s.sessions()
    # timeout(1) signals its command and then its whole group: one request.
    r = subprocess.run(['timeout', '-s', 'INT', '0.3', s.args.ktapctl, 'run',
                        s.script('ticker.kp')], capture_output=True, text=True,
                       env=s.env(), timeout=15)
    assert r.stdout.splitlines()[-1].startswith('end '), (r.stdout, r.stderr)
    assert 'interrupted' not in r.stderr, r.stderr


# ---- submit, list, attach, dump, stop, status ----

def test_submit_keep_list_attach_dump_stop(s):
    r = s.ctl('submit', '--keep', '--name', 'ticks', s.script('ticker.kp'))
    check(r, 0, stderr='')
    assert re.fullmatch(r'session \d+ \(ticks\)\n', r.stdout), r.stdout
    info = session_named(s, 'ticks')
    assert info['state'] == 'running' and info['keep'], info

    r = s.ctl('list')
    check(r, 0)
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ['ID', 'NAME', 'STATE'], lines
    assert lines[1].split()[:3] == [str(info['id']), 'ticks', 'running'], lines
    r = s.ctl('list', '--json')
    assert json.loads(r.stdout)['sessions'][0]['name'] == 'ticks', r.stdout

    wait_records(s, 'ticks', 6)
    # From a cursor: exactly the records from there, nothing missed.
    r = s.ctl('attach', '--no-follow', '--from', '2', 'ticks')
    check(r, 0)
    lines = r.stdout.splitlines()
    assert lines[:4] == ['tick 3', 'tick 4', 'tick 5', 'tick 6'], lines
    assert 'missed' not in r.stderr and 'resume with --from' in r.stderr, r.stderr
    cursor = int(r.stderr.split('--from ')[1])
    assert cursor == 2 + len(lines), (cursor, lines)
    # Following from that cursor continues where it left off.
    p = s.spawn(s.args.ktapctl, ['attach', '--from', str(cursor), 'ticks'])
    line = p.stdout.readline()
    assert line == 'tick %d\n' % (cursor + 1), (line, cursor)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0 and 'detached from session ticks' in err, (p.returncode, err)
    assert session_named(s, 'ticks')['state'] == 'running'

    r = s.ctl('dump', '--json', 'ticks')
    check(r, 0)
    g = json.loads(r.stdout)['globals']
    assert g['n'] >= 6 and g['arg'] == {'0': s.script('ticker.kp')}, g
    r = s.ctl('dump', 'ticks')
    check(r, 0)
    assert re.search(r'^n = \d+$', r.stdout, re.M), r.stdout
    assert 'arg = {\n    0 = "%s"\n}\n' % s.script('ticker.kp') in r.stdout, r.stdout

    r = s.ctl('stop', 'ticks')
    check(r, 0, stderr='session %d (ticks) stopped, exit status 0' % info['id'])
    assert re.fullmatch(r'end \d+\n', r.stdout), r.stdout
    assert s.sessions() == []
    check(s.ctl('stop', 'ticks'), 1, '', "ktapctl: session 'ticks' not found")
    check(s.ctl('attach', 'ticks'), 1, '', "ktapctl: session 'ticks' not found")
    check(s.ctl('dump', '42'), 1, '', "ktapctl: session '42' not found")


def test_submit_without_keep_holds_the_session(s):
    p = s.spawn(s.args.ktapctl, ['submit', '--name', 'held', s.script('ticker.kp')])
    line = p.stdout.readline()
    assert re.fullmatch(r'session \d+ \(held\)\n', line), line
    wait_records(s, 'held', 2)
    r = s.ctl('attach', '--no-follow', 'held')
    assert r.stdout.startswith('tick 1\ntick 2\n'), r.stdout
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0 and out == '', (p.returncode, out, err)
    assert s.sessions() == []
    check(s.ctl('submit', '--json', s.script('exit7.kp')), 7)


def test_session_with_nothing_armed_ends_itself(s):
    """No probe and no timer: the daemon ends the session after its
    top-level code, trace_end included, whoever submitted it."""
    r = s.ctl('submit', '--keep', '--name', 'bare', '-e',
              'print("top")\ntrace_end { print("end") }')
    check(r, 0)
    info = wait_for(lambda: (session_named(s, 'bare') or {}).get('state') == 'ended'
                    and session_named(s, 'bare'), what='the bare session to end')
    assert info['exit_status'] == 0 and 'probes' not in info, info
    r = s.ctl('attach', '--no-follow', 'bare')
    check(r, 0, 'top\nend\n')
    check(s.ctl('stop', 'bare'), 0)
    # A running session says how many probes it armed.
    r = s.ctl('submit', '--keep', '--name', 'armed', s.script('ticker.kp'))
    check(r, 0)
    assert session_named(s, 'armed')['probes'] == 1, session_named(s, 'armed')
    check(s.ctl('stop', 'armed'), 0)


def test_attach_reports_missed(s):
    r = s.ctl('submit', '--keep', '--name', 'burst', '--backlog-size', '1024',
              s.script('burst.kp'))
    check(r, 0)
    wait_for(lambda: session_named(s, 'burst')['state'] == 'ended', what='burst to end')
    info = session_named(s, 'burst')
    assert info['first_seq'] > 0, info
    r = s.ctl('attach', '--from', '0', 'burst')
    check(r, 0)
    assert 'ktapctl: missed %d records (' % info['first_seq'] in r.stderr, r.stderr
    # The lines from some point to the end, with none missing in between.
    lines = r.stdout.splitlines()
    first = int(lines[0].split()[1])
    assert first > 1 and lines == ['line %d' % i for i in range(first, 1001)], lines[:3]
    # A cursor older than the backlog: counted in records only.
    r = s.ctl('attach', '--from', '1', 'burst')
    assert 'ktapctl: missed %d records of output' % (info['first_seq'] - 1) in r.stderr, r.stderr
    r = s.ctl('stop', 'burst')
    check(r, 0, stderr='stopped, exit status 0')


def test_two_attached_clients_identical(s):
    check(s.ctl('submit', '--keep', '--name', 'pair', s.script('numbers.kp')), 0)
    procs = [s.spawn(s.args.ktapctl, ['attach', '--from', '0', 'pair']) for _ in range(2)]
    outs = [p.communicate(timeout=30) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, (p.returncode, err)
    assert outs[0][0] == outs[1][0], 'the two attached clients differ'
    assert outs[0][0].splitlines() == ['n %d' % i for i in range(1, 201)] + ['end'], outs[0][0][-80:]
    check(s.ctl('stop', 'pair'), 0)


def test_status(s):
    r = s.ctl('status')
    check(r, 0)
    for field in ('engine:    user (', 'sessions:  0, 0 running', 'events:', 'memory:', 'cpu:'):
        assert field in r.stdout, (field, r.stdout)
    d = json.loads(s.ctl('status', '--json').stdout)['daemon']
    assert d['engine'] == 'user' and d['engine_reason'] and d['state'] == 'running', d

    check(s.ctl('submit', '--keep', '--name', 'st', s.script('ticker.kp')), 0)
    wait_records(s, 'st', 3)
    r = s.ctl('status', 'st')
    check(r, 0)
    for field in ('session ', '(st): running', 'events:', 'handled', 'lost', 'memory:', 'peak',
                  'quota 16.0 MiB', 'cpu:', 'probes:    1', 'clients:   0 attached', 'output:',
                  'backlog:'):
        assert field in r.stdout, (field, r.stdout)
    j = json.loads(s.ctl('status', '--json', 'st').stdout)
    assert j['session']['name'] == 'st' and j['stats']['events'] >= 3, j
    for k in ('lost', 'mem_used', 'mem_peak', 'mem_quota', 'cpu_nsec'):
        assert k in j['stats'], (k, j)
    check(s.ctl('stop', 'st'), 0)
    check(s.ctl('status', 'st'), 1, '', "session 'st' not found")


def test_help(s):
    for cmd in ('run', 'submit', 'list', 'attach', 'dump', 'stop', 'status'):
        r = s.ctl(cmd, '--help')
        check(r, 0)
        assert r.stdout.startswith('usage: ktapctl ' + cmd), r.stdout
    r = s.ctl('--help')
    check(r, 0)
    for cmd in ('run', 'submit', 'list', 'attach', 'dump', 'stop', 'status', 'compile'):
        assert '  ktapctl ' + cmd in r.stdout, (cmd, r.stdout)
    check(s.ctl('attach'), 2, '', 'usage: ktapctl attach')


# ---- access control ----

def ensure_test_user():
    if subprocess.run(['getent', 'group', TEST_GROUP], capture_output=True).returncode:
        subprocess.run(['groupadd', '-r', TEST_GROUP], check=True)
    if subprocess.run(['getent', 'passwd', TEST_USER], capture_output=True).returncode:
        subprocess.run(['useradd', '-M', '-r', '-s', '/usr/sbin/nologin', TEST_USER], check=True)
    return grp.getgrnam(TEST_GROUP).gr_gid


def as_user(s, groups, *args):
    pw = pwd.getpwnam(TEST_USER)
    argv = ['setpriv', '--reuid=%d' % pw.pw_uid, '--regid=%d' % pw.pw_gid]
    argv += ['--groups=' + ','.join(map(str, groups))] if groups else ['--clear-groups']
    return s.tool(argv[0], argv[1:] + [s.args.ktapctl] + list(args), cwd='/')


def test_permission_denied(s):
    if os.getuid() != 0:
        return 'SKIP needs root to create a user and switch to it'
    ktap_gid = ensure_test_user()
    check(s.ctl('submit', '--keep', '--name', 'roots', s.script('ticker.kp')), 0)
    sid = session_named(s, 'roots')['id']
    for cmd in (['dump', 'roots'], ['stop', 'roots'], ['attach', 'roots'],
                ['status', str(sid)]):
        r = as_user(s, [], *cmd)
        check(r, 1, '', "ktapctl: permission denied: session '%s': " % cmd[-1])
    r = as_user(s, [], 'run', '-e', 'print(1)')
    check(r, 1, '', "ktapctl: permission denied: only root and members of group 'ktap'")
    check(as_user(s, [], 'list'), 0, 'no sessions\n')
    assert session_named(s, 'roots')['state'] == 'running'
    # In group ktap: runs its own scripts, still not root's session.
    check(as_user(s, [ktap_gid], 'run', '-e', 'print("mine")'), 0, 'mine\n')
    check(as_user(s, [ktap_gid], 'dump', 'roots'), 1, '', 'permission denied')
    check(s.ctl('stop', 'roots'), 0)


# ---- the private daemon ----

def ktapd_pids(s):
    """Private ktapds of our build: its binary, started without arguments
    (ktapds of other tests have a --socket)."""
    exe = os.path.realpath(s.args.ktapd)
    pids = set()
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                with open('/proc/%s/cmdline' % p, 'rb') as f:
                    if f.read() == b'ktapd\0' and os.readlink('/proc/%s/exe' % p) == exe:
                        pids.add(int(p))
            except OSError:
                pass
    return pids


def default_socket_answers():
    try:
        with socket.socket(socket.AF_UNIX) as c:
            c.connect('/run/ktapd/ktapd.sock')
        return True
    except OSError:
        return False


def test_private_daemon(s):
    if default_socket_answers():
        return 'SKIP a ktapd listens on /run/ktapd/ktapd.sock'
    tmpdir = os.path.join(s.tmp, 'private-tmp')
    os.mkdir(tmpdir)
    before = ktapd_pids(s)
    env = s.env(False, TMPDIR=tmpdir)
    t0 = time.time()
    r = s.ktap('-q', '-e', 'var n = 0\ntick-10ms { n += 1; if (n == 3) { exit(4) } }\n'
               'trace_end { print("ticks", n) }', env=env)
    check(r, 4, 'ticks\t3\n', '')
    check(s.ctl('run', '-e', 'print("hi")', env=env), 0, 'hi\n', '')
    check(s.ctl('run', '-e', 'print(1/0)', env=env), 3)
    # Ctrl-C: trace_end's output still comes from the private ktapd.
    p = subprocess.Popen([s.args.ktap, '-q', s.script('ticker.kp')], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    assert p.stdout.readline() == 'tick 1\n'
    os.kill(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=15)
    assert p.returncode == 0 and out.splitlines()[-1].startswith('end '), (p.returncode, out, err)
    assert time.time() - t0 < 20
    # Nothing left behind: no ktapd, no socket or directory.
    assert ktapd_pids(s) == before, ktapd_pids(s) - before
    assert os.listdir(tmpdir) == [], os.listdir(tmpdir)
    # --private: even with a daemon there.
    check(s.ctl('run', '--private', '-e', 'print(2)'), 0, '2\n')
    assert s.sessions() == []


def test_private_daemon_killed_client_leaves_nothing(s):
    if default_socket_answers():
        return 'SKIP a ktapd listens on /run/ktapd/ktapd.sock'
    before = ktapd_pids(s)
    p = subprocess.Popen([s.args.ktap, '-q', s.script('ticker.kp')], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=s.env(False))
    assert p.stdout.readline() == 'tick 1\n'
    p.kill()
    p.communicate(timeout=10)
    wait_for(lambda: ktapd_pids(s) == before, what='the orphaned private ktapd to go')


# ---- ktap ----

def test_ktap_exit_statuses(s):
    check(s.ktap('-q', '-e', 'print("hi")'), 0, 'hi\n', '')
    check(s.ktap('-q', s.script('exit7.kp')), 7, 'tick 1\ntick 2\ntick 3\nend 3\n')
    check(s.ktap('-q', '-e', 'var z = 0\nprint(1 % z)'), 3, 'error: -e:2: divide by zero\n')
    check(s.ktap('-e', 'print('), 1, '', '-e:1:')
    check(s.ktap(), 2, '', 'Usage: ktap')
    check(s.ktap('-x'), 2, '', 'Usage: ktap')
    check(s.ktap('-q', s.script('args.kp'), 'a', '7'), 0, '%s\ta\t7\t14\n' % s.script('args.kp'))


def test_ktap_banner_quiet_verbose(s):
    r = s.ktap(s.script('exit7.kp'))
    check(r, 7, stderr=BANNER)
    r = s.ktap('-q', s.script('exit7.kp'))
    check(r, 7, stderr='')
    r = s.ktap('-v', '-q', s.script('exit7.kp'))
    check(r, 7)
    assert re.search(r'ktap: session \d+ on the ktapd %s; engine user: .*; probes armed: 1'
                     % re.escape(s.daemon.path), r.stderr), r.stderr


def test_ktap_output_file_and_timestamps(s):
    out = os.path.join(s.tmp, 'out.txt')
    r = s.ktap('-q', '-o', out, s.script('exit7.kp'))
    check(r, 7, '', '')
    with open(out) as f:
        assert f.read() == 'tick 1\ntick 2\ntick 3\nend 3\n'
    r = s.ktap('-q', '-T', '-e', 'printf("a\\nb"); printf("c\\n")')
    check(r, 0)
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and all(TIMESTAMP.match(x) for x in lines), lines
    assert [TIMESTAMP.sub('', x) for x in lines] == ['a', 'bc'], lines


def test_ktap_version_dry_run_bytecode(s):
    r = s.ktap('-V')
    check(r, 0)
    assert re.fullmatch(r'ktap \d+\.\d+\.\d+\n', r.stdout), r.stdout
    check(s.ktap('-d', s.script('ticker.kp')), 0, '', '')
    check(s.ktap('-d', '-e', 'print(1 +'), 1, '', '-e:1:')
    r = s.ktap('-d', '-v', '-e', 'print(1)')
    check(r, 0, '', 'ktap: -e: ')
    assert 'bytes of bytecode, verified' in r.stderr
    r = s.ktap('-b', '-e', 'print(1)')
    check(r, 0)
    ref = s.ctl('compile', '-b', '-e', 'print(1)')
    assert r.stdout == ref.stdout and 'function 0' in r.stdout, r.stdout
    assert s.sessions() == []


def test_ktap_list_events(s):
    r = s.ktap('-le', 'sched:*')
    check(r, 0)
    lines = r.stdout.splitlines()
    assert 'sched:sched_switch' in lines and all(x.startswith('sched:') for x in lines), lines
    assert lines == sorted(lines)
    r = s.ktap('-le', 'sys_enter_openat')
    check(r, 0, 'syscalls:sys_enter_openat\n')
    r = s.ktap('-le')
    check(r, 0)
    assert len(r.stdout.splitlines()) > 100 and 'syscalls:sys_exit_read\n' in r.stdout
    check(s.ktap('-le', 'nosuch:*'), 1, '', "no event matches 'nosuch:*'")


def test_ktap_traces_a_command(s):
    marker = os.path.join(s.tmp, 'marker-file')
    with open(marker, 'w') as f:
        f.write('marked\n')
    script = ('var names = {}\n'
              'trace syscalls:sys_enter_openat { names[execname] += 1 }\n'
              'trace_end { for (k, v in pairs(names)) { print(k, v > 0) } }')
    t0 = time.time()
    r = s.ktap('-q', '-e', script, '--', 'cat', marker)
    check(r, 0, stderr='')
    # The command's output, then trace_end's: only cat's own syscalls.
    assert r.stdout == 'marked\ncat\ttrue\n', r.stdout
    assert time.time() - t0 < 10
    # The session ends with the command, even a script with no probes.
    check(s.ktap('-q', '-e', 'trace_end { print("done") }', '--', 'true'), 0, 'done\n')
    check(s.ctl('run', '-e', 'trace_end { print("done") }', '--', 'sleep', '0.2'), 0, 'done\n')
    r = s.ktap('-q', '-e', 'print(1)', '--', 'no-such-command-here')
    check(r, 0, '1\n', 'cannot run no-such-command-here')


def test_ktap_tracepoint_fields(s):
    """A real tracepoint through ktap, filtered to one process with -p."""
    # sh says when it is up (its own start opens files too), then waits.
    p = subprocess.Popen(['sh', '-c', 'echo up; read x; exec cat "$0"', '/etc/hostname'],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == 'up\n'
        k = s.spawn(s.args.ktap, ['-q', '-p', str(p.pid), '-e',
                                  'trace syscalls:sys_enter_openat { print(pid, execname, '
                                  'probename); exit() }'])
        wait_for(lambda: any(x['state'] == 'running' for x in s.sessions()), what='armed')
        p.stdin.write('go\n')
        p.stdin.close()
        out, err = k.communicate(timeout=15)
        assert k.returncode == 0, (k.returncode, err)
        assert out == '%d\tcat\tsys_enter_openat\n' % p.pid, out
    finally:
        if not p.stdin.closed:
            p.stdin.close()
        p.stdout.read()
        p.wait(10)


def test_probe_unit_commands_across_restarts(s):
    """What ktap-probe@.service runs: submit --unless-running leaves a
    session that runs (restored by ktapd) alone, attach --reconnect
    follows it across a ktapd restart, a stop ends both."""
    tmp = tempfile.mkdtemp(dir=s.tmp)
    extra = ('--state-dir', os.path.join(tmp, 'state'))
    d = Daemon(s.args.ktapd, tmp, *extra)
    submit = ('submit', '--keep', '--unless-running', '--name', 'probe',
              s.script('ticker.kp'))
    try:
        r = s.ctl(*submit, socket_path=d.path)
        check(r, 0)
        assert re.fullmatch(r'session (\d+) \(probe\)\n', r.stdout), r.stdout
        sid = r.stdout.split()[1]
        check(s.ctl(*submit, socket_path=d.path), 0,
              'session %s (probe) is running already\n' % sid)
        check(s.ctl('submit', '--unless-running', '--name', 'x', '-e', 'print(1)',
                    socket_path=d.path), 2)
        p = s.spawn(s.args.ktapctl, ['attach', '--reconnect', 'probe'], socket_path=d.path)
        assert p.stdout.readline() == 'tick 1\n'
        d.stop()
        d = Daemon(s.args.ktapd, tmp, *extra)
        check(s.ctl(*submit, socket_path=d.path), 0,
              'session %s (probe) is running already\n' % sid)
        # The attach finds the restored session and goes on.
        line = p.stdout.readline()
        while line.startswith('tick '):
            line = p.stdout.readline()
        assert line.startswith('ktap: ktapd restarted: events between'), line
        assert p.stdout.readline().startswith('tick '), 'no ticks after the restart'
        check(s.ctl('stop', 'probe', socket_path=d.path), 0)
        out, err = p.communicate(timeout=15)
        assert p.returncode == 0 and out.splitlines()[-1].startswith('end '), (p.returncode, out, err)
        assert 'ktapd went away; reattaching to probe at cursor' in err, err
        # An ended session of that name is replaced.
        check(s.ctl('submit', '--keep', '--name', 'probe', '-e', 'exit(2)',
                    socket_path=d.path), 0)
        wait_for(lambda: d.call('io.ktap.List')['sessions'][0]['state'] == 'ended')
        r = s.ctl(*submit, socket_path=d.path)
        check(r, 0)
        assert re.fullmatch(r'session \d+ \(probe\)\n', r.stdout), r.stdout
        check(s.ctl('stop', 'probe', socket_path=d.path), 0)
    finally:
        d.stop()


def free_port():
    with socket.socket() as t:
        t.bind(('127.0.0.1', 0))
        return t.getsockname()[1]


def test_remote_over_ssh(s):
    """--host: a real sshd on loopback with a key of its own; the commands
    reach the daemon through `ssh HOST ktapctl bridge`, errors say where."""
    sshd = '/usr/sbin/sshd'
    if not os.path.exists(sshd) or os.geteuid() != 0:
        return 'SKIP needs root and openssh-server'
    tmp = tempfile.mkdtemp(dir=s.tmp)
    for key in ('host', 'user'):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '',
                        '-f', os.path.join(tmp, key)], check=True)
    shutil.copy(os.path.join(tmp, 'user.pub'), os.path.join(tmp, 'authorized_keys'))
    port = free_port()
    with open(os.path.join(tmp, 'sshd_config'), 'w') as f:
        f.write('Port %d\nListenAddress 127.0.0.1\nHostKey %s/host\n'
                'AuthorizedKeysFile %s/authorized_keys\nPidFile %s/sshd.pid\n'
                'PermitRootLogin prohibit-password\nPasswordAuthentication no\n'
                'KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n'
                % (port, tmp, tmp, tmp))
    os.makedirs('/run/sshd', exist_ok=True)
    p = subprocess.Popen([sshd, '-D', '-f', os.path.join(tmp, 'sshd_config'),
                          '-E', os.path.join(tmp, 'sshd.log')])
    env = s.env(False, KTAP_REMOTE_KTAPCTL=s.args.ktapctl,
                KTAP_SSH='ssh -i %s/user -o StrictHostKeyChecking=no '
                         '-o UserKnownHostsFile=/dev/null -o BatchMode=yes '
                         '-o LogLevel=ERROR' % tmp)
    host = ['--host', 'ssh://root@127.0.0.1:%d' % port, '--socket', s.daemon.path]
    try:
        wait_for(lambda: s.ctl('list', *host, env=env).returncode == 0,
                 what='sshd to answer')
        check(s.ctl('run', *host, '-e', 'print("far away")', env=env), 0, 'far away\n')
        check(s.ctl('submit', *host, '--keep', '--name', 'remote', s.script('ticker.kp'),
                    env=env), 0)
        assert session_named(s, 'remote')['state'] == 'running'
        wait_records(s, 'remote', 2)
        r = s.ctl('attach', *host, '--no-follow', 'remote', env=env)
        check(r, 0)
        assert r.stdout.startswith('tick 1\ntick 2\n'), r.stdout
        r = s.ctl('stop', *host, 'remote', env=env)
        check(r, 0, stderr='stopped')
        assert s.sessions() == []
        # The host in KTAP_HOST; a command to trace cannot be remote.
        env['KTAP_HOST'] = 'root@127.0.0.1:%d' % port
        check(s.ctl('list', '--socket', s.daemon.path, env=env), 0, 'no sessions\n')
        check(s.ctl('run', '--socket', s.daemon.path, '-e', 'print(1)', '--', 'true',
                    env=env), 2, '', '-- COMMAND runs here')
        # Nobody there: ssh says why, ktapctl says where.
        r = s.ctl('list', '--host', 'root@127.0.0.1:%d' % free_port(), env=env)
        check(r, 1, '', 'the connection to ktapd on root@127.0.0.1:')
        assert 'Connection refused' in r.stderr, r.stderr
        r = s.ctl('list', '--socket', os.path.join(tmp, 'none.sock'), env=env)
        check(r, 1, '', 'cannot connect to ktapd at %s' % os.path.join(tmp, 'none.sock'))
    finally:
        p.terminate()
        p.wait()


def test_forwarded_socket(s):
    """A socket forwarded like `ssh -L` does: the protocol passes unchanged."""
    relay = Relay(s.tmp, s.daemon.path)
    try:
        check(s.ctl('run', '-e', 'print("far")', socket_path=relay.path), 0, 'far\n')
        check(s.ctl('submit', '--keep', '--name', 'far', s.script('ticker.kp'),
                    socket_path=relay.path), 0)
        wait_records(s, 'far', 2)
        r = s.ctl('stop', 'far', socket_path=relay.path)
        check(r, 0, stderr='stopped')
    finally:
        relay.close()


# ---- ktapd's declared errors, as the user reads them ----

ERRORS = [
    ({'error': 'io.ktap.InvalidBytecode', 'parameters': {'function': 2, 'pc': 17,
                                                         'reason': 'jump out of range'}},
     4, 'ktapctl: bytecode rejected: function 2, pc 17: jump out of range'),
    ({'error': 'io.ktap.InvalidBytecode', 'parameters': {'function': -1, 'pc': -1,
                                                         'reason': 'bad magic'}},
     4, 'ktapctl: bytecode rejected: bad magic'),
    ({'error': 'io.ktap.EventNotFound', 'parameters': {'event': 'a:b', 'reason': ''}},
     1, "ktapctl: event 'a:b' not found"),
    ({'error': 'io.ktap.PermissionDenied', 'parameters': {'reason': 'not yours'}},
     1, 'ktapctl: permission denied: not yours'),
    ({'error': 'io.ktap.StartFailed', 'parameters': {'reason': 'no perf'}},
     1, 'ktapctl: cannot start the session: no perf'),
    ({'error': 'io.ktap.QuotaExceeded', 'parameters': {'quota': 'sessions', 'limit': 64}},
     1, "ktapctl: over ktapd's limit of sessions (64)"),
    ({'error': 'io.ktap.NameInUse', 'parameters': {'name': 'x'}},
     1, "ktapctl: the name 'x' is in use"),
    ({'error': 'io.ktap.ShuttingDown', 'parameters': {}},
     1, 'ktapctl: ktapd is shutting down'),
    ({'error': 'io.ktap.InvalidArgument', 'parameters': {'parameter': 'options.cpu',
                                                         'reason': 'must be between -1 and 1'}},
     1, 'ktapctl: invalid options.cpu: must be between -1 and 1'),
    ({'error': 'org.varlink.service.MethodNotFound', 'parameters': {'method': 'io.ktap.Submit'}},
     1, 'ktapctl: ktapd answered org.varlink.service.MethodNotFound'),
    ({'parameters': {'nothing': 1}}, 1, "ktapctl: ktapd's reply lacks what was asked for"),
    ('not json', 1, 'ktapctl: ktapd sent a message that is not a JSON object'),
]


def test_error_messages(s):
    for reply, status, message in ERRORS:
        fake = FakeDaemon(s.tmp, reply)
        try:
            r = s.ctl('run', '-e', 'print(1)', socket_path=fake.path)
            check(r, status, '', message)
        except Exception as e:
            raise AssertionError('with the reply %r' % (reply,)) from e
        finally:
            fake.close()
    # A daemon that hangs up: said so, not a crash.
    fake = FakeDaemon(s.tmp, None)
    try:
        r = s.ctl('list', socket_path=fake.path)
        check(r, 1, '', 'ktapctl: ')
    finally:
        fake.close()


TESTS = [
    test_run_output_and_statuses,
    test_run_errors,
    test_run_json,
    test_run_sigint_prints_trace_end,
    test_submit_keep_list_attach_dump_stop,
    test_submit_without_keep_holds_the_session,
    test_session_with_nothing_armed_ends_itself,
    test_attach_reports_missed,
    test_two_attached_clients_identical,
    test_status,
    test_help,
    test_permission_denied,
    test_private_daemon,
    test_private_daemon_killed_client_leaves_nothing,
    test_ktap_exit_statuses,
    test_ktap_banner_quiet_verbose,
    test_ktap_output_file_and_timestamps,
    test_ktap_version_dry_run_bytecode,
    test_ktap_list_events,
    test_ktap_traces_a_command,
    test_ktap_tracepoint_fields,
    test_probe_unit_commands_across_restarts,
    test_remote_over_ssh,
    test_forwarded_socket,
    test_error_messages,
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ktapd', required=True)
    ap.add_argument('--ktapctl', required=True)
    ap.add_argument('--ktap', required=True)
    ap.add_argument('-k', dest='only', help='run only tests whose name contains this')
    args = ap.parse_args()
    for a in ('ktapd', 'ktapctl', 'ktap'):
        setattr(args, a, os.path.abspath(getattr(args, a)))

    tests = [t for t in TESTS if not args.only or args.only in t.__name__]
    print('1..%d' % len(tests))
    s = Suite(args)
    s.daemon = Daemon(args.ktapd, s.tmp)
    failed = 0
    try:
        for i, t in enumerate(tests, 1):
            name = t.__name__[5:]
            try:
                if s.daemon.proc.poll() is not None:
                    raise AssertionError('ktapd is not running (exit %s)' % s.daemon.proc.returncode)
                try:
                    skip = t(s)
                finally:
                    left = s.sessions()
                    for x in left:
                        s.daemon.call('io.ktap.Stop', {'session': str(x['id'])})
                assert not left, 'sessions left behind: %s' % [x.get('name', x['id']) for x in left]
                print('ok %d - %s%s' % (i, name, ' # ' + skip if skip else ''))
            except Exception:
                failed += 1
                print('not ok %d - %s' % (i, name))
                for line in traceback.format_exc().splitlines():
                    print('# ' + line)
            sys.stdout.flush()
    finally:
        rc = s.daemon.stop()
        if rc != 0:
            print('# ktapd exited with %s; log in %s' % (rc, s.daemon.log.name))
            failed += 1
    if failed:
        print('# ktapd log: %s' % s.daemon.log.name)
    else:
        shutil.rmtree(s.tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
