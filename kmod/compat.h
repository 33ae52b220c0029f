/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the releases ktapvm.ko builds for (6.1
 * LTS and newer), one small wrapper each, so that the rest of the module
 * is written against a single API (the way LTTng's wrapper/ headers do).
 */
#ifndef KTAPVM_COMPAT_H
#define KTAPVM_COMPAT_H

#include <linux/hrtimer.h>
#include <linux/uprobes.h>
#include <linux/version.h>

/* 6.13 added hrtimer_setup(); 6.15 removed hrtimer_init(). */
static inline void ktapvm_hrtimer_setup(struct hrtimer *t,
		enum hrtimer_restart (*fn)(struct hrtimer *), clockid_t clock,
		enum hrtimer_mode mode)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
	hrtimer_setup(t, fn, clock, mode);
#else
	hrtimer_init(t, clock, mode);
	t->function = fn;
#endif
}

/*
 * uprobes. Before 6.12 a consumer is registered by (inode, offset) and
 * uprobe_unregister() waits for running handlers. From 6.12 registering
 * returns the struct uprobe, and unregistering is split into _nosync (per
 * consumer) and one uprobe_unregister_sync() for a whole batch. From 6.13
 * the handlers take a data argument (for session uprobes; unused here), so
 * they are defined through these macros: their parameters are uc, func
 * (return probes) and regs.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define KTAPVM_UPROBE_HANDLER(name)					\
	int name(struct uprobe_consumer *uc, struct pt_regs *regs,	\
		 __u64 *data)
#define KTAPVM_URETPROBE_HANDLER(name)					\
	int name(struct uprobe_consumer *uc, unsigned long func,	\
		 struct pt_regs *regs, __u64 *data)
#else
#define KTAPVM_UPROBE_HANDLER(name)					\
	int name(struct uprobe_consumer *uc, struct pt_regs *regs)
#define KTAPVM_URETPROBE_HANDLER(name)					\
	int name(struct uprobe_consumer *uc, unsigned long func,	\
		 struct pt_regs *regs)
#endif

struct ktapvm_uprobe {
	struct uprobe_consumer uc;
	struct inode *inode;
	loff_t offset;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct uprobe *uprobe;
#endif
};

static inline int ktapvm_uprobe_register(struct ktapvm_uprobe *up,
					 loff_t ref_ctr_offset)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	up->uprobe = uprobe_register(up->inode, up->offset, ref_ctr_offset,
				     &up->uc);
	return PTR_ERR_OR_ZERO(up->uprobe);
#else
	return uprobe_register_refctr(up->inode, up->offset, ref_ctr_offset,
				      &up->uc);
#endif
}

/* Handlers may still run until ktapvm_uprobe_sync(). */
static inline void ktapvm_uprobe_unregister(struct ktapvm_uprobe *up)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	uprobe_unregister_nosync(up->uprobe, &up->uc);
#else
	uprobe_unregister(up->inode, up->offset, &up->uc);
#endif
}

static inline void ktapvm_uprobe_sync(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	uprobe_unregister_sync();
#endif
}

/*
 * Locals a probe path fills before reading (its struct ktapvm_event, a
 * pt_regs for perf_fetch_caller_regs): kernels built with
 * CONFIG_INIT_STACK_ALL_ZERO would clear some 360 bytes per event first.
 */
#if __has_attribute(__uninitialized__)
#define __ktapvm_noinit __attribute__((__uninitialized__))
#else
#define __ktapvm_noinit
#endif

#endif /* KTAPVM_COMPAT_H */
