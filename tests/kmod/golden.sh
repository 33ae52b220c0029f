# SPDX-License-Identifier: GPL-2.0
# The language's golden cases (tests/lang, those the self-test runs) through
# /dev/ktapvm: LOAD, START, STOP, read() and STATS give ktaprun's output
# and exit status. err_oom* need a budget above the default limit.
. /tests/lib.sh

insmod /modules/ktapvm.ko max_insn_budget=100000000
mem_snapshot
$C golden /golden
mem_check "after the golden cases"
rmmod ktapvm
