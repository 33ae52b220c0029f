// SPDX-License-Identifier: GPL-2.0
/*
 * kprobe and uprobe specs for ktapvm.ko: parsing probe:... items,
 * function symbol -> file offset (elfsym.h) for uprobes, -p and -C as
 * ATTACH flags. Linked into
 * ktapd and into tests/kmod's client, which drives the module directly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfsym.h"
#include "engine_kmod.h"

void kmod_attach_target(struct ktapvm_attach *a, int cpu, int pid)
{
	if (cpu >= 0) {
		a->flags |= KTAPVM_ATTACH_CPU;
		a->cpu = cpu;
	}
	if (pid > 0) {
		a->flags |= KTAPVM_ATTACH_PID;
		a->pid = pid;
	}
}

int kmod_probe_parse(char *text, struct kmod_probe_spec *p, char *err,
		     size_t errlen)
{
	char *ret = strstr(text, "%return"), *colon, *plus;

	*p = (struct kmod_probe_spec){ .ret = ret != NULL };
	if (ret)
		*ret = '\0';
	if (text[0] != '/') {
		plus = strchr(text, '+');
		if (plus) {
			*plus = '\0';
			p->offset = strtoull(plus + 1, NULL, 0);
		}
		p->symbol = text;
		return 0;
	}
	colon = strrchr(text, ':');
	if (!colon || !colon[1]) {
		snprintf(err, errlen, "probe:%s: expected PATH:SYMBOL", text);
		return -EINVAL;
	}
	*colon = '\0';
	p->path = text;
	if (strncmp(colon + 1, "0x", 2) == 0)
		p->offset = strtoull(colon + 1, NULL, 16);
	else
		p->symbol = colon + 1;
	return 0;
}

int kmod_elf_offset(const char *path, const char *sym, uint64_t *off,
		    char *err, size_t errlen)
{
	const struct elfsym_sym *syms, *s;
	struct elfsym *e;
	int r;

	r = elfsym_open(path, &e, err, errlen);
	if (r < 0)
		return r == -ENOMEM ? r : -ENOENT;
	s = elfsym_find(e, sym);
	if (!elfsym_symbols(e, &syms)) {
		snprintf(err, errlen, "%s has no symbols (stripped)", path);
		r = -ENOENT;
	} else if (!s) {
		snprintf(err, errlen, "no function '%s' in %s", sym, path);
		r = -ENOENT;
	} else if (elfsym_addr_to_offset(e, s->addr, off) < 0) {
		snprintf(err, errlen, "%s is not in a loaded segment of %s",
			 sym, path);
		r = -ENOENT;
	}
	elfsym_close(e);
	return r;
}
