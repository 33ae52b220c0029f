# SPDX-License-Identifier: GPL-2.0
# Helpers for the kmod test fragments (/init runs them with sh -e); the
# fragments source this as /tests/lib.sh.
C=/bin/ktapvm-client
K=/chunks

fail() {
	echo "FAIL: $*"
	exit 1
}

# run_as NAME COMMAND...: output in /tmp/NAME.out, stderr in
# /tmp/NAME.err, the exit status in $status.
run_as() {
	name=$1
	shift
	set +e
	"$@" >/tmp/$name.out 2>/tmp/$name.err
	status=$?
	set -e
	echo "== $name: status $status"
	cat /tmp/$name.out
	cat /tmp/$name.err
}

# run NAME CLIENT-RUN-ARGS...: the client's counters go to stderr.
run() {
	name=$1
	shift
	run_as $name $C run --stats "$@"
}

expect_status() {
	[ "$status" = "$1" ] || fail "$name: status $status, expected $1"
}

# A line of the output (or of stderr) matching a basic regular expression.
expect_out() {
	grep -q -- "$1" /tmp/$name.out || fail "$name: no output line matches '$1'"
}

expect_no_out() {
	! grep -q -- "$1" /tmp/$name.out || fail "$name: output matches '$1'"
}

expect_err() {
	grep -q -- "$1" /tmp/$name.err || fail "$name: stderr does not match '$1'"
}

# Lines of /proc/vmallocinfo allocated by the module (arenas, rings).
ktapvm_vmalloc() {
	grep -c '\[ktapvm\]' /proc/vmallocinfo || true
}

meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# mem_check TAG: what the module's sessions held must all be back; other
# figures may move a little (caches, the tests' own files in tmpfs).
mem_snapshot() {
	m_vmalloc=$(meminfo VmallocUsed)
	m_percpu=$(meminfo Percpu)
	m_slab=$(meminfo SUnreclaim)
}

mem_check() {
	n=$(ktapvm_vmalloc)
	v=$(($(meminfo VmallocUsed) - m_vmalloc))
	p=$(($(meminfo Percpu) - m_percpu))
	s=$(($(meminfo SUnreclaim) - m_slab))
	echo "memory $1: ktapvm vmalloc areas $n, VmallocUsed ${v} kB, Percpu ${p} kB, SUnreclaim ${s} kB"
	[ "$n" = 0 ] || { grep '\[ktapvm\]' /proc/vmallocinfo; fail "$1: vmalloc areas left"; }
	[ "$v" -lt 1024 ] || fail "$1: VmallocUsed grew by $v kB"
	[ "$p" -lt 256 ] || fail "$1: Percpu grew by $p kB"
	[ "$s" -lt 4096 ] || fail "$1: SUnreclaim grew by $s kB"
}
