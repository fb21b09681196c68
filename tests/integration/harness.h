/*
 * harness.h: a small service manager for the integration tests (harness*.c;
 * harness.c lists its files).  It starts the built netsvcd on a temporary
 * config with NOTIFY_SOCKET set, waits for READY=1, learns the ports from
 * the "instance NAME listening on URL" lines of the daemon's stderr, and
 * offers bounded client helpers that talk only to 127.0.0.1 and ::1.
 *
 * Each daemon gets a directory under one run directory created by the test
 * runner; its stderr goes to daemon.log there.  When a test fails, the
 * runner prints the logs of that test's daemons.  Set NETSVCD_KEEP=1 to keep
 * the run directory, NETSVCD_BIN to test another binary and NETSVCD_WRAPPER
 * (for example "valgrind --error-exitcode=99") to run the daemon under a
 * wrapper; NETSVCD_TIMEOUT_SCALE multiplies every harness timeout.
 */
#ifndef NETSVCD_HARNESS_H
#define NETSVCD_HARNESS_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define HS_MAX_ENDPOINTS	64
#define HS_MAX_FILES		16
#define HS_MAX_ACTIVATED	8

/* One endpoint the daemon reported as listening. */
struct hs_endpoint {
	char			 instance[64];
	int			 type;		/* SOCK_STREAM or SOCK_DGRAM */
	int			 family;	/* AF_INET or AF_INET6 */
	int			 port;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			 url[96];
	unsigned int		 gen;		/* hs_reload() count then */
};

/* One daemon started by the harness. */
struct hs_daemon {
	char			 dir[160];
	char			 conf_path[192];
	char			 log_path[192];
	char			 notify_path[192];
	char			*files[HS_MAX_FILES];	/* paths, for cleanup */
	size_t			 nfiles;
	int			 notify_fd;
	int			 pidfd;		/* -1 if unsupported */
	pid_t			 pid;
	int			 running;
	int			 status;		/* once exited */
	int			 ready;			/* READY=1 seen */
	int			 stopping;		/* STOPPING=1 seen */
	int			 reloading;		/* RELOADING=1 seen */
	char			 last_status[256];	/* last STATUS= */
	int			 act_fds[HS_MAX_ACTIVATED];	/* hs_bind() */
	char			 act_urls[HS_MAX_ACTIVATED][96];
	size_t			 nact;
	long			 log_start;	/* log offset, this run */
	unsigned int		 reloads;	/* hs_reload() calls */
	int			 journal;	/* JOURNAL_STREAM = the log */
	struct hs_endpoint	 eps[HS_MAX_ENDPOINTS];
	size_t			 neps;
};

/* Result of hs_run(): a command run to completion. */
struct hs_result {
	int			 status;	/* wait status, -1 on timeout */
	int			 exit_code;	/* -1 unless exited normally */
	char			*out;		/* stdout, NUL-terminated */
	size_t			 outlen;
	char			*err;		/* stderr, NUL-terminated */
	size_t			 errlen;
};

/* One HTTP response, read until the server closed the connection. */
struct hs_http {
	char			*raw;		/* NUL-terminated */
	size_t			 rawlen;
	int			 major;
	int			 minor;
	int			 status;
	const char		*body;
	size_t			 bodylen;
};

/*
 * One bounded transfer on a non-blocking stream socket: send out (then
 * shutdown(SHUT_WR) if shut_wr) while reading into in.  It ends when out is
 * sent and either incap bytes were read or, with until_eof, EOF was seen.
 */
struct hs_xfer {
	const void		*out;
	size_t			 outlen;
	int			 shut_wr;
	void			*in;
	size_t			 incap;
	int			 until_eof;
	size_t			 sent;		/* result */
	size_t			 inlen;		/* result */
	int			 eof;		/* result */
};

/* harness.c: paths and knobs. */
const char	*hs_bin(void);
const char	*hs_srcdir(void);
int		 hs_ms(int ms);		/* ms scaled for slow wrappers */
int		 hs_pin_one_cpu(void);	/* races show up more */
void		 hs_unpin(void);
int		 hs_wrapped(void);	/* NETSVCD_WRAPPER is set */
int64_t		 hs_now_ms(void);	/* monotonic */

/* harness-daemon.c: life cycle; failures end the test with a message. */
struct hs_daemon *hs_new(void);
const char	*hs_file(struct hs_daemon *, const char *name, const void *,
		    size_t);
void		 hs_start(struct hs_daemon *, const char *conf);
int		 hs_start_fails(struct hs_daemon *, const char *conf);
struct hs_daemon *hs_spawn(const char *conf);
int		 hs_wait_notify(struct hs_daemon *, const char *what,
		    int timeout_ms);
