#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""ktaprun's own command line: test_ktaprun.py RUNNER

The language itself is tested by tests/lang through ktaprun; this checks
what those cases cannot: options, usage errors, -e, --stats.
"""
import re
import subprocess
import sys

runner = sys.argv[1]
failures = 0


def check(args, status, out=None, err=None):
    global failures
    res = subprocess.run([runner] + args, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL)
    problems = []
    if res.returncode != status:
        problems.append("exit status %d, expected %d" % (res.returncode,
                                                        status))
    if out is not None and not re.fullmatch(out, res.stdout):
        problems.append("stdout %r does not match %r" % (res.stdout, out))
    if err is not None and not re.fullmatch(err, res.stderr):
        problems.append("stderr %r does not match %r" % (res.stderr, err))
    for p in problems:
        print("ktaprun %s: %s" % (" ".join(args), p))
    failures += bool(problems)


usage = r"usage: ktaprun .*\n.*\n"
check([], 2, "", usage)
check(["--events", "1"], 2, "", usage)
check(["--arena"], 2, "", r"ktaprun: --arena needs a value\n")
check(["--arena", "12Q", "x.kp"], 2, "", r"ktaprun: bad value '12Q' for --arena\n")
check(["--budget", "-1", "x.kp"], 2, "", r"ktaprun: bad value '-1' for --budget\n")
check(["--budget", "4G", "x.kp"], 2, "", r"ktaprun: bad value '4G' for --budget\n")
check(["--bogus", "1", "x.kp"], 2, "", r"ktaprun: unknown option --bogus\n")
check(["/nonexistent/x.kp"], 2, "",
      r"ktaprun: cannot read /nonexistent/x.kp: No such file or directory\n")
# -e: arg[0] is "-e", the script's arguments follow the text.
check(["-e", "print(arg[0], arg[1], arg[2] + 1, len(arg))", "a", "41"], 0,
      "-e\ta\t42\t3\n", "")
check(["-e", "print(("], 1, "", r"-e:1: unexpected symbol near '<eof>'\n")
check(["-e", "exit(7)"], 7, "", "")
check(["-e", "print(1 / 0)"], 3, "error: -e:1: divide by zero\n", "")
# Options before the script, K/M suffixes, "--" ends the options.
check(["--arena", "1M", "--budget", "2K", "-e", "while (true) { }"], 3,
      r"error: -e:1: instruction budget exceeded \(2048\)\n", "")
check(["--depth", "5", "-e",
       "function d(n) { if (n == 0) { return 0 } return d(n - 1) + 1 }\n"
       "print(d(3))\nprint(d(10))"], 3,
      "3\nerror: -e:1: stack overflow\n", "")
check(["--events", "2", "-e", "trace a:b { print(arg0, argstr) }"], 0,
      "0\tktaprun_event: n=0\n10\tktaprun_event: n=1\n", "")
check(["--", "/nonexistent/-e"], 2)
check(["--arena", "64", "-e", "print(1)"], 3,
      r"error: out of memory \(arena of 64 bytes\)\n", "")
check(["--stats", "-e", "print(1)"], 0, "1\n",
      r"arena 4194304 in_use \d+ peak \d+ collections \d+\n")
sys.exit(1 if failures else 0)
