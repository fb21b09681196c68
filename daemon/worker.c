/*
 * worker.c: the reactors.  With workers = N the daemon runs N event loops:
 * worker 0 in the main thread, the others in threads of their own, each
 * with its own SO_REUSEPORT listeners, so the kernel spreads connections
 * and datagrams over them and no connection ever moves between threads.
 *
 * What the threads share is small: the config (read-only), the counters
 * (atomics), and the source table and rate buckets (d->lock).  Listeners
 * and instances are changed by the main thread only, and only while every
 * other worker is parked between two callbacks (workers_park): a reload is
 * a short stop of the world, so the hot paths need no locks at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "netsvcd.h"

static void	 worker_pipe(struct worker *);
static void	*worker_main(void *);
static void	 worker_on_reap(evutil_socket_t, short, void *);
static void	 worker_on_resume(evutil_socket_t, short, void *);
static void	 worker_on_park(evutil_socket_t, short, void *);
static void	 worker_on_stop(evutil_socket_t, short, void *);

/* The number of workers "auto" means: one per online core. */
unsigned int
workers_auto(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > 256 ? 256 : (unsigned int)n;
}

/*
 * Make n workers, each with its event base and scratch buffers; nothing
 * runs yet.  Threads need libevent's locking, switched on before any base
 * exists.  Returns 0 or -1 (logged).
 */
int
workers_init(struct daemon *d, unsigned int n)
{
	struct worker	*w;
	unsigned int	 i;

	if (n > 1 && evthread_use_pthreads() == -1) {
		log_warnx("libevent: no thread support");
		return -1;
	}
	if ((d->workers = calloc(n, sizeof(*d->workers))) == NULL) {
		log_warn("workers");
		return -1;
	}
	d->nworkers = n;
	for (i = 0; i < n; i++)		/* workers_free() may see any of them */
		d->workers[i].pipefd[0] = d->workers[i].pipefd[1] = -1;
	for (i = 0; i < n; i++) {
		w = &d->workers[i];
		w->d = d;
		w->id = i;
		LIST_INIT(&w->conns);
		LIST_INIT(&w->dead);
		LIST_INIT(&w->spare);
		LIST_INIT(&w->proxy_waits);
		worker_pipe(w);
		if ((w->base = event_base_new()) == NULL ||
		    (w->rbuf = malloc(RBUF_SIZE)) == NULL ||
		    (w->reaper = event_new(w->base, -1, 0, worker_on_reap,
		    w)) == NULL ||
		    (w->ev_resume = evtimer_new(w->base, worker_on_resume,
		    w)) == NULL ||
		    (w->ev_park = event_new(w->base, -1, 0, worker_on_park,
		    w)) == NULL ||
		    (w->ev_stop = event_new(w->base, -1, 0, worker_on_stop,
		    w)) == NULL) {
			log_warn("worker %u", i);
			return -1;
		}
	}
	d->base = d->workers[0].base;
	return 0;
}

/*
 * The pipe echo connections splice through (conn.c).  Without one, echo
 * copies through rbuf as any other service does: not an error.
 */
static void
worker_pipe(struct worker *w)
{
	if (pipe2(w->pipefd, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_debug("worker %u: pipe: %s; echo copies", w->id,
		    strerror(errno));
		w->pipefd[0] = w->pipefd[1] = -1;
		return;
	}
	/*
	 * A slot a page: room for a whole read of RBUF_SIZE when the
	 * socket's pages are full.  Past /proc/sys/fs/pipe-max-size this
	 * fails for an unprivileged process, and splices are shorter.
	 */
	(void)fcntl(w->pipefd[1], F_SETPIPE_SZ, RBUF_SIZE);
}

/* A worker thread: run its loop until workers_stop() ends it. */
static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	if (event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY) == -1)
		log_warnx("worker %u: the event loop failed", w->id);
	return NULL;
}

