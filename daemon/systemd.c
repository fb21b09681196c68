/*
 * systemd.c: the only file that talks to systemd (sd_notify(3); D-Bus
 * for "netsvcd -s stop" alone).  Every function is a no-op when the daemon
 * was not started by a service manager (NOTIFY_SOCKET unset).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-login.h>

#include "netsvcd.h"

static void	strv_free_names(char **, int);
static void	systemd_on_watchdog(evutil_socket_t, short, void *);

/* Free the names array of sd_listen_fds_with_names(). */
static void
strv_free_names(char **names, int n)
{
	int	i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Whether a service manager listens for notifications (NOTIFY_SOCKET). */
int
systemd_notifying(void)
{
	return getenv("NOTIFY_SOCKET") != NULL;
}

/* READY=1 with a one-line STATUS=. */
void
systemd_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
systemd_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}

/* RELOADING=1 with the MONOTONIC_USEC that systemd 253+ wants. */
void
systemd_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

void
systemd_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

/*
 * After a handover (reexec.c): the new process is the main one now, and
 * ready.  Sent by the old process, which systemd still listens to; the
 * watchdog's ping gives the new one a whole interval before its first.
 */
void
systemd_mainpid(pid_t pid)
{
	sd_notifyf(0, "MAINPID=%ld\nREADY=1\nWATCHDOG=1\n"
	    "STATUS=handed over to pid %ld", (long)pid, (long)pid);
}

/*
 * What systemd passed at start (LISTEN_FDS), read once: sockets of
 * netsvcd.socket and entries of the fd store, told apart by name.
 */
static int	 *passed_fds;
static int	 *passed_kinds;		/* FDSTORE_* or -1: socket unit */
static size_t	  npassed;
static int	  passed_read;

/*
 * Connections are named "c", one letter: systemd passes the names of all
 * entries back in LISTEN_FDNAMES, one environment string, which execve(2)
 * takes only up to 128 KiB; with their former name, still read and
 * removed, about 5,900 connections would make the next start fail.
 */
static const char *const fdstore_names[] = {
	[FDSTORE_STATE] = "netsvcd-handover-state",
	[FDSTORE_LISTENER] = "netsvcd-handover-listener",
	[FDSTORE_CONN] = "c",
};
#define FDSTORE_CONN_FORMER	"netsvcd-handover-conn"

/* MAX_ARG_STRLEN with 4 KiB pages, less room for netsvcd.socket's names. */
#define FDNAMES_MAX		(32 * 4096 - 4096)

/* The kind of a passed descriptor's name: FDSTORE_*, or -1. */
static int
fdstore_kind(const char *name)
{
	int	k;

	if (name == NULL)
		return -1;
	if (strcmp(name, FDSTORE_CONN_FORMER) == 0)
		return FDSTORE_CONN;
	for (k = 0; k < FDSTORE_NKINDS; k++) {
		if (strcmp(name, fdstore_names[k]) == 0)
			return k;
	}
	return -1;
}

/*
 * How many connections the store can hand back beside nlisteners
 * listeners and the state, by the length of LISTEN_FDNAMES= (above).
 */
size_t
systemd_fdstore_conn_room(size_t nlisteners)
{
	size_t	used;

	used = sizeof("LISTEN_FDNAMES=") +
	    strlen(fdstore_names[FDSTORE_STATE]) + 1 +
	    nlisteners * (strlen(fdstore_names[FDSTORE_LISTENER]) + 1);
	if (used >= FDNAMES_MAX)
		return 0;
	return (FDNAMES_MAX - used) / (strlen(fdstore_names[FDSTORE_CONN]) + 1);
}

/*
 * Read LISTEN_FDS/LISTEN_FDNAMES once (sd_listen_fds_with_names checks
 * LISTEN_PID and unsets the variables).  Called by main() before anything
 * opens a descriptor.  Returns 0 or -1.
 */
