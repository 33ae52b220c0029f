// SPDX-License-Identifier: GPL-2.0
/*
 * The user engine's uprobes, uretprobes and SDT markers: `probe:/path:sym`,
 * `probe:/path:sym%return`, `probe:/path:0xOFF`, globs over symbols, and
 * `sdt:/path:[provider:]marker`, resolved with elfsym into file offsets,
 * opened as perf uprobe events (the "uprobe" PMU: no tracefs state) writing
 * into the CPU rings with the user registers, and decoded into arg0..,
 * retval and the markers' operands.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <asm/perf_regs.h>

#include "elfsym.h"
#include "engine_user.h"
#include "log.h"
#include "macro.h"

#define UPROBE_PMU "/sys/bus/event_source/devices/uprobe/"
#define RETURN_SUFFIX "%return"

/*
 * TID and TIME where tracepoint samples have them; ID (which uprobe) in
 * the slot of their PERIOD, so the rings' common code reads every sample
 * alike; the trace record (its vaddr[]: the probed address; for a return,
 * the function and the return address); then the user registers.
 */
#define UP_SAMPLE_TYPE                                         \
	(PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ID | \
	 PERF_SAMPLE_RAW | PERF_SAMPLE_REGS_USER)
#define SAMPLE_PID 8
#define SAMPLE_ID 24
#define SAMPLE_RAW_SIZE 32
#define SAMPLE_RAW 36
#define RAW_VADDR 8 /* after struct trace_entry */

#define REG_BIT(r) (1ull << (r))
/* x86-64 SysV: arguments in rdi, rsi, rdx, rcx, r8, r9; result in rax. */
static const int call_regs[] = {PERF_REG_X86_DI, PERF_REG_X86_SI,
				PERF_REG_X86_DX, PERF_REG_X86_CX,
				PERF_REG_X86_R8, PERF_REG_X86_R9};
#define ENTRY_REGS                                             \
	(REG_BIT(PERF_REG_X86_DI) | REG_BIT(PERF_REG_X86_SI) | \
	 REG_BIT(PERF_REG_X86_DX) | REG_BIT(PERF_REG_X86_CX) | \
	 REG_BIT(PERF_REG_X86_R8) | REG_BIT(PERF_REG_X86_R9))
#define RETURN_REGS REG_BIT(PERF_REG_X86_AX)
#define TRIMMED_REGS REG_BIT(PERF_REG_X86_IP)
/* An SDT operand may name any general register. */
#define ALL_REGS (0x1ffull | (0xffull << PERF_REG_X86_R8))

/* A marker's memory operands mostly point into its frame: this much of
 * the stack comes with each sample; other addresses are read after the
 * fact (process_vm_readv). */
#define SDT_STACK_DUMP 512

/* One SDT operand: "-4@%edi", "8@-16(%rbp)", "4@$5", "8@sym+8(%rip)". */
struct sdt_arg {
	enum { SDT_IMM, SDT_REG, SDT_MEM } kind;
	uint8_t size; /* 1, 2, 4, 8 */
	bool is_signed;
	int8_t base, index;   /* perf register numbers, -1: none */
	uint8_t shift, width; /* the register part: %ah is shift 8, width 1 */
	uint8_t scale;
	bool pcrel;    /* (%rip): an address in the file, moved by the bias */
	int64_t value; /* immediate, or displacement */
};

struct eu_uprobe {
	char *name; /* probename: "malloc", "malloc%return", "0x1139", marker */
	char *path;
	uint64_t offset;  /* in the file */
	uint64_t ref_ctr; /* SDT semaphore's file offset, 0: none */
	uint64_t pc;	  /* SDT: the note's address (load bias = ip - pc) */
	bool ret;
	bool sdt;
	bool bpf;      /* written by a BPF program into the BPF ring */
	/* BPF: its hits only counted (every probe a counter): the counter's
	 * index + 1 (0: records), and the hits applied so far */
	unsigned int counter;
	uint64_t counted;
	uint64_t regs; /* sample_regs_user */
	struct sdt_arg *args;
	int nargs;
	unsigned int *probes; /* the script's probes for it, in order */
	unsigned int nprobes;
};

struct up_id {
	uint64_t id; /* perf event id */
	struct eu_uprobe *up;
};

struct eu_uprobes {
	struct eu_uprobe **ups;
	unsigned int n;
	struct up_id *ids; /* by id: increasing in opening order */
	size_t nids;
	struct elfsym **elfs; /* files read while resolving */
	unsigned int nelfs;
	int pmu_type;
	int ret_bit, ref_ctr_shift;
};

/* The uprobe PMU */