/* Start the threads of workers 1..n-1.  Returns 0 or -1 (logged). */
int
workers_start(struct daemon *d)
{
	unsigned int	i;
	int		error;

	for (i = 1; i < d->nworkers; i++) {
		error = pthread_create(&d->workers[i].thread, NULL, worker_main,
		    &d->workers[i]);
		if (error != 0) {
			log_warnx("worker %u: %s", i, strerror(error));
			return -1;
		}
		d->workers[i].running = 1;
	}
	if (d->nworkers > 1)
		log_info("%u workers", d->nworkers);
	return 0;
}

/* Free the connections closed since the last run. */
static void
worker_on_reap(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	conn_reap(arg);
}

/* The EMFILE pause is over. */
static void
worker_on_resume(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	listener_resume(arg);
}

/* Wait here, between two callbacks, until the main thread is done. */
static void
worker_on_park(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct daemon	*d = w->d;
	unsigned long	 gen;

	UNUSED(fd);
	UNUSED(what);
	pthread_mutex_lock(&d->park_mtx);
	gen = d->park_gen;
	d->parked++;
	pthread_cond_broadcast(&d->park_cv);
	while (d->park_gen == gen)
		pthread_cond_wait(&d->park_cv, &d->park_mtx);
	d->parked--;
	pthread_cond_broadcast(&d->park_cv);
	pthread_mutex_unlock(&d->park_mtx);
}

/*
 * Stop the world: return once every other worker waits in worker_on_park.
 * From the main thread only; a no-op with one worker.
 */
void
workers_park(struct daemon *d)
{
	unsigned int	i, n = 0;

	for (i = 1; i < d->nworkers; i++) {
		if (d->workers[i].running) {
			event_active(d->workers[i].ev_park, EV_TIMEOUT, 0);
			n++;
		}
	}
	if (n == 0)
		return;
	pthread_mutex_lock(&d->park_mtx);
	while (d->parked < n)
		pthread_cond_wait(&d->park_cv, &d->park_mtx);
	pthread_mutex_unlock(&d->park_mtx);
}

/* Let the parked workers go on, and wait until they have. */
void
workers_unpark(struct daemon *d)
{
	if (d->nworkers < 2)
		return;
	pthread_mutex_lock(&d->park_mtx);
	d->park_gen++;
	pthread_cond_broadcast(&d->park_cv);
	while (d->parked > 0)
		pthread_cond_wait(&d->park_cv, &d->park_mtx);
	pthread_mutex_unlock(&d->park_mtx);
}

/* Close this worker's connections and end its loop. */
static void
worker_on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	UNUSED(fd);
	UNUSED(what);
	proxy_wait_close_all(w);
	conn_close_all(w);
	conn_reap(w);
	event_base_loopbreak(w->base);
}

/*
 * End of shutdown: close every connection in every worker and join the
 * threads.  From the main thread, after its loop has returned.
 */
void
workers_stop(struct daemon *d)
{
	unsigned int	i;

	for (i = 1; i < d->nworkers; i++) {
		if (!d->workers[i].running)
			continue;
		event_active(d->workers[i].ev_stop, EV_TIMEOUT, 0);
		pthread_join(d->workers[i].thread, NULL);
		d->workers[i].running = 0;
	}
	if (d->nworkers > 0) {
		proxy_wait_close_all(&d->workers[0]);
		conn_close_all(&d->workers[0]);
		conn_reap(&d->workers[0]);
	}
}

/* Free what workers_init made; the threads must have been joined. */
void
workers_free(struct daemon *d)
{
	struct worker	*w;
	unsigned int	 i;

	for (i = 0; i < d->nworkers; i++) {
		w = &d->workers[i];
		conn_free_spare(w);
		if (w->reaper != NULL)
			event_free(w->reaper);
		if (w->ev_resume != NULL)
			event_free(w->ev_resume);
		if (w->ev_park != NULL)
			event_free(w->ev_park);
		if (w->ev_stop != NULL)
			event_free(w->ev_stop);
		if (w->base != NULL)
			event_base_free(w->base);
		dgram_batch_free(w->batch);
		free(w->rbuf);
		if (w->pipefd[0] != -1) {
			close(w->pipefd[0]);
			close(w->pipefd[1]);
		}
	}
	free(d->workers);
	d->workers = NULL;
	d->nworkers = 0;
	d->base = NULL;
}
