/*
 * main.c: command line, startup order and exit codes.
 * Exit status: 0 success, 1 bad config or startup failure, 2 usage error.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <linux/close_range.h>


#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "netsvcd.h"

static void	usage(FILE *);
static void	main_libevent_log(int, const char *);
static int	main_check(const char *path, int print);
static int	main_version(const char *path);
static int	main_signal(const char *path, const char *what);
static int	main_stop_bound(const char *path);
static int	main_lock_dir(char *, size_t);
static int	main_lock(const char *path, int inherited);
static void	main_unlock(int handed_over);
static void	main_exe(void);

static char	main_lock_path[PATH_MAX + 64];	/* held, or "" */
static int	main_lock_fd = -1;
static char	main_exe_path[PATH_MAX];	/* the binary, "" unknown */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: netsvcd [-fhTtV] [-c file] [-l level] [-s reload|stop]\n"
	    "  -c, --config FILE     configuration file (default %s)\n"
	    "  -f, --foreground      stay in the foreground (always the case)\n"
	    "  -t, --test            check the configuration, exit\n"
	    "  -T, --test-print      check it and print it resolved, exit\n"
	    "  -l, --log-level LEVEL debug, info, notice, warning or err\n"
	    "  -s, --signal reload   check the file, make the running daemon\n"
	    "                        reload it, exit 0 only if that worked\n"
	    "  -s, --signal stop     stop the running daemon (SIGTERM), exit\n"
	    "                        once it is gone\n"
	    "  -V, --version         print the version (with -c, the modules"
	    " too) and exit\n"
	    "      --import-inetd FILE  print FILE (an inetd.conf) as "
	    "netsvcd sections\n"
	    "  -h, --help            print this help and exit\n",
	    NETSVCD_DEFAULT_CONFIG);
}

/* libevent's own warnings go through our log. */
static void
main_libevent_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

/*
 * Descriptors netsvcd was started with beyond 0, 1 and 2 (left open by a
 * shell or a supervisor) must not reach the programs it runs: mark them
 * all close-on-exec.  Those it takes up (systemd's sockets, a handover's)
 * are marked so anyway, and stay usable.
 */
