// SPDX-License-Identifier: GPL-2.0
/*
 * engine_drive: compile a script and run it in the user engine for real, in
 * this process, on a libuv loop, the way ktapd would (tests/engine and the
 * engine benchmarks use it). Session output goes to stdout; messages, the
 * arming time and --stats to stderr.
 *
 *   engine_drive [options] (-e TEXT | script.kp) [-- cmd args...]
 *     -p PID          trace only PID (engine_session_config.target_pid)
 *     -C CPU          trace only CPU
 *     --target        with a command: trace only it (its pid is the target)
 *     --ring BYTES    event ring per CPU
 *     --duration MS   stop after MS (default: when the command exits, or
 *                     on SIGINT/SIGTERM)
 *     --linger MS     after the command exits, wait MS before stopping
 *     --arg VALUE     a script argument (repeatable)
 *     --stats         print the engine's stats at the end
 *     --debug         the engine's debug log on stderr
 *     --dump          print the globals as JSON (dump_json) at the end
 *
 * A command is forked only once the session is armed (with --target it
 * must exist before: it is forked first and held until then, and its life
 * before the session armed is not seen). Exit status: the
 * session's; 1 compile error or start failure, 2 usage, 4 bytecode rejected.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "engine.h"
#include "lang.h"
#include "log.h"

#define DRIVE_ARENA (16u << 20)
#define MAX_ARGS 32

struct drive {
	uv_loop_t *loop;
	struct engine_session *es;
	uv_timer_t stop_timer;
	uv_signal_t sigint, sigterm, sigchld;
	pid_t child;
	long linger_ms;
	int stats;
	int dump;
	int status;
	int stopped;
};

static void on_output(void *owner, const char *buf, size_t len)
{
	fwrite(buf, 1, len, stdout);
}

static void drive_stop(struct drive *d)
{
	struct engine_stats st;

	if (d->stopped)
		return;
	d->stopped = 1;
	d->status = engine_user.stop(d->es);
	if (d->dump) {
		char *json;
		size_t len;

		if (engine_user.dump_json(d->es, &json, &len) == 0) {
			printf("DUMP\t%.*s\n", (int)len, json);
			free(json);
		}
	}
	if (d->stats) {
		engine_user.stats(d->es, &st);
		fprintf(stderr,
			"stats: events=%" PRIu64 " lost=%" PRIu64
			" mem_used=%" PRIu64 " mem_peak=%" PRIu64
			" mem_quota=%" PRIu64 " cpu_ns=%" PRIu64
			" nprobes=%u\n",
			st.events, st.lost, st.mem_used, st.mem_peak,
			st.mem_quota, st.cpu_ns, st.nprobes);
	}
	engine_user.free(d->es);
	d->es = NULL;
	uv_close((uv_handle_t *)&d->stop_timer, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigchld, NULL);
}

static void on_ended(void *owner, int status, const char *error)
{
	struct drive *d = owner;

	/* The session is over; stop() returns its status, free() cleans up. */
	drive_stop(d);
}

static void on_stop_timer(uv_timer_t *t)
{
	drive_stop(t->data);
}

static void on_signal(uv_signal_t *s, int signum)
{
	drive_stop(s->data);
}

static void on_sigchld(uv_signal_t *s, int signum)
{
	struct drive *d = s->data;
	int wstatus;

	if (d->child <= 0 || waitpid(d->child, &wstatus, WNOHANG) != d->child)
		return;
	d->child = 0;
	if (d->stopped)
		return;
	uv_timer_start(&d->stop_timer, on_stop_timer, (uint64_t)d->linger_ms,
		       0);
}

static const struct engine_callbacks callbacks = {
	.output = on_output,
	.ended = on_ended,
};

static int read_file(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, n = 0;
	char *buf = NULL, *p;

	if (!f)
		return -errno;
	do {
		cap = cap ? cap * 2 : 4096;
		p = realloc(buf, cap);
		if (!p) {
			free(buf);
			fclose(f);
			return -ENOMEM;
		}
		buf = p;
		n += fread(buf + n, 1, cap - n, f);
	} while (n == cap);
	fclose(f);
	*text = buf;
	*len = n;
	return 0;
}

