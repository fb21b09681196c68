/*
 * import.c: netsvcd --import-inetd, an inetd.conf turned into netsvcd INI
 * sections on stdout.  The inetd.conf syntax is the one of openbsd-inetd
 * (Debian's inetd) and inetutils-inetd.  A line that cannot be converted
 * becomes a "; not converted: REASON: LINE" comment and a FILE:LINE
 * message on stderr: nothing is dropped silently.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netsvcd.h"

#define IMPORT_MAXFIELDS	64	/* 6 fields and the server's argv */
#define IMPORT_MAXHOSTS		8	/* addresses in one host specifier */
#define IMPORT_LINE_MAX		190	/* config lines end at 199 bytes */
#define IMPORT_NAME_MAX		48	/* of a section name, before suffixes */
#define IMPORT_TCPD_DIR		"/usr/sbin/"	/* Debian's REAL_DAEMON_DIR */
#define IMPORT_OFF		"#<off>#"	/* update-inetd --disable */
#define IMPORT_RATE_MAX		10000000	/* instance_burst range */

/* A well-known port, so that a conversion never needs /etc/services. */
struct import_port {
	const char	*name;
	int		 port;
	int		 proto;		/* SERVICE_TCP, SERVICE_UDP or both */
};

#define IP_BOTH	(SERVICE_TCP | SERVICE_UDP)
static const struct import_port import_ports[] = {
	{ "tcpmux", 1, IP_BOTH }, { "echo", 7, IP_BOTH },
	{ "discard", 9, IP_BOTH }, { "systat", 11, IP_BOTH },
	{ "daytime", 13, IP_BOTH }, { "netstat", 15, SERVICE_TCP },
	{ "qotd", 17, IP_BOTH }, { "chargen", 19, IP_BOTH },
	{ "ftp-data", 20, SERVICE_TCP }, { "ftp", 21, SERVICE_TCP },
	{ "ssh", 22, SERVICE_TCP }, { "telnet", 23, SERVICE_TCP },
	{ "smtp", 25, SERVICE_TCP }, { "time", 37, IP_BOTH },
	{ "nameserver", 42, SERVICE_TCP }, { "whois", 43, SERVICE_TCP },
	{ "domain", 53, IP_BOTH }, { "bootps", 67, SERVICE_UDP },
	{ "bootpc", 68, SERVICE_UDP }, { "tftp", 69, SERVICE_UDP },
	{ "gopher", 70, SERVICE_TCP }, { "finger", 79, SERVICE_TCP },
	{ "http", 80, IP_BOTH }, { "www", 80, IP_BOTH },
	{ "pop3", 110, SERVICE_TCP }, { "sunrpc", 111, IP_BOTH },
	{ "auth", 113, SERVICE_TCP }, { "ident", 113, SERVICE_TCP },
	{ "nntp", 119, SERVICE_TCP }, { "ntp", 123, IP_BOTH },
	{ "imap2", 143, SERVICE_TCP }, { "imap", 143, SERVICE_TCP },
	{ "snmp", 161, IP_BOTH }, { "xdmcp", 177, SERVICE_UDP },
	{ "https", 443, IP_BOTH }, { "exec", 512, SERVICE_TCP },
	{ "biff", 512, SERVICE_UDP }, { "comsat", 512, SERVICE_UDP },
	{ "login", 513, SERVICE_TCP }, { "who", 513, SERVICE_UDP },
	{ "shell", 514, SERVICE_TCP }, { "cmd", 514, SERVICE_TCP },
	{ "syslog", 514, SERVICE_UDP }, { "printer", 515, SERVICE_TCP },
	{ "talk", 517, SERVICE_UDP }, { "ntalk", 518, SERVICE_UDP },
	{ "uucp", 540, SERVICE_TCP }, { "klogin", 543, SERVICE_TCP },
	{ "kshell", 544, SERVICE_TCP }, { "rsync", 873, SERVICE_TCP },
	{ "swat", 901, SERVICE_TCP }, { "ftps", 990, SERVICE_TCP },
	{ "imaps", 993, SERVICE_TCP }, { "pop3s", 995, SERVICE_TCP },
	{ "cvspserver", 2401, SERVICE_TCP }, { "svn", 3690, SERVICE_TCP },
	{ "http-alt", 8080, SERVICE_TCP }, { "webcache", 8080, SERVICE_TCP },
};

