#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Integration tests of ktapd over its real socket, speaking Varlink directly.

Starts ktapd on a temporary socket, compiles the scripts in scripts/ with
`ktapctl compile -o`, and checks the protocol (proto/io.ktap.varlink): service
introspection, every kind of bad input followed by a call that must still be
served, sessions from submit to stop, output streams to several clients,
cursors and backlog overflow, access control for an unprivileged user, a
client that never reads, socket activation and shutdown. Prints TAP.

Run by `meson test --suite daemon`; by hand:
  tests/daemon/test_ktapd.py --ktapd build/ktapd/ktapd --ktapctl build/ktapctl/ktapctl
"""
import argparse
import base64
import json
import os
import pwd
import re
import grp
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
MESSAGE_MAX = 24 << 20  # VL_MESSAGE_MAX in ktapd/varlink.h
TEST_USER = 'ktaptest'
TEST_GROUP = 'ktap'


class VarlinkError(Exception):
    def __init__(self, reply):
        super().__init__('%s %s' % (reply['error'], json.dumps(reply.get('parameters', {}))))
        self.error = reply['error']
        self.parameters = reply.get('parameters', {})


class Conn:
    """One Varlink connection: NUL-terminated JSON messages."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b''

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, method, params=None, more=False, oneway=False):
        msg = {'method': method}
        if params is not None:
            msg['parameters'] = params
        if more:
            msg['more'] = True
        if oneway:
            msg['oneway'] = True
        self.send_raw(json.dumps(msg).encode() + b'\0')

    def recv(self):
        """The next message; EOFError when the daemon closed the connection."""
        while b'\0' not in self.buf:
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError('connection closed by ktapd')
            self.buf += data
        msg, self.buf = self.buf.split(b'\0', 1)
        return json.loads(msg)

    def reply(self):
        m = self.recv()
        if 'error' in m:
            raise VarlinkError(m)
        return m

    def call(self, method, params=None):
        self.send(method, params)
        return self.reply()['parameters']

    def stream(self, method, params):
        """All replies of a "more" call, as a list of parameter objects."""
        self.send(method, params, more=True)
        out = []
        while True:
            m = self.reply()
            out.append(m['parameters'])
            if not m.get('continues'):
                return out


class Daemon:
    """A ktapd on a socket in a temporary directory."""

    def __init__(self, ktapd, tmp, *extra, activate=False, env=None):
        self.path = os.path.join(tmp, 'ktapd.sock')
        self.log = open(os.path.join(tmp, 'ktapd.log'), 'ab')
        if activate:
            argv = ['systemd-socket-activate', '-l', self.path, ktapd] + list(extra)
        else:
            argv = [ktapd, '--socket', self.path] + list(extra)
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log,
                                     env=dict(os.environ, **(env or {})))
        deadline = time.time() + 10
        while not self.answers():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError('ktapd did not come up (see %s)' % self.log.name)
            time.sleep(0.02)
        # The socket is world-accessible; access is decided per call.
        os.chmod(self.path, 0o666)

    def answers(self):
        """Whether ktapd listens (the socket file appears just before it does)."""
        try:
            Conn(self.path).close()
            return True
        except (FileNotFoundError, ConnectionRefusedError):
            return False

    def conn(self, timeout=10):
        return Conn(self.path, timeout)

    def call(self, method, params=None):
        c = self.conn()
        try:
            return c.call(method, params)
        finally:
            c.close()

    def alive(self):
        """ktapd still runs and serves a well-formed call."""
        assert self.proc.poll() is None, 'ktapd exited with %s' % self.proc.returncode
        info = self.call('org.varlink.service.GetInfo')
        assert info['product'] == 'ktapd', info

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        self.log.close()
        return self.proc.returncode


# ---- helpers ----

def expect_error(fn, error, **params):
    try:
        r = fn()
    except VarlinkError as e:
        assert e.error == error, 'expected %s, got %s %s' % (error, e.error, e.parameters)
        for k, v in params.items():
            assert e.parameters.get(k) == v, 'expected %s=%r in %s' % (k, v, e.parameters)
        return e.parameters
    raise AssertionError('expected %s, got a reply: %s' % (error, r))


def records_text(replies):
    return ''.join(r['record']['text'] for r in replies if 'record' in r)


def check_contiguous(replies, first):
    """Records numbered first, first+1, ... with no gap and no missed."""
    seq = first
    for r in replies:
        assert 'missed' not in r, 'unexpected missed: %s' % r
        if 'record' in r:
            assert r['record']['seq'] == seq, 'record %d where %d expected' % (r['record']['seq'], seq)
            seq += 1
    return seq


def wait_for(pred, timeout=10, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError('timed out waiting for ' + what)


def session_info_by_script(d, script):
    for s in d.call('io.ktap.List')['sessions']:
        if s['script'] == script:
            return s
    return None


def session_info(d, name):
    for s in d.call('io.ktap.List')['sessions']:
        if s.get('name') == name or str(s['id']) == name:
            return s
    return None


class Suite:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix='ktapd-test-')
        # Reachable by the unprivileged test user.
        os.chmod(self.tmp, 0o755)
        self.chunks = {}
        self.results = []

    def chunk(self, script):
        """base64 of scripts/<script> compiled by ktapctl compile -o."""
        if script not in self.chunks:
            out = os.path.join(self.tmp, script + 'c')
            subprocess.run([self.args.ktapctl, 'compile', '-o', out,
                            os.path.join(HERE, 'scripts', script)], check=True)
            with open(out, 'rb') as f:
                self.chunks[script] = base64.b64encode(f.read()).decode()
        return self.chunks[script]

    def submit_params(self, script, **kw):
        p = {'chunk': self.chunk(script), 'args': [script] + kw.pop('args', [])}
        p.update(kw)
        return p


# ---- the tests; each gets the suite and a running daemon ----