static int read_small(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

/* "config:0", "config:32-63": the first bit of a config field. */
static int format_bit(const char *name)
{
	char buf[64];
	unsigned int bit;

	if (read_small(name, buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "config:%u", &bit) != 1 || bit > 63)
		return -1;
	return (int)bit;
}

static int pmu_init(struct eu_uprobes *u, const char *item, char *err,
		    size_t errlen)
{
	char buf[32];

	if (u->pmu_type > 0)
		return 0;
	if (read_small(UPROBE_PMU "type", buf, sizeof(buf)) < 0) {
		snprintf(err, errlen,
			 "event '%s': this kernel has no uprobe PMU (%s)", item,
			 UPROBE_PMU);
		return -ENOENT;
	}
	u->pmu_type = atoi(buf);
	u->ret_bit = format_bit(UPROBE_PMU "format/retprobe");
	u->ref_ctr_shift = format_bit(UPROBE_PMU "format/ref_ctr_offset");
	return 0;
}

/* Resolution */

static struct eu_uprobes *uprobes_get(struct engine_session *es)
{
	if (!es->uprobes)
		es->uprobes = calloc(1, sizeof(*es->uprobes));
	return es->uprobes;
}

static int elf_get(struct eu_uprobes *u, const char *item, const char *path,
		   struct elfsym **out, char *err, size_t errlen)
{
	struct elfsym **n, *e;
	char why[512];
	unsigned int i;
	int r;

	for (i = 0; i < u->nelfs; i++)
		if (!strcmp(elfsym_path(u->elfs[i]), path)) {
			*out = u->elfs[i];
			return 0;
		}
	r = elfsym_open(path, &e, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "event '%s': %s", item, why);
		return r == -ENOMEM ? r : -ENOENT;
	}
	n = realloc(u->elfs, (u->nelfs + 1) * sizeof(*n));
	if (!n) {
		elfsym_close(e);
		return -ENOMEM;
	}
	u->elfs = n;
	u->elfs[u->nelfs++] = e;
	*out = e;
	return 0;
}

static void uprobe_free(struct eu_uprobe *up)
{
	if (!up)
		return;
	free(up->name);
	free(up->path);
	free(up->args);
	free(up->probes);
	free(up);
}

/*
 * The uprobe at (path, offset, ret) for script probe `probe`, made once:
 * two probes (or a glob and a name) on one place share it.
 */
static int uprobe_add(struct eu_uprobes *u, unsigned int probe,
		      struct eu_uprobe *tmpl, struct eu_uprobe **out)
{
	struct eu_uprobe *up = NULL, **nu;
	unsigned int i;

	for (i = 0; i < u->n; i++)
		if (u->ups[i]->offset == tmpl->offset &&
		    u->ups[i]->ret == tmpl->ret &&
		    u->ups[i]->sdt == tmpl->sdt &&
		    !strcmp(u->ups[i]->path, tmpl->path))
			up = u->ups[i];
	if (!up) {
		nu = realloc(u->ups, (u->n + 1) * sizeof(*nu));
		if (!nu)
			return -ENOMEM;
		u->ups = nu;
		up = malloc(sizeof(*up));
		if (!up)
			return -ENOMEM;
		*up = *tmpl;
		up->name = strdup(tmpl->name);
		up->path = strdup(tmpl->path);
		up->args = NULL;
		up->probes = NULL;
		up->nprobes = 0;
		u->ups[u->n++] = up;
		if (!up->name || !up->path)
			return -ENOMEM;
	}
	*out = up;
	return eu_probe_list_add(&up->probes, &up->nprobes, probe);
}

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int add_symbol(struct eu_uprobes *u, unsigned int probe,
		      struct elfsym *e, const struct elfsym_sym *s, bool ret,
		      const char *item, char *err, size_t errlen)
{
	struct eu_uprobe t = {.path = (char *)elfsym_path(e), .ret = ret};
	struct eu_uprobe *up;
	char name[256];

	if (elfsym_addr_to_offset(e, s->addr, &t.offset) < 0) {
		snprintf(err, errlen,
			 "event '%s': %s (0x%" PRIx64 ") is not in a loaded "
			 "segment of %s",
			 item, s->name, s->addr, elfsym_path(e));
		return -ENOENT;
	}
	snprintf(name, sizeof(name), "%s%s", s->name, ret ? RETURN_SUFFIX : "");
	t.name = name;
	t.regs = ret ? RETURN_REGS : ENTRY_REGS;
	return uprobe_add(u, probe, &t, &up);
}

