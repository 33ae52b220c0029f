/* SPDX-License-Identifier: GPL-2.0 */
/* Which engine runs new sessions, and why (shown by Status). */
#ifndef KTAPD_ENGINES_H
#define KTAPD_ENGINES_H

#include "engine.h"

const struct engine_ops *engine_choose(const char **reason);

#endif /* KTAPD_ENGINES_H */
