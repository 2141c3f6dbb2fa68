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
 *
 * JSON lines (-p --output=json, enabled == E2Q_PROGRESS_JSON), for tools
 * that draw their own progress: instead of the bar, terminal or not, one
 * JSON object per line on stderr, at most five a second per phase:
 *   {"type":"phase","phase":P,"total":N,"unit-bytes":B}     a phase begins
 *   {"type":"progress","phase":P,"done":D,"total":N,"unit-bytes":B,
 *    "percent":F,"elapsed":S}                               during it
 *   {"type":"summary","phase":P,"blocks":N,"bytes-in":I,"bytes-out":O,
 *    "ratio":R,"seconds":S}                                 at the end
 * unit-bytes 0 means units are counted, not bytes (inodes in the walk).
 * Error messages stay lines of text: a line that does not begin with '{'
 * is a message.
 */
#ifndef E2Q_PROGRESS_H
#define E2Q_PROGRESS_H

#include <stdint.h>

#define E2Q_PROGRESS_JSON	2	/* `enabled` for JSON lines */

struct e2q_progress {
	int enabled;		/* -p */
	int json;		/* JSON lines instead of the bar */
	int on_terminal;	/* updates are shown: a bar on a tty, or JSON */
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
