/*
 * headers.c: a build-time check that the public <netsvcd/log.h> declares
 * the same functions as the daemon's log.h (conflicting prototypes do not
 * compile), whichever comes first, and that both live next to
 * <netsvcd/service.h>.
 */
#include "log.h"
#include <netsvcd/log.h>
#include <netsvcd/service.h>
#include "log.h"

void	(*const headers_agree[])(const char *, ...) = {
	log_warn, log_warnx, log_notice, log_info, (log_debug),
};
int	(*const headers_level)(void) = log_getlevel;
