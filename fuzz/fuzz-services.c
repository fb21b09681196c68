/*
 * fuzz-services.c: libFuzzer target for the services, driven through the
 * service.h contract exactly as the daemon drives them, with the host API
 * of tests/unit/fake-api.c standing in for sockets (linked here instead of
 * daemon/, as test-services does).
 *
 * Every input is played against every service of the registry:
 *
 *	nkeys		1 byte, % 4: service keys to set
 *	nkeys times	selector byte, value length byte (255: 2 more
 *			bytes, % 4096), value bytes
 *	then ops	1 byte each, % 5, until the input ends:
 *	  0 TCP read	2 bytes length (% 8193), data
 *	  1 datagram	2 bytes length, data
 *	  2 writable	2 bytes: the socket takes 4 * that many bytes
 *	  3 pending	2 bytes: conn_pending() says 16 * that
 *	  4 hang up	the peer closes; the next op starts a new connection
 *
 * A selector below 0xc0 picks one of the service's own keys (the keys
 * list of its descriptor), up to 0xf0 one of the daemon's keys (which a
 * service must not claim), else the value's first half is the key.  For
 * a *_file key the value bytes are the file's contents: they are written
 * to a temporary directory and the key gets the file's name.  As in
 * config.c, conf_check runs only when every key was accepted, and a
 * failed conf_check ends the input for that service.
 *
 * Besides the sanitizers, a few rules of the contract are checked: a key
 * in a service's keys list is never "unknown" and any other key is; an
 * error has a cause; at most one reply per datagram; conf_describe
 * stays within its buffer; tcp_write_ready never writes more than the
 * socket takes.  And some of
 * each RFC: echo returns exactly what it got, discard never answers,
 * chargen streams the RFC 864 pattern without a gap and answers UDP with
 * at most 512 bytes of it, time sends 4 bytes, daytime and qotd lines end
 * in CR LF within their limits.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service.h"
#include "proto.h"
#include "log.h"
#include "fake-api.h"
#include "fuzz.h"

#define MAX_KEYS	4
#define MAX_OPS		512
#define READ_MAX	8192
#define DGRAM_MAX	65507		/* the largest UDP payload */
#define BANNER_UDP_MAX	65507

/* What one service is, as the checks need to know it. */
struct fuzz_svc {
	const struct service	*svc;
	const char		*name;
	struct svc_conf		 sc;
	const void		*conf;		/* svc_conf_data once checked */
	struct conn		 c;
	int			 open;		/* c is a live connection */
	size_t			 stream;	/* chargen: bytes sent on c */
};

static char	 tmpdir[] = "/tmp/fuzz-services.XXXXXX";

static void	 fuzz_services_cleanup(void);
static int	 key_listed(const struct service *, const char *);
static char	*write_file(unsigned int, const uint8_t *, size_t);
static int	 fuzz_conf(struct fuzz_svc *, struct fuzz_in *);
static void	 check_describe(struct fuzz_svc *, size_t);
static void	 check_output(struct fuzz_svc *, const uint8_t *, size_t,
		    int);
static void	 check_reply(struct fuzz_svc *, const struct dgram *,
		    const uint8_t *, size_t);
static void	 conn_open(struct fuzz_svc *);
static void	 conn_end(struct fuzz_svc *);
static void	 fuzz_traffic(struct fuzz_svc *, struct fuzz_in *);
static void	 fuzz_one(const struct service *, const uint8_t *, size_t);

/* Remove the files written for *_file keys, and their directory. */
static void
fuzz_services_cleanup(void)
{
	char		path[PATH_MAX];
	unsigned int	i;

	for (i = 0; i < MAX_KEYS; i++) {
		snprintf(path, sizeof(path), "%s/file%u", tmpdir, i);
		unlink(path);
	}
	rmdir(tmpdir);
}

