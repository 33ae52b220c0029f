# SPDX-License-Identifier: GPL-2.0
# The real ktapd with the kmod engine, driven by the real ktapctl: engine
# choice (module loaded by ktapd, forced engine unavailable), the golden
# cases of the self-test, every event kind (the ktapvm-client scripts, run
# from their sources), argstr (print programs against libtraceevent on
# every event of this kernel, and one session per engine over the same
# process printing the same lines), exit and trace_end, the time budget,
# DUMP, status, rmmod refused while a session lives, ktapd killed with
# SIGKILL and restarted (the module left clean, a kept session restored),
# no memory left behind, and the fallback to the user engine when lockdown
# refuses the module.
. /tests/lib.sh

export KTAP_SOCKET=/run/ktapd.sock
T=/bin/ktapvm-target
STATE=/tmp/ktapd-state
LOG=/tmp/ktapd.log
# Per handler run: a dead loop with a budget of 100M units (a few hundred
# ms under TCG) is stopped by time first.
TIME_BUDGET=20000

start_ktapd() {
	rm -f $KTAP_SOCKET
	ktapd --socket $KTAP_SOCKET --state-dir $STATE --checkpoint 1 \
		--time-budget $TIME_BUDGET "$@" >>$LOG 2>&1 &
	ktapd_pid=$!
	i=0
	until ktapctl status >/tmp/status.out 2>&1; do
		kill -0 $ktapd_pid 2>/dev/null || { cat $LOG; fail "ktapd exited"; }
		i=$((i + 1))
		[ $i -lt 100 ] || { cat $LOG; fail "ktapd did not start"; }
		sleep 0.1
	done
}

stop_ktapd() {
	kill -TERM $ktapd_pid
	wait $ktapd_pid || fail "ktapd exited with status $?"
}

# ktapctl run in /scripts, where runtime errors name the scripts as the
# expected outputs do.
ktapctl_run() {
	(cd /scripts && exec ktapctl run "$@")
}

# krun NAME KTAPCTL-RUN-ARGS...: as lib.sh's run, through ktapd.
krun() {
	name=$1
	shift
	run_as $name ktapctl_run "$@"
}

session_fds() {
	ls -l /proc/$ktapd_pid/fd 2>/dev/null | grep -c 'anon_inode:.*ktapvm' || true
}

# Engine choice without the module: forced kmod fails, auto falls back.
set +e
ktapd --socket /run/none.sock --engine kmod >/tmp/forced.log 2>&1
status=$?
set -e
cat /tmp/forced.log
[ $status != 0 ] || fail "--engine kmod started without the module"
grep -q 'No engine: --engine kmod: modprobe ktapvm failed' /tmp/forced.log ||
	fail "--engine kmod: no reason given"
start_ktapd --engine auto
grep -q 'engine: *user (kmod engine unavailable: ' /tmp/status.out ||
	{ cat /tmp/status.out; fail "auto without the module is not user"; }
stop_ktapd

# ktapd loads the module itself (finit_module of --kmod-path).
start_ktapd --kmod-path /modules/ktapvm.ko
cat /tmp/status.out
grep -q 'engine: *kmod (ktapd loaded /modules/ktapvm.ko)' /tmp/status.out ||
	fail "status does not say kmod"
stop_ktapd
rmmod ktapvm

# The golden cases need budgets above the module's default limit.
insmod /modules/ktapvm.ko max_insn_budget=100000000
mem_snapshot
touch /tmp/ktap-marker
start_ktapd --engine kmod

