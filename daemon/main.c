/*
 * main.c: command line, startup order and exit codes.
 * Exit status: 0 success, 1 bad config or startup failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "netsvcd.h"

static void	usage(FILE *);
static void	main_libevent_log(int, const char *);
static int	main_check(const char *path, int print);
static int	main_signal(const char *path, const char *what);

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: netsvcd [-fhtV] [-c file] [-l level] [-s reload]\n"
	    "  -c, --config FILE     configuration file (default %s)\n"
	    "  -f, --foreground      stay in the foreground (always the case)\n"
	    "  -t, --test            check the configuration, print it, exit\n"
	    "  -l, --log-level LEVEL debug, info, notice, warning or err\n"
	    "  -s, --signal reload   check the file, make the running daemon\n"
	    "                        reload it, exit 0 only if that worked\n"
	    "  -V, --version         print the version and exit\n"
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

/* Load the config, printing every error; returns it or NULL. */
static struct config *
main_load(const char *path)
{
	struct config_errors	 errs = { NULL, 0 };
	struct config		*conf;
	size_t			 i;

	conf = config_load(path, &errs);
	for (i = 0; i < errs.count; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	if (conf == NULL)
		fprintf(stderr, "netsvcd: %s: %zu error%s, not started\n", path,
		    errs.count, errs.count == 1 ? "" : "s");
	config_errors_free(&errs);
	return conf;
}

/* -t: check and print the resolved config; the exit status. */
static int
main_check(const char *path, int print)
{
	struct config	*conf;

	if ((conf = main_load(path)) == NULL)
		return 1;
	if (print)
		config_print(conf, stdout);
	printf("netsvcd: configuration file %s is OK\n", path);
	config_unref(conf);
	return 0;
}

/*
 * -s reload: check the file (its errors are printed here, for the
 * journal of the reload job), then have the daemon reload it and report.
 */
static int
main_signal(const char *path, const char *what)
{
	struct config	*conf;

	if (strcmp(what, "reload") != 0) {
		fprintf(stderr, "netsvcd: unknown signal '%s' (reload)\n",
		    what);
		return 2;
	}
	if ((conf = main_load(path)) == NULL)
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
		{ "log-level", required_argument, NULL, 'l' },
		{ "signal", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char			*path = NETSVCD_DEFAULT_CONFIG;
	const char			*sig = NULL;
	struct config			*conf;
	struct daemon			*d;
	struct sigaction		 sa;
	int				 ch, check = 0, level = -1, status;

	log_init(LOG_LEVEL_INFO);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:ftl:s:Vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			break;	/* netsvcd never forks into the background */
		case 't':
			check = 1;
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
			printf("netsvcd %s\n", NETSVCD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
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
	if (check)
		return main_check(path, 1);
	if (sig != NULL)
		return main_signal(path, sig);

	if ((conf = main_load(path)) == NULL)
		return 1;
	log_setlevel(level != -1 ? level : conf->daemon.log_level);
	event_set_log_callback(main_libevent_log);

	/* A peer closing early must never kill the process. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("sigaction SIGPIPE");

	if ((d = daemon_new(conf->daemon.workers != 0 ?
	    conf->daemon.workers : workers_auto())) == NULL)
		fatal("cannot set up the event loops");
	d->log_level_forced = level != -1;
	if (daemon_start(d, conf) == -1) {
		daemon_free(d);
		libevent_global_shutdown();
		log_warnx("not started");
		return 1;
	}
	status = daemon_run(d) == -1 ? 1 : 0;
	daemon_free(d);
	libevent_global_shutdown();
	log_notice("stopped");
	return status;
}
