# SPDX-License-Identifier: GPL-2.0
# Init fragment for run-qemu.py: load ktapvm.ko with its self-test, then
# unload it (proving the module leaves cleanly).
insmod /modules/ktapvm.ko selftest=1
rmmod ktapvm