int		 hs_signal(struct hs_daemon *, int sig);
int		 hs_wait_exit(struct hs_daemon *, int timeout_ms);
int		 hs_stop(struct hs_daemon *, int timeout_ms);
void		 hs_stop_ok(struct hs_daemon *);
char		*hs_log(struct hs_daemon *);
int		 hs_log_has(struct hs_daemon *, const char *);
int		 hs_log_count(struct hs_daemon *, const char *);
int		 hs_log_wait(struct hs_daemon *, const char *, int timeout_ms);
void		 hs_teardown(void);

/* harness-daemon.c: socket activation, reload and endpoints. */
const char	*hs_bind(struct hs_daemon *, const char *url);
void		 hs_reload(struct hs_daemon *, const char *conf);
void		 hs_free_ports(int type, int family, int *, size_t);
const struct hs_endpoint *hs_endpoint(struct hs_daemon *, const char *,
		    int type, int family);

/* harness-client.c: bounded clients. */
int		 hs_connect_ep(const struct hs_endpoint *, int timeout_ms);
int		 hs_connect(struct hs_daemon *, const char *, int type,
		    int family);
int		 hs_xfer(int fd, struct hs_xfer *, int timeout_ms);
int		 hs_stream(int fd, const void *out, void *in, size_t len,
		    struct hs_xfer *, int timeout_ms);
int		 hs_send_all(int fd, const void *, size_t, int timeout_ms);
ssize_t		 hs_recv_n(int fd, void *, size_t, int timeout_ms);
ssize_t		 hs_read_eof(int fd, void *, size_t, int timeout_ms);
int		 hs_wait_closed(int fd, int timeout_ms);
ssize_t		 hs_udp_ask(int fd, const void *, size_t, void *, size_t,
		    int timeout_ms);
ssize_t		 hs_udp_recv(int fd, void *, size_t, int timeout_ms);
int		 hs_udp_silent(int fd, int timeout_ms);
void		 hs_echo(int fd, const char *, int timeout_ms);
void		 hs_warm_echo(int fd, uint64_t seed, int timeout_ms);
void		 hs_close(int fd);
unsigned	 hs_segments_in(struct hs_daemon *, const char *instance,
		    const void *hdr, size_t hdrlen);

/* harness-http.c: the metrics endpoint over HTTP. */
int		 hs_metrics_port(struct hs_daemon *);
void		 hs_loopback_ep(int port, struct hs_endpoint *);
int		 hs_http_try(int port, const char *req, struct hs_http *);
void		 hs_http(int port, const char *req, struct hs_http *);
int		 hs_http_get(int port, const char *path, char *body,
		    size_t);
const char	*hs_http_header(const struct hs_http *, const char *);
void		 hs_http_free(struct hs_http *);
long long	 hs_metric(const char *body, const char *series);
long long	 hs_scrape(int port, const char *series);

/* harness-proc.c: the daemon as seen from /proc. */
long		 hs_rss_kib(struct hs_daemon *);
long		 hs_hwm_kib(struct hs_daemon *);
int		 hs_nfds(struct hs_daemon *);
long		 hs_cpu_ms(struct hs_daemon *);

/* harness-proc.c: running the binary as a command (CLI tests). */
int		 hs_run(struct hs_result *, int timeout_ms, ...);
void		 hs_result_free(struct hs_result *);
int		 hs_has_service(const char *);

/*
 * harness-rfc.c: the services fixture: every service on TCP and UDP,
 * 127.0.0.1 and ::1, one instance per service named after it, plus
 * banner_file (message_file), banner_esc (escapes) and daytime_fmt
 * (format = %Y-%m-%dT%H:%M:%SZ, utc).
 */
#define HS_NQUOTES	3
extern const char *const hs_quotes[HS_NQUOTES];
extern const char	 hs_banner_utf8[];	/* instance "banner" */
extern const char	 hs_banner_file[];	/* instance "banner_file" */
extern const char	 hs_banner_esc[];	/* instance "banner_esc" */
#define HS_NBANNERS	3
/* The three banner instances above, each with the bytes it sends. */
struct hs_banner {
	const char	*instance;
	const char	*bytes;
};
extern const struct hs_banner hs_banners[HS_NBANNERS];
struct hs_daemon *hs_spawn_services(void);
int		 hs_quote_index(const char *, size_t);

/* harness-rfc.c: data and checks. */
void		 hs_pattern(void *, size_t, uint64_t seed, uint64_t offset);
const char	*hs_show(const void *, size_t);
const char	*hs_family_name(int);
const char	*hs_check_chargen_tcp(const char *, size_t);
const char	*hs_check_chargen_run(const char *, size_t);
const char	*hs_check_daytime(const char *, size_t);
const char	*hs_check_time(const unsigned char *, size_t);

#endif
