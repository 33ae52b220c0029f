/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kept sessions across ktapd restarts (--state-dir): each running kept
 * session has a state file (its chunk, arguments, options and a snapshot
 * of its globals), written every checkpoint period and at shutdown; at
 * start the files are read back and the sessions started again with the
 * same id, name and owner, their globals restored.
 */
#ifndef KTAPD_PERSIST_H
#define KTAPD_PERSIST_H

#include <stdbool.h>
#include <uv.h>

struct session;

/* dir NULL: nothing persists. checkpoint_sec 0: only at shutdown. */
int persist_init(uv_loop_t *loop, const char *dir, unsigned checkpoint_sec);
/* Start the sessions the state files describe (once, after init). */
void persist_restore_all(void);
/* Whether s goes on after a restart: kept, running, no target process. */
bool persist_keeps(const struct session *s);
int persist_save(struct session *s);
/* s ended or was removed: its state file goes. */
void persist_forget(struct session *s);
void persist_shutdown(void);

#endif /* KTAPD_PERSIST_H */
