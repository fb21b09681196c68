/*
 * priv.c: give up root once every socket is bound.  After priv_drop() the
 * daemon never needs root again: a reload that would bind a new privileged
 * port without CAP_NET_BIND_SERVICE fails and is rolled back.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netsvcd.h"

/* Set *cause to a formatted message (NULL if even that fails). */
static int
priv_fail(char **cause, const char *what, const char *name)
{
	cause_set(cause, "%s %s: %s", what, name,
	    errno != 0 ? strerror(errno) : "not found");
	return -1;
}

/*
 * Resolve user and group (the user's primary group when group is NULL).
 * Returns 0 or -1 with *cause set.
 */
int
priv_resolve(const char *user, const char *group, uid_t *uid, gid_t *gid,
    char **cause)
{
	struct passwd	*pw;
	struct group	*gr;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return priv_fail(cause, "unknown user", user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group != NULL) {
		errno = 0;
		if ((gr = getgrnam(group)) == NULL)
			return priv_fail(cause, "unknown group", group);
		*gid = gr->gr_gid;
	}
	return 0;
}

/*
 * When running as root, switch to the configured user and group for good
 * and check that root cannot be regained.  Returns 0 or -1 with *cause.
 */
int
priv_drop(const char *user, const char *group, char **cause)
{
	uid_t	uid;
	gid_t	gid;

	*cause = NULL;
	if (geteuid() != 0) {
		if (user != NULL)
			log_info("not started as root: user %s not applied",
			    user);
		return 0;
	}
	if (user == NULL) {
		log_warnx("running as root: set user in [daemon] to drop "
		    "privileges once the sockets are bound");
		return 0;
	}
	if (priv_resolve(user, group, &uid, &gid, cause) == -1)
		return -1;
	if (setgroups(1, &gid) == -1)
		return priv_fail(cause, "setgroups for", user);
	if (setresgid(gid, gid, gid) == -1)
		return priv_fail(cause, "setresgid for", user);
	if (setresuid(uid, uid, uid) == -1)
		return priv_fail(cause, "setresuid for", user);
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		errno = EPERM;
		return priv_fail(cause, "root could be regained after dropping "
		    "to", user);
	}
	log_info("running as user %s (uid %u, gid %u)", user,
	    (unsigned int)uid, (unsigned int)gid);
	return 0;
}
