// SPDX-License-Identifier: GPL-2.0
/*
 * Names for code addresses (symbolize.h): the kernel's from /proc/kallsyms,
 * a process's from its mappings and the ELF files they map.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "elfsym.h"
#include "log.h"
#include "macro.h"
#include "symbolize.h"

/* Farther than this past the nearest kernel symbol: not inside it. */
#define SYM_KERNEL_MAX_OFFSET (1u << 20)
/* Bounds of what a session keeps: past them it starts afresh. */
#define SYM_MAX_PROCS 4096
#define SYM_MAX_FILES 1024
#define SYM_BUCKETS 256
/* An address in no known mapping re-reads the maps, at most this often. */
#define SYM_RELOAD_NS 1000000000ull

static size_t write_name(char *buf, size_t size, const char *name,
			 uint64_t off)
{
	int n = snprintf(buf, size, "%s+0x%" PRIx64, name, off);

	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static size_t write_hex(char *buf, size_t size, uint64_t addr)
{
	int n = snprintf(buf, size, "0x%" PRIx64, addr);

	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* The kernel */

struct ksym {
	uint64_t addr;
	uint32_t name; /* offset in ksyms.names */
	uint32_t order; /* line in kallsyms: the first of an address wins */
};

static struct {
	bool loaded;
	struct ksym *syms;
	size_t n;
	char *names;
} ksyms;

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Text symbols only (t, T, w, W): a return address is never in data.
 * Addresses read 0 without CAP_SYSLOG: the table then stays empty and
 * every frame is hex.
 */
static void ksyms_load(void)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, ncap = 0, nlen = 0, len;
	struct ksym *s;
	uint64_t addr;
	char type, *name, *end, *p;

	ksyms.loaded = true;
	f = fopen("/proc/kallsyms", "re");
	if (!f) {
		log_debug_errno(-errno, "Failed to open /proc/kallsyms: %m");
		return;
	}
	while (getline(&line, &len, f) > 0) {
		addr = strtoull(line, &end, 16);
		if (!addr || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		name = end + 3;
		name[strcspn(name, " \t\n")] = '\0';
		len = strlen(name) + 1;
		if (ksyms.n == cap) {
			cap = cap ? cap * 2 : 65536;
			s = realloc(ksyms.syms, cap * sizeof(*s));
			if (!s)
				break;
			ksyms.syms = s;
		}
		if (nlen + len > ncap) {
			ncap = ncap ? ncap * 2 : 1u << 20;
			p = realloc(ksyms.names, ncap);
			if (!p)
				break;
			ksyms.names = p;
		}
		memcpy(ksyms.names + nlen, name, len);
		ksyms.syms[ksyms.n] = (struct ksym){ .addr = addr,
						     .name = (uint32_t)nlen,
						     .order = (uint32_t)ksyms.n };
		ksyms.n++;
		nlen += len;
	}
	qsort(ksyms.syms, ksyms.n, sizeof(*ksyms.syms), ksym_cmp);
	log_debug("Kernel symbols: %zu", ksyms.n);
}

size_t sym_kernel(uint64_t addr, bool ret, char *buf, size_t size)
{
	uint64_t key = ret ? addr - 1 : addr;
	size_t lo = 0, hi, mid;
	const struct ksym *s;

	if (!ksyms.loaded)
		ksyms_load();
	hi = ksyms.n;
	/* The last symbol at or below key; the first of its address. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ksyms.syms[mid].addr <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return write_hex(buf, size, addr);
	s = &ksyms.syms[lo - 1];
	while (s > ksyms.syms && s[-1].addr == s->addr)
		s--;
	if (key - s->addr >= SYM_KERNEL_MAX_OFFSET)
		return write_hex(buf, size, addr);
	return write_name(buf, size, ksyms.names + s->name, addr - s->addr);
}

/* Processes */

/*
 * An ELF file some process maps, read when a frame first falls in it;
 * elf is NULL until then, or if it is unreadable.
 */
struct sym_file {
	struct sym_file *next;
	dev_t dev;
	ino_t ino;
	char *path;
	bool read;
	struct elfsym *elf;
};

/* An executable file mapping of a process. */
struct sym_map {
	uint64_t start, end, pgoff;
	struct sym_file *file;
};

struct sym_proc {
	struct sym_proc *next;
	int32_t pid;
	uint64_t loaded_ns; /* when the maps were read; 0: never could */
	struct sym_map *maps; /* sorted by start */
	size_t nmaps;
};

struct sym_procs {
	struct sym_proc *procs[SYM_BUCKETS];
	struct sym_file *files[SYM_BUCKETS];
	size_t nprocs, nfiles;
};

struct sym_procs *sym_procs_new(void)
{
	return calloc(1, sizeof(struct sym_procs));
}

static void proc_free(struct sym_proc *pr)
{
	free(pr->maps);
	free(pr);
}

static void procs_clear(struct sym_procs *p)
{
	struct sym_proc *pr, *next;
	struct sym_file *f, *fn;
	size_t i;

	for (i = 0; i < SYM_BUCKETS; i++) {
		for (pr = p->procs[i]; pr; pr = next) {
			next = pr->next;
			proc_free(pr);
		}
		for (f = p->files[i]; f; f = fn) {
			fn = f->next;
			elfsym_close(f->elf);
			free(f->path);
			free(f);
		}
	}
	memset(p, 0, sizeof(*p));
}

void sym_procs_free(struct sym_procs *p)
{
	if (!p)
		return;
	procs_clear(p);
	free(p);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The file a mapping names, as the process sees it (through its root:
 * it may live in another mount namespace), else by the path itself; a
 * file that is not the one mapped (replaced since) is unreadable.
 */
static struct elfsym *file_open(int32_t pid, const char *path, dev_t dev,
				ino_t ino)
{
	char buf[4096], err[256];
	const char *try[2] = { buf, path };
	struct elfsym *elf;
	struct stat st;
	size_t i;

	snprintf(buf, sizeof(buf), "/proc/%d/root%s", pid, path);
	for (i = 0; i < ELEMENTSOF(try); i++) {
		if (stat(try[i], &st) < 0 || st.st_ino != ino ||
		    st.st_dev != dev)
			continue;
		if (elfsym_open(try[i], &elf, err, sizeof(err)) == 0)
			return elf;
		log_debug("Stack symbols: %s", err);
		return NULL;
	}
	return NULL;
}

static struct sym_file *file_get(struct sym_procs *p, const char *path,
				 dev_t dev, ino_t ino)
{
	size_t b = (size_t)(ino ^ dev) % SYM_BUCKETS;
	struct sym_file *f;

	for (f = p->files[b]; f; f = f->next)
		if (f->dev == dev && f->ino == ino)
			return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	f->dev = dev;
	f->ino = ino;
	f->next = p->files[b];
	p->files[b] = f;
	p->nfiles++;
	return f;
}

static struct elfsym *file_elf(struct sym_file *f, int32_t pid)
{
	if (!f->read) {
		f->read = true;
		f->elf = file_open(pid, f->path, f->dev, f->ino);
	}
	return f->elf;
}

/* "start-end perms offset major:minor inode path", executable ones. */
static int maps_read(struct sym_procs *p, struct sym_proc *pr)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	struct sym_map *maps = NULL, *nm;
	unsigned long long start, end, pgoff, ino;
	unsigned int major, minor;
	size_t n = 0, len = 0;
	char perms[8], path[64];
	int pos;

	snprintf(path, sizeof(path), "/proc/%d/maps", pr->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &len, f) > 0) {
		char *file, *nl;

		pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start,
			   &end, perms, &pgoff, &major, &minor, &ino,
			   &pos) < 7 ||
		    !pos || perms[2] != 'x' || !ino)
			continue;
		file = line + pos;
		if (file[0] != '/')
			continue;
		nl = strchr(file, '\n');
		if (nl)
			*nl = '\0';
		nm = realloc(maps, (n + 1) * sizeof(*maps));
		if (!nm) {
			free(maps);
			return -ENOMEM;
		}
		maps = nm;
		maps[n] = (struct sym_map){
			.start = start, .end = end, .pgoff = pgoff,
			.file = file_get(p, file, makedev(major, minor),
					 (ino_t)ino),
		};
		n++;
	}
	free(pr->maps);
	pr->maps = maps;
	pr->nmaps = n;
	return 0;
}