/* Quiet logs (discard's log_data), a temporary directory, the ring. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERR);
	if (mkdtemp(tmpdir) == NULL)
		abort();
	atexit(fuzz_services_cleanup);
	(void)chargen_ring();
	return 0;
}

/* Whether key is in the keys list of svc. */
static int
key_listed(const struct service *svc, const char *key)
{
	size_t	i;

	for (i = 0; svc->keys != NULL && svc->keys[i] != NULL; i++) {
		if (strcmp(svc->keys[i], key) == 0)
			return 1;
	}
	return 0;
}

/* Write buf as file number i of the temporary directory; its name. */
static char *
write_file(unsigned int i, const uint8_t *buf, size_t len)
{
	char	 name[32];
	char	 path[PATH_MAX];
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	snprintf(name, sizeof(name), "file%u", i);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		abort();
	while (off < len) {
		if ((n = write(fd, buf + off, len - off)) <= 0)
			abort();
		off += (size_t)n;
	}
	close(fd);
	return fuzz_str(name, strlen(name));
}

/*
 * The config part: set keys, then conf_check, as config_instance() does.
 * Returns 0 when the instance would be configured, -1 when the config
 * would be refused.
 */
static int
fuzz_conf(struct fuzz_svc *fs, struct fuzz_in *in)
{
	static const char *const daemon_keys[] = { "service", "listen",
	    "enabled", "backlog", "idle_timeout", "max_connections",
	    "buffer_limit", "allow", "deny", "rate" };
	const struct service	*svc = fs->svc;
	const uint8_t		*p;
	char			*key, *value, *cause;
	size_t			 nkeys, nlisted = 0, i, len, got;
	unsigned int		 sel;
	int			 r, errors = 0;

	while (svc->keys != NULL && svc->keys[nlisted] != NULL)
		nlisted++;
	nkeys = fuzz_u8(in) % (MAX_KEYS + 1);
	for (i = 0; i < nkeys; i++) {
		sel = fuzz_u8(in);
		if ((len = fuzz_u8(in)) == 255)
			len = fuzz_u16(in) % 4096;
		p = fuzz_take(in, len, &got);
		if (sel < 0xc0 && nlisted > 0)
			key = fuzz_str(svc->keys[sel % nlisted],
			    strlen(svc->keys[sel % nlisted]));
		else if (sel < 0xf0) {
			sel %= sizeof(daemon_keys) / sizeof(daemon_keys[0]);
			key = fuzz_str(daemon_keys[sel],
			    strlen(daemon_keys[sel]));
		} else {
			key = fuzz_str(p, got / 2);
			p += got / 2;
			got -= got / 2;
		}
		len = strlen(key);
		if (len > 5 && strcmp(key + len - 5, "_file") == 0)
			value = write_file((unsigned int)i, p, got);
		else
			value = fuzz_str(p, got);

		cause = NULL;
		r = SERVICE_KEY_UNKNOWN;
		/* As the host does: conf_key sees only the keys of keys[]. */
		if (key_listed(svc, key)) {
			r = SERVICE_KEY_OK;
			if (svc->conf_key != NULL)
				r = svc->conf_key(&fs->sc, key, value, &cause);
			FUZZ_CHECK(r == SERVICE_KEY_OK ||
			    r == SERVICE_KEY_ERROR);
		}
		if (r == SERVICE_KEY_ERROR)
			FUZZ_CHECK(cause != NULL);
		if (r != SERVICE_KEY_OK)
			errors++;
		free(cause);
		free(key);
		free(value);
	}
	if (errors > 0)
		return -1;
	if (svc->conf_check != NULL) {
		cause = NULL;
		r = svc->conf_check(&fs->sc, &cause);
		if (r != 0)
			FUZZ_CHECK(cause != NULL);
		free(cause);
		if (r != 0)
			return -1;
	}
	check_describe(fs, 1 + fuzz_u8(in) % 64);
	check_describe(fs, 1024);
	fs->conf = svc_conf_data(&fs->sc);
	return 0;
}

