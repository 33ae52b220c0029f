// SPDX-License-Identifier: GPL-2.0
/*
 * ktapvm.ko: ktap's portable VM (kmod/vm/) running inside the kernel. For now
 * the module carries only the built-in self-test; the device interface
 * (/dev/ktapvm) and the probes come on top of this.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "selftest.h"

static bool selftest;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest,
		 "run the embedded golden programs in the VM at load time");

static int __init ktapvm_init(void)
{
	/* A failed self-test is reported, not fatal: the log says which. */
	if (selftest)
		ktapvm_selftest();
	return 0;
}

static void __exit ktapvm_exit(void)
{
}

module_init(ktapvm_init);
module_exit(ktapvm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ktap scripting tracer: in-kernel virtual machine");