static struct sym_proc *proc_find(struct sym_procs *p, int32_t pid)
{
	struct sym_proc *pr;

	for (pr = p->procs[(uint32_t)pid % SYM_BUCKETS]; pr; pr = pr->next)
		if (pr->pid == pid)
			return pr;
	return NULL;
}

/* pid's entry, a new one (maps unknown) if it has none. */
static struct sym_proc *proc_get(struct sym_procs *p, int32_t pid)
{
	size_t b = (uint32_t)pid % SYM_BUCKETS;
	struct sym_proc *pr = proc_find(p, pid);

	if (pr)
		return pr;
	if (p->nprocs >= SYM_MAX_PROCS || p->nfiles >= SYM_MAX_FILES)
		procs_clear(p);
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return NULL;
	pr->pid = pid;
	pr->next = p->procs[b];
	p->procs[b] = pr;
	p->nprocs++;
	return pr;
}

/*
 * After an exec every file mapping comes as a record (the exec's own
 * ones after its COMM record): the maps start empty and known.
 */
void sym_exec(struct sym_procs *p, int32_t pid)
{
	struct sym_proc *pr = proc_get(p, pid);

	if (!pr)
		return;
	free(pr->maps);
	pr->maps = NULL;
	pr->nmaps = 0;
	pr->loaded_ns = now_ns();
}

