/*
 * progress.c --- the -p progress bar and summary.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nls-enable.h"
#include "misc/json_out.h"
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

/* One JSON object of `type` on its own line of stderr; the caller adds
 * its values between json_begin() and json_end(). */
static void json_begin(struct e2q_json *j, const char *type,
		       const struct e2q_progress *p)
{
	e2q_json_init(j, stderr, 0);
	e2q_json_begin_object(j, NULL);
	e2q_json_string(j, "type", type);
	e2q_json_string(j, "phase", p->what);
}

static void json_end(struct e2q_json *j)
{
	e2q_json_end_object(j);
	fputc('\n', stderr);
	fflush(stderr);
}

void e2q_progress_phase(struct e2q_progress *p, const char *what,
			uint64_t total, uint64_t unit_bytes)
{
	struct e2q_json j;
	int same = p->what == what && p->total == (total ? total : 1) &&
		   p->unit_bytes == unit_bytes;

	p->what = what;
	p->total = total ? total : 1;
	p->unit_bytes = unit_bytes;
	p->start = e2q_now();
	p->last_draw = 0;
	if (!p->json || same)	/* a phase started over: said already */
		return;
	json_begin(&j, "phase", p);
	e2q_json_uint(&j, "total", total);
	e2q_json_uint(&j, "unit-bytes", unit_bytes);
	json_end(&j);
}

void e2q_progress_start(struct e2q_progress *p, int enabled, const char *what,
			uint64_t total, uint64_t unit_bytes)
{
	memset(p, 0, sizeof(*p));
	p->enabled = enabled;
	p->json = enabled == E2Q_PROGRESS_JSON;
	p->on_terminal = p->json || (enabled && isatty(STDERR_FILENO));
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

static void json_progress(const struct e2q_progress *p, uint64_t done,
			  double now)
{
	struct e2q_json j;

	if (done > p->total)
		done = p->total;
	json_begin(&j, "progress", p);
	e2q_json_uint(&j, "done", done);
	e2q_json_uint(&j, "total", p->total);
	e2q_json_uint(&j, "unit-bytes", p->unit_bytes);
	e2q_json_double(&j, "percent", 100.0 * (double) done /
					(double) p->total);
	e2q_json_double(&j, "elapsed", now - p->origin);
	json_end(&j);
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
	if (p->json)
		json_progress(p, done, now);
	else
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
	if (p->json) {
		struct e2q_json j;

		json_begin(&j, "summary", p);
		e2q_json_uint(&j, "blocks", done);
		e2q_json_uint(&j, "bytes-in", bytes_in);
		e2q_json_uint(&j, "bytes-out", bytes_out);
		e2q_json_double(&j, "ratio", bytes_out ? (double) bytes_in /
						(double) bytes_out : 0.0);
		e2q_json_double(&j, "seconds", elapsed);
		json_end(&j);
		return;
	}
	fprintf(stderr, _("%s: %llu blocks, %.1f MiB in, %.1f MiB out "
			  "(ratio %.2f), %.2f s\n"), p->what,
		(unsigned long long) done, mib(bytes_in), mib(bytes_out),
		bytes_out ? (double) bytes_in / (double) bytes_out : 0.0,
		elapsed);
}
