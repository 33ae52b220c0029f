/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kmod engine (engine_kmod.c): sessions of ktapvm.ko driven through
 * /dev/ktapvm (proto/ktapvm_abi.h, doc/ktapvm.md). Also what its probe
 * specs need from user space, shared with the qemu tests' client
 * (tests/kmod/ktapvm-client.c): engine_kmod_probe.c.
 */
#ifndef KTAPD_ENGINE_KMOD_H
#define KTAPD_ENGINE_KMOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ktapvm_abi.h"

/*
 * Whether /dev/ktapvm answers with this ABI: 0 (buf untouched), or a
 * negative errno with why in buf ("/dev/ktapvm: Permission denied",
 * "module ABI 2, ktapd ABI 1").
 */
int kmod_device_check(char *buf, size_t size);

/* -C (cpu >= 0) and -p (pid > 0) as ATTACH flags. */
void kmod_attach_target(struct ktapvm_attach *a, int cpu, int pid);

/* A probe:... item: kprobe (path NULL) or uprobe, maybe %return. */
struct kmod_probe_spec {
	bool ret;
	const char *path; /* uprobe: the ELF file */
	const char *symbol; /* NULL: a uprobe at a file offset */
	uint64_t offset; /* kprobe: +OFF; uprobe: the 0xOFF given */
};

/*
 * Parse the text after "probe:" (SYM[+OFF][%return] or
 * /PATH:(SYM|0xOFF)[%return]), cutting it in place. 0 or -EINVAL with err.
 */
int kmod_probe_parse(char *text, struct kmod_probe_spec *p, char *err,
		     size_t errlen);

/*
 * The file offset of function sym in the ELF file path (its symbol
 * tables and program headers, through elfsym.h): what a uprobe is
 * attached at. 0, or -ENOENT with a message naming what is missing
 * (the file, its symbols, the function) in err; -ENOMEM.
 */
int kmod_elf_offset(const char *path, const char *sym, uint64_t *off,
		    char *err, size_t errlen);

#endif /* KTAPD_ENGINE_KMOD_H */
