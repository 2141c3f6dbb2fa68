/*
 * progress.c --- the -p progress bar and summary.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nls-enable.h"
#include "misc/progress.h"

/* Terminal control stays out of the translated messages. */
#define ERASE_TO_EOL	"\033[K"

#define REDRAW_INTERVAL	0.2
#define BAR_WIDTH	20
#define MIN_ESTIMATE_TIME 0.5	/* seconds of a phase before "time left" */

double e2q_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void e2q_progress_phase(struct e2q_progress *p, const char *what,
			uint64_t total, uint64_t unit_bytes)
{
	p->what = what;
	p->total = total ? total : 1;
	p->unit_bytes = unit_bytes;
	p->start = e2q_now();
	p->last_draw = 0;
}

void e2q_progress_start(struct e2q_progress *p, int enabled, const char *what,
			uint64_t total, uint64_t unit_bytes)
{
	memset(p, 0, sizeof(*p));
	p->enabled = enabled;
	p->on_terminal = enabled && isatty(STDERR_FILENO);
	e2q_progress_phase(p, what, total, unit_bytes);
	p->origin = p->start;
}

static double mib(uint64_t bytes)
{
	return (double) bytes / (1024.0 * 1024.0);
}

/* "1:05" or "42 s": the time left, rounded up to a second. */
static void format_left(char *buf, size_t len, double seconds)
{
	unsigned long s = (unsigned long) (seconds + 0.999);

	if (s >= 60)
		snprintf(buf, len, "%lu:%02lu", s / 60, s % 60);
	else
		snprintf(buf, len, _("%lu s"), s);
}

static void draw(struct e2q_progress *p, uint64_t done, double now)
{
	double elapsed = now - p->start, frac, rate;
	char bar[BAR_WIDTH + 1], left[32] = "?";
	int i, filled;

	if (done > p->total)
		done = p->total;
	frac = (double) done / (double) p->total;
	filled = (int) (frac * BAR_WIDTH);
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[BAR_WIDTH] = 0;
	if (done && elapsed >= MIN_ESTIMATE_TIME)
		format_left(left, sizeof(left),
			    elapsed * (double) (p->total - done) / (double) done);
	fputc('\r', stderr);
	if (p->unit_bytes == 0) {	/* counting, not bytes (inodes) */
		fprintf(stderr, _("%s: %3.0f%% [%s] %llu/%llu, %s left"),
			p->what, 100.0 * frac, bar, (unsigned long long) done,
			(unsigned long long) p->total, left);
	} else {
		rate = elapsed > 0 ? mib(done * p->unit_bytes) / elapsed : 0;
		fprintf(stderr, _("%s: %3.0f%% [%s] %.1f/%.1f MiB, %.1f MiB/s, "
				  "%s left"), p->what, 100.0 * frac, bar,
			mib(done * p->unit_bytes),
			mib(p->total * p->unit_bytes), rate, left);
	}
	fputs(ERASE_TO_EOL, stderr);
	fflush(stderr);
	p->drawn = 1;
}

void e2q_progress_update(struct e2q_progress *p, uint64_t done)
{
	double now;

	if (!p->on_terminal)
		return;
	now = e2q_now();
	if (now - p->last_draw < REDRAW_INTERVAL)
		return;
	p->last_draw = now;
	draw(p, done, now);
}

void e2q_progress_clear(struct e2q_progress *p)
{
	if (!p->drawn)
		return;
	fputs("\r" ERASE_TO_EOL, stderr);
	fflush(stderr);
	p->drawn = 0;
}

void e2q_progress_end(struct e2q_progress *p, uint64_t done,
		      uint64_t bytes_in, uint64_t bytes_out)
{
	double elapsed;

	e2q_progress_clear(p);
	if (!p->enabled)
		return;
	elapsed = e2q_now() - p->origin;
	fprintf(stderr, _("%s: %llu blocks, %.1f MiB in, %.1f MiB out "
			  "(ratio %.2f), %.2f s\n"), p->what,
		(unsigned long long) done, mib(bytes_in), mib(bytes_out),
		bytes_out ? (double) bytes_in / (double) bytes_out : 0.0,
		elapsed);
}
