/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Code addresses to names, for stack() and ustack(): kernel addresses
 * through /proc/kallsyms (read once, on first use, shared by every
 * session), user addresses through the mappings of the process they belong
 * to (/proc/PID/maps, kept per pid) and the function symbols of the mapped
 * ELF files (elfsym.h, each file read once). A name is written
 * "function+0xoffset"; an address nothing names is written "0x<hex>",
 * never dropped.
 */
#ifndef KTAPD_SYMBOLIZE_H
#define KTAPD_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a session knows about the processes whose addresses it names. */
struct sym_procs;

struct sym_procs *sym_procs_new(void);
void sym_procs_free(struct sym_procs *p); /* NULL is fine */

/*
 * Write the name of addr to buf (NUL-terminated, cut to size) and return
 * its length. ret: addr is a return address, so the call it returns from
 * is at addr - 1 (the function looked up is the caller's even when the
 * call was its last instruction); the offset written is addr's own.
 */
size_t sym_kernel(uint64_t addr, bool ret, char *buf, size_t size);
size_t sym_user(struct sym_procs *p, int32_t pid, uint64_t addr, bool ret,
		char *buf, size_t size);

/*
 * What the kernel says about the processes, in event order (perf's
 * task and mmap records), so that a process that exits before its maps
 * are read still has names: pid executed a new program (its mappings are
 * to come), mapped a file, was forked from ppid (it maps what ppid does).
 */
struct sym_mapping {
	uint64_t start, len, pgoff;
	dev_t dev;
	ino_t ino;
	const char *path; /* only paths ("/...") are kept */
};

void sym_exec(struct sym_procs *p, int32_t pid);
void sym_mmap(struct sym_procs *p, int32_t pid, const struct sym_mapping *m);
void sym_fork(struct sym_procs *p, int32_t pid, int32_t ppid);

#endif /* KTAPD_SYMBOLIZE_H */