def test_get_info(s, d):
    info = d.call('org.varlink.service.GetInfo')
    assert info['interfaces'] == ['org.varlink.service', 'io.ktap'], info
    assert info['vendor'] and info['version'] and info['url'], info


def test_interface_description(s, d):
    with open(os.path.join(HERE, '..', '..', 'proto', 'io.ktap.varlink')) as f:
        text = f.read()
    desc = d.call('org.varlink.service.GetInterfaceDescription', {'interface': 'io.ktap'})
    assert desc['description'] == text, 'description differs from proto/io.ktap.varlink'
    svc = d.call('org.varlink.service.GetInterfaceDescription', {'interface': 'org.varlink.service'})
    assert 'interface org.varlink.service' in svc['description']
    c = d.conn()
    expect_error(lambda: c.call('org.varlink.service.GetInterfaceDescription', {'interface': 'no.such'}),
                 'org.varlink.service.InterfaceNotFound', interface='no.such')


def test_malformed_json(s, d):
    c = d.conn()
    for bad in (b'{"method": "io.ktap.List"', b'not json at all', b'{"method": "io.ktap.List"} trailing',
                b'\xff\xfe', b''):
        c.send_raw(bad + b'\0')
        expect_error(c.reply, 'io.ktap.MalformedMessage')
    # The same connection still serves calls.
    assert 'sessions' in c.call('io.ktap.List')
    d.alive()


def test_malformed_call(s, d):
    c = d.conn()
    for bad in ([1, 2], {'parameters': {}}, {'method': 42}, {'method': 'io.ktap.List', 'parameters': []},
                {'method': 'io.ktap.List', 'bogus': 1}, {'method': 'io.ktap.List', 'more': 'yes'},
                {'method': 'io.ktap.List', 'more': True, 'oneway': True}):
        c.send_raw(json.dumps(bad).encode() + b'\0')
        expect_error(c.reply, 'io.ktap.MalformedMessage')
    assert 'sessions' in c.call('io.ktap.List')
    d.alive()


def test_oversized_message(s, d):
    c = d.conn(timeout=30)
    # No NUL within the limit: refused as soon as the limit is passed.
    blob = b'{"method": "io.ktap.List", "parameters": {"x": "' + b'a' * MESSAGE_MAX
    try:
        c.send_raw(blob)
    except (BrokenPipeError, ConnectionResetError):
        pass
    p = expect_error(c.reply, 'io.ktap.MessageTooLarge')
    assert p['limit'] == MESSAGE_MAX, p
    try:
        c.recv()
        raise AssertionError('connection stayed open after MessageTooLarge')
    except (EOFError, ConnectionResetError):
        pass
    d.alive()


def test_unknown_method(s, d):
    c = d.conn()
    for m in ('io.ktap.Nope', 'no.such.Interface', 'NoDot', 'org.varlink.service.Nope'):
        expect_error(lambda: c.call(m), 'org.varlink.service.MethodNotFound', method=m)
    d.alive()


def test_unknown_parameter(s, d):
    c = d.conn()
    expect_error(lambda: c.call('io.ktap.List', {'bogus': 1}),
                 'org.varlink.service.InvalidParameter', parameter='bogus')
    expect_error(lambda: c.call('io.ktap.Dump', {}),
                 'org.varlink.service.InvalidParameter', parameter='session')
    expect_error(lambda: c.call('io.ktap.Dump', {'session': 7}),
                 'org.varlink.service.InvalidParameter', parameter='session')
    expect_error(lambda: c.call('io.ktap.Submit', s.submit_params('ticker.kp', options={'speed': 1})),
                 'org.varlink.service.InvalidParameter', parameter='options.speed')
    expect_error(lambda: c.call('io.ktap.Submit', s.submit_params('ticker.kp', args=[1])),
                 'org.varlink.service.InvalidParameter', parameter='args')
    expect_error(lambda: c.call('io.ktap.Attach', {'session': '1', 'cursor': 1.5}),
                 'org.varlink.service.InvalidParameter', parameter='cursor')
    d.alive()


def chunk_with_bad_opcode(b64):
    """The chunk with main's first instruction made an opcode that does not exist."""
    buf = bytearray(base64.b64decode(b64))
    u32 = lambda o: int.from_bytes(buf[o:o + 4], 'little')
    off = 12
    off += 4 + u32(off)  # source
    nglobals = u32(off)
    off += 4
    for _ in range(nglobals):
        off += 4 + u32(off)
    off += 4  # nfuncs
    off += 8  # parent, nparams, framesize, nupvals, flags, line
    off += 4 + u32(off)  # name
    off += 4  # ncode
    buf[off] |= 0x3f  # op bits 0..5
    return base64.b64encode(bytes(buf)).decode()


def test_invalid_bytecode(s, d):
    c = d.conn()
    p = s.submit_params('ticker.kp')
    p['chunk'] = chunk_with_bad_opcode(p['chunk'])
    e = expect_error(lambda: c.call('io.ktap.Submit', p), 'io.ktap.InvalidBytecode', function=0, pc=0)
    assert 'opcode' in e['reason'], e
    p['chunk'] = base64.b64encode(b'\x1bKTP garbage').decode()
    e = expect_error(lambda: c.call('io.ktap.Submit', p), 'io.ktap.InvalidBytecode', function=-1, pc=-1)
    assert e['reason'], e
    p['chunk'] = 'not base64!'
    expect_error(lambda: c.call('io.ktap.Submit', p), 'io.ktap.InvalidArgument', parameter='chunk')
    assert d.call('io.ktap.List')['sessions'] == [], 'a rejected chunk left a session'
    d.alive()


def test_unknown_session(s, d):
    c = d.conn()
    for m in ('io.ktap.Dump', 'io.ktap.Stop', 'io.ktap.Status'):
        expect_error(lambda: c.call(m, {'session': 'no-such'}), 'io.ktap.SessionNotFound', session='no-such')
    expect_error(lambda: c.stream('io.ktap.Attach', {'session': '4242'}),
                 'io.ktap.SessionNotFound', session='4242')
    d.alive()


