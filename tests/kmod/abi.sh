# SPDX-License-Identifier: GPL-2.0
# The device and the session fd: hostile ioctls, rmmod refused while a
# session lives, kill -9 in the middle of a session, no memory left behind,
# two sessions at once, what lockdown takes away.
. /tests/lib.sh

insmod /modules/ktapvm.ko
ls -l /dev/ktapvm
ls -l /dev/ktapvm | grep -q '^crw-------' || fail "/dev/ktapvm is not mode 0600"
mem_snapshot

$C hostile $K/hostile.kpc || fail "hostile checks"

# A session held by a process; the module is pinned while it lives.
$C run --hold $K/hold.kpc >/tmp/hold.out 2>/tmp/hold.err &
holder=$!
i=0
until grep -q started /tmp/hold.err; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "the held session never started"
	sleep 0.1
done
sleep 1
n=$(ktapvm_vmalloc)
echo "held session: $n vmalloc areas; $(grep ktapvm /proc/modules)"
[ "$n" -gt 0 ] || fail "no vmalloc area while a session is held"
if rmmod ktapvm 2>/tmp/rmmod.err; then
	fail "rmmod succeeded with a session open"
fi
cat /tmp/rmmod.err

# SIGKILL: closing the fd stops and frees the session.
kill -9 $holder
wait $holder || true
mem_check "after kill -9"

# The module still works, and is clean afterwards.
run hello $K/hello.kpc world 41
expect_status 0
printf 'hello\tworld\t42\nend\n' | cmp - /tmp/hello.out || fail "hello output"

# Two sessions at once, each with its own probes and output.
$C run $K/sched.kpc >/tmp/two1.out 2>&1 &
p1=$!
$C run $K/timers.kpc >/tmp/two2.out 2>&1 &
p2=$!
s1=0
s2=0
wait $p1 || s1=$?
wait $p2 || s2=$?
cat /tmp/two1.out /tmp/two2.out
[ $s1 = 0 ] && grep -q '^switches 200 good true bad 0$' /tmp/two1.out || fail "first of two sessions"
[ $s2 = 5 ] && grep -q '^ticks 20 profile true bad 0$' /tmp/two2.out || fail "second of two sessions"

mem_check "after all sessions"
rmmod ktapvm
[ ! -e /dev/ktapvm ] || fail "/dev/ktapvm left after rmmod"

# Lockdown can only be raised: this comes last. An unsigned module cannot
# be loaded once it is (integrity), so it is loaded before.
insmod /modules/ktapvm.ko
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true
echo confidentiality >/sys/kernel/security/lockdown
cat /sys/kernel/security/lockdown
$C lockdown $K/hostile.kpc || fail "lockdown checks"
rmmod ktapvm
echo "kmod-abi: ok"