passed=0
failed=0
skipped=0
while read gname gstatus garena gbudget gdepth; do
	# ktapctl has no call-depth option and no arena below 64 KiB; a
	# case with probes would see real events here, not none as in
	# ktaprun.
	if [ "$gdepth" != 0 ] || [ "$garena" -lt 65536 ] ||
		grep -Eq '(^|[^_a-z])(trace[[:space:]]+[a-z*]|tick-[0-9]|profile-[0-9])' \
			/golden/$gname.kp; then
		skipped=$((skipped + 1))
		continue
	fi
	opts="--arena-size $garena"
	[ "$gbudget" = 0 ] || opts="$opts --insn-budget $gbudget"
	set +e
	(cd /golden && eval "set -- $(cat $gname.argv)" &&
		exec timeout 60 ktapctl run $opts $gname.kp "$@") \
		>/tmp/g.out 2>/tmp/g.err
	status=$?
	set -e
	if ! cmp -s /tmp/g.out /golden/$gname.out; then
		echo "ktapd-golden: $gname: FAILED: output differs:"
		diff /golden/$gname.out /tmp/g.out || true
		cat /tmp/g.err
		failed=$((failed + 1))
	elif [ $status != $gstatus ]; then
		echo "ktapd-golden: $gname: FAILED: status $status, expected $gstatus"
		cat /tmp/g.err
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
done </golden/cases
echo "ktapd-golden: $passed passed, $failed failed, $skipped skipped"

krun hello hello.kp world 41
expect_status 0
printf 'hello\tworld\t42\nend\n' | cmp - /tmp/hello.out || fail "hello output"

krun exit_main exit_main.kp
expect_status 7
printf 'main\nend\t0\n' | cmp - /tmp/exit_main.out || fail "exit_main output"

krun sched sched.kp
expect_status 0
expect_out '^switches 200 good true bad 0$'
expect_out 'schedule'

# A __data_loc string field: sched_process_exec's filename (arg0).
krun exec -e 'trace sched:sched_process_exec { printf("exec %s %d\n", arg0, len(arg0)) }' -- sh -c "$T add 1; true"
expect_status 0
expect_out "^exec $T 18\$"

# -- COMMAND: the session traces the command (-p), the processes it
# starts too, and ends with it.
krun syscalls syscalls.kp -- sh -c "$T open 5 /tmp/ktap-marker; $T open 3 /tmp/ktap-missing"
expect_status 0
expect_out '^marker 5 enoent 3 bad 0$'

# syscalls:* through the module's own sys_enter/sys_exit probes (no perf
# counter per event): every syscall event armed at once and counted under
# its own name, a second probe on one of them runs too, the exit event
# reads the return value, and -p keeps every other process out.
krun syscalls_all -e 'var s = {}
var ppid = 0
trace syscalls:* { s[probename] += 1 }
trace syscalls:sys_enter_getppid { s["second"] += 1 }
trace syscalls:sys_exit_getppid { ppid = arg1 }
trace_end {
	printf("enter %d exit %d second %d ppid %s\n", s["sys_enter_getppid"],
	       s["sys_exit_getppid"], s["second"], ppid > 1)
}' -- $T ppid 1234
expect_status 0
expect_out '^enter 1234 exit 1234 second 1234 ppid true$'

# argstr of other tracepoints: the event's name and its print fmt, as the
# user engine (libtraceevent) and the kernel's trace output print it, from
# the print program ktapd compiled (expressions, __print_flags,
# __print_symbolic, %p: sched_switch's prev_state is all of them).
krun tp_argstr -e 'trace sched:sched_process_exec,sched:sched_process_fork,sched:sched_switch /execname == "ktapvm-target" || probename == "sched_process_fork"/ { printf("%s|%s\n", probename, argstr) }' -- sh -c "$T add 1; true"
expect_status 0
expect_out "^sched_process_exec|sched_process_exec: filename=$T pid=[0-9]* old_pid=[0-9]*\$"
expect_out '^sched_process_fork|sched_process_fork: comm=[^ ]* pid=[0-9]* child_comm=[^ ]* child_pid=[0-9]*$'
expect_out '^sched_switch|sched_switch: prev_comm=ktapvm-target prev_pid=[0-9]* prev_prio=[0-9]* prev_state=[A-Z|+]* ==> next_comm=[^ ]* next_pid=[0-9]* next_prio=[0-9]*$'

# Print programs against libtraceevent on every event of this kernel
# (tests/unit/test_argprog.c: the unit suite does it on the host's).
test_argprog /sys/kernel/tracing/events 50 || fail "test_argprog"

