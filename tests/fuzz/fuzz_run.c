// SPDX-License-Identifier: GPL-2.0
/* The session life cycle both fuzz targets drive each input through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "fuzz_run.h"

#define FUZZ_ARENA (1u << 20)
#define FUZZ_BUDGET 20000u
#define FUZZ_EVENTS 2 /* events per probe: the second sees the first's state */

static void discard_write(void *host, const char *buf, kp_size_t len)
{
}

static void discard_json(void *ctx, const char *name, const char *json,
			 kp_size_t len)
{
}

static const struct kp_host_ops fuzz_ops = { .write = discard_write };

/* A snapshot of the globals, as ktapd keeps one across its restarts. */
struct snap {
	unsigned char buf[1u << 18];
	size_t len;
	int overflow;
};

static void snap_emit(void *ctx, const void *p, kp_size_t len)
{
	struct snap *s = ctx;

	if (len > sizeof(s->buf) - s->len) {
		s->overflow = 1;
		return;
	}
	memcpy(s->buf + s->len, p, len);
	s->len += len;
}

/*
 * Whatever the script built must snapshot, restore (into the same VM:
 * every global replaced by a copy) and snapshot again to as many bytes
 * (the same pairs; an integer key kept in a table's hash part may land in
 * the array part of the copy, and so come earlier in its traversal).
 */
static void snap_round_trip(struct kp_vm *vm)
{
	static struct snap a, b;
	int r;

	a.len = b.len = 0;
	a.overflow = b.overflow = 0;
	r = kp_vm_snapshot(vm, snap_emit, &a);
	if (r == -KP_ENOMEM || a.overflow)
		return;
	if (r)
		abort();
	r = kp_vm_restore(vm, a.buf, a.len);
	if (r == -KP_ENOMEM)
		return;
	if (r || kp_vm_snapshot(vm, snap_emit, &b) || a.len != b.len)
		abort();
}

static long event_str(const struct kp_event *ev, int field, char *buf,
		      kp_size_t size)
{
	static const char text[] = "fuzz_event(fd: 3, buf: 0x7ffd0000)";
	size_t n = sizeof(text) - 1 < size ? sizeof(text) - 1 : size;

	memcpy(buf, text, n);
	return (long)n;
}

static const struct kp_event fuzz_event = {
	.pid = 1234,
	.tid = 1235,
	.uid = 1000,
	.cpu = 1,
	.retval = -2,
	.args = { 257, -100, 0x7ffd0000, 0, 0x80000, -1, 42, 0, 1, 2 },
	.nargs = 6,
	.has_retval = 1,
	.str_field = event_str,
};

/*
 * Probes in table order, each a few times, a snapshot round trip between
 * the rounds; trace_end after exit().
 */
static void run_probes(struct kp_vm *vm)
{
	struct kp_probe_info info;
	unsigned int i, n = kp_vm_nprobes(vm);
	int k;

	for (k = 0; k < FUZZ_EVENTS; k++) {
		snap_round_trip(vm);
		for (i = 0; i < n; i++) {
			if (kp_vm_probe_info(vm, i, &info) ||
			    info.kind == KP_PROBE_END)
				continue;
			switch (kp_vm_run_probe(vm, i, &fuzz_event)) {
			case KP_ERROR:
				return;
			case KP_EXITED:
				kp_vm_run_end(vm);
				return;
			}
		}
	}
	kp_vm_run_end(vm);
}

int fuzz_run_chunk(const void *chunk, size_t len, struct kp_verify_error *err)
{
	static _Alignas(16) unsigned char arena[FUZZ_ARENA];
	static const char *const argv[] = { "fuzz.kp", "42", "text" };
	const struct kp_vm_config cfg = {
		.arena = arena,
		.arena_size = sizeof(arena),
		.insn_budget = FUZZ_BUDGET,
		.ops = &fuzz_ops,
	};
	struct kp_mem_stats st;
	struct kp_vm *vm;
	int ret;

	if (kp_vm_create(&vm, &cfg))
		abort(); /* 1 MiB always holds an empty VM */
	ret = kp_vm_load(vm, chunk, len, err);
	if (ret)
		return ret;
	if (kp_vm_set_args(vm, 3, argv) == 0) {
		switch (kp_vm_run_main(vm)) {
		case KP_OK:
			run_probes(vm);
			break;
		case KP_EXITED:
			kp_vm_run_end(vm);
			break;
		}
	}
	kp_vm_dump_json(vm, discard_json, NULL);
	kp_vm_mem_stats(vm, &st);
	if (st.in_use > st.arena_size || st.peak > st.arena_size)
		abort();
	return 0;
}