def test_event_not_found(s, d):
    c = d.conn()
    e = expect_error(lambda: c.call('io.ktap.Submit', s.submit_params('nope.kp')),
                     'io.ktap.EventNotFound', event='nope:nope')
    assert e['reason'], e
    assert d.call('io.ktap.List')['sessions'] == [], 'a failed start left a session'
    d.alive()


def test_invalid_arguments(s, d):
    c = d.conn()
    for name in ('', '123', 'a b', 'x' * 65, 'slash/name'):
        expect_error(lambda: c.call('io.ktap.Submit', s.submit_params('ticker.kp', name=name)),
                     'io.ktap.InvalidArgument', parameter='name')
    for opt, val in (('arena_size', 1), ('insn_budget', 0), ('cpu', -2), ('cpu', 1 << 20),
                     ('target_pid', -1), ('backlog_size', 10), ('ring_size', 0)):
        expect_error(lambda: c.call('io.ktap.Submit', s.submit_params('ticker.kp', options={opt: val})),
                     'io.ktap.InvalidArgument', parameter='options.' + opt)
    e = expect_error(lambda: c.call('io.ktap.Submit', s.submit_params('ticker.kp', options={'arena_size': 1 << 40})),
                     'io.ktap.QuotaExceeded', quota='arena_size')
    assert e['limit'] > 0, e
    expect_error(lambda: c.call('io.ktap.Submit', s.submit_params('ticker.kp', options={'backlog_size': 1 << 40})),
                 'io.ktap.QuotaExceeded', quota='backlog_size')
    e = expect_error(lambda: c.call('io.ktap.Submit', s.submit_params('ticker.kp', options={'target_pid': 0x7fffffff})),
                     'io.ktap.InvalidArgument', parameter='options.target_pid')
    assert e['reason'], e
    c.send('io.ktap.Attach', {'session': '1'})  # without "more"
    expect_error(c.reply, 'org.varlink.service.ExpectedMore')
    d.alive()


def test_random_input(s, d):
    """Seeded random calls and bytes; every connection still answers a GetInfo sent after them."""
    import random
    rnd = random.Random(20241123)
    methods = ['io.ktap.Submit', 'io.ktap.Attach', 'io.ktap.List', 'io.ktap.Dump', 'io.ktap.Stop',
               'io.ktap.Status', 'org.varlink.service.GetInfo',
               'org.varlink.service.GetInterfaceDescription', 'io.ktap.', '.', '']
    values = [None, True, False, 0, -1, 1 << 63 - 1, -(1 << 63), 1 << 64, 1.5, '', 'x' * 300, '1', 'QUJD',
              [], {}, [1, 'x'], {'a': {'b': []}}, '\u0000', '\u00ff\u20ac']
    keys = ['chunk', 'name', 'args', 'keep', 'options', 'session', 'cursor', 'follow', 'interface',
            'arena_size', 'cpu', 'backlog_size', 'insn_budget', 'target_pid', 'ring_size', 'bogus']

    def obj(depth=0):
        return {rnd.choice(keys): obj(depth + 1) if depth < 2 and rnd.random() < 0.3 else rnd.choice(values)
                for _ in range(rnd.randint(0, 4))}

    for _ in range(3000):
        c = d.conn()
        data = b''
        for _ in range(rnd.randint(1, 4)):
            r = rnd.random()
            call = {'method': rnd.choice(methods), 'parameters': obj()}
            if r < 0.5:
                if rnd.random() < 0.3:
                    call['more'] = rnd.choice([True, False, 1])
                if rnd.random() < 0.2:
                    call['oneway'] = True
                data += json.dumps(call).encode() + b'\0'
            elif r < 0.8:
                data += bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 100))) + b'\0'
            else:
                m = json.dumps(call).encode()
                data += m[:rnd.randint(0, len(m))] + b'\0'
        c.send_raw(data)
        c.send('org.varlink.service.GetInfo')
        while 'product' not in c.recv().get('parameters', {}):
            pass
        c.close()
    d.alive()


def test_pipelined_and_oneway(s, d):
    c = d.conn()
    c.send_raw(b''.join(json.dumps(m).encode() + b'\0' for m in (
        {'method': 'io.ktap.List'},
        {'method': 'io.ktap.List', 'oneway': True},
        {'method': 'org.varlink.service.GetInfo'},
        {'method': 'io.ktap.Status'})))
    assert 'sessions' in c.reply()['parameters']
    assert 'product' in c.reply()['parameters'], 'oneway call was answered or replies out of order'
    assert 'daemon' in c.reply()['parameters']


def test_fragments_and_half_close(s, d):
    c = d.conn()
    for b in json.dumps({'method': 'io.ktap.List'}).encode() + b'\0':
        c.send_raw(bytes([b]))
        time.sleep(0.001)
    assert 'sessions' in c.reply()['parameters']
    # A client that sends its call and shuts its side still gets the answer.
    c.send('org.varlink.service.GetInfo')
    c.sock.shutdown(socket.SHUT_WR)
    assert c.reply()['parameters']['product'] == 'ktapd'
    try:
        c.recv()
        raise AssertionError('connection stayed open after the client shut its side')
    except EOFError:
        pass


def test_over_a_pipe(s, d):
    """The protocol through a byte pipe, as `ssh host socat - UNIX-CONNECT:...` carries it."""
    relay = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--relay', d.path],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        relay.stdin.write(json.dumps({'method': 'io.ktap.Submit', 'more': True,
                                      'parameters': s.submit_params('ticker.kp', name='piped')}).encode() + b'\0')
        relay.stdin.flush()
        buf, out = b'', []
        while not out or out[-1].get('continues'):
            data = os.read(relay.stdout.fileno(), 4096)
            assert data, 'relay closed'
            buf += data
            while b'\0' in buf:
                m, buf = buf.split(b'\0', 1)
                out.append(json.loads(m))
                if len(out) == 4:
                    d.call('io.ktap.Stop', {'session': 'piped'})
        params = [m['parameters'] for m in out]
        assert params[0]['session']['name'] == 'piped', params[0]
        check_contiguous(params[1:], 0)
        assert records_text(params).splitlines()[-1].startswith('end '), params
        assert params[-1]['end']['exit_status'] == 0, params[-1]
    finally:
        relay.stdin.close()
        relay.wait(10)


