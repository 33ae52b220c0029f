#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The time budget on the user engine (no qemu needed): a handler in a dead
# loop, with an instruction budget worth seconds, is stopped by time.
# usage: time-budget-user.sh KTAPD KTAPCTL
set -e
KTAPD=$1
KTAPCTL=$2
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
export KTAP_SOCKET=$dir/ktapd.sock

"$KTAPD" --engine user --socket "$KTAP_SOCKET" --time-budget 20000 \
	2>"$dir/ktapd.log" &
pid=$!
i=0
until "$KTAPCTL" status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$dir/ktapd.log"; exit 1; }
	sleep 0.1
done

set +e
"$KTAPCTL" run --insn-budget 4000000000 \
	-e 'tick-10ms { while (true) { } }' >"$dir/out" 2>&1
status=$?
set -e
cat "$dir/out"
[ $status = 3 ] || { echo "FAIL: status $status, expected 3"; exit 1; }
grep -qx 'error: -e:1: time budget exceeded (20000 us)' "$dir/out" ||
	{ echo "FAIL: no time budget error"; exit 1; }
echo "time budget (user engine): ok"
