# SPDX-License-Identifier: GPL-2.0
# Guest half of tests/bench/kmod/run.py: one ktapd per engine, then rounds
# of the workload untraced, traced by the user engine, traced by the kmod
# engine. Prints "bench: ..." lines for run.py.
. /etc/bench-env.sh
N=${BENCH_CALLS:-200000}
ROUNDS=${BENCH_ROUNDS:-5}
W=/bin/workload
SCRIPT="var s = {}
var n = 0
trace syscalls:sys_enter_getppid { n += 1; $BENCH_HANDLER }
trace_end { print(\"count\", n) }"

insmod /modules/ktapvm.ko
for e in user kmod; do
	taskset -c 1 ktapd --engine $e --socket /run/$e.sock >/tmp/$e.log 2>&1 &
	eval "pid_$e=$!"
done
# ktapctl SOCKET-ENGINE ARGS...
kc() {
	e=$1
	shift
	KTAP_SOCKET=/run/$e.sock ktapctl "$@"
}

for e in user kmod; do
	i=0
	until kc $e status >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 300 ] || { cat /tmp/$e.log; exit 1; }
		sleep 0.1
	done
	kc $e status | grep engine:
done

# ktapd's CPU time so far, in clock ticks (utime + stime).
cpu_ticks() {
	awk '{ print $14 + $15 }' /proc/$1/stat
}

workload() {
	taskset -c 0 $W -t getppid $N | awk '{ print $NF }'
}

traced() {
	e=$1
	pid=$2
	kc $e submit --keep --name b$r -e "$SCRIPT" >/dev/null
	c0=$(cpu_ticks $pid)
	t=$(workload)
	c1=$(cpu_ticks $pid)
	n=$(kc $e stop b$r 2>/dev/null | awk '$1 == "count" { print $2 }')
	echo "$t $((c1 - c0)) $n"
}

workload >/dev/null # warm-up
r=1
while [ $r -le $ROUNDS ]; do
	base=$(workload)
	user=$(traced user $pid_user)
	kmod=$(traced kmod $pid_kmod)
	echo "bench: round $r calls $N base $base user $user kmod $kmod"
	r=$((r + 1))
done
kill $pid_user $pid_kmod
wait
rmmod ktapvm