/* Fork cmd now, held on a pipe until the session is armed. */
static pid_t spawn_held(char **cmd, int *gate)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(127);
		execvp(cmd[0], cmd);
		fprintf(stderr, "engine_drive: cannot run %s: %s\n", cmd[0],
			strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	*gate = fds[1];
	return pid;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int usage(void)
{
	fputs("usage: engine_drive [-p PID] [-C CPU] [--target] [--ring BYTES]"
	      " [--duration MS]\n"
	      "                    [--linger MS] [--arg V]... [--stats] [--debug]"
	      " [--dump]"
	      " (-e TEXT | script.kp)\n"
	      "                    [-- cmd args...]\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct drive d = { .status = 0 };
	struct engine_session_config cfg = { .cpu = -1,
					     .arena_size = DRIVE_ARENA };
	const char *text = NULL, *path = NULL, *sargv[MAX_ARGS + 1];
	char *src = NULL, **cmd = NULL, err[512];
	int sargc = 1, target = 0, gate = -1, i, r;
	long duration = -1;
	void *chunk;
	size_t len = 0, chunk_len;
	double t0, t1;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--")) {
			cmd = argv + i + 1;
			break;
		} else if (!strcmp(o, "--target")) {
			target = 1;
		} else if (!strcmp(o, "--stats")) {
			d.stats = 1;
		} else if (!strcmp(o, "--debug")) {
			log_setup(LOG_DEBUG);
		} else if (!strcmp(o, "--dump")) {
			d.dump = 1;
		} else if (o[0] != '-') {
			path = o;
		} else if (!v) {
			return usage();
		} else {
			i++;
			if (!strcmp(o, "-e"))
				text = v;
			else if (!strcmp(o, "-p"))
				cfg.target_pid = atoi(v);
			else if (!strcmp(o, "-C"))
				cfg.cpu = atoi(v);
			else if (!strcmp(o, "--ring"))
				cfg.ring_size = strtoul(v, NULL, 0);
			else if (!strcmp(o, "--duration"))
				duration = atol(v);
			else if (!strcmp(o, "--linger"))
				d.linger_ms = atol(v);
			else if (!strcmp(o, "--arg") && sargc < MAX_ARGS)
				sargv[sargc++] = v;
			else
				return usage();
		}
	}
	if (!text == !path || (target && !cmd))
		return usage();
	sargv[0] = path ? path : "-e";
	sargv[sargc] = NULL;
	if (path) {
		r = read_file(path, &src, &len);
		if (r < 0) {
			fprintf(stderr, "engine_drive: %s: %s\n", path,
				strerror(-r));
			return 1;
		}
		text = src;
	} else {
		len = strlen(text);
	}
	if (kpc_compile(text, len, sargv[0], &chunk, &chunk_len, stderr) < 0)
		return 1;
	free(src);

	d.loop = uv_default_loop();
	uv_timer_init(d.loop, &d.stop_timer);
	d.stop_timer.data = &d;
	uv_signal_init(d.loop, &d.sigint);
	uv_signal_init(d.loop, &d.sigterm);
	uv_signal_init(d.loop, &d.sigchld);
	d.sigint.data = d.sigterm.data = d.sigchld.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigchld, on_sigchld, SIGCHLD);

	/* The target must exist before the session starts: hold it. */
	if (cmd && *cmd && target) {
		d.child = spawn_held(cmd, &gate);
		if (d.child < 0) {
			perror("engine_drive: fork");
			return 1;
		}
		cfg.target_pid = d.child;
	}
	cfg.chunk = chunk;
	cfg.chunk_len = chunk_len;
	cfg.argc = sargc;
	cfg.argv = sargv;
	cfg.loop = d.loop;
	t0 = now_ms();
	r = engine_user.start(&cfg, &callbacks, &d, &d.es, err, sizeof(err));
	t1 = now_ms();
	if (r < 0) {
		fprintf(stderr, "engine_drive: %s\n", err);
		free(chunk);
		if (d.child > 0) {
			kill(d.child, SIGKILL);
			waitpid(d.child, NULL, 0);
		}
		return strstr(err, "bytecode rejected") ? 4 : 1;
	}
	fprintf(stderr, "armed in %.3f ms\n", t1 - t0);
	if (gate >= 0) {
		if (write(gate, "x", 1) != 1)
			perror("engine_drive: releasing the command");
		close(gate);
	} else if (cmd && *cmd) {
		/* Forked now: the session sees all of its life. */
		d.child = spawn_held(cmd, &gate);
		if (d.child < 0 || write(gate, "x", 1) != 1) {
			perror("engine_drive: starting the command");
			drive_stop(&d);
			d.status = 1;
		}
		if (gate >= 0)
			close(gate);
	}
	if (duration >= 0)
		uv_timer_start(&d.stop_timer, on_stop_timer, (uint64_t)duration,
			       0);
	uv_run(d.loop, UV_RUN_DEFAULT);
	fflush(stdout);
	free(chunk);
	return d.status;
}
