#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run one golden case: check.py RUNNER CASE.kp

The case's leading comment lines may set how it runs:
    # status: N      expected exit status (default 0)
    # args: a b c    script arguments (shell-style quoting)
    # events: N      synthetic events per probe (ktaprun --events)
    # arena: SIZE    session arena (ktaprun --arena, K/M suffixes)
    # budget: N      instruction budget (ktaprun --budget)
    # depth: N       call depth limit (ktaprun --depth)
The runner is started in the case's directory as `RUNNER [opts] NAME.kp
args...`, so messages read `NAME.kp:LINE: ...`. Its stdout (the session
output) must equal NAME.out and its stderr (compile errors) NAME.err; a
missing file means "expect nothing".
"""
import difflib
import os
import shlex
import subprocess
import sys

OPTIONS = {"events": "--events", "arena": "--arena", "budget": "--budget",
           "depth": "--depth"}


def read_header(path):
    conf = {}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("#"):
                break
            key, sep, value = line[1:].partition(":")
            key = key.strip()
            if sep and (key in OPTIONS or key in ("status", "args")):
                conf[key] = value.strip()
    return conf


def expected(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def diff(what, want, got):
    lines = difflib.unified_diff(
        want.decode("utf-8", "backslashreplace").splitlines(keepends=True),
        got.decode("utf-8", "backslashreplace").splitlines(keepends=True),
        "expected " + what, "actual " + what)
    sys.stdout.writelines(lines)
    sys.stdout.write("\n")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check.py RUNNER CASE.kp")
    runner = os.path.abspath(sys.argv[1])
    case = os.path.abspath(sys.argv[2])
    base = case[:-len(".kp")]
    conf = read_header(case)
    cmd = [runner]
    for key, opt in OPTIONS.items():
        if key in conf:
            cmd += [opt, conf[key]]
    cmd.append(os.path.basename(case))
    cmd += shlex.split(conf.get("args", ""))
    want_status = int(conf.get("status", "0"))
    try:
        res = subprocess.run(cmd, cwd=os.path.dirname(case),
                             stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=120)
    except subprocess.TimeoutExpired:
        print("timed out: " + shlex.join(cmd))
        sys.exit(1)
    ok = True
    if res.returncode != want_status:
        print("exit status %d, expected %d" % (res.returncode, want_status))
        ok = False
    for what, want, got in (("stdout", expected(base + ".out"), res.stdout),
                            ("stderr", expected(base + ".err"), res.stderr)):
        if want != got:
            diff(what, want, got)
            ok = False
    if not ok:
        print("command: (cd %s && %s)" % (os.path.dirname(case),
                                           shlex.join(cmd)))
        sys.exit(1)


if __name__ == "__main__":
    main()
