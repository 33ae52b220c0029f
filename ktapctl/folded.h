/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tables of counts keyed by stacks (stack(), ustack(): frames separated by
 * "\n", the innermost first) as folded stacks, the input of flame graph
 * tools (flamegraph.pl, speedscope, inferno): one line per stack, its
 * frames from the outermost on joined by ';', a space, the count.
 */
#ifndef KTAPCTL_FOLDED_H
#define KTAPCTL_FOLDED_H

#include <json-c/json.h>
#include <stdio.h>

/*
 * Write table (a session's global, as ktapd's Dump reports it) folded to
 * out, or every global table when table is NULL. Entries whose value is
 * not a number above 0 are left out. Frames lose their "+0x..." offsets
 * (a flame graph is per function), so stacks that differ only in them
 * become one line with their counts added; spaces and ';' in a frame
 * become '_'; a stack without frames is "[unknown]". Lines are sorted.
 * Returns 0, -ENOENT when table is not a global table, -ENOMEM.
 */
int folded_print(json_object *globals, const char *table, FILE *out);

/*
 * folded_print() for a command: failures reported on stderr. Returns the
 * exit status (KTAPCTL_EXIT_OK, or KTAPCTL_EXIT_FAILURE).
 */
int folded_report(json_object *globals, const char *table, FILE *out);

#endif /* KTAPCTL_FOLDED_H */