int
systemd_listen_init(void)
{
	char	**names = NULL;
	int	  count, i;

	if (passed_read)
		return 0;
	passed_read = 1;
	if ((count = sd_listen_fds_with_names(1, &names)) <= 0)
		return count == 0 ? 0 : -1;
	if ((passed_fds = calloc((size_t)count, sizeof(int))) == NULL ||
	    (passed_kinds = calloc((size_t)count, sizeof(int))) == NULL) {
		strv_free_names(names, count);
		return -1;
	}
	for (i = 0; i < count; i++) {
		passed_fds[i] = SD_LISTEN_FDS_START + i;
		passed_kinds[i] = fdstore_kind(names != NULL ? names[i] : NULL);
		log_debug("passed by systemd: fd %d named %s",
		    SD_LISTEN_FDS_START + i,
		    names != NULL && names[i] != NULL ? names[i] : "-");
	}
	strv_free_names(names, count);
	npassed = (size_t)count;
	return 0;
}

/* The passed descriptors of one kind (-1: the socket unit's), malloc'd. */
static int
systemd_passed(int kind, int **fds, int **kinds, size_t *n)
{
	size_t	i, k = 0;

	*fds = NULL;
	*n = 0;
	if (systemd_listen_init() == -1)
		return -1;
	if (npassed == 0)
		return 0;
	if ((*fds = calloc(npassed, sizeof(int))) == NULL ||
	    (kinds != NULL && (*kinds = calloc(npassed, sizeof(int))) == NULL)) {
		free(*fds);
		*fds = NULL;
		return -1;
	}
	for (i = 0; i < npassed; i++) {
		if ((kind == -1) != (passed_kinds[i] == -1))
			continue;
		if (kinds != NULL)
			(*kinds)[k] = passed_kinds[i];
		(*fds)[k++] = passed_fds[i];
	}
	*n = k;
	return 0;
}

/*
 * The sockets passed by socket activation (LISTEN_FDS), as a malloc'd
 * array, without the fd store's entries.  They are matched to endpoints
 * by address, not by name: systemd gives every fd of one .socket unit the
 * same name.  Returns 0 (possibly with *n == 0) or -1.
 */
int
systemd_listen_fds(int **fds, size_t *n)
{
	return systemd_passed(-1, fds, NULL, n);
}

/* The fd store's entries passed at start, with their kinds (FDSTORE_*). */
int
systemd_fdstore_fds(int **fds, int **kinds, size_t *n)
{
	return systemd_passed(0, fds, kinds, n);
}

/*
 * How many descriptors the fd store takes: FileDescriptorStoreMax=, which
 * systemd 254 and later export as $FDSTORE; the unit sets it for 252.
 * 0 when there is no store (or no service manager).
 */
unsigned long
systemd_fdstore_max(void)
{
	const char	*s = getenv("FDSTORE");
	char		*end;
	unsigned long	 v;

	if (s == NULL || !systemd_notifying())
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > 1000000)
		return 0;
	return v;
}

/*
 * Put n descriptors of one kind in the fd store (FDSTORE=1, FDNAME=), in
 * messages of at most FDSTORE_BATCH descriptors.  Returns 0 or -1.
 */
int
systemd_fdstore_push(const int *fds, size_t n, int kind)
{
	char	msg[80];
	size_t	off, k;

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s",
	    fdstore_names[kind]);
	for (off = 0; off < n; off += k) {
		k = n - off < FDSTORE_BATCH ? n - off : FDSTORE_BATCH;
		if (sd_pid_notify_with_fds(0, 0, msg, fds + off,
		    (unsigned int)k) <= 0)
			return -1;
	}
	return 0;
}

/*
 * Empty the fd store of netsvcd's entries (FDSTOREREMOVE=1 per name, the
 * former name of connections too).
 */
