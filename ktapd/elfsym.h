/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What ktap needs from an ELF file (an executable, a PIE, a shared
 * library): its function symbols, the file offsets uprobes are placed at,
 * address -> symbol lookups for stack traces, and its SystemTap SDT notes
 * (.note.stapsdt). Read once with libelf; the file is closed afterwards.
 *
 * Addresses are the file's own virtual addresses (st_value, p_vaddr), as
 * linked. A process maps a PIE or a shared object at a load bias: a
 * runtime address becomes a file address through /proc/PID/maps (runtime -
 * mapping start + mapping file offset = file offset, then
 * elfsym_offset_to_addr()).
 */
#ifndef KTAPD_ELFSYM_H
#define KTAPD_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elfsym;

/* A function symbol (STT_FUNC or STT_GNU_IFUNC, defined). */
struct elfsym_sym {
	const char *
	    name; /* without its version: "malloc", not "malloc@@GLIBC_2.2.5" */
	uint64_t addr; /* virtual address */
	uint64_t size; /* bytes; 0 when the symbol does not say */
};

/* A SystemTap SDT marker (sys/sdt.h's STAP_PROBE*, DTRACE_PROBE*). */
struct elfsym_note {
	const char *provider;
	const char *name;
	/*
	 * The operands, space-separated, as the assembler wrote them:
	 * "-4@%edi 8@-16(%rbp) 4@$5"; "" without arguments.
	 */
	const char *args;
	uint64_t pc;	    /* virtual address of the marker's nop */
	uint64_t semaphore; /* virtual address of its semaphore; 0: none */
};

/*
 * Read path's symbols and SDT notes. Fails (negative errno, a one-line
 * message naming path in err) when the file cannot be opened (-errno) or
 * is not an ELF file (-ENOEXEC). A stripped file opens fine, with no
 * symbols (elfsym_symbols() returns 0).
 */
int elfsym_open(const char *path, struct elfsym **out, char *err,
		size_t errlen);
void elfsym_close(struct elfsym *e); /* NULL is fine */

const char *elfsym_path(const struct elfsym *e);

/* ET_DYN (PIE, shared object): mapped at a load bias in each process. */
bool elfsym_is_dyn(const struct elfsym *e);

/*
 * The function symbols of .symtab and .dynsym, once each (same name and
 * address), sorted by address; aliases (several names at one address)
 * are all there, the preferred one first (global, then weak, then local,
 * then compatibility versions such as cfree@GLIBC_2.2.5; then fewer leading
 * underscores: malloc, not __libc_malloc; then by name). Returns their number.
 */
size_t elfsym_symbols(const struct elfsym *e, const struct elfsym_sym **syms);

/* The symbol named name (a global one rather than a local one), or NULL. */
const struct elfsym_sym *elfsym_find(const struct elfsym *e, const char *name);

/*
 * The address of the data symbol (STT_OBJECT) name: SDT operands may
 * name globals ("4@counter(%rip)"). -ENOENT when there is none.
 */
int elfsym_find_object(const struct elfsym *e, const char *name,
		       uint64_t *addr);

/*
 * The symbol containing addr (within its size; a symbol without a size
 * reaches up to the next one), its preferred name, and addr's offset in it;
 * NULL when addr is in no symbol. O(log n).
 */
const struct elfsym_sym *elfsym_lookup(const struct elfsym *e, uint64_t addr,
				       uint64_t *offset);

/*
 * Virtual address <-> file offset, through the PT_LOAD program headers
 * (a uprobe, or a semaphore's ref_ctr_offset, is placed by file offset).
 * -ENOENT when no loaded segment holds it in the file.
 */
int elfsym_addr_to_offset(const struct elfsym *e, uint64_t addr,
			  uint64_t *offset);
int elfsym_offset_to_addr(const struct elfsym *e, uint64_t offset,
			  uint64_t *addr);

/*
 * The SDT notes, in file order, pc and semaphore adjusted for prelinking
 * (.stapsdt.base moved since the notes were written). Returns their number.
 */
size_t elfsym_notes(const struct elfsym *e, const struct elfsym_note **notes);

#endif /* KTAPD_ELFSYM_H */