def test_session_lifecycle(s, d):
    c = d.conn()
    r = c.call('io.ktap.Submit', s.submit_params('ticker.kp', name='life', keep=True,
                                                  options={'ring_size': 1 << 16, 'arena_size': 1 << 20,
                                                           'insn_budget': 100000, 'cpu': -1}))
    sess = r['session']
    assert sess['name'] == 'life' and sess['state'] == 'running' and sess['keep'], sess
    assert sess['owner_uid'] == os.getuid() and sess['script'] == 'ticker.kp', sess
    expect_error(lambda: c.call('io.ktap.Submit', s.submit_params('ticker.kp', name='life')),
                 'io.ktap.NameInUse', name='life')
    wait_for(lambda: session_info(d, 'life')['next_seq'] >= 3, what='ticks')
    listed = session_info(d, 'life')
    assert listed['id'] == sess['id'] and listed['state'] == 'running', listed
    assert session_info(d, str(sess['id']))['name'] == 'life'

    out = c.stream('io.ktap.Attach', {'session': 'life', 'cursor': 0, 'follow': False})
    assert out[0]['session']['id'] == sess['id'], out[0]
    n = check_contiguous(out[1:], 0)
    assert n >= 3 and out[-1] == {'cursor': n}, out[-1]
    assert records_text(out).startswith('tick 1\ntick 2\ntick 3\n'), records_text(out)

    globals_ = c.call('io.ktap.Dump', {'session': 'life'})['globals']
    assert isinstance(globals_.get('n'), int) and globals_['n'] >= 3, globals_

    st = c.call('io.ktap.Status', {'session': 'life'})
    assert st['session']['id'] == sess['id'], st
    assert st['stats']['events'] >= 3 and st['stats']['probes'] >= 1, st['stats']
    assert st['stats']['output_records'] >= n and st['stats']['backlog_size'] == 1 << 20, st['stats']
    assert st['stats']['mem_quota'] == 1 << 20 and 0 < st['stats']['mem_used'] <= st['stats']['mem_peak'], st['stats']
    assert st['daemon']['mem_quota'] == 1 << 20 and st['daemon']['events'] >= 3, st['daemon']
    assert st['daemon']['sessions'] == 1 and st['daemon']['sessions_running'] == 1, st['daemon']
    assert st['daemon']['engine'] and st['daemon']['engine_reason'], st['daemon']

    stop = c.call('io.ktap.Stop', {'session': 'life'})
    assert stop['end']['exit_status'] == 0, stop
    assert stop['session']['state'] == 'ended', stop
    tail = ''.join(r['text'] for r in stop['records'])
    assert tail.startswith('end '), 'Stop tail is %r' % tail
    assert session_info(d, 'life') is None, 'stopped session still listed'
    expect_error(lambda: c.call('io.ktap.Dump', {'session': 'life'}), 'io.ktap.SessionNotFound')


def test_tracepoint(s, d):
    """A kernel event reaches the stream: this process's getppid() calls."""
    c = d.conn()
    c.send('io.ktap.Submit', s.submit_params('getppid.kp', args=[str(os.getpid())]), more=True)
    assert c.reply()['parameters']['session']['state'] == 'running'
    for _ in range(3):
        os.getppid()
    got = []
    while records_text(got).count('\n') < 3:
        got.append(c.reply()['parameters'])
    check_contiguous(got, 0)
    lines = records_text(got).splitlines()
    assert len(lines) == 3 and all(l.endswith('getppid %d' % os.getpid()) for l in lines), lines
    sid = str(session_info_by_script(d, 'getppid.kp')['id'])
    st = d.call('io.ktap.Status', {'session': sid})['stats']
    assert st['events'] >= 3 and st['probes'] >= 1 and st['lost'] == 0, st
    c.close()
    wait_for(lambda: not session_info_by_script(d, 'getppid.kp'), what='the session to go with its client')


def test_session_endings(s, d):
    """exit(n) and a runtime error end a session; the stream, List and Stop say how."""
    c = d.conn()
    out = c.stream('io.ktap.Submit', s.submit_params('exit.kp', name='exits', keep=True))
    assert records_text(out) == 'bye\n', records_text(out)
    assert out[-1]['end'] == {'exit_status': 7}, out[-1]
    info = session_info(d, 'exits')
    assert info['state'] == 'ended' and info['exit_status'] == 7 and 'error' not in info, info

    out = c.stream('io.ktap.Submit', s.submit_params('fail.kp', name='fails', keep=True))
    end = out[-1]['end']
    assert end['exit_status'] == 3 and end['error'].endswith('divide by zero'), end
    assert records_text(out) == 'error: %s\n' % end['error'], records_text(out)
    info = session_info(d, 'fails')
    assert info['exit_status'] == 3 and info['error'] == end['error'], info
    stop = c.call('io.ktap.Stop', {'session': 'fails'})
    assert stop['end'] == end and stop['session']['error'] == end['error'], stop
    c.call('io.ktap.Stop', {'session': 'exits'})


def test_streaming_submit_ends_with_client(s, d):
    c = d.conn()
    c.send('io.ktap.Submit', s.submit_params('ticker.kp', name='tied'), more=True)
    first = c.reply()['parameters']['session']
    assert not first['keep'], first
    rec = c.reply()['parameters']
    assert rec['record']['seq'] == 0, rec
    c.close()
    wait_for(lambda: session_info(d, 'tied') is None, what='the tied session to go')
    d.alive()