static void
main_cloexec_inherited(void)
{
	long	max = sysconf(_SC_OPEN_MAX);
	int	fd;

	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	/* Kernels before 5.11: one by one, up to the descriptor limit. */
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * Load the config, printing every error: plain lines for -t, log lines at
 * error priority at start (the journal's "-p err" shows why), then a
 * count and the outcome ("not started", "not reloaded").  Returns it or
 * NULL.
 */
static struct config *
main_load(const char *path, int check, const char *outcome)
{
	struct config_errors	 errs = { NULL, 0 };
	struct config		*conf;
	size_t			 i;

	conf = config_load(path, &errs);
	for (i = 0; i < errs.count; i++) {
		if (check)
			fprintf(stderr, "%s\n", errs.msg[i]);
		else
			log_errx("%s", errs.msg[i]);
	}
	if (conf == NULL && check)
		fprintf(stderr, "netsvcd: %s: %zu error%s, %s\n", path,
		    errs.count, errs.count == 1 ? "" : "s", outcome);
	else if (conf == NULL)
		log_errx("%s: %zu error%s, %s", path,
		    errs.count, errs.count == 1 ? "" : "s", outcome);
	config_errors_free(&errs);
	return conf;
}

/*
 * -t: check the config and print one line (the errors go to stderr), as
 * nginx and sshd do, since ExecStartPre= and ExecReload= run it; -T
 * (print set): print the resolved config instead.  The exit status.
 */
static int
main_check(const char *path, int print)
{
	struct config	*conf;

	spawn_set_testing(1);	/* user = ... warns: the daemon may be root */
	if ((conf = main_load(path, 1, "not started")) == NULL)
		return 1;
	spawn_check_config(conf, stderr);
	if (print)
		config_print(conf, stdout);
	else
		printf("netsvcd: configuration file %s test is successful\n",
		    path);
	config_unref(conf);
	return 0;
}

/*
 * -V: the version; with -c, also the module ABI and each module that the
 * config loads, with its version.  The exit status.
 */
static int
main_version(const char *path)
{
	struct config	*conf;

	printf("netsvcd %s\n", NETSVCD_VERSION);
	if (path == NULL)
		return 0;
	printf("module ABI %d\n", NETSVCD_SERVICE_ABI);
	(void)fflush(stdout);
	if ((conf = main_load(path, 1, "not started")) == NULL)
		return 1;
	module_print(&conf->modules, 0, stdout);
	config_unref(conf);
	return 0;
}

/*
 * The directory for the lock file: systemd's RuntimeDirectory=, else
 * /run/netsvcd for root, $XDG_RUNTIME_DIR or /tmp/netsvcd-UID for others.
 * A directory we made must be ours and writable by nobody else, or a local
 * user could hold our lock.  Returns 0, or -1 when there is none.
 */
static int
main_lock_dir(char *buf, size_t len)
{
	const char	*env;
	struct stat	 st;
	int		 mine = 1;

	if ((env = getenv("RUNTIME_DIRECTORY")) != NULL && *env != '\0') {
		snprintf(buf, len, "%.*s", (int)strcspn(env, ":"), env);
		mine = 0;
	} else if (geteuid() == 0)
		snprintf(buf, len, "/run/netsvcd");
	else if ((env = getenv("XDG_RUNTIME_DIR")) != NULL && *env != '\0') {
		snprintf(buf, len, "%s", env);
		mine = 0;
	} else
		snprintf(buf, len, "/tmp/netsvcd-%lu",
		    (unsigned long)geteuid());
	if (mine && mkdir(buf, geteuid() == 0 ? 0755 : 0700) == -1 &&
	    errno != EEXIST)
		return -1;
	if (lstat(buf, &st) == -1 || !S_ISDIR(st.st_mode))
		return -1;
	if (mine && (st.st_uid != geteuid() || (st.st_mode & 022) != 0))
		return -1;
	return 0;
}

/*
 * The binary's path as started, for SIGUSR2 (reexec.c): the file there is
 * what runs next, so a package upgrade takes effect.
 */
static void
main_exe(void)
{
	ssize_t	n;

	n = readlink("/proc/self/exe", main_exe_path,
	    sizeof(main_exe_path) - 1);
	main_exe_path[n > 0 ? n : 0] = '\0';
}

/*
 * Refuse to serve a config another copy of netsvcd already serves: with
 * workers, the kernel lets a second copy of the same user join the
 * SO_REUSEPORT groups, and the two would silently split the traffic.  The
 * lock is an flock(2) on a file named after the config's real path; it
 * lasts as long as the process; after a handover (SIGUSR2) the new process
 * inherits it (inherited: its descriptor, or -1).  Returns 0, or -1 after
 * logging why.
 */
static int
main_lock(const char *path, int inherited)
{
	char		 dir[PATH_MAX], real[PATH_MAX], file[PATH_MAX + 64];
	char		 pid[32];
	struct stat	 a, b;
	uint64_t	 h = 14695981039346656037ULL;
	const char	*p;
	ssize_t		 n;
	int		 fd, tries;

	/*
	 * The old process's lock, still held: keep it, wherever it is (a
	 * daemon that dropped root would look in another directory).
	 */
	if (inherited != -1) {
		snprintf(dir, sizeof(dir), "/proc/self/fd/%d", inherited);
		if (fstat(inherited, &a) == 0 && S_ISREG(a.st_mode) &&
		    flock(inherited, LOCK_EX | LOCK_NB) == 0 &&
		    (n = readlink(dir, file, sizeof(file) - 1)) > 0) {
			file[n] = '\0';
			fd = inherited;
			goto locked;
		}
		close(inherited);
	}
	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	if (main_lock_dir(dir, sizeof(dir)) == -1) {
		log_warnx("no private runtime directory for the lock file: "
		    "a second copy on %s would not be detected", real);
		return 0;
	}
	for (p = real; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(file, sizeof(file), "%s/netsvcd-%016llx.lock", dir,
	    (unsigned long long)h);
	/* The file may be unlinked by its holder between open and flock. */
	for (tries = 0; tries < 3; tries++) {
		fd = open(file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0644);
		if (fd == -1) {
			log_errx("cannot open the lock file %s: %s", file,
			    strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			n = read(fd, pid, sizeof(pid) - 1);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			log_errx("another netsvcd%s%s already serves %s (lock %s "
			    "is held): not started", *pid ? " with pid " : "",
			    pid, real, file);
			close(fd);
			return -1;
		}
		if (fstat(fd, &a) == 0 && stat(file, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		log_errx("cannot take the lock file %s", file);
		return -1;
	}
locked:
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, pid, strlen(pid), 0) != (ssize_t)strlen(pid))
		log_debug("lock file %s: %s", file, strerror(errno));
	snprintf(main_lock_path, sizeof(main_lock_path), "%s", file);
	main_lock_fd = fd;	/* open, and locked, until main_unlock */
	return 0;
}

/*
 * Remove the lock file while still holding it: a copy starting meanwhile
 * notices (main_lock compares the inode) and takes a new file.  After a
 * handover the new process holds it on: then only close.
 */
static void
main_unlock(int handed_over)
{
	if (main_lock_fd == -1)
		return;
	if (!handed_over)
		(void)unlink(main_lock_path);	/* may fail without root */
	close(main_lock_fd);
	main_lock_fd = -1;
}

/*
 * How long -s stop waits for the daemon: what its stop may take by the
 * file on disk (drain_delay, shutdown_timeout, the programs' grace between
 * SIGTERM and SIGKILL) and a margin; two minutes when the file does not
 * load (a stop must not depend on it).
 */
static int
main_stop_bound(const char *path)
{
	struct config_errors	 errs = { NULL, 0 };
	struct config		*conf;
	uint64_t		 ms = CONTROL_STOP_TIMEOUT_MS;

	conf = config_load(path, &errs);
	config_errors_free(&errs);
	if (conf != NULL) {
		ms = conf->daemon.drain_delay_ms +
		    conf->daemon.shutdown_timeout_ms + SPAWN_KILL_GRACE_MS +
		    CONTROL_STOP_MARGIN_MS;
		config_unref(conf);
	}
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * -s reload: check the file (its errors are printed here, for the
 * journal of the reload job), then have the daemon reload it and report.
 * -s stop: stop the daemon and wait until it is gone (control.c).
 */
static int
main_signal(const char *path, const char *what)
{
	struct config	*conf;

	if (strcmp(what, "stop") == 0)
		return control_stop(main_stop_bound(path));
	if (strcmp(what, "reload") != 0) {
		fprintf(stderr, "netsvcd: unknown signal '%s' (reload, stop)\n",
		    what);
		return 2;
	}
	if ((conf = main_load(path, 1, "not reloaded")) == NULL)
		return 1;
	config_unref(conf);
	return control_reload(CONTROL_TIMEOUT_MS);
}

int
main(int argc, char *argv[])
{
	static const struct option	 longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "test", no_argument, NULL, 't' },
		{ "test-print", no_argument, NULL, 'T' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "signal", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "import-inetd", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	const char			*path = NETSVCD_DEFAULT_CONFIG;
	const char			*import = NULL;
	const char			*sig = NULL;
	struct config			*conf;
	struct daemon			*d;
	struct handover_in		*hin;
	struct sigaction		 sa;
	int				 ch, check = 0, level = -1, status;
	int				 version = 0, have_path = 0;
	int				 lockfd, handed;

	/* The child side of an exec instance's spawn (spawn.c). */
	if (argc > 1 && strcmp(argv[1], "--exec-helper") == 0)
		return spawn_helper_main(argc, argv);
	main_cloexec_inherited();
	log_init(LOG_LEVEL_INFO);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:ftTl:s:Vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			have_path = 1;
			break;
		case 'f':
			break;	/* netsvcd never forks into the background */
		case 't':
			check = check == 2 ? 2 : 1;
			break;
		case 'T':
			check = 2;
			break;
		case 's':
			sig = optarg;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) == -1) {
				fprintf(stderr, "netsvcd: unknown log level "
				    "'%s' (debug, info, notice, warning, "
				    "err)\n", optarg);
				return 2;
			}
			break;
		case 'V':
			version = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'I':
			import = optarg;
			break;
		case ':':
			fprintf(stderr, "netsvcd: option '%s' needs an "
			    "argument\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		default:
			fprintf(stderr, "netsvcd: unknown option '%s'\n",
			    argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "netsvcd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (version)
		return main_version(have_path ? path : NULL);
	if (import != NULL)
		return import_inetd_main(import);
	if (check)
		return main_check(path, check == 2);
	if (sig != NULL)
		return main_signal(path, sig);

	/* Before anything opens a descriptor: what SIGUSR2 passed on. */
	main_exe();
	lockfd = reexec_lock_fd();
	if (systemd_listen_init() == -1)
		log_warnx("cannot read LISTEN_FDS");
	if ((hin = reexec_inherit(lockfd)) == NULL)
		hin = reexec_inherit_store(lockfd);	/* a systemd restart */
	if ((conf = main_load(path, 0, "not started")) == NULL) {
		reexec_inherit_free(hin);
		return 1;
	}
	log_setlevel(level != -1 ? level : conf->daemon.log_level);
	event_set_log_callback(main_libevent_log);
	if (main_lock(path, lockfd) == -1) {
		reexec_inherit_free(hin);
		config_unref(conf);
		return 1;
	}

	/* A peer closing early must never kill the process. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("sigaction SIGPIPE");

	if ((d = daemon_new(conf->daemon.workers != 0 ?
	    conf->daemon.workers : workers_auto())) == NULL)
		fatal("cannot set up the event loops");
	d->log_level_forced = level != -1;
	d->hin = hin;
	d->exe = main_exe_path[0] != '\0' ? main_exe_path : NULL;
	d->argv = argv;
	d->lock_fd = main_lock_fd;
	if (daemon_start(d, conf) == -1) {
		daemon_free(d);
		libevent_global_shutdown();
		main_unlock(0);
		log_errx("not started");
		return 1;
	}
	status = daemon_run(d) == -1 ? 1 : 0;
	handed = d->handed_over;
	daemon_free(d);
	libevent_global_shutdown();
	main_unlock(handed);
	if (!handed)
		control_withdraw();	/* no stale "ok" for the next -s */
	if (handed)
		log_notice("stopped; pid %d serves on", handed);
	else
		log_notice("stopped");
	return status;
}
