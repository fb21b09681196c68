/*
 * netsvcd.h: internal types and prototypes of the daemon, grouped by the
 * file that implements them.  Services never include this header.
 */
#ifndef NETSVCD_H
#define NETSVCD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "service.h"

#define NETSVCD_VERSION		"0.1.0"
#define NETSVCD_DEFAULT_CONFIG	"/etc/netsvcd/netsvcd.ini"

#define UNUSED(x)	((void)(x))

/* ---- config-parse.c: pure parsers for config values ---- */

/* One endpoint: "tcp://0.0.0.0:7", "udp://[::1]:10007". */
struct endpoint {
	int			 proto;		/* SERVICE_TCP or SERVICE_UDP */
	struct sockaddr_storage	 addr;		/* AF_INET or AF_INET6 */
	socklen_t		 addrlen;
	char			 text[64];	/* canonical form */
};

/*
 * Each parser returns 0 on success, or -1 and sets *cause to a static
 * string saying what is wrong (never allocated, never NULL on failure).
 */
int	 parse_endpoint(const char *, struct endpoint *, const char **cause);
int	 parse_duration_ms(const char *, uint64_t max, uint64_t *,
	    const char **cause);		/* "500ms" "30s" "5m" "1h" */
int	 parse_size(const char *, uint64_t max, uint64_t *,
	    const char **cause);		/* "512" "64KiB" "1MiB" "64K" */
int	 parse_uint(const char *, uint64_t min, uint64_t max, uint64_t *,
	    const char **cause);
int	 parse_bool(const char *, int *, const char **cause);
void	 format_duration_ms(uint64_t, char *, size_t);	/* "30s", "500ms" */
void	 format_size(uint64_t, char *, size_t);		/* "64KiB" */
int	 endpoint_same(const struct endpoint *, const struct endpoint *);
void	 endpoint_format(const struct endpoint *, char *, size_t);

/* ---- config.c: INI file -> validated struct config ---- */

/* The private side of the service's opaque struct svc_conf. */
struct svc_conf {
	struct instance_conf	*ic;
	void			*data;		/* owned by the service */
};

struct instance_conf {
	TAILQ_ENTRY(instance_conf) entry;
	char			*name;		/* section name */
	const struct service	*service;
	struct endpoint		*endpoints;
	size_t			 nendpoints;
	int			 enabled;
	unsigned int		 backlog;
	uint64_t		 idle_timeout_ms;	/* 0: none */
	unsigned int		 max_connections;	/* 0: only the global cap */
	size_t			 buffer_limit;		/* bytes */
	struct svc_conf		 svc;
	struct config		*conf;		/* back pointer */
	int			 line;		/* of the [section] header */
};
TAILQ_HEAD(instance_confs, instance_conf);

struct daemon_conf {
	int			 log_level;
	unsigned int		 max_connections;
	unsigned int		 backlog;
	uint64_t		 idle_timeout_ms;
	uint64_t		 shutdown_timeout_ms;
	size_t			 buffer_limit;
	char			*user;		/* NULL: unset */
	char			*group;
};

struct config {
	char			*path;		/* file name, or the string's name */
	char			*dir;		/* for relative file names */
	struct daemon_conf	 daemon;
	struct instance_confs	 instances;	/* every section but [daemon] */
	int			 refs;		/* see config_ref() */
};

/* Config errors, each "FILE:LINE: message", in file order. */
struct config_errors {
	char			**msg;
	size_t			  count;
};

struct config	*config_load(const char *path, struct config_errors *);
struct config	*config_load_string(const char *text, const char *name,
		    struct config_errors *);
void		 config_ref(struct config *);
void		 config_unref(struct config *);	/* frees at zero */
void		 config_print(const struct config *, FILE *);	/* for -t */
void		 config_errors_free(struct config_errors *);
const char *const *config_key_names(void);	/* [daemon] + common keys */

#endif