/* The built-ins that inetd names "internal" and netsvcd also has. */
static const char *const import_builtins[] = {
	"echo", "discard", "chargen", "daytime", "time",
};

/* The address families of a listen key: bit in fams, "*", localhost. */
struct import_fam {
	int		 af;
	int		 bit;
	const char	*all;
	const char	*local;
};

static const struct import_fam import_fams[] = {
	{ AF_INET, 1, "0.0.0.0", "127.0.0.1" },
	{ AF_INET6, 2, "::", "::1" },
};

/* One converted line, ready to print. */
struct import_entry {
	char		 name[IMPORT_NAME_MAX + 16];
	const char	*service;		/* a built-in or "exec" */
	char		 listen[IMPORT_LINE_MAX];
	char		 command[IMPORT_LINE_MAX];
	const char	*user;			/* NULL: not set */
	const char	*group;
	unsigned long	 rate;			/* per minute, 0: none */
	int		 enabled;
	char		 notes[4][IMPORT_LINE_MAX];
	int		 nnotes;
};

/* The state of one conversion. */
struct import {
	FILE			*out;
	FILE			*err;		/* FILE:LINE messages, or NULL */
	const char		*file;
	int			 lineno;
	char			 hosts[256];	/* the default host specifier */
	char			**names;	/* section names written */
	size_t			 nnames;
	char			**eps;		/* "endpoint section" written */
	size_t			 neps;
	char			 reason[160];	/* why the line was skipped */
	struct import_stats	*st;
};

