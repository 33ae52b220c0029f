// SPDX-License-Identifier: GPL-2.0
/*
 * A known workload for the engine tests and benchmarks: a sequence of steps,
 * each doing an exact number of system calls.
 *
 *   workload STEP...
 *     open PATH N      open(PATH) and close() it, N times
 *     getppid N        N getppid()
 *     read N           N one-byte read()s from /dev/zero
 *     spin MS          burn MS milliseconds of CPU time (however busy the
 *                      machine is)
 *     sleep MS         sleep MS milliseconds
 *     fork N           N children that exit at once (each waited for)
 *     rename NAME      prctl(PR_SET_NAME, NAME)
 *     pin CPU          run on CPU only from now on
 *     threads N        N threads, each doing 10 getppid()
 *     signal           raise(SIGUSR1) with a handler installed
 *
 * With -t, prints the seconds the steps took (for the benchmarks).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
	return seconds(CLOCK_MONOTONIC);
}

static void *thread_main(void *arg)
{
	int i;

	for (i = 0; i < 10; i++)
		syscall(SYS_getppid);
	return arg;
}

static void on_usr1(int sig)
{
}

static int usage(void)
{
	fputs("usage: workload [-t] STEP...\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	int i = 1, timed = 0;
	long n, k;
	double t0;
	char c;

	if (i < argc && !strcmp(argv[i], "-t")) {
		timed = 1;
		i++;
	}
	t0 = now();
	while (i < argc) {
		const char *step = argv[i++];

		if (!strcmp(step, "signal")) {
			signal(SIGUSR1, on_usr1);
			raise(SIGUSR1);
			continue;
		}
		if (i >= argc)
			return usage();
		if (!strcmp(step, "open")) {
			const char *path = argv[i++];

			if (i >= argc)
				return usage();
			n = atol(argv[i++]);
			for (k = 0; k < n; k++) {
				int fd = open(path, O_RDONLY);

				if (fd >= 0)
					close(fd);
			}
			continue;
		}
		if (!strcmp(step, "rename")) {
			prctl(PR_SET_NAME, argv[i++]);
			continue;
		}
		n = atol(argv[i++]);
		if (!strcmp(step, "getppid")) {
			/* syscall(): no libc caching or vDSO in the way. */
			for (k = 0; k < n; k++)
				syscall(SYS_getppid);
		} else if (!strcmp(step, "read")) {
			int fd = open("/dev/zero", O_RDONLY);

			for (k = 0; k < n; k++)
				if (read(fd, &c, 1) != 1)
					return 1;
			close(fd);
		} else if (!strcmp(step, "spin")) {
			double end = seconds(CLOCK_THREAD_CPUTIME_ID) +
				     (double)n / 1e3;

			while (seconds(CLOCK_THREAD_CPUTIME_ID) < end)
				;
		} else if (!strcmp(step, "sleep")) {
			usleep((useconds_t)(n * 1000));
		} else if (!strcmp(step, "fork")) {
			for (k = 0; k < n; k++) {
				pid_t pid = fork();

				if (pid == 0)
					_exit(0);
				if (pid > 0)
					waitpid(pid, NULL, 0);
			}
		} else if (!strcmp(step, "pin")) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET((int)n, &set);
			if (sched_setaffinity(0, sizeof(set), &set) < 0) {
				perror("workload: pin");
				return 1;
			}
		} else if (!strcmp(step, "threads")) {
			pthread_t *t = calloc((size_t)n, sizeof(*t));

			for (k = 0; k < n; k++)
				pthread_create(&t[k], NULL, thread_main, NULL);
			for (k = 0; k < n; k++)
				pthread_join(t[k], NULL);
			free(t);
		} else {
			return usage();
		}
	}
	if (timed)
		printf("%.6f\n", now() - t0);
	return 0;
}
