/*
 * module.c: service modules loaded from shared objects ("[daemon] modules
 * = ...").  A module is loaded at config time, with the rest of the
 * config, so that -t and a reload see every problem before anything runs:
 * a missing or unsafe file, a file that is not ELF, an unresolved symbol,
 * a missing or malformed descriptor, another ABI, services that clash or
 * do not implement what they declare.
 *
 * Lifetime: the modules of a config belong to it, and the config lives as
 * long as any instance made from it, and each instance as long as any of
 * its connections (config_ref, instance_ref).  A module is dlclose()d when
 * the last config that loaded it is freed, that is after the sweep of the
 * last instance and connection that used it, never before.  A config that
 * keeps a module across a reload dlopen()s it again, which only bumps the
 * dynamic loader's count: the code stays mapped.
 *
 * The loader knows an object by its path, so a module file replaced in
 * place while an older generation still uses it would silently keep the
 * old code: that is refused (module_live_changed), and a new version
 * wants a new file name or a restart.
 *
 * Only the main thread loads and unloads (config load, sweep, exit).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netsvcd.h"

#define MODULE_SYMBOL		"netsvcd_module"
#define MODULE_MAX_SERVICES	64
#define MODULE_NAME_MAX		64

/* Every module of every live config, to spot files replaced in place. */
static TAILQ_HEAD(, module) module_live =
    TAILQ_HEAD_INITIALIZER(module_live);

