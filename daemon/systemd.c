/*
 * systemd.c: the only file that talks to systemd (sd_notify(3)).  Every
 * function is a no-op when the daemon was not started by a service manager
 * (NOTIFY_SOCKET unset).
 */
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "netsvcd.h"

/* READY=1 with a one-line STATUS=. */
void
systemd_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
systemd_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}

/* RELOADING=1 with the MONOTONIC_USEC that systemd 253+ wants. */
void
systemd_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

void
systemd_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}