# The same events through both engines at once: a user-engine ktapd
# beside this one, both sessions on one shell (held until both are
# armed; then a read timing out, hrtimer_* with %p, %ps and
# __print_symbolic, and blocking, sched_switch with __print_flags and ?:;
# held again while both stop), each printing argstr: the two outputs must
# be the same lines.
rm -f /run/ktapd-user.sock /tmp/go /tmp/go2 /tmp/hold
mkfifo /tmp/go /tmp/go2 /tmp/hold
ktapd --engine user --socket /run/ktapd-user.sock \
	--state-dir /tmp/ktapd-user-state >>/tmp/ktapd-user.log 2>&1 &
user_pid=$!
sleep 1000 >/tmp/hold &
holder=$!
sh -c 'read x </tmp/go; read -t 1 z </tmp/hold; read y </tmp/go2' &
target=$!
both='print("armed")
trace sched:sched_switch,timer:hrtimer_init,timer:hrtimer_start,timer:hrtimer_cancel { print(argstr) }'
i=0
until KTAP_SOCKET=/run/ktapd-user.sock ktapctl status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat /tmp/ktapd-user.log; fail "user ktapd did not start"; }
	sleep 0.1
done
ktapctl run -p $target -e "$both" >/tmp/both-kmod.out 2>&1 &
kmod_run=$!
KTAP_SOCKET=/run/ktapd-user.sock ktapctl run -p $target -e "$both" \
	>/tmp/both-user.out 2>&1 &
user_run=$!
i=0
until grep -q armed /tmp/both-kmod.out && grep -q armed /tmp/both-user.out; do
	i=$((i + 1))
	[ $i -lt 300 ] || { cat /tmp/both-*.out; fail "sessions not armed"; }
	sleep 0.1
done
sleep 1
echo go >/tmp/go
sleep 3
kill -INT $kmod_run $user_run
wait $kmod_run $user_run || true
echo go >/tmp/go2
wait $target
kill $holder
kill -TERM $user_pid
wait $user_pid || fail "user ktapd exited with status $?"
echo "== both engines: kmod"
cat /tmp/both-kmod.out
echo "== both engines: user"
cat /tmp/both-user.out
grep -q '^sched_switch: prev_comm=sh .*prev_state=S ' /tmp/both-kmod.out ||
	fail "both engines: no sched_switch of the blocked shell"
grep -q '^hrtimer_start: hrtimer=0x[0-9a-f]* function=hrtimer_wakeup expires=' \
	/tmp/both-kmod.out || fail "both engines: no hrtimer_start of its read"
sort /tmp/both-kmod.out >/tmp/both-kmod.sorted
sort /tmp/both-user.out >/tmp/both-user.sorted
cmp -s /tmp/both-kmod.sorted /tmp/both-user.sorted ||
	{ diff /tmp/both-kmod.sorted /tmp/both-user.sorted; fail "both engines: argstr differs"; }

# Counter probes (a constant added to a global, or to its table's entry
# for probename) are counted per CPU in the handler and applied before
# the VM runs anything else: same figures, no VM per hit.
krun counters -e 'var s = {}
var n = 0
trace syscalls:sys_enter_getppid,syscalls:sys_exit_getppid { s[probename] += 1 }
trace syscalls:sys_enter_getppid { n += 2 }
trace_end {
	printf("enter %d exit %d n %d\n", s["sys_enter_getppid"],
	       s["sys_exit_getppid"], n)
}' -- $T ppid 1234
expect_status 0
expect_out '^enter 1234 exit 1234 n 2468$'

# argstr of syscall events, as the kernel's trace output (and the user
# engine) writes them: small values in decimal, the others in hex (an
# int argument as the register holds it: AT_FDCWD is 0xffffff9c).
krun sys_argstr -e 'trace syscalls:sys_enter_openat,syscalls:sys_exit_openat,syscalls:sys_enter_getppid /execname == "ktapvm-target"/ { print(argstr) }' -- sh -c "$T open 1 /tmp/ktap-missing; $T ppid 1"
expect_status 0
expect_out '^sys_openat(dfd: 0xffffff9c, filename: 0x[0-9a-f]*, flags: 0, mode: 0)$'
expect_out '^sys_openat -> 0xfffffffffffffffe$'
expect_out '^sys_getppid()$'

