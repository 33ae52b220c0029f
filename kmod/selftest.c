// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel self-test: golden programs from tests/lang, compiled at build
 * time (tests/kmod/gen-selftest.py writes selftest_cases.h), loaded through
 * the in-kernel verifier and run by the VM here, their output and exit status
 * compared with what the user-space runner (tests/runner/ktaprun.c) expects.
 * It proves that the VM core behaves the same in the kernel.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": selftest: " fmt

#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/vmalloc.h>

#include "selftest.h"
#include "vm.h"

/* Room past the expected output, so that extra output shows as a mismatch. */
#define SELFTEST_OUTPUT_SLACK 256

/* The exit statuses of the command-line tools (see ktaprun). */
#define SELFTEST_EXIT_RUNTIME 3
#define SELFTEST_EXIT_VERIFY 4

struct ktapvm_selftest_case {
	const char *name;
	const char *const *argv; /* arg[0] = the script name, as compiled */
	int argc;
	const u8 *chunk;
	size_t chunk_len;
	const char *output;
	size_t output_len;
	int status;
	/* The session settings the golden runner used (0: VM defaults). */
	size_t arena_size;
	u32 insn_budget;
	u32 max_call_depth;
};

#include "selftest_cases.h"

struct selftest_output {
	char *buf;
	size_t len, size;
};

static void selftest_write(void *host, const char *buf, kp_size_t len)
{
	struct selftest_output *out = host;

	len = min_t(size_t, len, out->size - out->len);
	memcpy(out->buf + out->len, buf, len);
	out->len += len;
}

static const struct kp_host_ops selftest_ops = { .write = selftest_write };

static __printf(2, 3) void selftest_printf(struct selftest_output *out,
					   const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vscnprintf(out->buf + out->len, out->size - out->len, fmt, ap);
	va_end(ap);
	out->len += n;
}

static void selftest_oom(struct selftest_output *out,
			 const struct ktapvm_selftest_case *c)
{
	selftest_printf(out, "error: out of memory (arena of %zu bytes)\n",
			c->arena_size);
}

/* main, then trace_end, exactly as ktaprun runs a session without events. */
static int selftest_session(struct kp_vm *vm,
			    const struct ktapvm_selftest_case *c,
			    struct selftest_output *out)
{
	int r;

	if (kp_vm_set_args(vm, c->argc, c->argv) < 0) {
		selftest_oom(out, c);
		return SELFTEST_EXIT_RUNTIME;
	}
	r = kp_vm_run_main(vm);
	if (r != KP_ERROR)
		r = kp_vm_run_end(vm);
	if (r == KP_ERROR) {
		selftest_printf(out, "error: %s\n", kp_vm_error(vm));
		return SELFTEST_EXIT_RUNTIME;
	}
	return kp_vm_exited(vm) ? kp_vm_exit_status(vm) : 0;
}

/* Returns the session's exit status, or a negative errno. */
static int selftest_run(const struct ktapvm_selftest_case *c,
			struct selftest_output *out)
{
	struct kp_vm_config cfg = {
		.arena_size = c->arena_size,
		.insn_budget = c->insn_budget,
		.max_call_depth = c->max_call_depth,
		.ops = &selftest_ops,
		.host = out,
	};
	struct kp_verify_error err;
	struct kp_vm *vm;
	int r;

	cfg.arena = vmalloc(c->arena_size ?: 1);
	if (!cfg.arena)
		return -ENOMEM;
	r = kp_vm_create(&vm, &cfg);
	if (r < 0) {
		selftest_oom(out, c);
		r = SELFTEST_EXIT_RUNTIME;
		goto out_free;
	}
	r = kp_vm_load(vm, c->chunk, c->chunk_len, &err);
	if (r == -EINVAL) {
		pr_info("%s: verifier: function %d pc %d: %s\n", c->name,
			err.func, err.pc, err.reason);
		r = SELFTEST_EXIT_VERIFY;
	} else if (r < 0) {
		selftest_oom(out, c);
		r = SELFTEST_EXIT_RUNTIME;
	} else {
		r = selftest_session(vm, c, out);
	}
out_free:
	vfree(cfg.arena);
	return r;
}

/* Log where the output first differs, escaped, with a little context. */
static void selftest_report_diff(const struct ktapvm_selftest_case *c,
				 const struct selftest_output *out)
{
	size_t at = 0, from;
	int got, want;

	while (at < out->len && at < c->output_len &&
	       out->buf[at] == c->output[at])
		at++;
	from = at > 16 ? at - 16 : 0;
	got = min_t(size_t, out->len - from, 48);
	want = min_t(size_t, c->output_len - from, 48);
	pr_info("%s: FAILED: output differs at byte %zu: got \"%*pE\", expected \"%*pE\"\n",
		c->name, at, got, out->buf + from, want, c->output + from);
}

/* Returns true when the case passed; logs its result either way. */
static bool selftest_case(const struct ktapvm_selftest_case *c)
{
	struct selftest_output out = {
		.size = c->output_len + SELFTEST_OUTPUT_SLACK,
	};
	bool ok = false;
	int status;

	out.buf = vmalloc(out.size);
	status = out.buf ? selftest_run(c, &out) : -ENOMEM;
	if (status < 0)
		pr_info("%s: FAILED: cannot allocate its buffers (%d)\n",
			c->name, status);
	else if (out.len != c->output_len ||
		 memcmp(out.buf, c->output, out.len))
		selftest_report_diff(c, &out);
	else if (status != c->status)
		pr_info("%s: FAILED: exit status %d, expected %d\n", c->name,
			status, c->status);
	else
		ok = true;
	if (ok)
		pr_info("%s: ok\n", c->name);
	vfree(out.buf);
	return ok;
}

void ktapvm_selftest(void)
{
	unsigned int i, passed = 0, failed = 0;

	for (i = 0; i < ARRAY_SIZE(selftest_cases); i++) {
		if (selftest_case(&selftest_cases[i]))
			passed++;
		else
			failed++;
		cond_resched();
	}
	pr_info("%u passed, %u failed\n", passed, failed);
}