/* probe:/path:sym, probe:/path:sym%return, probe:/path:0xOFF, globs. */
static int resolve_uprobe(struct eu_uprobes *u, unsigned int probe,
			  const char *item, char *path, char *what, char *err,
			  size_t errlen)
{
	const struct elfsym_sym *syms, *s;
	struct elfsym *e;
	size_t n, i, len = strlen(what);
	bool ret = false;
	uint64_t last = UINT64_MAX;
	unsigned int found = 0;
	char *end;
	int r;

	if (len > strlen(RETURN_SUFFIX) &&
	    !strcmp(what + len - strlen(RETURN_SUFFIX), RETURN_SUFFIX)) {
		ret = true;
		what[len - strlen(RETURN_SUFFIX)] = '\0';
	}
	r = elf_get(u, item, path, &e, err, errlen);
	if (r < 0)
		return r;
	if (isdigit((unsigned char)what[0])) {
		struct eu_uprobe t = {.path = path, .ret = ret};
		struct eu_uprobe *up;
		char name[64];

		errno = 0;
		t.offset = strtoull(what, &end, 0);
		if (errno || *end) {
			snprintf(err, errlen,
				 "event '%s': '%s' is not a file offset", item,
				 what);
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "%s%s", what,
			 ret ? RETURN_SUFFIX : "");
		t.name = name;
		t.regs = ret ? RETURN_REGS : ENTRY_REGS;
		return uprobe_add(u, probe, &t, &up);
	}
	n = elfsym_symbols(e, &syms);
	if (!n) {
		snprintf(err, errlen,
			 "event '%s': %s has no symbols (stripped)", item,
			 path);
		return -ENOENT;
	}
	if (!is_glob(what)) {
		s = elfsym_find(e, what);
		if (!s) {
			snprintf(err, errlen,
				 "event '%s': no function '%s' in %s", item,
				 what, path);
			return -ENOENT;
		}
		return add_symbol(u, probe, e, s, ret, item, err, errlen);
	}
	/* Sorted by address, the preferred name first: one probe per
	 * address, however many of its names match. */
	for (i = 0; i < n; i++) {
		if (syms[i].addr == last || fnmatch(what, syms[i].name, 0))
			continue;
		r = add_symbol(u, probe, e, &syms[i], ret, item, err, errlen);
		if (r < 0)
			return r;
		last = syms[i].addr;
		found++;
	}
	if (!found) {
		snprintf(err, errlen,
			 "event '%s': no function matching '%s' in %s", item,
			 what, path);
		return -ENOENT;
	}
	return 0;
}

/* SDT operands */

static const struct sdt_reg {
	const char *name;
	int8_t reg;
	uint8_t width, shift;
} sdt_regs[] = {
#define R64(n, r)                           \
	{"r" n, r, 8, 0}, {"e" n, r, 4, 0}, \
	{                                   \
		n, r, 2, 0                  \
	}
    R64("ax", PERF_REG_X86_AX),	    R64("bx", PERF_REG_X86_BX),
    R64("cx", PERF_REG_X86_CX),	    R64("dx", PERF_REG_X86_DX),
    R64("si", PERF_REG_X86_SI),	    R64("di", PERF_REG_X86_DI),
    R64("bp", PERF_REG_X86_BP),	    R64("sp", PERF_REG_X86_SP),
#undef R64
    {"rip", PERF_REG_X86_IP, 8, 0}, {"al", PERF_REG_X86_AX, 1, 0},
    {"bl", PERF_REG_X86_BX, 1, 0},  {"cl", PERF_REG_X86_CX, 1, 0},
    {"dl", PERF_REG_X86_DX, 1, 0},  {"ah", PERF_REG_X86_AX, 1, 8},
    {"bh", PERF_REG_X86_BX, 1, 8},  {"ch", PERF_REG_X86_CX, 1, 8},
    {"dh", PERF_REG_X86_DX, 1, 8},  {"sil", PERF_REG_X86_SI, 1, 0},
    {"dil", PERF_REG_X86_DI, 1, 0}, {"bpl", PERF_REG_X86_BP, 1, 0},
    {"spl", PERF_REG_X86_SP, 1, 0},
};

/* %rax, %eax, %ax, %al, %r8, %r8d, %r8w, %r8b... after the '%'. */
static const char *parse_reg(const char *s, int8_t *reg, uint8_t *width,
			     uint8_t *shift)
{
	size_t len = 0, i;
	char *end;
	long n;

	while (isalnum((unsigned char)s[len]))
		len++;
	if (s[0] == 'r' && isdigit((unsigned char)s[1])) {
		n = strtol(s + 1, &end, 10);
		if (n < 8 || n > 15)
			return NULL;
		*reg = (int8_t)(PERF_REG_X86_R8 + n - 8);
		*shift = 0;
		*width = *end == 'd'   ? 4
			 : *end == 'w' ? 2
			 : *end == 'b' ? 1
				       : 8;
		if (*width != 8)
			end++;
		return end == s + len ? end : NULL;
	}
	for (i = 0; i < ELEMENTSOF(sdt_regs); i++)
		if (strlen(sdt_regs[i].name) == len &&
		    !strncmp(s, sdt_regs[i].name, len)) {
			*reg = sdt_regs[i].reg;
			*width = sdt_regs[i].width;
			*shift = sdt_regs[i].shift;
			return s + len;
		}
	return NULL;
}

