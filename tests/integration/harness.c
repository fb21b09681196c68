/*
 * harness.c: the integration tests' service manager, runner side.  The
 * harness starts netsvcd with NOTIFY_SOCKET pointing at an AF_UNIX
 * datagram socket, its stderr going to a log file, waits for READY=1 with
 * poll(), then reads the "listening on" lines to learn the ports.  Nothing
 * in it sleeps to wait for the daemon: every wait is a poll() on the notify
 * socket, a pidfd or a client socket, bounded in time, and every loop is
 * bounded in rounds too.  It is in six files:
 *
 *	harness.c		the run directory, failure reports, knobs, files
 *	harness-daemon.c	daemon life cycle and its endpoints
 *	harness-client.c	bounded TCP and UDP clients
 *	harness-http.c		the metrics endpoint over HTTP
 *	harness-proc.c		child processes, /proc, running the binary
 *	harness-rfc.c		the services fixture, data and RFC checks
 *
 * Criterion runs each test in a worker process.  The runner creates one run
 * directory (PRE_ALL hook) and passes it down in the environment; workers
 * put each daemon in <run>/<suite>.<test>.<n>/.  When a test fails, the
 * runner prints that test's daemon logs (POST_FINI and TEST_CRASH hooks),
 * and it removes the run directory at the end unless NETSVCD_KEEP is set.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include "harness.h"
#include "harness-int.h"

#ifndef NETSVCD_BIN
#define NETSVCD_BIN	""
#endif
#ifndef NETSVCD_SRCDIR
#define NETSVCD_SRCDIR	"."
#endif

#define HS_LOG_SHOW	(64 * 1024)	/* tail of a log printed on failure */

static int	 hs_rm_entry(const char *, const struct stat *, int,
		    struct FTW *);
static void	 hs_rm_tree(const char *);
static void	 hs_print_logs(const struct criterion_test *);

unsigned int		 hs_seq;
static char		 hs_rundir[128];	/* runner side only */

/* ---- Runner side: the run directory and failure reports ---- */

/* Create the run directory before any worker starts. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	const char	*tmp = getenv("TMPDIR");
	char		 tmpl[sizeof(hs_rundir)];

	(void)set;
	/* The notify socket path must fit in sun_path: keep it short. */
	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 40)
		tmp = "/tmp";
	if (snprintf(tmpl, sizeof(tmpl), "%s/netsvcd-itest.XXXXXX", tmp) >=
	    (int)sizeof(tmpl) || mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpl,
		    strerror(errno));
		return;
	}
	/* A daemon that dropped privileges still reads its config. */
	chmod(tmpl, 0755);
	memcpy(hs_rundir, tmpl, sizeof(hs_rundir));
	setenv(HS_RUNDIR_ENV, hs_rundir, 1);
}

/* A failed or timed-out test: show what its daemons logged. */
ReportHook(POST_FINI)(struct criterion_test_stats *st)
{
	if (st->test_status == CR_STATUS_FAILED || st->crashed ||
	    st->timed_out)
		hs_print_logs(st->test);
}

/* A crashed test never reaches POST_FINI. */
ReportHook(TEST_CRASH)(struct criterion_test_stats *st)
{
	hs_print_logs(st->test);
}

/* Remove the run directory unless asked to keep it. */
ReportHook(POST_ALL)(struct criterion_global_stats *st)
{
	(void)st;
	if (hs_rundir[0] == '\0')
		return;
	if (getenv("NETSVCD_KEEP") != NULL) {
		fprintf(stderr, "harness: logs kept in %s\n", hs_rundir);
		return;
	}
	hs_rm_tree(hs_rundir);
}

/* Print the tail of each daemon.log under <run>/<suite>.<test>.* */
static void
hs_print_logs(const struct criterion_test *t)
{
	DIR		*dir;
	struct dirent	*de;
	char		 prefix[256], path[PATH_MAX];
	char		*text;
	size_t		 plen, len, n = 0;

	if (hs_rundir[0] == '\0' || t == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "%s.%s.", t->category, t->name);
	plen = strlen(prefix);
	if ((dir = opendir(hs_rundir)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL && n++ < 1000) {
		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/daemon.log",
		    hs_rundir, de->d_name) >= (int)sizeof(path))
			continue;
		if ((text = hs_read_file(path, -1, HS_LOG_SHOW, &len)) == NULL)
			continue;
		fprintf(stderr, "---- %s (last %zu bytes) ----\n%s%s"
		    "---- end of %s ----\n", path, len, text,
		    len > 0 && text[len - 1] != '\n' ? "\n" : "", path);
		free(text);
	}
	closedir(dir);
}