void
systemd_fdstore_clear(void)
{
	char	msg[80];
	int	k;

	for (k = 0; k < FDSTORE_NKINDS; k++) {
		snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s",
		    fdstore_names[k]);
		sd_notify(0, msg);
	}
	sd_notify(0, "FDSTOREREMOVE=1\nFDNAME=" FDSTORE_CONN_FORMER);
}

/*
 * Wait until systemd has read every message sent before (BARRIER=1), so
 * that the descriptors are in the store before this process exits.
 */
int
systemd_barrier(void)
{
	return sd_notify_barrier(0, 5 * 1000000ULL) > 0 ? 0 : -1;
}

#define SYSTEMD_BUS	"org.freedesktop.systemd1"
#define SYSTEMD_PRIVATE	"unix:path=/run/systemd/private"
#define SYSTEMD_BUS_USEC	(5 * 1000000ULL)

/*
 * A bus to systemd: its private socket when root (no dbus-daemon needed;
 * ExecStop=+ runs as root), else the system bus.  NULL, with the reason
 * on stderr, when neither answers.
 */
static sd_bus *
systemd_bus_open(void)
{
	sd_bus	*bus = NULL;
	int	 r;

	if (geteuid() == 0 && sd_bus_new(&bus) >= 0) {
		if (sd_bus_set_address(bus, SYSTEMD_PRIVATE) >= 0 &&
		    sd_bus_start(bus) >= 0)
			goto opened;
		bus = sd_bus_flush_close_unref(bus);
	}
	if ((r = sd_bus_open_system(&bus)) < 0) {
		fprintf(stderr, "netsvcd: no D-Bus connection to systemd: "
		    "%s\n", strerror(-r));
		return NULL;
	}
opened:
	(void)sd_bus_set_method_call_timeout(bus, SYSTEMD_BUS_USEC);
	return bus;
}

/*
 * The type of the job systemd runs on unit ("stop", "restart"...), in
 * *type (to free).  0, or -1 with the reason on stderr (no job: -1 too).
 */
static int
systemd_unit_job(sd_bus *bus, const char *unit, char **type)
{
	sd_bus_error	 err = SD_BUS_ERROR_NULL;
	sd_bus_message	*reply = NULL;
	char		*upath = NULL;
	const char	*jpath;
	uint32_t	 id = 0;
	int		 r;

	if ((r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit,
	    &upath)) < 0 ||
	    (r = sd_bus_get_property(bus, SYSTEMD_BUS, upath,
	    SYSTEMD_BUS ".Unit", "Job", &err, &reply, "(uo)")) < 0 ||
	    (r = sd_bus_message_read(reply, "(uo)", &id, &jpath)) < 0 ||
	    id == 0 ||
	    (r = sd_bus_get_property_string(bus, SYSTEMD_BUS, jpath,
	    SYSTEMD_BUS ".Job", "JobType", &err, type)) < 0) {
		fprintf(stderr, "netsvcd: no job of %s: %s\n", unit,
		    id == 0 && r >= 0 ? "none queued" : sd_bus_error_is_set(&err) ?
		    err.message : strerror(-r));
		r = -1;
	}
	sd_bus_message_unref(reply);
	sd_bus_error_free(&err);
	free(upath);
	return r < 0 ? -1 : 0;
}

/*
 * For "netsvcd -s stop" under ExecStop=: whether systemd stops the unit
 * of this process for a restart (1: the fd store outlives it) or for good
 * (0: systemd closes the store once the unit is down).  -1 when it cannot
 * tell (not in a unit, no bus, no job), with the reason on stderr.
 */
int
systemd_stop_is_restart(void)
{
	sd_bus	*bus;
	char	*unit = NULL, *type = NULL;
	int	 r;

	if ((r = sd_pid_get_unit(0, &unit)) < 0) {
		fprintf(stderr, "netsvcd: no systemd unit found for this "
		    "process: %s\n", strerror(-r));
		return -1;
	}
	r = -1;
	if ((bus = systemd_bus_open()) != NULL &&
	    systemd_unit_job(bus, unit, &type) == 0)
		r = strcmp(type, "restart") == 0 ||
		    strcmp(type, "try-restart") == 0;
	sd_bus_flush_close_unref(bus);
	free(type);
	free(unit);
	return r;
}

