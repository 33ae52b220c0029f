// SPDX-License-Identifier: GPL-2.0
/*
 * ELF function symbols, file offsets and SDT notes (elfsym.h), read with
 * libelf into plain arrays: the names live in one string pool, so the file
 * is closed once read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfsym.h"
#include "macro.h"

#define SDT_NOTE_NAME "stapsdt"
#define SDT_NOTE_TYPE 3
/* .gnu.version: the symbol is not the default version of its name */
#define VERSYM_HIDDEN 0x8000
#define SDT_BASE_SECTION ".stapsdt.base"
#define SDT_NOTE_SECTION ".note.stapsdt"

/* Symbol preference among aliases: lower first. */
enum { RANK_GLOBAL, RANK_WEAK, RANK_LOCAL, RANK_COMPAT };

struct segment {
	uint64_t vaddr, offset, filesz;
};

/* While reading, names are pool offsets; pointers once the pool is final. */
struct sym_rec {
	struct elfsym_sym sym;
	size_t name_off;
	int rank;
};

struct object {
	size_t name_off;
	uint64_t addr;
};

struct note_rec {
	struct elfsym_note note;
	size_t provider_off, name_off, args_off;
};

struct elfsym {
	char *path;
	bool dyn;
	struct segment *segs;
	size_t nsegs;
	struct elfsym_sym *syms;
	unsigned char *ranks; /* per symbol */
	size_t nsyms;
	struct elfsym_note *notes;
	size_t nnotes;
	struct object *objs; /* data symbols */
	size_t nobjs;
	char *pool;
	size_t pool_len, pool_cap;
	/* reading only */
	struct sym_rec *recs;
	struct note_rec *nrecs;
};

static int pool_add(struct elfsym *e, const char *s, size_t len, size_t *off)
{
	char *n;

	if (e->pool_len + len + 1 > e->pool_cap) {
		size_t cap = e->pool_cap ? e->pool_cap * 2 : 4096;

		while (cap < e->pool_len + len + 1)
			cap *= 2;
		n = realloc(e->pool, cap);
		if (!n)
			return -ENOMEM;
		e->pool = n;
		e->pool_cap = cap;
	}
	memcpy(e->pool + e->pool_len, s, len);
	e->pool[e->pool_len + len] = '\0';
	*off = e->pool_len;
	e->pool_len += len + 1;
	return 0;
}

static int read_segments(struct elfsym *e, Elf *elf)
{
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n) < 0)
		return 0;
	e->segs = calloc(n ? n : 1, sizeof(*e->segs));
	if (!e->segs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		e->segs[e->nsegs++] =
		    (struct segment){ph.p_vaddr, ph.p_offset, ph.p_filesz};
	}
	return 0;
}

static int sym_rank(unsigned char bind)
{
	return bind == STB_GLOBAL ? RANK_GLOBAL
	       : bind == STB_WEAK ? RANK_WEAK
				  : RANK_LOCAL;
}

/* .gnu.version of .dynsym, or NULL. */
static Elf_Data *find_versym(Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
			return elf_getdata(scn, NULL);
	return NULL;
}

/*
 * A symbol kept for old binaries only (cfree@GLIBC_2.2.5 beside free):
 * a hidden version in .gnu.version, or one '@' in a .symtab name.
 */
static bool is_compat(Elf_Data *versym, size_t i, const char *name)
{
	const char *at = strchr(name, '@');
	GElf_Versym v;

	if (at)
		return at[1] != '@';
	return versym && gelf_getversym(versym, (int)i, &v) &&
	       (v & VERSYM_HIDDEN);
}

