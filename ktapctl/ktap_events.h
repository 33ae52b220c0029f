/* SPDX-License-Identifier: GPL-2.0 */
/* ktap -le: listing the kernel's tracepoint events. */
#ifndef KTAPCTL_KTAP_EVENTS_H
#define KTAPCTL_KTAP_EVENTS_H

/*
 * Print "system:event" for each tracepoint matching glob (NULL: all),
 * sorted. Returns the exit status: failure when tracefs is unreadable or
 * nothing matched.
 */
int ktap_list_events(const char *glob);

#endif /* KTAPCTL_KTAP_EVENTS_H */
