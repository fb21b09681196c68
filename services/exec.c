/*
 * exec.c: run the user's own program per connection, inetd and tcpserver
 * style.  TCP ("nowait"): one child per accepted connection, the socket
 * as its stdin and stdout.  UDP ("wait"): the program gets the UDP socket
 * and the host stops reading it until the program exits.  Everything
 * about processes (spawning, reaping, stderr, max_duration) is the host's
 * (conn_spawn, dgram_spawn); this file parses the keys into a spawn_spec.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service.h"
#include "proto.h"
#include "log.h"

#define EXEC_MAX_ARGS	255
#define EXEC_MAX_ENV	48
#define EXEC_MAX_CHILDREN	64	/* default max_connections */

struct exec_conf {
	char		**argv;		/* command, split; argv[0] the path */
	char		**env;		/* NAME=value, NULL-terminated */
	size_t		  nenv;
	char		 *user;
	char		 *group;
	char		 *dir;
	struct spawn_spec spec;
};

static const char *const exec_keys[] = {
	"command", "env", "user", "group", "chdir", "nice", "child_cpu",
	"child_memory", "child_files", NULL
};

static const char *const exec_repeat_keys[] = { "env", NULL };

/* Set by netsvcd itself: env may not name them. */
static const char *const exec_reserved[] = {
	"PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP",
	"TCPREMOTEPORT", NULL
};

/* Free a NULL-terminated vector of strings. */
static void
exec_strv_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * Split a command line as a shell would for quoting only: words separated
 * by blanks, '...' taken literally, "..." with \" \\ \$ \` escapes, and a
 * backslash outside quotes taking the next character literally.  No
 * variables, globs or redirections: nothing runs through a shell.
 * Returns the words (NULL-terminated, malloc'd), or NULL with *cause.
 */
char **
exec_split(const char *s, const char **cause)
{
	char	**v, *w;
	size_t	  n = 0, len;
	int	  inword;

	*cause = "out of memory";
	len = strlen(s);
	if ((v = calloc(EXEC_MAX_ARGS + 1, sizeof(*v))) == NULL)
		return NULL;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (n == EXEC_MAX_ARGS) {
			*cause = "too many arguments";
			goto fail;
		}
		if ((w = malloc(len + 1)) == NULL)
			goto fail;
		v[n++] = w;
		inword = 1;
		while (inword && *s != '\0') {
			switch (*s) {
			case ' ':
			case '\t':
				inword = 0;
				break;
			case '\'':
				for (s++; *s != '\'' && *s != '\0'; s++)
					*w++ = *s;
				if (*s++ == '\0') {
					*cause = "unterminated '";
					goto fail;
				}
				break;
			case '"':
				for (s++; *s != '"' && *s != '\0'; s++) {
					if (*s == '\\' && s[1] != '\0' &&
					    strchr("\"\\$`", s[1]) != NULL)
						s++;
					*w++ = *s;
				}
				if (*s++ == '\0') {
					*cause = "unterminated \"";
					goto fail;
				}
				break;
			case '\\':
				if (s[1] == '\0') {
					*cause = "trailing backslash";
					goto fail;
				}
				*w++ = s[1];
				s += 2;
				break;
			default:
				*w++ = *s++;
				break;
			}
		}
		*w = '\0';
	}
	if (n == 0) {
		*cause = "empty command";
		goto fail;
	}
	return v;
fail:
	exec_strv_free(v);
	return NULL;
}

/* The instance's settings, allocated on first use. */
static struct exec_conf *
exec_conf_get(struct svc_conf *sc)
{
	struct exec_conf	*ec;

	if ((ec = svc_conf_data(sc)) != NULL)
		return ec;
	if ((ec = calloc(1, sizeof(*ec))) == NULL)
		return NULL;
	svc_conf_set_data(sc, ec);
	return ec;
}