/* A displacement: a number, or sym[+-number] (an address in the file). */
static const char *parse_disp(const char *s, const struct elfsym *e,
			      int64_t *disp, bool *symbolic)
{
	char name[128], *end;
	size_t len = 0;
	uint64_t addr;

	*disp = 0;
	*symbolic = false;
	if (isalpha((unsigned char)*s) || *s == '_' || *s == '.') {
		while (isalnum((unsigned char)s[len]) || s[len] == '_' ||
		       s[len] == '.' || s[len] == '$')
			len++;
		if (len >= sizeof(name))
			return NULL;
		memcpy(name, s, len);
		name[len] = '\0';
		if (elfsym_find_object(e, name, &addr) < 0)
			return NULL;
		*disp = (int64_t)addr;
		*symbolic = true;
		s += len;
		if (*s != '+' && *s != '-')
			return s;
	}
	if (*s != '-' && *s != '+' && !isdigit((unsigned char)*s))
		return s;
	*disp += strtoll(s, &end, 0);
	return end;
}

static int parse_operand(const char *s, const struct elfsym *e,
			 struct sdt_arg *a)
{
	uint8_t width, shift;
	bool symbolic;
	char *end;
	long size;

	*a = (struct sdt_arg){.size = 8, .base = -1, .index = -1, .scale = 1};
	/* N@: the size in bytes, negative when signed; old notes omit it */
	size = strtol(s, &end, 10);
	if (*end == '@') {
		a->is_signed = size < 0;
		size = labs(size);
		if (size != 1 && size != 2 && size != 4 && size != 8)
			return -EINVAL;
		a->size = (uint8_t)size;
		s = end + 1;
	}
	if (*s == '$') {
		a->kind = SDT_IMM;
		a->value = strtoll(s + 1, &end, 0);
		return *end ? -EINVAL : 0;
	}
	if (*s == '%') {
		a->kind = SDT_REG;
		s = parse_reg(s + 1, &a->base, &a->width, &a->shift);
		return s && !*s ? 0 : -EINVAL;
	}
	a->kind = SDT_MEM;
	s = parse_disp(s, e, &a->value, &symbolic);
	if (!s)
		return -EINVAL;
	if (!*s) /* an absolute address */
		return symbolic ? (a->pcrel = true, 0) : 0;
	if (*s != '(')
		return -EINVAL;
	s++;
	if (*s == '%') {
		s = parse_reg(s + 1, &a->base, &width, &shift);
		if (!s || width != 8)
			return -EINVAL;
	}
	if (*s == ',') {
		if (s[1] != '%')
			return -EINVAL;
		s = parse_reg(s + 2, &a->index, &width, &shift);
		if (!s || width != 8)
			return -EINVAL;
		if (*s == ',') {
			a->scale = (uint8_t)strtoul(s + 1, &end, 10);
			s = end;
		}
	}
	if (*s != ')' || s[1])
		return -EINVAL;
	/* sym(%rip) is sym's address: the operand of an instruction at the
	 * marker would say so. */
	if (a->base == PERF_REG_X86_IP) {
		if (!symbolic)
			return -EINVAL;
		a->base = -1;
		a->pcrel = true;
	}
	return 0;
}

static int parse_args(struct eu_uprobe *up, const struct elfsym *e,
		      const char *args, const char *item, char *err,
		      size_t errlen)
{
	_cleanup_free_ char *copy = strdup(args);
	char *tok, *save = NULL;
	int n = 0;

	if (!copy)
		return -ENOMEM;
	up->args = calloc(EU_MAX_ARGS - 1, sizeof(*up->args));
	if (!up->args)
		return -ENOMEM;
	/* arg0 is the address; arg1..arg9 the first operands */
	for (tok = strtok_r(copy, " ", &save); tok && n < EU_MAX_ARGS - 1;
	     tok = strtok_r(NULL, " ", &save)) {
		if (parse_operand(tok, e, &up->args[n]) < 0) {
			snprintf(err, errlen,
				 "event '%s': marker %s: cannot decode "
				 "operand '%s'",
				 item, up->name, tok);
			return -ENOENT;
		}
		n++;
	}
	up->nargs = n;
	return 0;
}

static bool args_need_stack(const struct eu_uprobe *up)
{
	int i;

	for (i = 0; i < up->nargs; i++)
		if (up->args[i].kind == SDT_MEM && !up->args[i].pcrel)
			return true;
	return false;
}

