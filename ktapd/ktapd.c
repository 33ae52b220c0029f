// SPDX-License-Identifier: GPL-2.0
/*
 * ktapd: the ktap daemon. Serves io.ktap over Varlink on a Unix socket (its
 * own, or one systemd passes), runs sessions on an engine, and talks to
 * systemd (readiness, status, watchdog).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "engines.h"
#include "log.h"
#include "macro.h"
#include "methods.h"
#include "persist.h"
#include "session.h"
#include "varlink.h"

#define DEFAULT_SOCKET "/run/ktapd/ktapd.sock"
/* At shutdown, clients get this long to take their last replies. */
#define SHUTDOWN_GRACE_MS 5000
/* How often STATUS= is refreshed when systemd listens. */
#define STATUS_PERIOD_MS 10000

static struct ktapd {
	uv_loop_t *loop;
	struct vl_server *server;
	struct daemon_state state;
	uv_signal_t sigterm, sigint;
	uv_timer_t notify_timer; /* WATCHDOG=1 and STATUS= */
	bool notify_timer_on;
	uv_timer_t grace_timer;
	bool closed;
	bool watchdog;
} ktapd;

static struct {
	const char *socket_path;
	const char *state_dir;
	unsigned checkpoint_sec;
	int log_level;
	struct session_limits limits;
} arg = {
	.socket_path = DEFAULT_SOCKET,
	.log_level = LOG_INFO,
	.checkpoint_sec = 60,
	.limits = {
		.arena_size = 16u << 20,
		.max_arena = 256u << 20,
		.mem_limit = 1u << 30,
		.backlog_size = 1u << 20,
		.max_backlog = 64u << 20,
		.max_sessions = 64,
		.linger_usec = 3600ull * 1000000,
	},
};

static void help(void)
{
	printf("Usage: ktapd [OPTIONS]\n"
	       "Run ktap tracing sessions and serve io.ktap over Varlink.\n\n"
	       "  --socket PATH        listen on PATH (default " DEFAULT_SOCKET ")\n"
	       "  --arena-size SIZE    default memory quota of a session (16M)\n"
	       "  --max-arena SIZE     largest quota a session may ask for (256M)\n"
	       "  --memory-limit SIZE  quotas of all live sessions together (1G)\n"
	       "  --backlog-size SIZE  default output backlog of a session (1M)\n"
	       "  --max-backlog SIZE   largest backlog a session may ask for (64M)\n"
	       "  --max-sessions N     live sessions at most (64)\n"
	       "  --linger SECONDS     keep ended sessions listed this long (3600)\n"
	       "  --state-dir DIR      keep kept sessions across restarts in DIR\n"
	       "  --checkpoint SECONDS save them this often, besides at exit (60)\n"
	       "  --engine NAME        auto, kmod or user (auto: kmod if usable)\n"
	       "  --kmod-path FILE     ktapvm.ko to load (default: modprobe ktapvm)\n"
	       "  --time-budget USEC   time limit of a handler run (kmod: 50000)\n"
	       "  -v, --verbose        log debug messages\n"
	       "  -h, --help           show this help\n"
	       "  -V, --version        show the version\n\n"
	       "SIZE takes a K, M or G suffix. See ktapd(8).\n");
}