/* command: split, absolute, an executable regular file. */
static int
exec_key_command(struct exec_conf *ec, const char *value, char **cause)
{
	struct stat	 st;
	const char	*why;
	char		**v;

	if ((v = exec_split(value, &why)) == NULL)
		return proto_cause(cause, "command: %s", why);
	if (v[0][0] != '/') {
		proto_cause(cause, "command: '%s' is not an absolute path",
		    v[0]);
		goto fail;
	}
	if (stat(v[0], &st) == -1) {
		proto_cause(cause, "command: %s: %s", v[0], strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || access(v[0], X_OK) == -1) {
		proto_cause(cause, "command: %s: not an executable file",
		    v[0]);
		goto fail;
	}
	exec_strv_free(ec->argv);
	ec->argv = v;
	return SERVICE_KEY_OK;
fail:
	exec_strv_free(v);
	return SERVICE_KEY_ERROR;
}

/*
 * Whether path starts as something the kernel runs: an ELF header or a
 * #! line.  1 when it cannot be read (an execute-only file): the kernel
 * may still run it.
 */
static int
exec_format_known(const char *path)
{
	unsigned char	 head[4];
	FILE		*f;
	size_t		 n;

	if ((f = fopen(path, "rbe")) == NULL)
		return 1;
	n = fread(head, 1, sizeof(head), f);
	fclose(f);
	return (n >= 2 && head[0] == '#' && head[1] == '!') ||
	    (n == 4 && memcmp(head, "\177ELF", 4) == 0);
}

/* env: NAME=value, a portable name that netsvcd does not set itself. */
static int
exec_key_env(struct exec_conf *ec, const char *value, char **cause)
{
	const char	*eq = strchr(value, '=');
	char		**v, *s;
	size_t		 i, len;

	if (eq == NULL || eq == value)
		return proto_cause(cause, "env: '%s' is not NAME=value", value);
	len = (size_t)(eq - value);
	for (i = 0; i < len; i++) {
		if (!(isalpha((unsigned char)value[i]) || value[i] == '_' ||
		    (i > 0 && isdigit((unsigned char)value[i]))))
			return proto_cause(cause, "env: bad name '%.*s' (letters, "
			    "digits and _, not first a digit)", (int)len, value);
	}
	for (i = 0; exec_reserved[i] != NULL; i++) {
		if (strlen(exec_reserved[i]) == len &&
		    strncmp(exec_reserved[i], value, len) == 0)
			return proto_cause(cause, "env: %s is set by netsvcd",
			    exec_reserved[i]);
	}
	for (i = 0; i < ec->nenv; i++) {
		if (strncmp(ec->env[i], value, len + 1) == 0)
			return proto_cause(cause, "env: %.*s set twice",
			    (int)len, value);
	}
	if (ec->nenv == EXEC_MAX_ENV)
		return proto_cause(cause, "env: more than %d", EXEC_MAX_ENV);
	if ((v = reallocarray(ec->env, ec->nenv + 2, sizeof(*v))) == NULL)
		return proto_cause(cause, "out of memory");
	ec->env = v;
	if ((s = strdup(value)) == NULL)
		return proto_cause(cause, "out of memory");
	v[ec->nenv++] = s;
	v[ec->nenv] = NULL;
	return SERVICE_KEY_OK;
}

/* user and group: known names (or numbers), and a daemon that can switch. */
static int
exec_key_id(struct svc_conf *sc, struct exec_conf *ec, const char *key,
    const char *value, char **cause)
{
	struct passwd	 pwbuf, *pw = NULL;
	struct group	 grbuf, *gr = NULL;
	char		*s, buf[4096];
	int		 can;

	if (strcmp(key, "user") == 0) {
		if (getpwnam_r(value, &pwbuf, buf, sizeof(buf), &pw) != 0 ||
		    pw == NULL)
			return proto_cause(cause, "user: unknown user '%s'",
			    value);
		ec->spec.uid = pw->pw_uid;
		ec->spec.flags |= SPAWN_SETUID;
		if (!(ec->spec.flags & SPAWN_SETGID))
			ec->spec.gid = pw->pw_gid;	/* group may override */
	} else {
		if (getgrnam_r(value, &grbuf, buf, sizeof(buf), &gr) != 0 ||
		    gr == NULL)
			return proto_cause(cause, "group: unknown group '%s'",
			    value);
		ec->spec.gid = gr->gr_gid;
		ec->spec.flags |= SPAWN_SETGID;
	}
	if ((can = svc_conf_can_setid(sc)) == 0)
		return proto_cause(cause, "%s: netsvcd cannot switch to it (it "
		    "runs as root only without a [daemon] user)", key);
	if (can == -1)
		log_warnx("[%s]: warning: %s = %s needs netsvcd to run as root "
		    "without a [daemon] user", svc_conf_name(sc), key, value);
	if ((s = strdup(value)) == NULL)
		return proto_cause(cause, "out of memory");
	if (strcmp(key, "user") == 0) {
		free(ec->user);
		ec->user = s;
	} else {
		free(ec->group);
		ec->group = s;
	}
	return SERVICE_KEY_OK;
}

/* A number with an optional unit from units (name, factor), in range. */
static int
exec_number(const char *key, const char *value, const char *const *names,
    const uint64_t *factors, uint64_t max, uint64_t *out, char **cause)
{
	char		*end;
	unsigned long long v;
	size_t		 i;

	errno = 0;
	if (!isdigit((unsigned char)*value))
		return proto_cause(cause, "%s: '%s' is not a number", key, value);
	v = strtoull(value, &end, 10);
	for (i = 0; *end != '\0' && names[i] != NULL; i++) {
		if (strcmp(end, names[i]) == 0)
			break;
	}
	if (*end != '\0' && names[i] == NULL)
		return proto_cause(cause, "%s: bad unit in '%s'", key, value);
	if (*end != '\0') {
		if (v > max / factors[i])
			errno = ERANGE;
		v *= factors[i];
	}
	if (errno != 0 || v == 0 || v > max)
		return proto_cause(cause, "%s: '%s' out of range (1 to %llu)",
		    key, value, (unsigned long long)max);
	*out = v;
	return SERVICE_KEY_OK;
}

/* nice, child_cpu, child_memory, child_files. */
static int
exec_key_limit(struct exec_conf *ec, const char *key, const char *value,
    char **cause)
{
	static const char *const	 tnames[] = { "s", "m", "h", NULL };
	static const uint64_t		 tfact[] = { 1, 60, 3600 };
	static const char *const	 snames[] = { "K", "KiB", "M", "MiB",
	    "G", "GiB", NULL };
	static const uint64_t		 sfact[] = { 1024, 1024, 1 << 20,
	    1 << 20, 1 << 30, 1 << 30 };
	static const char *const	 none[] = { NULL };
	char				*end;
	long				 n;

	if (strcmp(key, "nice") == 0) {
		errno = 0;
		n = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno != 0 || n < -20 ||
		    n > 19)
			return proto_cause(cause, "nice: '%s' is not a number "
			    "from -20 to 19", value);
		ec->spec.nice = (int)n;
		ec->spec.flags |= SPAWN_NICE;
		return SERVICE_KEY_OK;
	}
	if (strcmp(key, "child_cpu") == 0)
		return exec_number(key, value, tnames, tfact, 366 * 86400ULL,
		    &ec->spec.rlim_cpu, cause);
	if (strcmp(key, "child_memory") == 0)
		return exec_number(key, value, snames, sfact, 1ULL << 46,
		    &ec->spec.rlim_as, cause);
	return exec_number(key, value, none, NULL, 1048576,
	    &ec->spec.rlim_nofile, cause);
}

