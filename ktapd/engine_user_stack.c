// SPDX-License-Identifier: GPL-2.0
/*
 * stack() and ustack() in the user engine: which probes may call them
 * (read from the chunk's code before anything is armed), the callchains
 * the samples of their events then carry (PERF_SAMPLE_CALLCHAIN, only the
 * kernel or user half each needs), and such a chain as the text the
 * script gets: one frame per line, the innermost first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "chunk_view.h"
#include "engine_user.h"
#include "macro.h"
#include "symbolize.h"
#include "syscalls.h"

/* kp_chunk_parse() allocates the function and probe arrays. */
struct scan_allocs {
	void *p[4];
	unsigned int n;
};

static void *scan_alloc(void *ctx, kp_size_t size)
{
	struct scan_allocs *a = ctx;

	if (a->n == ELEMENTSOF(a->p))
		return NULL;
	a->p[a->n] = malloc(size ? size : 1);
	return a->p[a->n] ? a->p[a->n++] : NULL;
}

/*
 * EU_STACK_* for the stack()/ustack() calls in f's code, EU_READS_ARGS
 * for its reads of arg1..arg9 (event words are constant operands).
 */
static unsigned int func_uses(const struct kp_fview *f)
{
	unsigned int uses = 0;
	kp_u32 pc, i;

	for (pc = 0; pc < f->ncode; pc++) {
		i = kp_fview_insn(f, pc);
		if (KP_GET_OP(i) == KP_OP_EVENT && KP_GET_B(i) >= KP_EV_ARG1 &&
		    KP_GET_B(i) <= KP_EV_ARG9)
			uses |= EU_READS_ARGS;
		if (KP_GET_OP(i) != KP_OP_BUILTIN)
			continue;
		if (KP_GET_BX(i) == KP_BI_STACK)
			uses |= EU_STACK_KERNEL;
		else if (KP_GET_BX(i) == KP_BI_USTACK)
			uses |= EU_STACK_USER;
	}
	return uses;
}

/*
 * A use inside a probe's handler or filter (or a function nested in them)
 * is that probe's; a use anywhere else (main, a function main defines)
 * may be called from any probe, so it is every probe's. Taking a built-in
 * as a value is a BUILTIN instruction too: `local f = ustack` counts.
 */
static void scan_view(struct engine_session *es,
		      const struct kp_chunk_view *v)
{
	unsigned int everywhere = 0, uses, p;
	kp_u32 f, g, steps;
	bool found;

	for (f = 0; f < v->nfuncs; f++) {
		uses = func_uses(&v->funcs[f]);
		if (!uses)
			continue;
		found = false;
		for (g = f, steps = 0; g < v->nfuncs && steps < v->nfuncs;
		     g = v->funcs[g].parent, steps++)
			for (p = 0; p < v->nprobes; p++)
				if (v->probes[p].handler == g ||
				    v->probes[p].filter == g) {
					es->probe_stack[p] |= (uint8_t)uses;
					found = true;
				}
		if (!found)
			everywhere |= uses;
	}
	for (p = 0; p < v->nprobes; p++) {
		es->probe_stack[p] |= (uint8_t)everywhere;
		if (v->probes[p].kind != KP_PROBE_END)
			es->callchains |= es->probe_stack[p] & EU_STACK_MASK;
	}
}

int eu_stack_scan(struct engine_session *es, const void *chunk, size_t len)
{
	struct kp_verify_error err = { .func = -1, .pc = -1 };
	struct scan_allocs a = { .n = 0 };
	struct kp_chunk_view v;
	unsigned int i;
	int r;

	r = kp_chunk_parse(chunk, len, &v, scan_alloc, &a, &err);
	if (r == 0) {
		es->probe_stack = calloc(v.nprobes ? v.nprobes : 1, 1);
		if (es->probe_stack)
			scan_view(es, &v);
		else
			r = -ENOMEM;
	}
	for (i = 0; i < a.n; i++)
		free(a.p[i]);
	if (r == 0 && (es->callchains & EU_STACK_USER)) {
		es->sym = sym_procs_new();
		if (!es->sym)
			r = -ENOMEM;
	}
	return r;
}

unsigned int eu_stack_need(const struct engine_session *es,
			   const unsigned int *probes, unsigned int n)
{
	unsigned int need = 0, i;

	for (i = 0; i < n; i++)
		need |= es->probe_stack[probes[i]];
	return need & EU_STACK_MASK;
}

bool eu_probes_read_args(const struct engine_session *es,
			 const unsigned int *probes, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (es->probe_stack[probes[i]] & EU_READS_ARGS)
			return true;
	return false;
}

