/*
 * progress.h --- the -p progress bar and the closing summary, on stderr.
 *
 * The bar (phase name, percent, bar, bytes done of total, rate, time left;
 * or units done of total when unit_bytes is 0, as inodes in the walk)
 * is drawn only when stderr is a terminal, at most five times a second, and
 * erased before anything else is printed.  The summary line (blocks, bytes
 * in, bytes out, ratio, time since e2q_progress_start) is printed whenever
 * -p was given, terminal or not.  An operation of several phases (measure,
 * then copy) calls e2q_progress_start() once and e2q_progress_phase() for
 * each later phase.
 */
#ifndef E2Q_PROGRESS_H
#define E2Q_PROGRESS_H

#include <stdint.h>

struct e2q_progress {
	int enabled;		/* -p */
	int on_terminal;	/* stderr is a tty: draw the bar */
	int drawn;		/* a bar is on the screen */
	const char *what;	/* "Copying", "Converting" */
	uint64_t total;		/* units expected in this phase */
	uint64_t unit_bytes;	/* bytes per unit, for the rate */
	double origin;		/* start of the operation */
	double start, last_draw; /* start of the phase, last bar drawn */
};

void e2q_progress_start(struct e2q_progress *p, int enabled, const char *what,
			uint64_t total, uint64_t unit_bytes);
void e2q_progress_phase(struct e2q_progress *p, const char *what,
			uint64_t total, uint64_t unit_bytes);
void e2q_progress_update(struct e2q_progress *p, uint64_t done);
/* Erases the bar (before an error message, or at the end). */
void e2q_progress_clear(struct e2q_progress *p);
void e2q_progress_end(struct e2q_progress *p, uint64_t done,
		      uint64_t bytes_in, uint64_t bytes_out);
double e2q_now(void);

#endif /* E2Q_PROGRESS_H */