static int	 module_fail(char **, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	*module_nfail(char **, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 module_resolve(const char *, const char *, char *, size_t);
static int	 module_owner_ok(const struct stat *);
static const char *module_unsafe(const struct stat *, unsigned int *);
static int	 module_safe(const char *, const char *, const struct stat *,
		    const struct module_policy *, char **);
static int	 module_is_elf(const char *, char **);
static int	 module_name_ok(const char *);
static int	 module_version_ok(const char *);
static const struct netsvcd_module *module_descriptor(struct module *,
		    char **);
static int	 module_check_service(const struct modules *,
		    const struct module *, size_t, char **);
static int	 module_live_changed(const char *, const struct stat *);

/* Set *cause to a formatted message; returns -1. */
static int
module_fail(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return -1;
}

/* Set *cause to a formatted message; returns NULL. */
static void *
module_nfail(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return NULL;
}

/* name as a path: absolute as is, else from dir.  0, or -1: too long. */
static int
module_resolve(const char *dir, const char *name, char *buf, size_t len)
{
	int	n;

	if (name[0] == '/')
		n = snprintf(buf, len, "%s", name);
	else
		n = snprintf(buf, len, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Whether st is owned by root or by the user running the daemon.  Not by
 * the "user =" it drops to: a daemon started as root loads its modules as
 * root, and a file that the unprivileged user could rewrite would be code
 * run as root at the next start.
 */
static int
module_owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/*
 * What is wrong with a module file or one of its directories (stat st),
 * or NULL; *mode gets the mode when it is a mode.  A directory writable by
 * others but sticky (/tmp) lets no one else rename or replace what is in
 * it, which is what matters here.
 */
static const char *
module_unsafe(const struct stat *st, unsigned int *mode)
{
	if (!module_owner_ok(st))
		return "is not owned by root or the daemon's user";
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0 ||
	    (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)))
		return NULL;
	*mode = st->st_mode & 07777;
	return "is writable by group or others";
}

/*
 * sshd's StrictModes for the module at path (stat st): the file, where
 * symbolic links lead (real), and every directory above it up to /, owned
 * by root or the daemon's user and writable by neither group nor others:
 * whoever could write or rename any of them could run code in the daemon.
 * With strict off, a problem is logged and let through.
 */
static int
module_safe(const char *path, const char *real, const struct stat *st,
    const struct module_policy *pol, char **cause)
{
	struct stat	 dst;
	char		 dir[PATH_MAX], which[PATH_MAX + 32], *slash;
	const char	*what;
	unsigned int	 mode = 0;
	int		 parent = 1;

	snprintf(which, sizeof(which), "file");
	what = module_unsafe(st, &mode);
	memcpy(dir, real, strlen(real) + 1);
	while (what == NULL && dir[1] != '\0' &&
	    (slash = strrchr(dir, '/')) != NULL) {
		slash[slash == dir ? 1 : 0] = '\0';
		if (stat(dir, &dst) == -1)
			return module_fail(cause, "%s: %s", dir,
			    strerror(errno));
		if ((what = module_unsafe(&dst, &mode)) != NULL) {
			if (parent && strcmp(path, real) == 0)
				snprintf(which, sizeof(which), "directory");
			else
				snprintf(which, sizeof(which), "directory %s",
				    dir);
		}
		parent = 0;
	}
	if (what == NULL)
		return 0;
	if (!pol->strict) {
		log_warnx("module %s: its %s %s (allowed: modules_strict = no)",
		    path, which, what);
		return 0;
	}
	if (mode != 0)
		return module_fail(cause, "%s: its %s %s (mode %04o; "
		    "modules_strict = no allows it, for development only)",
		    path, which, what, mode);
	return module_fail(cause, "%s: its %s %s (modules_strict = no "
	    "allows it, for development only)", path, which, what);
}

/* Check the ELF magic first: dlopen's message for other files is vague. */
static int
module_is_elf(const char *path, char **cause)
{
	unsigned char	magic[SELFMAG];
	ssize_t		n;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return module_fail(cause, "%s: %s", path, strerror(errno));
	n = read(fd, magic, sizeof(magic));
	close(fd);
	if (n != (ssize_t)sizeof(magic) || memcmp(magic, ELFMAG, SELFMAG) != 0)
		return module_fail(cause, "%s: not an ELF shared object", path);
	return 0;
}

/*
 * A version goes into logs, -V and -T lines as it is: 1 to 63 printable
 * ASCII characters, no line break or escape sequence.
 */
static int
module_version_ok(const char *v)
{
	size_t	i;

	for (i = 0; v[i] != '\0'; i++) {
		if (i >= MODULE_NAME_MAX - 1 || v[i] < 0x20 || v[i] > 0x7e)
			return 0;
	}
	return i > 0;
}

/* Module and service names: 1 to 63 of [A-Za-z0-9_.-]. */
static int
module_name_ok(const char *name)
{
	size_t	len;

	if (name == NULL || (len = strlen(name)) == 0 ||
	    len >= MODULE_NAME_MAX)
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

/*
 * Find and check the descriptor of m: a data object of the right size
 * whose abi is ours, checked in that order so that a module of another
 * ABI is named as such whatever its struct looks like.  Sets m->nservices
 * and returns the descriptor, or NULL with *cause set.
 */
static const struct netsvcd_module *
module_descriptor(struct module *m, char **cause)
{
	const struct netsvcd_module	*desc;
	const ElfW(Sym)			*sym;
	Dl_info				 info;
	void				*extra = NULL;
	size_t				 n;

	dlerror();
	if ((desc = dlsym(m->handle, MODULE_SYMBOL)) == NULL)
		return module_nfail(cause, "%s: no '%s' symbol: not a netsvcd "
		    "module", m->path, MODULE_SYMBOL);
	if (dladdr1(desc, &info, &extra, RTLD_DL_SYMENT) == 0 ||
	    (sym = extra) == NULL)
		return module_nfail(cause, "%s: malformed module: cannot find "
		    "'%s' in its symbol table", m->path, MODULE_SYMBOL);
	if (ELF64_ST_TYPE(sym->st_info) != STT_OBJECT)
		return module_nfail(cause, "%s: malformed module: '%s' is not "
		    "a data object (a const struct netsvcd_module)", m->path,
		    MODULE_SYMBOL);
	if (sym->st_size < sizeof(desc->abi))
		return module_nfail(cause, "%s: malformed module: '%s' is %zu "
		    "bytes", m->path, MODULE_SYMBOL, (size_t)sym->st_size);
	if (desc->abi != NETSVCD_SERVICE_ABI)
		return module_nfail(cause, "%s: built for module ABI %u, this "
		    "netsvcd has ABI %u: rebuild it against this version's "
		    "<netsvcd/service.h>", m->path, desc->abi,
		    (unsigned int)NETSVCD_SERVICE_ABI);
	/* Larger is fine: AddressSanitizer pads globals with a red zone. */
	if (sym->st_size < sizeof(*desc))
		return module_nfail(cause, "%s: malformed module: '%s' is %zu "
		    "bytes, struct netsvcd_module is %zu", m->path,
		    MODULE_SYMBOL, (size_t)sym->st_size, sizeof(*desc));
	if (!module_name_ok(desc->name))
		return module_nfail(cause, "%s: malformed module: its name is "
		    "missing or not 1-%d of [A-Za-z0-9_.-]", m->path,
		    MODULE_NAME_MAX - 1);
	if (desc->version == NULL || desc->version[0] == '\0')
		return module_nfail(cause, "%s: malformed module: module '%s' "
		    "has no version", m->path, desc->name);
	if (!module_version_ok(desc->version))
		return module_nfail(cause, "%s: malformed module: module '%s': "
		    "its version is not 1-%d printable characters", m->path,
		    desc->name, MODULE_NAME_MAX - 1);
	if (desc->services == NULL)
		return module_nfail(cause, "%s: malformed module: module '%s' "
		    "has no services list", m->path, desc->name);
	for (n = 0; n <= MODULE_MAX_SERVICES; n++) {
		if (desc->services[n] == NULL)
			break;
	}
	if (n == 0)
		return module_nfail(cause, "%s: module '%s' declares no "
		    "services", m->path, desc->name);
	if (n > MODULE_MAX_SERVICES)
		return module_nfail(cause, "%s: malformed module: module '%s' "
		    "has more than %d services (is the list NULL-terminated?)",
		    m->path, desc->name, MODULE_MAX_SERVICES);
	m->nservices = n;
	return desc;
}

/*
 * Check service i of m: its name, unique among the built-ins, the other
 * services of m and those of the modules already in mods; and that it
 * implements what it declares (the rule test-services checks for the
 * built-ins).
 */
static int
module_check_service(const struct modules *mods, const struct module *m,
    size_t i, char **cause)
{
	const struct service	*sv = m->desc->services[i];
	const struct module	*om;
	size_t			 j;
	int			 tcp, udp;

	if (sv->name == NULL || sv->name[0] == '\0')
		return module_fail(cause, "%s: module '%s': service %zu has an "
		    "empty name", m->path, m->desc->name, i + 1);
	if (!module_name_ok(sv->name))
		return module_fail(cause, "%s: module '%s': service name '%s' "
		    "is not 1-%d of [A-Za-z0-9_.-]", m->path, m->desc->name,
		    sv->name, MODULE_NAME_MAX - 1);
	if (service_find(sv->name) != NULL)
		return module_fail(cause, "%s: module '%s': service '%s' "
		    "clashes with the built-in service", m->path,
		    m->desc->name, sv->name);
	for (j = 0; j < i; j++) {
		if (strcmp(m->desc->services[j]->name, sv->name) == 0)
			return module_fail(cause, "%s: module '%s': duplicate "
			    "service name '%s'", m->path, m->desc->name,
			    sv->name);
	}
	if (module_service_find(mods, sv->name, &om) != NULL)
		return module_fail(cause, "%s: module '%s': service '%s' "
		    "clashes with module '%s' (line %d)", m->path,
		    m->desc->name, sv->name, om->desc->name, om->line);
	if (sv->protocols == 0 ||
	    (sv->protocols & ~(SERVICE_TCP | SERVICE_UDP)) != 0)
		return module_fail(cause, "%s: service '%s': protocols must be "
		    "SERVICE_TCP, SERVICE_UDP or both (is 0x%x)", m->path,
		    sv->name, (unsigned int)sv->protocols);
	tcp = sv->tcp_accept != NULL || sv->tcp_read != NULL ||
	    sv->tcp_write_ready != NULL;
	if ((sv->protocols & SERVICE_TCP) && !tcp)
		return module_fail(cause, "%s: service '%s' declares TCP but "
		    "implements none of tcp_accept, tcp_read, tcp_write_ready",
		    m->path, sv->name);
	udp = sv->udp_datagram != NULL || sv->udp_wait != NULL;
	if ((sv->protocols & SERVICE_UDP) && !udp)
		return module_fail(cause, "%s: service '%s' declares UDP but "
		    "has neither udp_datagram nor udp_wait", m->path, sv->name);
	if (sv->udp_datagram != NULL && sv->udp_wait != NULL)
		return module_fail(cause, "%s: service '%s' has both "
		    "udp_datagram and udp_wait (one or the other)", m->path,
		    sv->name);
	if (!(sv->protocols & SERVICE_TCP) && (tcp || sv->tcp_close != NULL ||
	    sv->tcp_save != NULL || sv->tcp_restore != NULL))
		return module_fail(cause, "%s: service '%s' has TCP callbacks "
		    "but does not declare SERVICE_TCP", m->path, sv->name);
	if (!(sv->protocols & SERVICE_UDP) && udp)
		return module_fail(cause, "%s: service '%s' has a UDP callback "
		    "but does not declare SERVICE_UDP", m->path, sv->name);
	if (sv->keys != NULL && sv->conf_key == NULL)
		return module_fail(cause, "%s: service '%s' lists keys but has "
		    "no conf_key", m->path, sv->name);
	return 0;
}

/*
 * Whether real is the file of a module that a live config loaded and has
 * since been replaced (another inode) or rewritten (its size or mtime):
 * dlopen would hand back the old code.
 */
static int
module_live_changed(const char *real, const struct stat *st)
{
	const struct module	*m;

	TAILQ_FOREACH(m, &module_live, live) {
		if (strcmp(m->real, real) == 0 &&
		    (m->dev != st->st_dev || m->ino != st->st_ino ||
		    m->size != st->st_size ||
		    m->mtime.tv_sec != st->st_mtim.tv_sec ||
		    m->mtime.tv_nsec != st->st_mtim.tv_nsec))
			return 1;
	}
	return 0;
}

/*
 * Load the module called name (absolute, or relative to dir) into mods:
 * check the file, dlopen it (RTLD_NOW | RTLD_LOCAL), check its descriptor
 * and services.  line is where the config names it.  Returns 0, or -1
 * with *cause set (NULL when out of memory); nothing is kept on failure.
 */
int
module_load(struct modules *mods, const char *dir, const char *name,
    int line, const struct module_policy *pol, char **cause)
{
	struct module	*m, *om;
	struct stat	 st;
	char		 path[PATH_MAX], real[PATH_MAX];
	const char	*err;
	size_t		 i;

	*cause = NULL;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	(void)line;
	(void)pol;
	(void)mods;
	return module_fail(cause, "%s: modules are not loaded when fuzzing",
	    name);
#endif
	if (module_resolve(dir, name, path, sizeof(path)) == -1)
		return module_fail(cause, "%s: name too long", name);
	if (stat(path, &st) == -1)
		return module_fail(cause, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return module_fail(cause, "%s: not a regular file", path);
	if (realpath(path, real) == NULL)
		return module_fail(cause, "%s: %s", path, strerror(errno));
	if (module_safe(path, real, &st, pol, cause) == -1 ||
	    module_is_elf(real, cause) == -1)
		return -1;
	TAILQ_FOREACH(om, mods, entry) {
		if (om->dev == st.st_dev && om->ino == st.st_ino)
			return module_fail(cause, "%s: already loaded "
			    "(line %d)", path, om->line);
	}
	if (module_live_changed(real, &st))
		return module_fail(cause, "%s: the file was replaced while an "
		    "older generation still runs its code; install a new "
		    "version under a new file name, or restart", path);

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->path = strdup(path)) == NULL ||
	    (m->real = strdup(real)) == NULL) {
		if (m != NULL)
			free(m->path);
		free(m);
		return -1;
	}
	m->line = line;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->size = st.st_size;
	m->mtime = st.st_mtim;
	dlerror();
	/* What was checked: a link changed since cannot redirect it. */
	if ((m->handle = dlopen(real, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		err = dlerror();
		module_fail(cause, "cannot load: %s", err != NULL ? err :
		    path);
		goto fail;
	}
	if ((m->desc = module_descriptor(m, cause)) == NULL)
		goto fail;
	TAILQ_FOREACH(om, mods, entry) {
		if (strcmp(om->desc->name, m->desc->name) == 0) {
			module_fail(cause, "%s: module '%s' is already loaded "
			    "from %s (line %d)", path, m->desc->name, om->path,
			    om->line);
			goto fail;
		}
	}
	for (i = 0; i < m->nservices; i++) {
		if (module_check_service(mods, m, i, cause) == -1)
			goto fail;
	}
	TAILQ_INSERT_TAIL(mods, m, entry);
	TAILQ_INSERT_TAIL(&module_live, m, live);
	log_debug("module %s %s loaded from %s", m->desc->name,
	    m->desc->version, m->path);
	return 0;

fail:
	if (m->handle != NULL)
		dlclose(m->handle);
	free(m->path);
	free(m->real);
	free(m);
	return -1;
}

/* The service called name in one of mods, or NULL; *mp gets its module. */
const struct service *
module_service_find(const struct modules *mods, const char *name,
    const struct module **mp)
{
	const struct module	*m;
	size_t			 i;

	if (name == NULL)
		return NULL;
	TAILQ_FOREACH(m, mods, entry) {
		for (i = 0; i < m->nservices; i++) {
			if (strcmp(m->desc->services[i]->name, name) == 0) {
				if (mp != NULL)
					*mp = m;
				return m->desc->services[i];
			}
		}
	}
	return NULL;
}

/*
 * Unload every module of mods.  The caller has run conf_free for every
 * instance using them; the code is unmapped when no other config holds
 * the same object.
 */
void
module_unload_all(struct modules *mods)
{
	struct module	*m;

	while ((m = TAILQ_FIRST(mods)) != NULL) {
		TAILQ_REMOVE(mods, m, entry);
		TAILQ_REMOVE(&module_live, m, live);
		log_debug("module %s unloaded", m->desc->name);
		dlclose(m->handle);
		free(m->path);
		free(m->real);
		free(m);
	}
}

/*
 * List the modules of mods, one "module NAME VERSION (PATH): services A,
 * B" line each (-V); with ini, as "modules = PATH" lines followed by that
 * line as a comment (-t).
 */
void
module_print(const struct modules *mods, int ini, FILE *fp)
{
	const struct module	*m;
	size_t			 i;

	TAILQ_FOREACH(m, mods, entry) {
		if (ini)
			fprintf(fp, "modules = %s\n; ", m->path);
		fprintf(fp, "module %s %s (%s): service%s", m->desc->name,
		    m->desc->version, m->path, m->nservices == 1 ? "" : "s");
		for (i = 0; i < m->nservices; i++)
			fprintf(fp, "%s %s", i > 0 ? "," : "",
			    m->desc->services[i]->name);
		fputc('\n', fp);
	}
}

/* The module name of an instance's service: "built-in" or its module's. */
const char *
module_name(const struct module *m)
{
	return m != NULL ? m->desc->name : "built-in";
}

/* The version of m, or netsvcd's own for the built-ins. */
const char *
module_version(const struct module *m)
{
	return m != NULL ? m->desc->version : NETSVCD_VERSION;
}
