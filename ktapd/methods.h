/* SPDX-License-Identifier: GPL-2.0 */
/* The io.ktap interface: method handlers over sessions and the output mux. */
#ifndef KTAPD_METHODS_H
#define KTAPD_METHODS_H

#include <stdbool.h>
#include <stdint.h>

#include "varlink.h"

/* What Status tells about the daemon; the server's userdata. */
struct daemon_state {
	struct vl_server *server;
	const char *engine_reason;
	uint64_t started_usec;
	bool stopping;
};

extern const struct vl_interface io_ktap_interface;

/* proto/io.ktap.varlink, embedded at build time. */
extern const char io_ktap_description[];

#endif /* KTAPD_METHODS_H */