def test_two_clients_identical(s, d):
    c = d.conn()
    c.call('io.ktap.Submit', s.submit_params('ticker.kp', name='pair', keep=True))
    a, b = d.conn(), d.conn()
    a.send('io.ktap.Attach', {'session': 'pair', 'cursor': 0}, more=True)
    b.send('io.ktap.Attach', {'session': 'pair', 'cursor': 0}, more=True)
    assert a.reply()['parameters']['session']['name'] == 'pair'
    assert b.reply()['parameters']['session']['clients'] == 2
    time.sleep(0.3)
    stop = c.call('io.ktap.Stop', {'session': 'pair'})
    streams = []
    for conn in (a, b):
        out = []
        while True:
            m = conn.reply()
            out.append(m['parameters'])
            if not m.get('continues'):
                break
        streams.append(out)
    assert streams[0] == streams[1], 'the two clients received different streams'
    n = check_contiguous(streams[0], 0)
    assert n >= 10, 'only %d records' % n
    assert streams[0][-1]['end']['exit_status'] == 0 and streams[0][-1]['cursor'] == n, streams[0][-1]
    assert records_text(streams[0]).endswith(''.join(r['text'] for r in stop['records']))
    assert records_text(streams[0]).splitlines()[-1].startswith('end ')


def test_keep_survives_and_resumes(s, d):
    a = d.conn()
    a.send('io.ktap.Submit', s.submit_params('ticker.kp', name='kept', keep=True), more=True)
    assert a.reply()['parameters']['session']['keep']
    got = [a.reply()['parameters'] for _ in range(5)]
    cursor = check_contiguous(got, 0)
    a.close()
    time.sleep(0.3)
    info = session_info(d, 'kept')
    assert info and info['state'] == 'running', 'kept session did not survive its client: %s' % info
    assert info['next_seq'] > cursor + 5, info

    b = d.conn()
    b.send('io.ktap.Attach', {'session': 'kept', 'cursor': cursor}, more=True)
    assert b.reply()['parameters']['session']['name'] == 'kept'
    resumed = [b.reply()['parameters'] for _ in range(10)]
    check_contiguous(resumed, cursor)
    assert resumed[0]['record']['text'] == 'tick %d\n' % (cursor + 1), resumed[0]
    d.call('io.ktap.Stop', {'session': 'kept'})
    rest = []
    while True:
        m = b.reply()
        rest.append(m['parameters'])
        if not m.get('continues'):
            break
    check_contiguous(resumed + rest, cursor)
    assert rest[-1]['end']['exit_status'] == 0


def test_backlog_overflow(s, d):
    total = 20000
    text = ''.join('line %d\n' % i for i in range(1, total + 1))
    c = d.conn()
    c.call('io.ktap.Submit', s.submit_params('burst.kp', args=[str(total)], name='burst', keep=True,
                                              options={'backlog_size': 4096}))
    info = wait_for(lambda: (lambda i: i if i and i['state'] == 'ended' else None)(session_info(d, 'burst')),
                    what='burst.kp to end')
    # However the engine cuts its output into records, most left the backlog.
    first, nrec = info['first_seq'], info['next_seq']
    assert 2 <= first < nrec, info

    out = c.stream('io.ktap.Attach', {'session': 'burst', 'cursor': 0})
    missed = out[1]['missed']
    assert missed['records'] == first, (missed, info)
    kept = records_text(out)
    assert missed['bytes'] + len(kept) == len(text), (missed, len(kept), len(text))
    assert text.endswith(kept), 'the backlog does not hold the end of the output'
    assert check_contiguous(out[2:], first) == nrec
    assert out[-1]['end']['exit_status'] == 0 and out[-1]['cursor'] == nrec, out[-1]

    # A cursor inside the lost range: exact records; no byte count (unknown).
    out = c.stream('io.ktap.Attach', {'session': 'burst', 'cursor': 1, 'follow': False})
    assert out[1] == {'missed': {'records': first - 1}}, out[1]
    assert records_text(out) == kept
    # A cursor past the end is refused.
    expect_error(lambda: c.stream('io.ktap.Attach', {'session': 'burst', 'cursor': nrec + 1}),
                 'io.ktap.InvalidArgument', parameter='cursor')
    # Stop on an ended session: the whole backlog, and the session is gone.
    stop = c.call('io.ktap.Stop', {'session': 'burst', 'cursor': 0})
    assert stop['missed'] == missed, stop.get('missed')
    assert ''.join(r['text'] for r in stop['records']) == kept
    assert stop['records'][0]['seq'] == first
    assert session_info(d, 'burst') is None


def test_slow_client(s, d):
    c = d.conn()
    # A small backlog, so the stalled client surely loses output.
    c.call('io.ktap.Submit', s.submit_params('flood.kp', name='flood', keep=True,
                                              options={'backlog_size': 64 << 10}))
    slow = d.conn(timeout=30)
    slow.send('io.ktap.Attach', {'session': 'flood', 'cursor': 0}, more=True)
    # slow never reads while the flood runs.
    fast = d.conn()
    fast.send('io.ktap.Attach', {'session': 'flood', 'cursor': 0}, more=True)
    fast_out = [fast.reply()['parameters']]
    start = time.time()
    worst, produced, polled = 0, 0, start
    # Long enough to fill the stalled client's queue and socket many times.
    while time.time() - start < 2 or (produced < 4 << 20 and time.time() - start < 20):
        t0 = time.time()
        fast_out.append(fast.reply()['parameters'])
        worst = max(worst, time.time() - t0)
        if time.time() - polled > 0.5:
            t0 = time.time()
            produced = d.call('io.ktap.Status', {'session': 'flood'})['stats']['output_bytes']
            assert time.time() - t0 < 1, 'Status took %.2f s while a client stalls' % (time.time() - t0)
            polled = time.time()
    assert produced >= 4 << 20, 'flood produced only %d bytes' % produced
    assert worst < 1, 'the fast client waited %.2f s for a record' % worst
    d.alive()
    d.call('io.ktap.Stop', {'session': 'flood'})
    while True:
        m = fast.reply()
        fast_out.append(m['parameters'])
        if not m.get('continues'):
            break
    total = check_contiguous(fast_out[1:], 0)
    lengths = {r['record']['seq']: len(r['record']['text'].encode()) for r in fast_out if 'record' in r}

    # Now the slow client reads: what it missed is accounted for exactly.
    seq, missed = 0, 0
    while True:
        m = slow.reply()
        p = m['parameters']
        if 'missed' in p:
            assert p['missed']['bytes'] == sum(lengths[i] for i in range(seq, seq + p['missed']['records'])), p
            seq += p['missed']['records']
            missed += p['missed']['records']
        elif 'record' in p:
            assert p['record']['seq'] == seq and len(p['record']['text'].encode()) == lengths[seq], p
            seq += 1
        if not m.get('continues'):
            break
    assert seq == total and p['cursor'] == total, (seq, total, p)
    assert missed > 0, 'the stalled client missed nothing (flood too small?)'


