# SPDX-License-Identifier: GPL-2.0
# Every event kind through the session fd: tracepoints with decoded fields,
# kprobes, uprobes, ticks and profile; exit and trace_end; runtime errors
# and the budgets; DUMP; -p and -C; a full output ring.
. /tests/lib.sh

insmod /modules/ktapvm.ko
mem_snapshot
touch /tmp/ktap-marker
T=/bin/ktapvm-target

run hello $K/hello.kpc world 41
expect_status 0
printf 'hello\tworld\t42\nend\n' | cmp - /tmp/hello.out || fail "hello output"

run exit_main $K/exit_main.kpc
expect_status 7
printf 'main\nend\t0\n' | cmp - /tmp/exit_main.out || fail "exit_main output"

run sched $K/sched.kpc
expect_status 0
expect_out '^switches 200 good true bad 0$'
expect_out 'schedule'

run runtime $K/runtime.kpc
expect_status 0
expect_out '^runs 40 once per event true$'

run syscalls $K/syscalls.kpc -- sh -c "$T open 5 /tmp/ktap-marker; $T open 3 /tmp/ktap-missing"
expect_status 0
expect_out '^marker 5 enoent 3 bad 0$'

grep -qw do_sys_openat2 /proc/kallsyms || fail "no do_sys_openat2 in this kernel"
run kprobe $K/kprobe.kpc -- sh -c "$T open 3 /tmp/ktap-missing; $T open 1 /tmp/ktap-marker"
expect_status 0
expect_out '^calls 3 enoent 3 comm 2$'
expect_out '^do_sys_openat2+0x'
expect_out 'do_syscall_64'

run reenter $K/reenter.kpc -- $T open 5 /tmp/ktap-marker
expect_status 0
expect_out '^strings 5$'
grep -q 'drop_recursion=[1-9]' /tmp/reenter.err || fail "reenter: no recursion counted"

run uprobe $K/uprobe.kpc -- $T add 10
expect_status 0
expect_out '^calls 10 rets 10 bad 0$'
expect_out '^0x[0-9a-f]*$'
[ "$(grep -c '^0x' /tmp/uprobe.out)" -ge 2 ] || fail "ustack: fewer than 2 frames"

run timers $K/timers.kpc
expect_status 5
expect_out '^ticks 20 profile true bad 0$'

run err_probe $K/err_probe.kpc
expect_status 3
expect_out '^error: err_probe.kp:3: attempt to index a nil value$'
expect_no_out never
expect_err 'failed=1'

run deadloop --budget 100000 $K/deadloop.kpc
expect_status 3
expect_out '^error: deadloop.kp:2: instruction budget exceeded (100000)$'
expect_err 'drop_budget=1 '

run recursion $K/recursion.kpc
expect_status 3
expect_out 'stack overflow$'

run slow --time-budget 100000 $K/slow.kpc
expect_status 3
expect_out '^error: slow.kp:4: time budget exceeded (100 us)$'
expect_err 'drop_budget=1 '

# A dead loop with an instruction budget worth about a second: stopped
# by time, inside the loop.
run deadloop_time --budget 10000000 --time-budget 1000000 $K/deadloop.kpc
expect_status 3
expect_out '^error: deadloop.kp:2: time budget exceeded (1000 us)$'
expect_err 'drop_budget=1 '

run dump --dump $K/dump.kpc
expect_status 0
expect_out '"count": 3'
expect_out '"names": {"tick":3}'

# Other processes open files too, on every CPU.
(while :; do cat /proc/version >/dev/null; done) &
noise0=$!
taskset -c 1 sh -c 'while :; do cat /proc/version >/dev/null; done' &
noise1=$!
run pid --pid-cmd $K/target.kpc -- $T spin 300 /tmp/ktap-marker
expect_status 0
expect_out '^openat true bad 0$'
run cpu --cpu 1 --duration 500 $K/target.kpc 1
expect_status 0
expect_out '^openat true bad 0$'
kill $noise0 $noise1
wait $noise0 $noise1 || true

# Two CPUs firing the same probe: every event runs the handler or is
# counted as dropped, and no update of the shared global is lost.
run counter $K/counter.kpc -- sh -c "taskset -c 0 $T ppid 20000 & taskset -c 1 $T ppid 20000; wait"
expect_status 0
n=$(awk '$1 == "n" { print $2 }' /tmp/counter.out)
events=$(sed -n 's/.* events=\([0-9]*\) .*/\1/p' /tmp/counter.err)
drops=$(sed -n 's/.* drop_recursion=\([0-9]*\) drop_contention=\([0-9]*\) .*/\1 + \2/p' /tmp/counter.err)
echo "counter: n=$n events=$events drops=$drops"
[ "$n" = "$events" ] || fail "counter: $n updates for $events handler runs"
# The shell running the two may call getppid itself, once or twice.
extra=$((n + drops - 40000))
[ $extra -ge 0 ] && [ $extra -le 4 ] || fail "counter: $n runs + $drops drops for 40000 events"

run flood --ring 65536 $K/flood.kpc
expect_status 0
expect_out '^   1 \.\.\.'
[ "$(grep -c '^ *[0-9]* \.' /tmp/flood.out)" -lt 3000 ] || fail "flood: nothing dropped"
grep -q 'lost_records=[1-9]' /tmp/flood.err || fail "flood: no lost records counted"

mem_check "after all sessions"
rmmod ktapvm
echo "kmod-events: ok"
