// SPDX-License-Identifier: GPL-2.0
/*
 * The collector under a long session, with the real compiler: a handler
 * run ten million times builds temporary strings with `..` (short and
 * long, none kept) inside a 1 MiB arena, while a global table of counts
 * keyed by strings has keys deleted and re-inserted all along. The arena
 * must never run out, and the memory in use after a collection must not
 * grow with the number of events: only with what the globals hold.
 */
#include <stdlib.h>
#include <string.h>

#include "kp_gc.h"
#include "lang.h"
#include "unit.h"

#define ARENA (1u << 20)
#define EVENTS 10000000u

static const char script[] =
	"var counts = {}\n"
	"var n = 0\n"
	"trace syscalls:sys_enter_open {\n"
	"	var k = \"key\" .. (n % 64)\n"
	"	var tmp = k .. \":\" .. pid .. \":\" .. n .. \" and some more text to pass forty bytes\"\n"
	"	counts[k] += 1\n"
	"	if (n % 5 == 0) { counts[k] = nil }\n"
	"	n += 1\n"
	"}\n"
	"trace_end { print(len(counts), n) }\n";

static size_t live_after_collect(struct kp_vm *vm)
{
	struct kp_mem_stats st;

	kp_gc_collect(vm);
	kp_vm_mem_stats(vm, &st);
	return st.in_use;
}

int main(void)
{
	struct kp_event ev = { .pid = 4242, .tid = 4242, .nargs = 0 };
	struct kp_mem_stats st;
	size_t len, live_early = 0, live_late;
	struct tvm *t = malloc(sizeof(*t));
	void *chunk;
	unsigned int i;

	if (!t || kpc_compile(script, strlen(script), "soak.kp", &chunk, &len,
			      stderr))
		return 1;
	CHECK(tvm_open(t, ARENA, 0, 0) == 0);
	CHECK(kp_vm_load(t->vm, chunk, len, &t->err) == 0);
	free(chunk);
	CHECK(kp_vm_run_main(t->vm) == KP_OK);
	for (i = 0; i < EVENTS; i++) {
		if (kp_vm_run_probe(t->vm, 0, &ev) != KP_OK) {
			fprintf(stderr, "event %u: %s\n", i, kp_vm_error(t->vm));
			FAIL("handler failed");
			break;
		}
		if (i == EVENTS / 10)
			live_early = live_after_collect(t->vm);
	}
	live_late = live_after_collect(t->vm);
	CHECK(kp_vm_run_end(t->vm) == KP_OK);
	CHECK_OUT(t, "52\t10000000\n");
	kp_vm_mem_stats(t->vm, &st);
	printf("live after 1M events %zu, after 10M %zu bytes; peak %zu; "
	       "%llu collections\n", live_early, live_late, (size_t)st.peak,
	       (unsigned long long)st.collections);
	CHECK(st.peak <= ARENA);
	CHECK(st.collections > 10);
	CHECK(live_late <= live_early + 1024);
	CHECK(live_late < 128 * 1024);
	tvm_close(t);
	free(t);
	return unit_done("gc_soak");
}
