/*
 * fake-api.h: a second implementation of the host API of service.h, for
 * unit tests.  It defines the opaque structs so that tests can set them
 * up and look inside: what was written or replied is kept in memory, and
 * a connection's "socket" takes only as many bytes as the test allows.
 */
#ifndef NETSVCD_FAKE_API_H
#define NETSVCD_FAKE_API_H

#include <stddef.h>

#include "service.h"

struct conn {
	const void	*conf;		/* conn_conf() */
	const char	*peer;		/* conn_peer() */
	void		*data;		/* conn_data(), conn_set_data() */

	char		*out;		/* every byte written, in order */
	size_t		 outlen;
	size_t		 outcap;

	size_t		 capacity;	/* conn_write_some() may still take */
	size_t		 pending;	/* what conn_pending() says */

	unsigned int	 writes;	/* conn_write() calls */
	unsigned int	 write_some;	/* conn_write_some() calls */
	size_t		 write_some_asked;	/* len of the last such call */
	unsigned int	 closes;	/* conn_close() calls */
	unsigned int	 drop_input;	/* conn_drop_input() calls */
	unsigned int	 echo_input;	/* conn_echo_input() calls */
	unsigned int	 after_close;	/* writes attempted after a close */
};

struct dgram {
	const void	*conf;
	const char	*peer;
	char		*reply;		/* the last reply */
	size_t		 replylen;
	unsigned int	 replies;	/* dgram_reply() calls */
};

struct svc_conf {
	void		*data;
	const char	*name;		/* svc_conf_name() */
	const char	*dir;		/* relative file names start here */
};

void	fake_conn_init(struct conn *, const void *conf);
void	fake_conn_free(struct conn *);
void	fake_dgram_init(struct dgram *, const void *conf);
void	fake_dgram_free(struct dgram *);
struct service;
void	fake_svc_conf_init(struct svc_conf *, const struct service *,
	    const char *name, const char *dir);
void	fake_svc_conf_free(struct svc_conf *, const struct service *);

#endif