static int add_marker(struct eu_uprobes *u, unsigned int probe,
		      struct elfsym *e, const struct elfsym_note *nt,
		      const char *item, char *err, size_t errlen)
{
	struct eu_uprobe t = {.path = (char *)elfsym_path(e),
			      .name = (char *)nt->name,
			      .sdt = true,
			      .pc = nt->pc,
			      .regs = ALL_REGS};
	struct eu_uprobe *up;
	int r;

	if (elfsym_addr_to_offset(e, nt->pc, &t.offset) < 0 ||
	    (nt->semaphore &&
	     elfsym_addr_to_offset(e, nt->semaphore, &t.ref_ctr) < 0)) {
		snprintf(err, errlen,
			 "event '%s': marker %s:%s is not in a loaded segment "
			 "of %s",
			 item, nt->provider, nt->name, elfsym_path(e));
		return -ENOENT;
	}
	if (t.ref_ctr && u->ref_ctr_shift < 0) {
		snprintf(err, errlen,
			 "event '%s': marker %s:%s has a semaphore and this "
			 "kernel's uprobes have no ref_ctr_offset",
			 item, nt->provider, nt->name);
		return -ENOENT;
	}
	r = uprobe_add(u, probe, &t, &up);
	if (r < 0 || up->args)
		return r;
	return parse_args(up, e, nt->args, item, err, errlen);
}

/* sdt:/path:marker, sdt:/path:provider:marker, globs. */
static int resolve_sdt(struct eu_uprobes *u, unsigned int probe,
		       const char *item, const char *path, const char *what,
		       char *err, size_t errlen)
{
	const char *colon = strchr(what, ':'), *prov_glob = "*", *name_glob;
	const struct elfsym_note *notes;
	_cleanup_free_ char *prov = NULL;
	unsigned int found = 0;
	struct elfsym *e;
	size_t n, i;
	int r;

	r = elf_get(u, item, path, &e, err, errlen);
	if (r < 0)
		return r;
	name_glob = what;
	if (colon) {
		prov = strndup(what, (size_t)(colon - what));
		if (!prov)
			return -ENOMEM;
		prov_glob = prov;
		name_glob = colon + 1;
	}
	n = elfsym_notes(e, &notes);
	if (!n) {
		snprintf(err, errlen, "event '%s': %s has no SDT markers", item,
			 path);
		return -ENOENT;
	}
	for (i = 0; i < n; i++) {
		if (fnmatch(prov_glob, notes[i].provider, 0) ||
		    fnmatch(name_glob, notes[i].name, 0))
			continue;
		r = add_marker(u, probe, e, &notes[i], item, err, errlen);
		if (r < 0)
			return r;
		found++;
	}
	if (!found) {
		snprintf(err, errlen, "event '%s': no SDT marker '%s' in %s",
			 item, what, path);
		return -ENOENT;
	}
	return 0;
}

bool eu_uprobe_spec(const char *item)
{
	return (!strncmp(item, "probe:", 6) && strchr(item + 6, '/')) ||
	       !strncmp(item, "sdt:", 4);
}

int eu_uprobe_resolve(struct engine_session *es, unsigned int probe,
		      const char *item, char *err, size_t errlen)
{
	struct eu_uprobes *u = uprobes_get(es);
	bool sdt = !strncmp(item, "sdt:", 4);
	_cleanup_free_ char *copy = strdup(strchr(item, ':') + 1);
	char *what;
	int r;

	if (!u || !copy)
		return -ENOMEM;
	r = pmu_init(u, item, err, errlen);
	if (r < 0)
		return r;
	what = strchr(copy, ':');
	if (copy[0] != '/' || !what || !what[1]) {
		snprintf(err, errlen, "event '%s': expected %s:/PATH:%s", item,
			 sdt ? "sdt" : "probe", sdt ? "MARKER" : "SYMBOL");
		return -EINVAL;
	}
	*what++ = '\0';
	return sdt ? resolve_sdt(u, probe, item, copy, what, err, errlen)
		   : resolve_uprobe(u, probe, item, copy, what, err, errlen);
}

void eu_uprobes_free(struct engine_session *es)
{
	struct eu_uprobes *u = es->uprobes;
	unsigned int i;

	if (!u)
		return;
	for (i = 0; i < u->n; i++)
		uprobe_free(u->ups[i]);
	for (i = 0; i < u->nelfs; i++)
		elfsym_close(u->elfs[i]);
	free(u->ups);
	free(u->elfs);
	free(u->ids);
	free(u);
	es->uprobes = NULL;
}

/* Opening */

unsigned int eu_uprobe_count(const struct engine_session *es)
{
	return es->uprobes ? es->uprobes->n : 0;
}

static void uprobe_attr(const struct eu_uprobes *u, const struct eu_uprobe *up,
			struct perf_event_attr *attr)
{
	if (up->ret && u->ret_bit >= 0)
		attr->config |= 1ull << u->ret_bit;
	if (up->ref_ctr)
		attr->config |= up->ref_ctr << u->ref_ctr_shift;
	attr->config1 = (uint64_t)(uintptr_t)up->path; /* uprobe_path */
	attr->config2 = up->offset;		       /* probe_offset */
}

/*
 * An entry probe none of whose handlers reads arg1..arg9 records only
 * the instruction pointer (perf refuses an empty register mask): 40
 * bytes less for every hit. Idempotent, before anything opens.
 */