/* conf_describe writes a NUL-terminated string within a len-byte buffer. */
static void
check_describe(struct fuzz_svc *fs, size_t len)
{
	char	*buf;

	if (fs->svc->conf_describe == NULL)
		return;
	if ((buf = malloc(len)) == NULL)
		abort();
	buf[0] = '\0';
	fs->svc->conf_describe(&fs->sc, buf, len);
	FUZZ_CHECK(memchr(buf, '\0', len) != NULL);
	free(buf);
}

/*
 * Check what the service wrote on its connection since the last check,
 * in answer to in[0..len) (a read) or to being writable; then forget it,
 * so that memory stays bounded however long the input plays.
 */
static void
check_output(struct fuzz_svc *fs, const uint8_t *in, size_t len, int isread)
{
	const char	*ring = chargen_ring();
	struct conn	*c = &fs->c;
	size_t		 i, n, off;

	if (strcmp(fs->name, "echo") == 0 && isread)
		FUZZ_CHECK(c->outlen == len &&
		    (len == 0 || memcmp(c->out, in, len) == 0));
	else if (strcmp(fs->name, "discard") == 0)
		FUZZ_CHECK(c->outlen == 0);
	else if (strcmp(fs->name, "chargen") == 0) {
		/* From any offset the ring holds CHARGEN_CHUNK bytes more. */
		for (i = 0; i < c->outlen; i += n) {
			off = (fs->stream + i) % CHARGEN_PERIOD;
			n = c->outlen - i < CHARGEN_CHUNK ? c->outlen - i :
			    CHARGEN_CHUNK;
			FUZZ_CHECK(memcmp(c->out + i, ring + off, n) == 0);
		}
		fs->stream += c->outlen;
	}
	c->outlen = 0;
}

/* Check one datagram's reply against the RFC of the service. */
static void
check_reply(struct fuzz_svc *fs, const struct dgram *d, const uint8_t *in,
    size_t len)
{
	const char	*ring = chargen_ring();
	size_t		 k;

	FUZZ_CHECK(d->replies <= 1);
	if (strcmp(fs->name, "echo") == 0)
		FUZZ_CHECK(d->replies == 1 && d->replylen == len &&
		    (len == 0 || memcmp(d->reply, in, len) == 0));
	else if (strcmp(fs->name, "discard") == 0)
		FUZZ_CHECK(d->replies == 0);
	else if (strcmp(fs->name, "chargen") == 0 && d->replies == 1) {
		FUZZ_CHECK(d->replylen <= CHARGEN_UDP_MAX);
		/* A slice of the pattern that starts at a line. */
		for (k = 0; k < CHARGEN_NCHARS; k++) {
			if (memcmp(ring + k * CHARGEN_LINE, d->reply,
			    d->replylen) == 0)
				break;
		}
		FUZZ_CHECK(k < CHARGEN_NCHARS);
	} else if (strcmp(fs->name, "time") == 0)
		FUZZ_CHECK(d->replies == 1 && d->replylen == 4);
	else if (strcmp(fs->name, "daytime") == 0 && d->replies == 1)
		FUZZ_CHECK(d->replylen >= 2 && d->replylen < DAYTIME_MAX &&
		    memcmp(d->reply + d->replylen - 2, "\r\n", 2) == 0);
	else if (strcmp(fs->name, "qotd") == 0)
		FUZZ_CHECK(d->replies == 1 && d->replylen >= 2 &&
		    d->replylen <= QOTD_MAX &&
		    memcmp(d->reply + d->replylen - 2, "\r\n", 2) == 0);
	else if (strcmp(fs->name, "banner") == 0)
		FUZZ_CHECK(d->replylen <= BANNER_UDP_MAX);
}

