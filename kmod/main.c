// SPDX-License-Identifier: GPL-2.0
/*
 * ktapvm.ko: ktap's portable VM (kmod/vm/) running inside the kernel, fed
 * by kernel probes. This file holds the module's entry points and
 * /dev/ktapvm, whose ioctls report the module's features and create
 * sessions (session.c); the ABI is proto/ktapvm_abi.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/security.h>
#include <linux/uaccess.h>

#include "chunk.h"
#include "ktapvm.h"
#include "selftest.h"

static bool selftest;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest,
		 "run the embedded golden programs in the VM at load time");

/*
 * Until the VM can be stopped by time (doc/ktapvm.md), its instruction
 * budget is what bounds a handler running with interrupts off.
 */
unsigned int ktapvm_max_insn_budget = KP_DEFAULT_INSN_BUDGET;
module_param_named(max_insn_budget, ktapvm_max_insn_budget, uint, 0444);
MODULE_PARM_DESC(max_insn_budget,
		 "largest instruction budget a session may ask for");

int ktapvm_copy_in(void *dst, size_t ksize, size_t min_size,
		   const void __user *src)
{
	u32 usize;
	int r;

	if (get_user(usize, (const u32 __user *)src))
		return -EFAULT;
	if (usize < min_size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	r = copy_struct_from_user(dst, ksize, src, usize);
	if (r)
		return r;
	/* Changed between the two reads: not worth guessing which to use. */
	if (*(u32 *)dst != usize)
		return -EINVAL;
	return usize;
}

int ktapvm_copy_out(void __user *dst, const void *src, size_t ksize,
		    size_t usize)
{
	return copy_to_user(dst, src, min(ksize, usize)) ? -EFAULT : 0;
}

static u64 features(void)
{
	u64 f = 1ull << KTAPVM_EV_TRACEPOINT | 1ull << KTAPVM_EV_UPROBE |
		1ull << KTAPVM_EV_URETPROBE | 1ull << KTAPVM_EV_TICK |
		1ull << KTAPVM_EV_PROFILE | 1ull << KTAPVM_EV_SYS_ENTER |
		1ull << KTAPVM_EV_SYS_EXIT | KTAPVM_FEAT_STACK |
		KTAPVM_FEAT_USTACK | KTAPVM_FEAT_SNAPSHOT |
		KTAPVM_FEAT_CHILDREN | KTAPVM_FEAT_STRINGS |
		KTAPVM_FEAT_ARGPROG;

	if (!security_locked_down(LOCKDOWN_KPROBES))
		f |= 1ull << KTAPVM_EV_KPROBE | 1ull << KTAPVM_EV_KRETPROBE;
	if (!security_locked_down(LOCKDOWN_BPF_READ_KERNEL))
		f |= KTAPVM_FEAT_KERNEL_READ;
	return f;
}

/**
 * ktapvm_version() - KTAPVM_IOC_VERSION: ABI version, features and limits.
 * @u: struct ktapvm_version in user memory (only its size is read)
 *
 * Context: process context.
 * Return: 0, or -EINVAL/-E2BIG/-EFAULT for a bad struct.
 */
static int ktapvm_version(struct ktapvm_version __user *u)
{
	struct ktapvm_version v;
	int usize;

	usize = ktapvm_copy_in(&v, sizeof(v), KTAPVM_VERSION_SIZE_VER0, u);
	if (usize < 0)
		return usize;
	v = (struct ktapvm_version){
		.size = usize,
		.abi_version = KTAPVM_ABI_VERSION,
		.features = features(),
		.nr_cpus = nr_cpu_ids,
		.max_attach = KTAPVM_MAX_ATTACH,
		.min_arena = KTAPVM_MIN_ARENA,
		.max_arena = KTAPVM_MAX_ARENA,
		.min_ring = KTAPVM_MIN_RING,
		.max_ring = KTAPVM_MAX_RING,
		.default_ring = KTAPVM_DEFAULT_RING,
		.max_time_budget_ns = KTAPVM_MAX_TIME_BUDGET_NS,
		.default_time_budget_ns = KTAPVM_DEFAULT_TIME_BUDGET_NS,
		.max_insn_budget = ktapvm_max_insn_budget,
		.max_call_depth = KTAPVM_MAX_CALL_DEPTH,
		.min_period_ns = KTAPVM_MIN_PERIOD_NS,
		.max_chunk = KP_MAX_CHUNK,
		.max_args = KTAPVM_MAX_ARGS,
		.max_record = KTAPVM_MAX_RECORD,
		.max_fields = KTAPVM_MAX_FIELDS,
	};
	return ktapvm_copy_out(u, &v, sizeof(v), usize);
}

/**
 * ktapvm_create() - KTAPVM_IOC_CREATE: a new session.
 * @u: struct ktapvm_create in user memory
 *
 * Context: process context.
 * Return: the session fd, or -EINVAL (a bad struct, a size out of the
 * limits), -E2BIG, -EFAULT, -ENOMEM, -EMFILE.
 */
static int ktapvm_create(struct ktapvm_create __user *u)
{
	struct ktapvm_create c;
	int r;

	r = ktapvm_copy_in(&c, sizeof(c), KTAPVM_CREATE_SIZE_VER0, u);
	if (r < 0)
		return r;
	return ktapvm_session_create(&c);
}

static long ktapvm_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	void __user *u = (void __user *)arg;

	switch (KTAPVM_CMD(cmd)) {
	case KTAPVM_CMD(KTAPVM_IOC_VERSION):
		return ktapvm_version(u);
	case KTAPVM_CMD(KTAPVM_IOC_CREATE):
		return ktapvm_create(u);
	default:
		return -ENOTTY;
	}
}

/* Sessions read kernel memory and run code in any context: root only. */
static int ktapvm_open(struct inode *inode, struct file *file)
{
	return capable(CAP_SYS_ADMIN) ? 0 : -EPERM;
}

static const struct file_operations ktapvm_fops = {
	.owner = THIS_MODULE,
	.open = ktapvm_open,
	.unlocked_ioctl = ktapvm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice ktapvm_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ktapvm",
	.fops = &ktapvm_fops,
	.mode = 0600,
};

static int __init ktapvm_init(void)
{
	/* A failed self-test is reported, not fatal: the log says which. */
	if (selftest)
		ktapvm_selftest();
	return misc_register(&ktapvm_dev);
}

static void __exit ktapvm_exit(void)
{
	misc_deregister(&ktapvm_dev);
}

module_init(ktapvm_init);
module_exit(ktapvm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ktap scripting tracer: in-kernel virtual machine");