krun kprobe kprobe.kp -- $T open 3 /tmp/ktap-missing
expect_status 0
expect_out '^calls 3 enoent 3 comm [01]$'
expect_out '^do_sys_openat2+0x'

krun uprobe uprobe.kp -- $T add 10
expect_status 0
expect_out '^calls 10 rets 10 bad 0$'

krun timers timers.kp
expect_status 5
expect_out '^ticks 20 profile true bad 0$'

krun err_probe err_probe.kp
expect_status 3
expect_out '^error: err_probe.kp:3: attempt to index a nil value$'
expect_no_out never

krun deadloop --insn-budget 100000000 deadloop.kp
expect_status 3
expect_out "^error: deadloop.kp:2: time budget exceeded ($TIME_BUDGET us)$"
expect_no_out never

krun missing -e 'trace sched:nope { }'
expect_status 1
expect_err "event 'sched:nope' not found"

krun nokprobe -e 'trace probe:ktap_no_such_function { }'
expect_status 1
expect_err "event 'probe:ktap_no_such_function' not found (no such kernel function)"

krun nosdt -e 'trace sdt:/bin/ktapvm-target:x { }'
expect_status 1
expect_err 'sdt markers are not supported by the kmod engine'

# -C: events of that CPU only.
krun cpu -C 1 -e 'var c = {}
var n = 0
trace sched:sched_switch { c[cpu] = true; n += 1; if (n == 50) { exit(0) } }
trace_end { for (k, v in pairs(c)) { print("cpu", k) } }'
expect_status 0
expect_out '^cpu	1$'
expect_no_out '^cpu	0$'

ktapctl submit --keep --name dump /scripts/dump.kp
sleep 1
ktapctl dump --json dump >/tmp/dump.out
cat /tmp/dump.out
grep -q '"count": *3' /tmp/dump.out || fail "dump: no count"
ktapctl stop dump

# rmmod is refused while a session is open.
ktapctl submit --keep --name busy /scripts/hold.kp
sleep 1
[ "$(session_fds)" = 1 ] || fail "no session fd in ktapd"
! rmmod ktapvm 2>/dev/null || fail "rmmod with a live session"
ktapctl stop busy >/tmp/busy.out
cat /tmp/busy.out
grep -q '^end' /tmp/busy.out || fail "busy: trace_end did not run"

# ktapd killed mid-session: the kernel session goes with its fd; a kept
# session starts again when ktapd does.
ktapctl submit --keep --name kept /scripts/hold.kp
sleep 2
# A checkpoint (every second) has saved at least this much.
n_before=$(ktapctl dump --json kept | sed -n 's/.*"n": *\([0-9]*\).*/\1/p')
sleep 1.5
kill -KILL $ktapd_pid
wait $ktapd_pid || true
[ "$(cat /sys/module/ktapvm/refcnt)" = 0 ] || fail "module still in use after kill -9"
[ "$(ktapvm_vmalloc)" = 0 ] || fail "session memory left after kill -9"
start_ktapd --engine kmod
ktapctl list >/tmp/list.out
cat /tmp/list.out
grep -q kept /tmp/list.out || fail "the kept session was not restored"
n_after=$(ktapctl dump --json kept | sed -n 's/.*"n": *\([0-9]*\).*/\1/p')
echo "kept: n $n_before before kill -9, $n_after after the restart"
[ "$n_after" -ge "$n_before" ] || fail "kept: the globals were not restored"
ktapctl stop kept
stop_ktapd

mem_check "after ktapd"
rmmod ktapvm

# Under lockdown the kernel refuses the unsigned module: ktapd says why
# and runs scripts itself (last: lockdown cannot be lifted).
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true
echo integrity >/sys/kernel/security/lockdown
start_ktapd --kmod-path /modules/ktapvm.ko
cat /tmp/status.out
grep -q 'engine: *user (kmod engine unavailable: loading /modules/ktapvm.ko failed: the kernel refuses modules (lockdown' /tmp/status.out ||
	fail "lockdown: no fallback to the user engine with its reason"
stop_ktapd
[ "$failed" = 0 ] && [ "$passed" -gt 0 ] || fail "golden cases failed"
echo "kmod-ktapd: ok"