def run_as(s, user, groups, method, params, more=False):
    """Call method as another user (setpriv), returns the list of replies."""
    pw = pwd.getpwnam(user)
    argv = ['setpriv', '--reuid=%d' % pw.pw_uid, '--regid=%d' % pw.pw_gid]
    argv += ['--groups=' + ','.join(str(g) for g in groups)] if groups else ['--clear-groups']
    # The system's python: an interpreter under /root is not the user's to run.
    argv += ['/usr/bin/python3', os.path.abspath(__file__), '--client', s.daemon_path, method,
             json.dumps(params)] + (['--more'] if more else [])
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, 'client as %s failed: %s' % (user, r.stderr)
    return json.loads(r.stdout)


def ensure_test_user():
    if subprocess.run(['getent', 'group', TEST_GROUP], capture_output=True).returncode:
        subprocess.run(['groupadd', '-r', TEST_GROUP], check=True)
    if subprocess.run(['getent', 'passwd', TEST_USER], capture_output=True).returncode:
        subprocess.run(['useradd', '-M', '-r', '-s', '/usr/sbin/nologin', TEST_USER], check=True)
    return grp.getgrnam(TEST_GROUP).gr_gid


def test_permissions(s, d):
    if os.getuid() != 0:
        return 'SKIP needs root to create a user and switch to it'
    ktap_gid = ensure_test_user()
    uid = pwd.getpwnam(TEST_USER).pw_uid
    c = d.conn()
    c.call('io.ktap.Submit', s.submit_params('ticker.kp', name='roots', keep=True))

    # Not in group ktap: no submit, no access to root's session, sees nothing.
    r = run_as(s, TEST_USER, [], 'io.ktap.Submit', s.submit_params('ticker.kp', name='mine'))
    assert r[0].get('error') == 'io.ktap.PermissionDenied', r
    for m in ('io.ktap.Dump', 'io.ktap.Stop', 'io.ktap.Status'):
        r = run_as(s, TEST_USER, [], m, {'session': 'roots'})
        assert r[0].get('error') == 'io.ktap.PermissionDenied', (m, r)
        assert 'belongs to uid 0;' in r[0]['parameters']['reason'], r
    r = run_as(s, TEST_USER, [], 'io.ktap.Attach', {'session': 'roots'}, more=True)
    assert r[0].get('error') == 'io.ktap.PermissionDenied', r
    r = run_as(s, TEST_USER, [], 'io.ktap.List', {})
    assert r[0]['parameters']['sessions'] == [], r
    r = run_as(s, TEST_USER, [], 'io.ktap.Status', {})
    assert r[0]['parameters']['daemon']['sessions'] >= 1, r
    assert session_info(d, 'roots')['state'] == 'running'

    # In group ktap: may submit; owns the session; root sees it too.
    r = run_as(s, TEST_USER, [ktap_gid], 'io.ktap.Submit',
               s.submit_params('ticker.kp', name='users', keep=True))
    assert r[0]['parameters']['session']['owner_uid'] == uid, r
    r = run_as(s, TEST_USER, [ktap_gid], 'io.ktap.List', {})
    assert [x['name'] for x in r[0]['parameters']['sessions']] == ['users'], r
    assert session_info(d, 'users')['owner_uid'] == uid
    r = run_as(s, TEST_USER, [ktap_gid], 'io.ktap.Dump', {'session': 'roots'})
    assert r[0].get('error') == 'io.ktap.PermissionDenied', r
    r = run_as(s, TEST_USER, [], 'io.ktap.Dump', {'session': 'users'})
    assert 'globals' in r[0]['parameters'], r
    r = run_as(s, TEST_USER, [], 'io.ktap.Stop', {'session': 'users'})
    assert r[0]['parameters']['end']['exit_status'] == 0, r
    c.call('io.ktap.Stop', {'session': 'roots'})
    d.alive()


def test_daemon_limits(s, d):
    """--max-sessions, --memory-limit and --linger, on a daemon of its own."""
    tmp = tempfile.mkdtemp(dir=s.tmp)
    d2 = Daemon(s.args.ktapd, tmp, '--max-sessions', '2', '--memory-limit', '3M',
                '--arena-size', '1M', '--linger', '1')
    try:
        c = d2.conn()
        c.call('io.ktap.Submit', s.submit_params('ticker.kp', name='a', keep=True))
        e = expect_error(lambda: c.call('io.ktap.Submit', s.submit_params(
            'ticker.kp', name='big', options={'arena_size': 4 << 20})), 'io.ktap.QuotaExceeded', quota='memory')
        assert e['limit'] == 3 << 20, e
        c.call('io.ktap.Submit', s.submit_params('exit.kp', name='b', keep=True))
        e = expect_error(lambda: c.call('io.ktap.Submit', s.submit_params('ticker.kp')),
                         'io.ktap.QuotaExceeded', quota='sessions')
        assert e['limit'] == 2, e
        assert d2.call('io.ktap.Status')['daemon']['mem_quota'] == 2 << 20
        # b ended by itself; a second later it is reaped, a (running) stays.
        wait_for(lambda: session_info(d2, 'b') is None, what='the ended session to be reaped')
        assert session_info(d2, 'a')['state'] == 'running'
        c.call('io.ktap.Submit', s.submit_params('ticker.kp', name='c', keep=True))
    finally:
        assert d2.stop() == 0