/* nftw(3) callback of hs_rm_tree(). */
static int
hs_rm_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* rm -r, best effort. */
static void
hs_rm_tree(const char *path)
{
	nftw(path, hs_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- Paths and knobs ---- */

/* The daemon binary: $NETSVCD_BIN, else the one CMake built. */
const char *
hs_bin(void)
{
	const char	*env = getenv("NETSVCD_BIN");

	if (env != NULL && *env != '\0')
		return env;
	return NETSVCD_BIN;
}

/* The source tree: $NETSVCD_SRCDIR, else the one CMake configured. */
const char *
hs_srcdir(void)
{
	const char	*env = getenv("NETSVCD_SRCDIR");

	if (env != NULL && *env != '\0')
		return env;
	return NETSVCD_SRCDIR;
}

/* True when the daemon runs under a wrapper such as valgrind. */
int
hs_wrapped(void)
{
	const char	*env = getenv("NETSVCD_WRAPPER");

	return env != NULL && *env != '\0';
}

static cpu_set_t	hs_saved_cpus;
static int		hs_pinned;

/*
 * Run the test, and the daemons it starts from now on, on one CPU: a
 * client and a worker then tend to run right after the daemon's last step,
 * so a race between them shows up far more often.  Returns whether it
 * could (where it cannot, the test runs all the same).
 */
int
hs_pin_one_cpu(void)
{
	cpu_set_t	one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	hs_pinned = sched_getaffinity(0, sizeof(hs_saved_cpus),
	    &hs_saved_cpus) == 0 && sched_setaffinity(0, sizeof(one),
	    &one) == 0;
	return hs_pinned;
}

/* Undo hs_pin_one_cpu. */
void
hs_unpin(void)
{
	if (hs_pinned)
		(void)sched_setaffinity(0, sizeof(hs_saved_cpus),
		    &hs_saved_cpus);
	hs_pinned = 0;
}

/* Scale a timeout: wrappers like valgrind make the daemon much slower. */
int
hs_ms(int ms)
{
	const char	*env = getenv("NETSVCD_TIMEOUT_SCALE");
	long		 scale = hs_wrapped() ? 5 : 1;

	if (env != NULL && *env != '\0') {
		scale = strtol(env, NULL, 10);
		if (scale < 1 || scale > 100)
			scale = 1;
	}
	return (int)(ms * scale);
}

/* Milliseconds on the monotonic clock. */
int64_t
hs_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Files ---- */

/* Make a fresh directory for one daemon (or one set of files). */
void
hs_mkdir(char *dir, size_t len)
{
	const char	*run = getenv(HS_RUNDIR_ENV);
	const struct criterion_test *t = criterion_current_test;
	char		 tmpl[] = "/tmp/netsvcd-itest.XXXXXX";

	if (run != NULL && *run != '\0' && t != NULL) {
		snprintf(dir, len, "%s/%s.%s.%u", run, t->category, t->name,
		    ++hs_seq);
		if (mkdir(dir, 0755) == 0)
			return;
		cr_assert_fail("harness: mkdir %s: %s", dir, strerror(errno));
	}
	if (mkdtemp(tmpl) == NULL)
		cr_assert_fail("harness: mkdtemp: %s", strerror(errno));
	chmod(tmpl, 0755);
	snprintf(dir, len, "%s", tmpl);
}

/* Write a whole file or fail the test. */
void
hs_write_file(const char *path, const void *data, size_t len)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		cr_assert_fail("harness: %s: %s", path, strerror(errno));
	if ((len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		cr_assert_fail("harness: write %s failed", path);
}

/*
 * Read up to cap bytes of a file from offset start, or its last cap bytes
 * when start is -1; NUL-terminated, NULL if there is no such file.
 */
char *
hs_read_file(const char *path, long start, size_t cap, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	long	 size;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (start >= 0)
		fseek(f, start, SEEK_SET);
	else if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 &&
	    (size_t)size > cap)
		fseek(f, size - (long)cap, SEEK_SET);
	else
		rewind(f);
	if ((buf = malloc(cap + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, cap, f);
	buf[n] = '\0';
	fclose(f);
	if (lenp != NULL)
		*lenp = n;
	return buf;
}

/* Size of a file, 0 if it does not exist. */
long
hs_file_size(const char *path)
{
	struct stat	sb;

	return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}