/* WATCHDOG=1, from the watchdog timer. */
static void
systemd_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	sd_notify(0, "WATCHDOG=1");
}

/*
 * When the service manager enabled the watchdog (WATCHDOG_USEC), ping it
 * from a timer at half the interval, and now unless ping_now is 0 (after
 * a SIGUSR2 handover systemd listens to the old process until it says
 * MAINPID=, with a ping of its own).  Returns the timer, or NULL when
 * there is no watchdog (or no memory: then systemd will restart us, which
 * is the watchdog doing its job).
 */
struct event *
systemd_watchdog_start(struct event_base *base, int ping_now)
{
	struct event	*ev;
	struct timeval	 tv;
	uint64_t	 usec;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return NULL;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	if ((ev = event_new(base, -1, EV_PERSIST, systemd_on_watchdog,
	    NULL)) == NULL || event_add(ev, &tv) == -1) {
		log_warnx("watchdog: cannot start the timer");
		if (ev != NULL)
			event_free(ev);
		return NULL;
	}
	if (ping_now)
		sd_notify(0, "WATCHDOG=1");
	log_debug("watchdog: ping every %llu ms",
	    (unsigned long long)(usec / 1000));
	return ev;
}

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"

/*
 * The address of peer, without brackets, into host, and its port: the
 * journal's REMOTE_ADDR and REMOTE_PORT, taken from the sockaddr itself.
 */
unsigned int
systemd_peer(const struct sockaddr *peer, char *host, size_t len)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	host[0] = '\0';
	if (peer->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)peer;
		inet_ntop(AF_INET, &sin->sin_addr, host, (socklen_t)len);
		return ntohs(sin->sin_port);
	}
	if (peer->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)peer;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, (socklen_t)len);
		return ntohs(sin6->sin6_port);
	}
	return 0;
}

/*
 * The connection log: one line per closed connection, with structured
 * fields when the journal is the log sink.
 */
void
systemd_log_conn(const char *instance, const struct sockaddr *peer,
    uint64_t bytes_in, uint64_t bytes_out, uint64_t usec, const char *why)
{
	char		addr[64], host[INET6_ADDRSTRLEN];
	unsigned int	port;

	if (log_getlevel() < LOG_LEVEL_INFO)
		return;
	sockaddr_format(peer, addr, sizeof(addr));
	port = systemd_peer(peer, host, sizeof(host));
	/*
	 * sd_journal_send() drops the entry silently, and succeeds, when
	 * journald's socket is missing: then the plain line goes out.
	 */
	if (log_is_journal() && access(JOURNAL_SOCKET, W_OK) == 0 &&
	    sd_journal_send("MESSAGE=%s: %s closed (%s): "
	    "%llu bytes in, %llu bytes out, %llu ms", instance, addr, why,
	    (unsigned long long)bytes_in, (unsigned long long)bytes_out,
	    (unsigned long long)(usec / 1000),
	    "PRIORITY=6", "NETSVCD_INSTANCE=%s", instance,
	    "REMOTE_ADDR=%s", host, "REMOTE_PORT=%u", port,
	    "BYTES_IN=%llu", (unsigned long long)bytes_in,
	    "BYTES_OUT=%llu", (unsigned long long)bytes_out,
	    "DURATION_USEC=%llu", (unsigned long long)usec,
	    "REASON=%s", why, NULL) >= 0)
		return;
	log_info("%s: %s closed (%s): %llu bytes in, %llu bytes out, %llu ms",
	    instance, addr, why, (unsigned long long)bytes_in,
	    (unsigned long long)bytes_out, (unsigned long long)(usec / 1000));
}
