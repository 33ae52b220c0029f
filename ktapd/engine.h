/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The boundary between ktapd's session management (sessions, clients,
 * output mux, protocol) and an engine that runs a session's VM and feeds it
 * events: "user" (this process, perf_event ring buffers) or "kmod"
 * (/dev/ktapvm). Everything runs on ktapd's libuv loop thread; engines never
 * block it.
 */
#ifndef KTAPD_ENGINE_H
#define KTAPD_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct engine_session;

/* What the daemon learns from a running session. */
struct engine_callbacks {
	/* Session output, in order (print, printf, error lines...). */
	void (*output)(void *owner, const char *buf, size_t len);
	/*
	 * The session ended by itself: exit() (status = its argument), a
	 * runtime error (status 3, error = "FILE:LINE: message"), or the
	 * traced command exited. trace_end has already run and its output
	 * been delivered. Called at most once, never from inside
	 * engine_ops.stop().
	 */
	void (*ended)(void *owner, int status, const char *error);
};

struct engine_session_config {
	const void *chunk; /* verified again by the engine before anything runs */
	size_t chunk_len;
	int argc; /* arg[0] (script name) .. arg[argc-1] */
	const char *const *argv;
	size_t arena_size; /* memory quota */
	uint32_t insn_budget; /* per handler invocation; 0: default */
	pid_t target_pid; /* -p / -- cmd: only this process (and its threads); 0: all */
	int cpu; /* -C: only this CPU; -1: all */
	uv_loop_t *loop;
	size_t ring_size; /* user engine: event ring bytes per CPU; 0: default */
	/*
	 * A snapshot (engine_ops.snapshot) to restore after main, which then
	 * runs without output (it ran before); or NULL.
	 */
	const void *restore;
	size_t restore_len;
};

struct engine_stats {
	uint64_t events; /* handler invocations */
	uint64_t lost; /* events the ring buffers dropped */
	uint64_t mem_used, mem_peak, mem_quota; /* arena bytes */
	uint64_t cpu_ns; /* time spent running the VM */
	uint32_t nprobes; /* kernel probes armed (perf events, timers...) */
};

struct engine_ops {
	const char *name; /* "user", "kmod" */
	/*
	 * Create a session: load and verify the chunk, run the top-level
	 * statements, arm every probe. A session that then has nothing armed
	 * (no probe, no timer) and no target process ends by itself at once,
	 * through ended() after trace_end, as ktap's `-e 'print("hi")'` does.
	 * On failure returns a negative errno and
	 * a one-line message in err (verifier error with function/pc/reason,
	 * "event 'sched:nope' not found", ...); nothing stays armed.
	 */
	int (*start)(const struct engine_session_config *cfg,
		     const struct engine_callbacks *cb, void *owner,
		     struct engine_session **out, char *err, size_t errlen);
	/*
	 * Stop: disarm every probe, deliver pending events, run trace_end
	 * (unless the session ended with an error), flush output. Returns
	 * the session's exit status (0, exit(n), 3 for a runtime error).
	 */
	int (*stop)(struct engine_session *es);
	void (*free)(struct engine_session *es);
	void (*stats)(struct engine_session *es, struct engine_stats *st);
	/* The globals as one JSON object ({"name": value, ...}). */
	int (*dump_json)(struct engine_session *es, char **json, size_t *len);
	/*
	 * The globals' data (kp_vm_snapshot(), malloc'ed) for a later start
	 * with engine_session_config.restore: what a session keeps across a
	 * ktapd restart. NULL where an engine cannot.
	 */
	int (*snapshot)(struct engine_session *es, void **buf, size_t *len);
};

extern const struct engine_ops engine_user;

#endif /* KTAPD_ENGINE_H */
