/* SPDX-License-Identifier: GPL-2.0 */
/* Which engine runs new sessions, and why (shown by Status). */
#ifndef KTAPD_ENGINES_H
#define KTAPD_ENGINES_H

#include <stdint.h>

#include "engine.h"

enum engine_choice {
	ENGINE_AUTO, /* kmod where ktapvm.ko can be used, else user */
	ENGINE_KMOD,
	ENGINE_USER,
};

/* ktapd's options for the engines (ktapd(8)). */
struct engine_options {
	enum engine_choice choice;
	/* ktapvm.ko loaded with finit_module() when /dev/ktapvm is missing;
	 * NULL: `modprobe ktapvm` */
	const char *module_path;
	/* Per probe invocation; 0: the engine's default (kmod: the
	 * module's, 50 ms; user: none, the instruction budget only). */
	uint64_t time_budget_ns;
};

extern struct engine_options engine_options;

extern const struct engine_ops engine_kmod;

/*
 * The engine for engine_options.choice, loading the module if need be.
 * *reason says why (kept valid). NULL when a forced engine cannot be used.
 */
const struct engine_ops *engine_choose(const char **reason);

#endif /* KTAPD_ENGINES_H */