static int	 import_split(char *, char **, int);
static int	 import_reason(struct import *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 import_note(struct import_entry *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 import_proto(struct import *, const char *, const char *,
		    int *, int *, struct import_entry *);
static int	 import_add_ep(struct import_entry *, size_t *, const char *,
		    int, const char *, int);
static int	 import_listen(struct import *, const char *, int, int, int,
		    struct import_entry *);
static int	 import_wait(struct import *, const char *, int, int,
		    struct import_entry *);
static int	 import_command(struct import *, char **, int,
		    struct import_entry *);
static int	 import_name(struct import *, const char *, const char *,
		    struct import_entry *);
static int	 import_taken(struct import *, const struct import_entry *);
static int	 import_keep(struct import *, const struct import_entry *);
static int	 import_line(struct import *, char *, struct import_entry *);
static void	 import_clean(const char *, char *, size_t);
static void	 import_emit(struct import *, const struct import_entry *,
		    const char *);
static void	 import_skip(struct import *, const char *);

/*
 * The port of a service name for one protocol from a number or the
 * built-in table of well-known names only; -1 when neither.
 */
int
import_port_table(const char *name, int proto)
{
	char		*end;
	unsigned long	 n;
	size_t		 i;

	if (isdigit((unsigned char)name[0])) {
		errno = 0;
		n = strtoul(name, &end, 10);
		if (errno != 0 || *end != '\0' || n == 0 || n > 65535)
			return -1;
		return (int)n;
	}
	for (i = 0; i < sizeof(import_ports) / sizeof(import_ports[0]); i++) {
		if (strcmp(import_ports[i].name, name) == 0 &&
		    (import_ports[i].proto & proto) != 0)
			return import_ports[i].port;
	}
	return -1;
}

/*
 * The port of a service name for one protocol: import_port_table(), else
 * getservbyname(3) for the names the table lacks.  -1 when unknown.
 */
int
import_port(const char *name, int proto)
{
	struct servent	 se, *res = NULL;
	char		 buf[1024];
	int		 port;

	if ((port = import_port_table(name, proto)) != -1 ||
	    isdigit((unsigned char)name[0]))
		return port;
	if (getservbyname_r(name, proto == SERVICE_UDP ? "udp" : "tcp", &se,
	    buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	return ntohs((uint16_t)res->s_port);
}

/*
 * Quote one argument for the exec service's command key: bare when it is
 * made of safe characters, else in single quotes, else (it holds a single
 * quote) in double quotes with '"' and '\' escaped.  -1 if it does not fit.
 */
int
import_quote(const char *word, char *buf, size_t size)
{
	static const char	 safe[] = "_@%+=:,./-";
	const char		*p;
	size_t			 n = 0;
	int			 bare = *word != '\0', squote = 0;

	for (p = word; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr(safe, *p) == NULL)
			bare = 0;
		if (*p == '\'')
			squote = 1;
	}
	if (bare || !squote) {
		n = (size_t)snprintf(buf, size, bare ? "%s" : "'%s'", word);
		return n < size ? 0 : -1;
	}
	for (p = word, n = 3; *p != '\0'; p++)
		n += *p == '"' || *p == '\\' ? 2 : 1;
	if (n > size)
		return -1;
	n = 0;
	buf[n++] = '"';
	for (p = word; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf[n++] = '\\';
		buf[n++] = *p;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return 0;
}

/* Split a line at blanks into at most max fields; the count. */
static int
import_split(char *line, char **f, int max)
{
	char	*p = line;
	int	 n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return n;
		if (n == max)
			return max + 1;
		f[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

/* Record why the line is skipped; returns -1 for "return import_reason()". */
static int
import_reason(struct import *im, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(im->reason, sizeof(im->reason), fmt, ap);
	va_end(ap);
	return -1;
}

/* Add a "; note:" line to an entry (at most four are kept). */
static void
import_note(struct import_entry *e, const char *fmt, ...)
{
	va_list	 ap;

	if (e->nnotes == (int)(sizeof(e->notes) / sizeof(e->notes[0])))
		return;
	va_start(ap, fmt);
	vsnprintf(e->notes[e->nnotes++], sizeof(e->notes[0]), fmt, ap);
	va_end(ap);
}

/*
 * The socket type and protocol fields: sets *proto (SERVICE_TCP/UDP) and
 * *fams (1 IPv4, 2 IPv6, 3 both).  "tcp" and "udp" mean both families as
 * in openbsd-inetd; ",rcvbuf=" and ",sndbuf=" options are noted, not kept.
 */
static int
import_proto(struct import *im, const char *type, const char *field,
    int *proto, int *fams, struct import_entry *e)
{
	static const struct {
		const char	*name;
		int		 fams;
	} fam[] = {
		{ "", 3 }, { "4", 1 }, { "6", 2 }, { "46", 3 }, { "6only", 2 },
	};
	char		 base[32];
	const char	*opts, *suffix;
	size_t		 len, i;

	if ((opts = strchr(field, ',')) != NULL)
		len = (size_t)(opts - field);
	else
		len = strlen(field);
	if (len >= sizeof(base))
		return import_reason(im, "unknown protocol");
	memcpy(base, field, len);
	base[len] = '\0';
	if (strncmp(base, "rpc/", 4) == 0)
		return import_reason(im, "RPC services are not supported");
	if (strcmp(base, "unix") == 0)
		return import_reason(im, "UNIX-domain sockets are not "
		    "supported");
	if (strncmp(base, "tcp", 3) == 0)
		*proto = SERVICE_TCP;
	else if (strncmp(base, "udp", 3) == 0)
		*proto = SERVICE_UDP;
	else
		return import_reason(im, "unknown protocol '%s'", base);
	suffix = base + 3;
	for (i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
		if (strcmp(suffix, fam[i].name) == 0)
			break;
	if (i == sizeof(fam) / sizeof(fam[0]))
		return import_reason(im, "unknown protocol '%s'", base);
	*fams = fam[i].fams;

	if (strcmp(type, "stream") != 0 && strcmp(type, "dgram") != 0)
		return import_reason(im, "socket type '%s' is not supported "
		    "(only stream and dgram)", type);
	if ((*proto == SERVICE_TCP) != (strcmp(type, "stream") == 0))
		return import_reason(im, "socket type '%s' does not fit "
		    "protocol '%s'", type, base);
	if (opts != NULL)
		import_note(e, "socket buffer sizes '%s' not converted "
		    "(netsvcd uses the kernel's defaults)", opts + 1);
	return 0;
}

/*
 * Append scheme://addr:port (an IPv6 address in brackets) to e->listen,
 * after a space unless it is the first; -1 when it does not fit.
 */
static int
import_add_ep(struct import_entry *e, size_t *len, const char *scheme,
    int v6, const char *addr, int port)
{
	char	ep[80];
	int	n;

	n = snprintf(ep, sizeof(ep), "%s%s://%s%s%s:%d", *len ? " " : "",
	    scheme, v6 ? "[" : "", addr, v6 ? "]" : "", port);
	if (n < 0 || (size_t)n >= sizeof(ep) ||
	    *len + (size_t)n >= sizeof(e->listen))
		return -1;
	memcpy(e->listen + *len, ep, (size_t)n + 1);
	*len += (size_t)n;
	return 0;
}

/*
 * The listen key: one endpoint per address of the host specifier and per
 * address family the protocol allows.
 */
static int
import_listen(struct import *im, const char *hosts, int proto, int fams,
    int port, struct import_entry *e)
{
	char		 copy[256], *h, *next, *close;
	const char	*scheme = proto == SERVICE_TCP ? "tcp" : "udp";
	const struct import_fam *f;
	struct in6_addr	 a6;
	size_t		 len = 0, i;
	int		 nhosts = 0, any;

	if (strlen(hosts) >= sizeof(copy))
		return import_reason(im, "host specifier too long");
	memcpy(copy, hosts, strlen(hosts) + 1);
	e->listen[0] = '\0';
	for (h = copy; h != NULL; h = next) {
		if ((next = strchr(h, ',')) != NULL)
			*next++ = '\0';
		if (++nhosts > IMPORT_MAXHOSTS)
			return import_reason(im, "more than %d addresses",
			    IMPORT_MAXHOSTS);
		if (h[0] == '[' && (close = strchr(h, ']')) != NULL &&
		    close[1] == '\0') {
			h++;
			*close = '\0';
		}
		any = strcmp(h, "*") == 0 || strcmp(h, "localhost") == 0;
		if (!any && inet_pton(AF_INET, h, &a6) != 1 &&
		    inet_pton(AF_INET6, h, &a6) != 1)
			return import_reason(im, "host '%s' is a name (only "
			    "'*', localhost and numeric addresses are "
			    "converted)", h);
		for (i = 0; i < sizeof(import_fams) / sizeof(import_fams[0]);
		    i++) {
			f = &import_fams[i];
			if (!(fams & f->bit) ||
			    (!any && inet_pton(f->af, h, &a6) != 1))
				continue;
			if (import_add_ep(e, &len, scheme, f->af == AF_INET6,
			    strcmp(h, "*") == 0 ? f->all : any ? f->local : h,
			    port) == -1)
				return import_reason(im, "too many addresses");
		}
	}
	if (len == 0)
		return import_reason(im, "address '%s' does not fit the "
		    "protocol's address family", hosts);
	return 0;
}

/*
 * The wait/nowait[.max] field.  max (invocations a minute) becomes
 * instance_burst = max with instance_rate = max/60 a second, rounded up.
 */
static int
import_wait(struct import *im, const char *field, int proto, int internal,
    struct import_entry *e)
{
	const char	*dot = strchr(field, '.');
	size_t		 len = dot ? (size_t)(dot - field) : strlen(field);
	unsigned long	 max = 0;
	char		*end;
	int		 wait;

	if (len == 4 && strncmp(field, "wait", 4) == 0)
		wait = 1;
	else if (len == 6 && strncmp(field, "nowait", 6) == 0)
		wait = 0;
	else
		return import_reason(im, "'%s' is not wait or nowait", field);
	if (dot != NULL) {
		errno = 0;
		max = strtoul(dot + 1, &end, 10);
		if (!isdigit((unsigned char)dot[1]) || *end != '\0' ||
		    errno != 0)
			return import_reason(im, "bad invocation limit in "
			    "'%s'", field);
		if (max > IMPORT_RATE_MAX) {
			import_note(e, "limit of %lu a minute above netsvcd's "
			    "range: no instance_rate", max);
			max = 0;
		}
	}
	e->rate = max;
	if (internal)
		return 0;
	if (proto == SERVICE_TCP && wait)
		return import_reason(im, "stream wait (the program accepts "
		    "on the listening socket) is not supported");
	if (proto == SERVICE_UDP && !wait)
		import_note(e, "dgram nowait: netsvcd runs one program at a "
		    "time on a UDP socket (wait)");
	return 0;
}

/*
 * The server program and its argv (argv[0] first, as inetd wants) into the
 * command key.  tcpd is taken out: its argv[0] is the real server, looked
 * up in /usr/sbin when relative.
 */
static int
import_command(struct import *im, char **argv, int argc,
    struct import_entry *e)
{
	char		 path[PATH_MAX], word[IMPORT_LINE_MAX];
	const char	*prog = argv[0], *base;
	size_t		 len;
	int		 i;

	if (prog[0] != '/')
		return import_reason(im, "server program '%s' is not an "
		    "absolute path", prog);
	base = strrchr(prog, '/') + 1;
	if (strcmp(base, "tcpd") == 0) {
		if (argc < 2)
			return import_reason(im, "tcpd without a program");
		snprintf(path, sizeof(path), "%s%s",
		    argv[1][0] == '/' ? "" : IMPORT_TCPD_DIR, argv[1]);
		import_note(e, "tcpd removed: put its hosts.allow and "
		    "hosts.deny rules in allow = and deny =");
		prog = path;
	} else if (argc >= 2 && strcmp(argv[1], prog) != 0 &&
	    strcmp(argv[1], base) != 0)
		import_note(e, "inetd gave the program argv[0] '%s'; "
		    "netsvcd gives it the path", argv[1]);
	if (import_quote(prog, e->command, sizeof(e->command)) == -1)
		return import_reason(im, "command too long for one line");
	len = strlen(e->command);
	/*
	 * argv[1] is the program's argv[0] (tcpd's server): the path stands
	 * for it, and the arguments start at argv[2] either way.
	 */
	for (i = 2; i < argc; i++) {
		if (import_quote(argv[i], word, sizeof(word)) == -1 ||
		    len + 1 + strlen(word) >= sizeof(e->command) - 12)
			return import_reason(im, "command too long for one "
			    "line");
		e->command[len++] = ' ';
		memcpy(e->command + len, word, strlen(word) + 1);
		len += strlen(word);
	}
	return 0;
}

/*
 * A section name made of the service name, unique in the output: the
 * protocol is appended on a clash ("discard-udp"), then a number.
 */
static int
import_name(struct import *im, const char *service, const char *proto,
    struct import_entry *e)
{
	char	 base[IMPORT_NAME_MAX + 1], try[sizeof(e->name)], **nn;
	size_t	 i, j;
	int	 k;

	for (i = 0; i < IMPORT_NAME_MAX && service[i] != '\0'; i++)
		base[i] = isalnum((unsigned char)service[i]) ||
		    strchr("_.-", service[i]) ? service[i] : '_';
	base[i] = '\0';
	for (k = 0; k < 100; k++) {
		if (k == 0)
			snprintf(try, sizeof(try), "%s", base);
		else if (k == 1)
			snprintf(try, sizeof(try), "%s-%.8s", base, proto);
		else
			snprintf(try, sizeof(try), "%s-%.8s-%d", base, proto,
			    k);
		for (j = 0; try[j] != '\0'; j++)
			if (!isalnum((unsigned char)try[j]) &&
			    strchr("_.-", try[j]) == NULL)
				try[j] = '_';
		for (j = 0; j < im->nnames; j++)
			if (strcmp(im->names[j], try) == 0)
				break;
		if (j == im->nnames)
			break;
	}
	if (k == 100)
		return import_reason(im, "too many sections named '%s'", base);
	if ((nn = reallocarray(im->names, im->nnames + 1,
	    sizeof(*nn))) == NULL)
		return import_reason(im, "out of memory");
	im->names = nn;
	if ((im->names[im->nnames] = strdup(try)) == NULL)
		return import_reason(im, "out of memory");
	im->nnames++;
	snprintf(e->name, sizeof(e->name), "%s", try);
	return 0;
}

/*
 * Is an endpoint of e already written?  netsvcd -t would refuse the second
 * use, and inetd could not have bound it twice either.
 */
static int
import_taken(struct import *im, const struct import_entry *e)
{
	const char	*p, *q;
	size_t		 i, len;

	for (p = e->listen; *p != '\0'; p = *q ? q + 1 : q) {
		if ((q = strchr(p, ' ')) == NULL)
			q = p + strlen(p);
		len = (size_t)(q - p);
		for (i = 0; i < im->neps; i++)
			if (strncmp(im->eps[i], p, len) == 0 &&
			    im->eps[i][len] == ' ')
				return import_reason(im, "%.*s is already used "
				    "by [%s]", (int)len, p,
				    im->eps[i] + len + 1);
	}
	return 0;
}

/* Remember the endpoints of a written entry, as "endpoint section". */
static int
import_keep(struct import *im, const struct import_entry *e)
{
	const char	*p, *q;
	char		**ne;

	for (p = e->listen; *p != '\0'; p = *q ? q + 1 : q) {
		if ((q = strchr(p, ' ')) == NULL)
			q = p + strlen(p);
		if ((ne = reallocarray(im->eps, im->neps + 1,
		    sizeof(*ne))) == NULL)
			return import_reason(im, "out of memory");
		im->eps = ne;
		if (asprintf(&im->eps[im->neps], "%.*s %s", (int)(q - p), p,
		    e->name) == -1)
			return import_reason(im, "out of memory");
		im->neps++;
	}
	return 0;
}

/*
 * Convert the fields of one service line into e; -1 with im->reason set
 * when it cannot be converted.
 */
static int
import_line(struct import *im, char *line, struct import_entry *e)
{
	char		*f[IMPORT_MAXFIELDS + 1], *colon, *svc, *user, *group;
	const char	*hosts = im->hosts;
	int		 nf, proto = 0, fams = 0, port, internal;
	size_t		 i;

	nf = import_split(line, f, IMPORT_MAXFIELDS);
	if (nf > IMPORT_MAXFIELDS)
		return import_reason(im, "more than %d fields",
		    IMPORT_MAXFIELDS);
	if (nf < 6)
		return import_reason(im, "%d fields, at least 6 expected", nf);
	svc = f[0];
	if ((colon = strrchr(svc, ':')) != NULL) {
		*colon = '\0';
		hosts = svc;
		svc = colon + 1;
	}
	if (strncmp(svc, "tcpmux/", 7) == 0)
		return import_reason(im, "TCPMUX services are not supported");
	if (strchr(svc, '/') != NULL && strncmp(f[2], "rpc/", 4) == 0)
		return import_reason(im, "RPC services are not supported");
	if (import_proto(im, f[1], f[2], &proto, &fams, e) == -1)
		return -1;
	if ((port = import_port(svc, proto)) == -1)
		return import_reason(im, "unknown service '%s' (not a port "
		    "number, a well-known name or in /etc/services)", svc);
	internal = strcmp(f[5], "internal") == 0;
	if (import_wait(im, f[3], proto, internal, e) == -1)
		return -1;
	if (import_listen(im, hosts, proto, fams, port, e) == -1)
		return -1;

	user = f[4];
	if (strlen(user) > 64)
		return import_reason(im, "user name too long");
	if ((group = strchr(user, ':')) != NULL ||
	    (group = strchr(user, '.')) != NULL)
		*group++ = '\0';
	if (internal) {
		for (i = 0; i < sizeof(import_builtins) /
		    sizeof(import_builtins[0]); i++)
			if (strcmp(svc, import_builtins[i]) == 0)
				break;
		if (i == sizeof(import_builtins) / sizeof(import_builtins[0]))
			return import_reason(im, "no built-in service "
			    "named '%s'", svc);
		e->service = import_builtins[i];
		if (strcmp(user, "root") != 0)
			import_note(e, "built-in services run inside netsvcd: "
			    "user %s not used", user);
	} else {
		e->service = "exec";
		if (import_command(im, f + 5, nf - 5, e) == -1)
			return -1;
		/* root: the program runs as the daemon, as under inetd. */
		e->user = strcmp(user, "root") != 0 ? user : NULL;
		e->group = group != NULL && *group != '\0' &&
		    strcmp(group, "root") != 0 ? group : NULL;
	}
	if (import_taken(im, e) == -1 || import_name(im, svc, f[2], e) == -1)
		return -1;
	return import_keep(im, e);
}

/*
 * The original line for a comment: blanks squeezed, control bytes as '?',
 * cut with "..." to fit one config line.
 */
static void
import_clean(const char *line, char *buf, size_t size)
{
	size_t	 n = 0;
	int	 blank = 0;

	for (; *line != '\0' && n + 4 < size; line++) {
		if (*line == ' ' || *line == '\t') {
			blank = n > 0;
			continue;
		}
		if (blank)
			buf[n++] = ' ';
		blank = 0;
		buf[n++] = iscntrl((unsigned char)*line) ? '?' : *line;
	}
	if (*line != '\0') {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}

/* Print one converted entry, its origin and notes first. */
static void
import_emit(struct import *im, const struct import_entry *e,
    const char *orig)
{
	char	 clean[IMPORT_LINE_MAX - 40];
	int	 i;

	import_clean(orig, clean, sizeof(clean));
	fprintf(im->out, "; %.60s:%d: %s\n", im->file, im->lineno, clean);
	for (i = 0; i < e->nnotes; i++)
		fprintf(im->out, "; note: %s\n", e->notes[i]);
	fprintf(im->out, "[%s]\nservice = %s\nlisten = %s\n", e->name,
	    e->service, e->listen);
	if (e->command[0] != '\0')
		fprintf(im->out, "command = %s\n", e->command);
	if (e->user != NULL)
		fprintf(im->out, "user = %s\n", e->user);
	if (e->group != NULL)
		fprintf(im->out, "group = %s\n", e->group);
	if (e->rate != 0)
		fprintf(im->out, "instance_rate = %lu\ninstance_burst = %lu\n",
		    (e->rate + 59) / 60, e->rate);
	if (!e->enabled)
		fprintf(im->out, "enabled = no\n");
	fputc('\n', im->out);
	im->st->sections++;
}

/* Print the comment for a line that could not be converted. */
static void
import_skip(struct import *im, const char *orig)
{
	char	 clean[IMPORT_LINE_MAX];
	size_t	 room;

	room = IMPORT_LINE_MAX - strlen("; not converted: : ") -
	    strlen(im->reason);
	if (room < 16 || room > sizeof(clean))
		room = 16;
	import_clean(orig, clean, room);
	fprintf(im->out, "; not converted: %s: %s\n\n", im->reason, clean);
	if (im->err != NULL)
		fprintf(im->err, "%s:%d: not converted: %s\n", im->file,
		    im->lineno, im->reason);
	im->st->skipped++;
}

/*
 * Convert the inetd.conf read from in (name is for messages) into INI
 * sections on out; skipped lines are also reported on err when not NULL.
 * Returns 0, or -1 when in could not be read to its end.
 */
int
import_inetd(FILE *in, const char *name, FILE *out, FILE *err,
    struct import_stats *st)
{
	struct import		 im;
	struct import_entry	 e;
	char			*line = NULL, *copy = NULL, *p, *f[2];
	size_t			 cap = 0, len, i;
	ssize_t			 n;
	int			 rc = 0, off;

	memset(&im, 0, sizeof(im));
	memset(st, 0, sizeof(*st));
	im.out = out;
	im.err = err;
	im.file = name;
	im.st = st;
	snprintf(im.hosts, sizeof(im.hosts), "*");
	fprintf(out, "; netsvcd sections converted from %.120s by "
	    "netsvcd --import-inetd\n\n", name);
	while ((n = getline(&line, &cap, in)) != -1) {
		im.lineno++;
		len = (size_t)n;
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		if (strlen(line) != len) {
			snprintf(im.reason, sizeof(im.reason), "NUL byte");
			import_skip(&im, "(binary line)");
			continue;
		}
		p = line;
		off = strncmp(p, IMPORT_OFF, strlen(IMPORT_OFF)) == 0;
		if (off)
			p += strlen(IMPORT_OFF);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		free(copy);
		if ((copy = strdup(p)) == NULL) {
			rc = -1;
			break;
		}
		/* "host:" alone sets the host of the lines after it. */
		if (import_split(copy, f, 1) == 1 &&
		    f[0][strlen(f[0]) - 1] == ':') {
			f[0][strlen(f[0]) - 1] = '\0';
			if (strlen(f[0]) < sizeof(im.hosts) && f[0][0] != '\0')
				memcpy(im.hosts, f[0], strlen(f[0]) + 1);
			else {
				snprintf(im.reason, sizeof(im.reason),
				    "bad host specifier");
				import_skip(&im, p);
			}
			continue;
		}
		memcpy(copy, p, strlen(p) + 1);
		memset(&e, 0, sizeof(e));
		e.enabled = !off;
		if (import_line(&im, copy, &e) == -1)
			import_skip(&im, p);
		else
			import_emit(&im, &e, p);
	}
	if (ferror(in))
		rc = -1;
	for (i = 0; i < im.nnames; i++)
		free(im.names[i]);
	free(im.names);
	for (i = 0; i < im.neps; i++)
		free(im.eps[i]);
	free(im.eps);
	free(copy);
	free(line);
	return rc;
}

/* netsvcd --import-inetd FILE: the exit status (0, or 1 if unreadable). */
int
import_inetd_main(const char *path)
{
	struct import_stats	 st;
	FILE			*in;
	int			 rc;

	if (strcmp(path, "-") == 0)
		in = stdin;
	else if ((in = fopen(path, "r")) == NULL) {
		fprintf(stderr, "netsvcd: %s: %s\n", path, strerror(errno));
		return 1;
	}
	rc = import_inetd(in, path, stdout, stderr, &st);
	if (rc == -1)
		fprintf(stderr, "netsvcd: %s: cannot read: %s\n", path,
		    strerror(errno));
	if (in != stdin)
		fclose(in);
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "netsvcd: stdout: %s\n", strerror(errno));
		rc = -1;
	}
	fprintf(stderr, "netsvcd: %s: %u section%s written, %u line%s not "
	    "converted\n", path, st.sections, st.sections == 1 ? "" : "s",
	    st.skipped, st.skipped == 1 ? "" : "s");
	return rc == -1 ? 1 : 0;
}
