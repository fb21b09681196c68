/*
 * harness-int.h: what the files of the harness share among themselves;
 * tests include harness.h only.
 */
#ifndef NETSVCD_HARNESS_INT_H
#define NETSVCD_HARNESS_INT_H

#include <sys/types.h>

#include <stddef.h>

#define HS_RUNDIR_ENV	"NETSVCD_ITEST_RUNDIR"
#define HS_MAX_DAEMONS	64
#define HS_MAX_ARGS	48

/* harness.c */
extern unsigned int	 hs_seq;
void		 hs_mkdir(char *, size_t);
void		 hs_write_file(const char *, const void *, size_t);
char		*hs_read_file(const char *, long, size_t, size_t *);
long		 hs_file_size(const char *);

/* harness-daemon.c */
extern struct hs_daemon	*hs_daemons[HS_MAX_DAEMONS];
extern size_t		 hs_ndaemons;

/* harness-proc.c */
int		 hs_argv(const char **, size_t, const char *const *, size_t);
void		 hs_child_env(const char *notify);
void		 hs_child_exec(const char **, int);
int		 hs_pidfd(pid_t);
int		 hs_waitpid(pid_t, int *, int *, int);

#endif