def test_sigterm_runs_trace_end(s, d):
    # Its own daemon: this one is stopped.
    tmp = tempfile.mkdtemp(dir=s.tmp)
    d2 = Daemon(s.args.ktapd, tmp)
    try:
        c = d2.conn()
        c.send('io.ktap.Submit', s.submit_params('ticker.kp', name='t'), more=True)
        c.reply()
        c.reply()
        d2.proc.send_signal(signal.SIGTERM)
        out = []
        while True:
            m = c.reply()
            out.append(m['parameters'])
            if not m.get('continues'):
                break
        assert records_text(out).splitlines()[-1].startswith('end '), records_text(out)
        assert out[-1]['end']['exit_status'] == 0, out[-1]
        c.close()
        # It exits by itself once its clients have their last replies.
        assert d2.proc.wait(15) == 0, 'ktapd exited with %s' % d2.proc.returncode
    finally:
        d2.stop()


def test_restart_keeps_sessions(s, d):
    """--state-dir: kept sessions go on after a restart (SIGTERM, and
    SIGKILL after a checkpoint) with their id, name, owner and globals;
    their output goes on from the saved cursor after a line saying what
    was not traced. Others do not persist; a bad state file is set aside
    and logged while the rest starts."""
    tmp = tempfile.mkdtemp(dir=s.tmp)
    state = os.path.join(tmp, 'state')
    argv = ('--state-dir', state, '--checkpoint', '1')

    def dump_n(dd):
        return dd.call('io.ktap.Dump', {'session': 'kept'})['globals']['n']

    d2 = Daemon(s.args.ktapd, tmp, *argv)
    try:
        d2.call('io.ktap.Submit', s.submit_params('ticker.kp', name='kept', keep=True))
        held = d2.conn()
        held.send('io.ktap.Submit', s.submit_params('ticker.kp', name='held'))
        held.reply()
        wait_for(lambda: session_info(d2, 'kept')['next_seq'] >= 5, what='ticks')
        before = session_info(d2, 'kept')
        d2.proc.send_signal(signal.SIGTERM)
        assert d2.proc.wait(15) == 0
        held.close()
    finally:
        d2.stop()
    files = sorted(os.listdir(state))
    assert files == ['session-%d.json' % before['id']], files
    saved = json.load(open(os.path.join(state, files[0])))
    assert saved['name'] == 'kept' and saved['next_seq'] >= 5, saved

    d3 = Daemon(s.args.ktapd, tmp, *argv)
    try:
        info = session_info(d3, 'kept')
        assert info['id'] == before['id'] and info['state'] == 'running', info
        assert info['restores'] == 1 and info['started_usec'] == before['started_usec'], info
        assert info['owner_uid'] == 0 and session_info(d3, 'held') is None
        n = dump_n(d3)
        assert n >= saved['next_seq'], (n, saved)
        c = d3.conn()
        c.send('io.ktap.Attach', {'session': 'kept', 'cursor': saved['next_seq']}, more=True)
        c.reply()
        note, first = c.reply()['parameters'], c.reply()['parameters']
        c.close()
        assert note['record']['seq'] == saved['next_seq'], note
        assert re.fullmatch(r'ktap: ktapd restarted: events between \S+ \S+ and '
                            r'\S+ \S+ UTC were not traced\n', note['record']['text']), note
        # The count went on from the saved one, not from 0.
        assert first['record']['text'] == 'tick %d\n' % (saved['next_seq'] + 1), first
        time.sleep(1.5)  # a checkpoint
        at_kill = dump_n(d3)
        d3.proc.kill()
        d3.proc.wait()
    finally:
        d3.stop()

    with open(os.path.join(state, 'session-99.json'), 'w') as f:
        f.write('{"version": 1, "id": 99')
    d4 = Daemon(s.args.ktapd, tmp, *argv)
    try:
        d4.alive()
        info = session_info(d4, 'kept')
        assert info['restores'] == 2, info
        # Restored from the last checkpoint: at most a second behind.
        assert at_kill - 100 <= dump_n(d4), (at_kill, dump_n(d4))
        assert os.path.exists(os.path.join(state, 'session-99.json.failed'))
        r = d4.call('io.ktap.Stop', {'session': 'kept'})
        assert r['session']['state'] == 'ended', r
        assert sorted(os.listdir(state)) == ['session-99.json.failed'], os.listdir(state)
    finally:
        d4.stop()
    with open(os.path.join(tmp, 'ktapd.log')) as f:
        log = f.read()
    assert re.search(r'Session 99 could not be restored from \S+: not a JSON object', log), log