/* Parse one key of the exec service. */
static int
exec_conf_key(struct svc_conf *sc, const char *key, const char *value,
    char **cause)
{
	struct exec_conf	*ec;
	size_t			 i;

	for (i = 0; exec_keys[i] != NULL; i++) {
		if (strcmp(exec_keys[i], key) == 0)
			break;
	}
	if (exec_keys[i] == NULL)
		return SERVICE_KEY_UNKNOWN;
	if (*value == '\0')
		return proto_cause(cause, "%s is empty", key);
	if ((ec = exec_conf_get(sc)) == NULL)
		return proto_cause(cause, "out of memory");
	if (strcmp(key, "command") == 0) {
		if (exec_key_command(ec, value, cause) != SERVICE_KEY_OK)
			return SERVICE_KEY_ERROR;
		if (!exec_format_known(ec->argv[0]))
			log_warnx("[%s]: warning: command: %s is neither an ELF "
			    "program nor a script starting with #!: starting it "
			    "will fail (Exec format error)", svc_conf_name(sc),
			    ec->argv[0]);
		return SERVICE_KEY_OK;
	}
	if (strcmp(key, "env") == 0)
		return exec_key_env(ec, value, cause);
	if (strcmp(key, "user") == 0 || strcmp(key, "group") == 0)
		return exec_key_id(sc, ec, key, value, cause);
	if (strcmp(key, "chdir") == 0) {
		if (*value != '/')
			return proto_cause(cause, "chdir: '%s' is not an "
			    "absolute path", value);
		free(ec->dir);
		if ((ec->dir = strdup(value)) == NULL)
			return proto_cause(cause, "out of memory");
		return SERVICE_KEY_OK;
	}
	return exec_key_limit(ec, key, value, cause);
}