static int parse_size(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'G':
		v <<= 10;
		/* fall through */
	case 'M':
		v <<= 10;
		/* fall through */
	case 'K':
		v <<= 10;
		end++;
		break;
	}
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_argv(int argc, char **argv)
{
	enum {
		ARG_SOCKET = 0x100,
		ARG_ARENA_SIZE,
		ARG_MAX_ARENA,
		ARG_MEMORY_LIMIT,
		ARG_BACKLOG_SIZE,
		ARG_MAX_BACKLOG,
		ARG_MAX_SESSIONS,
		ARG_LINGER,
		ARG_CHECKPOINT,
		ARG_TIME_BUDGET,
		ARG_STATE_DIR,
		ARG_ENGINE,
		ARG_KMOD_PATH,
	};
	static const struct option options[] = {
		{ "socket", required_argument, NULL, ARG_SOCKET },
		{ "arena-size", required_argument, NULL, ARG_ARENA_SIZE },
		{ "max-arena", required_argument, NULL, ARG_MAX_ARENA },
		{ "memory-limit", required_argument, NULL, ARG_MEMORY_LIMIT },
		{ "backlog-size", required_argument, NULL, ARG_BACKLOG_SIZE },
		{ "max-backlog", required_argument, NULL, ARG_MAX_BACKLOG },
		{ "max-sessions", required_argument, NULL, ARG_MAX_SESSIONS },
		{ "linger", required_argument, NULL, ARG_LINGER },
		{ "checkpoint", required_argument, NULL, ARG_CHECKPOINT },
		{ "state-dir", required_argument, NULL, ARG_STATE_DIR },
		{ "engine", required_argument, NULL, ARG_ENGINE },
		{ "kmod-path", required_argument, NULL, ARG_KMOD_PATH },
		{ "time-budget", required_argument, NULL, ARG_TIME_BUDGET },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct session_limits *l = &arg.limits;
	uint64_t v = 0;
	int c, idx;

	while ((c = getopt_long(argc, argv, "vhV", options, &idx)) >= 0) {
		if (c >= ARG_ARENA_SIZE && c <= ARG_TIME_BUDGET &&
		    parse_size(optarg, &v) < 0) {
			log_error("Invalid number for --%s: %s",
				  options[idx].name, optarg);
			return -EINVAL;
		}
		switch (c) {
		case ARG_SOCKET:
			arg.socket_path = optarg;
			break;
		case ARG_ARENA_SIZE:
			l->arena_size = v;
			break;
		case ARG_MAX_ARENA:
			l->max_arena = v;
			break;
		case ARG_MEMORY_LIMIT:
			l->mem_limit = v;
			break;
		case ARG_BACKLOG_SIZE:
			l->backlog_size = v;
			break;
		case ARG_MAX_BACKLOG:
			l->max_backlog = v;
			break;
		case ARG_MAX_SESSIONS:
			l->max_sessions = v > UINT32_MAX ? UINT32_MAX : v;
			break;
		case ARG_LINGER:
			l->linger_usec = v * 1000000;
			break;
		case ARG_CHECKPOINT:
			arg.checkpoint_sec = v > 86400 ? 86400 : (unsigned)v;
			break;
		case ARG_TIME_BUDGET:
			engine_options.time_budget_ns = v * 1000;
			break;
		case ARG_STATE_DIR:
			arg.state_dir = optarg;
			break;
		case ARG_ENGINE:
			if (strcmp(optarg, "auto") == 0) {
				engine_options.choice = ENGINE_AUTO;
			} else if (strcmp(optarg, "kmod") == 0) {
				engine_options.choice = ENGINE_KMOD;
			} else if (strcmp(optarg, "user") == 0) {
				engine_options.choice = ENGINE_USER;
			} else {
				log_error("Invalid --engine %s: auto, kmod or "
					  "user", optarg);
				return -EINVAL;
			}
			break;
		case ARG_KMOD_PATH:
			engine_options.module_path = optarg;
			break;
		case 'v':
			arg.log_level = LOG_DEBUG;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("ktapd %s\n", KTAP_VERSION);
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("Unexpected argument: %s", argv[optind]);
		return -EINVAL;
	}
	if (l->arena_size < SESSION_ARENA_MIN || l->arena_size > l->max_arena ||
	    l->backlog_size < SESSION_BACKLOG_MIN ||
	    l->backlog_size > l->max_backlog) {
		log_error("The default arena and backlog sizes must lie "
			  "within their minimum and maximum");
		return -EINVAL;
	}
	return 1;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void notify_status(void)
{
	struct session *s;
	unsigned running = 0;

	list_for_each_entry(s, sessions_list(), link)
		running += s->state == SESSION_RUNNING;
	sd_notifyf(0, "STATUS=%u sessions (%u running), %u clients, engine %s",
		   sessions_count(), running,
		   vl_server_connections(ktapd.server),
		   sessions_engine()->name);
}

static void notify_timer_cb(uv_timer_t *t)
{
	if (ktapd.watchdog)
		sd_notify(0, "WATCHDOG=1");
	notify_status();
}

/* Close what keeps the loop alive besides the server. */
static void daemon_close_handles(void)
{
	ktapd.closed = true;
	vl_server_close(ktapd.server);
	uv_close((uv_handle_t *)&ktapd.grace_timer, NULL);
	uv_close((uv_handle_t *)&ktapd.sigterm, NULL);
	uv_close((uv_handle_t *)&ktapd.sigint, NULL);
}

static void grace_timer_cb(uv_timer_t *t)
{
	if (ktapd.closed)
		return;
	log_warning("Clients did not take their last replies in time, closing");
	daemon_close_handles();
}

/* Every connection is gone (vl_server_stop()): release the rest. */
static void server_stopped(void *userdata)
{
	if (!ktapd.closed)
		daemon_close_handles();
}

static void shutdown_begin(int signum)
{
	if (ktapd.state.stopping) {
		/* A second signal: do not wait for slow clients. */
		if (!ktapd.closed) {
			log_info("Received %s again, closing now",
				 strsignal(signum));
			daemon_close_handles();
		}
		return;
	}
	ktapd.state.stopping = true;
	log_info("Received %s, stopping %u sessions", strsignal(signum),
		 sessions_count());
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping sessions");
	if (ktapd.notify_timer_on)
		uv_close((uv_handle_t *)&ktapd.notify_timer, NULL);
	uv_timer_start(&ktapd.grace_timer, grace_timer_cb, SHUTDOWN_GRACE_MS,
		       0);
	/* No calls are read from here on: trace_end's output comes last. */
	vl_server_stop(ktapd.server);
	sessions_shutdown();
}

static void signal_cb(uv_signal_t *h, int signum)
{
	shutdown_begin(signum);
}

static void client_disconnected(struct vl_conn *conn, void *userdata)
{
	sessions_conn_closed(conn);
}

static int listen_sockets(void)
{
	int n, fd, r;

	n = sd_listen_fds(1);
	if (n < 0)
		return log_error_errno(
			n, "Failed to read the sockets systemd passed: %m");
	for (fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
		if (r <= 0)
			return log_error_errno(
				r < 0 ? r : EINVAL,
				"Passed fd %d is not a listening Unix stream socket",
				fd);
		r = vl_server_listen_fd(ktapd.server, fd);
		if (r < 0)
			return log_error_errno(
				r, "Failed to listen on passed fd %d: %s", fd,
				uv_strerror(r));
	}
	if (n > 0) {
		log_info("Listening on %d socket(s) from systemd", n);
		return 0;
	}

	{
		_cleanup_free_ char *dir = strdup(arg.socket_path);

		if (!dir)
			return log_error_errno(ENOMEM, "Out of memory");
		if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
			return log_error_errno(errno, "Failed to create %s: %m",
					       dir);
	}
	r = vl_server_listen_path(ktapd.server, arg.socket_path, 0666);
	if (r == -EADDRINUSE)
		return log_error_errno(r, "Failed to listen on %s: another "
				       "daemon is listening there",
				       arg.socket_path);
	if (r < 0)
		return log_error_errno(r, "Failed to listen on %s: %s",
				       arg.socket_path, uv_strerror(r));
	log_info("Listening on %s", arg.socket_path);
	return 0;
}

static int notify_setup(void)
{
	uint64_t usec = 0, period = (uint64_t)STATUS_PERIOD_MS * 1000;

	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	if (sd_watchdog_enabled(0, &usec) > 0) {
		ktapd.watchdog = true;
		if (usec / 2 < period)
			period = usec / 2;
	}
	uv_timer_init(ktapd.loop, &ktapd.notify_timer);
	ktapd.notify_timer_on = true;
	period = period / 1000 ? period / 1000 : 1;
	return uv_timer_start(&ktapd.notify_timer, notify_timer_cb, period,
			      period);
}

static int run(void)
{
	static const struct vl_interface *const interfaces[] = {
		&io_ktap_interface,
		NULL,
	};
	const struct vl_server_config cfg = {
		.vendor = "ktap",
		.product = "ktapd",
		.version = KTAP_VERSION,
		.url = "https://github.com/ktap/ktap",
		.interfaces = interfaces,
		.error_too_large = "io.ktap.MessageTooLarge",
		.error_malformed = "io.ktap.MalformedMessage",
		.disconnected = client_disconnected,
		.stopped = server_stopped,
		.userdata = &ktapd.state,
	};
	const struct engine_ops *engine;
	int r;

	/* A client gone mid-write is a write error, not a signal. */
	signal(SIGPIPE, SIG_IGN);

	ktapd.loop = uv_default_loop();
	ktapd.state.started_usec = now_usec();
	engine = engine_choose(&ktapd.state.engine_reason);
	if (!engine) {
		log_error("No engine: %s", ktapd.state.engine_reason);
		return -ENODEV;
	}
	log_info("Engine %s: %s", engine->name, ktapd.state.engine_reason);

	r = sessions_init(ktapd.loop, &arg.limits, engine);
	if (r < 0)
		return log_error_errno(r, "Failed to set up sessions: %s",
				       uv_strerror(r));
	r = persist_init(ktapd.loop, arg.state_dir, arg.checkpoint_sec);
	if (r < 0)
		return r;
	/* Before any client: restored sessions keep their ids and names. */
	persist_restore_all();
	r = vl_server_new(&ktapd.server, ktapd.loop, &cfg);
	if (r < 0)
		return log_error_errno(r, "Failed to create the server: %m");
	ktapd.state.server = ktapd.server;
	r = listen_sockets();
	if (r < 0)
		return r;

	uv_signal_init(ktapd.loop, &ktapd.sigterm);
	uv_signal_init(ktapd.loop, &ktapd.sigint);
	uv_signal_start(&ktapd.sigterm, signal_cb, SIGTERM);
	uv_signal_start(&ktapd.sigint, signal_cb, SIGINT);
	uv_timer_init(ktapd.loop, &ktapd.grace_timer);
	r = notify_setup();
	if (r < 0)
		return log_error_errno(r,
				       "Failed to start the watchdog timer: %s",
				       uv_strerror(r));

	sd_notify(0, "READY=1");
	notify_status();

	uv_run(ktapd.loop, UV_RUN_DEFAULT);

	r = uv_loop_close(ktapd.loop);
	if (r < 0)
		log_warning("Handles left open at exit: %s", uv_strerror(r));
	vl_server_free(ktapd.server);
	log_info("Stopped");
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	log_setup(LOG_INFO);
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	log_setup(arg.log_level);
	return run() < 0 ? 1 : 0;
}
