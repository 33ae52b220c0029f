/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktapctl's commands and what they share: exit statuses and the few
 * helpers every command needs.
 */
#ifndef KTAPCTL_H
#define KTAPCTL_H

#include <stddef.h>

/* Exit statuses shared by the command-line tools (see doc/language.md). */
#define KTAPCTL_EXIT_OK 0
#define KTAPCTL_EXIT_COMPILE 1 /* compile error, unreadable script */
#define KTAPCTL_EXIT_USAGE 2

/* A command: argv[0] is its name; returns the exit status. */
int cmd_compile(int argc, char **argv);

/* Read a whole file ("-": standard input) into a malloc'ed buffer. */
int read_file(const char *path, char **data, size_t *len);

#endif /* KTAPCTL_H */
