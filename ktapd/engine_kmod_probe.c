// SPDX-License-Identifier: GPL-2.0
/*
 * kprobe and uprobe specs for ktapvm.ko: parsing probe:... items,
 * function symbol -> file offset through libelf for uprobes, -p and -C as
 * ATTACH flags. Linked into
 * ktapd and into tests/kmod's client, which drives the module directly.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The address of function sym in e's .symtab or .dynsym, or 0. */
static GElf_Addr elf_symbol(Elf *e, const char *sym)
{
	Elf_Scn *scn = NULL;
	Elf_Data *data;
	GElf_Shdr sh;
	GElf_Sym s;
	size_t i;

	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			const char *nm;

			if (!gelf_getsym(data, (int)i, &s) ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value)
				continue;
			nm = elf_strptr(e, sh.sh_link, s.st_name);
			if (nm && strcmp(nm, sym) == 0)
				return s.st_value;
		}
	}
	return 0;
}

int kmod_elf_offset(int fd, const char *sym, uint64_t *off)
{
	GElf_Addr addr;
	GElf_Phdr ph;
	size_t i, n;
	Elf *e;
	int r = -ENOENT;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return -EINVAL;
	if (elf_kind(e) != ELF_K_ELF) {
		elf_end(e);
		return -EINVAL;
	}
	addr = elf_symbol(e, sym);
	if (addr && elf_getphdrnum(e, &n) == 0) {
		for (i = 0; i < n; i++) {
			if (!gelf_getphdr(e, (int)i, &ph) ||
			    ph.p_type != PT_LOAD || addr < ph.p_vaddr ||
			    addr >= ph.p_vaddr + ph.p_filesz)
				continue;
			*off = addr - ph.p_vaddr + ph.p_offset;
			r = 0;
			break;
		}
	}
	elf_end(e);
	return r;
}
