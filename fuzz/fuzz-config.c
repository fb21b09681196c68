/*
 * fuzz-config.c: libFuzzer target for the config loader.  Each input is a
 * whole config file.  Inputs without a NUL byte go to config_load_string();
 * inputs with one are written to a temporary file and read back with
 * config_load(), the path of -c, -t and reload, which must report the NUL
 * instead of stopping there.  A config that loads is printed (the -t
 * listing, which runs every service's conf_describe) to /dev/null; then
 * everything is freed, so LeakSanitizer sees a leak on the error paths as
 * well as on success.
 *
 * config_load_string() takes relative message_file/quotes_file names from
 * the current directory: the ctest entries run in tests/unit/data/config,
 * so that the seeds taken from there load completely.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netsvcd.h"
#include "fuzz.h"

static FILE	*devnull;
static char	 tmpdir[] = "/tmp/fuzz-config.XXXXXX";
static char	 tmppath[sizeof(tmpdir) + 16];

static void	 fuzz_config_cleanup(void);
static struct config *fuzz_config_file(const uint8_t *, size_t,
		    struct config_errors *);

/* Remove the temporary file and its directory at exit. */
static void
fuzz_config_cleanup(void)
{
	unlink(tmppath);
	rmdir(tmpdir);
}

/* Keep the daemon's log quiet; open the sinks and the temporary dir. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERR);
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	if (mkdtemp(tmpdir) == NULL)
		abort();
	snprintf(tmppath, sizeof(tmppath), "%s/fuzz.ini", tmpdir);
	atexit(fuzz_config_cleanup);
	(void)config_key_names();	/* fills its table once, as main() */
	return 0;
}

/* Load data as the file tmppath, the way main() loads -c. */
static struct config *
fuzz_config_file(const uint8_t *data, size_t size, struct config_errors *errs)
{
	size_t	off = 0;
	ssize_t	n;
	int	fd;

	if ((fd = open(tmppath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		abort();
	while (off < size) {
		if ((n = write(fd, data + off, size - off)) <= 0)
			abort();
		off += (size_t)n;
	}
	close(fd);
	return config_load(tmppath, errs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors	 errs;
	struct config		*conf;
	const char		*name;
	char			*text = NULL;
	size_t			 i, namelen;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (size > 0 && memchr(data, '\0', size) != NULL) {
		conf = fuzz_config_file(data, size, &errs);
		name = tmppath;
	} else {
		if ((text = malloc(size + 1)) == NULL)
			abort();
		if (size > 0)
			memcpy(text, data, size);
		text[size] = '\0';
		conf = config_load_string(text, "fuzz.ini", &errs);
		name = "fuzz.ini";
	}

	/* A config with errors is never returned, and every error is told. */
	FUZZ_CHECK(conf == NULL || errs.count == 0);
	FUZZ_CHECK(conf != NULL || errs.count > 0);
	namelen = strlen(name);
	for (i = 0; i < errs.count; i++) {
		FUZZ_CHECK(errs.msg[i] != NULL);
		FUZZ_CHECK(strncmp(errs.msg[i], name, namelen) == 0 &&
		    errs.msg[i][namelen] == ':');
	}
	if (conf != NULL) {
		FUZZ_CHECK(conf->refs == 1);
		config_print(conf, devnull);
		config_ref(conf);
		config_unref(conf);
		config_unref(conf);
	}
	config_errors_free(&errs);
	FUZZ_CHECK(errs.msg == NULL && errs.count == 0);
	free(text);
	return 0;
}