/* A data symbol, for SDT operands naming globals (counter(%rip)). */
static int add_object(struct elfsym *e, const char *name, uint64_t addr)
{
	struct object *n;

	if (e->nobjs % 256 == 0) {
		n = realloc(e->objs, (e->nobjs + 256) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		e->objs = n;
	}
	e->objs[e->nobjs].addr = addr;
	return pool_add(e, name, strcspn(name, "@"),
			&e->objs[e->nobjs++].name_off);
}

/* The function symbols (and the data ones) of one symbol table section. */
static int read_symtab(struct elfsym *e, Elf *elf, Elf_Scn *scn,
		       const GElf_Shdr *sh, size_t *cap)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	Elf_Data *versym = sh->sh_type == SHT_DYNSYM ? find_versym(elf) : NULL;
	size_t i, n;
	GElf_Sym s;
	int r;

	if (!data || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		unsigned char type;
		const char *name;
		struct sym_rec *rec;

		if (!gelf_getsym(data, (int)i, &s))
			break;
		type = GELF_ST_TYPE(s.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC &&
		     type != STT_OBJECT) ||
		    s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !name[0])
			continue;
		if (type == STT_OBJECT) {
			r = add_object(e, name, s.st_value);
			if (r < 0)
				return r;
			continue;
		}
		if (e->nsyms == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			rec = realloc(e->recs, *cap * sizeof(*rec));
			if (!rec)
				return -ENOMEM;
			e->recs = rec;
		}
		rec = &e->recs[e->nsyms];
		/* .symtab may say malloc@@GLIBC_2.2.5; .dynsym has versions
		 * apart. Scripts name the function. */
		r = pool_add(e, name, strcspn(name, "@"), &rec->name_off);
		if (r < 0)
			return r;
		rec->sym.addr = s.st_value;
		rec->sym.size = s.st_size;
		rec->rank = is_compat(versym, i, name)
				? RANK_COMPAT
				: sym_rank(GELF_ST_BIND(s.st_info));
		e->nsyms++;
	}
	return 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_rec(const void *a, const void *b, void *pool)
{
	const struct sym_rec *x = a, *y = b;
	const char *xn = (char *)pool + x->name_off;
	const char *yn = (char *)pool + y->name_off;
	int c = cmp_u64(x->sym.addr, y->sym.addr);
	size_t xu, yu;

	if (c)
		return c;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	/* malloc rather than __libc_malloc, printf rather than _IO_printf */
	xu = strspn(xn, "_");
	yu = strspn(yn, "_");
	if (xu != yu)
		return xu < yu ? -1 : 1;
	return strcmp(xn, yn);
}

/* Sorted, each (address, name) once, names as pointers into the pool. */
static int finish_symbols(struct elfsym *e)
{
	size_t i, n = 0;

	if (!e->nsyms)
		return 0;
	qsort_r(e->recs, e->nsyms, sizeof(*e->recs), cmp_rec, e->pool);
	e->syms = calloc(e->nsyms, sizeof(*e->syms));
	e->ranks = calloc(e->nsyms, sizeof(*e->ranks));
	if (!e->syms || !e->ranks)
		return -ENOMEM;
	for (i = 0; i < e->nsyms; i++) {
		struct sym_rec *r = &e->recs[i];
		const char *name = e->pool + r->name_off;
		size_t j;
		bool dup = false;

		/* .symtab and .dynsym both list exported functions, maybe
		 * with different bindings: any earlier entry at this address
		 * with this name is the same symbol. */
		for (j = n; j-- > 0 && e->syms[j].addr == r->sym.addr;)
			if (!strcmp(e->syms[j].name, name)) {
				dup = true;
				break;
			}
		if (dup)
			continue;
		e->syms[n] = r->sym;
		e->syms[n].name = name;
		e->ranks[n++] = (unsigned char)r->rank;
	}
	e->nsyms = n;
	return 0;
}

static uint64_t read_addr(const unsigned char *p, size_t size)
{
	uint32_t v32;
	uint64_t v64;

	if (size == 4) {
		memcpy(&v32, p, 4);
		return v32;
	}
	memcpy(&v64, p, 8);
	return v64;
}