/* A new connection: tcp_accept, and what it wrote. */
static void
conn_open(struct fuzz_svc *fs)
{
	struct conn	*c = &fs->c;

	fake_conn_init(c, fs->conf);
	fs->open = 1;
	fs->stream = 0;
	if (fs->svc->tcp_accept != NULL)
		fs->svc->tcp_accept(c);
	if (strcmp(fs->name, "time") == 0)
		FUZZ_CHECK(c->outlen == 4 && c->closes == 1);
	if (strcmp(fs->name, "daytime") == 0 && c->outlen > 0)
		FUZZ_CHECK(c->outlen < DAYTIME_MAX &&
		    memcmp(c->out + c->outlen - 2, "\r\n", 2) == 0);
	if (strcmp(fs->name, "qotd") == 0)
		FUZZ_CHECK(c->outlen >= 2 && c->outlen <= QOTD_MAX &&
		    memcmp(c->out + c->outlen - 2, "\r\n", 2) == 0);
	check_output(fs, NULL, 0, 0);
}

/* The connection ends, from either side: tcp_close runs once, last. */
static void
conn_end(struct fuzz_svc *fs)
{
	if (!fs->open)
		return;
	if (fs->svc->tcp_close != NULL)
		fs->svc->tcp_close(&fs->c);
	fake_conn_free(&fs->c);
	fs->open = 0;
}

/* The run-time part: play the ops of in on TCP and UDP. */
static void
fuzz_traffic(struct fuzz_svc *fs, struct fuzz_in *in)
{
	const struct service	*svc = fs->svc;
	struct dgram		 d;
	const uint8_t		*p;
	uint8_t			*buf;
	size_t			 len, ops;

	for (ops = 0; in->left > 0 && ops < MAX_OPS; ops++) {
		/* The host closes a connection the service closed. */
		if (fs->open && fs->c.closes > 0)
			conn_end(fs);
		if (!fs->open && (svc->protocols & SERVICE_TCP))
			conn_open(fs);
		switch (fuzz_u8(in) % 5) {
		case 0:
			p = fuzz_take(in, fuzz_u16(in) % (READ_MAX + 1), &len);
			if (!fs->open || fs->c.closes > 0)
				break;
			buf = fuzz_dup(p, len);
			if (svc->tcp_read != NULL)
				svc->tcp_read(&fs->c, buf, len);
			check_output(fs, p, len, 1);
			free(buf);
			break;
		case 1:
			p = fuzz_take(in, fuzz_u16(in) % (DGRAM_MAX + 1), &len);
			if (!(svc->protocols & SERVICE_UDP))
				break;
			buf = fuzz_dup(p, len);
			fake_dgram_init(&d, fs->conf);
			if (svc->udp_datagram != NULL)
				svc->udp_datagram(&d, buf, len);
			check_reply(fs, &d, p, len);
			fake_dgram_free(&d);
			free(buf);
			break;
		case 2:
			/* Only called with the host's own buffer empty. */
			len = (size_t)fuzz_u16(in) * 4;
			if (!fs->open || fs->c.closes > 0)
				break;
			fs->c.pending = 0;
			fs->c.capacity = len;
			if (svc->tcp_write_ready != NULL)
				svc->tcp_write_ready(&fs->c);
			FUZZ_CHECK(fs->c.outlen <= len);
			check_output(fs, NULL, 0, 0);
			break;
		case 3:
			fs->c.pending = (size_t)fuzz_u16(in) * 16;
			break;
		case 4:
			conn_end(fs);
			break;
		}
	}
	conn_end(fs);
}

/* Configure svc from in, play the traffic, and free everything. */
static void
fuzz_one(const struct service *svc, const uint8_t *data, size_t size)
{
	struct fuzz_svc	fs;
	struct fuzz_in	in = { data, size };

	memset(&fs, 0, sizeof(fs));
	fs.svc = svc;
	fs.name = svc->name;
	fake_svc_conf_init(&fs.sc, svc, "fuzz", tmpdir);
	if (fuzz_conf(&fs, &in) == 0)
		fuzz_traffic(&fs, &in);
	fake_svc_conf_free(&fs.sc, svc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	i;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	for (i = 0; services[i] != NULL; i++)
		fuzz_one(services[i], data, size);
	return 0;
}