void eu_stack_events(struct engine_session *es)
{
	struct eu_event *ev;
	unsigned int i, nr;

	for (i = 0; i < es->nevents; i++) {
		ev = es->events[i];
		ev->stack |= (uint8_t)eu_stack_need(es, ev->probes,
						     ev->nprobes);
	}
	/* raw_syscalls carries the samples of the syscalls it feeds. */
	for (i = 0; i < es->nevents; i++) {
		ev = es->events[i];
		for (nr = 0; ev->demux && nr < syscalls_count(); nr++)
			if (ev->demux[nr])
				ev->stack |= ev->demux[nr]->stack;
	}
	for (i = 0; i < es->nprofiles; i++)
		es->profiles[i].stack = es->probe_stack[es->profiles[i].probe] &
					EU_STACK_MASK;
}

/*
 * When any probe needs a chain, every sample of the rings has the
 * callchain field (empty for events that need none: both halves
 * excluded cost the kernel nothing but its 8-byte count), so one layout
 * decodes them all.
 */
void eu_stack_attr(const struct engine_session *es, struct perf_event_attr *a,
		   unsigned int need)
{
	if (!es->callchains)
		return;
	a->sample_type |= PERF_SAMPLE_CALLCHAIN;
	a->exclude_callchain_kernel = !(need & EU_STACK_KERNEL);
	a->exclude_callchain_user = !(need & EU_STACK_USER);
}

uint32_t eu_stack_sample(struct engine_session *es, const unsigned char *p,
			 uint32_t size, uint32_t at)
{
	uint64_t nr;

	if (size < at + 8)
		return UINT32_MAX;
	memcpy(&nr, p + at, 8);
	if (nr > (size - at - 8) / 8)
		return UINT32_MAX;
	es->cur.chain = p + at + 8;
	es->cur.nchain = (uint32_t)nr;
	return 8 + 8 * (uint32_t)nr;
}

/*
 * host->stack: the kernel (user = 0) or user half of the current sample's
 * chain, from frame skip on, at most depth frames, cut at a frame that
 * does not fit. -1 (nil) for an event that has no chain (a tick).
 */
long eu_stack_host(void *host, const struct kp_event *ev, int user, int depth,
		   int skip, char *buf, kp_size_t size)
{
	struct engine_session *es = host;
	const struct eu_current *cur = &es->cur;
	uint64_t want = user ? PERF_CONTEXT_USER : PERF_CONTEXT_KERNEL;
	uint64_t ctx = 0, addr;
	char name[512];
	size_t len = 0, n;
	bool first = false;
	uint32_t i;
	int frames = 0;

	if (!cur->chain || (user && !es->sym))
		return -1;
	for (i = 0; i < cur->nchain && frames < depth; i++) {
		memcpy(&addr, cur->chain + 8 * (size_t)i, 8);
		if (addr >= (uint64_t)PERF_CONTEXT_MAX) {
			ctx = addr;
			first = true;
			continue;
		}
		if (ctx != want || skip-- > 0) {
			first = false;
			continue;
		}
		/* Past the first frame of a half, addresses are returns. */
		n = user ? sym_user(es->sym, (int32_t)ev->pid, addr, !first,
				    name, sizeof(name)) :
			   sym_kernel(addr, !first, name, sizeof(name));
		first = false;
		if (len + !!len + n > size)
			break;
		if (len)
			buf[len++] = '\n';
		memcpy(buf + len, name, n);
		len += n;
		frames++;
	}
	return (long)len;
}

/*
 * A session that names user frames follows the processes' mappings from
 * the start (sym_procs are made then): PERF_RECORD_COMM (exec), FORK,
 * MMAP2 of executable file mappings.
 */
void eu_stack_exec(struct engine_session *es, int32_t pid)
{
	if (es->sym)
		sym_exec(es->sym, pid);
}

void eu_stack_fork(struct engine_session *es, int32_t pid, int32_t ppid)
{
	if (es->sym && pid != ppid)
		sym_fork(es->sym, pid, ppid);
}

/*
 * u32 pid, tid; u64 addr, len, pgoff; u32 maj, min; u64 ino,
 * ino_generation; u32 prot, flags; char filename[] (NUL-padded);
 * sample_id.
 */
#define MMAP2_FILENAME 72

void eu_stack_mmap(struct engine_session *es, const unsigned char *p,
		   uint32_t size)
{
	uint32_t ids[2], dev[2];
	struct sym_mapping m;
	uint64_t v[3], ino;

	if (!es->sym || size <= MMAP2_FILENAME ||
	    !memchr(p + MMAP2_FILENAME, '\0', size - MMAP2_FILENAME))
		return;
	memcpy(ids, p + 8, 8);
	memcpy(v, p + 16, 24);
	memcpy(dev, p + 40, 8);
	memcpy(&ino, p + 48, 8);
	m = (struct sym_mapping){ .start = v[0], .len = v[1], .pgoff = v[2],
				  .dev = makedev(dev[0], dev[1]),
				  .ino = (ino_t)ino,
				  .path = (const char *)p + MMAP2_FILENAME };
	sym_mmap(es->sym, (int32_t)ids[0], &m);
}

void eu_stack_free(struct engine_session *es)
{
	sym_procs_free(es->sym);
	es->sym = NULL;
	free(es->probe_stack);
	es->probe_stack = NULL;
}
