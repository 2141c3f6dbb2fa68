/*
 * progress.c --- the -p progress line and summary.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "nls-enable.h"
#include "misc/progress.h"

#define REDRAW_INTERVAL	0.2

double e2q_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void e2q_progress_start(struct e2q_progress *p, int enabled, const char *what,
			uint64_t total, uint64_t unit_bytes)
{
	p->enabled = enabled;
	p->on_terminal = enabled && isatty(STDERR_FILENO);
	p->what = what;
	p->total = total ? total : 1;
	p->unit_bytes = unit_bytes;
	p->start = e2q_now();
	p->last_draw = 0;
}

static double mib(uint64_t bytes)
{
	return (double) bytes / (1024.0 * 1024.0);
}

void e2q_progress_update(struct e2q_progress *p, uint64_t done)
{
	double now, elapsed, rate, left;

	if (!p->on_terminal)
		return;
	now = e2q_now();
	if (now - p->last_draw < REDRAW_INTERVAL)
		return;
	p->last_draw = now;
	elapsed = now - p->start;
	rate = elapsed > 0 ? mib(done * p->unit_bytes) / elapsed : 0;
	left = done ? elapsed * (double) (p->total - done) / (double) done : 0;
	fprintf(stderr, _("\r%s: %3.0f%% %.1f MiB, %.1f MiB/s, %.0f s left   "),
		p->what, 100.0 * (double) done / (double) p->total,
		mib(done * p->unit_bytes), rate, left);
	fflush(stderr);
}

void e2q_progress_end(struct e2q_progress *p, uint64_t done,
		      uint64_t bytes_in, uint64_t bytes_out)
{
	double elapsed;

	if (!p->enabled)
		return;
	elapsed = e2q_now() - p->start;
	if (p->on_terminal)
		fputs("\r\033[K", stderr);
	fprintf(stderr, _("%s: %llu blocks, %.1f MiB in, %.1f MiB out "
			  "(ratio %.2f), %.2f s\n"), p->what,
		(unsigned long long) done, mib(bytes_in), mib(bytes_out),
		bytes_out ? (double) bytes_in / (double) bytes_out : 0.0,
		elapsed);
}