/* One stapsdt note: pc, base, semaphore, then provider, name, args. */
static int read_note(struct elfsym *e, const unsigned char *desc, size_t len,
		     size_t asize, uint64_t base_addr, bool have_base,
		     size_t *cap)
{
	const char *s = (const char *)desc + 3 * asize, *end;
	const char *str[3];
	size_t off[3];
	struct note_rec *rec;
	uint64_t pc, base, sem;
	int i, r;

	if (len < 3 * asize)
		return 0;
	end = (const char *)desc + len;
	for (i = 0; i < 3; i++) {
		const char *nul = memchr(s, '\0', (size_t)(end - s));

		if (!nul)
			return 0; /* malformed: skipped */
		str[i] = s;
		s = nul + 1;
	}
	pc = read_addr(desc, asize);
	base = read_addr(desc + asize, asize);
	sem = read_addr(desc + 2 * asize, asize);
	/* Prelinked since the note was written: everything moved by the
	 * same amount as .stapsdt.base (the SystemTap SDT spec). */
	if (have_base && base) {
		pc += base_addr - base;
		if (sem)
			sem += base_addr - base;
	}
	for (i = 0; i < 3; i++) {
		r = pool_add(e, str[i], strlen(str[i]), &off[i]);
		if (r < 0)
			return r;
	}
	if (e->nnotes == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		rec = realloc(e->nrecs, *cap * sizeof(*rec));
		if (!rec)
			return -ENOMEM;
		e->nrecs = rec;
	}
	rec = &e->nrecs[e->nnotes++];
	rec->note = (struct elfsym_note){.pc = pc, .semaphore = sem};
	rec->provider_off = off[0];
	rec->name_off = off[1];
	rec->args_off = off[2];
	return 0;
}

static int read_notes(struct elfsym *e, Elf *elf, Elf_Scn *scn,
		      uint64_t base_addr, bool have_base, size_t *cap)
{
	size_t asize = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;
	int r;

	while (data && (next = gelf_getnote(data, off, &nh, &name_off,
					    &desc_off)) > 0) {
		off = next;
		if (nh.n_type != SDT_NOTE_TYPE ||
		    nh.n_namesz != sizeof(SDT_NOTE_NAME) ||
		    memcmp((char *)data->d_buf + name_off, SDT_NOTE_NAME,
			   sizeof(SDT_NOTE_NAME)))
			continue;
		r = read_note(e, (unsigned char *)data->d_buf + desc_off,
			      nh.n_descsz, asize, base_addr, have_base, cap);
		if (r < 0)
			return r;
	}
	return 0;
}

static int finish_notes(struct elfsym *e)
{
	size_t i;

	if (!e->nnotes)
		return 0;
	e->notes = calloc(e->nnotes, sizeof(*e->notes));
	if (!e->notes)
		return -ENOMEM;
	for (i = 0; i < e->nnotes; i++) {
		e->notes[i] = e->nrecs[i].note;
		e->notes[i].provider = e->pool + e->nrecs[i].provider_off;
		e->notes[i].name = e->pool + e->nrecs[i].name_off;
		e->notes[i].args = e->pool + e->nrecs[i].args_off;
	}
	return 0;
}

static int read_sections(struct elfsym *e, Elf *elf)
{
	size_t shstrndx, sym_cap = 0, note_cap = 0;
	Elf_Scn *scn = NULL, *notes = NULL;
	uint64_t base_addr = 0;
	bool have_base = false;
	GElf_Shdr sh;
	int r;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return 0; /* no section headers: nothing to read */
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) {
			r = read_symtab(e, elf, scn, &sh, &sym_cap);
			if (r < 0)
				return r;
			continue;
		}
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (sh.sh_type == SHT_NOTE && !strcmp(name, SDT_NOTE_SECTION)) {
			notes = scn;
		} else if (!strcmp(name, SDT_BASE_SECTION)) {
			base_addr = sh.sh_addr;
			have_base = true;
		}
	}
	/* The pool moves while it grows: pointers are made at the end. */
	if (notes) {
		r = read_notes(e, elf, notes, base_addr, have_base, &note_cap);
		if (r < 0)
			return r;
	}
	r = finish_symbols(e);
	if (r < 0)
		return r;
	return finish_notes(e);
}