static void trim_regs(struct engine_session *es)
{
	struct eu_uprobes *u = es->uprobes;
	struct eu_uprobe *up;
	unsigned int i;

	for (i = 0; u && i < u->n; i++) {
		up = u->ups[i];
		if (!up->ret && !up->sdt &&
		    !eu_probes_read_args(es, up->probes, up->nprobes))
			up->regs = TRIMMED_REGS;
	}
}

static int open_one(struct engine_session *es, struct eu_uprobe *up, pid_t tid,
		    unsigned int ri, char *err, size_t errlen)
{
	struct eu_uprobes *u = es->uprobes;
	struct perf_event_attr attr;
	struct up_id *n;
	char what[512];
	uint64_t id;
	int fd;

	eu_perf_attr_init(&attr, es, (uint32_t)u->pmu_type, 0, ri);
	attr.sample_type = UP_SAMPLE_TYPE;
	eu_stack_attr(es, &attr, eu_stack_need(es, up->probes, up->nprobes));
	attr.sample_period = 1;
	attr.sample_regs_user = up->regs;
	if (up->sdt && args_need_stack(up)) {
		attr.sample_type |= PERF_SAMPLE_STACK_USER;
		attr.sample_stack_user = SDT_STACK_DUMP;
	}
	uprobe_attr(u, up, &attr);
	snprintf(what, sizeof(what),
		 "uprobe %s:%s (offset 0x%" PRIx64 "): ", up->path, up->name,
		 up->offset);
	fd = eu_perf_open_into_ring(es, &attr, tid, ri, what, err, errlen);
	if (fd < 0)
		return fd;
	if (ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0) {
		snprintf(err, errlen, "%scannot read its id: %s", what,
			 strerror(errno));
		return -errno;
	}
	n = realloc(u->ids, (u->nids + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	u->ids = n;
	u->ids[u->nids++] = (struct up_id){id, up};
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	const struct up_id *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int eu_uprobe_open(struct engine_session *es, pid_t tid, unsigned int ri,
		   char *err, size_t errlen)
{
	struct eu_uprobes *u = es->uprobes;
	unsigned int i;
	int r;

	trim_regs(es);
	for (i = 0; u && i < u->n; i++) {
		if (u->ups[i]->bpf)
			continue;
		r = open_one(es, u->ups[i], tid, ri, err, errlen);
		if (r < 0)
			return r;
	}
	/* Ids grow as events are made, but other sessions make some too. */
	if (u && u->nids > 1 && u->ids[u->nids - 1].id < u->ids[u->nids - 2].id)
		qsort(u->ids, u->nids, sizeof(*u->ids), cmp_id);
	return 0;
}

/*
 * The BPF path: one uprobe event per probe, its program writing for
 * every CPU (as for tracepoints, engine_user_bpf.c); records say which
 * uprobe by index, with this bit set where perf puts an event id.
 */
#define BPF_ID_FLAG (1ull << 63)
#define BPF_ID_INDEX 0xffffffffull
#define BPF_ID_CPU_SHIFT 32
#define BPF_ID_CPU_MASK 0x7fffffffull

/* Not the return probes (see eu_uprobe_bpf_count), nor stack takers. */
static bool bpf_eligible(const struct engine_session *es,
			 const struct eu_uprobe *up)
{
	return !up->ret && !eu_stack_need(es, up->probes, up->nprobes);
}

unsigned int eu_uprobe_bpf_count(const struct engine_session *es)
{
	const struct eu_uprobes *u = es->uprobes;
	unsigned int i, n = 0;

	for (i = 0; u && i < u->n; i++)
		n += bpf_eligible(es, u->ups[i]);
	return n;
}

unsigned int eu_uprobe_bpf_counters(struct engine_session *es)
{
	struct eu_uprobes *u = es->uprobes;
	unsigned int i, n = 0;

	/* Counter 0 is the total (engine_user_bpf.c): these are 1..n. */
	for (i = 0; u && i < u->n; i++) {
		struct eu_uprobe *up = u->ups[i];

		up->counted = 0;
		up->counter = bpf_eligible(es, up) && !up->sdt &&
				      eu_probes_counted(es, up->probes,
							up->nprobes) ?
				      ++n : 0;
	}
	return n;
}

void eu_uprobe_fold(struct engine_session *es)
{
	struct eu_uprobes *u = es->uprobes;
	struct eu_uprobe *up;
	uint64_t sum, runs;
	unsigned int i, j;

	for (i = 0; u && i < u->n; i++) {
		up = u->ups[i];
		if (!up->counter || !up->bpf)
			continue;
		sum = eu_bpf_counter_read(es, up->counter);
		runs = sum - up->counted;
		up->counted = sum;
		for (j = 0; runs && j < up->nprobes; j++)
			if (!eu_run_counted(es, up->probes[j], up->name, runs))
				return;
	}
}

int eu_uprobe_bpf_open(struct engine_session *es, int cpu, char *err,
		       size_t errlen)
{
	struct eu_uprobes *u = es->uprobes;
	unsigned int i;
	char what[512];
	int prog, r;

	trim_regs(es);
	for (i = 0; u && i < u->n; i++) {
		struct eu_uprobe *up = u->ups[i];
		struct eu_bpf_uprobe bu = {.id = BPF_ID_FLAG | i,
					   .regs = up->regs};
		struct perf_event_attr attr = {.type = (uint32_t)u->pmu_type};

		if (!bpf_eligible(es, up))
			continue;
		if (up->sdt && args_need_stack(up))
			bu.stack = SDT_STACK_DUMP;
		if (up->counter) {
			prog = eu_bpf_counter_prog(es, up->counter, up->name,
						   err, errlen);
			log_debug("uprobe %s: hits counted by BPF", up->name);
		} else
			prog = eu_bpf_uprobe_prog(es, &bu, up->name, err,
						  errlen);
		if (prog < 0)
			return prog;
		uprobe_attr(u, up, &attr);
		snprintf(what, sizeof(what), "uprobe %s:%s", up->path,
			 up->name);
		r = eu_bpf_attach(es, &attr, cpu, prog, what, err, errlen);
		if (r < 0)
			return r;
		up->bpf = true;
	}
	return 0;
}

void eu_uprobe_bpf_reset(struct engine_session *es)
{
	struct eu_uprobes *u = es->uprobes;
	unsigned int i;

	for (i = 0; u && i < u->n; i++) {
		u->ups[i]->bpf = false;
		u->ups[i]->counter = 0;
	}
	es->ncounted = 0;
}

/* Samples */

static struct eu_uprobe *by_id(const struct eu_uprobes *u, uint64_t id)
{
	size_t lo = 0, hi = u->nids, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u->ids[mid].id == id)
			return u->ids[mid].up;
		if (u->ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* What a sample holds after its trace record. */
struct up_sample {
	const uint64_t *regs; /* in sample_regs_user bit order */
	uint64_t mask;
	const unsigned char *stack; /* from the stack pointer up */
	uint64_t stack_size;
	int32_t pid;
};

static uint64_t reg(const struct up_sample *s, int r)
{
	uint64_t bit = 1ull << r;

	if (!s->regs || !(s->mask & bit))
		return 0;
	return s->regs[__builtin_popcountll(s->mask & (bit - 1))];
}

static int64_t extend(uint64_t v, unsigned int size, bool is_signed)
{
	unsigned int bits = size * 8;

	if (bits >= 64)
		return (int64_t)v;
	v &= (1ull << bits) - 1;
	if (is_signed && (v & (1ull << (bits - 1))))
		v |= ~((1ull << bits) - 1);
	return (int64_t)v;
}

/* size bytes at addr in the process: the sample's stack copy, else its
 * memory now. */
static uint64_t read_mem(const struct up_sample *s, uint64_t addr,
			 unsigned int size)
{
	uint64_t sp = reg(s, PERF_REG_X86_SP), v = 0;
	struct iovec local = {&v, size};
	struct iovec remote = {(void *)(uintptr_t)addr, size};

	if (s->stack && addr >= sp && addr - sp + size <= s->stack_size) {
		memcpy(&v, s->stack + (addr - sp), size);
		return v;
	}
	if (s->pid <= 0 ||
	    process_vm_readv(s->pid, &local, 1, &remote, 1, 0) != size)
		return 0;
	return v;
}

static int64_t sdt_value(const struct sdt_arg *a, const struct up_sample *s,
			 uint64_t bias)
{
	uint64_t v, addr;

	switch (a->kind) {
	case SDT_IMM: /* 1@$-56: an unsigned char 200 */
		return extend((uint64_t)a->value, a->size, a->is_signed);
	case SDT_REG:
		v = reg(s, a->base) >> a->shift;
		if (a->width < 8)
			v &= (1ull << (a->width * 8)) - 1;
		return extend(v, a->size, a->is_signed);
	case SDT_MEM:
		addr = (uint64_t)a->value;
		if (a->pcrel)
			addr += bias;
		if (a->base >= 0)
			addr += reg(s, a->base);
		if (a->index >= 0)
			addr += reg(s, a->index) * a->scale;
		return extend(read_mem(s, addr, a->size), a->size,
			      a->is_signed);
	}
	return 0;
}

static void decode(const struct eu_uprobe *up, const unsigned char *raw,
		   uint32_t rawlen, const struct up_sample *s,
		   struct kp_event *kev)
{
	uint64_t vaddr[2] = {0, 0};
	int i;

	memcpy(vaddr, raw + RAW_VADDR,
	       rawlen >= RAW_VADDR + 16	 ? 16
	       : rawlen >= RAW_VADDR + 8 ? 8
					 : 0);
	kev->strargs = 0;
	/* arg0: the probed address (a return: the function's) */
	kev->args[0] = (int64_t)vaddr[0];
	if (up->ret) {
		kev->retval = (int64_t)reg(s, PERF_REG_X86_AX);
		kev->has_retval = 1;
		kev->nargs = 1;
		return;
	}
	if (!up->sdt) {
		for (i = 0; i < (int)ELEMENTSOF(call_regs); i++)
			kev->args[i + 1] = (int64_t)reg(s, call_regs[i]);
		kev->nargs = 1 + (int)ELEMENTSOF(call_regs);
		return;
	}
	for (i = 0; i < up->nargs; i++)
		kev->args[i + 1] =
		    sdt_value(&up->args[i], s, vaddr[0] - up->pc);
	kev->nargs = 1 + up->nargs;
}

bool eu_uprobe_sample(struct engine_session *es, const unsigned char *p,
		      uint32_t size, int32_t cpu, uint32_t chain_bytes)
{
	const struct eu_uprobes *u = es->uprobes;
	struct kp_event *kev = &es->kev;
	const unsigned char *q, *end = p + size;
	struct up_sample s = {0};
	struct eu_uprobe *up;
	uint32_t ids[2], rawlen;
	struct eu_task *task;
	uint64_t id, abi;
	unsigned int i;

	if (!u || size < SAMPLE_RAW + chain_bytes)
		return false;
	memcpy(&id, p + SAMPLE_ID, 8);
	if (id & BPF_ID_FLAG) {
		if ((id & BPF_ID_INDEX) >= u->n)
			return false;
		up = u->ups[id & BPF_ID_INDEX];
		cpu = (int32_t)((id >> BPF_ID_CPU_SHIFT) & BPF_ID_CPU_MASK);
	} else {
		up = by_id(u, id);
	}
	if (!up)
		return false;
	memcpy(ids, p + SAMPLE_PID, 8);
	memcpy(&rawlen, p + SAMPLE_RAW_SIZE + chain_bytes, 4);
	q = p + SAMPLE_RAW + chain_bytes + rawlen;
	if (q + 8 > end)
		return false;
	memcpy(&abi, q, 8);
	q += 8;
	if (abi) {
		s.mask = up->regs;
		s.regs = (const uint64_t *)q;
		q += 8 * (size_t)__builtin_popcountll(up->regs);
	}
	if (q > end)
		return false;
	if (q + 8 <= end && up->sdt && args_need_stack(up)) {
		memcpy(&s.stack_size, q, 8);
		s.stack = q + 8;
		if (s.stack + s.stack_size + 8 > end)
			s.stack_size = 0;
		else /* dyn_size: what was really copied */
			memcpy(&s.stack_size, s.stack + s.stack_size, 8);
	}
	task = eu_tasks_get(&es->tasks, (int32_t)ids[1]);
	s.pid = (int32_t)ids[0];
	kev->pid = (int32_t)ids[0];
	kev->tid = (int32_t)ids[1];
	kev->cpu = cpu;
	kev->uid = task ? task->uid : -1;
	decode(up, p + SAMPLE_RAW + chain_bytes, rawlen, &s, kev);
	es->cur.ev = NULL;
	es->cur.up = up;
	es->cur.raw = p + SAMPLE_RAW + chain_bytes;
	es->cur.rawlen = rawlen;
	es->cur.task = task;
	es->cur.timer_name = up->name;
	es->cur.cpu = cpu;
	for (i = 0; i < up->nprobes; i++)
		if (!eu_run_probe(es, up->probes[i]))
			break;
	es->cur.up = NULL;
	kev->has_retval = 0;
	return true;
}

/*
 * As the kernel's trace output shows uprobe events: "NAME: (0xADDR)", a
 * return "NAME: (0xRET <- 0xFUNC)"; a marker's operands follow as
 * arg1=... (the values the script reads).
 */
long eu_uprobe_argstr(const struct eu_current *cur, const struct kp_event *kev,
		      char *buf, size_t size)
{
	const struct eu_uprobe *up = cur->up;
	uint64_t vaddr[2] = {0, 0};
	size_t len;
	int i;

	if (cur->rawlen >= RAW_VADDR + 16)
		memcpy(vaddr, cur->raw + RAW_VADDR, 16);
	if (up->ret)
		return snprintf(buf, size,
				"%s: (0x%" PRIx64 " <- 0x%" PRIx64 ")",
				up->name, vaddr[1], (uint64_t)kev->args[0]);
	len = (size_t)snprintf(buf, size, "%s: (0x%" PRIx64 ")", up->name,
			       (uint64_t)kev->args[0]);
	for (i = 0; up->sdt && i < up->nargs && len < size; i++)
		len +=
		    (size_t)snprintf(buf + len, size - len, " arg%d=%" PRId64,
				     i + 1, kev->args[i + 1]);
	return (long)len;
}