def test_systemd_notify(s, d):
    """READY, STATUS, WATCHDOG and STOPPING go to $NOTIFY_SOCKET; journal priorities."""
    tmp = tempfile.mkdtemp(dir=s.tmp)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(os.path.join(tmp, 'notify'))
    notify.settimeout(10)
    # stderr is the log file; JOURNAL_STREAM naming it says "this is the journal".
    logpath = os.path.join(tmp, 'ktapd.log')
    open(logpath, 'wb').close()
    st = os.stat(logpath)
    d2 = Daemon(s.args.ktapd, tmp, env={
        'NOTIFY_SOCKET': os.path.join(tmp, 'notify'),
        'WATCHDOG_USEC': '200000',
        'JOURNAL_STREAM': '%d:%d' % (st.st_dev, st.st_ino)})
    seen = []
    try:
        while sum('WATCHDOG=1' in m for m in seen) < 3:
            seen.append(notify.recv(4096).decode())
        assert seen[0] == 'READY=1', seen
        assert any(m.startswith('STATUS=') for m in seen), seen
        d2.proc.send_signal(signal.SIGTERM)
        while not any('STOPPING=1' in m for m in seen):
            seen.append(notify.recv(4096).decode())
        assert d2.proc.wait(15) == 0
    finally:
        d2.stop()
    with open(logpath) as f:
        lines = f.read().splitlines()
    assert lines and all(l.startswith('<') for l in lines), lines


def test_socket_file(s, d):
    """The socket's directory is made, its mode is 0666, a live one is kept, a stale one replaced."""
    tmp = tempfile.mkdtemp(dir=s.tmp)
    path = os.path.join(tmp, 'sub', 'k.sock')
    argv = [s.args.ktapd, '--socket', path]
    def answers():
        try:
            return Conn(path).call('org.varlink.service.GetInfo')
        except (ConnectionRefusedError, FileNotFoundError):
            return None

    first = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    try:
        wait_for(answers, what='the socket')
        assert os.stat(path).st_mode & 0o777 == 0o666, oct(os.stat(path).st_mode)
        second = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        assert second.returncode == 1 and 'another daemon' in second.stderr, (second.returncode, second.stderr)
        assert Conn(path).call('org.varlink.service.GetInfo')['product'] == 'ktapd'
    finally:
        first.kill()
        first.wait()
    assert os.path.exists(path), 'a killed ktapd leaves its socket file behind'
    third = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    try:
        wait_for(answers, what='ktapd on the stale socket')
    finally:
        third.send_signal(signal.SIGTERM)
        assert third.wait(15) == 0


def test_socket_activation(s, d):
    if not shutil.which('systemd-socket-activate'):
        return 'SKIP systemd-socket-activate not installed'
    tmp = tempfile.mkdtemp(dir=s.tmp)
    d2 = Daemon(s.args.ktapd, tmp, activate=True)
    try:
        info = d2.call('org.varlink.service.GetInfo')
        assert info['product'] == 'ktapd', info
        st = d2.call('io.ktap.Status')
        assert st['daemon']['state'] == 'running', st
        with open(d2.log.name, 'rb') as f:
            log = f.read().decode(errors='replace')
        assert 'from systemd' in log, log
    finally:
        assert d2.stop() == 0


TESTS = [
    test_get_info,
    test_interface_description,
    test_malformed_json,
    test_malformed_call,
    test_oversized_message,
    test_unknown_method,
    test_unknown_parameter,
    test_invalid_bytecode,
    test_unknown_session,
    test_event_not_found,
    test_invalid_arguments,
    test_random_input,
    test_pipelined_and_oneway,
    test_fragments_and_half_close,
    test_over_a_pipe,
    test_session_lifecycle,
    test_tracepoint,
    test_session_endings,
    test_streaming_submit_ends_with_client,
    test_two_clients_identical,
    test_keep_survives_and_resumes,
    test_backlog_overflow,
    test_slow_client,
    test_permissions,
    test_daemon_limits,
    test_sigterm_runs_trace_end,
    test_restart_keeps_sessions,
    test_systemd_notify,
    test_socket_file,
    test_socket_activation,
]


def client_main(args):
    """--client: one call, print the replies as a JSON list (run as another user)."""
    c = Conn(args.client[0])
    c.send(args.client[1], json.loads(args.client[2]), more=args.more)
    out = []
    while True:
        m = c.recv()
        out.append(m)
        if 'error' in m or not m.get('continues'):
            break
    print(json.dumps(out))
    return 0


def relay_main(path):
    """--relay: copy stdin to the socket and the socket to stdout, like socat."""
    import selectors
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ)
    sel.register(sock, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj == 0:
                data = os.read(0, 1 << 16)
                if not data:
                    return 0
                sock.sendall(data)
            else:
                data = sock.recv(1 << 16)
                if not data:
                    return 0
                os.write(1, data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ktapd')
    ap.add_argument('--ktapctl')
    ap.add_argument('--client', nargs=3)
    ap.add_argument('--more', action='store_true')
    ap.add_argument('--relay')
    ap.add_argument('-k', dest='only', help='run only tests whose name contains this')
    args = ap.parse_args()
    if args.client:
        return client_main(args)
    if args.relay:
        return relay_main(args.relay)

    tests = [t for t in TESTS if not args.only or args.only in t.__name__]
    print('1..%d' % len(tests))
    s = Suite(args)
    failed = 0
    d = Daemon(args.ktapd, s.tmp)
    s.daemon_path = d.path
    try:
        for i, t in enumerate(tests, 1):
            name = t.__name__[5:]
            try:
                if d.proc.poll() is not None:
                    raise AssertionError('ktapd is not running (exit %s)' % d.proc.returncode)
                try:
                    skip = t(s, d)
                finally:
                    # Every test leaves the daemon without sessions.
                    left = d.call('io.ktap.List')['sessions']
                    for x in left:
                        d.call('io.ktap.Stop', {'session': str(x['id'])})
                assert not left, 'sessions left behind: %s' % [x.get('name', x['id']) for x in left]
                print('ok %d - %s%s' % (i, name, ' # ' + skip if skip else ''))
            except Exception:
                failed += 1
                print('not ok %d - %s' % (i, name))
                for line in traceback.format_exc().splitlines():
                    print('# ' + line)
            sys.stdout.flush()
    finally:
        rc = d.stop()
        if rc != 0:
            print('# ktapd exited with %s; log in %s' % (rc, d.log.name))
            failed += 1
    if failed:
        print('# ktapd log: %s' % d.log.name)
    else:
        shutil.rmtree(s.tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
