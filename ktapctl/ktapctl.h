/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktapctl's commands and what they share: exit statuses and the few
 * helpers every command needs.
 */
#ifndef KTAPCTL_H
#define KTAPCTL_H

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses shared by the command-line tools (see doc/language.md). */
#define KTAPCTL_EXIT_OK 0
#define KTAPCTL_EXIT_COMPILE 1 /* compile error, unreadable script */
#define KTAPCTL_EXIT_FAILURE 1 /* ktapd unreachable, or it refused the call */
#define KTAPCTL_EXIT_USAGE 2
#define KTAPCTL_EXIT_RUNTIME 3 /* the script ended with a runtime error */
#define KTAPCTL_EXIT_VERIFY 4 /* the verifier rejected the bytecode */
/* A second Ctrl-C: the tool gave up waiting for the session to end. */
#define KTAPCTL_EXIT_INTERRUPTED 130

/* "ktapctl" or "ktap": the prefix of every message. */
extern const char *program_name;

/* A command: argv[0] is its name; returns the exit status. */
int cmd_compile(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_bridge(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_list_funcs(int argc, char **argv);
int cmd_list_markers(int argc, char **argv);

/*
 * Print the functions (markers: the SDT markers) of the ELF file path
 * matching glob (NULL: all) as probe:/sdt: event specs; returns the exit
 * status (failure when the file is unreadable or nothing matched).
 */
int list_dso(const char *path, const char *glob, bool markers);

/* The classic ktap command line (argv[0] is "ktap"). */
int ktap_main(int argc, char **argv);

/* Read a whole file ("-": standard input) into a malloc'ed buffer. */
int read_file(const char *path, char **data, size_t *len);

/*
 * Print "PROGRAM: message\n" to stderr; %m in fmt is strerror(-r).
 * Returns r, so that callers write `return ctl_error(r, "...: %m", ...)`.
 */
int ctl_error(int r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* KTAPCTL_H */