int elfsym_open(const char *path, struct elfsym **out, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	struct elfsym *e;
	GElf_Ehdr eh;
	Elf *elf;
	int r;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "%s: libelf is unusable", path);
		return -EIO;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		if (elf)
			elf_end(elf);
		snprintf(err, errlen, "%s: not an ELF file", path);
		return -ENOEXEC;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		elf_end(elf);
		return -ENOMEM;
	}
	e->dyn = eh.e_type == ET_DYN;
	r = read_segments(e, elf);
	if (r >= 0)
		r = read_sections(e, elf);
	elf_end(elf);
	free(TAKE_PTR(e->recs));
	free(TAKE_PTR(e->nrecs));
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		elfsym_close(e);
		return r;
	}
	*out = e;
	return 0;
}

void elfsym_close(struct elfsym *e)
{
	if (!e)
		return;
	free(e->path);
	free(e->segs);
	free(e->syms);
	free(e->ranks);
	free(e->notes);
	free(e->objs);
	free(e->pool);
	free(e->recs);
	free(e->nrecs);
	free(e);
}

const char *elfsym_path(const struct elfsym *e)
{
	return e->path;
}

bool elfsym_is_dyn(const struct elfsym *e)
{
	return e->dyn;
}

size_t elfsym_symbols(const struct elfsym *e, const struct elfsym_sym **syms)
{
	*syms = e->syms;
	return e->nsyms;
}

const struct elfsym_sym *elfsym_find(const struct elfsym *e, const char *name)
{
	size_t i, best = SIZE_MAX;

	/* A static function may share its name with a global one. */
	for (i = 0; i < e->nsyms; i++)
		if (!strcmp(e->syms[i].name, name) &&
		    (best == SIZE_MAX || e->ranks[i] < e->ranks[best]))
			best = i;
	return best == SIZE_MAX ? NULL : &e->syms[best];
}

const struct elfsym_sym *elfsym_lookup(const struct elfsym *e, uint64_t addr,
				       uint64_t *offset)
{
	size_t lo = 0, hi = e->nsyms, mid;
	const struct elfsym_sym *s;

	/* The last symbol starting at or below addr... */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (e->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &e->syms[lo - 1];
	/* ...and the preferred name at its address. */
	while (s > e->syms && s[-1].addr == s->addr)
		s--;
	if (s->size && addr - s->addr >= s->size)
		return NULL;
	if (offset)
		*offset = addr - s->addr;
	return s;
}

int elfsym_addr_to_offset(const struct elfsym *e, uint64_t addr,
			  uint64_t *offset)
{
	size_t i;

	for (i = 0; i < e->nsegs; i++) {
		const struct segment *s = &e->segs[i];

		if (addr >= s->vaddr && addr - s->vaddr < s->filesz) {
			*offset = addr - s->vaddr + s->offset;
			return 0;
		}
	}
	return -ENOENT;
}

int elfsym_offset_to_addr(const struct elfsym *e, uint64_t offset,
			  uint64_t *addr)
{
	size_t i;

	for (i = 0; i < e->nsegs; i++) {
		const struct segment *s = &e->segs[i];

		if (offset >= s->offset && offset - s->offset < s->filesz) {
			*addr = offset - s->offset + s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

size_t elfsym_notes(const struct elfsym *e, const struct elfsym_note **notes)
{
	*notes = e->notes;
	return e->nnotes;
}

int elfsym_find_object(const struct elfsym *e, const char *name, uint64_t *addr)
{
	size_t i;

	for (i = 0; i < e->nobjs; i++)
		if (!strcmp(e->pool + e->objs[i].name_off, name)) {
			*addr = e->objs[i].addr;
			return 0;
		}
	return -ENOENT;
}