/* A command is needed; fill in the spawn_spec. */
static int
exec_conf_check(struct svc_conf *sc, char **cause)
{
	struct exec_conf	*ec = svc_conf_data(sc);
	struct stat		 st;

	if (ec == NULL || ec->argv == NULL)
		return proto_cause(cause, "exec needs command");
	if (ec->dir != NULL && (stat(ec->dir, &st) == -1 ||
	    !S_ISDIR(st.st_mode)))
		return proto_cause(cause, "chdir: %s: not a directory",
		    ec->dir);
	/* user alone: its primary group, and no supplementary groups. */
	if ((ec->spec.flags & SPAWN_SETUID) && !(ec->spec.flags & SPAWN_SETGID))
		ec->spec.flags |= SPAWN_SETGID;
	ec->spec.path = ec->argv[0];
	ec->spec.argv = ec->argv;
	ec->spec.env = ec->env;
	ec->spec.dir = ec->dir;
	return 0;
}

static void
exec_conf_free(struct svc_conf *sc)
{
	struct exec_conf	*ec = svc_conf_data(sc);

	if (ec == NULL)
		return;
	exec_strv_free(ec->argv);
	exec_strv_free(ec->env);
	free(ec->user);
	free(ec->group);
	free(ec->dir);
	free(ec);
	svc_conf_set_data(sc, NULL);
}

/* " command=/path (N args) env=N user=... " for -t. */
static void
exec_conf_describe(struct svc_conf *sc, char *buf, size_t len)
{
	const struct exec_conf	*ec = svc_conf_data(sc);
	size_t			 n;

	if (ec == NULL || ec->argv == NULL)
		return;
	for (n = 0; ec->argv[n] != NULL; n++)
		;
	snprintf(buf, len, " command=%s (%zu arg%s) env=%zu%s%s%s%s%s%s",
	    ec->argv[0], n - 1, n == 2 ? "" : "s", ec->nenv,
	    ec->user != NULL ? " user=" : "", ec->user != NULL ? ec->user : "",
	    ec->group != NULL ? " group=" : "",
	    ec->group != NULL ? ec->group : "",
	    ec->dir != NULL ? " chdir=" : "", ec->dir != NULL ? ec->dir : "");
}

/* A connection: hand it to a new child (on failure the host closes it). */
static void
exec_accept(struct conn *c)
{
	const struct exec_conf	*ec = conn_conf(c);

	(void)conn_spawn(c, &ec->spec);
}

/* UDP wait: a datagram waits; the program gets the socket. */
static void
exec_wait(struct dgram *d)
{
	const struct exec_conf	*ec = dgram_conf(d);

	(void)dgram_spawn(d, &ec->spec);
}

const struct service service_exec = {
	.name = "exec",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.keys = exec_keys,
	.repeat_keys = exec_repeat_keys,
	.conf_key = exec_conf_key,
	.conf_check = exec_conf_check,
	.conf_free = exec_conf_free,
	.conf_describe = exec_conf_describe,
	.tcp_accept = exec_accept,
	.udp_wait = exec_wait,
	.default_max_connections = EXEC_MAX_CHILDREN,
	.spawns = 1,
};