void sym_mmap(struct sym_procs *p, int32_t pid, const struct sym_mapping *m)
{
	struct sym_proc *pr;
	struct sym_map *nm;
	uint64_t end = m->start + m->len;
	size_t i, j;

	if (m->path[0] != '/' || !m->len)
		return;
	pr = proc_get(p, pid);
	if (!pr)
		return;
	/* What it maps over is gone; keep the rest sorted. */
	for (i = j = 0; i < pr->nmaps; i++)
		if (pr->maps[i].end <= m->start || pr->maps[i].start >= end)
			pr->maps[j++] = pr->maps[i];
	pr->nmaps = j;
	nm = realloc(pr->maps, (pr->nmaps + 1) * sizeof(*nm));
	if (!nm)
		return;
	pr->maps = nm;
	for (i = pr->nmaps; i > 0 && nm[i - 1].start > m->start; i--)
		nm[i] = nm[i - 1];
	nm[i] = (struct sym_map){ .start = m->start, .end = end,
				  .pgoff = m->pgoff,
				  .file = file_get(p, m->path, m->dev, m->ino) };
	pr->nmaps++;
}

void sym_fork(struct sym_procs *p, int32_t pid, int32_t ppid)
{
	struct sym_proc *parent = proc_find(p, ppid), *pr;
	struct sym_map *maps;

	if (!parent || !parent->nmaps)
		return;
	maps = malloc(parent->nmaps * sizeof(*maps));
	if (!maps)
		return;
	/* proc_get() may start afresh, parent with the rest. */
	pr = proc_get(p, pid);
	parent = proc_find(p, ppid);
	if (!pr || !parent) {
		free(maps);
		return;
	}
	memcpy(maps, parent->maps, parent->nmaps * sizeof(*maps));
	free(pr->maps);
	pr->maps = maps;
	pr->nmaps = parent->nmaps;
	pr->loaded_ns = parent->loaded_ns;
}

static const struct sym_map *map_find(const struct sym_proc *pr,
				      uint64_t addr)
{
	size_t lo = 0, hi = pr->nmaps, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (addr < pr->maps[mid].start)
			hi = mid;
		else if (addr >= pr->maps[mid].end)
			lo = mid + 1;
		else
			return &pr->maps[mid];
	}
	return NULL;
}

/*
 * The mapping of addr in pid. The maps are read when the process is first
 * seen; an address they lack (a library loaded since) reads them again,
 * at most once a second. A process that is gone keeps what was read.
 */
static const struct sym_map *proc_map(struct sym_procs *p, int32_t pid,
				      uint64_t addr)
{
	struct sym_proc *pr = proc_get(p, pid);
	const struct sym_map *m;
	uint64_t now;

	if (!pr)
		return NULL;
	m = map_find(pr, addr);
	if (m)
		return m;
	now = now_ns();
	if (pr->loaded_ns && now - pr->loaded_ns < SYM_RELOAD_NS)
		return NULL;
	/* Also when it fails: a process that is gone is not read again
	 * for every frame. */
	pr->loaded_ns = now;
	if (maps_read(p, pr) < 0)
		return NULL;
	return map_find(pr, addr);
}

size_t sym_user(struct sym_procs *p, int32_t pid, uint64_t addr, bool ret,
		char *buf, size_t size)
{
	uint64_t key = ret ? addr - 1 : addr, vaddr, off;
	const struct elfsym_sym *s;
	const struct sym_map *m;
	struct elfsym *elf;

	if (pid <= 0)
		return write_hex(buf, size, addr);
	m = proc_map(p, pid, key);
	elf = m && m->file ? file_elf(m->file, pid) : NULL;
	if (!elf || elfsym_offset_to_addr(elf, key - m->start + m->pgoff,
					  &vaddr) < 0)
		return write_hex(buf, size, addr);
	s = elfsym_lookup(elf, vaddr, &off);
	if (!s)
		return write_hex(buf, size, addr);
	return write_name(buf, size, s->name, off + (addr - key));
}
